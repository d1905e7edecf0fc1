"""``trim_empty`` against a day-by-day brute force: kept days span the first to the last day with wanted time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from aquifer.planning import Interval, normalize, union
from aquifer.planning.empty import trim_empty

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _day(i: int) -> datetime:
    return T0 + i * DAY


spans = st.lists(st.tuples(st.integers(0, 60 * 24), st.integers(1, 72)), max_size=6).map(
    lambda xs: normalize(Interval(T0 + timedelta(hours=a), T0 + timedelta(hours=a + n)) for a, n in xs))
batches = st.lists(st.tuples(st.integers(0, 60), st.integers(1, 31)), min_size=1, max_size=4).map(
    lambda xs: normalize(Interval(_day(a), _day(a + n)) for a, n in xs))


@given(batches, spans)
def test_trim_matches_a_day_by_day_brute_force(planned, wanted):
    trimmed = trim_empty(planned, wanted)
    expected_compute, expected_empty = [], []
    for batch in planned:
        days = [batch.start + i * DAY for i in range((batch.end - batch.start) // DAY)]
        hit = [d for d in days if any(w.start < d + DAY and d < w.end for w in wanted)]
        if not hit:
            expected_empty.append(batch)
            continue
        kept = Interval(hit[0], hit[-1] + DAY)
        expected_compute.append(kept)
        expected_empty += [i for i in (Interval(batch.start, kept.start), Interval(kept.end, batch.end))
                           if not i.is_empty]
    assert trimmed.compute == expected_compute
    assert trimmed.empty == normalize(expected_empty)
    assert union(trimmed.compute, trimmed.empty) == normalize(planned)  # nothing planned is lost


def test_a_batch_without_wanted_time_is_empty_whole():
    batch = Interval(_day(0), _day(31))
    assert trim_empty([batch], [Interval(_day(40), _day(41))]) == ([], [batch])
