"""Window assignment vs naive loops: tumbling, sliding, sessions, the generic ``assign``; ints vs datetimes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from aquifer.aggregations import (
    assign,
    assign_sessions,
    event_windows,
    from_micros,
    input_range,
    sliding_windows,
    to_micros,
    tumbling_window,
)
from aquifer.definitions import Session, Sliding, Tumbling

US = timedelta(microseconds=1)


def naive_sliding(ts: int, size: int, step: int) -> list[tuple[int, int]]:
    """Scan every aligned start near ts and keep the windows that contain it."""
    out = []
    for k in range((ts - size) // step - 2, ts // step + 3):
        start = k * step
        if start <= ts < start + size:
            out.append((start, start + size))
    return out


def test_tumbling_matches_naive_scan() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        size, ts = rng.randint(1, 50), rng.randint(-500, 500)
        assert [tumbling_window(ts, size)] == naive_sliding(ts, size, size)


def test_sliding_matches_naive_scan() -> None:
    rng = random.Random(2)
    for _ in range(2000):
        step = rng.randint(1, 10)
        size = step * rng.randint(1, 6) if rng.random() < 0.8 else rng.randint(step, 60)
        ts = rng.randint(-500, 500)
        windows = sliding_windows(ts, size, step)
        assert windows == naive_sliding(ts, size, step)
        if size % step == 0:
            assert len(windows) == size // step


def test_datetimes_give_the_same_windows_as_micros() -> None:
    ts = datetime(2024, 3, 10, 13, 47, 12, 345, tzinfo=UTC)
    start, end = tumbling_window(ts, timedelta(hours=1))
    assert (start, end) == (datetime(2024, 3, 10, 13, tzinfo=UTC), datetime(2024, 3, 10, 14, tzinfo=UTC))
    hour, five = timedelta(hours=1), timedelta(minutes=5)
    as_ints = sliding_windows(to_micros(ts), hour // US, five // US)
    assert [(to_micros(s), to_micros(e)) for s, e in sliding_windows(ts, hour, five)] == as_ints
    assert from_micros(to_micros(ts)) == ts
    naive = datetime(2024, 3, 10, 13, 47)
    assert to_micros(naive) == to_micros(naive.replace(tzinfo=UTC))  # naive means UTC
    assert to_micros(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)) == -1_000_000


def test_window_boundaries_are_half_open() -> None:
    assert tumbling_window(10, 10) == (10, 20)
    assert tumbling_window(9, 10) == (0, 10)
    assert sliding_windows(10, 10, 5) == [(5, 15), (10, 20)]
    with pytest.raises(ValueError):
        tumbling_window(1, 0)
    with pytest.raises(ValueError):
        sliding_windows(1, 10, -5)


def naive_sessions(times: list[int], gap: int, max_duration: int | None) -> list[tuple[int, int, list[int]]]:
    """Greedy by definition: each session is the longest run of the remaining events that obeys both rules."""
    sessions, i = [], 0
    while i < len(times):
        first, j = times[i], i + 1
        while (
            j < len(times)
            and all(times[m + 1] < times[m] + gap for m in range(i, j))
            and (max_duration is None or times[j] < first + max_duration)
        ):
            j += 1
        end = times[j - 1] + gap
        if max_duration is not None:
            end = min(end, first + max_duration)
        sessions.append((first, end, list(range(i, j))))
        i = j
    return sessions


def components(times: list[int], gap: int) -> list[tuple[int, int]]:
    """Without max_duration a session is a connected run of the time covered by some [t, t + gap).

    Half ticks, dropping each interval's last half tick, so [0, 5) and [5, 10) stay apart (an event exactly
    ``gap`` after the last one opens a new session).
    """
    covered = sorted({tick for t in times for tick in range(2 * t, 2 * (t + gap) - 1)})
    runs: list[list[int]] = []
    for tick in covered:
        if runs and tick == runs[-1][1]:
            runs[-1][1] = tick + 1
        else:
            runs.append([tick, tick + 1])
    return [(a // 2, (b + 1) // 2) for a, b in runs]


def test_sessions_match_naive_definitions() -> None:
    rng = random.Random(3)
    for _ in range(1500):
        times = sorted(rng.randint(0, 80) for _ in range(rng.randint(0, 15)))
        gap = rng.randint(1, 12)
        max_duration = rng.choice([None, rng.randint(1, 30)])
        sessions = assign_sessions(times, gap, max_duration)
        assert sessions == naive_sessions(times, gap, max_duration)
        if max_duration is None:
            assert [(s, e) for s, e, _ in sessions] == components(times, gap)
        for (_, end, _), (next_start, _, _) in pairwise(sessions):
            assert end <= next_start, "sessions never overlap"
        for start, end, idx in sessions:
            assert all(start <= times[i] < end for i in idx)
            assert max_duration is None or end - start <= max_duration


def test_session_boundary_cases() -> None:
    assert assign_sessions([0, 4, 8], 5) == [(0, 13, [0, 1, 2])]
    assert assign_sessions([0, 5], 5) == [(0, 5, [0]), (5, 10, [1])]  # exactly gap later: new session
    assert assign_sessions([0, 3, 6, 9], 5, max_duration=6) == [(0, 6, [0, 1]), (6, 12, [2, 3])]
    assert assign_sessions([0, 0, 0], 1, max_duration=1) == [(0, 1, [0, 1, 2])]
    assert assign_sessions([], 5) == []
    with pytest.raises(ValueError, match="sorted"):
        assign_sessions([3, 1], 5)
    day = datetime(2024, 1, 1, tzinfo=UTC)
    sessions = assign_sessions([day, day + timedelta(minutes=10)], timedelta(minutes=30))
    assert sessions == [(day, day + timedelta(minutes=40), [0, 1])]


def test_generic_assign_matches_per_event_windows() -> None:
    rng = random.Random(4)
    windows = [Tumbling(10 * US), Sliding(12 * US, every=4 * US), Session(gap=6 * US, max_duration=20 * US)]
    for _ in range(300):
        times = [rng.randint(-50, 100) for _ in range(rng.randint(0, 20))]
        for window in windows:
            assigned = assign(window, times)
            assert assigned == sorted(assigned, key=lambda w: (w[0], w[1]))
            if isinstance(window, Session):
                order = sorted(range(len(times)), key=lambda i: times[i])
                expected = assign_sessions([times[i] for i in order], window.gap, window.max_duration)
                assert [(s, e, sorted(order[i] for i in idx)) for s, e, idx in expected] == [
                    (s, e, sorted(idx)) for s, e, idx in assigned
                ]
                continue
            for start, end, idx in assigned:
                assert idx == [i for i, t in enumerate(times) if start <= t < end]
            n_memberships = sum(len(event_windows(window, t)) for t in times)
            assert sum(len(idx) for _, _, idx in assigned) == n_memberships


def test_event_windows_rejects_sessions() -> None:
    with pytest.raises(TypeError):
        event_windows(Session(gap="5m"), 0)  # type: ignore[arg-type]


def test_input_range() -> None:
    assert input_range(Tumbling(10 * US), 100, 200) == (80, 200)
    assert input_range(Sliding(12 * US, every=4 * US), 100, 200) == (84, 200)
    assert input_range(Session(gap=5 * US), 100, 200) == (None, 200)
