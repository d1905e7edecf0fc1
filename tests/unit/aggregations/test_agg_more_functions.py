"""stddev/variance, approx_distinct, first/last, last_n, min_by/max_by, window offsets and Lifetime against
brute force written here (plain loops over the events): the reference (``compute_windows``) and the
event-at-a-time ``WindowOperator`` (events in random order within the lateness, state through bytes after
every event), with nulls, NaNs, equal times and empty windows."""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from typing import Any

import pytest
from aggregation_oracle import agree, empty, grid_rows, lifetime_as_of, null, oracle

from aquifer.aggregations import HLL_REL_ERROR, compute_windows
from aquifer.aggregations.incremental import WindowOperator
from aquifer.aggregations.lookup import aggregator_for
from aquifer.analysis.validate import aggregation_problems
from aquifer.definitions import Aggregation, AggregationView, BatchSource, Entity, Lifetime, Sliding, Tumbling
from aquifer.definitions.base import DefinitionError
from aquifer.definitions.types import Float64, Float64List, Int64, String
from aquifer.definitions.windows import Window

MIN = 60_000_000
Event = tuple[int, object, object]
"""``(ts µs, value, by)``."""


# --- data --------------------------------------------------------------------------------------------------

def make_events(rng: random.Random, n: int, *, kind: str = "number") -> list[Event]:
    """Events over ~3 hours with gaps (empty windows), equal times, null and NaN values, null ``by``s."""
    events: list[Event] = []
    t = rng.randrange(-10 * MIN, 10 * MIN)  # times before the epoch too
    for _ in range(n):
        t += rng.choice([0, 0, rng.randrange(1, 3 * MIN), rng.randrange(MIN, 40 * MIN)])
        r = rng.random()
        if r < 0.1:
            value: object = None
        elif r < 0.15:
            value = math.nan if kind == "number" else None
        elif kind == "text":
            value = rng.choice(["a", "b", "c", "d", "e"])
        else:
            value = float(rng.randrange(-50, 50)) / 4
        by = None if rng.random() < 0.1 else rng.randrange(0, 6)  # ties in by are common
        events.append((t, value, by))
    return events


FUNCTIONS = ["var_pop", "var_samp", "stddev_pop", "stddev_samp", "approx_distinct", "first", "last", "last_n(3)",
             "min_by", "max_by"]
WINDOWS: list[Window] = [Tumbling("10m"), Tumbling("10m", offset="3m"), Sliding("20m", every="5m"),
                         Sliding("20m", every="5m", offset="2m"), Lifetime()]


def aggregation(function: str, window: Window, *, text: bool = False) -> Aggregation:
    by = "y" if function in ("min_by", "max_by") else None
    value_type = String if text else None
    return Aggregation("x", function, window, by=by, value_type=value_type)


# --- the reference against the oracle ---------------------------------------------------------------------

@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: w.label)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_reference_matches_brute_force(function: str, window: Window) -> None:
    rng = random.Random(f"{function}{window.label}")
    events = make_events(rng, 120)
    got = compute_windows(events, aggregation(function, window))
    if isinstance(window, Lifetime):
        times = sorted({ts for ts, _, _ in events})
        assert [(r.start, r.end) for r in got] == [(0, t + 1) for t in times]
        for row in got:
            assert agree(function, row.value, lifetime_as_of(function, events, row.end)), row
        return
    want = grid_rows(window, function, events)
    assert [(r.start, r.end) for r in got] == [(s, e) for s, e, _ in want]
    for row, (_, _, value) in zip(got, want, strict=True):
        assert agree(function, row.value, value), (row, value)


@pytest.mark.parametrize("function", ["first", "last", "min_by", "max_by", "approx_distinct"])
def test_text_values(function: str) -> None:
    rng = random.Random(function)
    events = make_events(rng, 80, kind="text")
    window = Tumbling("30m", offset="10m")
    got = compute_windows(events, aggregation(function, window, text=function != "approx_distinct"))
    want = grid_rows(window, function, events)
    assert [(r.start, r.end) for r in got] == [(s, e) for s, e, _ in want]
    assert all(agree(function, r.value, w) for r, (_, _, w) in zip(got, want, strict=True))


def test_empty_and_all_null_windows() -> None:
    events: list[Event] = [(0, None, 1), (1, math.nan, None), (2, None, None)]
    for function in FUNCTIONS:
        rows = compute_windows(events, aggregation(function, Tumbling("1m")))
        assert [r.value for r in rows] == [empty(function), empty(function)], function  # the window, its closing
    assert compute_windows([], aggregation("first", Lifetime())) == []


def test_moments_merge_in_any_grouping() -> None:
    """Chan's merge of random partitions equals the two-pass oracle, including huge offsets (cancellation)."""
    rng = random.Random(7)
    for function in ("var_pop", "var_samp", "stddev_pop", "stddev_samp"):
        agg = aggregator_for(function)
        for _ in range(50):
            values = [1e9 + rng.gauss(0, 1) for _ in range(rng.randrange(0, 40))]
            cuts = sorted(rng.sample(range(len(values) + 1), k=min(3, len(values) + 1)))
            parts, last = [], 0
            for cut in [*cuts, len(values)]:
                state = agg.init()
                for v in values[last:cut]:
                    state = agg.update(state, v)
                parts.append(state)
                last = cut
            state = agg.init()
            for part in parts:
                state = agg.merge(state, part)
            want = oracle(function, [(0, v, None) for v in values])
            got = agg.finalize(agg.from_bytes(agg.to_bytes(state)))
            assert (got is None and want is None) or math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)


@pytest.mark.parametrize("n", [10, 1_000, 50_000])
def test_approx_distinct_error_bound(n: int) -> None:
    rng = random.Random(n)
    values = [rng.randrange(0, 2 * n) for _ in range(n)] + [None, math.nan]
    exact = len({v for v in values if not null(v)})
    agg = aggregator_for("approx_distinct")
    half = len(values) // 2
    a, b = agg.init(), agg.init()
    for v in values[:half]:
        a = agg.update(a, v)
    for v in values[half:]:
        b = agg.update(b, float(v) if isinstance(v, int) else v)  # 3.0 and 3 are one value
    merged = agg.finalize(agg.merge(agg.from_bytes(agg.to_bytes(a)), b))
    assert abs(merged - exact) <= max(1.0, HLL_REL_ERROR * exact)
    if n <= 10:
        assert merged == exact


# --- the operator, event at a time -------------------------------------------------------------------------

def arrivals(rng: random.Random, events: Sequence[tuple[int, Event]], lateness: int) -> list[tuple[int, Event]]:
    """A random order in which no event is late: each arrives at its time plus a jitter below the lateness."""
    keyed = [(ts + rng.randrange(0, lateness), i) for i, (_, (ts, _, _)) in enumerate(events)]
    return [events[i] for _, i in sorted(keyed)]


def replay(op: WindowOperator, stream: Sequence[tuple[int, Event]], lateness: int,
           rng: random.Random) -> dict[int, list[tuple[int, int, Any]]]:
    """Feed events (state through bytes after each); advance every key's watermark now and then."""
    stored: dict[int, bytes] = {}
    rows: dict[int, list[tuple[int, int, Any]]] = {}
    seen: int | None = None

    def advance(key: int, watermark: int) -> None:
        state = op.from_bytes(stored[key])
        due = op.next_emit(state)
        state, emitted = op.on_watermark(state, watermark)
        assert (due is not None and due <= watermark) == bool(emitted)
        rows.setdefault(key, []).extend((r.start, r.end, r.value) for r in emitted)
        stored[key] = op.to_bytes(state)

    for key, (ts, value, by) in stream:
        state = op.from_bytes(stored[key]) if key in stored else op.new_state()
        watermark = None if seen is None else seen - lateness
        state, late = op.on_event(state, ts, {"x": value, "y": by}, watermark_us=watermark)
        assert not late
        stored[key] = op.to_bytes(state)
        seen = ts if seen is None else max(seen, ts)
        if rng.random() < 0.3:
            for k in stored:
                advance(k, seen - lateness)
    for k in stored:
        advance(k, 10**15)
    return rows


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: w.label)
def test_operator_matches_brute_force(window: Window) -> None:
    rng = random.Random(window.label)
    lateness = 7 * MIN
    events = [(key, e) for key in range(3) for e in make_events(rng, 70)]
    aggs = [aggregation(f, window) for f in FUNCTIONS] + [Aggregation("x", "count", window)]
    op = WindowOperator(aggs)
    rows = replay(op, arrivals(rng, events, lateness), lateness, rng)
    for key in range(3):
        mine = [e for k, e in events if k == key]
        got = rows[key]
        if isinstance(window, Lifetime):
            ends = [end for _, end, _ in got]
            assert ends == sorted(ends) and all(start == 0 for start, _, _ in got)
            # a row at each watermark that passed new events of the key: the last one holds them all
            assert len({end for end in ends}) > 3 and got[-1][2] == lifetime_as_of("count", mine, 10**16)
            for i, agg in enumerate(aggs):
                feature_rows = got[i::len(aggs)]
                for _, end, value in feature_rows:
                    want = lifetime_as_of(agg.function, mine, end)
                    assert agree(agg.function, value, want), (agg.function, end, value, want)
            continue
        by_feature: dict[int, list[tuple[int, int, Any]]] = {}
        for j, (start, end, value) in enumerate(got):
            by_feature.setdefault(j % len(aggs), []).append((start, end, value))
        for i, agg in enumerate(aggs):
            want = grid_rows(window, agg.function, mine)
            mine_rows = sorted(by_feature[i])
            assert [(s, e) for s, e, _ in mine_rows] == [(s, e) for s, e, _ in want], agg.function
            for (s, e, value), (_, _, w) in zip(mine_rows, want, strict=True):
                assert agree(agg.function, value, w), (agg.function, s, e, value, w)


def test_operator_rows_by_feature_are_grouped_per_window_end() -> None:
    """Rows of one emission come by (end, start, aggregation): the replay above reads them per feature."""
    op = WindowOperator([Aggregation("x", "first", Tumbling("1m")), Aggregation("x", "last", Tumbling("1m"))])
    state = op.new_state()
    state, _ = op.on_event(state, 5, {"x": 1.0})
    state, _ = op.on_event(state, 5, {"x": 2.0})
    state, rows = op.on_watermark(state, 10**12)
    assert [(r.feature, r.value) for r in rows] == [("x_first_1m", 1.0), ("x_last_1m", 2.0),
                                                    ("x_first_1m", None), ("x_last_1m", None)]


def test_lifetime_emits_only_when_new_events_passed() -> None:
    op = WindowOperator([Aggregation("x", "count", Lifetime()), Aggregation("x", "last_n(2)", Lifetime())])
    state = op.new_state()
    state, _ = op.on_event(state, 100, {"x": 1.0})
    state, _ = op.on_event(state, 200, {"x": 2.0})
    assert op.first_end(100) == 101 and op.next_emit(state) == 101
    state, rows = op.on_watermark(state, 150)
    assert [(r.end, r.value) for r in rows] == [(150, 1), (150, [1.0])]
    state, rows = op.on_watermark(state, 180)
    assert rows == []  # nothing new before 180
    state, late = op.on_event(state, 170, {"x": 3.0})
    assert late and "lifetime" in late[0].reason
    state, _ = op.on_event(state, 300, {"x": 3.0})
    state, rows = op.on_watermark(state, 10**9)
    assert [(r.end, r.value) for r in rows] == [(10**9, 3), (10**9, [2.0, 3.0])]
    assert not op.is_idle(state) and op.next_emit(state) is None
    assert op.from_bytes(op.to_bytes(state)) == state


def test_states_of_views_without_new_windows_keep_their_layout() -> None:
    """Offsets, ``by`` and Lifetime name themselves in the layout check only when used: a plain view's stored
    state stays readable; an offset makes another layout."""
    plain = WindowOperator([Aggregation("x", "sum", Tumbling("1h"))])
    shifted = WindowOperator([Aggregation("x", "sum", Tumbling("1h", offset="15m"))])
    before = zlib.crc32(b"[('x', 'sum', Tumbling(size=datetime.timedelta(seconds=3600)))]")  # as stored so far
    assert plain._layout == before.to_bytes(4, "little") != shifted._layout
    state, _ = plain.on_event(plain.new_state(), 10, {"x": 1.0})
    with pytest.raises(ValueError, match="other aggregations"):
        shifted.from_bytes(plain.to_bytes(state))


# --- definitions and plan-time errors ----------------------------------------------------------------------

def _view(*aggregations: Aggregation) -> AggregationView:
    return AggregationView("spend", entities=[Entity("user", join_keys=["user_id"])],
                           source=BatchSource("tx", path="/tmp/tx.parquet"), aggregations=list(aggregations))


@pytest.mark.parametrize(("window", "message"), [
    (Tumbling("1h", offset="1h"), "tumbling window offset 1h must be smaller than its size 1h"),
    (Tumbling("1h", offset="2h"), "tumbling window offset 2h must be smaller than its size 1h"),
    (Sliding("1h", every="10m", offset="10m"), "sliding window offset 10m must be smaller than its step (every) 10m"),
    (Sliding("1h", every="10m", offset="-1m"), "sliding window offset must not be negative"),
])
def test_bad_offsets_named_at_plan_time(window: Window, message: str) -> None:
    problems = aggregation_problems(_view(Aggregation("amount", "sum", window)))
    assert len(problems) == 1
    assert problems[0].name == "spend" and message in problems[0].message and "'amount'" in problems[0].message


def test_definitions() -> None:
    a = Aggregation("merchant", "max_by", Tumbling("1h", offset="15m"), by="amount", value_type=String)
    assert a.feature_name == "merchant_max_by_amount_1h_offset_15m" and a.dtype == String
    assert Aggregation("amount", "last_n(5)", Lifetime()).feature_name == "amount_last_5_lifetime"
    assert Aggregation("amount", "last_n(5)", Lifetime()).dtype == Float64List
    assert Aggregation("amount", "approx_distinct", Sliding("1h", "10m", "5m")).dtype == Int64
    assert Aggregation("amount", "stddev_samp", Sliding("1h", "10m", "5m")).feature_name == \
        "amount_stddev_samp_1h_every_10m_offset_5m"
    assert Aggregation("amount", "first", Tumbling("1h")).dtype == Float64
    assert aggregation_problems(_view(a, Aggregation("amount", "last_n(3)", Lifetime()))) == []
    with pytest.raises(DefinitionError, match="max_by needs by="):
        Aggregation("merchant", "max_by", Tumbling("1h"))
    with pytest.raises(DefinitionError, match="by= is only for min_by and max_by"):
        Aggregation("merchant", "last", Tumbling("1h"), by="amount")
    with pytest.raises(DefinitionError, match="value_type= is only for"):
        Aggregation("amount", "sum", Tumbling("1h"), value_type=String)


@pytest.mark.parametrize("bad", ["last_n(0)", "last_n(-1)", "last_n(x)", "lastn(3)"])
def test_bad_last_n_named(bad: str) -> None:
    problems = aggregation_problems(_view(Aggregation("amount", bad, Tumbling("1h"), name="f")))
    assert problems and "unknown aggregation function" in problems[0].message


def test_every_function_round_trips_its_state() -> None:
    rng = random.Random(3)
    events = make_events(rng, 40)
    for function in FUNCTIONS:
        agg = aggregator_for(function)
        state = agg.init()
        for ts, value, by in events:
            fed: object = {"timed": (ts, value), "by": (by, ts, value)}.get(agg.inputs, value)
            state = agg.update(state, fed)
        back = agg.from_bytes(agg.to_bytes(state))
        out = bytearray(b"\x07")
        agg.write(state, out)
        read, pos = agg.read(bytes(out), 1)
        assert pos == len(out)
        assert repr(agg.finalize(back)) == repr(agg.finalize(state)) == repr(agg.finalize(read))


def test_plan_checks_value_types_and_reads_by_columns() -> None:
    """Column analysis: value functions take any column their ``value_type`` accepts (else the error names the
    type to declare); moments need numbers; a ``by`` column must exist and feeds the feature's lineage."""
    from aquifer.analysis.columns import view_columns

    columns = {"tx": {"user_id": Int64, "amount": Float64, "merchant": String}}
    view = _view(Aggregation("merchant", "max_by", Tumbling("1h"), by="amount", value_type=String),
                 Aggregation("merchant", "approx_distinct", Tumbling("1h")),
                 Aggregation("merchant", "last", Tumbling("1h")),
                 Aggregation("merchant", "stddev_pop", Tumbling("1h")),
                 Aggregation("amount", "min_by", Tumbling("1h"), by="when"))
    edges, problems = view_columns(view, columns, None)
    messages = [p.message for p in problems]
    assert len(messages) == 3, messages
    assert "last returns values of 'merchant', which is String, but its value_type is Float64 " \
        "(declare value_type=String)" in messages[0]
    assert "stddev_pop needs a numeric column, but 'merchant' is String" in messages[1]
    assert "reads column 'when', which 'tx' does not have" in messages[2]
    feeding = {(e.from_column, e.to_column) for e in edges if e.to_column.startswith("merchant_max_by")}
    assert feeding == {("merchant", "merchant_max_by_amount_1h"), ("amount", "merchant_max_by_amount_1h")}
