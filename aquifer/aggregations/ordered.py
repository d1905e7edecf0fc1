"""Functions that pick values by order: ``first``, ``last``, ``last_n(k)`` (by event time) and ``min_by`` /
``max_by`` (by another column).

Nulls: an event whose value (or, for ``min_by`` / ``max_by``, whose ``by`` value) is null is ignored, as by
every function. An empty window gives ``None``.

**Ties** are broken so that every engine and every arrival order gives one answer:

* ``first`` — the least ``(event time, value)``; ``last`` — the greatest ``(event time, value)``: among events
  at the same time, ``first`` takes the least value and ``last`` the greatest.
* ``last_n(k)`` — the ``k`` greatest ``(event time, value)`` pairs, returned oldest first (so its last item
  is ``last``); fewer when the window holds fewer values. Values are floats.
* ``max_by(v, by)`` — the greatest ``(by, event time, v)``: the greatest ``by``, among equal ones the latest
  event, then the greatest value. ``min_by(v, by)`` — the least ``by``, among equal ones the latest event,
  then the least value (the least ``(by, -event time, v)``).

Values compare by ``values.order_key``. States are immutable tuples (``None`` when empty).
"""

from __future__ import annotations

import struct
from typing import Any

from aquifer.aggregations.functions import Aggregator, is_null
from aquifer.aggregations.values import order_key, read_value, write_value
from aquifer.aggregations.varint import read_uint, write_uint

_I64 = struct.Struct("<q")
_TIMED = struct.Struct("<qd")
Timed = tuple[int, Any]
"""``(event time µs, value)``."""
ByState = tuple[Any, int, Any]
"""``(by value, event time µs, value)``."""


class _Picked(Aggregator):
    """One kept input (or None); ``better(x, y)`` says whether ``x`` replaces ``y``."""

    immutable_state = True

    def init(self) -> None:
        return None

    def better(self, x: Any, y: Any) -> bool:
        raise NotImplementedError

    def update(self, state: Any, value: Any) -> Any:
        if value is None or is_null(value[-1]) or (self.inputs == "by" and is_null(value[0])):
            return state
        return self.add(state, value)

    def add(self, state: Any, value: Any) -> Any:
        return value if state is None or self.better(value, state) else state

    def merge(self, a: Any, b: Any) -> Any:
        if b is None:
            return a
        return b if a is None or self.better(b, a) else a

    def finalize(self, state: Any) -> Any:
        return None if state is None else state[-1]

    def to_bytes(self, state: Any) -> bytes:
        out = bytearray()
        self.write(state, out)
        return bytes(out)

    def from_bytes(self, data: bytes) -> Any:
        state, pos = self.read(data, 0)
        if pos != len(data):
            raise ValueError("state has trailing bytes")
        return state


class _TimedPick(_Picked):
    inputs = "timed"

    def write(self, state: Timed | None, out: bytearray) -> None:
        if state is None:
            out.append(0)
            return
        out.append(1)
        out += _I64.pack(state[0])
        write_value(state[1], out)

    def read(self, data: bytes, pos: int) -> tuple[Timed | None, int]:
        if data[pos] == 0:
            return None, pos + 1
        (ts,) = _I64.unpack_from(data, pos + 1)
        value, pos = read_value(data, pos + 9)
        return (ts, value), pos


class First(_TimedPick):
    """The value of the earliest event (ties: the least value). State: ``(ts, value) | None``."""

    function = "first"
    state_kind = "first"

    def better(self, x: Timed, y: Timed) -> bool:
        return (x[0], order_key(x[1])) < (y[0], order_key(y[1]))


class Last(_TimedPick):
    """The value of the latest event (ties: the greatest value). State: ``(ts, value) | None``."""

    function = "last"
    state_kind = "last"

    def better(self, x: Timed, y: Timed) -> bool:
        return (x[0], order_key(x[1])) > (y[0], order_key(y[1]))


class _ByPick(_Picked):
    inputs = "by"

    def write(self, state: ByState | None, out: bytearray) -> None:
        if state is None:
            out.append(0)
            return
        out.append(1)
        write_value(state[0], out)
        out += _I64.pack(state[1])
        write_value(state[2], out)

    def read(self, data: bytes, pos: int) -> tuple[ByState | None, int]:
        if data[pos] == 0:
            return None, pos + 1
        by, pos = read_value(data, pos + 1)
        (ts,) = _I64.unpack_from(data, pos)
        value, pos = read_value(data, pos + 8)
        return (by, ts, value), pos


class MaxBy(_ByPick):
    """The value at the greatest ``by`` (ties: latest event, then greatest value)."""

    function = "max_by"
    state_kind = "max_by"

    def better(self, x: ByState, y: ByState) -> bool:
        return (order_key(x[0]), x[1], order_key(x[2])) > (order_key(y[0]), y[1], order_key(y[2]))


class MinBy(_ByPick):
    """The value at the least ``by`` (ties: latest event, then least value)."""

    function = "min_by"
    state_kind = "min_by"

    def better(self, x: ByState, y: ByState) -> bool:
        return (order_key(x[0]), -x[1], order_key(x[2])) < (order_key(y[0]), -y[1], order_key(y[2]))


class LastN(Aggregator):
    """The ``k`` latest values (see the module docstring), oldest first. State: a tuple of ``(ts, float)``
    sorted ascending, at most ``k`` long."""

    function = "last_n"
    immutable_state = True
    inputs = "timed"

    def __init__(self, k: int) -> None:
        if k < 1:
            raise ValueError(f"last_n needs k >= 1, got {k}")
        self.k = k
        self.state_kind = f"last_n{k}"

    def init(self) -> tuple[Timed, ...]:
        return ()

    def update(self, state: tuple[Timed, ...], value: Any) -> tuple[Timed, ...]:
        if value is None or is_null(value[1]):
            return state
        return self.add(state, value)

    def add(self, state: tuple[Timed, ...], value: Any) -> tuple[Timed, ...]:
        item = (value[0], float(value[1]))
        if len(state) >= self.k and item <= state[0]:
            return state
        kept = sorted((*state, item))
        return tuple(kept[-self.k:])

    def merge(self, a: tuple[Timed, ...], b: tuple[Timed, ...]) -> tuple[Timed, ...]:
        if not b:
            return a
        if not a:
            return b
        return tuple(sorted(a + b)[-self.k:])

    def finalize(self, state: tuple[Timed, ...]) -> list[float] | None:
        return [value for _, value in state] if state else None

    def to_bytes(self, state: tuple[Timed, ...]) -> bytes:
        out = bytearray()
        self.write(state, out)
        return bytes(out)

    def from_bytes(self, data: bytes) -> tuple[Timed, ...]:
        state, pos = self.read(data, 0)
        if pos != len(data):
            raise ValueError("state has trailing bytes")
        return state

    def write(self, state: tuple[Timed, ...], out: bytearray) -> None:
        write_uint(out, len(state))
        for ts, value in state:
            out += _TIMED.pack(ts, value)

    def read(self, data: bytes, pos: int) -> tuple[tuple[Timed, ...], int]:
        count, pos = read_uint(data, pos)
        items = []
        for _ in range(count):
            items.append(_TIMED.unpack_from(data, pos))
            pos += _TIMED.size
        return tuple(items), pos

    def __repr__(self) -> str:
        return f"LastN({self.k})"

