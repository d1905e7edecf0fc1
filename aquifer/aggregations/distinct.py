"""``approx_distinct``: the number of distinct non-null values, estimated by a DataSketches HLL sketch.

``hll_sketch`` with ``lg_k = 12`` (4096 registers, HLL_4). Below a few hundred distinct values the sketch
keeps exact coupons and is exact in practice; beyond, the estimate is within ``HLL_REL_ERROR`` (≈ 5%, three
standard deviations of a unioned sketch: DataSketches' ``get_rel_err(…, lg_k=12, num_std_devs=3)``) of the
true count with 99.7% confidence. Merges (panes, Spark partials, stream states) keep that bound; the estimate
of merged sketches may differ in its last digits from one built by updates, so engines agree within the bound.

**Values hashed.** Equal values must hash equally whatever the engine's type for them: bools count as ints,
and a float holding an integer (``3.0``, within the 64-bit range) as that int, so ``3`` read from JSON and
``3.0`` read from Parquet are one value. Strings hash as strings (UTF-8), ints as 64-bit integers, other
floats as their IEEE bits (DataSketches' own rule, the same in Java: Spark's native ``hll_sketch_agg`` builds
the very same sketches, see ``engines/spark/windows.py``). An empty window gives 0 (like ``count``); the
feature is Int64.
"""

from __future__ import annotations

import math

from datasketches import hll_sketch, hll_union

from aquifer.aggregations.functions import Aggregator, is_null
from aquifer.aggregations.values import plain

HLL_LG_K = 12
_LONG = 2.0**63
HLL_REL_ERROR: float = max(abs(hll_sketch.get_rel_err(upper, True, HLL_LG_K, 3)) for upper in (True, False))


def hll_value(value: object) -> int | float | str:
    """The value as the sketch hashes it (see the module docstring)."""
    value = plain(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer() and -_LONG <= value < _LONG:
        return int(value)
    if isinstance(value, int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value)


class ApproxDistinct(Aggregator):
    """Estimated number of distinct non-null values. State: ``hll_sketch`` (lg_k 12)."""

    function = "approx_distinct"
    state_kind = f"hll{HLL_LG_K}"

    def init(self) -> hll_sketch:
        return hll_sketch(HLL_LG_K)

    def update(self, state: hll_sketch, value: object) -> hll_sketch:
        if not is_null(value):
            state.update(hll_value(value))
        return state

    def add(self, state: hll_sketch, value: object) -> hll_sketch:
        state.update(hll_value(value))
        return state

    def merge(self, a: hll_sketch, b: hll_sketch) -> hll_sketch:
        if b.is_empty():
            return a
        union = hll_union(HLL_LG_K)
        union.update(a)
        union.update(b)
        return union.get_result()

    def finalize(self, state: hll_sketch) -> int:
        return 0 if state.is_empty() else math.floor(state.get_estimate() + 0.5)  # Java's Math.round, as Spark

    def to_bytes(self, state: hll_sketch) -> bytes:
        return state.serialize_compact()

    def from_bytes(self, data: bytes) -> hll_sketch:
        return hll_sketch.deserialize(data)
