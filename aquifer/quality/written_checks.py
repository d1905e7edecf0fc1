"""Validation riding on the write: row checks counted and a sample drawn by the tasks that write the rows.

An engine packs each row's check outcomes into int64 bit masks (``MASK_BITS`` flags a mask; bit ``k`` of the
``k // MASK_BITS``-th mask is flag ``k``: a failed row check, or a checked column's null) and shows them, beside
the rows, to a ``WrittenChecks`` observer of the offline writer (``aquifer.stores.offline.writer``). The
observer counts each flag and draws a Bernoulli sample of the columns the aggregate expectations need; the
driver merges what the tasks send back (``merge_written``). Validation then costs the masks' evaluation in the
write's own pass and a count over the rows whose mask is not zero (on clean data, a handful), not a pass of its
own over the rows: see docs/quality.md for the figures.

The sample: each row is kept with probability ``fraction`` by a seeded uniform draw, and the driver keeps the
``limit`` rows of least draw, so it is a uniform sample without replacement of the rows written. Each task seeds
its draws with the seed and the first event time it sees: a rerun over the same rows draws the same sample.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MASK_BITS = 63
"""Flags packed into one int64 mask (bit 63, the sign, is left alone)."""


def mask_layout(flags: int) -> list[int]:
    """How many flags each mask holds, for ``flags`` flags in all."""
    return [min(MASK_BITS, flags - lo) for lo in range(0, flags, MASK_BITS)]


class WrittenChecks:
    """An offline-writer observer: counts the flags of the ``masks`` columns and samples ``sampled`` columns.

    ``flags``: how many flags the masks hold in all; ``fraction``: the share of rows drawn into the sample (0: no
    sample); ``seed`` and ``time_column`` seed the draws.
    """

    def __init__(self, masks: Sequence[str], flags: int, sampled: Sequence[str] = (), fraction: float = 0.0,
                 seed: int = 14, time_column: str = "event_ts"):
        self.masks, self.flags = list(masks), flags
        self.sampled, self.fraction, self.seed, self.time_column = list(sampled), fraction, seed, time_column
        self.rows = 0
        self.counts = [0] * flags
        self.drawn: list[Any] = []
        self._rng: Any = None

    def update(self, table: Any) -> None:
        """Count ``table``'s flags and draw its sample rows."""
        import numpy as np

        self.rows += table.num_rows
        for j, (name, bits) in enumerate(zip(self.masks, mask_layout(self.flags), strict=True)):
            mask = table.column(name).to_numpy()
            raised = mask[mask != 0]  # a clean row's mask is 0: the per-flag counts only look at the others
            if raised.size:
                for b in range(bits):
                    self.counts[j * MASK_BITS + b] += int(np.count_nonzero(raised & np.int64(1 << b)))
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
