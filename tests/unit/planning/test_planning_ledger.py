"""missing_intervals, whole-day alignment, batches and backfills: examples plus tick-set oracles."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from aquifer.planning import (
    DAY,
    BackfillPlan,
    Interval,
    align_to_days,
    backfill_plan,
    ceil_time,
    floor_time,
    missing_intervals,
    normalize,
    plan_run,
    split_batches,
    subtract,
    union,
)

H = timedelta(hours=1)


def d(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)


def test_first_run_computes_everything_up_to_now() -> None:
    assert missing_intervals([], d(1), d(9), lookback=H, now_end=d(3, 14)) == [Interval(d(1), d(3, 14))]
    assert plan_run([], d(1), d(9), lookback=H, now_end=d(3, 14), max_span=DAY) == [
        Interval(d(1), d(2)),
        Interval(d(2), d(3)),
        Interval(d(3), d(3, 14)),  # the last, partial day ends at now
    ]


def test_incremental_run_rereads_the_lookback_and_rewrites_that_whole_day() -> None:
    done = [Interval(d(1), d(3, 14))]
    assert missing_intervals(done, d(1), d(9), lookback=H, now_end=d(3, 18)) == [Interval(d(3, 13), d(3, 18))]
    assert plan_run(done, d(1), d(9), lookback=H, now_end=d(3, 18)) == [Interval(d(3), d(3, 18))]


def test_late_rows_outside_the_lookback_are_not_rerun() -> None:
    done = [Interval(d(1), d(5))]
    assert missing_intervals(done, d(1), d(9), lookback=2 * H, now_end=d(5, 10)) == [Interval(d(4, 22), d(5, 10))]
    assert plan_run(done, d(1), d(9), lookback=2 * H, now_end=d(5, 10)) == [Interval(d(4), d(5, 10))]
    assert missing_intervals(done, d(1), d(9), lookback=timedelta(0), now_end=d(5, 10)) == [Interval(d(5), d(5, 10))]


def test_holes_are_filled_and_done_ranges_skipped() -> None:
    done = [Interval(d(1), d(2)), Interval(d(3), d(5))]
    assert missing_intervals(done, d(1), d(6), lookback=H) == [Interval(d(2), d(3)), Interval(d(4, 23), d(6))]
    # fully done and the frontier beyond the request: nothing to do
    assert missing_intervals([Interval(d(1), d(9))], d(2), d(4), lookback=DAY) == []
    # the request ends before now_end starts, or is empty
    assert missing_intervals([], d(5), d(9), lookback=H, now_end=d(4)) == []
    with pytest.raises(ValueError):
        missing_intervals([], d(1), d(2), lookback=-H)


def ticks(intervals: list[Interval], origin: datetime) -> set[int]:
    return {k for i in intervals for k in range((i.start - origin) // H, (i.end - origin) // H)}


def test_missing_intervals_matches_tick_oracle() -> None:
    rng = random.Random(5)
    origin = d(1)

    def at(k: int) -> datetime:
        return origin + k * H

    for _ in range(500):
        done = [Interval(at(k), at(k + rng.randint(0, 10))) for k in rng.sample(range(60), rng.randint(0, 4))]
        start, end, now = rng.randint(0, 50), rng.randint(0, 70), rng.randint(0, 80)
        lookback = rng.randint(0, 12)
        got = missing_intervals(done, at(start), at(end), lookback=lookback * H, now_end=at(now))
        requested = set(range(start, min(end, now)))
        done_ticks = ticks(done, origin)
        expected = requested - done_ticks
        if normalize(done):
            frontier = max(i.end for i in done if not i.is_empty)
            last = (frontier - origin) // H
            expected |= set(range(last - lookback, last)) & requested
        assert ticks(got, origin) == expected
        assert got == normalize(got)


def test_plan_run_batches_never_split_a_day_partition() -> None:
    """Every day a batch touches is covered whole, except before ``lower`` and from ``now_end`` on."""
    rng = random.Random(6)
    for _ in range(300):
        lower = d(1, rng.randint(0, 23))
        done = [Interval(d(rng.randint(1, 5), rng.randint(0, 23)), d(rng.randint(6, 9), rng.randint(0, 23)))]
        now = d(rng.randint(7, 12), rng.randint(0, 23))
        batches = plan_run(
            done,
            lower,
            d(20),
            lookback=rng.randint(0, 30) * H,
            now_end=now,
            max_span=rng.randint(1, 4) * DAY,
            lower=lower,
        )
        assert batches == sorted(batches)
        assert not subtract([Interval(lower, now)], union(done, batches)), "after the run everything is done"
        for batch in batches:
            assert batch.duration <= 4 * DAY
            day = floor_time(batch.start, DAY)
            while day < batch.end:
                whole = Interval(max(day, lower), min(day + DAY, now))
                assert not subtract([whole], [batch]), (batch, day)
                day += DAY


def test_align_to_days() -> None:
    assert align_to_days([Interval(d(2, 5), d(2, 6)), Interval(d(3, 1), d(4))]) == [Interval(d(2), d(4))]
    assert align_to_days([Interval(d(2, 5), d(3, 6))], lower=d(2, 3), upper=d(3, 8)) == [Interval(d(2, 3), d(3, 8))]
    assert align_to_days([Interval(d(2, 5), d(2, 5))]) == []
    assert align_to_days([Interval(d(2, 5), d(2, 6))], upper=d(1)) == []


def test_split_batches() -> None:
    assert split_batches([Interval(d(1), d(4, 12))], DAY) == [
        Interval(d(1), d(2)),
        Interval(d(2), d(3)),
        Interval(d(3), d(4)),
        Interval(d(4), d(4, 12)),
    ]
    # an unaligned start is cut at the next midnight that keeps the batch within max_span
    assert split_batches([Interval(d(1, 6), d(6))], 2 * DAY) == [
        Interval(d(1, 6), d(3)),
        Interval(d(3), d(5)),
        Interval(d(5), d(6)),
    ]
    assert split_batches([Interval(d(1), d(2)), Interval(d(5), d(6))], 10 * DAY) == [
        Interval(d(1), d(2)),
        Interval(d(5), d(6)),
    ]
    with pytest.raises(ValueError):
        split_batches([Interval(d(1), d(2))], H)


def test_backfill_plan() -> None:
    plan = backfill_plan(d(2, 6), d(4, 12), now_end=d(9), max_span=DAY)
    assert plan == BackfillPlan(
        Interval(d(2), d(5)), [Interval(d(2), d(3)), Interval(d(3), d(4)), Interval(d(4), d(5))]
    )
    forget, run = plan
    done_after = subtract([Interval(d(1), d(9))], [forget])
    assert union(done_after, run) == [Interval(d(1), d(9))]
    # capped at now, nothing after now
    assert backfill_plan(d(8), d(20), now_end=d(9, 6)) == BackfillPlan(
        Interval(d(8), d(9, 6)), [Interval(d(8), d(9, 6))]
    )
    assert backfill_plan(d(10), d(12), now_end=d(9)) is None


def test_floor_and_ceil() -> None:
    assert floor_time(d(3, 13), DAY) == d(3) and ceil_time(d(3, 13), DAY) == d(4)
    assert ceil_time(d(3), DAY) == d(3)
    assert floor_time(datetime(1969, 12, 31, 5, tzinfo=UTC), DAY) == datetime(1969, 12, 31, tzinfo=UTC)
    assert floor_time(d(3, 13), timedelta(hours=5)).hour == 10  # multiples of 5h since the epoch
