"""Interval algebra vs a set-of-ticks oracle (one tick = one hour on a small grid)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aquifer.planning import Interval, intersect, normalize, span, subtract, union

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def iv(a: int, b: int) -> Interval:
    return Interval(T0 + a * H, T0 + b * H)


def ticks(intervals: list[Interval]) -> set[int]:
    return {k for i in intervals for k in range(int((i.start - T0) / H), int((i.end - T0) / H))}


def is_normalized(intervals: list[Interval]) -> bool:
    return all(not i.is_empty for i in intervals) and all(a.end < b.start for a, b in pairwise(intervals))


interval_lists = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 30)).map(lambda p: iv(min(p), max(p))), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(interval_lists, interval_lists)
def test_algebra_matches_tick_sets(a: list[Interval], b: list[Interval]) -> None:
    for result, expected in [
        (normalize(a), ticks(a)),
        (union(a, b), ticks(a) | ticks(b)),
        (intersect(a, b), ticks(a) & ticks(b)),
        (subtract(a, b), ticks(a) - ticks(b)),
    ]:
        assert ticks(result) == expected
        assert is_normalized(result)


def test_normalize_coalesces_adjacent_and_drops_empty() -> None:
    assert normalize([iv(5, 6), iv(0, 2), iv(2, 3), iv(4, 4)]) == [iv(0, 3), iv(5, 6)]
    assert subtract([iv(0, 10)], [iv(2, 3), iv(5, 7)]) == [iv(0, 2), iv(3, 5), iv(7, 10)]
    assert intersect([iv(0, 5)], [iv(5, 9)]) == []
    assert span([iv(3, 4), iv(0, 1)]) == iv(0, 4)
    assert span([]) is None


def test_interval_is_utc_and_half_open() -> None:
    plus2 = timezone(timedelta(hours=2))
    interval = Interval(datetime(2024, 1, 1, 2, tzinfo=plus2), datetime(2024, 1, 2))  # naive end: UTC
    assert interval == Interval(T0, T0 + 24 * H)
    assert interval.start.tzinfo is UTC
    assert T0 in interval and (T0 + 24 * H) not in interval
    assert interval.duration == timedelta(days=1)
    assert str(iv(0, 1)) == "[2024-01-01T00:00:00+00:00, 2024-01-01T01:00:00+00:00)"
    with pytest.raises(ValueError, match="before its start"):
        iv(2, 1)
