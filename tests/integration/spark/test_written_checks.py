"""Row checks counted by the tasks that write the rows (``write_checks`` + ``WrittenChecks``: pyarrow's kernels and
Spark's bit masks) agree with Spark's own aggregate over the same rows (``count_columns``) and with Great
Expectations' pandas engine; the sample they draw is of the rows written."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import numpy as np
import pandas as pd
import pytest

from aquifer import InRange, InSet, Matches, NotNull
from aquifer.quality.expectations import ColumnExpectation
from aquifer.quality.suites import gx_validate_pandas

pytestmark = pytest.mark.spark

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC)
WIDE = 40  # columns with two checks each: 80 checks (in Spark's masks: 63 + 22 bits with the others)


def frame(n: int = 3000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = {"user_id": np.arange(n, dtype="int64"),
           "event_ts": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 3 * 86400, n), "s")}
    for i in range(WIDE):
        x = rng.normal(50, 30, n)
        x[rng.choice(n, i, replace=False)] = np.nan  # column i has i nulls (and NaNs count as nulls)
        out[f"x{i:02d}"] = x
    out["code"] = rng.choice(["AB", "CD", "ab", "A1", "XYZ", None], n, p=[0.4, 0.3, 0.1, 0.1, 0.05, 0.05])
    out["k"] = rng.integers(-3, 60, n).astype("int64")
    out["small"] = pd.array(rng.integers(0, 5, n), dtype="Int64")  # an integer column with nulls
    out["small"][rng.random(n) < 0.05] = pd.NA
    out["ratio"] = rng.uniform(0, 2, n).astype("float32")  # float32 against double bounds: compared as doubles
    out["ratio"][rng.random(n) < 0.03] = np.nan  # NaN: a null, neither in nor out of the set nor the range
    out["ratio"][:20] = 0.5  # some values in the set
    out["ok"] = pd.array(rng.random(n) < 0.7, dtype="boolean")
    out["ok"][rng.random(n) < 0.02] = pd.NA
    return pd.DataFrame(out)


EXPECTATIONS = [
    *(ColumnExpectation(f"x{i:02d}", e) for i in range(WIDE) for e in (NotNull(mostly=0.99), InRange(0, 100))),
    ColumnExpectation("code", NotNull()),
    ColumnExpectation("code", InSet(["AB", "CD", "ab"])),
    ColumnExpectation("code", Matches("[A-Z]{2}")),
    ColumnExpectation("k", InSet(list(range(0, 50)), mostly=0.9)),
    ColumnExpectation("k", InRange(None, 55, mostly=0.9)),
    ColumnExpectation("small", InSet([0, 1, 2, 3])),
    ColumnExpectation("small", InRange(0.5, 3.5)),  # an integer column against fractional bounds
    ColumnExpectation("ratio", InRange(0.1, 1.3)),
    ColumnExpectation("ratio", InSet([0.5, 1])),
    ColumnExpectation("ok", InSet([True])),
]


@pytest.mark.parametrize("all_in_spark", [False, True])
def test_counts_in_the_write_equal_spark_aggregates_and_gx(spark, tmp_path, monkeypatch, all_in_spark):
    """By default pyarrow counts all but the regular expressions; ``all_in_spark`` puts every check in the masks
    (two of them: 63 bits and the rest)."""
    from aquifer.engines.spark import validation
    from aquifer.engines.spark.validation import (
        count_columns,
        finish_checks,
        prepare_checks,
        write_checks,
        written_counts,
    )
    from aquifer.quality.written_checks import WrittenChecks, merge_written
    from aquifer.stores.offline.writer import Observers, write_range

    if all_in_spark:
        monkeypatch.setattr(validation, "arrow_check", lambda *_: None)
    df = frame()
    path = tmp_path / "rows.parquet"
    df.to_parquet(path, coerce_timestamps="us")  # what the writer is given: rows as aquifer reads them
    rows = spark.read.parquet(str(path)).repartition(5)
    dtypes = dict(rows.dtypes)
    prepared = prepare_checks(dtypes, EXPECTATIONS)
    how = write_checks(prepared, dtypes)
    flags = how.flags
    assert flags == len(prepared.checks) + len(prepared.columns) == 2 * WIDE + 10 + WIDE + 5
    assert [len(bits) for _, bits in how.bits] == ([63, len(prepared.checks) - 63] if all_in_spark else [1])
    assert len(how.arrow) == flags - sum(len(bits) for _, bits in how.bits)

    make = partial(WrittenChecks, how.bits, flags, arrow=how.arrow)
    written = write_range(rows, tmp_path / "store", "p", "v", START, END, order=["user_id", "event_ts"],
                          observe=partial(Observers, {"q": make}), extra=how.masks)
    part = written.part("q")
    assert written.rows == len(df) and part.problem is None
    seen = merge_written(part.observed, flags, limit=10)
    assert seen.rows == len(df) and seen.sample is None  # no sample asked for
    ours = written_counts(prepared, seen.rows, seen.counts)
    spark_counts = rows.agg(*count_columns(prepared, dtypes)).first().asDict()
    assert ours == {k: int(v) for k, v in spark_counts.items()}

    results, counted = finish_checks(prepared, ours, rows)
    assert counted == len(df)
    mine = {r.name: r for r in results}
    oracle = {r.name: r for r in gx_validate_pandas(df.drop(columns=["user_id", "event_ts"]), EXPECTATIONS)}
    assert set(mine) == set(oracle)
    for name, gx in oracle.items():
        assert (mine[name].success, mine[name].unexpected) == (gx.success, gx.unexpected), name
    assert {True, False} <= {r.success for r in results}
    written_back = pd.concat(pd.read_parquet(p) for p in (tmp_path / "store").rglob("*.parquet"))
    assert not [c for c in written_back.columns if c.startswith("__")]  # the masks are not written


def test_the_sample_is_drawn_from_the_rows_written_and_is_the_same_on_a_rerun(spark, tmp_path):
    from aquifer.quality.written_checks import WrittenChecks, merge_written
    from aquifer.stores.offline.writer import Observers, write_range

    df = frame()[["user_id", "event_ts", "x00", "k"]]
    path = tmp_path / "rows.parquet"
    df.to_parquet(path, coerce_timestamps="us")
    rows = spark.read.parquet(str(path)).repartition(3)
    limit = 500

    def sample() -> pd.DataFrame:
        make = partial(WrittenChecks, [], 0, ["k", "x00", "user_id"], 1.2 * limit / len(df))
        written = write_range(rows, tmp_path / "store", "p", "v", START, END, order=["user_id", "event_ts"],
                              observe=partial(Observers, {"q": make}))
        return merge_written(written.part("q").observed, 0, limit).sample

    first, second = sample(), sample()
    assert len(first) == limit and first["user_id"].is_unique
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True))
    expected = df.set_index("user_id").loc[first["user_id"], ["k", "x00"]]  # each sampled row is a row of the data
    np.testing.assert_array_equal(first["k"].to_numpy(), expected["k"].to_numpy())
    np.testing.assert_array_equal(first["x00"].to_numpy(), expected["x00"].to_numpy())
    # spread over all days, not the first rows met: every day holds about its share of the sample
    days = df.set_index("user_id").loc[first["user_id"], "event_ts"].dt.floor("D").value_counts()
    assert len(days) == 3 and days.min() > limit / 3 * 0.7


def test_quotes_and_backslashes_in_expectations_reach_spark_unchanged(spark):
    """The checks are Spark SQL text: a quote in a set value and a backslash in a value or a regex stay literal."""
    from aquifer.engines.spark.validation import check_rows

    df = pd.DataFrame({"name": ["O'Brien", "a\\b", "x", "12", None, "O'Brien", "7"],
                       "n": [1.5, float("inf"), 3.0, float("nan"), -1.0, 2.0, 1e300],
                       "path": ["a\\b", "ab", "\\", "b", "a/b", None, "c\\"]})
    expectations = [ColumnExpectation("name", InSet(["O'Brien", "a\\b", "12"])),
                    ColumnExpectation("name", Matches(r"^\d+$")),
                    ColumnExpectation("path", Matches(r"\\")),
                    ColumnExpectation("n", InRange(-0.5, 1e299))]
    results, rows = check_rows(spark.createDataFrame(df), expectations)
    assert rows == len(df)
    oracle = {r.name: r for r in gx_validate_pandas(df, expectations)}
    got = {r.name: r for r in results}
    assert {n: (r.success, r.unexpected) for n, r in got.items()} == \
        {n: (r.success, r.unexpected) for n, r in oracle.items()}
    assert got["name.in_set"].unexpected == 2 and sorted(got["name.in_set"].samples) == ["7", "x"]
    assert got["name.matches"].unexpected == 4  # O'Brien twice, a\b, x
    assert got["n.in_range"].unexpected == 3  # inf, -1.0 and 1e300 (NaN is a null)
    assert got["path.matches"].unexpected == 3  # the values without a backslash
