"""Run listeners that tell someone: an alert for every failed range, a freshness check after a push."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aquifer.alerts import Alert, AlertSink, send_all
from aquifer.runs.events import MATERIALIZE, RangeFailed, RunEvent, RunFinished


class AlertListener:
    """Sends a ``run_failed`` alert (severity ``error``) to ``sinks`` for every failed or refused range."""

    def __init__(self, project: str, sinks: Sequence[AlertSink]):
        self.project, self.sinks = project, list(sinks)

    def on_event(self, event: RunEvent) -> None:
        """Alert on ``RangeFailed``."""
        if isinstance(event, RangeFailed):
            details = {"run_kind": event.kind, "vetoed_by": event.vetoed_by,
                       "start": event.start.isoformat() if event.start else None,
                       "end": event.end.isoformat() if event.end else None}
            send_all(self.sinks, Alert(self.project, "run_failed", event.view, "error", event.error, details))


class FreshnessListener:
    """Checks freshness as soon as a materialization ends (the monitor alerts on new breaches)."""

    def __init__(self, monitor: Any):
        self.monitor = monitor

    def on_event(self, event: RunEvent) -> None:
        """Run ``monitor.check()`` on a materialization's ``RunFinished``."""
        if isinstance(event, RunFinished) and event.kind == MATERIALIZE:
            self.monitor.check()
