"""Aggregate states: values vs plain Python, nulls, empty windows, merge == concatenation, serialization."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from aquifer.aggregations import Aggregator, Percentile, aggregator_for, exact_quantile, is_null

FUNCTIONS = ["count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99", "percentile(0.25)", "percentile(0)"]
NAN = float("nan")
QS = [0.0, 0.1, 0.5, 0.9, 1.0]


def oracle(function: str, values: list[object]) -> float | int | None:
    """The expected value, from Python builtins / statistics over the non-null values."""
    data = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if function == "count":
        return len(data)
    if not data:
        return None
    simple = {"sum": sum, "avg": statistics.fmean, "min": min, "max": max}
    if function in simple:
        return simple[function](data)
    return exact_quantile(data, aggregator_for(function).q)  # type: ignore[attr-defined]


def close(actual: object, expected: object) -> bool:
    """Equal, or both floats within a relative 1e-9 (sums grouped differently round differently)."""
    if actual is None or expected is None:
        return actual is expected
    return actual == pytest.approx(expected, rel=1e-9, abs=1e-9)


def random_values(rng: random.Random, n: int) -> list[object]:
    pool = [None, NAN, 0, -1.5, 2, 1e9]
    return [rng.choice(pool) if rng.random() < 0.2 else rng.uniform(-100, 100) for _ in range(n)]


def fold(agg: Aggregator, values: list[object]) -> object:
    state = agg.init()
    for v in values:
        state = agg.update(state, v)
    return state


@pytest.mark.parametrize("function", FUNCTIONS)
def test_values_match_python_oracle(function: str) -> None:
    rng = random.Random(function)
    agg = aggregator_for(function)
    for n in [0, 1, 2, 5, 50, 150]:
        values = random_values(rng, n)
        assert close(agg.aggregate(values), oracle(function, values))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_empty_and_all_null_windows(function: str) -> None:
    agg = aggregator_for(function)
    expected = 0 if function == "count" else None
    assert agg.finalize(agg.init()) == expected
    assert agg.aggregate([None, NAN, None]) == expected


def test_count_counts_non_null_values_of_any_type() -> None:
    assert aggregator_for("count").aggregate(["a", None, "b", NAN, 0, False]) == 4
    assert isinstance(aggregator_for("count").aggregate([1.5]), int)


def test_results_are_floats_except_count() -> None:
    for function in FUNCTIONS[1:]:
        assert isinstance(aggregator_for(function).aggregate([1, 2, 3]), float), function


@pytest.mark.parametrize("function", FUNCTIONS)
def test_merge_equals_update_over_concatenation(function: str) -> None:
    rng = random.Random(f"merge-{function}")
    agg = aggregator_for(function)
    for _ in range(30):
        a_values, b_values = random_values(rng, rng.randint(0, 90)), random_values(rng, rng.randint(0, 90))
        b_state = fold(agg, b_values)
        b_before = agg.to_bytes(b_state)
        merged = agg.merge(fold(agg, a_values), b_state)
        assert agg.to_bytes(b_state) == b_before, "merge must not change its second argument"
        # under 200 values the sketch is exact, so percentiles must match exactly too
        assert close(agg.finalize(merged), agg.aggregate(a_values + b_values))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_merge_is_associative_and_commutative_tree(function: str) -> None:
    rng = random.Random(f"tree-{function}")
    agg = aggregator_for(function)
    chunks = [random_values(rng, rng.randint(0, 30)) for _ in range(8)]
    states = [fold(agg, chunk) for chunk in chunks]
    rng.shuffle(states)
    while len(states) > 1:  # pairwise tree, as Spark would combine partials
        states = [
            agg.merge(states[i], states[i + 1]) if i + 1 < len(states) else states[i] for i in range(0, len(states), 2)
        ]
    expected = agg.aggregate([v for chunk in chunks for v in chunk])
    assert close(agg.finalize(states[0]), expected)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_state_bytes_round_trip(function: str) -> None:
    rng = random.Random(f"bytes-{function}")
    agg = aggregator_for(function)
    for n in [0, 1, 10, 500]:
        values = random_values(rng, n)
        state = fold(agg, values)
        data = agg.to_bytes(state)
        assert isinstance(data, bytes)
        restored = agg.from_bytes(data)
        assert agg.finalize(restored) == agg.finalize(state)
        assert agg.finalize(agg.from_bytes(agg.to_bytes(restored))) == agg.finalize(state)
        if isinstance(agg, Percentile):
            assert restored.n == state.n and restored.get_quantiles(QS) == state.get_quantiles(QS)
        # a restored state keeps working (below k values the sketch is deterministic)
        more = random_values(rng, 20)
        if n + len(more) <= 200:
            assert agg.finalize(fold_from(agg, restored, more)) == agg.finalize(fold_from(agg, state, more))


def fold_from(agg: Aggregator, state: object, values: list[object]) -> object:
    for v in values:
        state = agg.update(state, v)
    return state


def test_small_states_for_simple_functions() -> None:
    assert len(aggregator_for("count").to_bytes(7)) == 8
    assert aggregator_for("sum").to_bytes(None) == b""
    assert len(aggregator_for("avg").to_bytes((2, 3.0))) == 16


def test_aggregator_for_names() -> None:
    assert aggregator_for(" SUM ").function == "sum"
    p95 = aggregator_for("p95")
    assert isinstance(p95, Percentile) and p95.q == 0.95
    assert aggregator_for("percentile(0.75)").q == 0.75  # type: ignore[attr-defined]
    assert p95.state_kind == aggregator_for("p50").state_kind != aggregator_for("sum").state_kind
    for bad in ["median", "percentile(1.5)", "p42", ""]:
        with pytest.raises(ValueError, match="unknown aggregate function"):
            aggregator_for(bad)


def test_is_null() -> None:
    assert is_null(None) and is_null(NAN) and not is_null(0) and not is_null("") and not is_null(math.inf)


def test_infinities_are_values() -> None:
    assert aggregator_for("max").aggregate([1, math.inf]) == math.inf
    assert aggregator_for("count").aggregate([-math.inf]) == 1
