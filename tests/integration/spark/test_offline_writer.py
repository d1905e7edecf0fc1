"""The offline store's writer, on each of its paths: Spark's writer with the files read back by pyarrow in a task
per day (``read_back``: the usual one), pyarrow writing in Spark's tasks (``arrow``: when columns computed for the
observers only come along, ``extra``) and Spark's writer alone (a VARIANT column).

Oracle: Spark itself. The same frame written by Spark's own Parquet writer and by ``write_range`` reads back with
the same schema and the same rows; what the tasks' observers saw is exactly what was written; pandas for the dedupe.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aquifer.quality.statistics import DailyStatistics
from aquifer.stores.offline.partitions import live_partitions
from aquifer.stores.offline.writer import _write_then_read_back, _write_with_arrow, write_range

pytestmark = pytest.mark.spark

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC)

TYPES_SQL = """
SELECT id AS user_id,
       TIMESTAMP '2026-01-01 00:00:00' + make_interval(0, 0, 0, 0, 0, 0, id * 200.123456) AS event_ts,
       CAST(id % 100 AS TINYINT) AS tiny, CAST(id AS SMALLINT) AS small, CAST(id AS INT) AS whole,
       CAST(id * 1.5 AS FLOAT) AS single, id / 7.0D AS dbl, CAST(id / 3 AS DECIMAL(18, 4)) AS dec,
       CASE WHEN id % 5 = 0 THEN NULL ELSE concat('name-', id) END AS text, CAST(concat('b', id) AS BINARY) AS raw,
       id % 2 = 0 AS flag, DATE '2025-12-31' + CAST(id % 30 AS INT) AS day,
       CAST(TIMESTAMP '2026-01-01 00:00:00' + make_interval(0, 0, 0, 0, 0, 0, id) AS TIMESTAMP_NTZ) AS local_time,
       array(id, id + 1) AS pair, map('k', CAST(id AS DOUBLE)) AS mapping,
       named_struct('a', id, 'b', concat('x', id)) AS nested
FROM range(0, 300)
"""


PATHS = ["read_back", "arrow", "arrow_by_hash"]


def read_back(spark, folder: Path):
    return spark.read.parquet(*[str(p) for _, p in live_partitions(folder)])


def path_args(path: str, observe=None) -> dict:
    """``write_range``'s arguments that send a write down ``path``: a column for the observers only (``extra``)
    sends it to the tasks' pyarrow writer (which needs an observer to show it to); ``arrow_by_hash`` is that writer
    over days hashed to tasks, several days a task, as for a range longer than ``DAY_TASKS`` days (the ``by_hash``
    fixture sets it to 1 for the test)."""
    from pyspark.sql import functions as F

    if path.startswith("arrow"):
        return {"observe": observe or partial(DailyStatistics, [], "event_ts"), "extra": {"__shown": F.lit(1)}}
    return {"observe": observe}


@pytest.fixture(autouse=True)
def by_hash(request, monkeypatch):
    """Tests parametrized with ``path="arrow_by_hash"`` write as if the range had more than ``DAY_TASKS`` days."""
    import aquifer.stores.offline.writer as writer

    params = getattr(request.node, "callspec", None)
    if params is not None and "arrow_by_hash" in params.params.values():
        monkeypatch.setattr(writer, "DAY_TASKS", 1)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("repeated", [False, True], ids=["unique", "repeated"])
def test_written_days_read_back_like_sparks_own(spark, tmp_path, path, repeated):
    """``repeated``: every row comes twice, the copy with a smaller ``dbl``, and the dedupe keeps the original: the
    read back then rewrites the file Spark wrote with pyarrow, every type included."""
    from pyspark.sql import functions as F

    frame = spark.sql(TYPES_SQL)
    given, order, first_of = frame, ["user_id", "event_ts"], []
    if repeated:
        given = frame.unionByName(frame.withColumn("dbl", F.col("dbl") - 1))
        order, first_of = [*order, F.col("dbl").desc()], ["user_id", "event_ts"]
    written = write_range(given, tmp_path / "mine", "p", "v", START, END, order=order, first_of=first_of,
                          **path_args(path))
    spark_dir = tmp_path / "spark"
    frame.write.parquet(str(spark_dir))
    expected = spark.read.parquet(str(spark_dir))
    got = read_back(spark, tmp_path / "mine" / "p" / "v")
    assert written.rows == 300 and got.count() == 300
    assert got.select(expected.columns).schema == expected.schema
    key = ["user_id"]
    assert got.select(expected.columns).orderBy(key).collect() == expected.orderBy(key).collect()
    days = [d.isoformat() for d, _ in live_partitions(tmp_path / "mine" / "p" / "v")]
    assert days == ["2026-01-01"]  # 300 rows 200 s apart fit in the first day
    if path == "read_back":  # Spark's file kept as it is, or rewritten by pyarrow without the repeats
        [(_, folder)] = live_partitions(tmp_path / "mine" / "p" / "v")
        (file,) = folder.glob("*.parquet")
        assert pq.read_metadata(file).created_by.startswith("parquet-cpp") == repeated


@pytest.mark.parametrize("path", PATHS)
def test_each_day_is_one_sorted_file_and_the_observers_saw_exactly_the_rows_written(spark, tmp_path, path):
    frame = spark.sql(TYPES_SQL.replace("id * 200.123456", "id * 800.5")).repartition(5)
    features = [("dbl", "Float64"), ("text", "String"), ("whole", "Int32")]
    written = write_range(frame, tmp_path, "p", "v", START, END, order=["user_id", "event_ts"],
                          **path_args(path, partial(DailyStatistics, features, "event_ts")))
    seen = DailyStatistics(features, "event_ts")
    for part in written.observed:
        seen.merge(DailyStatistics.from_bytes(part))
    folders = live_partitions(tmp_path / "p" / "v")
    assert [d.isoformat() for d, _ in folders] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    total = 0
    for day, folder in folders:
        (file,) = folder.glob("*.parquet")
        rows = pq.read_table(file).to_pandas()
        assert list(rows["user_id"]) == sorted(rows["user_id"])  # one file a day, sorted by the order given
        stats = seen.days[day.isoformat()].sketches
        assert stats["dbl"].count == len(rows) and stats["text"].nulls == int(rows["text"].isna().sum())
        assert stats["whole"].summary().max == rows["whole"].max()
        total += len(rows)
    assert total == written.rows == 300


def test_files_no_task_reported_are_dropped_before_the_swap(spark, tmp_path):
    """A failed or retried attempt's file in the staging folder is not swapped in with the reported ones."""
    staged = tmp_path / "staged"
    stray = staged / "event_date=2026-01-01" / "part-00000-0-left-by-a-failed-attempt.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1 partial")
    frame = spark.sql("SELECT id AS user_id, TIMESTAMP '2026-01-01 10:00:00' AS event_ts, 18262 AS __day "
                      "FROM range(0, 10)")
    written = _write_with_arrow(frame, staged, None)
    assert written.rows == 10 and written.observed is None
    files = list(staged.glob("*/*.parquet"))
    assert stray not in files and sum(pq.read_metadata(f).num_rows for f in files) == 10


def test_files_no_read_back_task_reported_are_dropped_and_sparks_landing_is_cleared(spark, tmp_path):
    staged = tmp_path / "staged"
    stray = staged / "event_date=2026-01-01" / "part-00000-0-left-by-a-failed-attempt.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1 partial")
    frame = spark.sql("SELECT id AS user_id, TIMESTAMP '2026-01-01 10:00:00' AS event_ts FROM range(0, 10)")
    written = _write_then_read_back(frame.repartition(1), staged, None)
    assert written.rows == 10 and written.observed is None
    files = list(staged.rglob("*.parquet"))
    assert stray not in files and [f.parent.name for f in files] == ["event_date=2026-01-01"]
    assert sum(pq.read_metadata(f).num_rows for f in files) == 10 and sorted(p.name for p in staged.iterdir()) == [
        "event_date=2026-01-01"]


def test_an_empty_write_read_back_still_reports_what_the_observer_saw(spark, tmp_path):
    frame = spark.sql("SELECT id AS user_id, TIMESTAMP '2026-01-01 10:00:00' AS event_ts, id * 1.5D AS dbl "
                      "FROM range(0, 0)")
    written = write_range(frame, tmp_path, "p", "v", START, END,
                          observe=partial(DailyStatistics, [("dbl", "Float64")], "event_ts"))
    assert written.rows == 0 and written.problem is None and written.observed
    assert all(DailyStatistics.from_bytes(part).days == {} for part in written.observed)
    assert live_partitions(tmp_path / "p" / "v") == []


def test_a_column_arrow_cannot_carry_is_written_by_spark_unobserved(spark, tmp_path, caplog):
    frame = spark.sql("SELECT id AS user_id, TIMESTAMP '2026-01-02 10:00:00' AS event_ts, "
                      "parse_json(concat('{\"n\": ', id, '}')) AS payload FROM range(0, 20)")
    with caplog.at_level(logging.WARNING, logger="aquifer.offline"):
        written = write_range(frame, tmp_path, "p", "v", START, END,
                              observe=partial(DailyStatistics, [("user_id", "Int64")], "event_ts"))
    assert written.rows == 20 and written.observed is None
    assert "Spark's Parquet writer, unobserved: a VARIANT column" in caplog.text
    back = read_back(spark, tmp_path / "p" / "v")
    assert back.count() == 20 and dict(back.dtypes)["payload"] == "variant"


@pytest.mark.parametrize("path", PATHS)
def test_an_observer_that_fails_does_not_fail_the_write(spark, tmp_path, path):
    frame = spark.sql(TYPES_SQL)
    written = write_range(frame, tmp_path, "p", "v", START, END,
                          **path_args(path, partial(DailyStatistics, [("dbl", "Float64")], "no_such_time")))
    assert written.rows == 300 and written.observed is None
    assert "KeyError" in written.problem and "no_such_time" in written.problem
    assert read_back(spark, tmp_path / "p" / "v").count() == 300


def test_a_day_larger_than_a_row_group_is_one_file_of_several_row_groups(spark, tmp_path, monkeypatch):
    """pyarrow's writer in the tasks cuts row groups of ``ROW_GROUP_ROWS`` (Spark's writer cuts them by bytes)."""
    import aquifer.stores.offline.writer as writer

    monkeypatch.setattr(writer, "ROW_GROUP_ROWS", 64)  # the task function carries the value it was pickled with
    frame = spark.sql(TYPES_SQL).repartition(3)
    features = [("whole", "Int32")]
    written = write_range(frame, tmp_path, "p", "v", START, END, order=["user_id", "event_ts"],
                          **path_args("arrow", partial(DailyStatistics, features, "event_ts")))
    ((_, folder),) = live_partitions(tmp_path / "p" / "v")
    (file,) = folder.glob("*.parquet")
    meta = pq.read_metadata(file)
    assert meta.num_rows == written.rows == 300 and meta.num_row_groups == 5  # 64 x 4 + 44
    assert pq.read_table(file).column("user_id").to_pylist() == list(range(300))
    seen = [DailyStatistics.from_bytes(part).days for part in written.observed]  # a task per day of the range
    (day,) = [days["2026-01-01"] for days in seen if "2026-01-01" in days]
    assert day.sketches["whole"].count == 300


@pytest.mark.parametrize("writer_kind", [*PATHS, "spark"])
def test_first_of_keeps_the_first_row_in_order_of_each_group(spark, tmp_path, writer_kind, monkeypatch):
    """Duplicates of (user_id, event_ts), some of them straddling the tasks' Arrow batches (3 rows a batch, and
    3 rows a batch read back), a null key group among them: only the first in ``order`` is written (and observed),
    by pyarrow in the tasks, by pyarrow rewriting the file Spark wrote, or by Spark's writer's window (a VARIANT
    column sends the frame there). Oracle: pandas sort and ``drop_duplicates``."""
    import pandas as pd
    from pyspark.sql import functions as F

    import aquifer.stores.offline.writer as writer

    rows = [(u, f"2026-01-0{1 + (i % 3)} 0{i % 4}:00:00", float(v))
            for i, (u, v) in enumerate([(1, 5), (1, 7), (2, 1), (None, 3), (None, 4), (2, 2), (3, 9), (1, 6)] * 4)]
    frame = spark.createDataFrame(rows, "user_id long, ts string, amount double").select(
        "user_id", F.to_timestamp("ts").alias("event_ts"), "amount").repartition(2)
    if writer_kind == "spark":
        frame = frame.withColumn("payload", F.parse_json(F.lit('{"a": 1}')))
    order = ["user_id", "event_ts", F.col("amount").desc()]
    monkeypatch.setattr(writer, "ROW_GROUP_ROWS", 3)
    old = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "3")
    observe = partial(DailyStatistics, [("amount", "Float64")], "event_ts")
    try:
        written = write_range(frame, tmp_path, "p", "v", START, END, order=order, first_of=["user_id", "event_ts"],
                              **(path_args(writer_kind, observe) if writer_kind != "spark" else {}))
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", old)
    got = read_back(spark, tmp_path / "p" / "v").select("user_id", "event_ts", "amount").toPandas()
    source = pd.DataFrame(rows, columns=["user_id", "ts", "amount"])
    source["event_ts"] = pd.to_datetime(source["ts"])
    oracle = (source.sort_values(["user_id", "event_ts", "amount"], ascending=[True, True, False], na_position="first")
              .drop_duplicates(["user_id", "event_ts"], keep="first"))
    assert written.rows == len(oracle) < len(rows)
    if writer_kind != "spark":
        seen = DailyStatistics([("amount", "Float64")], "event_ts")
        for part in written.observed:
            seen.merge(DailyStatistics.from_bytes(part))
        assert sum(day.sketches["amount"].count for day in seen.days.values()) == len(oracle)
    key = ["user_id", "event_ts"]
    got = got.assign(event_ts=got["event_ts"].dt.tz_localize(None) if got["event_ts"].dt.tz is None else
                     got["event_ts"].dt.tz_convert(None)).sort_values(key, na_position="first")
    assert got["amount"].tolist() == oracle["amount"].tolist()
    assert got["user_id"].isna().sum() == oracle["user_id"].isna().sum() > 0
