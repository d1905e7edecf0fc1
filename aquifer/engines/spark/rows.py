"""Row hygiene before a write: ``created_ts``, null keys / timestamps, duplicates, and the range filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_SORTABLE = ("boolean", "tinyint", "smallint", "int", "bigint", "float", "double", "string", "date", "timestamp",
             "timestamp_ntz", "binary")


def with_created(df: DataFrame, run_time: datetime) -> DataFrame:
    """Add ``created_ts`` = the run's time when the rows carry none (nulls are filled the same way)."""
    from pyspark.sql import functions as F

    if CREATED_TS in df.columns:
        return df.withColumn(CREATED_TS, F.coalesce(F.col(CREATED_TS), F.lit(run_time)))
    return df.withColumn(CREATED_TS, F.lit(run_time))


def in_range(df: DataFrame, start: datetime, end: datetime) -> DataFrame:
    """Rows with ``start <= event_ts < end``."""
    from pyspark.sql import functions as F

    return df.where((F.col(EVENT_TS) >= F.lit(start)) & (F.col(EVENT_TS) < F.lit(end)))


def null_key_flag(keys: Sequence[str]) -> Column:
    """A boolean column: true when any join key or ``event_ts`` is null."""
    from pyspark.sql import functions as F

    flag = F.col(EVENT_TS).isNull()
    for key in keys:
        flag = flag | F.col(key).isNull()
    return flag


def count_rows(df: DataFrame, keys: Sequence[str]) -> tuple[int, int]:
    """``(rows, rows with a null key or timestamp)`` in one pass."""
    from pyspark.sql import functions as F

    row = df.agg(F.count(F.lit(1)).alias("n"), F.sum(null_key_flag(keys).cast("long")).alias("bad")).first()
    return int(row["n"] or 0), int(row["bad"] or 0)


def drop_null_keys(df: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Rows whose join keys and ``event_ts`` are all set."""
    return df.where(~null_key_flag(keys))


def newest_first(df: DataFrame, keys: Sequence[str]) -> list[Column]:
    """The order that puts first, among rows of the same (keys, ``event_ts``), the one a dedupe keeps: the
    greatest ``created_ts``, ties broken by the other columns so that a rerun picks the same row (determinism
    matters for "backfill twice gives identical rows")."""
    from pyspark.sql import functions as F

    tie_breaks = [F.col(c).desc_nulls_last() for c, t in df.dtypes
                  if c not in (*keys, EVENT_TS, CREATED_TS) and t in _SORTABLE]
    return [F.col(CREATED_TS).desc_nulls_last(), *tie_breaks]
