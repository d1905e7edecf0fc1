"""Materialization on Spark: the latest row per entity, written to Redis from every partition in parallel.

Spark picks the latest row per entity with ``max(struct(event_ts, created_ts, features...))`` (one
aggregation); each partition hands large Arrow batches to a ``LatestWriter`` (``mapInArrow``), which
writes through its own Redis connection. Orchestration, ledger and engine choice: ``runs/materialize``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS
from aquifer.stores.offline.partitions import read_days, snapshot_files

ARROW_BATCH_ROWS = 100_000  # rows per Arrow batch handed to a partition's writer (Spark's default: 10 000)


def spark_push_latest(spark: Any, view: Any, path: Path, keys: list[str], start: datetime, end: datetime,
                      writer: Any) -> list[tuple[int, int, int, bytes | None]]:
    """Run ``writer`` over each entity's latest row with ``start <= event_ts < end``; per partition its counts
    and serialized statistics."""
    from pyspark.sql import functions as F

    files = snapshot_files(path, read_days(start, end))  # listed once, swap-aware: no day skipped mid-swap
    if not files:
        return []
    df = spark.read.parquet(*[str(f) for f in files])
    df = df.where((F.col(EVENT_TS) >= F.lit(start)) & (F.col(EVENT_TS) < F.lit(end)))
    created = F.col(CREATED_TS) if CREATED_TS in df.columns else F.lit(None).cast("timestamp")
    features = [F.col(f.name) if f.name in df.columns else F.lit(None).cast(f.dtype.spark).alias(f.name)
                for f in view.features]
    latest = df.groupBy(*keys).agg(
        F.max(F.struct(F.col(EVENT_TS), created.alias(CREATED_TS), *features)).alias("row")
    ).select(*keys, "row.*")
    # one row of counts per partition, summed by the caller: a Spark-side sum would add a stage
    with _arrow_batch_rows(spark, ARROW_BATCH_ROWS):
        return [tuple(r) for r in latest.mapInArrow(writer, writer.OUTPUT).collect()]


@contextlib.contextmanager
def _arrow_batch_rows(spark: Any, rows: int) -> Iterator[None]:
    """Larger Arrow batches to the Python writers for one job (fewer JVM↔Python hand-offs), then restore."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    previous = spark.conf.get(key, None)
    spark.conf.set(key, str(rows))
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, previous)
