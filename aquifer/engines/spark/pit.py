"""Point-in-time join on Spark: every label row once, each view's features as of the label's timestamp.

Per view, the label rows and the view's feature rows are unioned and windowed by the view's join keys,
ordered by ``(ts, is_label, created_ts)``: a feature at exactly the label's ``ts`` sorts before the
label (it is available) and, among features with equal ``event_ts``, the greatest ``created_ts`` comes
last. ``last(feature_struct, ignorenulls=True)`` over the running frame then yields, for each label,
the whole winning feature row as ONE struct, so columns are never filled from different rows.

The alternative ``method="asof"`` uses Spark 4.3's sort-merge ASOF JOIN operator (see ``pit_asof``).

Feature rows are pruned before any shuffle: only ``min(label ts) - ttl <= event_ts <= max(label ts)``
(and the matching ``event_date`` partitions) are read.

Skew: both methods hash-partition by the join keys, so one entity's rows always land in one task. The
window keeps O(1) state per row in its running frame but buffers each key's rows (spilling to disk);
the ASOF operator streams both sorted sides with no per-key buffer. Either way a hot key costs time in
one task rather than memory, and AQE splits skewed partitions only for ordinary joins. ``bench/pit.py``
measures both methods on a dense case (few entities, many rows each).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from aquifer.engines.pit_plan import LABEL_TS, PitFeature, PitPlan, PitView
from aquifer.stores.offline.layout import CREATED_TS, DATE_PARTITION, EVENT_TS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FEAT = "__aq_feat"
METHODS = ("window", "asof")
DEFAULT_METHOD = "window"  # measured faster than "asof" in bench/pit.py, identical rows


def spark_pit_join(spark: SparkSession, labels: DataFrame, plan: PitPlan, method: str = DEFAULT_METHOD) -> DataFrame:
    """Append every view's feature columns to ``labels`` (which holds the row id, ``__aq_ts`` and the keys).

    Row order is not kept here; callers sort by the row id. ``method`` is ``"window"`` or ``"asof"``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown Spark PIT method {method!r}; use one of {', '.join(METHODS)}")
    frame = labels
    for view in plan.views:
        rows = read_view_rows(spark, view, plan)
        if rows is None:
            frame = _null_features(frame, view, plan)
            continue
        if method == "asof":
            from aquifer.engines.spark.pit_asof import attach_asof

            frame = attach_asof(spark, frame, rows, view)
        else:
            frame = attach_window(frame, rows, view)
        frame = finish_view(frame, view, plan)
    return frame


def read_view_rows(spark: SparkSession, view: PitView, plan: PitPlan) -> DataFrame | None:
    """The view's feature rows that can matter for these labels: ``(keys, event_ts, created_ts, struct)``.

    The struct (column ``__aq_feat``) holds ``event_ts`` and the requested features. None when the view
    has no data or no label has a timestamp.
    """
    from pyspark.sql import functions as F

    bounds = plan.time_bounds(view)
    if not view.has_data or bounds is None:
        return None
    low, high = bounds
    df = spark.read.option("basePath", str(view.path)).parquet(str(view.path))
    event_ts = F.col(EVENT_TS).cast("timestamp")
    partitioned = DATE_PARTITION in df.columns
    cond = event_ts <= F.lit(high)
    if partitioned:
        cond &= F.col(DATE_PARTITION) <= F.lit(high.date())
    if low is not None:
        cond &= event_ts >= F.lit(low)
        if partitioned:  # a day of slack: partitions are cut by the writer's date, not necessarily UTC
            cond &= F.col(DATE_PARTITION) >= F.lit((low - timedelta(days=1)).date())
    for key in view.keys:
        cond &= F.col(key).isNotNull()
    created = F.col(CREATED_TS).cast("timestamp") if CREATED_TS in df.columns else F.lit(None).cast("timestamp")
    values = [F.col(f.name).cast(f.spark_type).alias(f.name) for f in view.features]
    struct = F.struct(event_ts.alias(EVENT_TS), *values)
    return df.where(cond).select(*view.keys, event_ts.alias(EVENT_TS), created.alias(CREATED_TS), struct.alias(FEAT))


def attach_window(frame: DataFrame, rows: DataFrame, view: PitView) -> DataFrame:
    """Add the winning feature struct of ``view`` to every label row (column ``__aq_feat``), by window.

    The label side travels as plain columns, not as one struct: the view's keys and the ordering ts
    are shared with the feature side, and the other label columns (row id, other views' keys and
    features) are null on feature rows, so nothing is packed or unpacked per row.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order_ts, is_label = "__aq_order_ts", "__aq_is_label"
    carry = [c for c in frame.columns if c not in view.keys and c != LABEL_TS]
    feat_type = rows.schema[FEAT].dataType
    labels_side = frame.select(
        *[F.col(k) for k in view.keys],
        F.col(LABEL_TS).alias(order_ts),
        F.lit(True).alias(is_label),
        F.lit(None).cast("timestamp").alias(CREATED_TS),
        *[F.col(c) for c in carry],
        F.lit(None).cast(feat_type).alias(FEAT),
    )
    features_side = rows.select(
        *[F.col(k) for k in view.keys],
        F.col(EVENT_TS).alias(order_ts),
        F.lit(False).alias(is_label),
        F.col(CREATED_TS),
        *[F.lit(None).cast(frame.schema[c].dataType).alias(c) for c in carry],
        F.col(FEAT),
    )
    window = (
        Window.partitionBy(*view.keys)
        .orderBy(F.col(order_ts).asc_nulls_first(), F.col(is_label), F.col(CREATED_TS).asc_nulls_first())
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    joined = labels_side.unionByName(features_side).select(
        *[F.col(k) for k in view.keys], F.col(order_ts), F.col(is_label), *[F.col(c) for c in carry],
        F.last(F.col(FEAT), ignorenulls=True).over(window).alias(FEAT),
    )
    outs = [F.col(order_ts).alias(LABEL_TS) if c == LABEL_TS else F.col(c) for c in frame.columns]
    return joined.where(F.col(is_label)).select(*outs, FEAT)


def finish_view(frame: DataFrame, view: PitView, plan: PitPlan) -> DataFrame:
    """Apply the TTL to the attached struct, then unpack it into the view's output columns."""
    from pyspark.sql import functions as F

    feat = F.col(FEAT)
    if view.ttl_us is not None:
        fresh = F.unix_micros(feat[EVENT_TS]) >= F.unix_micros(F.col(LABEL_TS)) - F.lit(view.ttl_us)
        feat = F.when(fresh, feat)
    frame = frame.withColumn(FEAT, feat)
    outs = [_filled(F.col(FEAT)[f.name].cast(f.spark_type), f, plan).alias(f.column) for f in view.features]
    return frame.select(*[c for c in frame.columns if c != FEAT], *outs)


def _null_features(frame: DataFrame, view: PitView, plan: PitPlan) -> DataFrame:
    from pyspark.sql import functions as F

    outs = [_filled(F.lit(None).cast(f.spark_type), f, plan).alias(f.column) for f in view.features]
    return frame.select("*", *outs)


def _filled(col: Column, feature: PitFeature, plan: PitPlan) -> Column:
    from pyspark.sql import functions as F

    if not plan.fill_defaults or feature.default is None:
        return col
    return F.coalesce(col, F.lit(feature.default).cast(feature.spark_type))
