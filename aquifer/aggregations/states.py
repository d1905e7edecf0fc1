"""The states one window group keeps per pane or session, and the compact encoding the incremental operator uses.

Aggregations of one window share their states by ``(column, state_kind)``: ``p50`` and ``p95`` of the same
column keep one KLL sketch. States are written one after the other by their aggregator's ``write`` (fixed
layouts without a length: a count as a varint, sum/min/max as a tag byte and a float, avg as ``<qd``; sketches
as a varint length and their serialization). Integers are LEB128 varints (``aquifer.aggregations.varint``,
re-exported here), signed ones zigzagged first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aquifer.aggregations.functions import Aggregator
from aquifer.aggregations.lookup import aggregator_for
from aquifer.aggregations.varint import read_int, read_uint, write_int, write_uint
from aquifer.definitions.aggregation import Aggregation

__all__ = ["Slots", "States", "read_int", "read_uint", "write_int", "write_uint"]

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
        # Precomputed for the hot paths: the slots of each column with their ``add``, the shared empty states
        # of immutable kinds and the ``init`` of the others, and the bound merge / write / read of each slot.
        by_column: dict[str, list[tuple[int, Callable[[Any, object], Any]]]] = {}
        for i, (column, aggregator) in enumerate(zip(self.columns, self.aggregators, strict=True)):
            by_column.setdefault(column, []).append((i, aggregator.add))
        self._by_column = list(by_column.items())
        self._empty: States = [a.init() if a.immutable_state else None for a in self.aggregators]
        self._fresh = [(i, a.init) for i, a in enumerate(self.aggregators) if not a.immutable_state]
        self._merges = [a.merge for a in self.aggregators]
        self._writers = [a.write for a in self.aggregators]
        self._readers = [a.read for a in self.aggregators]

    def init(self) -> States:
        """Empty states (no values)."""
        states = self._empty.copy()
        for i, init in self._fresh:
            states[i] = init()
        return states

    def update(self, states: States, values: Mapping[str, object]) -> States:
        """Add one event's values (a missing column counts as null) in place."""
        for column, adds in self._by_column:
            value = values.get(column)
            if value is None or value != value:  # null or NaN: every aggregator ignores it
                continue
            for i, add in adds:
                states[i] = add(states[i], value)
        return states

    def merge(self, into: States, other: States) -> States:
        """``into`` + ``other``, in place in ``into``; ``other`` is not changed."""
        for i, merge in enumerate(self._merges):
            into[i] = merge(into[i], other[i])
        return into

    def merged(self, parts: Sequence[States]) -> States:
        """A new state holding every part (the parts are not changed).

        Starts from a copy of the first part (immutable states shared, the others merged into fresh ones):
        the same values as merging every part into ``init()``, as merging into an empty state is the identity.
        """
        if not parts:
            return self.init()
        total = parts[0].copy()
        for i, init in self._fresh:
            total[i] = self._merges[i](init(), total[i])
        for part in parts[1:]:
            self.merge(total, part)
        return total

    def write(self, states: States, out: bytearray) -> None:
        """Append the states' encoding to ``out``."""
        for write, state in zip(self._writers, states, strict=True):
            write(state, out)

    def read(self, data: bytes, pos: int) -> tuple[States, int]:
        """States written by ``write`` at ``pos``, and the position after them."""
        states = []
        for read in self._readers:
            state, pos = read(data, pos)
            states.append(state)
        return states, pos
