"""The ``Lifetime`` window, one event at a time: all of a key's history, never closed.

Per key the group keeps ``(closed, pending)``: ``closed`` the states of every event before the key's
watermark (None before the first), ``pending`` ``{event time: states}`` for accepted events at or after it.
A watermark ``W`` folds the pending times ``< W`` into ``closed`` and, when it folded any, emits one row
``(EPOCH, W, closed)``: the value of every event before ``W`` (the row is visible from ``W`` on). So a key
emits at each watermark advance that passed new events of it, and is silent otherwise. An event before the
watermark is late (a row already emitted at a time after it should have counted it).

Batch gives one row per distinct event time ``ts`` at ``ts + 1 µs`` instead (``reference.compute_windows``):
the value as of any time ``t`` agrees, as both aggregate exactly the events before ``t``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from aquifer.aggregations.states import Slots, States, read_uint, write_uint

_I64 = struct.Struct("<q")
LifetimeRow = tuple[int, int, States]


class LifetimeGroup:
    """The lifetime logic of the aggregations of one ``Lifetime`` window (their ``Slots``)."""

    def __init__(self, slots: Slots) -> None:
        self.slots = slots

    def new(self) -> list:
        """A key's empty state: ``[closed, pending]`` (a list: ``emit`` replaces ``closed``)."""
        return [None, {}]

    def late(self, ts: int, watermark: int | None) -> bool:
        """Events before the watermark are late (see the module docstring)."""
        return watermark is not None and ts < watermark

    def add(self, state: list, ts: int, values: Mapping[str, object]) -> None:
        """Count one accepted event (at or after the watermark) in its time's pending states."""
        pending = state[1]
        states = pending.get(ts)
        pending[ts] = self.slots.update(self.slots.init() if states is None else states, values, ts)

    def emit(self, state: list, watermark: int) -> list[LifetimeRow]:
        """Fold the pending times before ``watermark`` into the closed states; one row when any was folded."""
        pending = state[1]
        due = sorted(t for t in pending if t < watermark)
        if not due:
            return []
        parts = [pending.pop(t) for t in due]
        closed = state[0]
        state[0] = self.slots.merged(parts if closed is None else [closed, *parts])
        return [(0, watermark, state[0])]

    def next_end(self, state: list) -> int | None:
        """The least watermark at which ``emit`` gives a row: just after the earliest pending time."""
        pending = state[1]
        return min(pending) + 1 if pending else None

    def is_idle(self, state: list) -> bool:
        """Never idle once it has seen an event (its history is the value)."""
        return state[0] is None and not state[1]

    def write(self, state: list, out: bytearray) -> None:
        """Append: a flag and the closed states, the pending count, then each pending time (``<q``) and
        states, by time."""
        closed, pending = state
        if closed is None:
            out.append(0)
        else:
            out.append(1)
            self.slots.write(closed, out)
        write_uint(out, len(pending))
        for t in sorted(pending):
            out += _I64.pack(t)
            self.slots.write(pending[t], out)

    def read(self, data: bytes, pos: int) -> tuple[list, int]:
        """A state written by ``write`` at ``pos``, and the position after it."""
        closed = None
        flag = data[pos]
        pos += 1
        if flag == 1:
            closed, pos = self.slots.read(data, pos)
        elif flag != 0:
            raise ValueError(f"bad lifetime state flag {flag}")
        count, pos = read_uint(data, pos)
        pending: dict[int, States] = {}
        for _ in range(count):
            (t,) = _I64.unpack_from(data, pos)
            pending[t], pos = self.slots.read(data, pos + 8)
        return [closed, pending], pos
