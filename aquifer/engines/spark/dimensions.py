"""Dimension upstreams of a SQL view on Spark: how each is read, one row per key, and each row's validity.

``aquifer.analysis.dimensions`` decides what a query joins; this module prepares the rows:

- each upstream is read for the view's range (an event upstream), whole (a snapshot) or up to the range's
  end (an ``ASOF`` dimension: an event at ``t < end`` may need a row from long before ``start``); a
  ``Lookback`` in the view's ``reads`` starts the read that long before ``start`` instead;
- a dimension keeps one row per key (per key and time for ``ASOF``): the one with the greatest created
  timestamp (the source's ``created_timestamp_field``, a view's ``created_ts``); with none declared,
  a duplicate fails the run, naming the view, the dimension and the key (``plan`` already refused it);
- an ``ASOF`` dimension gets ``VALID_TO``, the key's next time, which the rewritten join compares with.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aquifer.analysis.dimensions import UNTIL_END, VALID_TO, WHOLE, DimensionJoin, JoinPlan
from aquifer.definitions import BatchSource, KafkaSource
from aquifer.stores.offline.layout import CREATED_TS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_RANK = "__aq_rank"
_ROWS = "__aq_rows"


def read_bounds(plan: JoinPlan, name: str, definition: Any, start: datetime, end: datetime
                ) -> tuple[datetime | None, datetime | None]:
    """The event-time bounds an upstream is read with for the range ``[start, end)``."""
    mode = plan.read_mode(name, definition)
    if mode == WHOLE:
        return None, None
    if name in plan.lookbacks:
        return start - plan.lookbacks[name], end
    if mode == UNTIL_END:
        return None, end
    return start, end


def created_column(definition: Any) -> str | None:
    """The column that decides between duplicate dimension rows (the latest wins)."""
    if isinstance(definition, BatchSource):
        return definition.created_timestamp_field
    if isinstance(definition, KafkaSource):
        return definition.created_timestamp_field
    return CREATED_TS


def prepared(view_name: str, inputs: Mapping[str, DataFrame], plan: JoinPlan, definitions: Mapping[str, Any]
             ) -> dict[str, DataFrame]:
    """``inputs`` with every dimension of ``plan`` reduced to one row per key and given its validity."""
    out = dict(inputs)
    for name, join in plan.dimensions.items():
        if name in out:
            out[name] = one_row_per_key(out[name], join, created_column(definitions.get(name)), view_name)
    return out


def one_row_per_key(df: DataFrame, join: DimensionJoin, created: str | None, view_name: str) -> DataFrame:
    """The dimension's rows, one per key (and time), plus ``VALID_TO`` for an ``ASOF`` dimension."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    by = [*join.keys, *([join.time] if join.time else [])]
    if join.time:
        df = df.where(F.col(join.time).isNotNull())
    group = Window.partitionBy(*by)
    if created and created in df.columns:
        ranked = df.withColumn(_RANK, F.row_number().over(group.orderBy(F.col(created).desc_nulls_last())))
        df = ranked.where(F.col(_RANK) == 1).drop(_RANK)
    else:
        key_text = F.concat_ws(", ", *(F.concat(F.lit(f"{c}="), F.col(c).cast("string")) for c in by))
        counted = df.withColumn(_ROWS, F.count(F.lit(1)).over(group))
        message = F.concat(F.lit(f"view {view_name!r}: dimension {join.upstream!r} has more than one row for "),
                           key_text, F.lit(" and no created_timestamp_field to pick one: declare "
                                           "created_timestamp_field= (e.g. 'updated_at') or remove the duplicates"))
        ok = F.when(F.col(_ROWS) > 1, F.raise_error(message).cast("boolean")).otherwise(F.lit(True))
        df = counted.where(ok).drop(_ROWS)
    if join.time:
        order = Window.partitionBy(*join.keys).orderBy(F.col(join.time))
        df = df.withColumn(VALID_TO, F.lead(F.col(join.time)).over(order))
    return df
