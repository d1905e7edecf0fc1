"""``aggregator_for("p95")``: the one ``Aggregator`` that batch and stream engines use for a function name."""

from __future__ import annotations

from functools import cache

from aquifer.aggregations.functions import Aggregator, Avg, Count, Max, Min, Sum
from aquifer.aggregations.sketch import Percentile
from aquifer.definitions.aggregation import percentile_of

_SIMPLE: dict[str, Aggregator] = {agg.function: agg for agg in (Count(), Sum(), Avg(), Min(), Max())}


@cache
def aggregator_for(function: str) -> Aggregator:
    """The aggregator for ``count``, ``sum``, ``avg``, ``min``, ``max``, ``p50``/``p90``/``p95``/``p99`` or
    ``percentile(q)`` (case and surrounding spaces ignored, as in ``Aggregation``); ``ValueError`` otherwise.
    """
    name = str(function).strip().lower()
    if name in _SIMPLE:
        return _SIMPLE[name]
    q = percentile_of(name)
    if q is None:
        raise ValueError(
            f"unknown aggregate function {function!r}: use count, sum, avg, min, max, p50, p90, p95, p99 "
            "or percentile(q) with 0 <= q <= 1"
        )
    return Percentile(q)
