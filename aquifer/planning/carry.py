"""How far a backfill of an ``AggregationView`` must reach past its end: what a range carries forward.

A backfill recomputes ``[start, end)`` because source rows there changed. The view's rows at and after
``end`` can depend on those events too, so recomputing only ``[start, end)`` would leave later rows that
a full recompute gives differently:

- a tumbling or sliding window that holds events before ``end`` ends after it, and so does the closing
  row after a run of windows: up to ``size + step`` after ``end`` (``step``: ``size`` for tumbling);
- a session whose chain of events (each within ``gap`` of the previous one) crosses ``end`` ends after it,
  and with ``max_duration`` every cut of that chain depends on where the chain began: the chain ends at
  the first quiet ``gap`` after ``end``, which only the data can tell;
- every row of the view carries each feature's latest value forward (``engines.spark.aggregate``): a row
  at a later window end of one feature shows another feature's value from a window that may hold
  changed events, until that feature has a window of its own made of unchanged events only;
- a ``Lifetime`` window holds every earlier event: every later row depends on the range.

``settle_time`` gives, per entity and from the entity's events at or after ``end`` (which the backfill
did not change), the time from which its rows are the same whatever happened before ``end``. The
backfill is widened forward to the latest of them (over every entity) and replaces that tail too.
Times are epoch microseconds.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from aquifer.definitions import AggregationView, Lifetime, Session, Sliding, Tumbling
from aquifer.definitions.durations import format_duration

_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class CarryReach:
    """What an aggregation view's windows carry past a time (microseconds).

    ``grid``: the longest ``size + step`` of its tumbling/sliding windows (0 when none), ``grid_size``: the
    longest ``size``; ``gaps``: the gaps of its session windows; ``lifetime``: it has a ``Lifetime`` window.
    """

    grid: int = 0
    grid_size: int = 0
    gaps: tuple[int, ...] = ()
    lifetime: bool = False

    def describe(self) -> str:
        """Why a backfill reaches past its end, in words (for plans and logs)."""
        parts = []
        if self.lifetime:
            return "its Lifetime window holds every earlier event, so every later row is recomputed"
        if self.grid:
            parts.append(f"windows and closing rows up to {_text(self.grid)} after the end")
        if self.gaps:
            parts.append("sessions (gap " + ", ".join(sorted({_text(g) for g in self.gaps})) +
                         ") continuing past it, up to the first quiet gap")
        parts.append("values carried forward until each feature has a window of unchanged events")
        return "; ".join(parts)


def _text(us: int) -> str:
    return format_duration(timedelta(microseconds=us))


def carry_reach(view: AggregationView) -> CarryReach:
    """The view's ``CarryReach`` from its aggregations' windows."""
    grid = grid_size = 0
    gaps: list[int] = []
    lifetime = False
    for a in view.aggregations:
        w = a.window
        if isinstance(w, Lifetime):
            lifetime = True
        elif isinstance(w, Session):
            gaps.append(w.gap // _US)
        elif isinstance(w, Tumbling | Sliding):
            step = w.every if isinstance(w, Sliding) else w.size
            grid, grid_size = max(grid, (w.size + step) // _US), max(grid_size, w.size // _US)
    return CarryReach(grid, grid_size, tuple(sorted(set(gaps))), lifetime)


def _chain_end(times: Sequence[int], begin: int, gap: int) -> int:
    """The end (last event + ``gap``) of the chain of ``times`` linked to ``begin`` (a virtual event):
    each next event within ``gap`` of the previous joins it."""
    last = begin
    for t in times[bisect_left(times, begin):]:
        if t >= last + gap:
            break
        last = t
    return last + gap


def settle_time(times: Sequence[int], end: int, reach: CarryReach) -> int | None:
    """The time from which an entity's rows no longer depend on its events before ``end``.

    ``times``: the entity's event times at or after ``end`` (sorted). None when there is no such time
    (a ``Lifetime`` window: every later row depends on every earlier event).

    ``base`` is past every grid window and closing row holding events before ``end`` (``end + grid``) and past
    the session chain crossing ``end`` (any event before ``end`` is within ``gap`` of ``end`` at most, so the
    chain is followed from ``end`` as a virtual event). Rows after ``base`` are made of unchanged events, but
    carry older values forward until each feature has a row of its own after ``base``: for the entity's first
    event ``q >= base``, its grid windows end by ``q + grid_size`` and its sessions by the end of ``q``'s chain.
    Without such an event the entity has no row after its last event's reach.
    """
    if reach.lifetime:
        return None
    base = end + reach.grid
    for gap in reach.gaps:
        base = max(base, _chain_end(times, end, gap))
    i = bisect_left(times, base)
    if i == len(times):
        last = times[-1] if times else end
        return max(base, last + max(reach.grid, *reach.gaps, 0))
    q = times[i]
    settled = max(base, q + reach.grid_size)
    for gap in reach.gaps:
        settled = max(settled, _chain_end(times, q, gap))
    return settled
