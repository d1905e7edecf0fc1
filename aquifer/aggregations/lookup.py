"""``aggregator_for("p95")``: the one ``Aggregator`` that batch and stream engines use for a function name."""

from __future__ import annotations

from functools import cache

from aquifer.aggregations.distinct import ApproxDistinct
from aquifer.aggregations.functions import Aggregator, Avg, Count, Max, Min, Sum
from aquifer.aggregations.moments import StddevPop, StddevSamp, VarPop, VarSamp
from aquifer.aggregations.ordered import First, Last, LastN, MaxBy, MinBy
from aquifer.aggregations.sketch import Percentile
from aquifer.definitions.aggregation import last_n_of, percentile_of

_SIMPLE: dict[str, Aggregator] = {
    agg.function: agg
    for agg in (Count(), Sum(), Avg(), Min(), Max(), StddevPop(), StddevSamp(), VarPop(), VarSamp(),
                ApproxDistinct(), First(), Last(), MinBy(), MaxBy())
}


@cache
def aggregator_for(function: str) -> Aggregator:
    """The aggregator for a function name (case and surrounding spaces ignored, as in ``Aggregation``):
    ``count``, ``sum``, ``avg``, ``min``, ``max``, ``stddev_pop``, ``stddev_samp``, ``var_pop``, ``var_samp``,
    ``approx_distinct``, ``first``, ``last``, ``min_by``, ``max_by``, ``p50``/``p90``/``p95``/``p99``,
    ``percentile(q)`` or ``last_n(k)``; ``ValueError`` otherwise.
    """
    name = str(function).strip().lower()
    if name in _SIMPLE:
        return _SIMPLE[name]
    k = last_n_of(name)
    if k is not None:
        return LastN(k)
    q = percentile_of(name)
    if q is None:
        raise ValueError(
            f"unknown aggregate function {function!r}: use count, sum, avg, min, max, stddev_pop, stddev_samp, "
            "var_pop, var_samp, approx_distinct, first, last, min_by, max_by, p50, p90, p95, p99, "
            "percentile(q) with 0 <= q <= 1 or last_n(k)"
        )
    return Percentile(q)
