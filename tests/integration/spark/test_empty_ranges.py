"""Empty ranges cost nothing: a source whose only week of data lies two years back is run as one computed
range per view (not ~25 monthly ones), the empty rest is recorded as done, and a file adding rows into
that empty time gets it planned again. Offline rows are checked against pandas."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from batch_helpers import HEADER, offline, write_parquet

pytestmark = pytest.mark.spark

CODE = """
transactions = BatchSource("transactions", path="data/transactions", timestamp_field="event_ts")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64)])
daily = AggregationView("daily", entities=[user], source=transactions,
    aggregations=[Aggregation("amount", "count", Tumbling("1d"))])
"""
OLD_WEEK = pd.Timestamp("2024-11-04", tz="UTC")  # about two years before the run's "now"
LATER_DAY = pd.Timestamp("2025-06-10", tz="UTC")


def _week(start: pd.Timestamp, days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 12 * days
    return pd.DataFrame({
        "user_id": rng.integers(1, 4, n).astype("int64"),
        "amount": np.round(rng.uniform(1, 500, n), 2),
        "event_ts": start + pd.to_timedelta(np.sort(rng.choice(days * 86400, n, replace=False)), unit="s"),
    })


def _daily_oracle(events: pd.DataFrame) -> pd.DataFrame:
    """Tumbling 1d counts per user at each window's end, plus the closing row (0) after each last window."""
    days = events.assign(day=events.event_ts.dt.floor("D")).groupby(["user_id", "day"]).size()
    rows = []
    for (user, day), count in days.items():
        rows.append((user, day + pd.Timedelta(days=1), count))
        if (user, day + pd.Timedelta(days=1)) not in days.index:
            rows.append((user, day + pd.Timedelta(days=2), 0))
    frame = pd.DataFrame(rows, columns=["user_id", "event_ts", "amount_count_1d"])
    return frame.sort_values(["user_id", "event_ts"]).reset_index(drop=True)


def _computed(store, view: str) -> list[tuple[datetime, datetime]]:
    return sorted((r.start, r.end) for r in store.registry.runs("t", view=view, limit=1000))


def _check(store, events: pd.DataFrame) -> None:
    raw = offline(store, "raw")[["user_id", "event_ts", "amount"]]
    want = events.sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(raw, want[["user_id", "event_ts", "amount"]], check_dtype=False)
    daily = offline(store, "daily")[["user_id", "event_ts", "amount_count_1d"]]
    pd.testing.assert_frame_equal(daily, _daily_oracle(events), check_dtype=False)


def test_a_two_year_old_week_is_computed_once_and_new_rows_in_skipped_time_are_planned(spark, tmp_path):
    from aquifer.runs.batch import plan_batch
    from aquifer.sdk.store import FeatureStore

    (tmp_path / "aquifer.yaml").write_text(textwrap.dedent(f"""
        project: t
        registry: sqlite:///{tmp_path}/reg.db
        offline_store: {{path: {tmp_path}/offline}}
        batch: {{start: "2024-01-01T00:00:00+00:00", default_lateness: 1h}}
    """))
    (tmp_path / "features.py").write_text(HEADER + textwrap.dedent(CODE))
    old = _week(OLD_WEEK, 7, seed=1)
    write_parquet(old, tmp_path / "data" / "transactions" / "part-0.parquet")
    store = FeatureStore(tmp_path)

    plan_lines = "\n".join(plan_batch(store).describe())
    assert "no input rows: record interval (not computed)" in plan_lines
    assert store.run().ok
    week = (OLD_WEEK.to_pydatetime(), (OLD_WEEK + pd.Timedelta(days=7)).to_pydatetime())
    assert _computed(store, "raw") == [week]  # one Spark computation, only the days holding rows
    (daily_range,) = _computed(store, "daily")  # the closing rows' two days after the week, too
    assert daily_range == (week[0], week[1] + timedelta(days=2))
    _check(store, old)
    # everything from the first event to now is done (computed or recorded empty): nothing is planned again
    (done,) = store.registry.intervals("t", "raw")
    assert done[0] == week[0] and done[1] > datetime.now(UTC) - timedelta(minutes=5)
    assert store.run().ok
    assert _computed(store, "raw") == [week]

    # a later file adds rows inside time recorded empty: those days are planned and computed again
    later = _week(LATER_DAY, 1, seed=2)
    write_parquet(later, tmp_path / "data" / "transactions" / "part-1.parquet")
    summary = store.run()
    assert summary.ok
    day = (LATER_DAY.to_pydatetime(), (LATER_DAY + pd.Timedelta(days=1)).to_pydatetime())
    assert [(r.start, r.end) for r in summary["raw"].ranges] == [day]
    assert [(r.start, r.end) for r in summary["daily"].ranges] == [(day[0], day[1] + timedelta(days=2))]
    _check(store, pd.concat([old, later], ignore_index=True))
