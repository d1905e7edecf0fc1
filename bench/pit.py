"""Benchmark the point-in-time join: Spark (ASOF operator and window), DuckDB, and a bare DuckDB floor.

Prints one JSON document. Sizes are ``FEATURESxLABELS`` (``1Mx200k``, ``2Mx500k``: Feast's reference,
``10Mx1M``), ``dense`` (1,000 entities x 1,000 rows each, 100k labels) or ``skewed`` (2M x 500k over 200k
entities, but three entities hold half of the feature rows and a tenth of the labels).
Each case: two warm-up runs, then three timed runs (the median is ``seconds``);
peak RSS of this Python process and of the JVM is sampled every 20 ms during the timed runs.

    .venv/bin/python bench/pit.py --sizes 1Mx200k,dense
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

N_FEATURES = 10
DAYS = 30
T0 = pd.Timestamp("2024-01-01", tz="UTC")
WARMUPS, RUNS = 2, 3
FEAST_2M_500K_SECONDS = (31.0, 47.0)  # Feast Spark offline store, 2M x 500k, 10 features (issue #4)


def _count(text: str) -> int:
    return int(float(text[:-1]) * {"k": 1e3, "M": 1e6}[text[-1]]) if text[-1] in "kM" else int(text)


def make_case(root: Path, name: str) -> SimpleNamespace:
    """Write one case's feature rows in the offline layout (plus labels Parquet for the floor)."""
    from aquifer.stores.offline.partitions import mark_unique_times

    rng = np.random.default_rng(42)
    hot = 0  # entities 0..hot-1 hold half of the feature rows and a tenth of the labels (skew)
    if name == "dense":
        n_rows, n_labels, n_entities = 1_000_000, 100_000, 1_000
    elif name == "skewed":
        n_rows, n_labels, n_entities, hot = 2_000_000, 500_000, 200_000, 3
    else:
        feats, labs = name.split("x")
        n_rows, n_labels = _count(feats), _count(labs)
        n_entities = max(1, n_rows // 10)
    view_dir = root / "offline" / "bench" / "stats"
    span = DAYS * 86_400 * 1_000_000
    entity = rng.integers(0, n_entities, n_rows)
    if hot:
        entity = np.where(rng.random(n_rows) < 0.5, rng.integers(0, hot, n_rows), entity)
    # strictly increasing times: one row per (entity, event_ts), as the batch pipeline writes them
    micros = np.sort(rng.integers(0, span - n_rows, n_rows)) + np.arange(n_rows)
    ts = pa.array(T0.value // 1000 + micros, pa.timestamp("us", tz="UTC"))
    cols = {"entity_id": pa.array(entity), "event_ts": ts, "created_ts": ts}
    for i in range(N_FEATURES):
        cols[f"f{i}"] = pa.array(rng.random(n_rows))
    table = pa.table(cols)
    day = micros // (86_400 * 1_000_000)
    for d in range(DAYS):
        lo, hi = np.searchsorted(day, [d, d + 1])
        folder = view_dir / f"event_date={(T0 + pd.Timedelta(days=d)).date()}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(lo, hi - lo), folder / "part-0.parquet", coerce_timestamps="us")
        mark_unique_times(folder)  # day by day, as the batch pipeline writes (and marks) them
    labels = pd.DataFrame({
        "entity_id": rng.integers(0, int(n_entities * 1.05) + 1, n_labels),
        "event_ts": pd.to_datetime(T0.value // 1000 + rng.integers(0, span, n_labels), unit="us", utc=True),
        "y": rng.integers(0, 2, n_labels),
    })
    if hot:
        labels["entity_id"] = np.where(rng.random(n_labels) < 0.1, rng.integers(0, hot, n_labels),
                                       labels["entity_id"])
    labels.to_parquet(root / "labels.parquet", index=False, coerce_timestamps="us")
    return SimpleNamespace(name=name, root=root, view_dir=view_dir, labels=labels, n_rows=n_rows, n_labels=n_labels,
                           n_entities=n_entities)


def make_store(root: Path) -> SimpleNamespace:
    """What ``get_training_frame`` reads from a ``FeatureStore``: config, views, services."""
    from aquifer.config import load_config
    from aquifer.definitions import BatchSource, Entity, FeatureView, Field
    from aquifer.types import Float64

    (root / "aquifer.yaml").write_text("project: bench\noffline_store: {path: offline}\n")
    entity = Entity("entity", join_keys=["entity_id"])
    view = FeatureView("stats", entities=[entity], source=BatchSource("s", path="x.parquet"),
                       ttl=timedelta(days=7), schema=[Field(f"f{i}", Float64) for i in range(N_FEATURES)])
    return SimpleNamespace(config=load_config(root), views={"stats": view}, services={})


class PeakRss:
    """Samples peak RSS of this process and of its java child (the Spark JVM) while active."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.py = self.jvm = 0
        self._stop = threading.Event()

    def _java(self) -> Any:
        for child in self.me.children(recursive=True):
            if "java" in child.name():
                return child
        return None

    def _loop(self) -> None:
        java = self._java()
        while not self._stop.is_set():
            self.py = max(self.py, self.me.memory_info().rss)
            if java is not None:
                self.jvm = max(self.jvm, java.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(fn: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    """``WARMUPS`` untimed runs (JIT, caches: a notebook's second call), then ``RUNS`` timed ones.

    Reports the median (``seconds``) and every timed run; peak RSS is sampled over the timed runs.
    """
    for _ in range(WARMUPS):
        fn()
    times = []
    with PeakRss() as rss:
        for _ in range(RUNS):
            start = time.perf_counter()
            result = fn()
            times.append(round(time.perf_counter() - start, 3))
    rows = result.num_rows if isinstance(result, pa.Table) else len(result)
    return {"seconds": statistics.median(times), "runs": times, "peak_rss_python_mb": rss.py >> 20,
            "peak_rss_jvm_mb": rss.jvm >> 20, "rows_out": rows}, result


def floor(case: SimpleNamespace) -> pa.Table:
    """Bare DuckDB ``ASOF JOIN`` of the labels Parquet and the view's Parquet: the single-node floor."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.sql(
            f"SELECT l.*, f.* EXCLUDE (entity_id, event_ts, created_ts, event_date) "
            f"FROM read_parquet('{case.root}/labels.parquet') l ASOF LEFT JOIN "
            f"read_parquet('{case.view_dir}/**/*.parquet', hive_partitioning=true) f "
            f"ON l.entity_id = f.entity_id AND l.event_ts >= f.event_ts"
        ).to_arrow_table()
    finally:
        con.close()


def run_case(name: str, spark: Any) -> dict[str, Any]:
    """All engines on one case; the Spark methods' outputs are compared row for row."""
    from aquifer.training import get_training_frame

    with tempfile.TemporaryDirectory(prefix="aq_bench_pit_") as tmp:
        root = Path(tmp)
        case = make_case(root, name)
        store = make_store(root)
        feats = [f"stats:f{i}" for i in range(N_FEATURES)]
        out: dict[str, Any] = {"case": name, "feature_rows": case.n_rows, "label_rows": case.n_labels,
                               "entities": case.n_entities}
        out["duckdb_floor"], _ = measure(lambda: floor(case))
        out["duckdb"], duck = measure(lambda: get_training_frame(store, case.labels, feats, engine="duckdb"))
        results = {}
        for method in ("asof", "window"):
            out[f"spark_{method}"], results[method] = measure(
                lambda m=method: get_training_frame(store, case.labels, feats, engine="spark", spark_method=m))
        base = out["duckdb_floor"]["seconds"]
        for key in ("duckdb", "spark_asof", "spark_window"):
            out[key]["ratio_vs_floor"] = round(out[key]["seconds"] / base, 2)
        if name == "2Mx500k":
            for key in ("spark_asof", "spark_window"):
                out[key]["speedup_vs_feast_spark"] = [round(f / out[key]["seconds"], 2) for f in FEAST_2M_500K_SECONDS]
        out["spark_asof_equals_window"] = results["asof"].equals(results["window"])
        out["spark_equals_duckdb"] = results["asof"].equals(duck)
        out["every_row_returned"] = all(out[k]["rows_out"] == case.n_labels for k in ("duckdb", "spark_asof",
                                                                                     "spark_window"))
        return out


def main() -> None:
    """Parse ``--sizes``, run each case, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1Mx200k,dense", help="comma-separated: 1Mx200k, 10Mx1M, dense, ...")
    parser.add_argument("--driver-memory", default="6g")
    args = parser.parse_args()
    from aquifer.engines.spark.session import get_spark

    spark = get_spark("local[*]", {"spark.driver.memory": args.driver_memory, "spark.sql.shuffle.partitions": "8"})
    cases = [run_case(size.strip(), spark) for size in args.sizes.split(",") if size.strip()]
    print(json.dumps({"benchmark": "pit", "spark": spark.version, "cores": spark.sparkContext.defaultParallelism,
                      "feast_reference_seconds_2Mx500k": FEAST_2M_500K_SECONDS, "cases": cases}, indent=2))


if __name__ == "__main__":
    main()
