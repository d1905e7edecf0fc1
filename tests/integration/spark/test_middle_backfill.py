"""A backfill of a middle day of an ``AggregationView`` gives the rows of a full recompute.

Store A runs over five-plus days, then source rows of one middle day (Jan 3) change and A backfills that day.
Store B runs once, fresh, over the changed source. A's offline rows must equal B's byte for byte in every
feature value, and both must equal a brute-force pandas computation of the windows written here. The
changes are made to cross the backfill's end (Jan 4 00:00) and start:

- user 1: a removed event splits a session chain crossing the end;
- user 2: an added event merges two sessions across the end;
- user 3: an added event moves the start of a ``max_duration`` chain that runs hours past the end, so every
  later cut moves; a changed amount just before the end straddles sliding windows;
- user 4: a changed amount just after the start: its session and sliding windows began the day before;
- user 5: the only event of the last hour is removed: its tumbling closing row (past the end) goes away;
- user 6: appears first in the changed day; its next events come a day later, when its session rows carry
  the tumbling count (0 after a closing row, null for an entity never seen before) forward.
"""

from __future__ import annotations

import math
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_helpers import HEADER, config_text, offline, write_parquet
from typer.testing import CliRunner

pytestmark = pytest.mark.spark

D = pd.Timestamp("2026-01-01", tz="UTC")
END = datetime(2026, 1, 9, tzinfo=UTC)
SOURCE = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts")
"""
THROUGH_A_VIEW = """
txn = FeatureView("txn", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount FROM {transactions}"), schema=[Field("amount", Float64)])
"""
ACTIVITY = """
activity = AggregationView("activity", entities=[user], source=%s, allowed_lateness=timedelta(hours=1),
    aggregations=[
        Aggregation("amount", "count", Tumbling("1h")),
        Aggregation("amount", "sum", Tumbling("1h")),
        Aggregation("amount", "avg", Sliding("2h", every="30m")),
        Aggregation("amount", "max", Sliding("2h", every="30m")),
        Aggregation("amount", "count", Session(gap="30m")),
        Aggregation("amount", "sum", Session(gap="30m")),
        Aggregation("amount", "sum", Session(gap="20m", max_duration="1h")),
    ])
"""
CODE = SOURCE + ACTIVITY % "transactions"
CODE_THROUGH_A_VIEW = SOURCE + THROUGH_A_VIEW + ACTIVITY % "txn"


def _at(day: int, hhmm: str) -> pd.Timestamp:
    """A scenario time: half a minute past ``hhmm``, so it never meets a background event (whole minutes)."""
    h, m = hhmm.split(":")
    return D + pd.Timedelta(days=day - 1, hours=int(h), minutes=int(m), seconds=30)


def _day(day: int) -> int:
    return int((D + pd.Timedelta(days=day - 1)).value // 1000)


def _source() -> pd.DataFrame:
    """Background bursts for users 1-5 over Jan 1-8 (none on Jan 3 after 20:00), plus the scenarios above."""
    rng = np.random.default_rng(11)
    rows = []
    for user in (1, 2, 3, 4, 5):
        t = D + pd.Timedelta(minutes=int(rng.integers(0, 120)))
        while t < D + pd.Timedelta(days=8):
            if not D + pd.Timedelta(days=2, hours=20) <= t < D + pd.Timedelta(days=3, hours=6):
                for _ in range(int(rng.integers(1, 5))):
                    rows.append((user, float(np.round(rng.uniform(1, 300), 2)), t))
                    t += pd.Timedelta(minutes=int(rng.choice([1, 4, 9, 17])))
            t += pd.Timedelta(minutes=int(rng.integers(40, 400)))
    scenario = [
        (1, "3 23:20"), (1, "3 23:40"), (1, "3 23:58"), (1, "4 00:15"), (1, "4 00:30"),
        (2, "3 23:10"), (2, "4 00:05"), (2, "4 00:20"),
        *[(3, f"{3 + (22 * 60 + 10 * k) // 1440} {(22 * 60 + 10 * k) % 1440 // 60:02d}:{(10 * k) % 60:02d}")
          for k in range(37)],  # every 10 minutes from Jan 3 22:00 to Jan 4 04:00
        (4, "2 23:45"), (4, "3 00:05"), (4, "3 00:20"),
        (5, "3 20:10"), (5, "3 23:30"),
        (6, "5 00:10"), (6, "5 00:25"), (6, "6 09:00"),
    ]
    for i, (user, when) in enumerate(scenario):
        day, hhmm = when.split(" ")
        rows.append((user, float(10 + i), _at(int(day), hhmm)))
    frame = pd.DataFrame(rows, columns=["user_id", "amount", "event_ts"])
    return frame.sort_values(["event_ts", "user_id"], kind="stable").reset_index(drop=True)


def _changed(source: pd.DataFrame) -> pd.DataFrame:
    """The corrected source: every change lies on Jan 3."""
    at = source.set_index(["user_id", "event_ts"]).index
    drop = at.isin([(1, _at(3, "23:58")), (5, _at(3, "23:30"))])
    fixed = source[~drop].copy()
    fixed.loc[(fixed.user_id == 3) & (fixed.event_ts == _at(3, "23:50")), "amount"] = 999.0
    fixed.loc[(fixed.user_id == 4) & (fixed.event_ts == _at(3, "00:05")), "amount"] = 555.0
    added = pd.DataFrame([(2, 77.0, _at(3, "23:38")), (3, 5.0, _at(3, "21:52")), (6, 12.0, _at(3, "12:00"))],
                         columns=["user_id", "amount", "event_ts"])
    return pd.concat([fixed, added]).sort_values(["event_ts", "user_id"], kind="stable").reset_index(drop=True)


# --- the oracle: windows by brute force, written independently of aquifer.aggregations ----------------------

H, M = 3_600_000_000, 60_000_000


def _grid(times: list[int], values: list[float], size: int, step: int) -> dict[int, list[float] | None]:
    """Window end -> the window's values; closing rows (after each run of windows) -> None."""
    starts = set()
    for t in times:
        ws = t - t % step
        while ws + size > t:
            starts.add(ws)
            ws -= step
    out: dict[int, list[float] | None] = {}
    for ws in starts:
        out[ws + size] = [v for t, v in zip(times, values, strict=True) if ws <= t < ws + size]
        if ws + step not in starts:
            out[ws + step + size] = None
    return out


def _sessions(times: list[int], values: list[float], gap: int, longest: int | None) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    first = last = None
    members: list[float] = []
    for t, v in zip(times, values, strict=True):
        if first is not None and (t >= last + gap or (longest is not None and t >= first + longest)):
            out[min(last + gap, first + longest) if longest else last + gap] = members
            first, members = None, []
        if first is None:
            first = t
        last = t
        members.append(v)
    if first is not None:
        out[min(last + gap, first + longest) if longest else last + gap] = members
    return out


def _value(function: str, values: list[float] | None) -> float | int | None:
    if function == "count":
        return 0 if values is None else len(values)
    if not values:
        return None
    return {"sum": math.fsum(values), "avg": math.fsum(values) / len(values), "max": max(values)}[function]


FEATURES = {  # feature -> (function, windows of one entity)
    "amount_count_1h": ("count", lambda t, v: _grid(t, v, H, H)),
    "amount_sum_1h": ("sum", lambda t, v: _grid(t, v, H, H)),
    "amount_avg_2h_every_30m": ("avg", lambda t, v: _grid(t, v, 2 * H, 30 * M)),
    "amount_max_2h_every_30m": ("max", lambda t, v: _grid(t, v, 2 * H, 30 * M)),
    "amount_count_session_30m": ("count", lambda t, v: _sessions(t, v, 30 * M, None)),
    "amount_sum_session_30m": ("sum", lambda t, v: _sessions(t, v, 30 * M, None)),
    "amount_sum_session_20m": ("sum", lambda t, v: _sessions(t, v, 20 * M, H)),
}


def _oracle(source: pd.DataFrame) -> pd.DataFrame:
    """One row per user and time at which any feature's window ends (before ``END``); each feature's value
    is that of its latest window ending at or before the row."""
    stop = int(pd.Timestamp(END).value // 1000)
    rows = []
    for user, group in source.sort_values("event_ts", kind="stable").groupby("user_id"):
        times = [int(ts.value // 1000) for ts in group.event_ts]
        values = group.amount.tolist()
        windows = {name: (fn, make(times, values)) for name, (fn, make) in FEATURES.items()}
        for t in sorted({end for _, w in windows.values() for end in w if end < stop}):
            row = {"user_id": user, "event_ts": t}
            for name, (fn, w) in windows.items():
                ends = [end for end in w if end <= t]
                row[name] = _value(fn, w[max(ends)]) if ends else None
            rows.append(row)
    return pd.DataFrame(rows)


# --- the test ------------------------------------------------------------------------------------------------


def _store(root: Path, source: pd.DataFrame, code: str = CODE):
    from aquifer.sdk.store import FeatureStore

    root.mkdir(parents=True)
    (root / "aquifer.yaml").write_text(config_text(root))
    (root / "features.py").write_text(HEADER + textwrap.dedent(code))
    write_parquet(source, root / "data" / "transactions.parquet")
    return FeatureStore(root)


def _features(store) -> pd.DataFrame:
    rows = offline(store, "activity").drop(columns=["created_ts"])
    return rows.assign(event_ts=rows.event_ts.map(lambda ts: int(pd.Timestamp(ts).value // 1000)))


def _assert_matches_oracle(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(got) == len(want)
    assert got.user_id.tolist() == want.user_id.tolist()
    assert got.event_ts.tolist() == want.event_ts.tolist()
    for name in FEATURES:
        for i, (a, b) in enumerate(zip(got[name], want[name], strict=True)):
            assert pd.isna(a) == pd.isna(b), (name, i, a, b)
            if not pd.isna(b):
                assert math.isclose(a, b, rel_tol=1e-12), (name, i, a, b)


@pytest.fixture(scope="module")
def full(tmp_path_factory, spark) -> pd.DataFrame:
    """The view's rows from a fresh full run over the changed source (store B)."""
    b = _store(tmp_path_factory.mktemp("full") / "b", _changed(_source()))
    assert b.run(end=END).ok
    return _features(b)


def test_middle_backfill_equals_a_full_recompute(tmp_path, full):
    from aquifer.cli import _register, app

    source, fixed = _source(), _changed(_source())
    old, new = _oracle(source), _oracle(fixed)
    day4, day5, day6 = _day(4), _day(5), _day(6)
    # the changes reach past Jan 3: a backfill of Jan 3 alone would leave wrong rows on Jan 4 and Jan 5
    for lo, hi in ((day4, day5), (day5, day6)):
        before = old[(old.event_ts >= lo) & (old.event_ts < hi)].reset_index(drop=True)
        after = new[(new.event_ts >= lo) & (new.event_ts < hi)].reset_index(drop=True)
        assert not before.equals(after)

    a = _store(tmp_path / "a", source)
    assert a.run(end=END).ok
    _assert_matches_oracle(_features(a), old)
    untouched = _features(a).query("event_ts >= @day6")

    write_parquet(fixed, tmp_path / "a" / "data" / "transactions.parquet")
    _register()
    dry = CliRunner().invoke(app, ["backfill", "activity", "--start", "2026-01-03", "--end", "2026-01-04",
                                   "--dry-run", "-r", str(tmp_path / "a")])
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())  # the console wraps long lines
    assert "forget 2026-01-03 00:00 → 2026-01-06 00:00" in text
    assert "widened to 2026-01-06 00:00 (asked: 2026-01-04 00:00), as rows after the range depend on it" in text
    summary = a.backfill("activity", "2026-01-03", "2026-01-04")
    assert summary.ok, summary["activity"].error
    widened = datetime(2026, 1, 6, tzinfo=UTC)
    assert [(r.start, r.end) for r in summary["activity"].ranges] == [(datetime(2026, 1, 3, tzinfo=UTC), widened)]
    ((view, start, end, why),) = summary.widened
    assert (view, start, end) == ("activity", datetime(2026, 1, 3, tzinfo=UTC), widened)
    assert "widened to 2026-01-06 00:00 (asked: 2026-01-04 00:00)" in why and "sessions (gap 20m, 30m)" in why
    assert a.registry.intervals("t", "activity") == [(datetime(2026, 1, 1, tzinfo=UTC), END)]
    backfills = [r for r in a.registry.runs("t", view="activity", limit=10) if r.kind == "backfill"]
    assert [(r.start, r.end) for r in backfills] == [(datetime(2026, 1, 3, tzinfo=UTC), widened)]

    got = _features(a)
    pd.testing.assert_frame_equal(got, full, check_exact=True)  # byte for byte, nulls in the same places
    _assert_matches_oracle(got, new)
    # past the widened end nothing was rewritten, and nothing had to be
    pd.testing.assert_frame_equal(got.query("event_ts >= @day6").reset_index(drop=True),
                                  untouched.reset_index(drop=True), check_exact=True)


def test_backfill_upstream_of_an_aggregation_reaches_what_it_carries(tmp_path, full):
    """The changed day reaches ``activity`` through a SQL view: backfilling ``txn`` invalidates ``activity`` up to
    where its own carry ends, and the next run gives the full run's rows; a cascade plan says the same."""
    from aquifer.cli import _register, app

    c = _store(tmp_path / "c", _source(), CODE_THROUGH_A_VIEW)
    assert c.run(end=END).ok
    write_parquet(_changed(_source()), tmp_path / "c" / "data" / "transactions.parquet")
    jan3, widened = datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC)

    _register()
    dry = CliRunner().invoke(app, ["backfill", "txn", "--start", "2026-01-03", "--end", "2026-01-04", "--cascade",
                                   "--dry-run", "-r", str(tmp_path / "c")])
    assert dry.exit_code == 0, dry.output
    text = " ".join(dry.output.split())
    assert "txn (backfill" in text and "activity (backfill" in text
    assert "forget 2026-01-03 00:00 → 2026-01-04 00:00" in text  # the SQL view carries nothing forward
    assert "forget 2026-01-03 00:00 → 2026-01-06 00:00" in text  # the aggregation over it does

    summary = c.backfill("txn", "2026-01-03", "2026-01-04")
    assert summary.ok and summary.widened == []
    assert summary.invalidated == [("activity", jan3, widened)]
    assert c.registry.intervals("t", "activity") == [(datetime(2026, 1, 1, tzinfo=UTC), jan3), (widened, END)]
    rerun = c.run(end=END)
    assert rerun.ok
    assert (jan3, widened) in [(r.start, r.end) for r in rerun["activity"].ranges]
    pd.testing.assert_frame_equal(_features(c), full, check_exact=True)
