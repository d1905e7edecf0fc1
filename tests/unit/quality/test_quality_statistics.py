"""Per-feature statistics sketches against pandas / numpy on the same values (independent oracles)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from aquifer.aggregations.sketch import KLL_RANK_ERROR
from aquifer.quality.statistics import (
    HISTOGRAM_BINS,
    QUANTILES,
    DailyStatistics,
    FeatureStatistics,
    StatisticsSketch,
    merge_stored,
)

RNG_SEED = 14


def sketch_of(values, dtype: str) -> StatisticsSketch:
    return StatisticsSketch("f", dtype).update(pa.array(values, from_pandas=True))


def roundtrip(sketch: StatisticsSketch) -> StatisticsSketch:
    return StatisticsSketch.from_dict(json.loads(json.dumps(sketch.to_dict())))


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def rank_error(values: np.ndarray, q: float, answer: float) -> float:
    """How far the normalized rank of ``answer`` is from ``q`` (0 when some rank in its tie range hits q)."""
    lo = np.searchsorted(np.sort(values), answer, side="left") / len(values)
    hi = np.searchsorted(np.sort(values), answer, side="right") / len(values)
    return 0.0 if lo <= q <= hi else min(abs(lo - q), abs(hi - q))


def test_numbers_match_pandas_and_quantiles_stay_within_the_kll_error():
    rng = np.random.default_rng(RNG_SEED)
    values = pd.Series(rng.lognormal(3, 1.2, 100_000))
    values[rng.choice(len(values), 1_000, replace=False)] = np.nan
    s = sketch_of(values.to_numpy(), "Float64").summary()
    present = values.dropna()
    assert (s.count, s.nulls) == (len(values), int(values.isna().sum()))
    assert (s.min, s.max) == (present.min(), present.max())
    assert close(s.mean, present.mean()) and close(s.stddev, present.std())
    for q in QUANTILES:
        assert rank_error(present.to_numpy(), q, s.quantiles[str(q)]) <= KLL_RANK_ERROR
    assert sum(s.histogram["counts"]) == len(present) and len(s.histogram["counts"]) == HISTOGRAM_BINS
    true_counts, _ = np.histogram(present, bins=np.asarray(s.histogram["edges"]))
    assert np.abs(np.asarray(s.histogram["counts"]) - true_counts).max() <= KLL_RANK_ERROR * len(present) * 2
    distinct = present.nunique()
    assert abs(s.distinct - distinct) / distinct < 0.035  # HLL lg_k 12: ~1.6% standard error, 2 sigma


def test_small_inputs_are_exact_histogram_and_quantiles_included():
    values = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0])
    s = sketch_of(values, "Float64").summary()
    edges = np.linspace(values.min(), values.max(), HISTOGRAM_BINS + 1)
    assert s.histogram["edges"] == pytest.approx(edges.tolist())
    assert s.histogram["counts"] == np.histogram(values, bins=edges)[0].tolist()
    ordered = np.sort(values)
    for q in QUANTILES:  # nearest rank: the smallest value with at least q of the values <= it
        assert s.quantiles[str(q)] == ordered[max(math.ceil(q * len(values)), 1) - 1]
    assert s.distinct == pytest.approx(len(set(values)), rel=0.01)


def test_integers_keep_integer_bounds():
    values = pd.array([5, None, -3, 12, 12], dtype="Int64")
    s = sketch_of(values, "Int64").summary()
    present = pd.Series([5, -3, 12, 12])
    assert (s.count, s.nulls, s.min, s.max) == (5, 1, -3, 12)
    assert isinstance(s.min, int) and close(s.mean, present.mean()) and close(s.stddev, present.std())


def test_merge_equals_the_sketch_of_the_concatenation():
    rng = np.random.default_rng(RNG_SEED + 1)
    a, b = rng.normal(1e6, 3.0, 30_000), rng.normal(1e6 + 10, 0.5, 500)  # unequal parts, large offset
    merged = roundtrip(sketch_of(a, "Float64")).merge(roundtrip(sketch_of(b, "Float64"))).summary()
    whole = sketch_of(np.concatenate([a, b]), "Float64").summary()
    both = pd.Series(np.concatenate([a, b]))
    assert (merged.count, merged.nulls, merged.min, merged.max) == (whole.count, whole.nulls, whole.min, whole.max)
    assert close(merged.mean, both.mean()) and close(merged.stddev, both.std())
    # a union estimates without HIP (order lost), so not the very same number, within the same bound
    assert abs(merged.distinct - both.nunique()) / both.nunique() < 0.035
    for q in QUANTILES:
        assert rank_error(both.to_numpy(), q, merged.quantiles[str(q)]) <= KLL_RANK_ERROR
    assert sum(merged.histogram["counts"]) == len(both)


def test_empty_all_null_nan_and_constant_features():
    empty = StatisticsSketch("f", "Float64").summary()
    assert (empty.count, empty.nulls, empty.min, empty.mean, empty.stddev, empty.histogram) == (0, 0, None, None,
                                                                                                 None, None)
    assert empty.quantiles == {} and empty.null_fraction == 0.0
    nulls = sketch_of([None, None, float("nan")], "Float64").summary()
    assert (nulls.count, nulls.nulls, nulls.distinct, nulls.min, nulls.mean) == (3, 3, 0.0, None, None)
    constant = sketch_of([7.5] * 1_000, "Float64").summary()
    assert (constant.min, constant.max, constant.mean, constant.stddev) == (7.5, 7.5, 7.5, 0.0)
    assert constant.histogram == {"edges": [7.5, 7.5], "counts": [1_000]}
    assert set(constant.quantiles.values()) == {7.5} and constant.distinct == pytest.approx(1, rel=0.01)
    single = sketch_of([2.0], "Float64").summary()
    assert single.stddev is None  # pandas: NaN for one value (ddof=1)


def test_strings_top_values_are_exact_below_the_sketch_size():
    rng = np.random.default_rng(RNG_SEED + 2)
    words = [f"w{i:03d}" for i in range(300)]
    values = pd.Series(rng.choice(words, 20_000, p=np.arange(1, 301) / np.arange(1, 301).sum()), dtype=object)
    values[::50] = None
    s = sketch_of(values.tolist(), "String").summary()
    counts = values.value_counts()
    expected = sorted(counts.items(), key=lambda p: (-p[1], p[0]))[:10]
    assert s.top_values == [(k, int(v)) for k, v in expected]
    assert (s.count, s.nulls, s.min, s.max) == (len(values), int(values.isna().sum()), min(counts.index),
                                                max(counts.index))
    assert s.distinct == pytest.approx(values.nunique(), rel=0.02) and s.mean is None and s.quantiles == {}


def test_booleans_and_timestamps():
    b = sketch_of([True, False, True, None, True], "Bool").summary()
    assert (b.count, b.nulls, b.top_values, b.min) == (5, 1, [(True, 3), (False, 1)], None)
    times = pd.Series(pd.to_datetime(["2026-01-01 00:00:00.000001", "2026-01-03", None, "2026-01-02"], utc=True,
                                     format="ISO8601"))
    t = sketch_of(times, "Timestamp").summary()
    micros = times.dropna().astype("int64") // 1_000  # pandas holds nanoseconds
    assert (t.count, t.nulls, t.min, t.max) == (4, 1, int(micros.min()), int(micros.max()))
    assert t.quantiles["0.5"] == float(micros.sort_values().iloc[1]) and t.mean is None
    assert sum(t.histogram["counts"]) == 3


def test_summary_round_trips_through_json_and_from_dict():
    s = sketch_of([1.0, float("inf"), 3.0], "Float64").summary()
    stored = json.loads(json.dumps(s.to_dict(), allow_nan=False))  # JSONB refuses NaN and inf
    back = FeatureStatistics.from_dict({**stored, "added_later": 1})
    assert back.max == float("inf") and back.count == 3
    text = sketch_of(["a", "b", "a"], "String").summary()
    assert FeatureStatistics.from_dict(json.loads(json.dumps(asdict(text)))) == text


def test_merge_stored_counts_each_day_once_newest_first():
    def day(d: int) -> datetime:
        return datetime(2026, 1, d, tzinfo=UTC)

    def batch(values: list[float], d: int) -> pa.Table:
        return pa.table({"event_ts": pa.array([day(d)] * len(values), pa.timestamp("us", tz="UTC")),
                         "x": pa.array(values, pa.float64())})

    def row(tables: list[pa.Table], start: int, end: int) -> SimpleNamespace:
        stats = DailyStatistics([("x", "Float64")])
        for table in tables:
            stats.update(table)
        return SimpleNamespace(feature="x", stats=stats.stored()["x"], range_start=day(start), range_end=day(end))

    old = row([batch([1.0, 2.0], 1), batch([3.0], 2)], 1, 3)  # days 1, 2
    new = row([batch([10.0], 2), batch([20.0, 30.0], 3)], 2, 4)  # recomputes day 2, adds day 3
    merged = merge_stored([new, old])["x"]  # newest first
    assert (merged.count, merged.min, merged.max) == (5, 1.0, 30.0)  # 1, 2 | 10 | 20, 30: day 2's 3.0 is gone
    assert close(merged.mean, float(np.mean([1, 2, 10, 20, 30])))
    assert merge_stored([new, old], day(1), day(2))["x"].count == 2  # only day 1
    emptied = row([], 1, 2)  # day 1 recomputed with no rows: it replaces day 1's old numbers
    assert merge_stored([emptied, new, old])["x"].count == 3
