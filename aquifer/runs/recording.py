"""The registry's run records, kept by a listener: one record per range, opened and closed by events."""

from __future__ import annotations

from typing import Any

from aquifer.runs.events import RangeFailed, RangeRecorded, RangeStarted, RunEvent, ViewPushed


class RegistryRecorder:
    """Opens a run record when a range starts and closes it when the range is recorded or fails.

    A failure with no range (the view could not even be planned) gets a record of its own. Materialized
    views are recorded whole by ``ViewPushed``.
    """

    def __init__(self, registry: Any, project: str):
        self.registry, self.project = registry, project
        self._open: dict[tuple[str, str, Any, Any], int] = {}
        self.pushed: dict[tuple[str, Any, Any], int] = {}  # (view, start, end) -> run id of a materialization

    def on_event(self, event: RunEvent) -> None:
        """Start, finish or fail the registry's run record that ``event`` is about."""
        if isinstance(event, RangeStarted):
            key = (event.view, event.kind, event.start, event.end)
            self._open[key] = self.registry.start_run(self.project, event.view, event.kind, event.start, event.end)
        elif isinstance(event, RangeRecorded):
            r = event.result
            run_id = self._open.pop((event.view, event.kind, r.start, r.end))
            r.run_id = run_id
            self.registry.finish_run(run_id, status="succeeded", rows_in=r.rows_in, rows_out=r.rows_out,
                                     details=r.details)
        elif isinstance(event, RangeFailed):
            run_id = self._open.pop((event.view, event.kind, event.start, event.end), None)
            if run_id is None:
                run_id = self.registry.start_run(self.project, event.view, event.kind, event.start, event.end)
            self.registry.finish_run(run_id, status="failed", error=event.error)
        elif isinstance(event, ViewPushed):
            run_id = self._open.pop((event.view, "materialize", event.start, event.end))
            self.pushed[(event.view, event.start, event.end)] = run_id
            self.registry.finish_run(
                run_id, status="succeeded", rows_in=event.entities, rows_out=event.written,
                details={"entities": event.entities, "written": event.written, "seconds": round(event.seconds, 3),
                         "engine": event.engine},
            )
