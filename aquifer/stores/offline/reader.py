"""Read a view's history back, as a Spark DataFrame or a pandas frame, optionally for ``[start, end)`` only.

Readers go through :func:`~aquifer.stores.offline.partitions.live_partitions`, so a day caught mid-swap is
read from its parked copy: a reader sees each day's old rows or its new rows, never a mix.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aquifer.stores.offline.layout import EVENT_TS, view_path
from aquifer.stores.offline.partitions import data_files, days_between, live_partitions
from aquifer.times import as_utc

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

_RETRIES = 3


def view_files(
    offline_root: str | Path, project: str, view: str, start: datetime | None = None, end: datetime | None = None
) -> list[Path]:
    """Parquet files holding the view's rows in ``[start, end)`` (all rows when unbounded)."""
    view_dir = view_path(offline_root, project, view)
    start = None if start is None else as_utc(start, "start")
    end = None if end is None else as_utc(end, "end")
    days = None
    if start is not None and end is not None:
        days = days_between(start, end)
    files = []
    for day, folder in live_partitions(view_dir, days):
        if (start is not None and end is None and day < start.date()) or (
            end is not None and start is None and day > end.date()
        ):
            continue
        files.extend(data_files(folder))
    return files


def read_view(
    spark: SparkSession,
    offline_root: str | Path,
    project: str,
    view: str,
    start: datetime | None = None,
    end: datetime | None = None,
    schema: StructType | None = None,
) -> DataFrame:
    """The view's rows with ``start <= event_ts < end`` as a Spark DataFrame.

    ``schema`` is used when the view has no rows yet (an empty frame of that schema comes back).
    """
    from pyspark.sql import functions as F

    last_error: Exception | None = None
    for _ in range(_RETRIES):
        files = view_files(offline_root, project, view, start, end)
        if not files:
            if schema is None:
                raise FileNotFoundError(f"view {view!r} has no rows in the offline store yet")
            return spark.createDataFrame([], schema)
        try:
            reader = spark.read.schema(schema) if schema is not None else spark.read
            df = reader.parquet(*[str(f) for f in files])
            if start is not None:
                df = df.where(F.col(EVENT_TS) >= F.lit(start))
            if end is not None:
                df = df.where(F.col(EVENT_TS) < F.lit(end))
            return df
        except Exception as exc:  # a swap moved a file between listing and reading: list again
            if "PATH_NOT_FOUND" not in str(exc) and "FileNotFound" not in str(exc):
                raise
            last_error = exc
    raise RuntimeError(f"view {view!r}: partitions kept moving while reading") from last_error


def read_view_pandas(
    offline_root: str | Path, project: str, view: str, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """The view's rows with ``start <= event_ts < end`` as pandas (timestamps tz-aware UTC)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = None if start is None else as_utc(start, "start")
    end = None if end is None else as_utc(end, "end")
    files = view_files(offline_root, project, view, start, end)
    if not files:
        return pd.DataFrame()
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    frame = table.to_pandas()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            series = frame[column]
            frame[column] = series.dt.tz_localize("UTC") if series.dt.tz is None else series.dt.tz_convert("UTC")
    if start is not None:
        frame = frame[frame[EVENT_TS] >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame[EVENT_TS] < pd.Timestamp(end)]
    return frame.reset_index(drop=True)
