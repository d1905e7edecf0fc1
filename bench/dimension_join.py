"""As-of and snapshot joins of a SQL view against the same join written as bare Spark SQL (the floor).

``python bench/dimension_join.py [--rows 1000000] [--versions 3] [--quick] [--master local[2]]`` prints one
JSON document. A tmp repo holds ``rows`` transactions over 7 days (``rows / 200`` users), a time-versioned
users table (``versions`` tier changes per user, from a year before the range into it) and a snapshot of
segments. The view ``enriched`` is computed by one ``backfill`` over the range, end to end (reading,
``ASOF LEFT JOIN`` + ``LEFT JOIN``, checks, writing Parquet, the ledger). The floor reads the same Parquet
in the same session and writes Parquet with the hand-written validity-interval join (``LEAD`` over the
users' versions, an equi-join with the interval condition): what the view costs beyond that is aquifer's.
``plain``, the same transactions without the joins through the same pipeline, tells the joins' share.
Both outputs hold the same keys and times (checked; a view keeps one row per key and time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 7

FEATURES = '''
from aquifer import BatchSource, Entity, FeatureView, Field, sql
from aquifer.types import Float64, Int64, String

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
transactions = BatchSource("transactions", path="data/transactions.parquet")
users = BatchSource("users", path="data/users.parquet", created_timestamp_field="updated_at")
segments = BatchSource("segments", path="data/segments.parquet", timestamp_field=None)
enriched = FeatureView(
    "enriched", entities=[user],
    transform=sql("""
        SELECT t.user_id, t.event_ts, t.amount, u.tier, s.segment
        FROM {transactions} t
        ASOF LEFT JOIN {users} u ON u.user_id = t.user_id AND u.event_ts <= t.event_ts
        LEFT JOIN {segments} s ON s.user_id = t.user_id
    """),
    schema=[Field("amount", Float64), Field("tier", String), Field("segment", String)],
)
plain = FeatureView(  # the same rows without the joins: what the pipeline costs on its own
    "plain", entities=[user], transform=sql("SELECT user_id, event_ts, amount FROM {transactions}"),
    schema=[Field("amount", Float64)],
)
'''

FLOOR = """
SELECT t.user_id, t.event_ts, t.amount, u.tier, s.segment
FROM tx t
LEFT JOIN (SELECT *, LEAD(event_ts) OVER (PARTITION BY user_id ORDER BY event_ts) AS valid_to FROM us) u
  ON u.user_id = t.user_id AND u.event_ts <= t.event_ts AND (u.valid_to IS NULL OR t.event_ts < u.valid_to)
LEFT JOIN sg s ON s.user_id = t.user_id
"""


def make_repo(root: Path, rows: int, versions: int, master: str) -> int:
    """The repo's files; returns the number of users."""
    rng = np.random.default_rng(17)
    users = max(rows // 200, 2)
    data = root / "data"
    data.mkdir(parents=True)
    seconds = np.sort(rng.integers(0, DAYS * 86400, rows))
    base = np.datetime64(START.replace(tzinfo=None), "us")
    pq.write_table(pa.table({
        "user_id": rng.integers(1, users + 1, rows).astype("int64"),
        "amount": np.round(rng.lognormal(3.5, 1.2, rows), 2),
        "event_ts": pa.array(base + seconds.astype("timedelta64[s]"), pa.timestamp("us", tz="UTC")),
    }), data / "transactions.parquet")
    ids = np.repeat(np.arange(1, users + 1), versions)
    offsets = rng.integers(-365 * 86400, DAYS * 86400, len(ids))  # a year before the range into it
    times = base + offsets.astype("timedelta64[s]")
    pq.write_table(pa.table({
        "user_id": ids.astype("int64"),
        "tier": rng.choice(["bronze", "silver", "gold"], len(ids)),
        "event_ts": pa.array(times, pa.timestamp("us", tz="UTC")),
        "updated_at": pa.array(times, pa.timestamp("us", tz="UTC")),
    }), data / "users.parquet")
    pq.write_table(pa.table({"user_id": np.arange(1, users + 1, dtype="int64"),
                             "segment": rng.choice(["a", "b", "c", "d"], users)}), data / "segments.parquet")
    (root / "features.py").write_text(FEATURES)
    (root / "aquifer.yaml").write_text(
        f"project: bench\nregistry: sqlite:///{root}/reg.db\noffline_store: {{path: {root}/offline}}\n"
        f"spark: {{master: \"{master}\", conf: {{spark.sql.shuffle.partitions: \"8\"}}}}\n"
        f"quality: {{statistics: false}}\n"
    )
    return users


def floor(spark, root: Path, out: Path) -> tuple[float, int]:
    """The same join as bare Spark SQL over the same files, written as Parquet; seconds and the distinct
    ``(user_id, event_ts)`` written (a view keeps one row per key and time)."""
    from pyspark.sql import functions as F

    began = time.perf_counter()
    end = START + timedelta(days=DAYS)
    data = root / "data"
    tx = spark.read.parquet(str(data / "transactions.parquet"))
    tx.where((F.col("event_ts") >= F.lit(START)) & (F.col("event_ts") < F.lit(end))).createOrReplaceTempView("tx")
    spark.read.parquet(str(data / "users.parquet")).where(F.col("event_ts") < F.lit(end)).createOrReplaceTempView("us")
    spark.read.parquet(str(data / "segments.parquet")).createOrReplaceTempView("sg")
    spark.sql(FLOOR).write.mode("overwrite").parquet(str(out))
    seconds = time.perf_counter() - began
    return seconds, spark.read.parquet(str(out)).select("user_id", "event_ts").distinct().count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--quick", action="store_true", help="200,000 rows")
    args = parser.parse_args()
    rows = 200_000 if args.quick else args.rows
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from aquifer.engines.spark.session import spark_for
    from aquifer.sdk.store import FeatureStore

    root = Path(tempfile.mkdtemp(prefix="aquifer-bench-dims-"))
    try:
        users = make_repo(root, rows, args.versions, args.master)
        store = FeatureStore(root)
        spark = spark_for(store.config)
        floor(spark, root, root / "warmup")  # JIT and file listing caches warm for both
        store.backfill("plain", START, START + timedelta(days=1))  # aquifer's own first-use costs (registry, ...)
        began = time.perf_counter()
        summary = store.backfill("enriched", START, START + timedelta(days=DAYS))
        view_s = time.perf_counter() - began
        written = sum(r.rows_out for v in summary.views for r in v.ranges)
        floor_s, floor_rows = floor(spark, root, root / "floor")
        began = time.perf_counter()
        store.backfill("plain", START, START + timedelta(days=DAYS))
        plain_s = time.perf_counter() - began
        assert written == floor_rows, (written, floor_rows)
        print(json.dumps({
            "bench": "dimension_join", "rows": rows, "users": users, "versions_per_user": args.versions,
            "master": args.master, "cpus": os.cpu_count(), "python": platform.python_version(),
            "view": {"seconds": round(view_s, 2), "rows_per_s": round(rows / view_s)},
            "floor_bare_spark": {"seconds": round(floor_s, 2), "rows_per_s": round(rows / floor_s)},
            "view_over_floor": round(view_s / floor_s, 2),
            "view_without_joins": {"seconds": round(plain_s, 2), "rows_per_s": round(rows / plain_s)},
            "joins_cost_in_view_s": round(view_s - plain_s, 2),
        }, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
