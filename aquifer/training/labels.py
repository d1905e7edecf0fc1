"""Turn caller label frames (pandas or Spark) into what the engines read: row id, UTC ``ts``, keys.

Naive timestamps are UTC; tz-aware ones are converted to UTC (see ``inputs``). With a local
Spark master the key table reaches the JVM as a temporary Parquet file (its vectorised reader is several
times cheaper than ``createDataFrame`` from Arrow); elsewhere the driver's disk is not the executors', so
it goes through ``createDataFrame``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aquifer.planning.pit import LABEL_TS, ROW_ID
from aquifer.times import from_micros
from aquifer.training.inputs import TrainingInputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame, SparkSession


def is_spark_frame(labels: Any) -> bool:
    """True for a PySpark DataFrame (classic or Connect), without importing pyspark otherwise."""
    return type(labels).__module__.startswith("pyspark.")


def utc_series(labels: pd.DataFrame, timestamp_col: str) -> pd.Series:
    """The label timestamps as ``datetime64[us, UTC]``: naive = UTC, aware = converted."""
    import pandas as pd

    column = labels[timestamp_col]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        raise TrainingInputError(
            f"label timestamp column {timestamp_col!r} holds numbers ({column.dtype}), not times: convert epoch "
            "numbers first, e.g. pd.to_datetime(labels[col], unit='s', utc=True)"
        )
    if not pd.api.types.is_datetime64_any_dtype(column):
        try:
            column = pd.to_datetime(column, utc=True)
        except (TypeError, ValueError) as exc:
            raise TrainingInputError(
                f"label timestamp column {timestamp_col!r} holds {column.dtype} values that are not times: {exc}"
            ) from None
    column = column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")
    return column.astype("datetime64[us, UTC]")


def pandas_key_table(labels: pd.DataFrame, timestamp_col: str, keys: list[str]) -> tuple[pa.Table, tuple]:
    """``(row id, UTC ts, keys)`` as Arrow (numeric key columns are not copied) and the ts range."""
    import numpy as np
    import pyarrow as pa

    ts = utc_series(labels, timestamp_col)
    arrays = {ROW_ID: pa.array(np.arange(len(labels), dtype=np.int64)), LABEL_TS: pa.array(ts)}
    for key in keys:
        arrays[key] = pa.array(labels[key], from_pandas=True)
    low, high = ts.min(), ts.max()
    bounds = (None, None) if ts.isna().all() else (low.to_pydatetime(), high.to_pydatetime())
    return pa.table(arrays), bounds


@contextmanager
def spark_key_frame(spark: SparkSession, table: pa.Table) -> Iterator[DataFrame]:
    """``table`` as a Spark DataFrame, valid inside the ``with`` block (a temp Parquet file on a local master)."""
    import shutil
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    if not spark.sparkContext.master.startswith("local") or any(pa.types.is_null(t) for t in table.schema.types):
        yield spark.createDataFrame(table)
        return
    folder = Path(tempfile.mkdtemp(prefix="aq_pit_labels_"))
    try:
        pq.write_table(table, folder / "labels.parquet", compression="none", coerce_timestamps="us")
        yield spark.read.parquet(str(folder / "labels.parquet"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def spark_utc(labels: DataFrame, timestamp_col: str) -> Column:
    """The label timestamp as a Spark ``timestamp`` (the session time zone is UTC)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dtype = labels.schema[timestamp_col].dataType
    col = F.col(timestamp_col)
    if isinstance(dtype, T.TimestampType):
        return col
    if isinstance(dtype, T.TimestampNTZType | T.DateType | T.StringType):
        return col.cast("timestamp")
    raise TrainingInputError(f"label timestamp column {timestamp_col!r} is {dtype.simpleString()}, not a timestamp")


def spark_labels(
    labels: DataFrame, timestamp_col: str
) -> tuple[DataFrame, tuple[datetime | None, datetime | None], int]:
    """Labels with a row id (in the frame's order) and ``__aq_ts`` added, their ts range and row count."""
    from pyspark.sql import functions as F

    out = labels.withColumn(ROW_ID, F.monotonically_increasing_id()).withColumn(
        LABEL_TS, spark_utc(labels, timestamp_col)
    )
    # as epoch microseconds: collected Spark timestamps would come back in the Python process's local zone
    micros = F.unix_micros(F.col(LABEL_TS))
    row = out.agg(F.min(micros).alias("lo"), F.max(micros).alias("hi"), F.count("*").alias("n")).first()
    lo, hi = (None if row[b] is None else from_micros(row[b]) for b in ("lo", "hi"))
    return out, (lo, hi), int(row["n"])
