"""The row-level translations agree with Great Expectations: Spark predicates and DuckDB SQL against GX's pandas
engine on the same rows, edge cases included (NaN and None, values on the bounds, ``mostly`` on both sides of
its threshold, regex search semantics, a missing column), and Spark's good/bad split against pandas filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aquifer import InRange, InSet, Matches, NotNull
from aquifer.quality.expectations import ColumnExists, ColumnExpectation, OfType
from aquifer.quality.suites import gx_validate_pandas

pytestmark = pytest.mark.spark


def frame(n: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-10, 110, n)
    x[:4] = [0.0, 100.0, np.nan, -0.0]  # on the bounds, NaN, negative zero
    x[rng.choice(np.arange(4, n), 10, replace=False)] = np.nan
    k = rng.integers(-3, 60, n).astype("int64")
    code = rng.choice(["AB", "CD", "ab", "A1", "XYZ", None], n, p=[0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
    return pd.DataFrame({"x": x, "k": k, "code": code})


EXPECTATIONS = [
    ColumnExpectation("x", ColumnExists()),
    ColumnExpectation("x", OfType("Float64")),
    ColumnExpectation("k", OfType("Int64")),
    ColumnExpectation("x", NotNull(mostly=0.95)),  # ~97% present: passes
    ColumnExpectation("x", InRange(0, 100)),  # fails
    ColumnExpectation("k", InRange(None, 55, mostly=0.9)),  # ~93% pass: passes with mostly
    ColumnExpectation("k", InSet(list(range(0, 50)), mostly=0.9)),  # ~79% pass: fails
    ColumnExpectation("code", NotNull()),
    ColumnExpectation("code", InSet(["AB", "CD", "ab"])),
    ColumnExpectation("code", Matches("[A-Z]{2}")),  # search: "XYZ" contains a match
    ColumnExpectation("code", Matches("^[A-Z]{2}$", mostly=0.8)),
    ColumnExpectation("gone", NotNull()),
]


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> tuple[pd.DataFrame, object]:
    df = frame()
    path = tmp_path_factory.mktemp("quality") / "rows.parquet"
    df.to_parquet(path)
    return df, path


def compare(ours, oracle) -> None:
    mine = {r.name: r for r in ours}
    gx = {r.name: r for r in oracle}
    assert set(mine) == set(gx)
    for name, expected in gx.items():
        got = mine[name]
        assert got.success == expected.success, (name, got.describe(), expected.describe())
        if expected.unexpected is not None and got.unexpected is not None:
            assert got.unexpected == expected.unexpected, name
    flags = [r.success for r in gx.values()]
    assert True in flags and False in flags  # the cases cover both outcomes


def test_spark_predicates_agree_with_gx(spark, rows):
    from aquifer.engines.spark.validation import check_rows

    df, path = rows
    results, count = check_rows(spark.read.parquet(str(path)), EXPECTATIONS)
    assert count == len(df)
    compare(results, gx_validate_pandas(df, EXPECTATIONS))
    samples = {r.name: r.samples for r in results}
    assert all(v < 0 or v > 100 for v in samples["x.in_range"]) and len(samples["x.in_range"]) == 5


def test_duckdb_sql_agrees_with_gx(rows):
    from aquifer.engines.duckdb.validation import check_files

    df, path = rows
    results, count = check_files([path], EXPECTATIONS)
    assert count == len(df)
    compare(results, gx_validate_pandas(df, EXPECTATIONS))


def test_spark_split_matches_pandas_filters(spark, rows):
    from aquifer.engines.spark.validation import FAILED_COLUMN, split_rows

    df, path = rows
    checks = [ColumnExpectation("x", InRange(0, 100)), ColumnExpectation("code", InSet(["AB", "CD", "ab"]))]
    good, bad = split_rows(spark.read.parquet(str(path)), checks)
    x_bad = df["x"].notna() & ((df["x"] < 0) | (df["x"] > 100))
    code_bad = df["code"].notna() & ~df["code"].isin(["AB", "CD", "ab"])
    good_pd, bad_pd = good.toPandas(), bad.toPandas()
    assert len(good_pd) == int((~(x_bad | code_bad)).sum()) and len(bad_pd) == int((x_bad | code_bad).sum())
    expected = sorted(zip(df.loc[x_bad | code_bad, "k"], [
        sorted(n for n, m in (("x.in_range", xb), ("code.in_set", cb)) if m)
        for xb, cb in zip(x_bad[x_bad | code_bad], code_bad[x_bad | code_bad], strict=True)], strict=True))
    got = sorted(zip(bad_pd["k"], [sorted(v) for v in bad_pd[FAILED_COLUMN]], strict=True))
    assert got == expected
    assert list(good_pd.columns) == list(df.columns)


def test_failing_values_are_fetched_only_for_failed_non_null_checks(spark, rows):
    """Samples of what failed, in both engines: none for a check ``mostly`` lets pass (its failing rows are
    tolerated) nor for not-null (the failing values are nulls); up to 5 real failing values otherwise."""
    from aquifer.engines.duckdb.validation import check_files
    from aquifer.engines.spark.validation import check_rows

    _, path = rows
    for results in (check_rows(spark.read.parquet(str(path)), EXPECTATIONS)[0], check_files([path], EXPECTATIONS)[0]):
        got = {r.name: r for r in results}
        tolerated = got["k.in_range"]
        assert tolerated.success and tolerated.unexpected > 0 and tolerated.samples == []
        assert got["x.not_null"].unexpected > 0 and got["x.not_null"].samples == []
        assert got["code.not_null"].unexpected > 0 and not got["code.not_null"].success
        assert got["code.not_null"].samples == []
        failed_set = got["k.in_set"]
        assert not failed_set.success and len(failed_set.samples) == 5
        assert all(int(v) not in range(0, 50) for v in failed_set.samples)
        assert all(v not in ("AB", "CD", "ab") and v is not None for v in got["code.in_set"].samples)
        assert len(got["code.in_set"].samples) == 5
