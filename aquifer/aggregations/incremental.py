"""The event-at-a-time form of the aggregation model: one operator per ``AggregationView``, state per key.

``WindowOperator(view.aggregations)`` keeps, for one entity key, everything its aggregations need between
events, and gives exactly the rows ``reference.compute_windows`` gives over the events it accepted::

    op = WindowOperator(view.aggregations)
    state = op.from_bytes(stored) if stored else op.new_state()
    state, late = op.on_event(state, ts_us, {"amount": 12.5}, watermark_us=w)   # late: () when accepted
    state, rows = op.on_watermark(state, w)                                      # rows: WindowRow, by end
    stored = op.to_bytes(state)

The rules (watermark, emission, lateness, nulls, equal times, eviction) are in ``docs/semantics.md``,
"Streaming: watermarks and late data". In short: a window is emitted once ``end <= watermark``; an event is
accepted by all aggregations or by none, and is late when some window it belongs to has already closed
(sessions and ``Lifetime``: when ``ts < watermark``). Grid windows live in panes (``panes.py``), sessions in
segments (``sessions.py``), lifetime windows in a closed state and pending event times (``lifetime.py``).
``on_event`` and ``on_watermark`` change the state they are given and return it.

The byte format is versioned (``_VERSION``) and carries a checksum of the layout (columns, state kinds,
windows); ``from_bytes`` refuses any other version or layout. Version 2 (fixed-width times and states without
length prefixes) replaced version 1: states stored by older versions are not readable and are refused.
Functions, window offsets and ``Lifetime`` added later kept version 2: a view using none of them writes the
same bytes and layout check as before (the layout names an offset, a ``by`` or a lifetime group only when
present), and one using them has a layout no earlier operator had.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from aquifer.aggregations.functions import Aggregator, Value
from aquifer.aggregations.lifetime import LifetimeGroup
from aquifer.aggregations.lookup import aggregator_for
from aquifer.aggregations.panes import GridGroup, Panes
from aquifer.aggregations.sessions import Segment, SessionGroup
from aquifer.aggregations.states import Slots
from aquifer.definitions.aggregation import Aggregation
from aquifer.definitions.windows import Lifetime, Session, Window

_VERSION = 2
STATE_VERSION = _VERSION
"""The byte format's version: part of a stream's default consumer group, so a new format starts new state."""
_WATERMARK = struct.Struct("<Bq")
_I64 = struct.Struct("<q")
_row_order = itemgetter(3, 2, 0)  # (end, start, aggregation)


def _layout_item(aggregation: Aggregation) -> tuple[object, ...]:
    """What the layout check names of one aggregation: column, state kind and window (whose repr names an
    offset only when set), plus ``by`` when set: states stored before these existed stay readable."""
    item: tuple[object, ...] = (aggregation.column, aggregator_for(aggregation.function).state_kind,
                                aggregation.window)
    return item if aggregation.by is None else (*item, aggregation.by)


class WindowRow(NamedTuple):
    """One emitted window value of one aggregation: visible from ``end`` on."""

    aggregation: int
    """Position of the aggregation in the operator's (the view's) list."""
    feature: str
    start: int
    end: int
    value: Value


class Late(NamedTuple):
    """Why one aggregation refused an event: the window it belongs to was already closed."""

    aggregation: int
    feature: str
    start: int | None
    """The closed window (grid windows); None for sessions, whose window is not known before the event."""
    end: int | None
    reason: str


@dataclass
class KeyState:
    """Everything one key keeps between events; serialize with ``WindowOperator.to_bytes``."""

    watermark: int | None = None
    """The greatest watermark given to ``on_watermark``: every window with ``end <= watermark`` is emitted."""
    panes: list[Panes] = field(default_factory=list)
    """Per grid window group, ``{pane start: states}``."""
    segments: list[list[Segment]] = field(default_factory=list)
    """Per session window group, its segments not yet emitted."""
    lifetimes: list[list] = field(default_factory=list)
    """Per lifetime window group, ``[closed states, {pending event time: states}]``."""


@dataclass(frozen=True)
class _Member:
    index: int
    feature: str
    slot: int
    aggregator: Aggregator
    empty: Value


_Finalizer = tuple[int, str, int, Callable[[Any], Value], Value]
"""A member as the emission loop reads it: ``(index, feature, slot, finalize, empty)``."""
_new_row = tuple.__new__  # WindowRow without its Python-level __new__ (rows are the emission's inner loop)


class WindowOperator:
    """Windows and aggregates of one view's aggregations for one key at a time (the state is per key)."""

    grid_group: type[GridGroup] = GridGroup
    session_group: type[SessionGroup] = SessionGroup

    def __init__(self, aggregations: Sequence[Aggregation]) -> None:
        if not aggregations:
            raise ValueError("WindowOperator needs at least one aggregation")
        self.aggregations = tuple(aggregations)
        by_window: dict[Window, list[int]] = {}
        for i, aggregation in enumerate(self.aggregations):
            by_window.setdefault(aggregation.window, []).append(i)
        self._grids: list[tuple[GridGroup, list[_Member]]] = []
        self._sessions: list[tuple[SessionGroup, list[_Member]]] = []
        self._lifetimes: list[tuple[LifetimeGroup, list[_Member]]] = []
        for window, indices in by_window.items():
            slots = Slots([self.aggregations[i] for i in indices])
            members = []
            for i, slot in zip(indices, slots.slot_of, strict=True):
                aggregator = aggregator_for(self.aggregations[i].function)
                empty = aggregator.finalize(aggregator.init())
                members.append(_Member(i, self.aggregations[i].feature_name, slot, aggregator, empty))
            if isinstance(window, Session):
                self._sessions.append((self.session_group(window, slots), members))
            elif isinstance(window, Lifetime):
                self._lifetimes.append((LifetimeGroup(slots), members))
            else:
                self._grids.append((self.grid_group(window, slots), members))
        layout = repr([_layout_item(a) for a in self.aggregations])
        self._layout = zlib.crc32(layout.encode()).to_bytes(4, "little")
        self._header = bytes([_VERSION]) + self._layout
        self._grid_groups = [grid for grid, _ in self._grids]
        self._session_groups = [session for session, _ in self._sessions]
        self._lifetime_groups = [lifetime for lifetime, _ in self._lifetimes]
        self._grid_finalizers = [self._finalizers(members) for _, members in self._grids]
        self._session_finalizers = [self._finalizers(members) for _, members in self._sessions]
        self._lifetime_finalizers = [self._finalizers(members) for _, members in self._lifetimes]
        reaches = [session.gap if session.max is None else min(session.gap, session.max)
                   for session in self._session_groups]
        self._session_reach = min(reaches) if reaches else None
        """The least ``end - ts`` of a session an event opens (``first_end``)."""
        self._grid_shapes = [(grid.size, grid.step, grid.offset) for grid in self._grid_groups]

    @staticmethod
    def _finalizers(members: list[_Member]) -> list[_Finalizer]:
        return [(m.index, m.feature, m.slot, m.aggregator.finalize, m.empty) for m in members]

    def new_state(self) -> KeyState:
        """The state of a key with no events."""
        return KeyState(None, [{} for _ in self._grids], [[] for _ in self._sessions],
                        [lifetime.new() for lifetime in self._lifetime_groups])

    def on_event(
        self, state: KeyState, ts_us: int, values: Mapping[str, object], *, watermark_us: int | None = None
    ) -> tuple[KeyState, tuple[Late, ...]]:
        """Count one event (``values`` by column; a missing column is null) unless it is late.

        ``watermark_us`` is the watermark when the event arrived (default: the state's); an event is late
        when it is late for any aggregation, and then it is counted nowhere. Returns the state and, for a
        late event, one ``Late`` per aggregation that refused it (empty when the event was counted).
        """
        watermark = state.watermark
        if watermark_us is not None and (watermark is None or watermark_us > watermark):
            watermark = watermark_us
        # Every window holding ts ends after ts, and sessions refuse only ts < watermark: an event at or after
        # the watermark is never late (the common case).
        if watermark is not None and ts_us < watermark:
            late = self._late(ts_us, watermark)
            if late:
                return state, late
        for grid, panes in zip(self._grid_groups, state.panes, strict=True):
            grid.add(panes, ts_us, values)
        for session, segments in zip(self._session_groups, state.segments, strict=True):
            session.add(segments, ts_us, values)
        if self._lifetime_groups:
            for lifetime, kept in zip(self._lifetime_groups, state.lifetimes, strict=True):
                lifetime.add(kept, ts_us, values)
        return state, ()

    def _late(self, ts_us: int, watermark: int) -> tuple[Late, ...]:
        """One ``Late`` per aggregation refusing an event at ``ts_us`` (by aggregation), or ``()``."""
        late: list[Late] = []
        for grid, members in self._grids:
            closed = grid.late(ts_us, watermark)
            if closed is not None:
                reason = f"window [{closed[0]}, {closed[1]}) closed at watermark {watermark}"
                late += [Late(m.index, m.feature, closed[0], closed[1], reason) for m in members]
        for session, members in self._sessions:
            if session.late(ts_us, watermark):
                reason = f"session event at {ts_us} before watermark {watermark}"
                late += [Late(m.index, m.feature, None, None, reason) for m in members]
        for lifetime, members in self._lifetimes:
            if lifetime.late(ts_us, watermark):
                reason = f"lifetime event at {ts_us} before watermark {watermark} (a row after it was emitted)"
                late += [Late(m.index, m.feature, None, None, reason) for m in members]
        late.sort()
        return tuple(late)

    def on_watermark(self, state: KeyState, watermark_us: int) -> tuple[KeyState, list[WindowRow]]:
        """Emit every window with ``end <= watermark_us`` not emitted before (closing rows included), by
        ``(end, start, aggregation)``, and drop what no window still needs. A watermark not above the
        state's emits nothing."""
        before = state.watermark
        if before is not None and watermark_us <= before:
            return state, []
        rows: list[WindowRow] = []
        sources = 0  # groups that gave rows: one group's rows are already in order
        for grid, finalizers, panes in zip(self._grid_groups, self._grid_finalizers, state.panes, strict=True):
            if panes:
                emitted = grid.emit(panes, before, watermark_us)
                if emitted:
                    sources += 1
                    for start, end, states in emitted:
                        for index, feature, slot, finalize, empty in finalizers:
                            value = empty if states is None else finalize(states[slot])
                            rows.append(_new_row(WindowRow, (index, feature, start, end, value)))
        for session, finalizers, segments in zip(self._session_groups, self._session_finalizers, state.segments,
                                                 strict=True):
            if segments:
                emitted = session.emit(segments, watermark_us)
                if emitted:
                    sources += 1
                    for start, end, states in emitted:
                        for index, feature, slot, finalize, _ in finalizers:
                            rows.append(_new_row(WindowRow, (index, feature, start, end, finalize(states[slot]))))
        if self._lifetime_groups:
            sources += self._emit_lifetimes(state, watermark_us, rows)
        if sources > 1:
            rows.sort(key=_row_order)
        state.watermark = watermark_us
        return state, rows

    def advance(self, state: KeyState, watermark_us: int) -> tuple[KeyState, list[WindowRow], int]:
        """``on_watermark`` for a reader that keeps each aggregation's newest value only (an online vector): the
        same state change, but of the rows ``on_watermark`` would give only each aggregation's latest is
        finalized (its window merged from panes) and returned, by ``(end, start, aggregation)``; with how many
        rows ``on_watermark`` would give. A backlog closes many windows per key at once; a vector keeps the last."""
        before = state.watermark
        if before is not None and watermark_us <= before:
            return state, [], 0
        latest: list[tuple[list[_Finalizer], int, int, Any]] = []
        emitted = 0
        for grid, finalizers, panes in zip(self._grid_groups, self._grid_finalizers, state.panes, strict=True):
            if panes:
                count, row = grid.emit_latest(panes, before, watermark_us)
                if row is not None:
                    emitted += count * len(finalizers)
                    latest.append((finalizers, *row))
        for session, finalizers, segments in zip(self._session_groups, self._session_finalizers, state.segments,
                                                 strict=True):
            if segments:
                sessions = session.emit(segments, watermark_us)
                if sessions:
                    emitted += len(sessions) * len(finalizers)
                    latest.append((finalizers, *sessions[-1]))  # sessions close in order of end
        if self._lifetime_groups:
            for lifetime, finalizers, kept in zip(self._lifetime_groups, self._lifetime_finalizers,
                                                  state.lifetimes, strict=True):
                folded = lifetime.emit(kept, watermark_us)
                if folded:
                    emitted += len(finalizers)
                    latest.append((finalizers, *folded[-1]))
        rows: list[WindowRow] = []
        for finalizers, start, end, states in latest:
            for index, feature, slot, finalize, empty in finalizers:
                value = empty if states is None else finalize(states[slot])
                rows.append(_new_row(WindowRow, (index, feature, start, end, value)))
        if len(latest) > 1:
            rows.sort(key=_row_order)
        state.watermark = watermark_us
        return state, rows, emitted

    def _emit_lifetimes(self, state: KeyState, watermark_us: int, rows: list[WindowRow]) -> int:
        """Append the lifetime groups' rows at ``watermark_us``; how many groups gave rows."""
        sources = 0
        for lifetime, finalizers, kept in zip(self._lifetime_groups, self._lifetime_finalizers, state.lifetimes,
                                              strict=True):
            emitted = lifetime.emit(kept, watermark_us)
            if emitted:
                sources += 1
                for start, end, states in emitted:
                    for index, feature, slot, finalize, _ in finalizers:
                        rows.append(_new_row(WindowRow, (index, feature, start, end, finalize(states[slot]))))
        return sources

    def next_emit(self, state: KeyState) -> int | None:
        """The least window end still to emit: ``on_watermark`` gives rows from this watermark on (a timer's
        deadline). None when nothing is pending; sessions may still grow, so their end can move later."""
        best = None
        for grid, panes in zip(self._grid_groups, state.panes, strict=True):
            if panes:
                end = grid.next_end(panes, state.watermark)
                if end is not None and (best is None or end < best):
                    best = end
        for session, segments in zip(self._session_groups, state.segments, strict=True):
            if segments:
                end = session.next_end(segments)
                if end is not None and (best is None or end < best):
                    best = end
        if self._lifetime_groups:
            for lifetime, kept in zip(self._lifetime_groups, state.lifetimes, strict=True):
                end = lifetime.next_end(kept)
                if end is not None and (best is None or end < best):
                    best = end
        return best

    def first_end(self, ts_us: int) -> int:
        """A lower bound of every window end an event at ``ts_us`` adds or moves: the end of its earliest grid
        window, or ``ts + min(gap, max_duration)`` of a session it opens. A key's timer at
        ``min(timer, first_end(ts))`` never fires after rows are ready (sessions end in order, and an event only
        lengthens the session it joins), so a timer need not be recomputed with ``next_emit`` per event. A
        lifetime window's row comes at ``ts + 1``."""
        best = None if self._session_reach is None else ts_us + self._session_reach
        if self._lifetime_groups:
            best = ts_us + 1
        for size, step, offset in self._grid_shapes:
            end = ((ts_us - offset - size) // step + 1) * step + size + offset  # GridGroup.first_window
            if best is None or end < best:
                best = end
        assert best is not None  # an operator has at least one group
        return best

    def is_idle(self, state: KeyState) -> bool:
        """True when the key keeps nothing but its watermark (its stored state may be deleted)."""
        if any(state.panes) or any(state.segments):
            return False
        return not self._lifetime_groups or all(
            lifetime.is_idle(kept) for lifetime, kept in zip(self._lifetime_groups, state.lifetimes, strict=True))

    def to_bytes(self, state: KeyState) -> bytes:
        """The state as bytes: version, layout check, watermark (flag, then ``<q``), then each group's panes or
        segments."""
        out = bytearray(self._header)
        if state.watermark is None:
            out.append(0)
        else:
            out += _WATERMARK.pack(1, state.watermark)
        for grid, panes in zip(self._grid_groups, state.panes, strict=True):
            grid.write(panes, out)
        for session, segments in zip(self._session_groups, state.segments, strict=True):
            session.write(segments, out)
        if self._lifetime_groups:
            for lifetime, kept in zip(self._lifetime_groups, state.lifetimes, strict=True):
                lifetime.write(kept, out)
        return bytes(out)

    def from_bytes(self, data: bytes) -> KeyState:
        """A state written by ``to_bytes`` of an operator with the same aggregations (else ``ValueError``);
        states of other versions (older ones included) are refused."""
        data = bytes(data)
        if not data or data[0] != _VERSION:
            raise ValueError(f"not a window state of version {_VERSION}")
        if data[1:5] != self._layout:
            raise ValueError("window state written for other aggregations (columns, functions or windows)")
        try:
            return self._read(data)
        except (IndexError, struct.error) as exc:
            raise ValueError(f"window state truncated ({exc})") from None

    def _read(self, data: bytes) -> KeyState:
        pos = 6
        watermark = None
        if data[5]:
            (watermark,) = _I64.unpack_from(data, pos)
            pos += 8
        panes = []
        for grid in self._grid_groups:
            group, pos = grid.read(data, pos)
            panes.append(group)
        segments = []
        for session in self._session_groups:
            group_segments, pos = session.read(data, pos)
            segments.append(group_segments)
        lifetimes = []
        if self._lifetime_groups:
            for lifetime in self._lifetime_groups:
                kept, pos = lifetime.read(data, pos)
                lifetimes.append(kept)
        if pos != len(data):
            raise ValueError("window state has trailing bytes")
        return KeyState(watermark, panes, segments, lifetimes)
