"""Statistics of what runs wrote, recorded in the registry by a listener: one row per feature and range.

Batch runs and backfills carry their statistics on ``RangeResult.statistics`` (computed by the engine from
the rows it wrote); materialization on ``ViewPushed.statistics`` (the rows pushed online). Each becomes one
registry row per feature with the range, the run's kind and id, read back merged by
``Registry.statistics_between`` + ``quality.statistics.merge_stored``. Statistics are an observation, never a
condition: a failure to record them is logged and the run goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aquifer.runs.events import MATERIALIZE, RangeRecorded, RunEvent, ViewPushed

log = logging.getLogger("aquifer.statistics")


class StatisticsRecorder:
    """Appends the statistics of each recorded range (batch, backfill) and each push (materialize).

    Listens after the ``RegistryRecorder`` so the range's run id is known: batch results carry it; for
    materialization pass that recorder as ``runs`` (its ``pushed`` map holds the ids).
    """

    def __init__(self, registry: Any, project: str, runs: Any = None):
        self.registry, self.project, self.runs = registry, project, runs

    def on_event(self, event: RunEvent) -> None:
        """Record the statistics ``event`` carries, if any."""
        if isinstance(event, RangeRecorded):
            r = event.result
            self._record(event.view, event.kind, r.start, r.end, r.run_id, r.statistics)
        elif isinstance(event, ViewPushed):
            pushed = getattr(self.runs, "pushed", {}) if self.runs is not None else {}
            run_id = pushed.get((event.view, event.start, event.end))
            self._record(event.view, MATERIALIZE, event.start, event.end, run_id, event.statistics)

    def _record(self, view: str, kind: str, start: datetime, end: datetime, run_id: int | None,
                statistics: dict[str, Any] | None) -> None:
        if not statistics:
            return
        try:
            for feature, stats in statistics.items():
                self.registry.add_statistics(self.project, view, feature, stats, range_start=start, range_end=end,
                                             run_kind=kind, run_id=run_id)
        except Exception as exc:  # never fail the run over its statistics
            log.warning("view %s: statistics of %s..%s not recorded: %s", view, start, end, exc)
