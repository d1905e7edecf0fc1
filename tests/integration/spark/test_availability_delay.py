"""Availability delay: a source's rows are usable only ``delay`` after their event time, in PIT joins on both
engines and in materialization, for the source's views and for views over those views (checked against
pandas ``merge_asof`` on shifted times)."""

from __future__ import annotations

import textwrap
import zlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from batch_helpers import HEADER, T0, config_text, transactions, write_parquet

pytestmark = [pytest.mark.spark, pytest.mark.redis]

DELAY, TTL = pd.Timedelta(hours=2), pd.Timedelta(hours=6)
VIEWS = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at", availability_delay="2h")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64)], ttl="6h")
doubled = FeatureView("doubled", entities=[user], ttl="6h",
    transform=sql("SELECT user_id, event_ts, amount * 2 AS twice FROM {raw}"), schema=[Field("twice", Float64)])
"""


@pytest.fixture(scope="module")
def delayed(tmp_path_factory, spark, redis_server_url):
    """``(store, txns)``: a repo whose source has a 2h delay, run by Spark up to 2026-01-04."""
    import redis

    from aquifer.sdk.store import FeatureStore

    tmp = tmp_path_factory.mktemp("delay")
    db = 1 + zlib.crc32(__name__.encode()) % 15
    url = f"{redis_server_url}/{db}" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db={db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    (tmp / "aquifer.yaml").write_text(config_text(tmp, f"online_store: {{url: '{url}'}}\n"))
    (tmp / "features.py").write_text(HEADER + textwrap.dedent(VIEWS))
    txns = transactions(days=3, per_day=10)
    write_parquet(txns, tmp / "data" / "transactions.parquet")
    store = FeatureStore(tmp)
    assert store.run(end="2026-01-04").ok
    yield store, txns
    store.close()


def _labels(txns: pd.DataFrame) -> pd.DataFrame:
    """Label times at random, and exactly at / one second before some rows' ``event_ts + delay``."""
    rng = np.random.default_rng(7)
    n = 60
    random = pd.DataFrame({"user_id": rng.integers(1, 5, n).astype("int64"),
                           "event_ts": T0 + pd.to_timedelta(rng.integers(0, 4 * 86400, n), unit="s")})
    edge = txns.sample(10, random_state=3)[["user_id", "event_ts"]]
    at = edge.assign(event_ts=edge.event_ts + DELAY)
    before = edge.assign(event_ts=edge.event_ts + DELAY - pd.Timedelta(seconds=1))
    return pd.concat([random, at, before], ignore_index=True)


def _oracle(labels: pd.DataFrame, txns: pd.DataFrame, column: str, scale: float) -> pd.Series:
    """Per label: the row of its user with the greatest ``event_ts + delay <= ts`` and ``event_ts >= ts - ttl``."""
    feats = txns.assign(available=txns.event_ts + DELAY, value=txns.amount * scale)
    feats = feats.sort_values(["available", "ingested_at"])[["user_id", "available", "event_ts", "value"]]
    lab = labels.reset_index().rename(columns={"event_ts": "ts"}).sort_values("ts")
    joined = pd.merge_asof(lab, feats, left_on="ts", right_on="available", by="user_id", direction="backward",
                           allow_exact_matches=True)
    fresh = joined.event_ts >= joined.ts - TTL
    joined[column] = joined["value"].where(fresh)
    return joined.set_index("index")[column].sort_index()


@pytest.mark.parametrize(("engine", "method"), [("spark", "window"), ("spark", "asof"), ("spark", "salted"),
                                                ("duckdb", None)])
def test_pit_join_sees_a_row_only_delay_after_its_event_time(delayed, engine, method):
    from aquifer.training.frame import get_training_frame

    store, txns = delayed
    labels = _labels(txns)
    frame = get_training_frame(store, labels, ["raw:amount", "doubled:twice"], engine=engine, spark_method=method)
    if hasattr(frame, "toPandas"):
        frame = frame.toPandas()
    expected_amount = _oracle(labels, txns, "amount", 1.0)
    expected_twice = _oracle(labels, txns, "twice", 2.0)
    assert expected_amount.notna().sum() > 10 and expected_amount.isna().sum() > 5  # both cases are exercised
    pd.testing.assert_series_equal(frame["amount"].reset_index(drop=True), expected_amount.reset_index(drop=True),
                                   check_names=False)
    pd.testing.assert_series_equal(frame["twice"].reset_index(drop=True), expected_twice.reset_index(drop=True),
                                   check_names=False)
    # the rows exactly at event_ts + delay are seen, one second before they are not (that row, at least)
    edge = len(labels) - 20
    at, before = frame["amount"].iloc[edge:edge + 10].tolist(), frame["amount"].iloc[edge + 10:].tolist()
    sampled = txns.sample(10, random_state=3)["amount"].tolist()
    assert at == sampled
    assert all(b != s for b, s in zip(before, sampled, strict=True))


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_materialization_pushes_only_rows_usable_at_its_end(delayed, engine):
    from aquifer.runs.materialize import clean_view
    from aquifer.stores.online.codec import ViewCodec, to_micros
    from aquifer.stores.online.keys import entity_group
    from aquifer.stores.online.redis_store import RedisOnlineStore

    store, txns = delayed
    clean_view(store, "raw")
    end = datetime(2026, 1, 2, 12, tzinfo=UTC)
    (report,) = store.materialize(["raw"], end=end, engine=engine, progress=False)
    assert report.end == end - timedelta(hours=2)

    live = txns[(txns.event_ts + DELAY < end) & (txns.event_ts >= end - TTL)]
    expected = live.sort_values(["event_ts", "ingested_at"]).groupby("user_id").tail(1).set_index("user_id")
    view = store.views["raw"]
    codec, group = ViewCodec.for_view(view), entity_group(view)
    online = RedisOnlineStore.from_config(store.config.online_store)
    users = [1, 2, 3, 4]
    blobs = online.read([(group.prefix("t") + str(u), ["raw"]) for u in users])
    online.close()
    got = {u: codec.decode(b[0]) for u, b in zip(users, blobs, strict=True) if b[0] is not None}
    assert sorted(got) == sorted(int(u) for u in expected.index)
    for user, row in expected.iterrows():
        assert got[int(user)][0] == to_micros(row["event_ts"])
        assert got[int(user)][2] == [float(row["amount"])]
    # a row inside the last two hours before end exists, and was held back
    assert ((txns.event_ts < end) & (txns.event_ts + DELAY >= end)).any()


def test_a_negative_delay_is_refused_at_plan_naming_the_source_and_field(tmp_path):
    from aquifer.sdk.store import FeatureStore

    (tmp_path / "aquifer.yaml").write_text(config_text(tmp_path))
    (tmp_path / "features.py").write_text(HEADER + textwrap.dedent(VIEWS.replace('"2h"', '"-30m"')))
    write_parquet(transactions(), tmp_path / "data" / "transactions.parquet")
    result = FeatureStore(tmp_path).plan()
    assert not result.ok
    text = "\n".join(map(str, result.problems))
    assert "BatchSource 'transactions' availability_delay must not be negative" in text
