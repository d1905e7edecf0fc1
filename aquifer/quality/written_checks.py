"""Validation riding on the write: row checks counted and a sample drawn by the tasks that write the rows.

A validation counts *flags*: each row check's failures and each checked column's nulls (NaN included). A
``WrittenChecks`` observer of the offline writer (``aquifer.stores.offline.writer``) counts them in each task's
Arrow tables two ways:

- ``ArrowCheck``: null-ness, ranges of numbers and sets of numbers, strings and booleans, evaluated with
  pyarrow's compute kernels over whole columns, with the engines' rules (nulls and NaN fail only not-null;
  numbers compare in their common type). About a nanosecond a value;
- masks: what the engine evaluates itself (regular expressions, in the engine's own dialect, and anything else
  Arrow cannot judge exactly as the engine would) packed into int64 bit masks (``MASK_BITS`` flags a mask),
  shown to the observer beside the rows; it counts the bits of the rows whose mask is not zero (on clean data, a
  handful).

It also draws a Bernoulli sample of the columns the aggregate expectations need. The driver merges what the
tasks send back (``merge_written``). Validation then costs its checks' evaluation in the write's own pass, not a
pass of its own over the rows: see docs/quality.md for the figures.

The sample: each row is kept with probability ``fraction`` by a seeded uniform draw, and the driver keeps the
``limit`` rows of least draw, so it is a uniform sample without replacement of the rows written. Each task seeds
its draws with the seed and the first event time it sees: a rerun over the same rows draws the same sample.
"""

from __future__ import annotations

import numbers
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NULL, IN_RANGE, IN_SET = "null", "in_range", "in_set"

MASK_BITS = 63
"""Flags packed into one int64 mask (bit 63, the sign, is left alone)."""


@dataclass(frozen=True)
class ArrowCheck:
    """One flag pyarrow counts: ``kind`` ``null`` (null or NaN: a not-null check's failures, or a column's nulls),
    ``in_range`` (a non-null value below ``lo`` or above ``hi``) or ``in_set`` (a non-null value not in
    ``values``); ``flag`` is its index among the flags."""

    flag: int
    kind: str
    column: str
    lo: Any = None
    hi: Any = None
    values: tuple[Any, ...] = ()

    def count(self, array: Any) -> int:
        """How many values of ``array`` (an Arrow array) raise this flag."""
        import pyarrow as pa
        import pyarrow.compute as pc

        floating = pa.types.is_floating(array.type)
        if self.kind == NULL:
            return _true(pc.is_null(array, nan_is_null=True)) if floating else array.null_count
        if self.kind == IN_RANGE:  # a null's comparison is null and NaN's false: neither is counted
            bounds = [b for b in (self.lo, self.hi) if b is not None]
            if not bounds:
                return 0
            # Spark's rule: an integer column against an integer bound compares exactly, else both as doubles
            exact = not floating and all(isinstance(b, numbers.Integral) for b in bounds)
            values = array.cast(pa.int64()) if exact else array.cast(pa.float64(), safe=False)
            lo = None if self.lo is None else (int(self.lo) if exact else float(self.lo))
            hi = None if self.hi is None else (int(self.hi) if exact else float(self.hi))
            low = None if lo is None else pc.less(values, pa.scalar(lo, values.type))
            high = None if hi is None else pc.greater(values, pa.scalar(hi, values.type))
            bad = high if low is None else low if high is None else pc.or_(low, high)
        else:
            # a float column meets its set as doubles and an integer one as longs, as in Spark
            wide = pa.float64() if floating else pa.int64() if pa.types.is_integer(array.type) else array.type
            values = array.cast(wide)
            bad = pc.invert(pc.is_in(values, value_set=pa.array(self.values, type=wide)))
            # is_in says a null (or NaN) is not in the set: it is neither in nor out
            if floating:
                bad = pc.and_(bad, pc.invert(pc.is_null(array, nan_is_null=True)))
            elif array.null_count:
                bad = pc.and_(bad, pc.is_valid(array))
        return _true(bad)


def _true(flags: Any) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(flags).as_py() or 0)


class WrittenChecks:
    """An offline-writer observer: counts ``flags`` flags, each by an ``ArrowCheck`` of ``arrow`` or by a bit of
    the ``masks`` columns (``(column, [flag of each bit])``), and samples the ``sampled`` columns.

    ``fraction``: the share of rows drawn into the sample (0: no sample); ``seed`` and ``time_column`` seed the
    draws.
    """

    def __init__(self, masks: Sequence[tuple[str, Sequence[int]]], flags: int, sampled: Sequence[str] = (),
                 fraction: float = 0.0, seed: int = 14, time_column: str = "event_ts",
                 arrow: Sequence[ArrowCheck] = ()):
        self.masks, self.flags, self.arrow = [(name, list(bits)) for name, bits in masks], flags, list(arrow)
        self.sampled, self.fraction, self.seed, self.time_column = list(sampled), fraction, seed, time_column
        self.rows = 0
        self.counts = [0] * flags
        self.drawn: list[Any] = []
        self._rng: Any = None

    def update(self, table: Any) -> None:
        """Count ``table``'s flags and draw its sample rows."""
        import numpy as np

        self.rows += table.num_rows
        for check in self.arrow:
            self.counts[check.flag] += check.count(table.column(check.column))
        for name, bits in self.masks:
            mask = table.column(name).to_numpy()
            raised = mask[mask != 0]  # a clean row's mask is 0: the per-flag counts only look at the others
            if raised.size:
                for b, flag in enumerate(bits):
                    self.counts[flag] += int(np.count_nonzero(raised & np.int64(1 << b)))
        if self.sampled and self.fraction > 0 and table.num_rows:
            self._draw(table)

    def _draw(self, table: Any) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if self._rng is None:
            first = pc.min(table.column(self.time_column).cast(pa.int64())).as_py() or 0
            self._rng = np.random.default_rng([self.seed, abs(int(first))])
        draws = self._rng.random(table.num_rows)
        keep = np.flatnonzero(draws < self.fraction)
        if keep.size:
            picked = table.select(self.sampled).take(pa.array(keep))
            self.drawn.append(picked.append_column("__draw", pa.array(draws[keep])))

    def to_bytes(self) -> bytes:
        """Rows, flag counts and the drawn rows (Arrow IPC), pickled."""
        return pickle.dumps({"rows": self.rows, "counts": self.counts, "sample": _ipc(self.drawn)})


@dataclass
class WrittenCounts:
    """What the writing tasks saw, merged: ``rows``, each flag's ``counts``, and the ``sample`` (pandas, at most
    ``limit`` rows; None when no sample was asked for)."""

    rows: int
    counts: list[int]
    sample: Any


def merge_written(parts: Sequence[bytes], flags: int, limit: int) -> WrittenCounts:
    """Merge the tasks' ``WrittenChecks.to_bytes``; the sample is the ``limit`` drawn rows of least draw."""
    import pyarrow as pa

    rows, counts, drawn = 0, [0] * flags, []
    for part in parts:
        seen = pickle.loads(part)
        rows += seen["rows"]
        counts = [a + b for a, b in zip(counts, seen["counts"], strict=True)]
        if seen["sample"] is not None:
            drawn.append(pa.ipc.open_stream(seen["sample"]).read_all())
    sample = None
    if drawn:
        table = pa.concat_tables(drawn).sort_by("__draw").slice(0, limit)
        sample = table.drop_columns(["__draw"]).to_pandas()
    return WrittenCounts(rows, counts, sample)


def _ipc(tables: list[Any]) -> bytes | None:
    import pyarrow as pa

    if not tables:
        return None
    table = pa.concat_tables(tables)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
