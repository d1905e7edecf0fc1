"""Brute-force reference: the feature values every engine (Spark, stream) must reproduce.

Written as plain loops on purpose; tests cross-check it against an even more naive computation.

**Rows.** ``compute_windows`` returns one row per window holding at least one event of the entity, plus,
for tumbling and sliding windows, one **closing row** after each run of non-empty windows: the next window
on the grid, which holds no events, with the empty-window value (``count`` → 0, everything else ``None``).
Sessions get no closing rows. ``Lifetime`` windows get one row per distinct event time ``ts``, at
``end = ts + 1 µs`` (``start`` the epoch), holding every event at or before ``ts``: the value as of ``t`` is
that of every event before ``t``.

**Inputs.** Events are ``(ts, value)``, or ``(ts, value, by)`` for ``min_by`` / ``max_by``; ``first``,
``last`` and ``last_n`` read the event time too (``Aggregator.inputs``).

**As of.** A window's value becomes visible at its ``end``. The value at time ``t`` is the value of the row
with the greatest ``end <= t`` (``value_as_of``); ``None`` before the entity's first window closes. The
closing rows make this equal to the literal rule for grid windows — "the most recent window that closed at
or before ``t``", empty or not — so after a quiet period ``count`` reads 0 instead of an old count.
Because the row's time is its window end, a point-in-time join on ``event_ts = end`` gives the same answer.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, NamedTuple

from aquifer.aggregations.epoch import duration_micros, like, to_micros
from aquifer.aggregations.functions import Aggregator, Value
from aquifer.aggregations.lookup import aggregator_for
from aquifer.aggregations.windows import assign, window_step
from aquifer.definitions.aggregation import Aggregation
from aquifer.definitions.windows import Lifetime, Session


class WindowValue(NamedTuple):
    """One window's feature value; visible from ``end`` on."""

    start: Any
    end: Any
    value: Value


def _input(aggregator: Aggregator, event: Sequence[Any]) -> object:
    """What ``aggregator.update`` takes from one ``(ts, value[, by])`` event."""
    if aggregator.inputs == "timed":
        return (to_micros(event[0]), event[1])
    if aggregator.inputs == "by":
        return (event[2] if len(event) > 2 else None, to_micros(event[0]), event[1])
    return event[1]


def compute_windows(
    events: Sequence[tuple[Any, ...]], aggregation: Aggregation, *, closing: bool = True
) -> list[WindowValue]:
    """Every window row of one entity's ``(ts, value)`` (``(ts, value, by)``) events, by ``(start, end)``.

    ``ts`` are epoch microseconds or datetimes (rows come back in the same kind); ``closing=False`` leaves
    out the closing rows.
    """
    aggregator = aggregator_for(aggregation.function)
    window = aggregation.window
    if isinstance(window, Lifetime):
        return _lifetime(events, aggregator)
    timestamps = [event[0] for event in events]
    rows = []
    for start, end, indices in assign(window, timestamps):
        state = aggregator.init()
        for i in indices:
            state = aggregator.update(state, _input(aggregator, events[i]))
        rows.append(WindowValue(start, end, aggregator.finalize(state)))
    if closing and rows and not isinstance(window, Session):
        step, size = window_step(window), duration_micros(window.size)
        starts = {to_micros(row.start) for row in rows}
        empty = aggregator.finalize(aggregator.init())
        template = rows[0].start
        for start in sorted(starts):
            if start + step not in starts:
                rows.append(WindowValue(like(start + step, template), like(start + step + size, template), empty))
        rows.sort(key=lambda row: (to_micros(row.start), to_micros(row.end)))
    return rows


def _lifetime(events: Sequence[tuple[Any, ...]], aggregator: Aggregator) -> list[WindowValue]:
    """One row per distinct event time, at that time + 1 µs, over every event up to it."""
    if not events:
        return []
    order = sorted(range(len(events)), key=lambda i: to_micros(events[i][0]))
    template = events[0][0]
    rows = []
    state = aggregator.init()
    for position, i in enumerate(order):
        state = aggregator.update(state, _input(aggregator, events[i]))
        t = to_micros(events[i][0])
        if position + 1 == len(order) or to_micros(events[order[position + 1]][0]) != t:
            rows.append(WindowValue(like(0, template), like(t + 1, template), aggregator.finalize(state)))
    return rows


def compute_windows_by_entity(
    rows: Iterable[tuple[Hashable, Any, object]], aggregation: Aggregation, *, closing: bool = True
) -> list[tuple[Hashable, Any, Any, Value]]:
    """``compute_windows`` for ``(key, ts, value)`` rows of many entities: ``(key, start, end, value)`` rows,
    entities in order of first appearance."""
    by_key: dict[Hashable, list[tuple[Any, object]]] = {}
    for key, ts, value in rows:
        by_key.setdefault(key, []).append((ts, value))
    out = []
    for key, events in by_key.items():
        for start, end, value in compute_windows(events, aggregation, closing=closing):
            out.append((key, start, end, value))
    return out


def value_as_of(windows: Iterable[tuple[Any, Any, Value]], t: Any) -> Value:
    """The value of the window with the greatest ``end <= t`` (a window is visible at its end); else None."""
    best: tuple[int, int] | None = None
    value: Value = None
    t_us = to_micros(t)
    for start, end, window_value in windows:
        key = (to_micros(end), to_micros(start))
        if key[0] <= t_us and (best is None or key > best):
            best, value = key, window_value
    return value
