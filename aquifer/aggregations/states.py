"""The states one window group keeps per pane or session, and the compact encoding the incremental operator uses.

Aggregations of one window share their states by ``(column, by, state_kind)``: ``p50`` and ``p95`` of the
same column keep one KLL sketch. Most aggregators take the column's value; ``first`` / ``last`` / ``last_n``
take ``(event time, value)`` and ``min_by`` / ``max_by`` ``(by, event time, value)`` (``Aggregator.inputs``),
which ``update`` builds from the event's time and values. States are written one after the other by their
aggregator's ``write`` (fixed
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

States = tuple[Any, ...]
"""One state per slot of a ``Slots`` layout. A tuple, replaced as values come (its sketches change in place):
a tuple of numbers and sketches is not tracked by the garbage collector, and keys keep many of them."""


class Slots:
    """The distinct states of a group of aggregations: one slot per ``(column, by, state_kind)``."""

    def __init__(self, aggregations: Sequence[Aggregation]) -> None:
        self.columns: list[str] = []
        self.aggregators: list[Aggregator] = []
        self.slot_of: list[int] = []
        """For each aggregation of the group (in order), the slot holding its state."""
        index: dict[tuple[str, str | None, str], int] = {}
        by_of: list[str | None] = []
        for aggregation in aggregations:
            aggregator = aggregator_for(aggregation.function)
            key = (aggregation.column, aggregation.by, aggregator.state_kind)
            if key not in index:
                index[key] = len(self.columns)
                self.columns.append(aggregation.column)
                self.aggregators.append(aggregator)
                by_of.append(aggregation.by)
            self.slot_of.append(index[key])
        # Precomputed for the hot paths: the slots of each column with their ``add``, the shared empty states
        # of immutable kinds and the ``init`` of the others, and the bound merge / write / read of each slot.
        by_column: dict[str, list[tuple[int, Callable[[Any, object], Any]]]] = {}
        self._timed: list[tuple[int, str, Callable[[Any, object], Any]]] = []
        self._by: list[tuple[int, str, str, Callable[[Any, object], Any]]] = []
        for i, (column, aggregator) in enumerate(zip(self.columns, self.aggregators, strict=True)):
            if aggregator.inputs == "timed":
                self._timed.append((i, column, aggregator.add))
            elif aggregator.inputs == "by":
                self._by.append((i, column, by_of[i], aggregator.add))  # type: ignore[arg-type]
            else:
                by_column.setdefault(column, []).append((i, aggregator.add))
        self._by_column = list(by_column.items())
        self._empty: States = tuple(a.init() if a.immutable_state else None for a in self.aggregators)
        self._fresh = [(i, a.init) for i, a in enumerate(self.aggregators) if not a.immutable_state]
        self._merges = [a.merge for a in self.aggregators]
        self._writers = [a.write for a in self.aggregators]
        self._readers = [a.read for a in self.aggregators]
        self.single: tuple[str, Callable[[Any, object], Any], Callable[[], Any]] | None = None
        """``(column, add, init)`` of a group of one plain function of one column (its hot paths inline it)."""
        if self._timed or self._by:
            self.update = self._update_ordered  # type: ignore[method-assign]
        elif len(self.aggregators) == 1:  # the usual group (one function of one column): no loops
            self.single = (self.columns[0], self.aggregators[0].add, self.aggregators[0].init)
            self._column, self._add = self.columns[0], self.aggregators[0].add
            self._write, self._read = self._writers[0], self._readers[0]
            self.update = self._update_one  # type: ignore[method-assign]
            self.write = self._write_one  # type: ignore[method-assign]
            self.read = self._read_one  # type: ignore[method-assign]

    def init(self) -> States:
        """Empty states (no values)."""
        if not self._fresh:
            return self._empty  # immutable: one tuple serves every pane
        states = list(self._empty)
        for i, init in self._fresh:
            states[i] = init()
        return tuple(states)

    def update(self, states: States, values: Mapping[str, object], ts: int = 0) -> States:
        """``states`` with one event's values added (a missing column counts as null; ``ts`` is the event time,
        read by ``first`` / ``last`` / ``last_n`` / ``min_by`` / ``max_by``): keep the result."""
        changed = None
        for column, adds in self._by_column:
            value = values.get(column)
            if value is None or value != value:  # null or NaN: every aggregator ignores it
                continue
            if changed is None:
                changed = list(states)
            for i, add in adds:
                changed[i] = add(changed[i], value)
        return states if changed is None else tuple(changed)

    def _update_one(self, states: States, values: Mapping[str, object], ts: int = 0) -> States:
        value = values.get(self._column)
        if value is None or value != value:
            return states
        return (self._add(states[0], value),)

    def _update_ordered(self, states: States, values: Mapping[str, object], ts: int = 0) -> States:
        """``update`` for groups with time- or by-ordered functions (their inputs are tuples)."""
        changed = list(Slots.update(self, states, values, ts))
        for i, column, add in self._timed:
            value = values.get(column)
            if value is not None and value == value:
                changed[i] = add(changed[i], (ts, value))
        for i, column, by, add in self._by:
            value, key = values.get(column), values.get(by)
            if value is not None and value == value and key is not None and key == key:
                changed[i] = add(changed[i], (key, ts, value))
        return tuple(changed)

    def merge(self, into: States, other: States) -> States:
        """``into`` + ``other`` (keep the result; ``into``'s sketches change, ``other`` does not)."""
        return tuple([merge(a, b) for merge, a, b in zip(self._merges, into, other, strict=True)])

    def merged(self, parts: Sequence[States]) -> States:
        """A new state holding every part (the parts are not changed).

        Starts from the first part (its sketches merged into fresh ones): the same values as merging every
        part into ``init()``, as merging into an empty state is the identity (an avg total is never -0.0, the
        one value ``0.0 + x`` changes: it starts at 0.0).
        """
        if not parts:
            return self.init()
        total = parts[0]
        if self._fresh:
            copied = list(total)
            for i, init in self._fresh:
                copied[i] = self._merges[i](init(), copied[i])
            total = tuple(copied)
        for part in parts[1:]:
            total = self.merge(total, part)
        return total

    def write(self, states: States, out: bytearray) -> None:
        """Append the states' encoding to ``out``."""
        for write, state in zip(self._writers, states, strict=True):
            write(state, out)

    def _write_one(self, states: States, out: bytearray) -> None:
        self._write(states[0], out)

    def read(self, data: bytes, pos: int) -> tuple[States, int]:
        """States written by ``write`` at ``pos``, and the position after them."""
        states = []
        for read in self._readers:
            state, pos = read(data, pos)
            states.append(state)
        return tuple(states), pos

    def _read_one(self, data: bytes, pos: int) -> tuple[States, int]:
        state, pos = self._read(data, pos)
        return (state,), pos
