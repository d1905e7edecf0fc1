"""``planning.carry.settle_time``: after it, an entity's rows do not depend on its events before the end.

Brute force: random event sets of one entity are changed before ``end`` (events added, removed, moved,
values changed); the view's rows (every window end of any feature, each feature's value as of it) are
computed for both with the aggregation model, and must be equal from the settle time on, whatever changed.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from aquifer.aggregations import compute_windows, value_as_of
from aquifer.definitions import (
    Aggregation,
    AggregationView,
    BatchSource,
    Entity,
    Lifetime,
    Session,
    Sliding,
    Tumbling,
)
from aquifer.planning.carry import carry_reach, settle_time
from aquifer.types import Int64

MIN = 60_000_000
USER = Entity("user", join_keys=["user_id"], key_types=[Int64])
END = 600 * MIN
SOURCE = BatchSource("s", path="s.parquet", timestamp_field="ts")

VIEWS = {
    "tumbling": [Aggregation("v", "count", Tumbling("1h")), Aggregation("v", "sum", Tumbling("3h"))],
    "sliding": [Aggregation("v", "max", Sliding("2h", every="30m")), Aggregation("v", "sum", Tumbling("1h"))],
    "session": [Aggregation("v", "sum", Session(gap="30m")), Aggregation("v", "count", Tumbling("1h"))],
    "max_duration": [Aggregation("v", "sum", Session(gap="20m", max_duration="1h")),
                     Aggregation("v", "max", Session(gap="45m"))],
    "mixed": [Aggregation("v", "sum", Session(gap="20m", max_duration="1h")),
              Aggregation("v", "avg", Sliding("1h", every="15m")), Aggregation("v", "count", Tumbling("1d"))],
}


def _view(aggs: list[Aggregation]) -> AggregationView:
    return AggregationView("w", entities=[USER], source=SOURCE, aggregations=aggs)


def _rows(events: list[tuple[int, float]], aggs: list[Aggregation]) -> list[tuple[int, tuple]]:
    windows = [compute_windows(sorted(events), a) for a in aggs]
    times = sorted({w.end for ws in windows for w in ws})
    return [(t, tuple(value_as_of(ws, t) for ws in windows)) for t in times]


def _events(rng: random.Random) -> list[tuple[int, float]]:
    """Bursts (session chains) with quiet stretches, around ``END``."""
    out, t = [], rng.randint(0, 60) * MIN
    while t < 2 * END:
        for _ in range(rng.randint(1, 8)):
            out.append((t, float(rng.randint(1, 9))))
            t += rng.choice([0, 5, 10, 15, 19]) * MIN
        t += rng.choice([20, 25, 40, 90, 300]) * MIN
    return out


def _changed(events: list[tuple[int, float]], rng: random.Random) -> list[tuple[int, float]]:
    before = [e for e in events if e[0] < END]
    after = [e for e in events if e[0] >= END]
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["add", "remove", "value"])
        if kind == "add" or not before:
            before.append((END - rng.randint(1, 240) * MIN, float(rng.randint(1, 9))))
        elif kind == "remove":
            before.pop(rng.randrange(len(before)))
        else:
            i = rng.randrange(len(before))
            before[i] = (before[i][0], before[i][1] + 1)
    return before + after


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_rows_from_the_settle_time_on_do_not_depend_on_events_before_the_end(name):
    aggs = VIEWS[name]
    reach = carry_reach(_view(aggs))
    rng = random.Random(name)
    widened = 0
    for _ in range(100):
        old = _events(rng)
        new = _changed(old, rng)
        settle = settle_time([t for t, _ in old if t >= END], END, reach)
        assert settle is not None and settle >= END
        old_rows, new_rows = _rows(old, aggs), _rows(new, aggs)
        assert [r for r in old_rows if r[0] >= settle] == [r for r in new_rows if r[0] >= settle]
        # and rows after the end but before it do differ at times: the rule is not vacuous
        widened += [r for r in old_rows if END <= r[0] < settle] != [r for r in new_rows if END <= r[0] < settle]
    assert widened > 0


def test_reach_of_each_window_kind():
    reach = carry_reach(_view(VIEWS["mixed"]))
    assert reach.grid == (timedelta(days=2) // timedelta(microseconds=1))  # 1d tumbling: size + size
    assert reach.grid_size == 24 * 60 * MIN
    assert reach.gaps == (20 * MIN,)
    assert "closing rows up to 2d" in reach.describe() or "closing rows up to 48h" in reach.describe()


def test_no_event_after_the_end_settles_after_the_longest_reach():
    reach = carry_reach(_view(VIEWS["session"]))
    assert settle_time([], END, reach) == END + 2 * 60 * MIN  # tumbling 1h: size + step
    # a chain crossing the end: each event within 30m of the previous one, from the end on
    chain = [END + 10 * MIN, END + 35 * MIN, END + 60 * MIN, END + 200 * MIN]
    # chain ends at END + 90m; the next event (END + 200m) is past base (END + 2h), so its session
    # (ends END + 230m) and its 1h window (ends by END + 260m) settle every feature
    assert settle_time(chain, END, reach) == END + 260 * MIN


def test_lifetime_never_settles():
    assert settle_time([END], END, carry_reach(_view([Aggregation("v", "sum", Lifetime())]))) is None
