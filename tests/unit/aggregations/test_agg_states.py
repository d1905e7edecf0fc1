"""The stream state encoding (``Aggregator.write`` / ``read``, ``Slots``, ``WindowOperator.to_bytes``): every
aggregator kind round-trips, extreme values included (None, NaN, infinities, -0.0, big and negative numbers),
and ``from_bytes`` refuses what it did not write."""

from __future__ import annotations

import math
import random
import struct
from datetime import timedelta
from typing import Any

import pytest

from aquifer.aggregations import WindowOperator, aggregator_for
from aquifer.aggregations.incremental import KeyState
from aquifer.aggregations.states import Slots, read_int, read_uint, write_int, write_uint
from aquifer.definitions import Aggregation, Session, Sliding, Tumbling

US = timedelta(microseconds=1)
INF, NAN = float("inf"), float("nan")
FLOATS = [0.0, -0.0, 12.5, -3.25, 1e308, -1e308, 5e-324, INF, -INF, NAN, float(2**53 + 1)]


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def same_state(a: Any, b: Any) -> bool:
    """Equal states, floats bit for bit (NaN and -0.0 included), sketches by their serialization."""
    if a is None or b is None:
        return a is b
    if isinstance(a, float):
        return isinstance(b, float) and bits(a) == bits(b)
    if isinstance(a, int):
        return type(b) is int and a == b
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b, strict=True))
    return bool(a.serialize() == b.serialize())


def sketch(values: list[float]) -> Any:
    aggregator = aggregator_for("p50")
    state = aggregator.init()
    for value in values:
        state = aggregator.update(state, value)
    return state


STATES: dict[str, list[Any]] = {
    "count": [0, 1, 127, 128, 300, 2**40, 2**63 + 5, 2**80],
    "sum": [None, *FLOATS],
    "min": [None, *FLOATS],
    "max": [None, *FLOATS],
    "avg": [(0, 0.0), (1, -0.0), (3, -1e300), (2**62, INF), (5, -INF), (1, NAN), (2**63 - 1, 1e-300)],
    "p50": [sketch([]), sketch([1.0]), sketch([-1e300, 0.0, 1e300, INF, -INF]),
            sketch([random.Random(1).gauss(0, 1) for _ in range(5000)])],
}


@pytest.mark.parametrize("function", list(STATES))
def test_every_state_round_trips_through_write_and_read(function: str) -> None:
    aggregator = aggregator_for(function)
    out = bytearray(b"head")
    for state in STATES[function]:
        aggregator.write(state, out)
    out += b"tail"
    pos = 4
    for state in STATES[function]:
        got, pos = aggregator.read(bytes(out), pos)
        assert same_state(got, state), (function, state, got)
    assert out[pos:] == b"tail"


@pytest.mark.parametrize("function", list(STATES))
def test_read_states_go_on_updating_and_merging_like_the_originals(function: str) -> None:
    aggregator = aggregator_for(function)
    for state in STATES[function]:
        out = bytearray()
        aggregator.write(state, out)
        copy, _ = aggregator.read(bytes(out), 0)
        fresh = aggregator.read(bytes(out), 0)[0]
        merged = aggregator.merge(aggregator.update(copy, 2.5), fresh)
        original = aggregator.merge(aggregator.update(aggregator.read(bytes(out), 0)[0], 2.5), fresh)
        a, b = aggregator.finalize(merged), aggregator.finalize(original)
        assert (a is None and b is None) or (isinstance(a, float) and math.isnan(a) and math.isnan(b)) or a == b


def test_a_negative_count_is_refused_not_written_wrong() -> None:
    with pytest.raises(ValueError):
        aggregator_for("count").write(-1, bytearray())


def test_a_bad_float_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="tag"):
        aggregator_for("sum").read(b"\x02" + bits(1.0), 0)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 16383, 16384, 2**63, 2**100])
def test_varints_round_trip(value: int) -> None:
    out = bytearray()
    write_uint(out, value)
    write_int(out, value)
    write_int(out, -value)
    first, pos = read_uint(bytes(out), 0)
    second, pos = read_int(bytes(out), pos)
    third, pos = read_int(bytes(out), pos)
    assert (first, second, third, pos) == (value, value, -value, len(out))


def test_slots_of_several_columns_and_kinds_round_trip_and_update() -> None:
    window = Tumbling(10 * US)
    slots = Slots([Aggregation("x", f, window) for f in ("count", "sum", "avg", "p50", "p95", "min")]
                  + [Aggregation("y", f, window) for f in ("max", "count")])
    assert len(slots.aggregators) == 7  # p50 and p95 share one sketch
    states = slots.init()
    for x, y in [(1.0, None), (NAN, -INF), (None, 2**70), (-0.0, 3.5), (1e308, NAN), (1e308, -1e308)]:
        states = slots.update(states, {"x": x, "y": y})
    states = slots.update(states, {})  # missing columns are null
    out = bytearray()
    slots.write(states, out)
    got, pos = slots.read(bytes(out), 0)
    assert pos == len(out) and all(same_state(a, b) for a, b in zip(got, states, strict=True))
    assert got[0] == 4 and got[1] == INF and got[2] == (4, INF) and bits(got[4]) == bits(-0.0)  # count … min of x
    assert got[5] == 2.0**70 and got[6] == 4  # max and count of y


ALL = ["count", "sum", "avg", "min", "max", "p50", "p95"]
WINDOWS = [Tumbling(10 * US), Sliding(30 * US, every=10 * US), Sliding(25 * US, every=10 * US), Session(7 * US),
           Session(5 * US, max_duration=12 * US)]


def operator() -> WindowOperator:
    return WindowOperator([Aggregation("x", f, w, name=f"{f}_{i}") for i, w in enumerate(WINDOWS) for f in ALL])


def same_rows(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(ra[:4] == rb[:4] and (ra.value == rb.value or same_state(ra.value, rb.value))
                                    for ra, rb in zip(a, b, strict=True))


@pytest.mark.parametrize("seed", range(5))
def test_operator_states_round_trip_with_extreme_values_and_times(seed: int) -> None:
    """Negative and huge times, every kind of value: bytes → state → bytes is the identity, and the state read
    back emits exactly what the original emits."""
    rng = random.Random(seed)
    op = operator()
    values = [None, NAN, INF, -INF, 0.0, -0.0, 1e308, -1e308, 2**60, -(2**60), 7, -3.5]
    base = rng.choice([0, -10**15, 10**15, 2**62])
    state = op.new_state()
    assert op.from_bytes(op.to_bytes(state)) == KeyState(None, [{}, {}, {}], [[], []])
    seen = None
    for _ in range(60):
        ts = base + rng.randrange(-50, 200)
        watermark = None if seen is None else seen - 40
        state, late = op.on_event(state, ts, {"x": rng.choice(values)}, watermark_us=watermark)
        if not late:
            seen = ts if seen is None else max(seen, ts)
        data = op.to_bytes(state)
        assert op.to_bytes(op.from_bytes(data)) == data
        if rng.random() < 0.2 and watermark is not None:
            copy = op.from_bytes(data)
            state, rows = op.on_watermark(state, watermark)
            copy, copied_rows = op.on_watermark(copy, watermark)
            assert same_rows(rows, copied_rows) and op.to_bytes(copy) == op.to_bytes(state)
    data = op.to_bytes(state)
    _, rows = op.on_watermark(op.from_bytes(data), base + 10**6)
    _, expected = op.on_watermark(state, base + 10**6)
    assert rows and same_rows(rows, expected)


def test_from_bytes_refuses_other_versions_truncated_and_trailing_bytes() -> None:
    op = operator()
    state, _ = op.on_event(op.new_state(), 5, {"x": 1.5})
    state, _ = op.on_watermark(state, -(2**40))
    data = op.to_bytes(state)
    with pytest.raises(ValueError, match="version"):
        op.from_bytes(b"\x01" + data[1:])  # a version 1 state (the format before): not readable
    with pytest.raises(ValueError, match="version"):
        op.from_bytes(b"")
    for cut in range(5, len(data)):
        with pytest.raises(ValueError):
            op.from_bytes(data[:cut])
    with pytest.raises(ValueError, match="trailing"):
        op.from_bytes(data + b"\x00")
    assert op.from_bytes(memoryview(data)).watermark == -(2**40)
