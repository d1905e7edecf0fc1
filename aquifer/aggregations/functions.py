"""Aggregate functions as ``init / update / merge / finalize`` over small, serializable states.

Shared rules (batch and stream alike):

* **Nulls.** ``None`` and NaN are nulls. Every function ignores them; ``count`` counts the non-null values
  of its column (SQL ``COUNT(col)``, except that NaN is null too).
* **Empty windows.** A window whose events all have null values (or a closing window with no events, see
  ``aquifer.aggregations.reference``) yields ``count`` → 0 and ``None`` for every other function (SQL:
  ``SUM`` of nothing is NULL, not 0).
* **Types.** ``count`` finalizes to ``int``; everything else to ``float``.
* **Ownership.** ``update(state, v)`` and ``merge(a, b)`` may change their first argument and return the
  new state: always use the returned value. ``b`` is never changed.
* **Floats.** ``sum`` and ``avg`` add floats, so a different grouping of the same values (``merge`` of
  partial states vs one ``update`` loop) can differ in the last bits: compare with a relative tolerance.

States: count ``int``; sum ``float | None``; avg ``(count, total)``; min/max ``float | None``; percentiles
a KLL sketch (``aquifer.aggregations.sketch``). ``to_bytes`` / ``from_bytes`` give a compact little-endian
encoding (Spark ships them between tasks); ``write`` / ``read`` append a state to, and read it from, a larger
buffer without a length prefix where the state has a fixed layout (the stream engine's per-key states).
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

from aquifer.aggregations.varint import read_uint, write_uint

Value = int | float | None
"""What ``finalize`` returns."""

_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_AVG = struct.Struct("<qd")
_TAGGED_F64 = struct.Struct("<Bd")


def is_null(value: object) -> bool:
    """True for ``None`` and NaN (``x != x`` is only true for NaN)."""
    return value is None or value != value


class Aggregator(ABC):
    """One aggregate function. Stateless itself: engines keep one state per (entity, window)."""

    function: ClassVar[str] = ""
    state_kind: str = ""
    """Aggregators with equal ``state_kind`` share one state layout, so an engine can keep a single state
    for, e.g., p50 and p99 of the same column and window."""
    immutable_state: ClassVar[bool] = False
    """True when states are immutable values (numbers, tuples) that ``update`` and ``merge`` replace rather
    than change: one state may then be shared (``Slots`` shares one empty state and copies none)."""
    inputs: ClassVar[str] = "value"
    """What ``update`` / ``add`` take: ``"value"`` the column's value; ``"timed"`` ``(event time µs, value)``
    (``first``, ``last``, ``last_n``); ``"by"`` ``(by value, event time µs, value)`` (``min_by``, ``max_by``).
    The value (and the by value) is never null in ``add``; ``update`` ignores an input whose value is null."""

    @abstractmethod
    def init(self) -> Any:
        """The state of a window with no values."""

    @abstractmethod
    def update(self, state: Any, value: object) -> Any:
        """Add one value (nulls are ignored) and return the new state."""

    def add(self, state: Any, value: object) -> Any:
        """``update`` with a value known not to be null (callers check nulls once for several aggregators)."""
        return self.update(state, value)

    @abstractmethod
    def merge(self, a: Any, b: Any) -> Any:
        """The state of the values of ``a`` and ``b`` together (may reuse ``a``; never changes ``b``)."""

    @abstractmethod
    def finalize(self, state: Any) -> Value:
        """The window's feature value (``count`` → int, others → float; None when there were no values)."""

    @abstractmethod
    def to_bytes(self, state: Any) -> bytes:
        """Serialize a state."""

    @abstractmethod
    def from_bytes(self, data: bytes) -> Any:
        """Read a state written by ``to_bytes``."""

    def write(self, state: Any, out: bytearray) -> None:
        """Append the state to ``out`` so that ``read`` finds its end: here ``to_bytes`` after its length."""
        data = self.to_bytes(state)
        write_uint(out, len(data))
        out += data

    def read(self, data: bytes, pos: int) -> tuple[Any, int]:
        """The state ``write`` appended at ``pos`` of ``data``, and the position after it."""
        length, pos = read_uint(data, pos)
        end = pos + length
        if end > len(data):
            raise ValueError("state truncated")
        return self.from_bytes(data[pos:end]), end

    def aggregate(self, values: Iterable[object]) -> Value:
        """Convenience: ``finalize`` of all ``values`` folded into ``init()``."""
        state = self.init()
        for value in values:
            state = self.update(state, value)
        return self.finalize(state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Count(Aggregator):
    """Number of non-null values. State: ``int``."""

    function = "count"
    state_kind = "count"
    immutable_state = True

    def init(self) -> int:
        return 0

    def update(self, state: int, value: object) -> int:
        return state if is_null(value) else state + 1

    def add(self, state: int, value: object) -> int:
        return state + 1

    def merge(self, a: int, b: int) -> int:
        return a + b

    def finalize(self, state: int) -> int:
        return state

    def to_bytes(self, state: int) -> bytes:
        return _I64.pack(state)

    def from_bytes(self, data: bytes) -> int:
        return _I64.unpack(data)[0]

    def write(self, state: int, out: bytearray) -> None:
        if 0 <= state < 0x80:  # a varint: counts per pane are small
            out.append(state)
        else:
            write_uint(out, state)

    def read(self, data: bytes, pos: int) -> tuple[int, int]:
        return read_uint(data, pos)


class _OptionalFloat(Aggregator):
    """Shared by sum, min and max: the state is a ``float``, or ``None`` before the first value."""

    immutable_state = True

    def init(self) -> float | None:
        return None

    def update(self, state: float | None, value: object) -> float | None:
        if is_null(value):
            return state
        return self.merge(state, float(value))  # type: ignore[arg-type]

    def add(self, state: float | None, value: object) -> float | None:
        return self.merge(state, float(value))  # type: ignore[arg-type]

    def finalize(self, state: float | None) -> float | None:
        return state

    def to_bytes(self, state: float | None) -> bytes:
        return b"" if state is None else _F64.pack(state)

    def from_bytes(self, data: bytes) -> float | None:
        return _F64.unpack(data)[0] if data else None

    def write(self, state: float | None, out: bytearray) -> None:
        """A tag byte, 0 for None, else 1 followed by the float (any float, NaN and infinities included)."""
        if state is None:
            out.append(0)
        else:
            out += _TAGGED_F64.pack(1, state)

    def read(self, data: bytes, pos: int) -> tuple[float | None, int]:
        tag = data[pos]
        if tag == 1:
            return _F64.unpack_from(data, pos + 1)[0], pos + 9
        if tag == 0:
            return None, pos + 1
        raise ValueError(f"bad float state tag {tag}")


class Sum(_OptionalFloat):
    """Sum of non-null values; ``None`` when there were none. State: ``float | None``."""

    function = "sum"
    state_kind = "sum"

    def merge(self, a: float | None, b: float | None) -> float | None:
        if a is None:
            return b
        return a if b is None else a + b


class Min(_OptionalFloat):
    """Smallest non-null value. State: ``float | None``."""

    function = "min"
    state_kind = "min"

    def merge(self, a: float | None, b: float | None) -> float | None:
        if a is None:
            return b
        return a if b is None or a <= b else b


class Max(_OptionalFloat):
    """Largest non-null value. State: ``float | None``."""

    function = "max"
    state_kind = "max"

    def merge(self, a: float | None, b: float | None) -> float | None:
        if a is None:
            return b
        return a if b is None or a >= b else b


class Avg(Aggregator):
    """Mean of non-null values; ``None`` when there were none. State: ``(count, total)``."""

    function = "avg"
    state_kind = "avg"
    immutable_state = True

    def init(self) -> tuple[int, float]:
        return (0, 0.0)

    def update(self, state: tuple[int, float], value: object) -> tuple[int, float]:
        if is_null(value):
            return state
        return (state[0] + 1, state[1] + float(value))  # type: ignore[arg-type]

    def add(self, state: tuple[int, float], value: object) -> tuple[int, float]:
        return (state[0] + 1, state[1] + float(value))  # type: ignore[arg-type]

    def merge(self, a: tuple[int, float], b: tuple[int, float]) -> tuple[int, float]:
        return (a[0] + b[0], a[1] + b[1])

    def finalize(self, state: tuple[int, float]) -> float | None:
        return state[1] / state[0] if state[0] else None

    def to_bytes(self, state: tuple[int, float]) -> bytes:
        return _AVG.pack(*state)

    def from_bytes(self, data: bytes) -> tuple[int, float]:
        return _AVG.unpack(data)  # type: ignore[return-value]

    def write(self, state: tuple[int, float], out: bytearray) -> None:
        out += _AVG.pack(*state)

    def read(self, data: bytes, pos: int) -> tuple[tuple[int, float], int]:
        return _AVG.unpack_from(data, pos), pos + _AVG.size  # type: ignore[return-value]
