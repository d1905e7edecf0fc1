"""Statistics sketched by the Spark tasks that write a range (``write_range(observe=...)``) against the Python path
(``DailyStatistics.update`` over pandas' own Arrow conversion) over the same rows: what Spark's Arrow batches carry
(NaN, inf, -0.0, nulls, truncated nanoseconds) must be measured as the user's values are."""

from __future__ import annotations

import math
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from datasketches import frequent_strings_sketch

from aquifer.aggregations.sketch import KLL_RANK_ERROR
from aquifer.quality.statistics import (
    FREQUENT_LG_MAX_MAP,
    HLL_LG_K,
    QUANTILES,
    DailyStatistics,
    FeatureStatistics,
    StatisticsSketch,
    float_hash_keys,
)

pytestmark = pytest.mark.spark

T0 = pd.Timestamp("2026-01-01", tz="UTC")
FEATURES = [("amount", "Float64"), ("qty", "Int64"), ("country", "String"), ("ref", "String"), ("flag", "Bool"),
            ("seen_at", "Timestamp"), ("empty_f", "Float64"), ("empty_s", "String")]


def frame(days: int = 3, per_day: int = 1500, seed: int = 3) -> pd.DataFrame:
    """Rows as a pandas user writes them: NaN, inf and None floats, nullable ints and booleans, ns timestamps."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    ts = T0 + pd.to_timedelta(np.sort(rng.integers(0, days * 86_400_000_000_000, n)), unit="ns")
    amount = np.round(rng.lognormal(3, 1, n), 2)
    amount[rng.random(n) < 0.05] = np.nan
    amount[rng.random(n) < 0.01] = np.inf
    amount[rng.random(n) < 0.005] = -0.0
    qty = pd.array(rng.integers(-50, 5000, n), dtype="Int64")
    qty[rng.random(n) < 0.03] = pd.NA
    flag = pd.array(rng.random(n) < 0.3, dtype="boolean")
    flag[rng.random(n) < 0.02] = pd.NA
    return pd.DataFrame({
        "event_ts": ts, "amount": amount, "qty": qty,
        "country": rng.choice(np.array(["US", "GB", "DE", "", "Zürich", None], dtype=object), n),
        "ref": np.array([f"r{i}" for i in rng.integers(0, 1200, n)], dtype=object),  # > 768 distinct per day
        "flag": flag,
        "seen_at": ts - pd.to_timedelta(rng.integers(0, 10**12, n), unit="ns"),  # sub-microsecond parts
        "empty_f": np.full(n, np.nan), "empty_s": np.array([None] * n, dtype=object),
    })


def spark_frame(spark, data: pd.DataFrame, tmp: Path):
    """``data`` written with ``to_parquet`` (nanosecond timestamps) and read back the way runs read sources."""
    from aquifer.definitions import BatchSource
    from aquifer.engines.spark.sources import read_source

    data.to_parquet(tmp / "rows.parquet")
    df = read_source(spark, BatchSource("rows", path="rows.parquet", timestamp_field="event_ts"), tmp)
    return df.select("event_ts", "amount", "qty", "country", "ref", "flag", "seen_at",
                     df["empty_f"].cast("double").alias("empty_f"), df["empty_s"].cast("string").alias("empty_s"))


def native(df, tmp: Path | None = None) -> DailyStatistics:
    """The statistics the writing tasks return when ``df`` is written as a range of the offline store."""
    import tempfile
    from datetime import datetime
    from functools import partial

    from aquifer.stores.offline.writer import write_range

    root = Path(tempfile.mkdtemp(dir=tmp))
    written = write_range(df, root, "p", "v", datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC),
                          observe=partial(DailyStatistics, FEATURES, "event_ts"))
    assert written.observed is not None, written.problem
    out = DailyStatistics(FEATURES)
    for part in written.observed:
        out.merge(DailyStatistics.from_bytes(part))
    return out


def python(data: pd.DataFrame) -> DailyStatistics:
    return DailyStatistics(FEATURES).update(pa.Table.from_pandas(data, preserve_index=False))


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return same(a, b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def values_of(data: pd.DataFrame, name: str, dtype: str) -> np.ndarray:
    """The non-null values a feature's quantiles describe (timestamps as epoch µs)."""
    column = data[name]
    if dtype == "Timestamp":
        return np.sort(column.dropna().astype("datetime64[us, UTC]").astype("int64").to_numpy().astype(np.float64))
    return np.sort(column.dropna().astype("float64").to_numpy())


def expect_same(a: FeatureStatistics, b: FeatureStatistics, data: pd.DataFrame) -> None:
    """``a`` (native) and ``b`` (Python) summarize ``data`` alike: exact parts exact, sketched within error."""
    name = a.feature
    assert (a.count, a.nulls, a.dtype) == (b.count, b.nulls, b.dtype), name
    assert same(a.min, b.min) and same(a.max, b.max), (name, a.min, b.min, a.max, b.max)
    assert type(a.min) is type(b.min), name
    assert close(a.mean, b.mean) and close(a.stddev, b.stddev), (name, a.mean, b.mean, a.stddev, b.stddev)
    if b.distinct is None:
        assert a.distinct is None
    else:
        assert abs(a.distinct - b.distinct) <= 0.035 * b.distinct + 1, (name, a.distinct, b.distinct)
    assert set(a.quantiles) == set(b.quantiles), name
    if a.quantiles:
        ordered = values_of(data, name, a.dtype)
        ordered = ordered[~np.isnan(ordered)]
        for q in QUANTILES:
            for got in (a.quantiles[str(q)], b.quantiles[str(q)]):
                lo = np.searchsorted(ordered, got, "left") / len(ordered)
                hi = np.searchsorted(ordered, got, "right") / len(ordered)
                assert lo - KLL_RANK_ERROR <= q <= hi + KLL_RANK_ERROR, (name, q, got)
            if len(ordered) <= 200:
                assert same(a.quantiles[str(q)], b.quantiles[str(q)]), (name, q)
        assert a.histogram["edges"] == b.histogram["edges"], name
        assert sum(a.histogram["counts"]) == sum(b.histogram["counts"]) == len(ordered), name
    else:
        assert a.histogram is b.histogram is None, name
    if b.top_values is None:
        assert a.top_values is None, name
    else:
        counts = data[name].dropna().value_counts()
        if len(counts) <= 768:  # where the frequent-items sketch is exact: both equal pandas
            convert = bool if a.dtype == "Bool" else str
            truth = sorted(((convert(k), int(v)) for k, v in counts.items()), key=lambda p: (-p[1], p[0]))[:10]
            assert a.top_values == b.top_values == truth, name
        else:  # beyond: both are DataSketches frequent-items sketches, counts within its error bound
            bound = frequent_strings_sketch.get_epsilon_for_lg_size(FREQUENT_LG_MAX_MAP) * int(counts.sum()) + 1
            for top in (a.top_values, b.top_values):
                for value, count in top:
                    assert abs(count - int(counts[value])) <= bound, (name, value, count, int(counts[value]))


def expect_days_same(a: DailyStatistics, b: DailyStatistics, data: pd.DataFrame) -> None:
    assert sorted(a.days) == sorted(b.days)
    day = data["event_ts"].dt.strftime("%Y-%m-%d")
    for key in a.days:
        rows = data[day == key]
        for name, _ in FEATURES:
            expect_same(a.days[key].sketches[name].summary(), b.days[key].sketches[name].summary(), rows)
    stored_a, stored_b = a.stored(), b.stored()
    for name, _ in FEATURES:  # merged over days, through the stored JSON form
        expect_same(FeatureStatistics.from_dict(stored_a[name]["summary"]),
                    FeatureStatistics.from_dict(stored_b[name]["summary"]), data)
        assert sorted(stored_a[name]["sketch"]["days"]) == sorted(stored_b[name]["sketch"]["days"])


def test_native_statistics_equal_the_python_path(spark, tmp_path):
    data = frame()
    expect_days_same(native(spark_frame(spark, data, tmp_path)), python(data), data)


def test_small_days_are_exact(spark, tmp_path):
    """At most 200 values a day: quantiles and histograms are exact on both paths, so they are equal."""
    data = frame(days=2, per_day=150, seed=9)
    a, b = native(spark_frame(spark, data, tmp_path)), python(data)
    expect_days_same(a, b, data)
    for key in a.days:
        for name in ("amount", "qty", "seen_at"):
            sa, sb = a.days[key].sketches[name].summary(), b.days[key].sketches[name].summary()
            assert sa.quantiles == sb.quantiles and sa.histogram == sb.histogram, name


def test_all_null_columns_and_an_empty_range(spark, tmp_path):
    data = frame(days=1, per_day=300)
    a = native(spark_frame(spark, data, tmp_path))
    for name in ("empty_f", "empty_s"):
        s = a.days["2026-01-01"].sketches[name].summary()
        assert (s.count, s.nulls, s.distinct, s.min, s.max, s.mean, s.quantiles) == (300, 300, 0.0, None, None,
                                                                                      None, {})
    empty = native(spark_frame(spark, data, tmp_path).where("event_ts < '2000-01-01'"))
    assert empty.days == {}
    stored = empty.stored()
    assert stored["amount"]["sketch"]["days"] == {} and stored["amount"]["summary"]["count"] == 0
    assert stored == python(data.iloc[:0]).stored()


def test_sketches_of_earlier_runs_union_with_todays(spark, tmp_path):
    """Runs before the writing tasks sketched used Spark's ``hll_sketch_agg`` over the same hashed values; their
    stored distinct sketches union with today's without counting a value twice."""
    from datasketches import hll_sketch, hll_union
    from pyspark.sql import functions as F

    data = frame(days=1, per_day=4000, seed=11)
    df = spark_frame(spark, data, tmp_path)
    value = F.nanvl(F.col("amount"), F.lit(None).cast("double"))
    earlier = {  # how the statistics job of those runs fed hll_sketch_agg
        "amount": F.when(value.isNotNull(), F.xxhash64(value)), "qty": F.col("qty").cast("long"),
        "country": F.col("country"), "ref": F.col("ref"), "flag": F.col("flag").cast("string"),
        "seen_at": F.unix_micros(F.col("seen_at")),
    }
    row = df.agg(*[F.hll_sketch_agg(c, HLL_LG_K).alias(n) for n, c in earlier.items()]).first()
    today = native(df, tmp_path)
    for name in earlier:
        old = hll_sketch.deserialize(bytes(row[name]))
        new = today.days["2026-01-01"].sketches[name]._settled_hll()
        one = new.get_estimate()
        truth = data[name].dropna()  # NaN is null; inf is a value
        if name == "country":
            truth = truth[truth != ""]  # DataSketches skips empty strings
        assert abs(one - truth.nunique()) <= 0.035 * truth.nunique() + 1, name
        union = hll_union(HLL_LG_K)
        union.update(old)
        union.update(new)
        assert abs(union.get_result().get_estimate() - one) <= 0.035 * one + 1, name
        merged = StatisticsSketch.from_parts(name, dict(FEATURES)[name], count=0, nulls=0, hll=bytes(row[name]))
        merged.merge(today.days["2026-01-01"].sketches[name])  # not doubled by merging the two
        assert abs(merged.summary().distinct - one) <= 0.035 * one + 1, name


def test_float_hash_keys_are_sparks_xxhash64(spark):
    from pyspark.sql import functions as F

    values = [0.0, -0.0, 1.0, -1.5, 1e-310, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, math.pi]
    df = spark.createDataFrame([(v,) for v in values], "x double")
    got = [r[0] for r in df.select(F.xxhash64("x")).collect()]
    assert got == float_hash_keys(np.array(values)).tolist()
