"""Half-open event-time intervals ``[start, end)`` of UTC datetimes, and their set algebra.

Every function returns a **normalized** list: sorted, no empty intervals, and no two intervals that overlap
or touch (``[a, b)`` and ``[b, c)`` become ``[a, c)``). Inputs may be in any order and overlap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aquifer.times import as_utc


@dataclass(frozen=True, order=True)
class Interval:
    """The event times ``start <= t < end`` (UTC; a naive datetime is read as UTC)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end < self.start:
            raise ValueError(f"interval end {self.end.isoformat()} is before its start {self.start.isoformat()}")

    @property
    def duration(self) -> timedelta:
        """``end - start``."""
        return self.end - self.start

    @property
    def is_empty(self) -> bool:
        """True when ``start == end`` (no time in it)."""
        return self.start == self.end

    def __contains__(self, ts: datetime) -> bool:
        return self.start <= as_utc(ts) < self.end

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def normalize(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort, drop empty intervals, and coalesce overlapping or adjacent ones."""
    out: list[Interval] = []
    for interval in sorted(i for i in intervals if not i.is_empty):
        if out and interval.start <= out[-1].end:
            if interval.end > out[-1].end:
                out[-1] = Interval(out[-1].start, interval.end)
        else:
            out.append(interval)
    return out


def union(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Times in ``a`` or ``b``."""
    return normalize([*a, *b])


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Times in both ``a`` and ``b``."""
    left, right = normalize(a), normalize(b)
    out, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        start, end = max(left[i].start, right[j].start), min(left[i].end, right[j].end)
        if start < end:
            out.append(Interval(start, end))
        if left[i].end <= right[j].end:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Times in ``a`` but not in ``b``."""
    out = []
    cuts = normalize(b)
    for interval in normalize(a):
        start = interval.start
        for cut in cuts:
            if cut.end <= start or cut.start >= interval.end:
                continue
            if cut.start > start:
                out.append(Interval(start, cut.start))
            start = max(start, cut.end)
        if start < interval.end:
            out.append(Interval(start, interval.end))
    return out


def span(intervals: Iterable[Interval]) -> Interval | None:
    """The smallest interval covering all non-empty ``intervals`` (None when there are none)."""
    parts = normalize(intervals)
    return Interval(parts[0].start, parts[-1].end) if parts else None
