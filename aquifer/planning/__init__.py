"""Engine-neutral plans: what is missing, what a backfill reruns, how runs are batched; no I/O.

Half-open event-time intervals ``[start, end)`` of tz-aware UTC datetimes. Beside them, as modules of
their own: ``pit`` (the plain values a point-in-time join is planned in, shared by every engine) and
``engine_choice`` (the ``auto`` rule: DuckDB in-process or Spark). Engines import planning, never the
other way.
"""

from aquifer.planning.intervals import Interval, intersect, normalize, span, subtract, union
from aquifer.planning.ledger import (
    BackfillPlan,
    align_to_days,
    backfill_plan,
    missing_intervals,
    plan_run,
    split_batches,
)
from aquifer.planning.times import DAY, as_utc, ceil_time, floor_time, parse_time

__all__ = [
    "DAY",
    "BackfillPlan",
    "Interval",
    "align_to_days",
    "as_utc",
    "backfill_plan",
    "ceil_time",
    "floor_time",
    "intersect",
    "missing_intervals",
    "normalize",
    "parse_time",
    "plan_run",
    "span",
    "split_batches",
    "subtract",
    "union",
]
