"""Incremental runs over the ledger: lateness lookback, backfills, failures, fingerprints."""

from __future__ import annotations

import pandas as pd
import pytest
from batch_helpers import T0, offline, transactions, write_parquet

pytestmark = pytest.mark.spark

VIEWS = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64)])
spend = FeatureView("spend", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount * 2 AS doubled FROM {transactions}"),
    schema=[Field("doubled", Float64)])
"""


def _row(user_id: int, ts: pd.Timestamp, amount: float) -> pd.DataFrame:
    return pd.DataFrame({"user_id": [user_id], "amount": [amount], "country": ["US"], "event_ts": [ts],
                         "ingested_at": [ts + pd.Timedelta(hours=30)]})


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return sorted(map(tuple, frame[columns].itertuples(index=False)))


def test_incremental_run_picks_up_late_rows_inside_the_lookback_only(make_store, tmp_path):
    txns = transactions(days=4)
    first = txns[txns.event_ts < T0 + pd.Timedelta(days=2)]
    store = make_store(VIEWS, transactions=first)
    assert store.run(end="2026-01-03").ok
    assert store.registry.intervals("t", "raw") == [(T0.to_pydatetime(), (T0 + pd.Timedelta(days=2)).to_pydatetime())]

    inside = _row(1, T0 + pd.Timedelta(days=2) - pd.Timedelta(minutes=30), 111.0)  # within 1h of the frontier
    outside = _row(2, T0 + pd.Timedelta(hours=12), 222.0)  # a day and a half behind: needs a backfill
    write_parquet(pd.concat([txns, inside, outside], ignore_index=True), tmp_path / "data/transactions.parquet")
    summary = store.run(end="2026-01-05")
    assert summary.ok
    assert [(r.start.day, r.end.day) for r in summary["raw"].ranges] == [(2, 5)]  # lookback widened to Jan 2

    expected = pd.concat([txns, inside], ignore_index=True)  # everything except the row outside the lookback
    assert _rows(offline(store, "raw"), ["user_id", "event_ts", "amount"]) == _rows(
        expected, ["user_id", "event_ts", "amount"])
    assert 222.0 not in offline(store, "raw")["amount"].tolist()

    # a backfill picks it up; twice gives identical rows
    store.backfill("raw", "2026-01-01", "2026-01-02")
    once = offline(store, "raw")
    assert 222.0 in once["amount"].tolist()
    store.backfill("raw", "2026-01-01", "2026-01-02")
    twice = offline(store, "raw")
    pd.testing.assert_frame_equal(once, twice)
    full = pd.concat([txns, inside, outside], ignore_index=True)
    assert _rows(twice, ["user_id", "event_ts", "amount"]) == _rows(full, ["user_id", "event_ts", "amount"])
    assert _rows(twice, ["user_id", "event_ts", "created_ts"]) == _rows(
        full.rename(columns={"ingested_at": "created_ts"}), ["user_id", "event_ts", "created_ts"])

    # nothing left to do: a rerun only re-reads the lookback
    again = store.run(end="2026-01-05")
    assert all(r.start >= (T0 + pd.Timedelta(days=3)).to_pydatetime() for r in again["raw"].ranges)
    assert len(offline(store, "raw")) == len(full)


def test_backfill_twice_gives_identical_rows_for_sql_views(make_store):
    store = make_store(VIEWS, transactions=transactions())
    store.backfill("spend", "2026-01-01", "2026-01-03")
    once = offline(store, "spend").drop(columns=["created_ts"])
    store.backfill("spend", "2026-01-01", "2026-01-03")
    twice = offline(store, "spend").drop(columns=["created_ts"])
    pd.testing.assert_frame_equal(once, twice)
    assert len(once) > 0
    # each day's file is sorted by key and time, whatever partitioning the rows took on their way
    import pyarrow.parquet as pq

    files = sorted((store.config.offline_path / "t" / "spend").glob("event_date=*/*.parquet"))
    assert len(files) == 2  # 2026-01-01 and 2026-01-02
    for path in files:
        day = pq.read_table(path, columns=["user_id", "event_ts"]).to_pandas()
        assert day.equals(day.sort_values(["user_id", "event_ts"]).reset_index(drop=True)), path
    kinds = {r.kind for r in store.registry.runs("t", view="spend")}
    assert kinds == {"backfill"}


def test_missing_source_fails_its_view_only(make_store, tmp_path):
    code = VIEWS + """
ghost = BatchSource("ghost", path="data/nowhere.parquet", timestamp_field="event_ts")
haunted = FeatureView("haunted", entities=[user], source=ghost, schema=[Field("amount", Float64)])
@feature_view(entities=[user], schema=[Field("amount", Float64)])
def downstream(haunted):
    return haunted
"""
    store = make_store(code, transactions=transactions())
    summary = store.run(end="2026-01-04")
    assert not summary.ok
    haunted = summary["haunted"]
    assert haunted.status == "failed" and "nowhere.parquet" in haunted.error
    assert summary["downstream"].status == "skipped" and "haunted" in summary["downstream"].error
    assert summary["raw"].status == "succeeded" and summary["spend"].status == "succeeded"
    assert store.registry.intervals("t", "haunted") == []
    assert store.registry.intervals("t", "downstream") == []

    # the source appears, e.g. after a first load: a day already run stays; the failed view now runs
    write_parquet(transactions(), tmp_path / "data/nowhere.parquet")
    store.registry.add_interval("t", "haunted", T0.to_pydatetime(), (T0 + pd.Timedelta(days=1)).to_pydatetime(),
                                data_fingerprint="stale")
    after = store.run(["haunted", "downstream"], end="2026-01-04")
    assert after.ok
    assert len(offline(store, "downstream")) == len(transactions())


def test_upstream_change_recomputes_downstream(make_store, tmp_path):
    store = make_store(VIEWS, transactions=transactions())
    assert store.run(end="2026-01-04").ok
    assert store.run(end="2026-01-04")["spend"].ranges[0].start.day == 3  # lookback only

    (tmp_path / "features.py").write_text((tmp_path / "features.py").read_text().replace("amount * 2", "amount * 3"))
    from aquifer.sdk.store import FeatureStore

    changed = FeatureStore(tmp_path)
    summary = changed.run(end="2026-01-04")
    assert summary["spend"].ranges[0].start.day == 1  # new fingerprint: the old ledger no longer counts
    assert summary["raw"].ranges[0].start.day == 3
    spend = offline(changed, "spend")
    txns = transactions().sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    assert (spend["doubled"].round(6) == (txns["amount"] * 3).round(6)).all()
