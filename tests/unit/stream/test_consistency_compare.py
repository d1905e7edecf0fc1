"""``consistency.compare``: online vectors from the event-at-a-time operator against the batch rules.

The "stream" here is ``aggregations.WindowOperator`` driven as the worker drives it (per-partition watermark,
late events refused, rows folded into a vector whose ``event_ts`` is the newest window end), so the check is
exercised against the operator's values, not against the reference it uses itself.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aquifer.aggregations import KLL_RANK_ERROR, WindowOperator
from aquifer.definitions import (
    Aggregation,
    AggregationView,
    BatchSource,
    Entity,
    KafkaSource,
    Session,
    Sliding,
    Tumbling,
)
from aquifer.engines.stream.consistency import Events, Vectors, compare, read_from, read_landed_events

MIN = 60_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
LATENESS = 5 * MIN


def make_view(*aggregations: Aggregation, path: str = "landed") -> AggregationView:
    user = Entity("user", join_keys=["user_id"])
    batch = BatchSource("landed", path=path, timestamp_field="ts")
    source = KafkaSource("payments", topic="payments", timestamp_field="ts", batch_source=batch)
    return AggregationView("spend", entities=[user], source=source, aggregations=list(aggregations))


GRID = make_view(
    Aggregation("amount", "count", Tumbling(timedelta(minutes=10))),
    Aggregation("amount", "sum", Sliding(timedelta(minutes=30), timedelta(minutes=10))),
    Aggregation("amount", "max", Tumbling(timedelta(hours=2))),
    Aggregation("amount", "p90", Tumbling(timedelta(hours=6))),
)
SESSIONS = make_view(
    Aggregation("amount", "count", Tumbling(timedelta(minutes=10))),
    Aggregation("amount", "avg", Session(timedelta(minutes=7))),
    Aggregation("amount", "p50", Session(timedelta(minutes=4), max_duration=timedelta(minutes=20))),
)


def stream(view: AggregationView, arrivals: list[tuple[str, int, float | None]]) -> tuple[Vectors, Events]:
    """The online vectors the worker would write and the events it would land (late ones left out)."""
    op = WindowOperator(view.aggregations)
    states: dict[str, object] = {}
    vectors: dict[str, tuple[int, list]] = {}
    accepted: Events = {}
    watermark = None
    for key, ts, amount in arrivals:
        state = states.setdefault(key, op.new_state())
        state, late = op.on_event(state, ts, {"amount": amount}, watermark_us=watermark)
        if late:
            continue
        accepted.setdefault(key, []).append((ts, {"amount": amount}))
        watermark = max(watermark or 0, ts - LATENESS)
        for k, s in states.items():
            s, rows = op.on_watermark(s, watermark)
            states[k] = s
            if rows:
                end, values = vectors.get(k, (0, [None] * len(view.aggregations)))
                for row in rows:
                    values[row.aggregation] = row.value
                vectors[k] = (max(end, *(row.end for row in rows)), values)
    return vectors, accepted


def arrivals(seed: int, n: int, keys: int, span: int, late_every: int = 0) -> list[tuple[str, int, float | None]]:
    """Bursty events (quiet hours between bursts), arriving up to the lateness out of order; some null."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        burst = rng.randrange(span // (90 * MIN)) * 90 * MIN
        ts = T0 + burst + rng.randrange(25 * MIN)
        events.append((str(rng.randrange(keys)), ts, None if i % 13 == 0 else round(rng.uniform(-50, 100), 2)))
    jitter = [rng.randrange(LATENESS) for _ in events]
    order = sorted(range(n), key=lambda i: events[i][1] + jitter[i])
    out = [events[i] for i in order]
    if late_every:
        for i in range(late_every, len(out), late_every):
            key, ts, value = out[i]
            out.insert(i, (key, ts - 3 * 60 * MIN, value))  # hours behind the watermark: dead-lettered
    return out


def bounded(view: AggregationView, events: Events, start: int) -> Events:
    since = read_from(view, start)
    if since is None:
        return events
    kept = {k: [e for e in v if e[0] >= since] for k, v in events.items()}
    return {k: v for k, v in kept.items() if v}


@pytest.mark.parametrize("view", [GRID, SESSIONS], ids=["grid", "sessions"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_streams_values_are_consistent_over_any_range(view, seed):
    vectors, events = stream(view, arrivals(seed, 600, 12, 2 * 24 * 60 * MIN, late_every=41))
    assert vectors
    newest = max(ts for ts, _ in vectors.values())
    for start, end in [(T0, T0 + 3 * 24 * 60 * MIN), (newest - 6 * 60 * MIN, newest + 1),
                       (newest - 90 * MIN, newest - 30 * MIN)]:
        report = compare(view, vectors, bounded(view, events, start), start, end,
                         read_from_us=read_from(view, start))
        assert report.consistent, "\n".join(report.render())
        assert report.keys_in_range == sum(start <= ts < end for ts, _ in vectors.values())
        assert all(f.compared == report.keys_in_range for f in report.features)


def test_percentiles_past_the_sketch_capacity_are_checked_by_rank():
    view = make_view(Aggregation("amount", "p90", Tumbling(timedelta(hours=1))))
    rng = random.Random(5)
    values = [float(rng.randrange(100_000)) for _ in range(5000)]
    arrivals_ = [("1", T0 + i * 700_000, v) for i, v in enumerate(values)]
    arrivals_.append(("1", T0 + 2 * 60 * MIN, 1.0))
    vectors, events = stream(view, arrivals_)
    report = compare(view, vectors, events, T0, T0 + 4 * 60 * MIN, read_from_us=None)
    assert report.consistent, "\n".join(report.render())
    at, (p90,) = vectors["1"]
    window = sorted(v for ts, v in [(T0 + i * 700_000, v) for i, v in enumerate(values)] if ts < T0 + 60 * MIN)
    off = sorted(window)[int(0.99 * len(window))]  # a value ranked 9 points away: beyond the bound
    assert abs(0.99 - 0.9) > KLL_RANK_ERROR
    report = compare(view, {"1": (at, [off])}, events, T0, T0 + 4 * 60 * MIN, read_from_us=None)
    (_stamp, feature) = report.features
    assert feature.mismatches == 1 and "rank" in feature.examples[0].detail, "\n".join(report.render())
    assert p90 is not None


def test_a_changed_value_and_a_dropped_event_are_reported_by_feature_and_key():
    vectors, events = stream(GRID, arrivals(7, 400, 6, 24 * 60 * MIN))
    start, end = T0, T0 + 2 * 24 * 60 * MIN
    key = next(k for k in sorted(vectors) if vectors[k][1][1] is not None)
    at, values = vectors[key]
    changed = dict(vectors)
    changed[key] = (at, [values[0], values[1] + 0.5, *values[2:]])
    report = compare(GRID, changed, events, start, end, read_from_us=None)
    by_name = {f.feature: f for f in report.features}
    sliding = GRID.aggregations[1].feature_name
    assert [m.key for m in by_name[sliding].examples] == [key] and by_name[sliding].mismatches == 1
    assert by_name[sliding].max_abs_diff == pytest.approx(0.5)
    assert report.mismatch_count == 1 and not report.consistent
    text = "\n".join(report.render())
    assert f"{sliding}: key {key} at " in text and text.endswith("1 mismatch")

    # the event that made the key's newest window: without it the batch has no window ending there
    newest_event = max((e for e in events[key] if e[0] < at), key=lambda e: e[0])
    dropped = {**events, key: [e for e in events[key] if e is not newest_event]}
    report = compare(GRID, vectors, dropped, start, end, read_from_us=None)
    assert not report.consistent
    assert key in {m.key for f in report.features for m in f.examples}


def test_entities_on_one_side_only_are_listed():
    vectors, events = stream(GRID, arrivals(9, 300, 5, 12 * 60 * MIN))
    start, end = T0, T0 + 24 * 60 * MIN
    gone = sorted(vectors)[0]
    only_online = {k: v for k, v in events.items() if k != gone}
    report = compare(GRID, vectors, only_online, start, end, read_from_us=None)
    assert report.online_only == [gone] and report.online_only_count == 1
    missing = {k: v for k, v in vectors.items() if k != gone}
    report = compare(GRID, missing, events, start, end, read_from_us=None)
    assert report.missing_online == [gone] and report.mismatch_count == 1
    data = report.to_dict()
    assert data["missing_online"] == {"count": 1, "keys": [gone]} and data["consistent"] is False


def test_read_from_spans_twice_the_longest_window_and_sessions_read_everything():
    assert read_from(GRID, T0) == T0 - 2 * (6 * 60 * MIN + 6 * 60 * MIN)
    assert read_from(SESSIONS, T0) is None


def test_landed_files_are_read_per_key_in_range_with_their_time_types(tmp_path):
    view = make_view(Aggregation("amount", "sum", Tumbling(timedelta(hours=1))), path=str(tmp_path / "landed"))
    folder = tmp_path / "landed"
    folder.mkdir()
    ns = pa.array([T0 * 1000 + 999, (T0 + MIN) * 1000], type=pa.timestamp("ns"))
    pq.write_table(pa.table({"user_id": [1, 2], "ts": ns, "amount": [1.5, None]}), folder / "a.parquet")
    pq.write_table(pa.table({"user_id": pa.array([1, None], type=pa.int64()),
                             "ts": pa.array([T0 + 2 * MIN, T0], type=pa.timestamp("us", tz="UTC")),
                             "amount": [float("nan"), 3.0]}), folder / "b.parquet")
    events = read_landed_events(view, tmp_path, T0, T0 + 60 * MIN)
    assert events == {"1": [(T0, {"amount": 1.5}), (T0 + 2 * MIN, {"amount": None})],
                      "2": [(T0 + MIN, {"amount": None})]}
    assert read_landed_events(view, tmp_path, T0 + 1, T0 + 60 * MIN).keys() == {"1", "2"}
    assert read_landed_events(view, tmp_path, None, T0 + MIN) == {"1": [(T0, {"amount": 1.5})]}


def test_a_feature_whose_last_window_closed_before_the_events_read_may_be_empty_online():
    view = make_view(Aggregation("amount", "max", Tumbling(timedelta(minutes=10))),
                     Aggregation("amount", "count", Tumbling(timedelta(hours=6))))
    day = 24 * 60 * MIN
    vectors, events = stream(view, [("1", T0, 4.0), ("1", T0 + 2 * day + 630 * MIN, 2.0),
                                    ("2", T0 + 2 * day + 660 * MIN, 1.0)])
    at, values = vectors["1"]
    assert at == T0 + 2 * day + 650 * MIN and values == [None, 0]  # the 6 h count: the closing row of day 0
    start = T0 + 2 * day + 600 * MIN
    since = read_from(view, start)
    assert since is not None and since > T0  # the day-0 event is not read
    report = compare(view, vectors, bounded(view, events, start), start, start + day, read_from_us=since)
    assert report.consistent, "\n".join(report.render())
    wrong = {**vectors, "1": (at, [None, 3])}  # a non-empty count needs events in the span read: refused
    report = compare(view, wrong, bounded(view, events, start), start, start + day, read_from_us=since)
    assert [(f.feature, f.mismatches) for f in report.features if f.mismatches] == [("amount_count_6h", 1)]
