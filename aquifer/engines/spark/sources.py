"""Read a source's rows for an event-time range: Parquet / CSV / JSON paths (relative to the repo) or tables.

The range filter is applied on the timestamp column right at the scan, so Spark pushes it into the Parquet
reader (row-group statistics) and, for partitioned data, prunes folders.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aquifer.definitions import BatchSource, KafkaSource

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SourceUnavailable(RuntimeError):
    """A source's data could not be read (missing path, unreadable file, unknown table); names the path."""


def landed_source(source: BatchSource | KafkaSource) -> BatchSource:
    """The batch source holding a source's events at rest (a Kafka source's ``batch_source``)."""
    if isinstance(source, KafkaSource):
        if source.batch_source is None:
            raise SourceUnavailable(
                f"Kafka source {source.name!r} has no batch_source: batch runs need the events landed at rest"
            )
        return source.batch_source
    return source


def source_location(source: BatchSource, root: Path) -> str:
    """The absolute path (or table name) a batch source reads."""
    if source.table is not None:
        return source.table
    path = Path(source.path or "")
    return str(path if path.is_absolute() else (root / path))


def read_source(
    spark: SparkSession,
    source: BatchSource | KafkaSource,
    root: Path,
    start: datetime | None = None,
    end: datetime | None = None,
) -> DataFrame:
    """The source's rows with ``start <= timestamp < end`` (either bound may be None), columns as stored.

    A Kafka source is read through its ``batch_source``; its own ``timestamp_field`` names the time column.
    """
    from pyspark.sql import functions as F

    batch = landed_source(source)
    location = source_location(batch, root)
    try:
        if batch.format == "table":
            df = spark.table(location)
        else:
            if not Path(location).exists():
                raise SourceUnavailable(f"source {source.name!r}: path {location} does not exist")
            reader = spark.read
            if batch.format == "csv":
                reader = reader.option("header", "true").option("inferSchema", "true")
            df = reader.format(batch.format).load(location)
        ts = source.timestamp_field
        if ts not in df.columns:
            raise SourceUnavailable(
                f"source {source.name!r}: timestamp column {ts!r} not in {location} (columns: {', '.join(df.columns)})"
            )
        column = F.col(ts)
        if dict(df.dtypes)[ts] not in ("timestamp", "timestamp_ntz"):
            column = F.to_timestamp(column)
            df = df.withColumn(ts, column)
        if start is not None:
            df = df.where(F.col(ts) >= F.lit(start))
        if end is not None:
            df = df.where(F.col(ts) < F.lit(end))
        return df
    except SourceUnavailable:
        raise
    except Exception as exc:  # Spark's AnalysisException and friends: unreadable, corrupt, unknown table
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceUnavailable(f"source {source.name!r}: cannot read {location}: {first}") from exc
