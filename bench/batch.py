"""Batch throughput of a SQL view and an aggregation view, each beside a floor written as bare Spark; sliding plans.

``python bench/batch.py --sizes 1000000,10000000 [--master local[2]] [--days 7] [--sliding]`` prints one JSON
document (progress goes to stderr).

**Data.** Per size, ``n`` events over ``--days`` days (``n / 200`` users, lognormal amounts, ``ingested_at`` a
minute after ``event_ts``) written with pyarrow to one Parquet file (row groups of 1M rows). Event times have
microsecond resolution and no (user, event time) pair repeats, so the product's dedupe keeps every row and the
floors, which do not dedupe, produce the same rows.

**Product.** Each size gets a fresh tmp repo (its own registry and offline store); each view is computed by one
``backfill`` over the whole data range with the repo's default settings (statistics on, no expectations), timed
end to end (planning, reading the source, computing, checking, writing Parquet, recording the run):

- ``spend``: a ``FeatureView`` whose SQL transform projects the events (``amount > 1000``, ``log(1 + amount)``);
- ``windows``: an ``AggregationView`` with tumbling (1h count and sum, 1d p95), sliding (1h every 15m avg and
  max) and session (30m gap sum and count) aggregations.

``phases`` says where each backfill's time went: ``plan_s`` (planning, up to the engine's compute), ``compute_s``
(for ``windows``: reading, aggregating, caching the rows and counting them; for ``spend`` only building its plan
and starting the source count, since a ``FeatureView``'s range is read, transformed, counted and written in the
write's one Spark job), ``check_s`` (validation listeners), ``write_s`` (the write of day files to staging by
Spark's writer, a task per day, then a task per file reading it back with pyarrow, which drops the duplicates and
sketches the statistics of what is kept; the swap) and ``record_s`` (ledger, run record and statistics rows).
``phases.inside`` times functions inside those phases by timed wrappers set on their modules (``INNER_STEPS``): the
SQL view's transform (its source count runs beside the write), the aggregation view's event read with its count,
the driver's merge of the statistics the tasks sketched (``statistics_s``), the write to staging
(``write_spark_s``, the whole ``write_range``) and the day swap.
``--actions`` adds every Spark action the backfill ran (count, first, collect, write), with the product line that
ran it and its seconds.

**Floors**, in the same run and Spark session, read the same Parquet file with ``spark.read.parquet`` and write
Parquet (``mode("overwrite")``, unpartitioned) to a tmp folder:

- ``floor_sql``: the same ``SELECT`` as ``spend`` over the file. It does not: count rows, check the
  schema, drop null keys or out-of-range rows, dedupe (there are no duplicates to drop), partition by day,
  stage and swap, compute statistics or record anything. ``floor_sql_by_day`` is the same job writing the
  offline store's layout (``repartition`` by UTC day, ``partitionBy`` day: one file per day): what the layout
  alone costs (``ratio_sql_vs_by_day``). ``floor_sql_same_work`` is that job doing what the store does to the
  rows as a hand-written Spark job would: the newest row of each (user, event time) by ``row_number`` over a
  window (``ingested_at`` descending), then the day layout with each day's file sorted by (user, event time), as
  the store sorts them (``ratio_sql_vs_same_work``). It still does not count, check, stage, swap, compute
  statistics or record.
- ``floor_aggregations``: the same aggregations as ``windows`` in one Spark SQL statement, written as a hand
  job would: tumbling and sliding windows by a ``GROUP BY`` on epoch-aligned window starts (a sliding event
  exploded into its 4 windows), the closing row after each run of non-empty windows (``lead`` over the window
  starts), sessions by ``lag`` and a running sum of the new-session marks, the 1d p95 by
  ``percentile_approx`` (default accuracy: exact for windows this size); the window rows are unioned, merged per
  (user, window end), forward-filled per user (``last(…, true)`` over a running window, so a closing row's
  empty value replaces the previous one, as in the product), and kept inside the range. It does not: count
  rows, cache, read the view's own earlier rows (a backfill of an empty store has none), dedupe, partition by
  day, stage and swap, compute statistics or record anything. It is the oracle of the product's values:
  ``check_aggregations`` (untimed, after the last run) joins the product's rows (left) with the floor's (right)
  on (user, event time) and counts, per feature, the rows where they differ (a missing row, a null on one side
  only, or values more than 1e-9 relative apart); every count should be 0.

``ratio_sql = spend / floor_sql`` and ``ratio_aggregations = windows / floor_aggregations`` (issue #17 targets:
at most 1.5 and 2). Before the first size, an untimed warm-up (20k events: both views and both floors; not with
``--quick``) loads the JVM's classes and Python workers; ``--repeat`` (default 2) runs the product and its floor
alternately, the best run of each counting (the first run at a size is often far slower: the JIT has not compiled
the hot paths yet).
``--no-statistics`` writes ``quality: {statistics: false}`` into the product's repos and ``--sliding-windows``
sets ``batch.sliding_windows`` for ``windows`` (both for finding where time goes).

**Sliding plans** (``--sliding``): ``slides``, an ``AggregationView`` of 7 aggregations of ``amount`` over
``Sliding("1d", every="5m")`` (count, sum, min, max, avg, p95, stddev_pop: 288 windows per event), over
``--sliding-events`` events (default 1M; ``--quick`` 20k) of ``--sliding-users`` users (default 100: busy entities
such as merchants or devices, about 1,400 events a day each, so a window holds about 1,400 values and its p95 is the
KLL sketch's approximation, within its rank error, in both plans; with 1,000 users, 140 values a window, the sketch
is exact and both plans agree to the bit) over ``--days`` days. The same backfill runs twice in fresh repos, once
with ``batch: {sliding_windows: explode}`` and once with ``tiles`` in ``aquifer.yaml``; ``ratio_explode_vs_tiles``
is the first's seconds over the second's (issue #17 target: at least 10), ``same_rows`` says whether both wrote the
same row count and ``check_plans`` compares their values as ``check_aggregations`` does (explode left; p95 of
windows beyond 200 values differs within the sketch's rank error, since the exploded plan sketches each window's
values and the tiled one merges its tiles' sketches).

The load average is printed at the start and the end: a busy machine shows there.

Usage::

    .venv/bin/python bench/batch.py                          # 1M events, best of 2 (about 3 minutes on 2 quiet cores)
    .venv/bin/python bench/batch.py --sizes 1000000,10000000 --sliding
    .venv/bin/python bench/batch.py --quick                  # smoke run: 100k events, sliding on 20k events
    .venv/bin/python bench/batch.py --sizes none --sliding   # only the sliding case
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from run_timing import InnerTimes, RecordedAt, TimedEngine, phases

START = datetime(2026, 1, 1, tzinfo=UTC)
SPARK_CONF = {"spark.driver.memory": "4g", "spark.sql.shuffle.partitions": "8"}
TARGET_SQL, TARGET_AGGREGATIONS, TARGET_SLIDING = 1.5, 2.0, 10.0

FEATURES = '''
from aquifer import (Aggregation, AggregationView, BatchSource, Entity, FeatureView, Field, Session, Sliding,
                     Tumbling, sql)
from aquifer.types import Bool, Float64, Int64

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
events = BatchSource("events", path="data/events.parquet", timestamp_field="event_ts",
                     created_timestamp_field="ingested_at")
spend = FeatureView("spend", entities=[user], source=events,
    transform=sql("SELECT user_id, event_ts, ingested_at, amount, amount > 1000 AS is_large, "
                  "log(1 + amount) AS amount_log FROM {events}"),
    schema=[Field("amount", Float64), Field("is_large", Bool), Field("amount_log", Float64)])
windows = AggregationView("windows", entities=[user], source=events, aggregations=[
    Aggregation("amount", "count", Tumbling("1h")),
    Aggregation("amount", "sum", Tumbling("1h")),
    Aggregation("amount", "avg", Sliding("1h", every="15m")),
    Aggregation("amount", "max", Sliding("1h", every="15m")),
    Aggregation("amount", "sum", Session(gap="30m")),
    Aggregation("amount", "count", Session(gap="30m")),
    Aggregation("amount", "p95", Tumbling("1d")),
])
slides = AggregationView("slides", entities=[user], source=events, aggregations=[
    Aggregation("amount", f, Sliding("1d", every="5m"))
    for f in ("count", "sum", "min", "max", "avg", "p95", "stddev_pop")
])
'''

# The floor of ``spend``: its SELECT, over the file as Spark reads it.
FLOOR_SQL = ("SELECT user_id, event_ts, ingested_at, amount, amount > 1000 AS is_large, "
             "log(1 + amount) AS amount_log FROM floor_events")

H, Q, D, GAP = 3_600_000_000, 900_000_000, 86_400_000_000, 1_800_000_000  # 1h, 15m, 1d, 30m in microseconds

# The floor of ``windows`` (feature columns named as the product's). Each window family gives rows
# (user_id, we, one struct(v) per feature it sets); a NULL struct means "this row does not set it", a struct
# holding NULL (a closing row) sets the feature to null, as in the product.
FLOOR_AGGREGATIONS = f"""
WITH ev AS (
  SELECT user_id, unix_micros(event_ts) AS t, amount FROM floor_events
),
tumble_1h AS (
  SELECT user_id, t - pmod(t, {H}) AS ws, count(amount) AS c, sum(amount) AS s FROM ev GROUP BY 1, 2
),
tumble_1h_closing AS (
  SELECT user_id, ws + {H} + {H} AS we FROM (
    SELECT user_id, ws, lead(ws) OVER (PARTITION BY user_id ORDER BY ws) AS nxt FROM tumble_1h)
  WHERE nxt IS NULL OR nxt != ws + {H}
),
slide_1h AS (
  SELECT user_id, ws, avg(amount) AS a, max(amount) AS m FROM (
    SELECT user_id, t, amount, t - pmod(t, {Q}) - k * {Q} AS ws
    FROM ev LATERAL VIEW explode(sequence(0L, 3L)) x AS k)
  WHERE ws + {H} > t GROUP BY 1, 2
),
slide_1h_closing AS (
  SELECT user_id, ws + {Q} + {H} AS we FROM (
    SELECT user_id, ws, lead(ws) OVER (PARTITION BY user_id ORDER BY ws) AS nxt FROM slide_1h)
  WHERE nxt IS NULL OR nxt != ws + {Q}
),
marked AS (
  SELECT user_id, t, amount,
         CASE WHEN prev IS NULL OR t >= prev + {GAP} THEN 1 ELSE 0 END AS new_session FROM (
    SELECT user_id, t, amount, lag(t) OVER (PARTITION BY user_id ORDER BY t) AS prev FROM ev)
),
sessions AS (
  SELECT user_id, max(t) + {GAP} AS we, sum(amount) AS s, count(amount) AS c FROM (
    SELECT user_id, t, amount,
           sum(new_session) OVER (PARTITION BY user_id ORDER BY t ROWS UNBOUNDED PRECEDING) AS sid FROM marked)
  GROUP BY user_id, sid
),
tumble_1d AS (
  SELECT user_id, t - pmod(t, {D}) AS ws, percentile_approx(amount, 0.95) AS p FROM ev GROUP BY 1, 2
),
tumble_1d_closing AS (
  SELECT user_id, ws + {D} + {D} AS we FROM (
    SELECT user_id, ws, lead(ws) OVER (PARTITION BY user_id ORDER BY ws) AS nxt FROM tumble_1d)
  WHERE nxt IS NULL OR nxt != ws + {D}
),
window_rows AS (
  SELECT user_id, ws + {H} AS we, named_struct('v', c) AS f1, named_struct('v', s) AS f2,
         NULL AS f3, NULL AS f4, NULL AS f5, NULL AS f6, NULL AS f7 FROM tumble_1h
  UNION ALL
  SELECT user_id, we, named_struct('v', 0L), named_struct('v', CAST(NULL AS DOUBLE)),
         NULL, NULL, NULL, NULL, NULL FROM tumble_1h_closing
  UNION ALL
  SELECT user_id, ws + {H}, NULL, NULL, named_struct('v', a), named_struct('v', m), NULL, NULL, NULL FROM slide_1h
  UNION ALL
  SELECT user_id, we, NULL, NULL, named_struct('v', CAST(NULL AS DOUBLE)), named_struct('v', CAST(NULL AS DOUBLE)),
         NULL, NULL, NULL FROM slide_1h_closing
  UNION ALL
  SELECT user_id, we, NULL, NULL, NULL, NULL, named_struct('v', s), named_struct('v', c), NULL FROM sessions
  UNION ALL
  SELECT user_id, ws + {D}, NULL, NULL, NULL, NULL, NULL, NULL, named_struct('v', p) FROM tumble_1d
  UNION ALL
  SELECT user_id, we, NULL, NULL, NULL, NULL, NULL, NULL, named_struct('v', CAST(NULL AS DOUBLE))
  FROM tumble_1d_closing
),
merged AS (
  SELECT user_id, we, first(f1, true) AS f1, first(f2, true) AS f2, first(f3, true) AS f3, first(f4, true) AS f4,
         first(f5, true) AS f5, first(f6, true) AS f6, first(f7, true) AS f7
  FROM window_rows GROUP BY user_id, we
),
filled AS (
  SELECT user_id, we, last(f1, true) OVER w AS f1, last(f2, true) OVER w AS f2, last(f3, true) OVER w AS f3,
         last(f4, true) OVER w AS f4, last(f5, true) OVER w AS f5, last(f6, true) OVER w AS f6,
         last(f7, true) OVER w AS f7
  FROM merged WINDOW w AS (PARTITION BY user_id ORDER BY we ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT user_id, timestamp_micros(we) AS event_ts, f1.v AS amount_count_1h, f2.v AS amount_sum_1h,
       f3.v AS amount_avg_1h_every_15m, f4.v AS amount_max_1h_every_15m, f5.v AS amount_sum_session_30m,
       f6.v AS amount_count_session_30m, f7.v AS amount_p95_1d
FROM filled WHERE we >= {{lo}} AND we < {{hi}}
"""

# Functions the backfill calls through their module (a global looked up at call time, or a ``from module import
# name`` inside a function), so that a timed wrapper set on the module is what runs. A name missing from its
# module (renamed) is reported as null.
INNER_STEPS = {
    "transform_and_count_s": ("aquifer.engines.spark.job", "feature_rows"),
    "events_and_count_s": ("aquifer.engines.spark.aggregate", "_events"),
    "statistics_s": ("aquifer.engines.spark.statistics", "stored_statistics"),
    "write_spark_s": ("aquifer.stores.offline.writer", "write_range"),
    "swap_s": ("aquifer.stores.offline.writer", "swap_in"),
}


def log(message: str) -> None:
    """Progress on stderr (stdout is the JSON document)."""
    print(f"[batch {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def write_events(path: Path, n: int, days: int, users: int, seed: int = 42) -> None:
    """``n`` events of ``users`` users over ``days`` days, unique per (user, event time), as one Parquet file."""
    rng = np.random.default_rng(seed)
    span = days * 86_400_000_000
    user_id = rng.integers(1, users + 1, n).astype("int64")
    micros = rng.integers(0, span, n)
    while True:  # no (user, time) twice: the product's dedupe keeps every row, so the floors match it
        _, first, counts = np.unique(user_id * span + micros, return_index=True, return_counts=True)
        if (counts == 1).all():
            break
        again = np.setdiff1d(np.arange(n), first)
        micros[again] = rng.integers(0, span, again.size)
    order = np.argsort(micros, kind="stable")
    user_id, micros = user_id[order], micros[order]
    ts = np.datetime64(START.replace(tzinfo=None), "us") + micros.astype("timedelta64[us]")
    table = pa.table({
        "user_id": user_id,
        "amount": np.round(rng.lognormal(3.5, 1.2, n), 2),
        "event_ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "ingested_at": pa.array(ts + np.timedelta64(60, "s"), pa.timestamp("us", tz="UTC")),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=1_000_000)


def make_repo(root: Path, data: Path, master: str, batch: str = "", statistics: bool = True) -> None:
    """A fresh repo at ``root`` (own registry and offline store) whose ``data`` links to the folder ``data``;
    ``batch`` is the body of a ``batch:`` mapping in ``aquifer.yaml`` (e.g. ``sliding_windows: tiles``);
    ``statistics=False`` writes ``quality: {statistics: false}``."""
    root.mkdir(parents=True)
    (root / "data").symlink_to(data, target_is_directory=True)
    (root / "features.py").write_text(FEATURES)
    conf = ", ".join(f"{k}: {v}" for k, v in SPARK_CONF.items())
    extra = f"batch: {{{batch}}}\n" if batch else ""
    extra += "" if statistics else "quality: {statistics: false}\n"
    (root / "aquifer.yaml").write_text(
        f"project: bench\nregistry: sqlite:///{root}/registry.db\noffline_store: {{path: {root}/offline}}\n"
        f'spark: {{master: "{master}", conf: {{{conf}}}}}\n{extra}'
    )


class SparkActions:
    """With ``--actions``: every Spark action a backfill runs (DataFrame count / first / collect / toArrow /
    toPandas, writer save / parquet), with the product line that called it and its seconds. Actions on
    other threads (the statistics job) overlap the others."""

    TARGETS = (("pyspark.sql.classic.dataframe", "DataFrame", ("count", "first", "collect", "toArrow", "toPandas")),
               ("pyspark.sql.readwriter", "DataFrameWriter", ("save", "parquet")))

    def __init__(self) -> None:
        self.on = False
        self.records: list[dict[str, Any]] = []
        self.local = threading.local()  # per thread: the statistics job runs beside the write

    def install(self) -> None:
        """Wrap the actions (a class missing in this pyspark is skipped)."""
        self.on = True
        for module_name, class_name, methods in self.TARGETS:
            try:
                cls = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError):
                continue
            for method in methods:
                if hasattr(cls, method):
                    setattr(cls, method, self._timed(method, getattr(cls, method)))

    def _timed(self, action: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(self.local, "inside", False):  # an action calling another (parquet -> save): the outer one
                return fn(*args, **kwargs)
            self.local.inside = True
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.local.inside = False
                self.records.append({"action": action, "at": _caller(), "seconds": round(time.perf_counter()
                                                                                         - began, 2)})

        return timed

    def take(self) -> list[dict[str, Any]]:
        """The actions recorded since the last call."""
        out, self.records = self.records, []
        return out


def _caller() -> str:
    """The innermost product frame (``aquifer/...:line function``) of the current stack."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/aquifer/" in frame.filename and "/pyspark/" not in frame.filename:
            return f"{frame.filename.split('/aquifer/')[-1]}:{frame.lineno} {frame.name}"
    return "?"


INNER = InnerTimes(INNER_STEPS)
ACTIONS = SparkActions()


def run_product(root: Path, view: str, end: datetime) -> dict[str, Any]:
    """One timed ``backfill`` of ``view`` over ``[START, end)`` in the repo at ``root``."""
    from aquifer.engines.spark.batch import SparkBatchEngine
    from aquifer.runs.batch import backfill
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(root)
    try:
        assert not store.repo.errors, store.repo.errors
        made: list[TimedEngine] = []

        def build(s: Any, now: datetime) -> TimedEngine:
            made.append(TimedEngine(SparkBatchEngine(s, now)))
            return made[-1]

        recorded = RecordedAt()
        INNER.reset()
        ACTIONS.take()
        began = time.perf_counter()
        summary = backfill(store, view, START, end, listeners=[recorded, *store.catalog_listeners()],
                           engine_for=build)
        seconds = time.perf_counter() - began
        result = summary[view]
        if result.status != "succeeded":
            raise RuntimeError(f"{view}: {result.error}")
        marks = made[0].marks
        out: dict[str, Any] = {
            "seconds": round(seconds, 2), "rows_in": result.rows_in, "rows_out": result.rows_out,
            "rows_per_s": round(result.rows_in / seconds), "ranges": len(result.ranges),
            "phases": phases(marks, began, recorded.at, INNER),
        }
        if ACTIONS.on:
            out["spark_actions"] = ACTIONS.take()
        return out
    finally:
        store.close()


def run_floor(spark: Any, data_file: Path, out: Path, sql: str, by_day: bool = False,
              same_work: bool = False) -> dict[str, Any]:
    """One timed floor: read the file, run ``sql`` over it (table ``floor_events``), write Parquet to ``out``;
    ``by_day``: one folder per UTC day of ``event_ts``, one file per day, as the offline store lays rows out;
    ``same_work``: by day, after keeping the newest row of each (user, event time), each day sorted by them."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    began = time.perf_counter()
    spark.read.parquet(str(data_file)).createOrReplaceTempView("floor_events")
    frame = spark.sql(sql)
    if by_day or same_work:
        day = F.date_format("event_ts", "yyyy-MM-dd")
        if same_work:
            newest = Window.partitionBy("user_id", "event_ts").orderBy(F.col("ingested_at").desc())
            frame = frame.withColumn("rank", F.row_number().over(newest)).where("rank = 1").drop("rank")
        frame = frame.repartition(day).withColumn("event_date", day)
        if same_work:
            frame = frame.sortWithinPartitions("event_date", "user_id", "event_ts")
        frame.write.mode("overwrite").partitionBy("event_date").parquet(str(out))
    else:
        frame.write.mode("overwrite").parquet(str(out))
    seconds = time.perf_counter() - began
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in out.glob("**/*.parquet"))  # footers: untimed
    return {"seconds": round(seconds, 2), "rows_out": rows}


def floor_aggregations_sql(end: datetime) -> str:
    """``FLOOR_AGGREGATIONS`` keeping window ends in ``[START, end)``."""
    lo, hi = (int(x.timestamp()) * 1_000_000 for x in (START, end))
    return FLOOR_AGGREGATIONS.replace("{lo}", str(lo)).replace("{hi}", str(hi))


WINDOWS_FEATURES = ["amount_count_1h", "amount_sum_1h", "amount_avg_1h_every_15m", "amount_max_1h_every_15m",
                    "amount_sum_session_30m", "amount_count_session_30m", "amount_p95_1d"]
SLIDES_FEATURES = [f"amount_{f}_1d_every_5m" for f in ("count", "sum", "min", "max", "avg", "p95", "stddev_pop")]


def compare_outputs(spark: Any, left: Path, right: Path, features: list[str]) -> dict[str, Any]:
    """Untimed: two outputs (Parquet folders) joined on (user, event time); per feature, the rows where they
    differ: one side null and not the other, or values further apart than 1e-9 relative (a double sum's order may
    differ; counts, min and max are then equal). A row missing on one side counts for every feature."""
    from pyspark.sql import functions as F

    a_side = spark.read.parquet(str(left)).select("user_id", "event_ts", *[F.col(c).alias(f"a_{c}") for c in features])
    b_side = spark.read.parquet(str(right)).select("user_id", "event_ts", *[F.col(c).alias(f"b_{c}") for c in features])
    joined = a_side.withColumn("__a", F.lit(1)).join(b_side.withColumn("__b", F.lit(1)), ["user_id", "event_ts"],
                                                     "full_outer")
    aggs = [F.count(F.lit(1)).alias("rows"), F.count("__a").alias("left"), F.count("__b").alias("right")]
    for c in features:
        a, b = F.col(f"a_{c}"), F.col(f"b_{c}")
        close = F.abs(a - b) <= F.lit(1e-9) * F.greatest(F.abs(a), F.abs(b), F.lit(1.0))
        same = F.when(a.isNull() & b.isNull(), True).when(a.isNull() | b.isNull(), False).otherwise(close)
        aggs.append(F.sum((~same | F.col("__a").isNull() | F.col("__b").isNull()).cast("int")).alias(c))
    row = joined.agg(*aggs).first().asDict()
    counts = {k: int(row.pop(k) or 0) for k in ("rows", "left", "right")}
    return {"rows_compared": counts["rows"], "rows_left": counts["left"], "rows_right": counts["right"],
            "mismatches": {k: int(v or 0) for k, v in row.items()}}


def warm_up(tmp: Path, master: str) -> None:
    """Untimed: both views and both floors on 20k events (JIT, class loading, Python workers)."""
    from aquifer.engines.spark.session import get_spark

    spark = get_spark(master, SPARK_CONF)
    data = tmp / "warm-data"
    write_events(data / "events.parquet", 20_000, 2, 100, seed=1)
    make_repo(tmp / "warm", data, master)
    end = START + timedelta(days=2)
    for view in ("spend", "windows"):
        run_product(tmp / "warm", view, end)
    run_floor(spark, data / "events.parquet", tmp / "warm-floor-sql", FLOOR_SQL)
    run_floor(spark, data / "events.parquet", tmp / "warm-floor-agg", floor_aggregations_sql(end))
    for name in ("warm", "warm-data", "warm-floor-sql", "warm-floor-agg"):
        shutil.rmtree(tmp / name, ignore_errors=True)


def bench_size(n: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Both views and both floors on ``n`` events (best of ``args.repeat``, alternating)."""
    from aquifer.engines.spark.session import get_spark

    spark = get_spark(args.master, SPARK_CONF)
    users = max(n // 200, 2)
    data = tmp / f"data-{n}"
    log(f"writing {n:,} events of {users:,} users over {args.days} days")
    write_events(data / "events.parquet", n, args.days, users)
    end = START + timedelta(days=args.days)
    out: dict[str, Any] = {"events": n, "users": users, "days": args.days,
                           "parquet_mb": round((data / "events.parquet").stat().st_size / 2**20, 1)}
    floors = {"spend": ("floor_sql", "floor_sql_by_day", "floor_sql_same_work"), "windows": ("floor_aggregations",)}
    runs: dict[str, list[dict[str, Any]]] = {k: [] for v in args.views for k in (v, *floors[v])}
    keep = Path(args.keep) if args.keep else None
    for i in range(args.repeat):
        root = tmp / f"repo-{n}-{i}"
        make_repo(root, data, args.master, batch=batch_settings(args), statistics=args.statistics)
        for view, floor, sql in (("spend", "floor_sql", FLOOR_SQL),
                                 ("windows", "floor_aggregations", floor_aggregations_sql(end))):
            if view not in args.views:
                continue
            runs[view].append(run_product(root, view, end))
            log(f"{n:,} run {i + 1}/{args.repeat} {view}: {runs[view][-1]['seconds']} s "
                f"{runs[view][-1]['phases']}")
            runs[floor].append(run_floor(spark, data / "events.parquet", tmp / f"{floor}-{n}-{i}", sql))
            log(f"{n:,} run {i + 1}/{args.repeat} {floor}: {runs[floor][-1]['seconds']} s")
            if view == "spend":
                for name, how in (("floor_sql_by_day", {"by_day": True}), ("floor_sql_same_work", {"same_work": True})):
                    runs[name].append(run_floor(spark, data / "events.parquet", tmp / f"{name}-{n}-{i}", sql, **how))
                    log(f"{n:,} run {i + 1}/{args.repeat} {name}: {runs[name][-1]['seconds']} s")
                    shutil.rmtree(tmp / f"{name}-{n}-{i}", ignore_errors=True)
        if i == args.repeat - 1:
            from aquifer.stores.offline.layout import view_path

            if "windows" in args.views:  # the floor is the oracle: product (left) against floor (right)
                product_dir = view_path(root / "offline", "bench", "windows")
                out["check_aggregations"] = compare_outputs(spark, product_dir,
                                                            tmp / f"floor_aggregations-{n}-{i}", WINDOWS_FEATURES)
            if keep is not None:
                for name in args.views:
                    shutil.copytree(view_path(root / "offline", "bench", name), keep / f"{n}" / name)
                for floor in (floors[v][0] for v in args.views):
                    shutil.copytree(tmp / f"{floor}-{n}-{i}", keep / f"{n}" / floor)
        shutil.rmtree(root, ignore_errors=True)
        for floor in ("floor_sql", "floor_aggregations"):
            shutil.rmtree(tmp / f"{floor}-{n}-{i}", ignore_errors=True)
    for key, results in runs.items():
        best = min(results, key=lambda r: r["seconds"])
        out[key] = {**best, "runs_s": [r["seconds"] for r in results]}
        if key.startswith("floor"):
            out[key]["rows_per_s"] = round(n / best["seconds"])
    if "spend" in runs:
        out["ratio_sql"] = round(out["spend"]["seconds"] / out["floor_sql"]["seconds"], 2)
        out["ratio_sql_vs_by_day"] = round(out["spend"]["seconds"] / out["floor_sql_by_day"]["seconds"], 2)
        out["ratio_sql_vs_same_work"] = round(out["spend"]["seconds"] / out["floor_sql_same_work"]["seconds"], 2)
    if "windows" in runs:
        out["ratio_aggregations"] = round(out["windows"]["seconds"] / out["floor_aggregations"]["seconds"], 2)
    out["target_ratio_sql"], out["target_ratio_aggregations"] = TARGET_SQL, TARGET_AGGREGATIONS
    shutil.rmtree(data, ignore_errors=True)
    return out


def batch_settings(args: argparse.Namespace, *more: str) -> str:
    """The body of the repos' ``batch:`` mapping: ``--sliding-windows`` (for ``windows``) and ``more``."""
    plan = [f"sliding_windows: {args.sliding_windows}"] if args.sliding_windows and not more else []
    return ", ".join([*plan, *more])


def bench_sliding(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """``slides`` backfilled with ``sliding_windows: explode`` and with ``tiles``, each in a fresh repo."""
    n, users = args.sliding_events, args.sliding_users
    data = tmp / "data-sliding"
    log(f"sliding: writing {n:,} events of {users:,} users over {args.days} days")
    write_events(data / "events.parquet", n, args.days, users, seed=7)
    end = START + timedelta(days=args.days)
    out: dict[str, Any] = {"events": n, "users": users, "days": args.days, "window": "Sliding('1d', every='5m')",
                           "aggregations": ["count", "sum", "min", "max", "avg", "p95", "stddev_pop"]}
    from aquifer.engines.spark.session import get_spark
    from aquifer.stores.offline.layout import view_path

    for plan in ("explode", "tiles"):
        root = tmp / f"repo-sliding-{plan}"
        make_repo(root, data, args.master, batch=batch_settings(args, f"sliding_windows: {plan}"),
                  statistics=args.statistics)
        out[plan] = run_product(root, "slides", end)
        log(f"sliding {plan}: {out[plan]['seconds']} s {out[plan]['phases']}")
    out["ratio_explode_vs_tiles"] = round(out["explode"]["seconds"] / out["tiles"]["seconds"], 2)
    out["same_rows"] = out["explode"]["rows_out"] == out["tiles"]["rows_out"]
    # untimed: the two plans' values (windows of fewer than 200 values: the KLL sketch is exact there)
    out["check_plans"] = compare_outputs(get_spark(args.master, SPARK_CONF),
                                         *(view_path(tmp / f"repo-sliding-{plan}" / "offline", "bench", "slides")
                                           for plan in ("explode", "tiles")), SLIDES_FEATURES)
    for plan in ("explode", "tiles"):
        shutil.rmtree(tmp / f"repo-sliding-{plan}", ignore_errors=True)
    out["target_ratio"] = TARGET_SLIDING
    shutil.rmtree(data, ignore_errors=True)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``--quick`` sets 100k events, one run, and the sliding case on 20k events."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", help="comma-separated event counts (default 1000000; --quick 100000; "
                        "none: only the sliding case)")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--views", default="spend,windows", help="the views benched, each beside its floor "
                        "(comma-separated: spend, windows)")
    parser.add_argument("--repeat", type=int, help="runs of each view and floor, alternating; the best counts "
                        "(default 2: the first also warms the JVM at this size; --quick 1)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--sliding", action="store_true", help="also the sliding case (explode vs tiles)")
    parser.add_argument("--sliding-events", type=int, help="events of the sliding case (default 1M; --quick 20k)")
    parser.add_argument("--sliding-users", type=int, help="users of the sliding case (default 100: busy entities, "
                        "about 1,400 events a day each; --quick 100)")
    parser.add_argument("--actions", action="store_true", help="list every Spark action of each backfill")
    parser.add_argument("--no-statistics", dest="statistics", action="store_false",
                        help="product repos with quality: {statistics: false} (where time goes)")
    parser.add_argument("--sliding-windows", choices=("tiles", "explode"),
                        help="batch.sliding_windows for the windows view (default: the product's default)")
    parser.add_argument("--keep", help="copy the last run's outputs (views and floors) under this folder")
    parser.add_argument("--quick", action="store_true", help="a smoke run (with the sliding case)")
    args = parser.parse_args(argv)
    args.views = [v for v in args.views.split(",") if v]
    unknown = sorted(set(args.views) - {"spend", "windows"})
    if unknown or not args.views:
        parser.error(f"--views: spend and/or windows, not {','.join(unknown) or 'nothing'}")
    args.sizes = args.sizes or ("100000" if args.quick else "1000000")
    args.repeat = args.repeat or (1 if args.quick else 2)
    args.sliding = args.sliding or args.quick
    args.sliding_events = args.sliding_events or (20_000 if args.quick else 1_000_000)
    args.sliding_users = args.sliding_users or 100
    return args


def main() -> None:
    """Command-line entry point: prints JSON."""
    args = parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    load_start = os.getloadavg()
    began = time.perf_counter()
    from aquifer.engines.spark.session import get_spark

    spark = get_spark(args.master, SPARK_CONF)
    INNER.install()
    if args.actions:
        ACTIONS.install()
    tmp = Path(tempfile.mkdtemp(prefix="aquifer-bench-batch-"))
    try:
        if not args.quick:  # a smoke run's figures are not compared: the warm-up would only cost its time
            log("warm-up")
            warm_up(tmp, args.master)
        sizes = [] if args.sizes == "none" else args.sizes.split(",")
        results = [bench_size(int(s), args, tmp) for s in sizes]
        sliding = bench_sliding(args, tmp) if args.sliding else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    doc: dict[str, Any] = {
        "benchmark": "batch", "quick": args.quick, "master": args.master, "spark": spark.version,
        "cpus": os.cpu_count(), "spark_cores": spark.sparkContext.defaultParallelism,
        "python": platform.python_version(), "statistics": args.statistics,
        "sliding_windows": args.sliding_windows or "default",
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "total_s": round(time.perf_counter() - began, 1),
        "results": results,
    }
    if sliding is not None:
        doc["sliding"] = sliding
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
