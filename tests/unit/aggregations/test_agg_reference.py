"""The brute-force reference vs an even more naive computation, and the "value as of t" rule."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from aquifer.aggregations import (
    WindowValue,
    assign_sessions,
    compute_windows,
    compute_windows_by_entity,
    exact_quantile,
    value_as_of,
)
from aquifer.definitions import Aggregation, Session, Sliding, Tumbling

US = timedelta(microseconds=1)
FUNCTIONS = ["count", "sum", "avg", "min", "max", "p50", "p95", "percentile(0.3)"]


def plain(function: str, values: list[object]) -> object:
    """Python builtins over the non-null values (count 0 / None when there are none)."""
    data = [float(v) for v in values if v is not None and not math.isnan(v)]  # type: ignore[arg-type]
    if function == "count":
        return len(data)
    if not data:
        return None
    simple = {"sum": sum, "avg": statistics.fmean, "min": min, "max": max}
    if function in simple:
        return simple[function](data)
    q = {"p50": 0.5, "p95": 0.95}.get(function, 0.3)
    return exact_quantile(data, q)  # fewer than k values per window: the sketch is exact


def same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


def random_events(rng: random.Random) -> list[tuple[int, object]]:
    events = []
    for _ in range(rng.randint(0, 25)):
        value = None if rng.random() < 0.15 else rng.choice([float("nan"), rng.uniform(-10, 10), rng.randint(0, 3)])
        events.append((rng.randint(-40, 120), value))
    return events


def naive_grid(events: list[tuple[int, object]], function: str, size: int, step: int) -> list[tuple]:
    """For every aligned candidate window, filter the events inside it; closing row after a non-empty one."""
    times = [t for t, _ in events]
    rows = []
    if not times:
        return rows
    inside = {}
    for start in range((min(times) - size) // step * step, max(times) + 2 * step, step):
        inside[start] = [v for t, v in events if start <= t < start + size]
    for start, values in inside.items():
        if values:
            rows.append((start, start + size, plain(function, values)))
        elif inside.get(start - step):
            rows.append((start, start + size, plain(function, [])))
    return rows


@pytest.mark.parametrize("function", FUNCTIONS)
def test_grid_windows_match_naive_filtering(function: str) -> None:
    rng = random.Random(function)
    for _ in range(150):
        events = random_events(rng)
        step = rng.randint(1, 8)
        size = step * rng.randint(1, 4)
        window = Tumbling(size * US) if size == step else Sliding(size * US, every=step * US)
        rows = compute_windows(events, Aggregation("x", function, window))
        expected = naive_grid(events, function, size, step)
        assert [(r.start, r.end) for r in rows] == [(s, e) for s, e, _ in expected]
        assert all(same(r.value, v) for r, (_, _, v) in zip(rows, expected, strict=True))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_grid_value_as_of_is_the_latest_closed_grid_window(function: str) -> None:
    """With closing rows, "latest row with end <= t" equals the literal rule over every grid window."""
    rng = random.Random(f"asof-{function}")
    for _ in range(100):
        events = random_events(rng)
        step = rng.randint(1, 8)
        size = step * rng.randint(1, 4)
        rows = compute_windows(events, Aggregation("x", function, Sliding(size * US, every=step * US)))
        for t in range(-60, 160, 3):
            end = t - t % step  # the latest grid window end at or before t
            if not any(ts < end for ts, _ in events):
                expected = None  # no window of this entity has closed yet
            else:
                expected = plain(function, [v for ts, v in events if end - size <= ts < end])
            assert same(value_as_of(rows, t), expected), t


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sessions_match_naive_grouping(function: str) -> None:
    rng = random.Random(f"session-{function}")
    for _ in range(150):
        events = random_events(rng)
        gap, max_duration = rng.randint(1, 15), rng.choice([None, rng.randint(1, 40)])
        window = Session(gap=gap * US, max_duration=None if max_duration is None else max_duration * US)
        rows = compute_windows(events, Aggregation("x", function, window))
        ordered = sorted(events, key=lambda e: e[0])
        sessions = assign_sessions([t for t, _ in ordered], gap, max_duration)
        assert len(rows) == len(sessions)
        for row, (start, end, _) in zip(rows, sessions, strict=True):
            assert (row.start, row.end) == (start, end)
            assert same(row.value, plain(function, [v for t, v in events if start <= t < end]))


def test_closing_rows_can_be_left_out() -> None:
    agg = Aggregation("x", "count", Tumbling(10 * US))
    events = [(1, 1.0), (25, 2.0), (31, None)]
    assert compute_windows(events, agg) == [
        WindowValue(0, 10, 1),
        WindowValue(10, 20, 0),
        WindowValue(20, 30, 1),
        WindowValue(30, 40, 0),
        WindowValue(40, 50, 0),
    ]
    assert compute_windows(events, agg, closing=False) == [
        WindowValue(0, 10, 1),
        WindowValue(20, 30, 1),
        WindowValue(30, 40, 0),
    ]
    assert compute_windows([], agg) == []


def test_datetimes_in_datetimes_out() -> None:
    day = datetime(2024, 5, 1, tzinfo=UTC)
    events = [(day + timedelta(minutes=m), float(m)) for m in (1, 2, 7, 31)]
    rows = compute_windows(events, Aggregation("amount", "sum", Tumbling("5m")))
    assert rows[0] == WindowValue(day, day + timedelta(minutes=5), 3.0)
    assert rows[1] == WindowValue(day + timedelta(minutes=5), day + timedelta(minutes=10), 7.0)
    assert value_as_of(rows, day + timedelta(minutes=9, seconds=59)) == 3.0
    assert value_as_of(rows, day + timedelta(minutes=10)) == 7.0  # visible exactly at the window end
    assert value_as_of(rows, day + timedelta(minutes=14)) == 7.0
    assert value_as_of(rows, day + timedelta(minutes=15)) is None  # the closing row: no amount in [10m, 15m)
    assert value_as_of(rows, day + timedelta(minutes=35)) == 31.0
    assert value_as_of(rows, day) is None
    sessions = compute_windows(events, Aggregation("amount", "avg", Session(gap="10m")))
    assert sessions == [
        WindowValue(day + timedelta(minutes=1), day + timedelta(minutes=17), 10 / 3),
        WindowValue(day + timedelta(minutes=31), day + timedelta(minutes=41), 31.0),
    ]


def test_by_entity_keeps_entities_apart() -> None:
    agg = Aggregation("x", "max", Tumbling(10 * US))
    rows = compute_windows_by_entity([("b", 3, 1.0), ("a", 4, 5.0), ("b", 5, 2.0)], agg, closing=False)
    assert rows == [("b", 0, 10, 2.0), ("a", 0, 10, 5.0)]
