"""Batch throughput: events/s of a SQL view and of an aggregation view (tumbling, sliding, session windows).

``python bench/batch.py --sizes 1000000,10000000 [--master local[2]] [--days 7]`` prints one JSON document.
Each size gets a fresh tmp repo; each view is computed by one ``backfill`` over the whole data range, timed
end to end (reading the source, computing, writing Parquet, updating the ledger). The Spark session starts
before timing begins.
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
'''


def make_repo(root: Path, n: int, days: int, master: str) -> None:
    """A repo with ``n`` events over ``days`` days (n / 200 users) at ``root``."""
    rng = np.random.default_rng(42)
    seconds = np.sort(rng.integers(0, days * 86400, n))
    ts = np.datetime64(START.replace(tzinfo=None), "us") + seconds.astype("timedelta64[s]")
    table = pa.table({
        "user_id": rng.integers(1, max(n // 200, 2), n).astype("int64"),
        "amount": np.round(rng.lognormal(3.5, 1.2, n), 2),
        "event_ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "ingested_at": pa.array(ts + np.timedelta64(60, "s"), pa.timestamp("us", tz="UTC")),
    })
    (root / "data").mkdir(parents=True)
    pq.write_table(table, root / "data" / "events.parquet", row_group_size=1_000_000)
    (root / "features.py").write_text(FEATURES)
    (root / "aquifer.yaml").write_text(
        f"project: bench\nregistry: sqlite:///{root}/reg.db\noffline_store: {{path: {root}/offline}}\n"
        f'spark: {{master: "{master}", conf: {{spark.driver.memory: 4g, spark.sql.shuffle.partitions: 8}}}}\n'
    )


def bench_size(n: int, days: int, master: str) -> dict:
    """Time both views on ``n`` events; returns their rows/s."""
    from aquifer.sdk.store import FeatureStore

    root = Path(tempfile.mkdtemp(prefix="aquifer-bench-"))
    try:
        make_repo(root, n, days, master)
        store = FeatureStore(root)
        end = START + timedelta(days=days)
        out = {"events": n, "days": days}
        for view in ("spend", "windows"):
            began = time.perf_counter()
            summary = store.backfill(view, START, end)
            seconds = time.perf_counter() - began
            result = summary[view]
            if result.status != "succeeded":
                raise RuntimeError(result.error)
            out[view] = {"seconds": round(seconds, 2), "rows_in": result.rows_in, "rows_out": result.rows_out,
                         "rows_per_s": round(result.rows_in / seconds)}
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """Command-line entry point: prints JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000", help="comma-separated event counts")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from aquifer.engines.spark.session import get_spark

    get_spark(args.master, {"spark.driver.memory": "4g", "spark.sql.shuffle.partitions": "8"})
    results = [bench_size(int(s), args.days, args.master) for s in args.sizes.split(",")]
    print(json.dumps({"benchmark": "batch", "master": args.master, "cpus": os.cpu_count(),
                      "python": platform.python_version(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
