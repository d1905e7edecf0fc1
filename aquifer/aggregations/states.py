"""The states one window group keeps per pane or session, and the compact encoding the incremental operator uses.

Aggregations of one window share their states by ``(column, state_kind)``: ``p50`` and ``p95`` of the same
column keep one KLL sketch. Integers are written as LEB128 varints (signed ones zigzagged first), states as
a varint length followed by the aggregator's own ``to_bytes``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aquifer.aggregations.functions import Aggregator
from aquifer.aggregations.lookup import aggregator_for
from aquifer.definitions.aggregation import Aggregation

States = list[Any]
"""One state per slot of a ``Slots`` layout."""


class Slots:
    """The distinct states of a group of aggregations: one slot per ``(column, state_kind)``."""

    def __init__(self, aggregations: Sequence[Aggregation]) -> None:
        self.columns: list[str] = []
        self.aggregators: list[Aggregator] = []
        self.slot_of: list[int] = []
        """For each aggregation of the group (in order), the slot holding its state."""
        index: dict[tuple[str, str], int] = {}
        for aggregation in aggregations:
            aggregator = aggregator_for(aggregation.function)
            key = (aggregation.column, aggregator.state_kind)
            if key not in index:
                index[key] = len(self.columns)
                self.columns.append(aggregation.column)
                self.aggregators.append(aggregator)
            self.slot_of.append(index[key])
        self._pairs = list(zip(self.columns, self.aggregators, strict=True))

    def init(self) -> States:
        """Empty states (no values)."""
        return [aggregator.init() for aggregator in self.aggregators]

    def update(self, states: States, values: Mapping[str, object]) -> States:
        """Add one event's values (a missing column counts as null) in place."""
        for i, (column, aggregator) in enumerate(self._pairs):
            states[i] = aggregator.update(states[i], values.get(column))
        return states

    def merge(self, into: States, other: States) -> States:
        """``into`` + ``other``, in place in ``into``; ``other`` is not changed."""
        for i, aggregator in enumerate(self.aggregators):
            into[i] = aggregator.merge(into[i], other[i])
        return into

    def merged(self, parts: Sequence[States]) -> States:
        """A new state holding every part (the parts are not changed)."""
        total = self.init()
        for part in parts:
            self.merge(total, part)
        return total

    def write(self, states: States, out: bytearray) -> None:
        """Append the states' encoding to ``out``."""
        for state, aggregator in zip(states, self.aggregators, strict=True):
            data = aggregator.to_bytes(state)
            write_uint(out, len(data))
            out += data

    def read(self, data: bytes | memoryview, pos: int) -> tuple[States, int]:
        """States written by ``write`` at ``pos``, and the position after them."""
        states = []
        for aggregator in self.aggregators:
            length, pos = read_uint(data, pos)
            states.append(aggregator.from_bytes(bytes(data[pos:pos + length])))
            pos += length
        return states, pos


def write_uint(out: bytearray, value: int) -> None:
    """Append a non-negative integer as an LEB128 varint."""
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def read_uint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """An LEB128 varint at ``pos`` and the position after it."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def write_int(out: bytearray, value: int) -> None:
    """Append a signed integer (zigzag, then varint)."""
    write_uint(out, value * 2 if value >= 0 else -value * 2 - 1)


def read_int(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """A signed integer written by ``write_int``."""
    raw, pos = read_uint(data, pos)
    return (raw >> 1) if not raw & 1 else -((raw + 1) >> 1), pos
