"""The window PIT join salted by time bucket, so one hot entity's rows spread over many tasks.

The plain window (``pit.attach_window``) partitions by the join keys alone: every row of an entity sorts in
one task. Here the window is partitioned by ``(keys, bucket)``, ``bucket = floor(unix_micros(ts) / width)``.
A label whose bucket holds no earlier feature row of its entity still needs the latest row from the
buckets before; that row is brought in as one synthetic *carry* row per ``(keys, bucket)`` that has labels,
sorted first in its partition:

1. ``bucket_last``: per ``(keys, bucket)`` of the feature rows, the greatest ``(event_ts, created_ts)``
   row (``max`` of a struct: an aggregation, combined map-side, so a hot key costs no single task);
2. ``carry``: per ``(keys, bucket)`` of the labels, the last ``bucket_last`` of an earlier bucket, by a window
   over the keys ordered by bucket. It sees one row per bucket, so at most a few thousand rows per key;
3. the plain window rule over labels + feature rows + carry rows, partitioned by ``(keys, bucket)``.

Rows with equal ``event_ts`` share a bucket, so ties are settled inside it exactly as without buckets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from aquifer.planning.pit import LABEL_TS, PitPlan, PitView
from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FEAT = "__aq_feat"
BUCKET = "__aq_bucket"
SALT_BUCKETS = 32  # time buckets over the labels' span (plus the TTL)


def attach_window_salted(frame: DataFrame, rows: DataFrame, view: PitView, plan: PitPlan) -> DataFrame:
    """``pit.attach_window``'s result (every label row plus ``__aq_feat``), computed in time buckets."""
    from pyspark.sql import functions as F

    width_us = bucket_width(plan, view)

    order_ts, is_label = "__aq_order_ts", "__aq_is_label"
    keys = [_q(k) for k in view.keys]

    def bucket(ts: str) -> F.Column:
        return F.floor(F.unix_micros(F.col(ts)) / F.lit(width_us)).cast("long")

    carry_cols = [c for c in frame.columns if c not in view.keys and c != LABEL_TS]
    feat_type = rows.schema[FEAT].dataType
    labels_side = frame.select(
        *keys, bucket(LABEL_TS).alias(BUCKET), F.col(LABEL_TS).alias(order_ts), F.lit(True).alias(is_label),
        F.lit(None).cast("timestamp").alias(CREATED_TS), *[_q(c) for c in carry_cols],
        F.lit(None).cast(feat_type).alias(FEAT),
    )
    nulls = [F.lit(None).cast(frame.schema[c].dataType).alias(c) for c in carry_cols]
    features_side = rows.select(
        *keys, bucket(EVENT_TS).alias(BUCKET), F.col(EVENT_TS).alias(order_ts), F.lit(False).alias(is_label),
        CREATED_TS, *nulls, FEAT,
    )
    bucket_last = features_side.groupBy(*keys, BUCKET).agg(
        F.max(F.struct(F.col(order_ts), F.col(CREATED_TS), F.col(FEAT))).getField(FEAT).alias(FEAT))
    wanted = labels_side.select(*keys, BUCKET).distinct()
    earlier = (
        f"last({FEAT}, true) OVER (PARTITION BY {', '.join(keys)} ORDER BY {BUCKET} ASC, {is_label} DESC "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {FEAT}"
    )
    carried = (
        wanted.select(*keys, BUCKET, F.lit(True).alias(is_label), F.lit(None).cast(feat_type).alias(FEAT))
        .unionByName(bucket_last.select(*keys, BUCKET, F.lit(False).alias(is_label), FEAT))
        .selectExpr(*keys, BUCKET, is_label, earlier)
        .where(f"{is_label} AND {FEAT} IS NOT NULL")
        .select(*keys, BUCKET, F.lit(None).cast("timestamp").alias(order_ts), F.lit(False).alias(is_label),
                F.lit(None).cast("timestamp").alias(CREATED_TS), *nulls, FEAT)
    )
    window = (
        f"last({FEAT}, true) OVER (PARTITION BY {', '.join(keys)}, {BUCKET} ORDER BY {order_ts} ASC NULLS FIRST, "
        f"{is_label}, {CREATED_TS} ASC NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {FEAT}"
    )
    joined = (labels_side.unionByName(features_side).unionByName(carried)
              .selectExpr(*keys, order_ts, is_label, *[_q(c) for c in carry_cols], window))
    outs = [f"{order_ts} AS {LABEL_TS}" if c == LABEL_TS else _q(c) for c in frame.columns]
    return joined.where(is_label).selectExpr(*outs, FEAT)


def bucket_width(plan: PitPlan, view: PitView) -> int:
    """Bucket width (µs) splitting the labels' span, widened by the TTL, into ``SALT_BUCKETS`` buckets."""
    span = (plan.max_ts - plan.min_ts) if plan.max_ts and plan.min_ts else timedelta(days=1)
    span += view.ttl or timedelta(0)
    return max(1, int(span / timedelta(microseconds=1)) // SALT_BUCKETS)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
