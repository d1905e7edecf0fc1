"""Variance and standard deviation from mergeable moments ``(n, mean, m2)``.

``m2`` is the sum of squared deviations from the mean. ``add`` is Welford's update; ``merge`` is Chan et
al.'s parallel formula (``m2 = m2a + m2b + d² · na · nb / n`` with ``d = mean_b - mean_a``), so panes, Spark
partials and stream states combine without the cancellation of ``Σx² - n·mean²``.

* ``var_pop`` = ``m2 / n`` and ``stddev_pop`` its square root: ``None`` for an empty window, 0.0 for one value.
* ``var_samp`` = ``m2 / (n - 1)`` and ``stddev_samp`` its square root: ``None`` below two values (SQL's
  ``VAR_SAMP`` / ``STDDEV_SAMP``, and Spark's).

All four of one column and window share one state (``state_kind = "moments"``).
"""

from __future__ import annotations

import math
import struct

from aquifer.aggregations.functions import Aggregator, is_null

Moments = tuple[int, float, float]
_MOMENTS = struct.Struct("<qdd")
_EMPTY: Moments = (0, 0.0, 0.0)


class _Moments(Aggregator):
    state_kind = "moments"
    immutable_state = True
    sample = False
    root = False

    def init(self) -> Moments:
        return _EMPTY

    def update(self, state: Moments, value: object) -> Moments:
        return state if is_null(value) else self.add(state, value)

    def add(self, state: Moments, value: object) -> Moments:
        x = float(value)  # type: ignore[arg-type]
        n, mean, m2 = state
        n += 1
        delta = x - mean
        mean += delta / n
        return (n, mean, m2 + delta * (x - mean))

    def merge(self, a: Moments, b: Moments) -> Moments:
        na, ma, m2a = a
        nb, mb, m2b = b
        if not nb:
            return a
        if not na:
            return b
        n = na + nb
        delta = mb - ma
        return (n, ma + delta * nb / n, m2a + m2b + delta * delta * na * nb / n)

    def finalize(self, state: Moments) -> float | None:
        n, _, m2 = state
        denominator = n - 1 if self.sample else n
        if denominator <= 0:
            return None
        variance = max(m2, 0.0) / denominator
        return math.sqrt(variance) if self.root else variance

    def to_bytes(self, state: Moments) -> bytes:
        return _MOMENTS.pack(*state)

    def from_bytes(self, data: bytes) -> Moments:
        return _MOMENTS.unpack(data)  # type: ignore[return-value]

    def write(self, state: Moments, out: bytearray) -> None:
        out += _MOMENTS.pack(*state)

    def read(self, data: bytes, pos: int) -> tuple[Moments, int]:
        return _MOMENTS.unpack_from(data, pos), pos + _MOMENTS.size  # type: ignore[return-value]


class VarPop(_Moments):
    """Population variance ``Σ(x - mean)² / n``."""

    function = "var_pop"


class VarSamp(_Moments):
    """Sample variance ``Σ(x - mean)² / (n - 1)``; None below two values."""

    function = "var_samp"
    sample = True


class StddevPop(_Moments):
    """Population standard deviation (square root of ``var_pop``)."""

    function = "stddev_pop"
    root = True


class StddevSamp(_Moments):
    """Sample standard deviation (square root of ``var_samp``); None below two values."""

    function = "stddev_samp"
    sample = True
    root = True
