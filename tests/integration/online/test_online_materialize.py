"""Materialization with real Spark and Redis, checked against a pandas oracle computed from the Parquet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from online_repo import now_us

from aquifer.runs.materialize import clean_view, materialize
from aquifer.stores.offline.layout import view_path
from aquifer.stores.offline.partitions import SWAP
from aquifer.stores.online.codec import ViewCodec, to_micros
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore

pytestmark = [pytest.mark.redis, pytest.mark.spark, pytest.mark.slow]
END = datetime(2024, 3, 1, tzinfo=UTC)


def offline_rows(n_users: int, seed: int, start: datetime, days: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_users * 6
    event = [start + timedelta(seconds=int(s)) for s in rng.integers(0, days * 86400, n)]
    df = pd.DataFrame({
        "user_id": rng.integers(0, n_users, n),
        "event_ts": pd.to_datetime(event, utc=True),
        "txn_count": rng.integers(0, 100, n),
        "amount": rng.normal(50, 20, n).round(2),
        "country": rng.choice(["FR", "DE", "US", None], n),
        "is_vip": rng.choice([True, False], n),
    })
    df["created_ts"] = df["event_ts"] + pd.to_timedelta(rng.integers(0, 3, n), unit="s")
    dup = df.sample(frac=0.1, random_state=seed).copy()  # same event_ts, later created_ts: must win
    dup["created_ts"] += pd.Timedelta(seconds=10)
    dup["amount"] = -1.0
    return pd.concat([df, dup], ignore_index=True)


def write_offline(store, view: str, df: pd.DataFrame) -> None:
    root = view_path(store.config.offline_path, store.config.project, view)
    for day, part in df.groupby(df["event_ts"].dt.strftime("%Y-%m-%d")):
        folder = root / f"event_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(part.reset_index(drop=True), preserve_index=False)
        pq.write_table(table, folder / f"part-{len(list(folder.iterdir()))}.parquet", coerce_timestamps="us")


def oracle(df: pd.DataFrame, end: datetime, ttl: timedelta) -> pd.DataFrame:
    live = df[(df["event_ts"] < end) & (df["event_ts"] >= end - ttl)]
    return live.sort_values(["event_ts", "created_ts"]).groupby("user_id").tail(1).set_index("user_id")


def stored(store, view: str, users) -> dict[int, tuple[int, list]]:
    v = store.views[view]
    codec, group = ViewCodec.for_view(v), entity_group(v)
    online = RedisOnlineStore.from_config(store.config.online_store)
    blobs = online.read([(group.prefix(store.config.project) + str(u), [view]) for u in users])
    online.close()
    return {u: (codec.decode(b[0])[0], codec.decode(b[0])[2]) for u, b in zip(users, blobs, strict=True)
            if b[0] is not None}


def check(store, df: pd.DataFrame, end: datetime, users) -> None:
    expected = oracle(df, end, store.views["user_stats"].ttl)
    got = stored(store, "user_stats", users)
    assert sorted(got) == sorted(int(u) for u in expected.index)
    for user, row in expected.iterrows():
        ts, values = got[int(user)]
        assert ts == to_micros(row["event_ts"])
        country = None if row["country"] is None else row["country"]
        assert values == [int(row["txn_count"]), float(row["amount"]), country, bool(row["is_vip"])]


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_materialize_matches_oracle_and_is_incremental(spark, store, put, engine):
    first = offline_rows(300, 1, END - timedelta(days=45), 50)  # spans before TTL, inside, and after END
    write_offline(store, "user_stats", first)
    reports = store.materialize(["user_stats"], end=END, engine=engine)
    assert reports[0].entities > 0 and reports[0].start == END - timedelta(days=30)
    assert reports[0].engine == engine
    check(store, first, END, range(300))

    assert store.materialize(["user_stats"], end=END, engine=engine)[0].skipped == "up to date"

    later = END + timedelta(days=2)
    second = offline_rows(300, 2, END, 2)
    write_offline(store, "user_stats", second)
    report = store.materialize(["user_stats"], end=later, engine=engine)[0]
    assert report.start == END - timedelta(hours=1) and report.end == later  # ledger end minus lateness
    both = pd.concat([first, second], ignore_index=True)
    check(store, both, later, range(300))

    registry = store.registry
    runs = registry.runs(store.config.project, "user_stats", kind="materialize")
    assert len(runs) == 2 and all(r.status == "succeeded" for r in runs)
    assert registry.intervals(store.config.project, "user_stats", kind="materialize") == [
        (END - timedelta(days=30), later)
    ]
    newest = RedisOnlineStore.from_config(store.config.online_store).newest(store.config.project, ["user_stats"])
    assert newest["user_stats"] == to_micros(both[both["event_ts"] < later]["event_ts"].max())

    # a streamed value newer than anything offline survives a full re-materialization
    put("user_stats", {"user_id": 5}, [999, 1.0, "XX", True], now_us())
    materialize(store, ["user_stats"], end=later, full=True, progress=False, engine=engine)
    assert stored(store, "user_stats", [5])[5][1] == [999, 1.0, "XX", True]

    assert clean_view(store, "user_stats") == 300
    assert stored(store, "user_stats", range(300)) == {}
    assert registry.intervals(store.config.project, "user_stats", kind="materialize") == []


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_materialize_files_without_created_ts_or_a_feature(spark, store, engine):
    """Older files may lack ``created_ts`` or a feature added since: both engines push typed nulls."""
    df = offline_rows(50, 3, END - timedelta(days=3), 2).drop(columns=["created_ts", "country", "amount"])
    df = df.sort_values("event_ts").drop_duplicates(["user_id", "event_ts"], keep="last")
    write_offline(store, "user_stats", df)
    report = materialize(store, ["user_stats"], end=END, progress=False, engine=engine)[0]
    expected = df.sort_values("event_ts").groupby("user_id").tail(1).set_index("user_id")
    got = stored(store, "user_stats", range(50))
    assert report.entities == len(expected) and sorted(got) == sorted(int(u) for u in expected.index)
    for user, row in expected.iterrows():
        assert got[int(user)] == (to_micros(row["event_ts"]), [int(row["txn_count"]), None, None, bool(row["is_vip"])])


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_a_day_caught_mid_swap_is_still_pushed(spark, store, engine):
    """Between a swap's two renames a day lives only under ``_swap/``: materialization reads it there."""
    df = offline_rows(80, 4, END - timedelta(days=3), 3)
    write_offline(store, "user_stats", df)
    root = view_path(store.config.offline_path, store.config.project, "user_stats")
    last = max(p.name for p in root.iterdir() if p.name.startswith("event_date="))
    (root / SWAP / "w1").mkdir(parents=True)
    (root / last).rename(root / SWAP / "w1" / last)
    materialize(store, ["user_stats"], end=END, progress=False, engine=engine)
    check(store, df, END, range(80))
    assert df["event_ts"].dt.strftime("event_date=%Y-%m-%d").eq(last).sum() > 0  # the parked day held rows


def test_auto_engine_for_materialize(spark, store, monkeypatch):
    from dataclasses import replace

    from aquifer.planning import engine_choice
    from aquifer.runs import materialize as orchestration
    from aquifer.stores.offline.sizing import parquet_bytes

    write_offline(store, "user_stats", offline_rows(20, 4, END - timedelta(days=2), 1))
    path = view_path(store.config.offline_path, store.config.project, "user_stats")
    start = END - timedelta(days=30)
    assert orchestration.choose_engine(store.config, "auto", path, start) == "duckdb"
    assert orchestration.choose_engine(store.config, "spark", path, start) == "spark"
    remote = replace(store.config, spark={"master": "spark://cluster:7077"})
    assert orchestration.choose_engine(remote, "auto", path, start) == "spark"
    monkeypatch.setattr(engine_choice, "available_memory", lambda: 1000)  # the range no longer fits
    assert orchestration.choose_engine(store.config, "auto", path, start) == "spark"
    assert parquet_bytes(path, since=END.date()) == 0 < parquet_bytes(path)
    with pytest.raises(ValueError, match="unknown engine 'polars'"):
        materialize(store, ["user_stats"], end=END, progress=False, engine="polars")
