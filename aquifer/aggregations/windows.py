"""Window assignment as pure functions. Windows are half-open ``[start, end)`` and epoch-aligned.

Times are epoch microseconds (``int``, what engines should pass) or datetimes (naive = UTC); each function
returns the kind of time it was given. Durations are microseconds or ``timedelta``.

* **Tumbling** ``size``: the one window ``[start, start + size)`` with ``start - offset`` a multiple of ``size``.
* **Sliding** ``size`` every ``step``: every window ``[s, s + size)`` with ``s - offset`` a multiple of ``step``
  and ``s <= ts < s + size`` (``size / step`` windows when ``size`` is a multiple of ``step``). Offsets
  (``0 <= offset < step``) shift the epoch-aligned grid; they default to 0.
* **Session** ``gap``, optional ``max_duration`` — per entity, over its events sorted by time:
  the first event opens a session; the next event at ``t`` joins it when ``t < last + gap`` and (with a
  ``max_duration``) ``t < first + max_duration``; otherwise it opens a new session. The session's window is
  ``[first, last + gap)``, cut to ``[first, first + max_duration)`` when that is shorter, so sessions never
  overlap and never last longer than ``max_duration``. An event exactly ``gap`` after the last one, or
  exactly ``max_duration`` after the first one, opens a new session. Equal times always share a session.

Windows are formed by events, not by values: an event whose value is null still opens or extends a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aquifer.aggregations.epoch import Duration, Time, duration_micros, from_micros, like, to_micros
from aquifer.definitions.windows import Lifetime, Session, Sliding, Tumbling, Window

Assigned = tuple[Time, Time, list[int]]
"""``(start, end, indices)``: a window and the positions of its events in the input."""


def _positive(duration: Duration, what: str) -> int:
    us = duration_micros(duration)
    if us <= 0:
        raise ValueError(f"{what} must be positive, got {duration}")
    return us


def tumbling_window(ts: Time, size: Duration, offset: Duration = 0) -> tuple[Time, Time]:
    """The tumbling window of ``size`` (starts at ``offset`` plus a multiple of ``size``) that contains ``ts``."""
    if type(ts) is int and type(size) is int and size > 0 and not offset:  # the stream engine's fast path
        start = ts - ts % size
        return start, start + size  # type: ignore[return-value]
    size_us = _positive(size, "tumbling window size")
    shift = duration_micros(offset)
    t = to_micros(ts)
    start = t - (t - shift) % size_us  # % floors, so times before 1970 work too
    return like(start, ts), like(start + size_us, ts)  # type: ignore[return-value]


def sliding_windows(ts: Time, size: Duration, step: Duration, offset: Duration = 0) -> list[tuple[Time, Time]]:
    """Every sliding window of ``size`` (starting on ``offset`` plus a multiple of ``step``) that contains
    ``ts``, by start."""
    size_us, step_us = _positive(size, "sliding window size"), _positive(step, "sliding window step")
    t = to_micros(ts)
    last = t - (t - duration_micros(offset)) % step_us
    earlier = (size_us - 1 - (t - last)) // step_us  # how many steps back a start can be: start > t - size
    starts = range(last - earlier * step_us, last + 1, step_us)
    if isinstance(ts, int):
        return [(start, start + size_us) for start in starts]  # type: ignore[misc]
    return [(from_micros(start), from_micros(start + size_us)) for start in starts]  # type: ignore[misc]


def assign_sessions(
    sorted_timestamps: Sequence[Time], gap: Duration, max_duration: Duration | None = None
) -> list[Assigned]:
    """Split one entity's time-sorted events into sessions (rules in the module docstring)."""
    gap_us = _positive(gap, "session gap")
    max_us = None if max_duration is None else _positive(max_duration, "session max_duration")
    times = [to_micros(ts) for ts in sorted_timestamps]
    sessions: list[tuple[int, int, list[int]]] = []
    first = last = 0
    members: list[int] = []
    for i, t in enumerate(times):
        if members and t < last:
            raise ValueError(f"timestamps must be sorted: position {i} is earlier than position {i - 1}")
        if members and t < last + gap_us and (max_us is None or t < first + max_us):
            members.append(i)
            last = t
            continue
        if members:
            sessions.append((first, _session_end(first, last, gap_us, max_us), members))
        first, last, members = t, t, [i]
    if members:
        sessions.append((first, _session_end(first, last, gap_us, max_us), members))
    if sorted_timestamps and isinstance(sorted_timestamps[0], datetime):
        return [(from_micros(s), from_micros(e), idx) for s, e, idx in sessions]  # type: ignore[misc]
    return sessions  # type: ignore[return-value]


def _session_end(first: int, last: int, gap: int, max_duration: int | None) -> int:
    end = last + gap
    return end if max_duration is None else min(end, first + max_duration)


def event_windows(window: Tumbling | Sliding, ts: Time) -> list[tuple[Time, Time]]:
    """The windows one event belongs to (tumbling and sliding only: sessions depend on other events)."""
    if isinstance(window, Tumbling):
        return [tumbling_window(ts, window.size, window.offset)]
    if isinstance(window, Sliding):
        return sliding_windows(ts, window.size, window.every, window.offset)
    raise TypeError(f"event_windows needs a Tumbling or Sliding window, got {window!r}; use assign()")


def assign(window: Window, timestamps: Sequence[Time]) -> list[Assigned]:
    """Every window of one entity's events (any order), by ``(start, end)``, each with its events' positions.

    Only windows holding at least one event are returned. ``Lifetime`` windows have no assignment (see
    ``reference.compute_windows``).
    """
    if isinstance(window, Lifetime):
        raise TypeError("a Lifetime window holds every earlier event: use reference.compute_windows")
    if isinstance(window, Session):
        order = sorted(range(len(timestamps)), key=lambda i: to_micros(timestamps[i]))
        sessions = assign_sessions([timestamps[i] for i in order], window.gap, window.max_duration)
        return [(start, end, [order[i] for i in idx]) for start, end, idx in sessions]
    groups: dict[tuple[Time, Time], list[int]] = {}
    for i, ts in enumerate(timestamps):
        for bounds in event_windows(window, ts):
            groups.setdefault(bounds, []).append(i)
    return [(start, end, idx) for (start, end), idx in sorted(groups.items(), key=lambda kv: kv[0])]


def window_step(window: Tumbling | Sliding) -> int:
    """Microseconds between consecutive window starts (``size`` for tumbling, ``every`` for sliding)."""
    return duration_micros(window.size if isinstance(window, Tumbling) else window.every)


def input_range(window: Window, start: Time, end: Time) -> tuple[Time | None, Time]:
    """Event times a batch must read to compute every window row whose ``end`` lies in ``[start, end)``.

    Tumbling/sliding: ``[start - size - step, end)`` (the extra ``step`` decides closing rows, see
    ``reference.compute_windows``). Sessions: ``(None, end)`` — a session can begin arbitrarily early,
    because each event extends it by ``gap`` and ``max_duration`` splits depend on where the chain began.
    ``Lifetime``: ``(None, end)``, every event ever.
    """
    if isinstance(window, Session | Lifetime):
        return None, end
    back = duration_micros(window.size) + window_step(window)
    return like(to_micros(start) - back, start), end  # type: ignore[return-value]
