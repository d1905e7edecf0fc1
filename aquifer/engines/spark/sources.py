"""Read a source's rows for an event-time range: Parquet / CSV / JSON paths (relative to the repo) or tables.

Files are taken as users write them (``docs/semantics.md``, "Source files"):

- Parquet footers are read first (``aquifer.analysis.source_files``): files that disagree on their columns,
  or whose columns cannot be read as declared, fail here, before Spark reads a row. Nanosecond timestamps
  (pandas' default) are read as epoch numbers and truncated to microseconds; files whose stored types
  differ (int32 in one, int64 in another) are read group by group and widened to one type.
- Every timestamp column becomes a UTC ``timestamp``: naive ones (``timestamp_ntz``) are UTC; time
  columns given as ISO 8601 text are parsed (no offset = UTC), epoch numbers with ``timestamp_unit``.
- A value that cannot be read as its declared type stops the run inside the same Spark job with an error
  naming the source, file, column, value and wanted type: the job's write is staged, so nothing is swapped.

The range filter is applied on the timestamp column right at the scan, so Spark pushes it into the Parquet
reader (row-group statistics) and, for partitioned data, prunes folders.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aquifer.analysis.source_files import PANDAS_INDEX_PREFIX, SourceFiles, inspect_files
from aquifer.analysis.source_schema import source_errors
from aquifer.definitions import BatchSource, KafkaSource

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FILE_COLUMN = "__aquifer_file"
_UNIT_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}
_RAISED = re.compile(r"\[USER_RAISED_EXCEPTION\]\s*(.*?)(?:\s*SQLSTATE: \w+)?$", re.MULTILINE)


class SourceUnavailable(RuntimeError):
    """A source's data could not be read (missing path, unreadable file, unknown table); names the path."""


class SourceError(SourceUnavailable):
    """A source's files do not hold what is declared (column set, types); names the file and column."""


def raised_message(exc: BaseException) -> str | None:
    """The message of a value error raised inside a Spark job by ``read_source``, else None."""
    match = _RAISED.search(str(exc))
    return match.group(1).strip() if match else None


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
    """The source's rows with ``start <= timestamp < end`` (either bound may be None), times as UTC timestamps.

    A Kafka source is read through its ``batch_source``; its own ``timestamp_field`` names the time column.
    """
    from pyspark.sql import functions as F

    batch = landed_source(source)
    location = source_location(batch, root)
    try:
        if batch.format == "table":
            df = spark.table(location).withColumn(FILE_COLUMN, F.lit(location))
            files = None
        else:
            if not Path(location).exists() and "*" not in Path(location).name:
                raise SourceUnavailable(f"source {source.name!r}: path {location} does not exist")
            files = inspect_files(Path(location), batch.format) if batch.format in ("parquet", "csv") else None
            if files is not None:
                errors = source_errors(source, files)
                if errors:
                    raise SourceError(f"source {source.name!r}: {errors[0]}")
            df = _load(spark, batch, location, files)
        ts = source.timestamp_field
        if ts is not None and ts not in df.columns:
            shown = ", ".join(c for c in df.columns if c != FILE_COLUMN)
            raise SourceUnavailable(
                f"source {source.name!r}: timestamp column {ts!r} not in {location} (columns: {shown})"
            )
        df = _typed(df, source, batch, location)
        if ts is None:  # a snapshot: no event time, read whole
            return df.drop(FILE_COLUMN)
        if start is not None:
            df = df.where(F.col(ts) >= F.lit(start))
        if end is not None:
            df = df.where(F.col(ts) < F.lit(end))
        return df.drop(FILE_COLUMN)
    except SourceUnavailable:
        raise
    except Exception as exc:  # Spark's AnalysisException and friends: unreadable, corrupt, unknown table
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceUnavailable(f"source {source.name!r}: cannot read {location}: {first}") from exc


def _load(spark: SparkSession, batch: BatchSource, location: str, files: SourceFiles | None) -> DataFrame:
    """The files as Spark reads them, with each row's file path; Parquet read group by stored types."""
    from pyspark.sql import functions as F

    def with_file(df: DataFrame) -> DataFrame:
        return df.select("*", F.col("_metadata.file_path").alias(FILE_COLUMN))

    reader = spark.read
    if batch.format == "csv":
        reader = reader.option("header", "true").option("inferSchema", "true")
    groups = files.signature_groups() if files is not None and batch.format == "parquet" else []
    if len(groups) <= 1:
        df = _normalized(with_file(reader.format(batch.format).load(location)), files)
        return df
    if Path(location).is_dir():
        reader = reader.option("basePath", location)
    parts = [_normalized(with_file(reader.format("parquet").load([str(p) for p in g])), files) for g in groups]
    assert files is not None
    wanted = {name: dtype.spark for name, dtype in files.columns.items() if dtype is not None}
    out = None
    for part in parts:
        part = part.select([F.col(c).cast(wanted[c]).alias(c) if c in wanted else F.col(c) for c in part.columns])
        out = part if out is None else out.unionByName(part)
    assert out is not None
    return out


def _normalized(df: DataFrame, files: SourceFiles | None) -> DataFrame:
    """pandas index columns dropped; nanosecond epochs and naive timestamps as UTC ``timestamp``s."""
    from pyspark.sql import functions as F

    nanos = files.nanos_columns if files is not None else set()
    index = files.index_columns if files is not None else set()
    types = dict(df.dtypes)
    out = []
    for name in df.columns:
        if name in index or name.startswith(PANDAS_INDEX_PREFIX):
            continue
        if name in nanos and types[name] == "bigint":
            out.append(_from_epoch(f"`{name}`", "ns", "bigint").alias(name))
        elif types[name] == "timestamp_ntz":
            out.append(F.col(name).cast("timestamp").alias(name))
        else:
            out.append(F.col(name))
    return df.select(out)


def _from_epoch(value: str, unit: str, spark_type: str) -> Column:
    """Epoch numbers (the SQL expression ``value``) in ``unit`` as a timestamp, floored to microseconds.

    Integer arithmetic throughout: a nanosecond epoch (~1.7e18) does not fit a double exactly.
    """
    from pyspark.sql import functions as F

    if unit == "ns":
        whole = f"CAST(({value}) AS BIGINT)"
        return F.expr(f"timestamp_micros(div({whole} - pmod({whole}, 1000), 1000))")
    factor = _UNIT_MICROS[unit]
    if spark_type in ("bigint", "int", "smallint", "tinyint"):
        return F.expr(f"timestamp_micros(CAST(({value}) AS BIGINT) * {factor})")
    return F.expr(f"timestamp_micros(CAST(floor(CAST(({value}) AS DOUBLE) * {factor}) AS BIGINT))")


def _typed(df: DataFrame, source: BatchSource | KafkaSource, batch: BatchSource, location: str) -> DataFrame:
    """Time columns as timestamps and declared columns as their types; a value that does not fit fails."""
    from pyspark.sql import functions as F

    types = dict(df.dtypes)
    wanted: dict[str, str] = {f.name: f.dtype.spark for f in (source.schema or batch.schema) if f.name in types}
    time_names = [source.timestamp_field] if source.timestamp_field else []
    if isinstance(source, BatchSource) and source.created_timestamp_field in types:
        time_names.append(source.created_timestamp_field)
    elif isinstance(source, KafkaSource) and batch.created_timestamp_field in types:
        time_names.append(batch.created_timestamp_field)
    for name in time_names:
        wanted[name] = "timestamp"
    replaced = {}
    for name, spark_type in wanted.items():
        found = types[name]
        if found == spark_type:
            continue
        if spark_type == "timestamp":
            value = _as_time(found, batch.timestamp_unit, source, name)
        else:
            value = F.expr(f"try_cast(`{name}` AS {spark_type})")
        replaced[name] = F.when(F.col(name).isNotNull() & value.isNull(), F.raise_error(F.concat(
            F.lit(f"source {source.name!r}: file "), F.col(FILE_COLUMN),
            F.lit(f", column {name!r}: cannot read "), F.col(name).cast("string"),
            F.lit(f" ({found}) as {_wanted_name(spark_type, batch.timestamp_unit)}"),
        ))).otherwise(value)
    if not replaced:
        return df
    return df.select([replaced[c].alias(c) if c in replaced else F.col(c) for c in df.columns])


def _as_time(found: str, unit: str | None, source: BatchSource | KafkaSource, name: str) -> Column:
    from pyspark.sql import functions as F

    numeric = found in ("bigint", "int", "smallint", "tinyint", "double", "float") or found.startswith("decimal")
    if numeric and unit is None:
        raise SourceError(
            f"source {source.name!r}: column {name!r} holds numbers ({found}), wanted a timestamp: declare "
            "timestamp_unit='s', 'ms', 'us' or 'ns' to read epoch numbers"
        )
    if numeric:
        return _from_epoch(f"`{name}`", unit or "s", found)
    if found == "string" and unit is not None:
        return _from_epoch(f"try_cast(`{name}` AS {'bigint' if unit == 'ns' else 'double'})", unit, "double")
    if found in ("string", "date", "timestamp_ntz"):
        return F.expr(f"try_cast(`{name}` AS timestamp)")
    raise SourceError(f"source {source.name!r}: column {name!r} holds {found} values, wanted a timestamp")


def _wanted_name(spark_type: str, unit: str | None) -> str:
    if spark_type != "timestamp":
        return spark_type
    if unit is not None:
        return f"a timestamp (epoch {unit})"
    return "a timestamp (ISO 8601 text, e.g. 2024-05-01T12:00:00+02:00; timestamp_unit= for epoch numbers)"
