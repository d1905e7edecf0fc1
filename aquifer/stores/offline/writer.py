"""Replace exactly one event-time range of a view's history with a Spark DataFrame.

The range is widened to whole UTC days (partitions are replaced whole), every row outside it is refused,
the rows land in a staging folder, and the days are swapped in one by one (see ``partitions``). Days of
the range with no rows end up empty: their old rows are gone, as a recomputation demands.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aquifer.stores.offline.layout import DATE_PARTITION, EVENT_TS, view_path
from aquifer.stores.offline.partitions import STAGING, days_between, mark_unique_times, recover, swap_in

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def write_range(
    df: DataFrame, offline_root: str | Path, project: str, view: str, start: datetime, end: datetime,
    *, unique_times: bool = False, order: Sequence[str] = (),
) -> int:
    """Write ``df`` (join keys, ``event_ts``, ``created_ts``, features) as the days ``[start, end)`` touches.

    Rows must satisfy ``start <= event_ts < end`` after widening to whole days; others are filtered out
    (callers filter already; this keeps a partition from ever holding another range's rows). Returns the
    number of rows written (read from the staged files' footers, so it costs no Spark job). With
    ``unique_times`` the caller guarantees one row per (keys, ``event_ts``) and each day written is marked so.
    ``order`` (e.g. the join keys and ``event_ts``) sorts each day's file: its content then depends on the rows
    only, not on how the rows were partitioned on the way (a reader summing them in file order gets the same
    floating-point sums from any run), and row-group statistics of the keys are tight.
    """
    from pyspark.sql import functions as F

    view_dir = view_path(offline_root, project, view)
    view_dir.mkdir(parents=True, exist_ok=True)
    recover(view_dir)
    days = days_between(start, end)
    if not days:
        return 0
    write_id = uuid.uuid4().hex
    staged = view_dir / STAGING / write_id
    lo, hi = days[0].isoformat(), (days[-1]).isoformat()
    out = df.withColumn(DATE_PARTITION, F.date_format(F.col(EVENT_TS), "yyyy-MM-dd")).where(
        (F.col(DATE_PARTITION) >= F.lit(lo)) & (F.col(DATE_PARTITION) <= F.lit(hi))
    )
    # one file per day keeps partitions small and reads fast; days are independent, so this parallelises
    out = out.repartition(DATE_PARTITION)
    if order:  # the day first: the writer's own sort by the partition column is then already done
        out = out.sortWithinPartitions(DATE_PARTITION, *order)
    out.write.mode("overwrite").partitionBy(DATE_PARTITION).parquet(str(staged))
    rows = _staged_rows(staged)
    if unique_times:
        for day in staged.glob(f"{DATE_PARTITION}=*"):
            mark_unique_times(day)
    swap_in(view_dir, staged, days, write_id)
    shutil.rmtree(staged, ignore_errors=True)
    return rows


def _staged_rows(staged: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in staged.glob("*/*.parquet"))
