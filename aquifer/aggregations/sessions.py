"""Session windows, one event at a time, reproducing ``windows.assign_sessions`` on the sorted events.

Per key the group keeps the *segments* not yet emitted, sorted and disjoint: ``(first, last, states)``, each
a set of events that certainly end up in one session. Sessions are the batch rule run over the segments: a
segment joins the current session when ``first < last + gap`` (and, with ``max_duration``,
``first < session first + max_duration``).

* Without ``max_duration`` a session only ever grows or merges with a neighbour (an out-of-order event may
  bridge two), so each session is one segment.
* With ``max_duration`` where a session is cut depends on where its chain began, so an out-of-order event can
  move every later cut. Segments are therefore kept per distinct event time until the watermark passes them:
  events before the watermark ``W`` keep their session forever (accepted events are ``>= W`` and come after
  them in time order, so the batch rule decides their fate first), and those of one session are merged into
  one segment. What stays unmerged are the distinct times in ``[W, latest event]`` — the lateness span.

A session is emitted once its ``end <= W``: no accepted event (``ts >= W >= end``) can join it or change a cut
before it, and it is dropped from the state.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter

from aquifer.aggregations.epoch import duration_micros
from aquifer.aggregations.states import Slots, States, read_uint, write_uint
from aquifer.definitions.windows import Session


@dataclass(slots=True)
class Segment:
    """Events sure to share a session: the first and last time, and their states."""

    first: int
    last: int
    states: States


SessionRow = tuple[int, int, States]
"""``(start, end, states)``; ``states`` may be a segment's own states (read them; do not keep or change them)."""
_I64 = struct.Struct("<q")
_first_of = attrgetter("first")


class SessionGroup:
    """The session logic of one ``Session`` window shared by some aggregations (their ``Slots``)."""

    def __init__(self, window: Session, slots: Slots) -> None:
        self.gap = duration_micros(window.gap)
        self.max = None if window.max_duration is None else duration_micros(window.max_duration)
        if self.gap <= 0 or (self.max is not None and self.max <= 0):
            raise ValueError(f"{window!r}: gap and max_duration must be positive")
        self.slots = slots

    def joins(self, t: int, first: int, last: int) -> bool:
        """The batch rule: does an event at ``t`` join the session ``[first … last]``?"""
        return t < last + self.gap and (self.max is None or t < first + self.max)

    def end(self, first: int, last: int) -> int:
        """A session's end: ``last + gap``, cut to ``first + max_duration``."""
        end = last + self.gap
        return end if self.max is None else min(end, first + self.max)

    def late(self, ts: int, watermark: int | None) -> bool:
        """Sessions take no event before the watermark (it might belong to a session already emitted)."""
        return watermark is not None and ts < watermark

    def add(self, segments: list[Segment], ts: int, values: Mapping[str, object]) -> None:
        """Count one event (accepted: at or after the watermark): into the segment covering its time, else as a
        new segment, merged with the sessions it joins."""
        if not segments or segments[-1].first <= ts:
            i = len(segments)  # the common case: events come roughly in time order
        else:
            i = bisect.bisect_right(segments, ts, key=_first_of)
        if i and segments[i - 1].last >= ts:
            covering = segments[i - 1]
            covering.states = self.slots.update(covering.states, values, ts)
            return
        if self.max is not None:
            # a point at or after the watermark is never merged before the next watermark (see the module doc)
            segments.insert(i, Segment(ts, ts, self.slots.update(self.slots.init(), values, ts)))
            return
        # Without max_duration the segments are whole sessions: the event can only reach its two neighbours.
        if i and self.joins(ts, segments[i - 1].first, segments[i - 1].last):
            current = segments[i - 1]
            current.states = self.slots.update(current.states, values, ts)
            current.last = ts  # ts > current.last: the covering case returned above
        else:
            current = Segment(ts, ts, self.slots.update(self.slots.init(), values, ts))
            segments.insert(i, current)
            i += 1
        if i < len(segments) and self.joins(segments[i].first, current.first, current.last):
            current.states = self.slots.merge(current.states, segments[i].states)
            current.last = max(current.last, segments[i].last)
            del segments[i]

    def _sessions(self, segments: list[Segment]) -> list[tuple[int, int, int, int]]:
        """The batch rule over the segments: ``(i, j, first, last)`` per session of ``segments[i:j]``."""
        out = []
        i, n = 0, len(segments)
        while i < n:
            first, last = segments[i].first, segments[i].last
            j = i + 1
            while j < n and self.joins(segments[j].first, first, last):
                last = max(last, segments[j].last)
                j += 1
            out.append((i, j, first, last))
            i = j
        return out

    def _regroup(self, segments: list[Segment], watermark: int | None) -> None:
        """Merge what certainly shares a session: a whole session without ``max_duration``, else its part
        before the watermark."""
        merged: list[Segment] = []
        for i, j, _, _ in self._sessions(segments):
            members = segments[i:j]
            if self.max is None:
                cut = len(members)
            else:
                cut = 0
                while cut < len(members) and watermark is not None and members[cut].last < watermark:
                    cut += 1
            if cut > 1:
                head = members[0]
                for other in members[1:cut]:
                    head.states = self.slots.merge(head.states, other.states)
                head.last = max(m.last for m in members[:cut])
                members = [head, *members[cut:]]
            merged.extend(members)
        segments[:] = merged

    def emit(self, segments: list[Segment], watermark: int) -> list[SessionRow]:
        """The sessions with ``end <= watermark``, removed from ``segments``."""
        if not segments:
            return []
        rows: list[SessionRow] = []
        done = 0
        if self.max is None:  # each segment is a whole session (``add`` keeps them so): nothing to regroup
            for segment in segments:
                end = self.end(segment.first, segment.last)
                if end > watermark:
                    break
                rows.append((segment.first, end, segment.states))
                done += 1
            del segments[:done]
            return rows
        self._regroup(segments, watermark)
        for i, j, first, last in self._sessions(segments):
            end = self.end(first, last)
            if end > watermark:
                break
            members = segments[i:j]
            states = members[0].states if j - i == 1 else self.slots.merged([m.states for m in members])
            rows.append((first, end, states))
            done = j
        del segments[:done]
        return rows

    def next_end(self, segments: list[Segment]) -> int | None:
        """The end of the first session not emitted (it may still grow), if any."""
        if not segments:
            return None
        first, last = segments[0].first, segments[0].last
        if self.max is not None:  # without max_duration the first segment is the first session
            for j in range(1, len(segments)):  # the batch rule, up to the end of the first session
                if not self.joins(segments[j].first, first, last):
                    break
                last = max(last, segments[j].last)
        return self.end(first, last)

    def write(self, segments: list[Segment], out: bytearray) -> None:
        """Append the segments' encoding: count, then per segment its first time (the first absolute as ``<q``,
        the others from the previous last), its length and states."""
        write_uint(out, len(segments))
        previous = None
        for segment in segments:
            if previous is None:
                out += _I64.pack(segment.first)
            else:
                write_uint(out, segment.first - previous)
            write_uint(out, segment.last - segment.first)
            previous = segment.last
            self.slots.write(segment.states, out)

    def read(self, data: bytes, pos: int) -> tuple[list[Segment], int]:
        """Segments written by ``write`` at ``pos``, and the position after them."""
        count, pos = read_uint(data, pos)
        segments = []
        previous = 0
        for i in range(count):
            if i == 0:
                (first,) = _I64.unpack_from(data, pos)
                pos += 8
            else:
                delta, pos = read_uint(data, pos)
                first = previous + delta
            length, pos = read_uint(data, pos)
            states, pos = self.slots.read(data, pos)
            segments.append(Segment(first, first + length, states))
            previous = first + length
        return segments, pos
