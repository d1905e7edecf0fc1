"""What a batch engine does for the run lifecycle: find where data starts, compute a range, write it.

The lifecycle (``aquifer.runs.batch``) owns planning, the ledger, run records and events; an engine only
computes and writes. ``compute_range`` returns a handle that listeners may inspect (``frame``,
``rows_in``) before ``write_range`` puts it in the offline store; ``release`` frees it either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from aquifer.engines.results import RangeResult


class ComputedRange(Protocol):
    """A computed, not yet written range of one view."""

    view: Any
    start: datetime
    end: datetime
    rows_in: int
    frame: Any

    def release(self) -> None:
        """Free what the computation holds (cached data); called once, written or not."""


class BatchEngine(Protocol):
    """Computes and writes ranges of views (Spark today; anything with the same answers tomorrow)."""

    name: str

    def first_event_day(self, view: Any) -> datetime | None:
        """UTC midnight before the earliest event under ``view`` (None when its sources hold none)."""

    def compute_range(self, view: Any, start: datetime, end: datetime, checks: Sequence[Any] = ()
                      ) -> ComputedRange:
        """Compute ``[start, end)`` of ``view``; nothing is written yet. ``checks``: the row-level expectations
        the run's listeners will validate (``Listeners.row_checks``); an engine may count them while it computes
        and hand the counts on the returned range (``checked``), or ignore them."""

    def write_range(self, computed: ComputedRange) -> RangeResult:
        """Replace the range in the offline store with ``computed``; rows in / out and details."""

    def explain(self, exc: BaseException) -> str | None:
        """A one-line user-facing message for an error this engine raised, when it knows one."""
