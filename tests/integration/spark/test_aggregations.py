"""Aggregation views in Spark against the shared brute-force model (``aquifer.aggregations.reference``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from batch_helpers import T0, offline, write_parquet

from aquifer.aggregations import compute_windows, to_micros, value_as_of

pytestmark = pytest.mark.spark

AGGS = """
    Aggregation("amount", "count", Tumbling("1h")),
    Aggregation("amount", "sum", Tumbling("1h")),
    Aggregation("amount", "avg", Sliding("1h", every="15m")),
    Aggregation("amount", "max", Sliding("1h", every="15m")),
    Aggregation("amount", "min", Session(gap="30m")),
    Aggregation("amount", "p50", Session(gap="30m")),
    Aggregation("amount", "count", Session(gap="30m")),
    Aggregation("amount", "sum", Session(gap="20m", max_duration="1h")),
    Aggregation("amount", "p95", Tumbling("1d")),
    Aggregation("amount", "percentile(0.25)", Tumbling("1d")),
"""


def _code(lateness: str = "timedelta(hours=1)") -> str:
    return f"""
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts")
events = KafkaSource("events", topic="t", timestamp_field="event_ts", batch_source=transactions)
windows = AggregationView("windows", entities=[user], source=events, allowed_lateness={lateness},
    aggregations=[{AGGS}])
"""


def _events(seed: int = 3, days: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for user_id in (1, 2, 3):
        # bursts of events (sessions) separated by quiet hours, plus equal timestamps
        t = T0 + pd.Timedelta(minutes=int(rng.integers(0, 90)))
        while t < T0 + pd.Timedelta(days=days):
            for _ in range(int(rng.integers(1, 6))):
                parts.append((user_id, float(np.round(rng.uniform(1, 500), 2)), t))
                t += pd.Timedelta(minutes=int(rng.choice([0, 3, 11, 19, 25])))
            t += pd.Timedelta(minutes=int(rng.integers(30, 300)))
    frame = pd.DataFrame(parts, columns=["user_id", "amount", "event_ts"])
    frame.loc[frame.index % 17 == 5, "amount"] = np.nan  # nulls are ignored by every aggregate
    return frame


def oracle(events: pd.DataFrame, view, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows at every window end of any feature; each feature's value as of that time."""
    rows = []
    for user_id, group in events.groupby("user_id"):
        pairs = [(to_micros(ts.to_pydatetime()), v) for ts, v in zip(group.event_ts, group.amount, strict=True)]
        windows = {a.feature_name: compute_windows(pairs, a) for a in view.aggregations}
        times = sorted({w.end for ws in windows.values() for w in ws})
        for t in times:
            if to_micros(start.to_pydatetime()) <= t < to_micros(end.to_pydatetime()):
                row = {"user_id": user_id, "event_ts": t}
                row.update({name: value_as_of(ws, t) for name, ws in windows.items()})
                rows.append(row)
    frame = pd.DataFrame(rows)
    frame["event_ts"] = pd.to_datetime(frame["event_ts"], unit="us", utc=True)
    return frame.sort_values(["user_id", "event_ts"]).reset_index(drop=True)


def assert_matches(got: pd.DataFrame, expected: pd.DataFrame, view) -> None:
    assert len(got) == len(expected)
    assert (got["user_id"].to_numpy() == expected["user_id"].to_numpy()).all()
    assert (got["event_ts"].to_numpy() == expected["event_ts"].dt.as_unit("us").to_numpy()).all()
    for feature in (a.feature_name for a in view.aggregations):
        for i, (a, b) in enumerate(zip(got[feature], expected[feature], strict=True)):
            a_null, b_null = a is None or (isinstance(a, float) and math.isnan(a)), b is None or (
                isinstance(b, float) and math.isnan(b))
            assert a_null == b_null, (feature, i, a, b)
            if not a_null:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (feature, i, a, b)


def test_every_window_and_aggregate_matches_the_model(make_store):
    events = _events()
    store = make_store(_code(), transactions=events)
    summary = store.run(end="2026-01-03")
    assert summary.ok, summary["windows"].error
    view = store.views["windows"]
    got = offline(store, "windows")
    assert list(got.columns)[:3] == ["user_id", "event_ts", "created_ts"]
    assert got["amount_count_1h"].dropna().map(float.is_integer).all()  # Int64 (NaN before the first window)
    assert_matches(got, oracle(events, view, T0, T0 + pd.Timedelta(days=2)), view)
    assert summary["windows"].rows_in == int((events.event_ts < T0 + pd.Timedelta(days=2)).sum())


def test_incremental_ranges_carry_values_forward_like_one_run(make_store, tmp_path):
    events = _events(seed=5, days=3)
    store = make_store(_code("timedelta(0)"), transactions=events[events.event_ts < T0 + pd.Timedelta(days=1)])
    assert store.run(end="2026-01-02").ok
    write_parquet(events, tmp_path / "data/transactions.parquet")
    second = store.run(end="2026-01-04")
    assert second.ok
    assert [(r.start.day, r.end.day) for r in second["windows"].ranges] == [(2, 4)]
    view = store.views["windows"]
    # rows of day 1 were computed before day 2's events landed; rows from day 2 on equal one full run
    got = offline(store, "windows")
    got = got[got.event_ts >= T0 + pd.Timedelta(days=1)].reset_index(drop=True)
    assert_matches(got, oracle(events, view, T0 + pd.Timedelta(days=1), T0 + pd.Timedelta(days=3)), view)


def test_aggregation_backfill_twice_is_identical(make_store):
    store = make_store(_code(), transactions=_events())
    store.backfill("windows", "2026-01-01", "2026-01-03")
    once = offline(store, "windows").drop(columns=["created_ts"])
    store.backfill("windows", "2026-01-01", "2026-01-03")
    pd.testing.assert_frame_equal(once, offline(store, "windows").drop(columns=["created_ts"]))
