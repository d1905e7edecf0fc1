"""Run listeners that tell someone: a view's runs failing (and recovering), a freshness check after a push."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aquifer.alerts import Alert, AlertGate, AlertSink
from aquifer.runs.events import MATERIALIZE, RangeFailed, RangeRecorded, RunEvent, RunFinished, ViewPushed


class AlertListener:
    """``run_failed`` alerts (severity ``error``) through an ``AlertGate``, keyed by view.

    A failed or refused range sets the view's state to firing (alerting when it was not), a recorded range
    (or a materialization's pushed view) sets it back to ok (a recovery message when it was firing): a view
    failing run after run alerts once.
    ``gate`` defaults to an in-memory gate over ``sinks``; pass one with ``RegistryAlertStates`` to remember the
    state between runs (separate processes).
    """

    def __init__(self, project: str, sinks: Sequence[AlertSink] = (), *, gate: AlertGate | None = None):
        self.project = project
        self.gate = gate if gate is not None else AlertGate(sinks)
        self.sinks = self.gate.sinks

    def on_event(self, event: RunEvent) -> None:
        """Fire on ``RangeFailed``, clear on ``RangeRecorded`` and ``ViewPushed``."""
        if isinstance(event, RangeFailed):
            details = {"run_kind": event.kind, "vetoed_by": event.vetoed_by,
                       "start": event.start.isoformat() if event.start else None,
                       "end": event.end.isoformat() if event.end else None}
            self.gate.update(Alert(self.project, "run_failed", event.view, "error", event.error, details), True)
        elif isinstance(event, RangeRecorded | ViewPushed):
            kind = event.kind if isinstance(event, RangeRecorded) else MATERIALIZE
            self.gate.update(Alert(self.project, "run_failed", event.view, "error",
                                   f"{kind} of {event.view!r} failed", {"run_kind": kind}), False)


def alert_validation(
    gate: AlertGate, project: str, view: str, success: bool, message: str, details: dict[str, Any] | None = None,
    *, severity: str = "error",
) -> Alert | None:
    """Route one validation result of ``view`` through ``gate`` (kind ``validation``, subject ``view``).

    Call it after every validation (batch run, backfill, ``aquifer validate``), passing or not: the first failure
    alerts with ``message``, repeated failures stay quiet, the first pass after failures sends the recovery.
    Returns the alert sent, if any.
    """
    return gate.update(Alert(project, "validation", view, severity, message, dict(details or {})), not success)


class FreshnessListener:
    """Checks freshness as soon as a materialization ends (the monitor alerts on new breaches)."""

    def __init__(self, monitor: Any):
        self.monitor = monitor

    def on_event(self, event: RunEvent) -> None:
        """Run ``monitor.check()`` on a materialization's ``RunFinished``."""
        if isinstance(event, RunFinished) and event.kind == MATERIALIZE:
            self.monitor.check()
