"""An ``AggregationView``'s rows for ``[start, end)``: window rows per feature, merged and forward-filled.

**Rows.** One row per (entity, time) at which any aggregation has a window row (a window end, including
the closing rows of grid windows); ``event_ts`` = that time. Each feature holds the value of its most
recent window row with ``end <= event_ts`` (``aggregations.reference.value_as_of``), so features whose
window did not close at that time are carried forward.

**History before ``start``.** A row's value can depend on events before ``start``:

- tumbling / sliding windows ending in the range need events from ``start - size - step`` (the extra
  ``step`` decides closing rows; ``aggregations.input_range``) — read exactly;
- ``Lifetime`` windows read every event before ``end`` (each run recomputes the entity's whole history:
  cost grows with it);
- sessions can begin arbitrarily early; the run reads ``session_lookback`` (``batch.session_lookback``,
  default 7 days, at least ``max_duration + gap``) before ``start``. A session whose chain of events
  began before that is computed from its events inside the lookback only (documented approximation);
- carried-forward values whose window closed before the history read: taken from the view's own last
  offline row per entity before ``start`` (written by earlier ranges). A row computed from history at
  the same or a later time wins over it.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aquifer.definitions import Aggregation, AggregationView, Lifetime, Session, Sliding, Window
from aquifer.engines.spark.schema_check import SchemaMismatch, store_schema
from aquifer.engines.spark.tiles import tileable, tiled_windows
from aquifer.engines.spark.windows import (
    US,
    WE,
    distinct_inputs,
    grid_windows,
    lifetime_windows,
    raw_column,
    reads_raw,
    session_windows,
    state_column,
    value_column,
)
from aquifer.stores.offline.layout import EVENT_TS
from aquifer.times import to_micros

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from aquifer.engines.spark.job import JobContext

PRIORITY = "__prio"


def history_start(view: AggregationView, start: datetime, session_lookback: timedelta) -> datetime | None:
    """The earliest event time a run over ``[start, ...)`` reads (see the module docstring); None: all."""
    back = timedelta(0)
    for a in view.aggregations:
        w = a.window
        if isinstance(w, Lifetime):
            return None
        if isinstance(w, Session):
            need = max(session_lookback, (w.max_duration or timedelta(0)) + w.gap)
        else:
            need = w.size + (w.every if hasattr(w, "every") else w.size)
        back = max(back, need)
    return start - back


def _events(ctx: JobContext, view: AggregationView, start: datetime, end: datetime) -> tuple[DataFrame, int, int]:
    from pyspark.sql import functions as F

    from aquifer.engines.spark.job import read_upstream

    source = view.source
    assert source is not None
    raw = read_upstream(ctx, source.name, history_start(view, start, ctx.session_lookback), end)
    ts = getattr(source, "timestamp_field", EVENT_TS)
    keys = list(view.join_keys)
    read = [*dict.fromkeys(a.column for a in view.aggregations), *(a.by for a in view.aggregations if a.by)]
    for column in [*keys, *read]:
        if column not in raw.columns:
            raise SchemaMismatch(f"view {view.name!r}: column {column!r} is not in source {source.name!r} "
                                 f"(it has: {', '.join(raw.columns)})")
    values = []
    for column in dict.fromkeys(a.column for a in view.aggregations if not reads_raw(a)):
        v = F.col(column).cast("double")
        values.append(F.when(F.isnan(v), None).otherwise(v).alias(value_column(column)))
    floats = {"double", "float"}
    types = dict(raw.dtypes)
    for column in dict.fromkeys([*(a.column for a in view.aggregations if reads_raw(a)),
                                 *(a.by for a in view.aggregations if a.by)]):
        v = F.col(column)
        if types[column] in floats:
            v = F.when(F.isnan(v), None).otherwise(v)
        values.append(v.alias(raw_column(column)))
    distinct = dict.fromkeys(a.column for a in view.aggregations if a.function == "approx_distinct")
    hashed = [c for column in distinct for c in distinct_inputs(column, types[column])]
    events = raw.select(*keys, F.unix_micros(F.col(ts).cast("timestamp")).alias(US), *values)
    if hashed:
        events = events.select("*", *hashed)
    bad = F.col(US).isNull()
    for key in keys:
        bad = bad | F.col(key).isNull()
    counts = events.agg(F.count(F.lit(1)).alias("n"), F.sum(bad.cast("long")).alias("bad")).first()
    return events.where(~bad), int(counts["n"] or 0), int(counts["bad"] or 0)


def _seeds(ctx: JobContext, view: AggregationView, start: datetime) -> DataFrame:
    """The view's last stored row per entity before ``start``, as state columns (priority 0)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = list(view.join_keys)
    stored = ctx.offline.read(ctx.spark, view.name, None, start, schema=store_schema(view))
    latest = stored.withColumn("__r", F.row_number().over(Window.partitionBy(*keys).orderBy(F.desc(EVENT_TS))))
    return latest.where(F.col("__r") == 1).select(
        *keys, F.unix_micros(EVENT_TS).alias(WE), F.lit(0).alias(PRIORITY),
        *[F.struct(F.col(f.name).alias("v")).alias(state_column(f.name)) for f in view.features],
    )


def aggregation_rows(ctx: JobContext, view: AggregationView, start: datetime, end: datetime
                     ) -> tuple[DataFrame, int, dict[str, Any]]:
    """The view's rows with ``start <= event_ts < end``, the number of events read, and run details."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = list(view.join_keys)
    events, rows_in, null_events = _events(ctx, view, start, end)
    by_window: OrderedDict[Window, list[Aggregation]] = OrderedDict()
    for a in view.aggregations:
        by_window.setdefault(a.window, []).append(a)
    frames = []
    for window, aggs in by_window.items():
        if isinstance(window, Session):
            frames.append(session_windows(events, keys, window, aggs))
        elif isinstance(window, Lifetime):
            frames.append(lifetime_windows(events, keys, window, aggs))
        elif isinstance(window, Sliding) and window.every < window.size and ctx.sliding_windows == "tiles":
            types = dict(events.dtypes)
            tiled = [a for a in aggs if tileable(a, types)]
            if tiled:
                frames.append(tiled_windows(events, keys, window, tiled, types))
            if len(tiled) < len(aggs):  # functions tiles cannot merge (``tiles.tileable``): exploded
                frames.append(grid_windows(events, keys, window, [a for a in aggs if a not in tiled]))
        else:
            frames.append(grid_windows(events, keys, window, aggs))
    merged = frames[0]
    for frame in frames[1:]:
        merged = merged.unionByName(frame, allowMissingColumns=True)
    states = [state_column(f.name) for f in view.features]
    # at most one window of each feature ends at a given time, so ``first(ignorenulls)`` picks it
    merged = merged.groupBy(*keys, WE).agg(*[F.first(s, ignorenulls=True).alias(s) for s in states])
    merged = merged.withColumn(PRIORITY, F.lit(1))
    merged = _seeds(ctx, view, start).unionByName(merged, allowMissingColumns=True)
    carried = Window.partitionBy(*keys).orderBy(WE, PRIORITY).rowsBetween(Window.unboundedPreceding, 0)
    lo, hi = to_micros(start), to_micros(end)
    out = merged.select(*keys, WE, PRIORITY, *[F.last(s, ignorenulls=True).over(carried).alias(s) for s in states])
    out = out.where((F.col(PRIORITY) == 1) & (F.col(WE) >= F.lit(lo)) & (F.col(WE) < F.lit(hi)))
    out = out.select(*keys, F.timestamp_micros(WE).alias(EVENT_TS),
                     *[F.col(state_column(f.name))["v"].cast(f.dtype.spark).alias(f.name) for f in view.features])
    return out, rows_in, {"null_key_events": null_events}
