"""Point-in-time join on Spark: every label row once, each view's features as of the label's timestamp.

Per view, the label rows and the view's feature rows are unioned and windowed by the view's join keys,
ordered by ``(ts, is_label, created_ts)``: a feature at exactly the label's ``ts`` sorts before the
label (it is available) and, among features with equal ``event_ts``, the greatest ``created_ts`` comes
last. ``last(feature_struct, ignorenulls=True)`` over the running frame then yields, for each label,
the whole winning feature row as ONE struct, so columns are never filled from different rows.

The alternative ``method="asof"`` uses Spark 4.3's sort-merge ASOF JOIN operator (see ``pit_asof``).

A source's availability delay (``PitView.delay``) shifts each feature row to the time it became usable,
``event_ts + delay``, before any join method sees it; the TTL still counts from ``event_ts``.

Feature rows are pruned before any shuffle: only ``min(label ts) - ttl <= event_ts <= max(label ts) - delay``
(and the matching ``event_date`` partitions) are read; then, when there are at most
``PRUNE_BROADCAST_ROWS`` labels, the same bounds per entity (``prune_to_labels``: a left-semi join
against each key's label time range, broadcast, so it runs before the shuffle): a row of an entity with
no label, after its last label, or older than its first label minus the TTL can never match. On
``bench/pit.py``'s 10M x 1M case this drops ~80% of the feature rows before they are shuffled and sorted.

Skew: both methods hash-partition by the join keys, so one entity's rows always land in one task. The
window keeps O(1) state per row in its running frame but buffers each key's rows (spilling to disk);
the ASOF operator streams both sorted sides with no per-key buffer. Either way a hot key costs time in
one task rather than memory, and AQE splits skewed partitions only for ordinary joins. For data with a
few very hot entities, ``method="salted"`` (``pit_salted``) partitions the window by (keys, time bucket)
and carries each bucket's predecessor in, so a hot entity spreads over many tasks; it costs an extra
aggregation, measured ~2x slower on uniform data, so it is opt-in. ``bench/pit.py`` has a dense case
(few entities, many rows each) and a ``skewed`` case (three entities hold half the rows).
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from functools import reduce
from typing import TYPE_CHECKING, Any

from aquifer.planning.pit import LABEL_TS, PitFeature, PitPlan, PitView
from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS
from aquifer.stores.offline.partitions import read_days, snapshot_files
from aquifer.times import to_micros

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FEAT = "__aq_feat"
METHODS = ("window", "asof", "salted")
DEFAULT_METHOD = "window"  # measured faster than "asof" in bench/pit.py, identical rows
PRUNE_BROADCAST_ROWS = 5_000_000  # per-entity pruning broadcasts one row per label entity: keep it small


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
        if plan.label_rows is not None and plan.label_rows <= PRUNE_BROADCAST_ROWS:
            rows = prune_to_labels(rows, labels, view)
        if method == "asof":
            from aquifer.engines.spark.pit_asof import attach_asof

            frame = attach_asof(spark, frame, rows, view)
        elif method == "salted":
            from aquifer.engines.spark.pit_salted import attach_window_salted

            frame = attach_window_salted(frame, rows, view, plan)
        else:
            frame = attach_window(frame, rows, view)
        frame = finish_view(frame, view, plan)
    return frame


def read_view_rows(spark: SparkSession, view: PitView, plan: PitPlan) -> DataFrame | None:
    """The view's feature rows that can matter for these labels: ``(keys, event_ts, created_ts, struct)``.

    The struct (column ``__aq_feat``) holds ``event_ts`` and the requested features. None when the view
    has no data or no label has a timestamp.

    Only the day partitions the range touches are read, listed once and swap-aware
    (``partitions.snapshot_files``); rows are filtered by ``unix_micros(event_ts)``, an expression Parquet
    cannot push down, on purpose: a pushed-down timestamp range makes Spark's vectorised reader filter
    by page index, which measured ~40% slower on ``bench/pit.py`` than filtering decoded rows.
    """
    bounds = plan.time_bounds(view)
    files = snapshot_files(view.path, read_days(*bounds)) if view.has_data and bounds is not None else []
    if not files:
        return None
    low, high = bounds
    df = spark.read.parquet(*[str(f) for f in files])
    event_ts = f"CAST({EVENT_TS} AS TIMESTAMP)"
    cond = [f"unix_micros({event_ts}) <= {to_micros(high)}", *[f"{_q(k)} IS NOT NULL" for k in view.keys]]
    if low is not None:
        cond.append(f"unix_micros({event_ts}) >= {to_micros(low)}")
    created = f"CAST({CREATED_TS} AS TIMESTAMP)" if CREATED_TS in df.columns else "CAST(NULL AS TIMESTAMP)"
    fields = [f"'{EVENT_TS}', {event_ts}"]
    fields += [f"{_str(f.name)}, CAST({_q(f.name)} AS {f.spark_type})" for f in view.features]
    # the joins order feature rows by when they became usable (event_ts + delay); the struct keeps the event
    # time, from which the TTL counts
    usable = f"timestamp_micros(unix_micros({event_ts}) + {view.delay_us})" if view.delay_us else event_ts
    return df.where(" AND ".join(cond)).selectExpr(
        *[_q(k) for k in view.keys], f"{usable} AS {EVENT_TS}", f"{created} AS {CREATED_TS}",
        f"named_struct({', '.join(fields)}) AS {FEAT}",
    )


def prune_to_labels(rows: DataFrame, labels: DataFrame, view: PitView) -> DataFrame:
    """``rows`` less those no label can match: per entity, ``first label ts - ttl <= event_ts <= last label ts``.

    A left-semi join with the labels' per-key time range, broadcast (the caller keeps it small).
    """
    from pyspark.sql import functions as F

    bound_keys = [f"__aq_bk{i}" for i in range(len(view.keys))]
    micros = F.unix_micros(F.col(LABEL_TS))
    bounds = labels.where(" AND ".join(f"{_q(k)} IS NOT NULL" for k in view.keys) + f" AND {LABEL_TS} IS NOT NULL")
    bounds = bounds.groupBy(*[F.col(_q(k)).alias(b) for k, b in zip(view.keys, bound_keys, strict=True)]).agg(
        F.min(micros).alias("__aq_lo"), F.max(micros).alias("__aq_hi"))
    event_us = F.unix_micros(F.col(EVENT_TS))
    cond = [rows[_q(k)] == F.col(b) for k, b in zip(view.keys, bound_keys, strict=True)]
    cond.append(event_us <= F.col("__aq_hi"))
    if view.ttl_us is not None:
        cond.append(event_us >= F.col("__aq_lo") - F.lit(view.ttl_us))
    return rows.join(F.broadcast(bounds), reduce(operator.and_, cond), "left_semi")


def attach_window(frame: DataFrame, rows: DataFrame, view: PitView) -> DataFrame:
    """Add the winning feature struct of ``view`` to every label row (column ``__aq_feat``), by window.

    The label side travels as plain columns, not as one struct: the view's keys and the ordering ts
    are shared with the feature side, and the other label columns (row id, other views' keys and
    features) are null on feature rows, so nothing is packed or unpacked per row.
    """
    from pyspark.sql import functions as F

    order_ts, is_label = "__aq_order_ts", "__aq_is_label"
    keys = [_q(k) for k in view.keys]
    carry = [c for c in frame.columns if c not in view.keys and c != LABEL_TS]
    labels_side = frame.select(
        *keys, F.col(LABEL_TS).alias(order_ts), F.lit(True).alias(is_label),
        F.lit(None).cast("timestamp").alias(CREATED_TS), *[_q(c) for c in carry],
        F.lit(None).cast(rows.schema[FEAT].dataType).alias(FEAT),
    )
    features_side = rows.select(
        *keys, F.col(EVENT_TS).alias(order_ts), F.lit(False).alias(is_label), CREATED_TS,
        *[F.lit(None).cast(frame.schema[c].dataType).alias(c) for c in carry], FEAT,
    )
    window = (
        f"last({FEAT}, true) OVER (PARTITION BY {', '.join(keys)} ORDER BY {order_ts} ASC NULLS FIRST, "
        f"{is_label}, {CREATED_TS} ASC NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {FEAT}"
    )
    joined = labels_side.unionByName(features_side).selectExpr(*keys, order_ts, is_label, *[_q(c) for c in carry],
                                                               window)
    outs = [f"{order_ts} AS {LABEL_TS}" if c == LABEL_TS else _q(c) for c in frame.columns]
    return joined.where(is_label).selectExpr(*outs, FEAT)


def finish_view(frame: DataFrame, view: PitView, plan: PitPlan) -> DataFrame:
    """Apply the TTL to the attached struct, then unpack it into the view's output columns."""
    feat = FEAT
    if view.ttl_us is not None:
        fresh = f"unix_micros({FEAT}.{EVENT_TS}) >= unix_micros({LABEL_TS}) - {view.ttl_us}"
        feat = f"CASE WHEN {fresh} THEN {FEAT} END"
    staged = frame.selectExpr(*[_q(c) for c in frame.columns if c != FEAT], f"{feat} AS {FEAT}")
    outs = [_filled(f"CAST({FEAT}.{_q(f.name)} AS {f.spark_type})", f, plan) for f in view.features]
    return staged.selectExpr(*[_q(c) for c in staged.columns if c != FEAT], *outs)


def _null_features(frame: DataFrame, view: PitView, plan: PitPlan) -> DataFrame:
    outs = [_filled(f"CAST(NULL AS {f.spark_type})", f, plan) for f in view.features]
    return frame.selectExpr("*", *outs)


def _filled(value: str, feature: PitFeature, plan: PitPlan) -> str:
    """``value AS `column```, or with the declared default in place of null when asked for."""
    if plan.fill_defaults and feature.default is not None:
        value = f"coalesce({value}, CAST({_literal(feature.default)} AS {feature.spark_type}))"
    return f"{value} AS {_q(feature.column)}"


def _literal(value: Any) -> str:
    """A Spark SQL literal for a declared default (naive datetimes are UTC, as everywhere in aquifer)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}L"
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"  # also nan and inf, which have no bare literal
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return f"TIMESTAMP'{value.replace(tzinfo=None).isoformat(sep=' ')}'"
    if isinstance(value, bytes | bytearray):
        return f"X'{bytes(value).hex()}'"
    return _str(str(value))


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _str(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
