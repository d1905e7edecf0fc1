"""KLL percentiles: exact up to k values (nearest-rank oracle), within the documented rank error beyond."""

from __future__ import annotations

import bisect
import math
import random

import pytest

from aquifer.aggregations import KLL_K, KLL_RANK_ERROR, Percentile, exact_quantile

QUANTILES = [0.0, 0.01, 0.07, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0]


def test_documented_constants() -> None:
    assert KLL_K == 200
    assert abs(KLL_RANK_ERROR - 0.0133) < 0.0002


def test_exact_quantile_is_nearest_rank() -> None:
    data = [float(x) for x in range(1, 11)]  # 1..10
    assert exact_quantile(data, 0.0) == 1.0
    assert exact_quantile(data, 0.1) == 1.0
    assert exact_quantile(data, 0.11) == 2.0
    assert exact_quantile(data, 0.5) == 5.0
    assert exact_quantile(data, 0.95) == 10.0
    assert exact_quantile(data, 1.0) == 10.0
    assert exact_quantile([None, float("nan")], 0.5) is None


def test_sketch_is_exact_up_to_k_values() -> None:
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, KLL_K)
        values = [rng.choice([rng.random(), float(rng.randint(0, 4))]) for _ in range(n)]  # with ties
        for q in [*QUANTILES, rng.random()]:
            agg = Percentile(q)
            assert agg.aggregate(values) == exact_quantile(values, q), (n, q)


def true_rank_bounds(sorted_values: list[float], v: float) -> tuple[float, float]:
    """Normalized ranks #{x < v}/n and #{x <= v}/n: any q in between is answered exactly by v."""
    n = len(sorted_values)
    return bisect.bisect_left(sorted_values, v) / n, bisect.bisect_right(sorted_values, v) / n


@pytest.mark.parametrize("seed", range(3))
def test_rank_error_within_bound_single_and_merged(seed: int) -> None:
    rng = random.Random(seed)
    n = 30_000
    values = [rng.lognormvariate(0, 1) for _ in range(n)]
    sorted_values = sorted(values)
    agg = Percentile(0.5)
    whole = agg.init()
    parts = [agg.init() for _ in range(5)]
    for i, v in enumerate(values):
        whole = agg.update(whole, v)
        parts[i % 5] = agg.update(parts[i % 5], v)
    merged = parts[0]
    for part in parts[1:]:
        merged = agg.merge(merged, agg.from_bytes(agg.to_bytes(part)))  # as shipped between tasks
    assert whole.is_estimation_mode()
    for state in (whole, merged):
        for q in [i / 100 for i in range(101)]:
            low, high = true_rank_bounds(sorted_values, Percentile(q).finalize(state))
            assert low - KLL_RANK_ERROR <= q <= high + KLL_RANK_ERROR, q


def test_percentile_validates_q() -> None:
    with pytest.raises(ValueError):
        Percentile(1.5)
    assert math.isclose(Percentile(1.0).aggregate([3, 1, 2]), 3.0)
