"""The event-at-a-time operator against the brute-force reference: events replayed one by one, out of order
within the lateness, state round-tripped through bytes between events, watermark = max time seen - lateness."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquifer.aggregations import KLL_RANK_ERROR, compute_windows, event_windows
from aquifer.aggregations.incremental import KeyState, Late, WindowOperator, WindowRow
from aquifer.aggregations.panes import GridGroup
from aquifer.aggregations.sessions import SessionGroup
from aquifer.definitions import Aggregation, Session, Sliding, Tumbling
from aquifer.definitions.windows import Lifetime, Window

US = timedelta(microseconds=1)
FUNCTIONS = ["count", "sum", "avg", "min", "max", "p50", "p95"]
NAN = float("nan")

Event = tuple[int, int, object, object]
"""``(key, ts, x, y)``."""


@dataclass
class Replay:
    """What one replay produced: rows and accepted events per key, late reports, watermarks at arrival."""

    rows: dict[int, list[WindowRow]] = field(default_factory=dict)
    accepted: dict[int, list[Event]] = field(default_factory=dict)
    late: list[tuple[Event, int, tuple[Late, ...]]] = field(default_factory=list)


def replay(op: WindowOperator, arrivals: Sequence[Event], lateness: int) -> Replay:
    """Feed events in arrival order; after each, advance the watermark of every key (state via bytes)."""
    out = Replay()
    stored: dict[int, bytes] = {}
    seen: int | None = None
    watermark: int | None = None
    for event in arrivals:
        key, ts, x, y = event
        state = op.from_bytes(stored[key]) if key in stored else op.new_state()
        state, late = op.on_event(state, ts, {"x": x, "y": y}, watermark_us=watermark)
        stored[key] = op.to_bytes(state)
        if late:
            out.late.append((event, watermark, late))  # type: ignore[arg-type]
        else:
            out.accepted.setdefault(key, []).append(event)
        seen = ts if seen is None else max(seen, ts)
        watermark = seen - lateness
        for k in stored:
            state = op.from_bytes(stored[k])
            due = op.next_emit(state)  # a timer at ``due`` would fire exactly when rows are ready
            state, rows = op.on_watermark(state, watermark)
            assert (due is not None and due <= watermark) == bool(rows) and (not rows or rows[0].end == due)
            out.rows.setdefault(k, []).extend(rows)
            stored[k] = op.to_bytes(state)
    for k in stored:
        state, rows = op.on_watermark(op.from_bytes(stored[k]), 10**9)
        out.rows.setdefault(k, []).extend(rows)
        assert op.is_idle(state) and op.next_emit(state) is None
    return out


def same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return type(a) is type(b) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]


def mismatches(op: WindowOperator, result: Replay) -> list[str]:
    """Every difference between the emitted rows and ``compute_windows`` over the accepted events."""
    problems = []
    for key in sorted(set(result.rows) | set(result.accepted)):
        events = result.accepted.get(key, [])
        for i, aggregation in enumerate(op.aggregations):
            column = 1 if aggregation.column == "x" else 2
            expected = compute_windows([(e[1], e[1 + column]) for e in events], aggregation)
            got = sorted((r.start, r.end, r.value) for r in result.rows.get(key, []) if r.aggregation == i)
            if len(got) != len(expected) or not all(
                (g[0], g[1]) == (w.start, w.end) and same(g[2], w.value) for g, w in zip(got, expected, strict=False)
            ):
                problems.append(f"key {key} {aggregation.feature_name}: got {got}, expected {expected}")
    return problems


def check_late_reports(op: WindowOperator, result: Replay) -> None:
    """Late means: a window holding the event had closed (sessions: ts < watermark); never for ts >= watermark."""
    for (_, ts, _, _), watermark, reports in result.late:
        assert watermark is not None and ts < watermark
        for report in reports:
            window = op.aggregations[report.aggregation].window
            if isinstance(window, Session):
                assert report.start is None
            else:
                assert (report.start, report.end) in event_windows(window, ts) and report.end <= watermark
        late_windows = {r.aggregation for r in reports}
        for i, aggregation in enumerate(op.aggregations):
            window = aggregation.window
            closed = ts < watermark if isinstance(window, Session) else any(
                end <= watermark for _, end in event_windows(window, ts))
            assert closed == (i in late_windows)


def arrivals(events: Sequence[Event], jitters: Sequence[int]) -> list[Event]:
    """Events in order of ``ts + jitter``: with jitters in ``[0, lateness]`` none is late."""
    order = sorted(range(len(events)), key=lambda i: (events[i][1] + jitters[i], i))
    return [events[i] for i in order]


def tumbling(draw: st.DrawFn) -> Tumbling:
    return Tumbling(draw(st.integers(1, 25)) * US)


def sliding(draw: st.DrawFn, multiple: bool) -> Sliding:
    every = draw(st.integers(1, 8))
    size = every * draw(st.integers(1, 4)) if multiple else draw(st.integers(every + 1, 30))
    if not multiple and size % every == 0:
        size += 1
    return Sliding(size * US, every=every * US)


def session(draw: st.DrawFn, bounded: bool) -> Session:
    gap = draw(st.integers(1, 15))
    return Session(gap * US, max_duration=draw(st.integers(1, 40)) * US if bounded else None)


KINDS = ["tumbling", "sliding", "sliding_not_multiple", "session", "session_max", "mixed"]


def window_of(draw: st.DrawFn, kind: str) -> Window:
    if kind == "mixed":
        kind = draw(st.sampled_from(KINDS[:-1]))
    if kind == "tumbling":
        return tumbling(draw)
    if kind.startswith("sliding"):
        return sliding(draw, kind == "sliding")
    return session(draw, kind == "session_max")


values = st.one_of(st.none(), st.just(NAN), st.integers(-5, 5), st.floats(-100, 100, allow_nan=False))


@st.composite
def scenarios(draw: st.DrawFn, kind: str) -> tuple[list[Aggregation], list[Event], int]:
    first, second = window_of(draw, kind), window_of(draw, kind)
    aggregations = [Aggregation("x", f, first) for f in FUNCTIONS]
    aggregations += [Aggregation("y", "count", second), Aggregation("y", "p50", second),
                     Aggregation("x", "sum", second, name="x_sum_second")]
    lateness = draw(st.integers(0, 20))
    raw = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(-30, 120), values, values), max_size=40))
    duplicates = draw(st.lists(st.sampled_from(raw), max_size=5)) if raw else []
    events = raw + duplicates
    beyond = draw(st.sampled_from([0, 0, 5, 20]))  # > 0: some events arrive later than the lateness allows
    jitters = draw(st.lists(st.integers(0, lateness + beyond), min_size=len(events), max_size=len(events)))
    return aggregations, arrivals(events, jitters), lateness


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_replay_matches_the_reference(kind: str, data: st.DataObject) -> None:
    aggregations, events, lateness = data.draw(scenarios(kind))
    op = WindowOperator(aggregations)
    result = replay(op, events, lateness)
    assert mismatches(op, result) == []
    check_late_reports(op, result)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_timer_lowered_to_first_end_never_fires_after_rows_are_ready(kind: str, data: st.DataObject) -> None:
    """The stream arms a key's timer at ``min(timer, first_end(ts))`` per event and exactly (``next_emit``)
    only when it fires: the timer must never be later than the exact next emission."""
    aggregations, events, lateness = data.draw(scenarios(kind))
    op = WindowOperator(aggregations)
    states: dict[int, object] = {}
    timers: dict[int, int | None] = {}
    seen = watermark = None
    for key, ts, x, y in events:
        state = states.setdefault(key, op.new_state())
        _, late = op.on_event(state, ts, {"x": x, "y": y}, watermark_us=watermark)  # type: ignore[arg-type]
        if not late:
            timer = timers.get(key)
            timers[key] = op.first_end(ts) if timer is None else min(timer, op.first_end(ts))
        seen = ts if seen is None else max(seen, ts)
        watermark = seen - lateness
        for k, st_ in states.items():
            exact = op.next_emit(st_)  # type: ignore[arg-type]
            assert exact is None or (timers.get(k) is not None and timers[k] <= exact), (k, timers.get(k), exact)
            timer = timers.get(k)
            if timer is not None and timer <= watermark:
                op.on_watermark(st_, watermark)  # type: ignore[arg-type]
                timers[k] = op.next_emit(st_)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_events_within_the_lateness_are_never_late(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(KINDS))
    aggregations, events, lateness = data.draw(scenarios(kind))
    in_time = arrivals(events, [0] * len(events))  # sorted by time: nothing is ever behind the watermark
    result = replay(WindowOperator(aggregations), in_time, lateness)
    assert result.late == []


def test_null_only_windows_exist_and_equal_times_both_count() -> None:
    op = WindowOperator([Aggregation("x", "count", Tumbling(10 * US), name="count"),
                         Aggregation("x", "sum", Session(5 * US), name="session_sum")])
    state = op.new_state()
    for ts, x in [(3, None), (3, NAN), (21, 2.0), (21, 4.0)]:
        state, late = op.on_event(state, ts, {"x": x})
        assert late == ()
    state, rows = op.on_watermark(state, 100)
    assert [(r.feature, r.start, r.end, r.value) for r in rows] == [
        ("session_sum", 3, 8, None),  # a session of null values: it exists, its sum is null
        ("count", 0, 10, 0),  # a window of null values: count 0, and a closing row follows
        ("count", 10, 20, 0),
        ("session_sum", 21, 26, 6.0),
        ("count", 20, 30, 2),  # two events at the same time both count
        ("count", 30, 40, 0),
    ]


def test_a_late_event_is_refused_by_every_aggregation_and_says_why() -> None:
    aggregations = [Aggregation("x", "count", Tumbling(10 * US), name="a"),
                    Aggregation("x", "max", Tumbling(100 * US), name="b"),
                    Aggregation("x", "avg", Session(5 * US), name="c")]
    op = WindowOperator(aggregations)
    state, _ = op.on_event(op.new_state(), 5, {"x": 1.0})
    state, rows = op.on_watermark(state, 12)
    assert [(r.aggregation, r.start, r.end, r.value) for r in rows] == [(0, 0, 10, 1), (2, 5, 10, 1.0)]
    state, late = op.on_event(state, 9, {"x": 7.0})
    assert late == (
        Late(0, "a", 0, 10, "window [0, 10) closed at watermark 12"),
        Late(2, "c", None, None, "session event at 9 before watermark 12"),
    )
    state, late = op.on_event(state, 12, {"x": 7.0}, watermark_us=15)  # the watermark at arrival counts
    assert [r.aggregation for r in late] == [2]
    state, late = op.on_event(state, 15, {"x": 3.0}, watermark_us=15)
    assert late == ()
    state, rows = op.on_watermark(state, 1000)
    assert [(r.aggregation, r.start, r.end, r.value) for r in rows] == [
        (0, 10, 20, 1), (2, 15, 20, 3.0), (0, 20, 30, 0), (1, 0, 100, 3.0), (1, 100, 200, None),
    ]


def test_a_late_event_may_bridge_sessions_and_move_max_duration_cuts() -> None:
    """Events 0, 3, 6, 9, 12 with gap 5 and max_duration 10 cut at 12; an out-of-order -2 moves the cut to 9."""
    aggregation = Aggregation("x", "count", Session(5 * US, max_duration=10 * US))
    op = WindowOperator([aggregation])
    state = op.new_state()
    for ts in (12, 3, 9, 0, 6, -2):
        state, late = op.on_event(state, ts, {"x": 1}, watermark_us=-3)
        assert late == ()
    state, rows = op.on_watermark(state, 100)
    assert [(r.start, r.end, r.value) for r in rows] == [(-2, 8, 4), (9, 17, 2)]
    bridge = WindowOperator([Aggregation("x", "count", Session(5 * US))])
    state = bridge.new_state()
    for ts in (0, 8, 4):  # 4 joins both neighbours: one session
        state, _ = bridge.on_event(state, ts, {"x": 1})
        assert bridge.next_emit(state) == (13 if ts == 4 else 5)
    assert [(r.start, r.end, r.value) for r in bridge.on_watermark(state, 100)[1]] == [(0, 13, 3)]


def test_percentiles_beyond_the_sketch_size_stay_within_the_rank_bound() -> None:
    rng = random.Random(7)
    events = [(rng.randrange(0, 1000), rng.gauss(0, 10)) for _ in range(3000)]
    aggregations = [Aggregation("x", q, Sliding(400 * US, every=100 * US)) for q in ("p50", "p95")]
    op = WindowOperator(aggregations)
    state = op.new_state()
    for ts, x in events:
        state, _ = op.on_event(state, ts, {"x": x})
    state, rows = op.on_watermark(state, 10**6)
    for row in rows:
        data = sorted(x for ts, x in events if row.start <= ts < row.end)
        if not data:
            assert row.value is None
            continue
        q = aggregations[row.aggregation].quantile
        rank = sum(x <= row.value for x in data) / len(data)
        assert abs(rank - q) <= KLL_RANK_ERROR + 1 / len(data), (row, rank)


def test_state_size_stays_flat_as_time_advances() -> None:
    aggregations = [Aggregation("x", f, w) for f in ("count", "avg", "p95") for w in (
        Tumbling(100 * US), Sliding(300 * US, every=70 * US), Session(8 * US, max_duration=500 * US), Session(3 * US))]
    op = WindowOperator(aggregations)
    rng = random.Random(1)
    lateness, state, seen, sizes = 50, op.new_state(), 0, []
    for i in range(6000):
        ts = max(0, i * 2 + rng.randint(-lateness, 0))
        seen = max(seen, ts)
        state, late = op.on_event(state, ts, {"x": rng.random()}, watermark_us=seen - lateness)
        assert late == ()
        state, _ = op.on_watermark(state, seen - lateness)
        sizes.append(len(op.to_bytes(state)))
    early, late_run = max(sizes[500:3000]), max(sizes[3000:])
    assert late_run <= early * 1.1, (early, late_run)


def test_state_refuses_bytes_of_other_aggregations() -> None:
    a = WindowOperator([Aggregation("x", "count", Tumbling(10 * US))])
    b = WindowOperator([Aggregation("x", "count", Tumbling(20 * US))])
    data = a.to_bytes(a.on_event(a.new_state(), 1, {"x": 1})[0])
    assert a.to_bytes(a.from_bytes(data)) == data
    with pytest.raises(ValueError, match="other aggregations"):
        b.from_bytes(data)


class _NoClosingAfterLongRuns(GridGroup):
    def closing_start(self, first: int, last: int) -> int | None:
        return last + self.step if first == last else None

    def next_end(self, panes: dict, watermark: int | None) -> int | None:  # type: ignore[type-arg]
        windows = self._windows(panes, watermark)  # the listing agrees with the wrong closing rule
        return windows[0][0] + self.size if windows else None


class _GapInclusive(SessionGroup):
    def joins(self, t: int, first: int, last: int) -> bool:
        return t <= last + self.gap and (self.max is None or t < first + self.max)


@pytest.mark.parametrize(("group", "window"), [
    ("grid_group", Tumbling(10 * US)), ("grid_group", Sliding(10 * US, every=5 * US)),
    ("session_group", Session(5 * US)), ("session_group", Session(5 * US, max_duration=12 * US)),
])
def test_the_checker_catches_a_wrong_operator(group: str, window: Window) -> None:
    """Negative control: a closing rule that skips runs longer than one window, and a ``<=`` session gap."""
    wrong = type("Wrong", (WindowOperator,), {group: _NoClosingAfterLongRuns if group == "grid_group"
                                               else _GapInclusive})
    aggregations = [Aggregation("x", f, window) for f in FUNCTIONS]
    rng = random.Random(3)
    caught = 0
    for _ in range(20):
        events = [(0, rng.randrange(0, 60), rng.random(), None) for _ in range(15)]
        ordered = arrivals(events, [rng.randint(0, 5) for _ in events])
        assert mismatches(WindowOperator(aggregations), replay(WindowOperator(aggregations), ordered, 5)) == []
        caught += bool(mismatches(wrong(aggregations), replay(wrong(aggregations), ordered, 5)))
    assert caught >= 5


def latest_per_aggregation(rows: Sequence[WindowRow]) -> list[WindowRow]:
    """What an online vector keeps of ``on_watermark``'s rows: each aggregation's last, in row order."""
    last = {row.aggregation: row for row in rows}
    return sorted(last.values(), key=lambda r: (r.end, r.start, r.aggregation))


@pytest.mark.parametrize("kind", [*KINDS, "offsets_and_lifetime"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_advance_keeps_what_on_watermark_gives_last(kind: str, data: st.DataObject) -> None:
    """``advance`` (the stream's emission) against ``on_watermark``: the same windows kept after every step, the
    same row count, and each aggregation's last row; watermarks move in jumps so one call closes many windows."""
    aggregations, events, lateness = data.draw(scenarios("mixed" if kind == "offsets_and_lifetime" else kind))
    if kind == "offsets_and_lifetime":
        aggregations += [Aggregation("x", "sum", Tumbling(7 * US, offset=3 * US), name="x_sum_offset"),
                         Aggregation("x", "max", Sliding(9 * US, every=3 * US, offset=2 * US), name="x_max_offset"),
                         Aggregation("x", "count", Lifetime(), name="x_count_life")]
    op = WindowOperator(aggregations)
    full: dict[int, KeyState] = {}
    latest: dict[int, KeyState] = {}
    seen = None
    for n, (key, ts, x, y) in enumerate(events):
        for states in (full, latest):
            state = states.setdefault(key, op.new_state())
            op.on_event(state, ts, {"x": x, "y": y}, watermark_us=state.watermark)
        seen = ts if seen is None else max(seen, ts)
        if n == len(events) - 1 or data.draw(st.booleans()):
            watermark = seen - lateness if n < len(events) - 1 else 10**9
            for k in full:
                _, rows = op.on_watermark(full[k], watermark)
                _, kept, emitted = op.advance(latest[k], watermark)
                assert emitted == len(rows)
                assert [(r.aggregation, r.start, r.end) for r in kept] == \
                       [(r.aggregation, r.start, r.end) for r in latest_per_aggregation(rows)]
                assert all(same(a.value, b.value) for a, b in zip(kept, latest_per_aggregation(rows), strict=True))
                # the same panes, segments and pending times (a KLL sketch a quantile was read from serializes
                # its level zero sorted, so bytes may differ); later rows check the states' values
                assert [sorted(p) for p in latest[k].panes] == [sorted(p) for p in full[k].panes]
                assert [[(s.first, s.last) for s in g] for g in latest[k].segments] == \
                       [[(s.first, s.last) for s in g] for g in full[k].segments]
                assert [sorted(g[1]) for g in latest[k].lifetimes] == [sorted(g[1]) for g in full[k].lifetimes]
                assert op.next_emit(latest[k]) == op.next_emit(full[k])
