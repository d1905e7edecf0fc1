"""Tumbling and sliding windows, one event at a time, through panes (tiles).

The grid of a window of ``size`` starting every ``step`` (``step = size`` for tumbling) is cut into panes of
``gcd(size, step)``: every window boundary is a pane boundary, so an event updates exactly one pane and a
window's value is the merge of its panes, computed once, when the window is emitted.

Per key the group keeps ``{pane start: states}`` for the panes holding at least one event (a null-valued event
too: windows are formed by events, not by values). After a watermark ``W`` every window with ``end <= W`` has
been emitted; the first window not emitted starts at ``s0`` (the least grid start with ``s0 + size > W``), and
panes before ``s0 - step`` are dropped: the windows still to come use panes from ``s0`` on, and the closing row
of window ``s0`` needs to know whether window ``s0 - step`` held events.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from math import gcd

from aquifer.aggregations.epoch import duration_micros
from aquifer.aggregations.states import Slots, States, read_int, read_uint, write_int, write_uint
from aquifer.definitions.windows import Sliding, Tumbling

Panes = dict[int, States]
GridRow = tuple[int, int, States | None]
"""``(start, end, states)``; ``states`` is None for a closing row (the empty window after a run)."""


class GridGroup:
    """The pane logic of one tumbling or sliding window shared by some aggregations (their ``Slots``)."""

    def __init__(self, window: Tumbling | Sliding, slots: Slots) -> None:
        self.size = duration_micros(window.size)
        self.step = self.size if isinstance(window, Tumbling) else duration_micros(window.every)
        if self.size <= 0 or self.step <= 0:
            raise ValueError(f"{window!r}: size and step must be positive")
        if self.step > self.size:
            raise ValueError(f"{window!r}: a step larger than the size leaves events outside every window")
        self.pane = gcd(self.size, self.step)
        self.slots = slots

    def add(self, panes: Panes, ts: int, values: Mapping[str, object]) -> None:
        """Count one event in its pane."""
        start = ts - ts % self.pane
        states = panes.get(start)
        if states is None:
            states = panes[start] = self.slots.init()
        self.slots.update(states, values)

    def first_window(self, ts: int) -> tuple[int, int]:
        """The earliest-ending window holding ``ts``."""
        start = ((ts - self.size) // self.step + 1) * self.step
        return start, start + self.size

    def late(self, ts: int, watermark: int | None) -> tuple[int, int] | None:
        """The window holding ``ts`` that already closed (``end <= watermark``), if any: the event is late."""
        if watermark is None:
            return None
        start, end = self.first_window(ts)
        return (start, end) if end <= watermark else None

    def _nonempty_starts(self, panes: Panes) -> set[int]:
        starts: set[int] = set()
        size, step = self.size, self.step
        for p in panes:
            first = ((p - size) // step + 1) * step
            starts.update(range(first, p - p % step + 1, step))
        return starts

    def closing_starts(self, nonempty: set[int]) -> set[int]:
        """The closing windows: the empty window after each run of windows with events."""
        return {s + self.step for s in nonempty} - nonempty

    def _windows(self, panes: Panes, after: int | None) -> list[tuple[int, bool]]:
        """Every window with events (True) or closing (False) ending after ``after``, by start."""
        nonempty = self._nonempty_starts(panes)
        closing = self.closing_starts(nonempty)
        low = None if after is None else after - self.size  # end > after  <=>  start > after - size
        rows = [(s, True) for s in nonempty if low is None or s > low]
        rows += [(s, False) for s in closing if low is None or s > low]
        rows.sort()
        return rows

    def emit(self, panes: Panes, before: int | None, watermark: int) -> list[GridRow]:
        """The windows with ``before < end <= watermark`` (``before`` is the previous watermark), then evict."""
        rows: list[GridRow] = []
        keys = sorted(panes)
        for start, has_events in self._windows(panes, before):
            end = start + self.size
            if end > watermark:
                break
            if has_events:
                lo, hi = bisect.bisect_left(keys, start), bisect.bisect_left(keys, end)
                rows.append((start, end, self.slots.merged([panes[p] for p in keys[lo:hi]])))
            else:
                rows.append((start, end, None))
        first_open = ((watermark - self.size) // self.step + 1) * self.step
        for p in keys:
            if p >= first_open - self.step:
                break
            del panes[p]
        return rows

    def next_end(self, panes: Panes, watermark: int | None) -> int | None:
        """The end of the next window to emit (the watermark at which ``emit`` will give a row), if any.

        Without listing windows: the first window not emitted starts at ``s0``; it is next when it or the
        window before it holds events (a window, or the closing row of a run); otherwise the next is the
        earliest window after ``s0`` holding a pane.
        """
        if not panes:
            return None
        size, step = self.size, self.step
        s0 = None if watermark is None else ((watermark - size) // step + 1) * step
        best = None
        for p in panes:
            first, last = ((p - size) // step + 1) * step, p - p % step
            if s0 is not None:
                first = max(first, s0 - step)
            if first <= last and (best is None or first < best):
                best = first
        if best is None:
            return None
        if s0 is not None and best < s0:
            best = s0  # the window before s0 held events: s0 is a window with events or a closing row
        return best + size

    def write(self, panes: Panes, out: bytearray) -> None:
        """Append the panes' encoding: count, first start, then gaps in panes, each with its states."""
        write_uint(out, len(panes))
        previous = None
        for p in sorted(panes):
            if previous is None:
                write_int(out, p)
            else:
                write_uint(out, (p - previous) // self.pane)
            previous = p
            self.slots.write(panes[p], out)

    def read(self, data: bytes | memoryview, pos: int) -> tuple[Panes, int]:
        """Panes written by ``write`` at ``pos``, and the position after them."""
        count, pos = read_uint(data, pos)
        panes: Panes = {}
        p = 0
        for i in range(count):
            if i == 0:
                p, pos = read_int(data, pos)
            else:
                gap, pos = read_uint(data, pos)
                p += gap * self.pane
            panes[p], pos = self.slots.read(data, pos)
        return panes, pos
