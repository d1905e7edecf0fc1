"""Where a backfill of an ``AggregationView`` must stop: the latest ``planning.carry.settle_time`` over its entities.

Reads the keys and event times of the view's source from ``end`` to ``limit`` (the rows a backfill of a
range before ``end`` did not change) and runs the pure rule per entity.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aquifer.definitions import AggregationView
from aquifer.planning.carry import carry_reach, settle_time
from aquifer.stores.offline.layout import EVENT_TS
from aquifer.times import from_micros, to_micros

if TYPE_CHECKING:
    import pandas as pd

    from aquifer.engines.spark.job import JobContext

_US = "__us"


def carry_end(ctx: JobContext, view: AggregationView, end: datetime, limit: datetime) -> datetime:
    """The end a backfill of ``view`` ending at ``end`` must be widened to (at most ``limit``, at least ``end``)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StructField, StructType

    from aquifer.engines.spark.job import read_upstream

    reach = carry_reach(view)
    if reach.lifetime or limit <= end:
        return max(end, limit)
    e = to_micros(end)
    floor = settle_time([], e, reach)
    assert floor is not None
    source = view.source
    assert source is not None
    keys = list(view.join_keys)
    ts = getattr(source, "timestamp_field", EVENT_TS)
    raw = read_upstream(ctx, source.name, end, limit)
    events = raw.select(*keys, F.unix_micros(F.col(ts).cast("timestamp")).alias(_US))
    for column in [*keys, _US]:  # as the computation: events without a time or a key make no rows
        events = events.where(F.col(column).isNotNull())

    def settle(frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        times = sorted(frame[_US].tolist())
        return pd.DataFrame({"__settle": [settle_time(times, e, reach)]}, dtype="int64")

    schema = StructType([StructField("__settle", LongType())])
    latest = events.groupBy(*keys).applyInPandas(settle, schema).agg(F.max("__settle")).first()[0]
    settled = max(floor, int(latest)) if latest is not None else floor
    return min(limit, max(end, from_micros(settled)))
