"""Empty ranges: a source whose only week of data lies two years back, run with and without skipping.

Prints one JSON document (progress goes to stderr). A feature repo holds ``--rows`` transactions (default
200k) in one week two years before now, written with ``DataFrame.to_parquet``'s defaults, and two views: a
SQL ``FeatureView`` and an ``AggregationView`` (tumbling 1h count and sum). In one Spark session (warmed by an
untimed run), each on a fresh offline store and registry:

- ``skipping``: ``aquifer run`` as it is: batches are trimmed to the days the sources' footers show rows in
  (``planning.empty``), the rest recorded as done without computing;
- ``walking``: the same run with the engine's ``data_extent`` hidden (what a run did before: every monthly
  batch from the first event to now is computed);
- ``floor``: bare Spark SQL doing the SQL view's work: read the Parquet, select, write Parquet partitioned by
  day.

Each reports its seconds, the computed ranges per view, and where the time went (``phases``: planning, and per
view compute and write, timed by an engine wrapper; ``inside compute``: the eager steps, see
``time_inner_steps``). ``sql_view_over_floor`` compares the SQL view's compute + write with the floor.

Usage::

    .venv/bin/python bench/empty_ranges.py            # 200k rows
    .venv/bin/python bench/empty_ranges.py --rows 20000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CODE = """
from aquifer import Aggregation, AggregationView, BatchSource, Entity, FeatureView, Field, Tumbling, sql
from aquifer.types import Bool, Float64, Int64, String

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts")
spend = FeatureView("spend", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount, amount > 1000 AS is_large, country FROM {transactions}"),
    schema=[Field("amount", Float64), Field("is_large", Bool), Field("country", String)])
hourly = AggregationView("hourly", entities=[user], source=transactions, aggregations=[
    Aggregation("amount", "count", Tumbling("1h")), Aggregation("amount", "sum", Tumbling("1h"))])
"""


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def make_repo(root: Path, data: Path) -> Path:
    """A fresh repo folder (own registry and offline store) whose data is ``data``."""
    root.mkdir(parents=True)
    (root / "aquifer.yaml").write_text(textwrap.dedent(f"""
        project: bench
        registry: sqlite:///{root}/reg.db
        offline_store: {{path: {root}/offline}}
        batch: {{start: "2020-01-01T00:00:00+00:00", default_lateness: 1h}}
        quality: {{statistics: false}}
    """))
    (root / "features.py").write_text(textwrap.dedent(CODE))
    (root / "data").mkdir()
    (root / "data" / "transactions.parquet").symlink_to(data)
    return root


class Timed:
    """An engine wrapper timing each step; ``hide_extent`` makes the run walk every batch (the old plan)."""

    def __init__(self, inner: Any, hide_extent: bool):
        self.inner, self.name = inner, inner.name
        self.phases: dict[str, float] = defaultdict(float)
        self.ranges: dict[str, list[str]] = defaultdict(list)
        if not hide_extent:
            self.data_extent = self._extent

    def _extent(self, view: Any) -> Any:
        began = time.perf_counter()
        try:
            return self.inner.data_extent(view)
        finally:
            self.phases["plan: footer extent"] += time.perf_counter() - began

    def first_event_day(self, view: Any) -> Any:
        began = time.perf_counter()
        try:
            return self.inner.first_event_day(view)
        finally:
            self.phases["plan: first event (Spark)"] += time.perf_counter() - began

    def compute_range(self, view: Any, start: datetime, end: datetime) -> Any:
        began = time.perf_counter()
        try:
            return self.inner.compute_range(view, start, end)
        finally:
            self.phases[f"{view.name}: compute"] += time.perf_counter() - began
            self.ranges[view.name].append(f"{start:%Y-%m-%d}..{end:%Y-%m-%d}")

    def write_range(self, computed: Any) -> Any:
        began = time.perf_counter()
        try:
            return self.inner.write_range(computed)
        finally:
            self.phases[f"{computed.view.name}: write"] += time.perf_counter() - began

    def explain(self, exc: BaseException) -> str | None:
        return self.inner.explain(exc)


INNER: dict[str, float] = defaultdict(float)


def time_inner_steps() -> None:
    """Wrap the eager steps inside compute: the view's rows with the input count (a Spark job of its own),
    and the aggregation's rows; the rest of ``compute`` is the cache and the hygiene counts."""
    from aquifer.engines.spark import aggregate, job

    def wrap(module: Any, name: str, label: str) -> None:
        real = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                INNER[label] += time.perf_counter() - began

        setattr(module, name, timed)

    wrap(job, "feature_rows", "feature view: read + count input rows")
    wrap(aggregate, "aggregation_rows", "aggregation view: history + windows + count")


def timed_run(root: Path, hide_extent: bool) -> dict[str, Any]:
    from aquifer.engines.spark.batch import SparkBatchEngine
    from aquifer.runs.batch import run
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(root)
    engines: list[Timed] = []

    def build(store: Any, now: datetime) -> Timed:
        engines.append(Timed(SparkBatchEngine(store, now), hide_extent))
        return engines[-1]

    INNER.clear()
    began = time.perf_counter()
    summary = run(store, engine_for=build)
    seconds = time.perf_counter() - began
    assert summary.ok, [v.error for v in summary.failed]
    (engine,) = engines
    phases = {k: round(v, 3) for k, v in engine.phases.items()}
    phases["other (ledger, records, events)"] = round(seconds - sum(engine.phases.values()), 3)
    phases["inside compute"] = {k: round(v, 3) for k, v in INNER.items()}
    return {"seconds": round(seconds, 3), "computed_ranges": {k: len(v) for k, v in engine.ranges.items()},
            "ranges": dict(engine.ranges), "phases": phases}


def floor(data: Path, out: Path) -> float:
    """Bare Spark SQL doing the SQL view's work on the same file."""
    from aquifer.engines.spark.session import get_spark

    spark = get_spark("local[*]", {})
    began = time.perf_counter()
    df = spark.read.parquet(str(data))
    df.createOrReplaceTempView("t")
    rows = spark.sql("SELECT user_id, timestamp_micros(div(CAST(event_ts AS BIGINT), 1000)) AS event_ts, amount, "
                     "amount > 1000 AS is_large, country FROM t")
    rows.withColumn("event_date", rows.event_ts.cast("date")).write.mode("overwrite").partitionBy(
        "event_date").parquet(str(out))
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aquifer-bench-empty-"))
    try:
        start = (datetime.now(UTC) - timedelta(days=730)).replace(hour=0, minute=0, second=0, microsecond=0)
        rng = np.random.default_rng(1)
        data = work / "transactions.parquet"
        pd.DataFrame({
            "user_id": rng.integers(1, 5_000, args.rows).astype("int64"),
            "amount": np.round(rng.lognormal(3.5, 1.2, args.rows), 2),
            "country": rng.choice(["US", "GB", "DE", "BR"], args.rows),
            "event_ts": pd.Timestamp(start) + pd.to_timedelta(rng.uniform(0, 7 * 86400, args.rows), unit="s"),
        }).to_parquet(data)
        time_inner_steps()
        log("warm-up run")
        timed_run(make_repo(work / "warm", data), hide_extent=False)
        log("skipping")
        skipping = timed_run(make_repo(work / "skip", data), hide_extent=False)
        log("walking every batch")
        walking = timed_run(make_repo(work / "walk", data), hide_extent=True)
        log("floor")
        bare = floor(data, work / "floor")
        print(json.dumps({
            "rows": args.rows, "data_week_starts": start.isoformat(),
            "skipping": skipping, "walking": walking, "floor_seconds": round(bare, 3),
            "speedup": round(walking["seconds"] / skipping["seconds"], 2),
            "sql_view_over_floor": round(sum(v for k, v in skipping["phases"].items() if k.startswith("spend:"))
                                         / bare, 2),
        }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
