"""Ranges with nothing to compute: a planned batch is trimmed to the whole UTC days where input rows lie.

A run plans batches from the ledger alone (``ledger.plan_run``). Before any is computed, each is cut to
the part that can hold rows: the whole UTC days between the first and the last place in it where the
view's inputs have rows (``wanted``, from the sources' footer statistics) or where the view already holds
rows in the offline store (those must be rewritten, even to nothing). The rest of the batch is **empty**:
recorded in the ledger as done without being computed. One batch stays one computation (never split
into many small ones); a batch with nothing wanted is empty whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from aquifer.planning.intervals import Interval, intersect, normalize, subtract
from aquifer.planning.times import DAY, ceil_time, floor_time


class Trimmed(NamedTuple):
    """Batches to compute (time order) and the empty time to record as done without computing."""

    compute: list[Interval]
    empty: list[Interval]


def trim_empty(batches: Iterable[Interval], wanted: Iterable[Interval]) -> Trimmed:
    """Each batch cut to the whole days spanning its part of ``wanted``; what is cut away is empty."""
    wanted = normalize(wanted)
    compute, empty = [], []
    for batch in batches:
        inside = intersect([batch], wanted)
        if not inside:
            empty.append(batch)
            continue
        start = max(batch.start, floor_time(inside[0].start, DAY))
        end = min(batch.end, ceil_time(inside[-1].end, DAY))
        kept = Interval(start, end)
        compute.append(kept)
        empty += subtract([batch], [kept])
    return Trimmed(compute, normalize(empty))

