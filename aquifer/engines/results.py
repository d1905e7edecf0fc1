"""What engines and runs return: per view, the ranges computed, rows in / out and the status (any engine).

Engines return ``RangeResult``s; the run lifecycle (``aquifer.runs``) gathers them per view and run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SUCCEEDED, FAILED, SKIPPED, UP_TO_DATE = "succeeded", "failed", "skipped", "up_to_date"


@dataclass
class RangeResult:
    """One computed range of one view (one registry run)."""

    start: datetime
    end: datetime
    rows_in: int = 0
    rows_out: int = 0
    run_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    statistics: dict[str, dict[str, Any]] | None = None
    """Per feature, the statistics of the rows written (``{"summary", "sketch"}``, as the registry stores them);
    None when not computed. Kept out of ``details``, which go into run records."""


@dataclass
class ViewResult:
    """The outcome for one view: ``succeeded``, ``failed``, ``skipped`` (an upstream failed) or ``up_to_date``."""

    view: str
    status: str
    ranges: list[RangeResult] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0

    @property
    def rows_in(self) -> int:
        """Rows read over all ranges."""
        return sum(r.rows_in for r in self.ranges)

    @property
    def rows_out(self) -> int:
        """Rows written over all ranges."""
        return sum(r.rows_out for r in self.ranges)


@dataclass
class RunSummary:
    """Every view's result, in the order the views ran.

    ``invalidated``: ``(view, start, end)`` a backfill made stale downstream (forgotten from those views'
    ledgers, so the next run recomputes them); empty for other runs. ``widened``: ``(view, start, end, why)``
    for each view a backfill recomputed past the range asked for (what the range carries into later rows).
    """

    views: list[ViewResult] = field(default_factory=list)
    invalidated: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    widened: list[tuple[str, datetime, datetime, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no view failed or was skipped."""
        return all(v.status in (SUCCEEDED, UP_TO_DATE) for v in self.views)

    @property
    def failed(self) -> list[ViewResult]:
        """Views that failed or were skipped because an upstream failed."""
        return [v for v in self.views if v.status in (FAILED, SKIPPED)]

    def __getitem__(self, view: str) -> ViewResult:
        for result in self.views:
            if result.view == view:
                return result
        raise KeyError(f"no view {view!r} in this run")

    def __iter__(self) -> Iterator[ViewResult]:
        return iter(self.views)
