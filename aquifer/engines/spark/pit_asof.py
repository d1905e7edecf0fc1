"""The PIT join of one view through Spark 4.3's native SQL ``ASOF JOIN`` (sort-merge ASOF operator).

``spark.sql.join.asofJoin.enabled`` turns the syntax on; Spark plans it as ``SortMergeAsOfJoin``:
both sides hash-partitioned by the join keys, sorted by the match key, scanned once. The match key is
the tuple ``(ts, +inf) >= (event_ts, created_ts)`` (compared lexicographically), so the closest match is
the greatest ``event_ts <= ts`` and, among equal ``event_ts``, the greatest ``created_ts``: the tie rule
is part of the match instead of a separate dedupe. The whole feature row travels as one struct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aquifer.planning.pit import LABEL_TS, MAX_TS, PitView
from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FEAT = "__aq_feat"
ASOF_CONF = "spark.sql.join.asofJoin.enabled"
MIN_TS = "0001-01-01 00:00:00"  # a missing created_ts loses every tie


def attach_asof(spark: SparkSession, frame: DataFrame, rows: DataFrame, view: PitView) -> DataFrame:
    """Add the winning feature struct of ``view`` to every label row (column ``__aq_feat``), by ASOF JOIN."""
    from pyspark.sql import functions as F

    spark.conf.set(ASOF_CONF, "true")
    renamed = {k: f"__aq_key{i}" for i, k in enumerate(view.keys)}
    right = rows.select(
        *[F.col(k).alias(renamed[k]) for k in view.keys],
        F.col(EVENT_TS).alias("__aq_ets"),
        F.coalesce(F.col(CREATED_TS), F.lit(MIN_TS).cast("timestamp")).alias("__aq_cts"),
        F.col(FEAT),
    )
    on = " AND ".join(f"l.`{k}` = r.`{renamed[k]}`" for k in view.keys)
    cols = ", ".join(f"l.`{c}`" for c in frame.columns)
    query = (
        f"SELECT {cols}, CASE WHEN l.`{LABEL_TS}` IS NOT NULL THEN r.`{FEAT}` END AS `{FEAT}` "
        "FROM {left} AS l LEFT ASOF JOIN {right} AS r "
        f"MATCH_CONDITION ((l.`{LABEL_TS}`, TIMESTAMP'{MAX_TS}') >= (r.`__aq_ets`, r.`__aq_cts`)) ON {on}"
    )
    return spark.sql(query, left=frame, right=right)
