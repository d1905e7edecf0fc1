"""What an incremental run or a backfill must compute, as a pure function of the interval ledger.

**The rule.** With ``done`` the view's ledger, ``stop = min(end, now_end)`` and ``frontier`` the latest end
of any done interval::

    to_run = union(subtract([start, stop), done),
                   intersect([frontier - lookback, frontier), [start, stop)))

The second part (absent while ``done`` is empty) re-reads the trailing ``lookback`` — the view's allowed
lateness — for rows that arrived late. Late rows older than ``frontier - lookback`` are not picked up by
incremental runs; a backfill recomputes them.

**Whole days.** The offline store is partitioned by event date and a write replaces whole date partitions.
A batch that covered only part of a day would replace that day's partition with part of its rows, losing
the rest. So ``plan_run`` widens what is missing to whole UTC days (``align_to_days``) and cuts batches only
at midnights (``split_batches``). The only partial days allowed are at ``upper`` (``now_end``: nothing at or
after it exists or is done yet, so the day is completed by a later run, which rewrites it whole) and at
``lower`` (the view's first event time, before which nothing is ever written). Never clip to a run's
requested ``start``: a mid-day start would drop the done morning of that day. The engine computes each batch
whole, writes it, then records the batch (as widened) in the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from aquifer.planning.intervals import Interval, intersect, normalize, subtract, union
from aquifer.planning.times import DAY, as_utc, ceil_time, floor_time


def _stop(end: datetime, now_end: datetime | None) -> datetime:
    return as_utc(end) if now_end is None else min(as_utc(end), as_utc(now_end))


def missing_intervals(
    done: Iterable[Interval],
    start: datetime,
    end: datetime,
    *,
    lookback: timedelta = timedelta(0),
    now_end: datetime | None = None,
) -> list[Interval]:
    """The event-time ranges an incremental run over ``[start, end)`` must compute (rule in module docstring).

    ``now_end`` caps the request: times at or after it have no data yet (pass the current time).
    """
    if lookback < timedelta(0):
        raise ValueError(f"lookback must not be negative, got {lookback}")
    stop = _stop(end, now_end)
    if stop <= as_utc(start):
        return []
    requested = [Interval(start, stop)]
    done = normalize(done)
    todo = subtract(requested, done)
    if done and lookback > timedelta(0):
        frontier = done[-1].end
        todo = union(todo, intersect([Interval(frontier - lookback, frontier)], requested))
    return todo


def align_to_days(
    intervals: Iterable[Interval],
    *,
    lower: datetime | None = None,
    upper: datetime | None = None,
    unit: timedelta = DAY,
) -> list[Interval]:
    """Widen each interval to whole ``unit``s (UTC days), then clip to ``[lower, upper)`` and normalize.

    ``upper`` should be ``now_end`` and ``lower`` the view's first event time (see the module docstring for
    why no other clipping is safe).
    """
    low = None if lower is None else as_utc(lower)
    high = None if upper is None else as_utc(upper)
    out = []
    widened = [Interval(floor_time(i.start, unit), ceil_time(i.end, unit)) for i in normalize(intervals)]
    for interval in normalize(widened):
        start = interval.start if low is None else max(interval.start, low)
        end = interval.end if high is None else min(interval.end, high)
        if start < end:
            out.append(Interval(start, end))
    return out


def split_batches(intervals: Iterable[Interval], max_span: timedelta, align: timedelta = DAY) -> list[Interval]:
    """Cut intervals into run batches of at most ``max_span``, cutting only on multiples of ``align``.

    Interval ends are kept as they are (align them first with ``align_to_days``); ``max_span`` must be at
    least ``align``. Batches come back in time order.
    """
    if max_span < align:
        raise ValueError(f"max_span {max_span} is shorter than the alignment {align}")
    batches = []
    for interval in normalize(intervals):
        cursor = interval.start
        while cursor < interval.end:
            cut = min(floor_time(cursor + max_span, align), interval.end)
            batches.append(Interval(cursor, cut))
            cursor = cut
    return batches


def plan_run(
    done: Iterable[Interval],
    start: datetime,
    end: datetime,
    *,
    lookback: timedelta,
    now_end: datetime,
    max_span: timedelta = timedelta(days=7),
    lower: datetime | None = None,
) -> list[Interval]:
    """The batches of an incremental run: missing intervals, widened to whole days, split by ``max_span``."""
    missing = missing_intervals(done, start, end, lookback=lookback, now_end=now_end)
    return split_batches(align_to_days(missing, lower=lower, upper=now_end), max_span)


class BackfillPlan(NamedTuple):
    """A backfill: drop ``forget`` from the ledger, then compute ``run`` (batches in time order)."""

    forget: Interval
    run: list[Interval]


def backfill_plan(
    start: datetime,
    end: datetime,
    *,
    now_end: datetime | None = None,
    max_span: timedelta = timedelta(days=7),
    lower: datetime | None = None,
) -> BackfillPlan | None:
    """Recompute ``[start, end)`` whether or not it was done: widened to whole days, capped at ``now_end``.

    ``None`` when nothing is left (the range is empty or lies after ``now_end``). The caller removes
    ``forget`` from the ledger before the first batch runs; each batch is recorded again as it completes,
    so a killed backfill resumes as an ordinary incremental run.
    """
    stop = _stop(end, now_end)
    if stop <= as_utc(start):
        return None
    aligned = align_to_days([Interval(start, stop)], lower=lower, upper=now_end)
    if not aligned:
        return None
    return BackfillPlan(aligned[0], split_batches(aligned, max_span))
