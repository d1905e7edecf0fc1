"""Pure interval planning over the ledger: what is missing, what a backfill reruns, how runs are batched.

Half-open event-time intervals ``[start, end)`` of tz-aware UTC datetimes; no I/O.
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
