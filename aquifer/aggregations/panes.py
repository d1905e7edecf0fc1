"""Tumbling and sliding windows, one event at a time, through panes (tiles).

The grid of a window of ``size`` starting every ``step`` (``step = size`` for tumbling) is cut into panes of
``gcd(size, step)``: every window boundary is a pane boundary, so an event updates exactly one pane and a
window's value is the merge of its panes, computed once, when the window is emitted.

Per key the group keeps ``{pane start: states}`` for the panes holding at least one event (a null-valued event
too: windows are formed by events, not by values). After a watermark ``W`` every window with ``end <= W`` has
been emitted; the first window not emitted starts at ``s0`` (the least grid start with ``s0 + size > W``), and
panes before ``s0 - step`` are dropped: the windows still to come use panes from ``s0`` on, and the closing row
of window ``s0`` needs to know whether window ``s0 - step`` held events.

**Offsets.** A window with ``offset`` is the same grid shifted: the group works in shifted time
``u = t - offset`` (pane keys, runs, eviction all in ``u``) and shifts times back in what it returns.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Mapping, Sequence
from itertools import pairwise
from math import gcd

from aquifer.aggregations.epoch import duration_micros
from aquifer.aggregations.states import Slots, States, read_uint, write_uint
from aquifer.definitions.windows import Sliding, Tumbling

Panes = dict[int, States]
GridRow = tuple[int, int, States | None]
"""``(start, end, states)``; ``states`` is None for a closing row (the empty window after a run)."""
_I64 = struct.Struct("<q")
_COUNT_START = struct.Struct("<Bq")


class GridGroup:
    """The pane logic of one tumbling or sliding window shared by some aggregations (their ``Slots``)."""

    def __init__(self, window: Tumbling | Sliding, slots: Slots) -> None:
        self.size = duration_micros(window.size)
        self.step = self.size if isinstance(window, Tumbling) else duration_micros(window.every)
        if self.size <= 0 or self.step <= 0:
            raise ValueError(f"{window!r}: size and step must be positive")
        if self.step > self.size:
            raise ValueError(f"{window!r}: a step larger than the size leaves events outside every window")
        self.offset = duration_micros(window.offset)
        if not 0 <= self.offset < self.step:
            raise ValueError(f"{window!r}: the offset must be at least 0 and less than the step")
        self.pane = gcd(self.size, self.step)
        self.slots = slots
        if not self.offset:  # the usual grid: no shift on the hot paths
            self.add = self._add_unshifted  # type: ignore[method-assign]
            self.emit = self.emit_shifted  # type: ignore[method-assign]
            if slots.single is not None:  # one function of one column: Slots.update inlined
                self._column, self._add_value, self._init_one = slots.single
                self.add = self._add_single  # type: ignore[method-assign]

    def add(self, panes: Panes, ts: int, values: Mapping[str, object]) -> None:
        """Count one event in its pane."""
        u = ts - self.offset
        start = u - u % self.pane
        states = panes.get(start)
        panes[start] = self.slots.update(self.slots.init() if states is None else states, values, ts)

    def _add_unshifted(self, panes: Panes, ts: int, values: Mapping[str, object]) -> None:
        start = ts - ts % self.pane
        states = panes.get(start)
        panes[start] = self.slots.update(self.slots.init() if states is None else states, values, ts)

    def _add_single(self, panes: Panes, ts: int, values: Mapping[str, object]) -> None:
        start = ts - ts % self.pane
        states = panes.get(start)
        value = values.get(self._column)
        if value is None or value != value:  # null or NaN: the pane exists (the event counts), its state is as is
            if states is None:
                panes[start] = (self._init_one(),)
            return
        panes[start] = (self._add_value(self._init_one() if states is None else states[0], value),)

    def first_window(self, ts: int) -> tuple[int, int]:
        """The earliest-ending window holding ``ts`` (in shifted time: ``ts`` and the window minus ``offset``)."""
        start = ((ts - self.size) // self.step + 1) * self.step
        return start, start + self.size

    def late(self, ts: int, watermark: int | None) -> tuple[int, int] | None:
        """The window holding ``ts`` that already closed (``end <= watermark``), if any: the event is late."""
        if watermark is None:
            return None
        offset = self.offset
        start, end = self.first_window(ts - offset)
        return (start + offset, end + offset) if end + offset <= watermark else None

    def runs(self, starts: Sequence[int]) -> list[tuple[int, int]]:
        """The windows holding events, as maximal runs ``(first, last)`` of grid starts, from sorted pane starts.

        A pane ``p`` is in the windows starting from ``first_window(p)`` to ``p - p % step``; both bounds grow
        with ``p``, so one pass over the sorted panes joins them into runs (a run goes on while the next pane's
        first window is at most one step after the run's last).
        """
        size, step = self.size, self.step
        runs: list[tuple[int, int]] = []
        for p in starts:
            low, high = ((p - size) // step + 1) * step, p - p % step
            if runs and low <= runs[-1][1] + step:
                runs[-1] = (runs[-1][0], high)
            else:
                runs.append((low, high))
        return runs

    def closing_start(self, first: int, last: int) -> int | None:
        """The closing window of the run of windows ``[first, last]``: the empty window right after it."""
        return last + self.step

    def run_starts(self, first: int, last: int, low: int | None, high: int | None) -> range:
        """The grid starts of the run ``[first, last]`` with ``low < start <= high`` (None: unbounded)."""
        step = self.step
        start = first if low is None or first > low else first + ((low - first) // step + 1) * step
        stop = last if high is None or last < high else high
        return range(start, stop + 1, step)

    def listing(self, starts: Sequence[int], low: int | None, high: int | None) -> list[tuple[int, bool]]:
        """Every window with events (True) or closing (False) with ``low < start <= high`` (None: unbounded), by
        start, from the sorted pane starts. A run's closing window comes before the next run (runs are apart)."""
        out: list[tuple[int, bool]] = []
        for first, last in self.runs(starts):
            if high is not None and first > high:
                break
            out += [(start, True) for start in self.run_starts(first, last, low, high)]
            closing = self.closing_start(first, last)
            if closing is not None and (low is None or closing > low) and (high is None or closing <= high):
                out.append((closing, False))
        return out

    def _windows(self, panes: Panes, after: int | None) -> list[tuple[int, bool]]:
        """Every window with events (True) or closing (False) ending after ``after``, by start."""
        return self.listing(sorted(panes), None if after is None else after - self.size, None)

    def emit(self, panes: Panes, before: int | None, watermark: int) -> list[GridRow]:
        """The windows with ``before < end <= watermark`` (``before`` is the previous watermark), then evict.

        ``listing`` in one pass: the windows of each run of panes, then its closing row. A window of one pane
        gives that pane's own states (read them; do not keep or change them)."""
        if not panes:
            return []
        offset = self.offset
        if offset:  # shifted time in, real time out
            if before is not None:
                before -= offset
            rows = self.emit_shifted(panes, before, watermark - offset)
            return [(start + offset, end + offset, states) for start, end, states in rows]
        return self.emit_shifted(panes, before, watermark)

    def emit_shifted(self, panes: Panes, before: int | None, watermark: int) -> list[GridRow]:
        """``emit`` in shifted time (``before``, ``watermark`` and the rows' times minus ``offset``)."""
        size = self.size
        keys = sorted(panes)
        rows: list[GridRow] = []
        low = None if before is None else before - size  # end > before  <=>  start > before - size
        high = watermark - size
        single_pane = self.pane == size
        for first, last in self.runs(keys):
            if first > high:
                break
            for start in self.run_starts(first, last, low, high):
                if single_pane:  # tumbling: the window is its pane (held events: it is there)
                    rows.append((start, start + size, panes[start]))
                else:
                    rows.append((start, start + size, self._window_states(panes, keys, start)))
            closing = self.closing_start(first, last)
            if closing is not None and (low is None or closing > low) and closing <= high:
                rows.append((closing, closing + size, None))
        self._evict(panes, keys, watermark)
        return rows

    def emit_latest(self, panes: Panes, before: int | None, watermark: int) -> tuple[int, GridRow | None]:
        """``emit`` for a reader of the newest window only (an online vector): how many windows ``emit`` gives
        and the last of them, whose states alone are merged; the same eviction."""
        if not panes:
            return 0, None
        offset, size = self.offset, self.size
        if offset:
            if before is not None:
                before -= offset
            watermark -= offset
        keys = sorted(panes)
        low, high = None if before is None else before - size, watermark - size
        count, latest = 0, None  # ``listing``'s length and last item, without the list
        for first, last in self.runs(keys):
            if first > high:
                break
            starts = self.run_starts(first, last, low, high)
            if starts:
                count += len(starts)
                latest = (starts[-1], True)
            closing = self.closing_start(first, last)
            if closing is not None and (low is None or closing > low) and closing <= high:
                count += 1
                latest = (closing, False)
        row = None
        if latest is not None:
            start, with_events = latest
            row = (start + offset, start + size + offset,
                   self._window_states(panes, keys, start) if with_events else None)
        self._evict(panes, keys, watermark)
        return count, row

    def _window_states(self, panes: Panes, keys: Sequence[int], start: int) -> States:
        """The states of the window from ``start`` holding events: its one pane's (read only), or its panes
        merged into new states."""
        lo = bisect.bisect_left(keys, start)
        hi = bisect.bisect_left(keys, start + self.size, lo)
        if hi - lo == 1:
            return panes[keys[lo]]
        return self.slots.merged([panes[p] for p in keys[lo:hi]])

    def _evict(self, panes: Panes, keys: Sequence[int], watermark: int) -> None:
        """Drop the panes no window after ``watermark`` needs (shifted time; ``keys`` sorted)."""
        step = self.step
        evict_before = ((watermark - self.size) // step + 1) * step - step  # s0 - step (module docstring)
        for p in keys:
            if p >= evict_before:
                break
            del panes[p]

    def next_end(self, panes: Panes, watermark: int | None) -> int | None:
        """The end of the next window to emit (the watermark at which ``emit`` will give a row), if any.

        Without listing windows: the first window not emitted starts at ``s0``; it is next when it or the
        window before it holds events (a window, or the closing row of a run); otherwise the next is the
        earliest window after ``s0`` holding a pane.
        """
        if not panes:
            return None
        size, step, offset = self.size, self.step, self.offset
        if watermark is not None:
            watermark -= offset
        s0 = None if watermark is None else ((watermark - size) // step + 1) * step
        for p in sorted(panes):  # a pane's first and last window grow with p: the first pane with one left wins
            first, last = ((p - size) // step + 1) * step, p - p % step
            if s0 is not None and first < s0 - step:
                first = s0 - step
            if first <= last:
                best = first
                break
        else:
            return None
        if s0 is not None and best < s0:
            best = s0  # the window before s0 held events: s0 is a window with events or a closing row
        return best + size + offset

    def write(self, panes: Panes, out: bytearray) -> None:
        """Append the panes' encoding: count, first start (``<q``), then gaps in panes, each with its states."""
        count = len(panes)
        if not count:
            out.append(0)
            return
        keys = sorted(panes) if count > 1 else list(panes)
        write_states = self.slots.write
        if count < 0x80:  # the count as a one-byte varint
            out += _COUNT_START.pack(count, keys[0])
        else:
            write_uint(out, count)
            out += _I64.pack(keys[0])
        write_states(panes[keys[0]], out)
        for previous, p in pairwise(keys):
            write_uint(out, (p - previous) // self.pane)
            write_states(panes[p], out)

    def read(self, data: bytes, pos: int) -> tuple[Panes, int]:
        """Panes written by ``write`` at ``pos``, and the position after them."""
        count, pos = read_uint(data, pos)
        panes: Panes = {}
        if not count:
            return panes, pos
        (p,) = _I64.unpack_from(data, pos)
        panes[p], pos = self.slots.read(data, pos + 8)
        for _ in range(count - 1):
            gap, pos = read_uint(data, pos)
            p += gap * self.pane
            panes[p], pos = self.slots.read(data, pos)
        return panes, pos
