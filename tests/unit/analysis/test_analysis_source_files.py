"""Footer inspection of source files as users write them (pure pyarrow: no Spark)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aquifer.analysis.source_files import inspect_files, widen
from aquifer.analysis.source_schema import source_columns, time_column_problem
from aquifer.definitions import BatchSource, Field
from aquifer.definitions.types import Float32, Float64, Int32, Int64, String, Timestamp

ROWS = pd.DataFrame({"user_id": [1, 2], "amount": [1.5, 2.5],
                     "event_ts": pd.to_datetime(["2026-01-01 00:00:00.000000001", "2026-01-02 00:00:00.5"], utc=True)})


def test_pandas_default_parquet_is_flagged_nanos_and_int96_is_not(tmp_path):
    ROWS.to_parquet(tmp_path / "pandas.parquet")
    pq.write_table(pa.Table.from_pandas(ROWS), tmp_path / "int96.parquet", use_deprecated_int96_timestamps=True)
    pandas_files = inspect_files(tmp_path / "pandas.parquet", "parquet")
    int96_files = inspect_files(tmp_path / "int96.parquet", "parquet")
    assert pandas_files.nanos_columns == {"event_ts"}
    assert int96_files.nanos_columns == set()  # Spark reads INT96 itself
    assert pandas_files.columns == {"user_id": Int64, "amount": Float64, "event_ts": Timestamp}


def test_widths_widen_and_index_columns_are_ignored(tmp_path):
    ROWS.astype({"user_id": "int32", "amount": "float32"}).to_parquet(tmp_path / "a.parquet")
    ROWS.iloc[[1, 0]].to_parquet(tmp_path / "b.parquet")  # a non-range index: __index_level_0__
    files = inspect_files(tmp_path, "parquet")
    assert files.problems == []
    assert files.columns == {"user_id": Int64, "amount": Float64, "event_ts": Timestamp}
    assert files.index_columns == {"__index_level_0__"}
    assert len(files.signature_groups()) == 2
    assert widen(Int32, Int64) == Int64 and widen(Float32, Float64) == Float64
    assert widen(Int64, Float64) is None and widen(String, Timestamp) is None


def test_hive_partitions_are_columns(tmp_path):
    ROWS.assign(country=["US", "DE"], day=[1, 2]).to_parquet(tmp_path / "ds", partition_cols=["country", "day"])
    files = inspect_files(tmp_path / "ds", "parquet")
    assert files.problems == []
    assert files.columns["country"] == String and files.columns["day"] == Int32


def test_duckdb_copy_is_microseconds(tmp_path):
    frame = ROWS  # noqa: F841 (read by DuckDB)
    duckdb.sql(f"COPY (SELECT * FROM frame) TO '{tmp_path}/d.parquet' (FORMAT parquet)")
    files = inspect_files(tmp_path / "d.parquet", "parquet")
    assert files.nanos_columns == set() and files.columns["event_ts"] == Timestamp


def test_odd_file_is_named_not_the_others(tmp_path):
    for i in range(3):
        ROWS.to_parquet(tmp_path / f"part-{i}.parquet")
    ROWS.drop(columns="amount").assign(extra=1).to_parquet(tmp_path / "a-odd.parquet")
    problems = inspect_files(tmp_path, "parquet").problems
    assert len(problems) == 1
    assert "a-odd.parquet" in problems[0] and "lacks 'amount'" in problems[0] and "extra 'extra'" in problems[0]


def test_disagreeing_types_name_both_files(tmp_path):
    ROWS.to_parquet(tmp_path / "a.parquet")
    ROWS.assign(amount=["x", "y"]).to_parquet(tmp_path / "b.parquet")
    (problem,) = inspect_files(tmp_path, "parquet").problems
    assert "'amount'" in problem and "a.parquet" in problem and "b.parquet" in problem and "string" in problem


def test_csv_headers_are_compared(tmp_path):
    (tmp_path / "a.csv").write_text("user_id,event_ts\n1,2026-01-01\n")
    (tmp_path / "b.csv").write_text("user_id,event_ts\n1,2026-01-01\n")
    (tmp_path / "c.csv").write_text("user,event_ts\n1,2026-01-01\n")
    (problem,) = inspect_files(tmp_path, "csv").problems
    assert "c.csv" in problem and "lacks 'user_id'" in problem


@pytest.mark.parametrize(("dtype", "unit", "ok"), [
    (Timestamp, None, True), (String, None, True), (Int64, None, False), (Int64, "ms", True),
    (Float64, "s", True), (None, None, True),
])
def test_time_column_rules(dtype, unit, ok):
    assert (time_column_problem("timestamp_field", "ts", dtype, unit, "f.parquet") is None) == ok


def test_plan_time_errors_name_the_file(tmp_path):
    ROWS.assign(event_ts=1.7e9).to_parquet(tmp_path / "epoch.parquet")
    found = source_columns(BatchSource("s", path="epoch.parquet"), tmp_path)
    assert len(found.errors) == 1 and "epoch.parquet" in found.errors[0] and "timestamp_unit" in found.errors[0]
    assert source_columns(BatchSource("s", path="epoch.parquet", timestamp_unit="s"), tmp_path).errors == []
    declared = BatchSource("s", path="epoch.parquet", timestamp_unit="s", schema=[Field("amount", String)])
    (error,) = source_columns(declared, tmp_path).errors
    assert "'amount'" in error and "double" in error and "declared String" in error
