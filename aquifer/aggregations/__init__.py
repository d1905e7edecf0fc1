"""One aggregation model for batch and stream: aggregate states, the KLL sketch, window assignment, the
brute-force reference that engines are tested against, and ``WindowOperator``, its event-at-a-time form.
Pure Python; no Spark, Kafka or pandas."""

from aquifer.aggregations.distinct import HLL_LG_K, HLL_REL_ERROR
from aquifer.aggregations.epoch import EPOCH, duration_micros, from_micros, to_micros
from aquifer.aggregations.functions import Aggregator, Avg, Count, Max, Min, Sum, Value, is_null
from aquifer.aggregations.incremental import KeyState, Late, WindowOperator, WindowRow
from aquifer.aggregations.lookup import aggregator_for
from aquifer.aggregations.reference import WindowValue, compute_windows, compute_windows_by_entity, value_as_of
from aquifer.aggregations.sketch import KLL_K, KLL_RANK_ERROR, Percentile, exact_quantile, new_sketch
from aquifer.aggregations.windows import (
    assign,
    assign_sessions,
    event_windows,
    input_range,
    sliding_windows,
    tumbling_window,
    window_step,
)

__all__ = [
    "EPOCH",
    "HLL_LG_K",
    "HLL_REL_ERROR",
    "KLL_K",
    "KLL_RANK_ERROR",
    "Aggregator",
    "Avg",
    "Count",
    "KeyState",
    "Late",
    "Max",
    "Min",
    "Percentile",
    "Sum",
    "Value",
    "WindowOperator",
    "WindowRow",
    "WindowValue",
    "aggregator_for",
    "assign",
    "assign_sessions",
    "compute_windows",
    "compute_windows_by_entity",
    "duration_micros",
    "event_windows",
    "exact_quantile",
    "from_micros",
    "input_range",
    "is_null",
    "new_sketch",
    "sliding_windows",
    "to_micros",
    "tumbling_window",
    "value_as_of",
    "window_step",
]
