"""The serving log: what the HTTP server and the SDK answered, sampled into Parquet (real Redis, real files)."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from online_repo import now_us, write_repo

from aquifer.api import create_app
from aquifer.sdk.store import FeatureStore
from aquifer.serving.serving_log import read_serving_log, view_log_path
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore

pytestmark = pytest.mark.redis
URL = "/api/v1/online-features"


def logged_store(tmp_path: Path, redis_url: str, serving: str) -> FeatureStore:
    root = write_repo(tmp_path / "repo", redis_url)
    with (root / "aquifer.yaml").open("a") as f:
        f.write(f"serving: {serving}\n")
    return FeatureStore(root)


def put_rows(store: FeatureStore, view: str, rows: dict[int, list], event_us: int) -> None:
    online = RedisOnlineStore.from_config(store.config.online_store)
    v = store.views[view]
    codec = ViewCodec.for_view(v)
    online.write([(entity_group(v).key_of(store.config.project, {"user_id": k}),
                   [(view, codec.encode(values, event_us, 0))]) for k, values in rows.items()])
    online.close()


def log_files(store: FeatureStore, view: str) -> list[Path]:
    folder = view_log_path(store.config.offline_path, store.config.project, view)
    return sorted(folder.glob("date=*/*.parquet")) if folder.exists() else []


def read_log(store: FeatureStore, view: str) -> pa.Table:
    files = log_files(store, view)
    assert files, "nothing logged"
    return pa.concat_tables([pq.read_table(f) for f in files]).sort_by("served_at")


def test_http_log_at_rate_one_equals_what_was_served(tmp_path, redis_url):
    store = logged_store(tmp_path, redis_url, "{log_sample_rate: 1.0}")
    event = now_us() - 5_000_000
    put_rows(store, "user_stats", {1: [3, 12.5, "FR", True], 2: [7, 0.25, "DE", False]}, event)
    served = []
    with TestClient(create_app(store, sinks=[], freshness_check_s=0)) as client:
        for body in ({"features": ["user_stats:amount", "user_stats:country", "user_stats:is_vip"],
                      "entities": {"user_id": [1, 2, 99]}},
                     {"features": ["user_stats:amount", "user_stats:country", "user_stats:is_vip"],
                      "entities": [{"user_id": 2}], "full_names": True}):
            response = client.post(URL, json=body)
            assert response.status_code == 200
            served.append(response.json())
        assert log_files(store, "user_stats") == []  # buffered: nothing written while serving
    # the server shut down: the buffer was written
    table = read_log(store, "user_stats")
    assert table.schema.field("served_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("event_ts").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("amount").type == pa.float64() and table.schema.field("is_vip").type == pa.bool_()
    rows = table.to_pylist()
    assert [r["user_id"] for r in rows] == [1, 2, 99, 2]
    first, second = served
    assert [r["amount"] for r in rows[:3]] == first["features"]["amount"]
    assert [r["country"] for r in rows[:3]] == first["features"]["country"]
    assert [r["is_vip"] for r in rows[:3]] == first["features"]["is_vip"]
    assert [r["amount__status"] for r in rows[:3]] == first["statuses"]["amount"] == ["present", "present", "missing"]
    assert rows[3]["amount"] == second["features"]["user_stats__amount"][0] == 0.25
    assert [int(r["served_at"].timestamp() * 1e6) for r in rows[:3]] == [first["served_at_us"]] * 3
    assert [None if r["event_ts"] is None else round(r["event_ts"].timestamp() * 1e6) for r in rows[:3]] == \
        first["event_times_us"]["user_stats"]
    day = time.strftime("%Y-%m-%d", time.gmtime(first["served_at_us"] / 1e6))
    assert all(f.parent.name == f"date={day}" for f in log_files(store, "user_stats"))
    # what drift reads: present values, the default served for the missing entity left out
    assert read_serving_log(store.config.offline_path, store.config.project, "user_stats")["amount"] == \
        [12.5, 0.25, None, 0.25]


def test_rate_zero_writes_nothing(tmp_path, redis_url):
    store = logged_store(tmp_path, redis_url, "{log_sample_rate: 0.0}")
    put_rows(store, "user_stats", {1: [3, 12.5, "FR", True]}, now_us())
    with TestClient(create_app(store, sinks=[], freshness_check_s=0)) as client:
        assert client.app.state.serving.serving_log is None
        for _ in range(5):
            assert client.post(URL, json={"features": ["user_stats:amount"], "entities": {"user_id": [1]}}
                               ).status_code == 200
    store.get_online_features(["user_stats:amount"], [{"user_id": 1}])
    assert not (store.config.offline_path / "_serving_log").exists()


def test_sdk_sample_rate_is_statistically_right(tmp_path, redis_url):
    store = logged_store(tmp_path, redis_url, "{log_sample_rate: 0.2}")
    from aquifer.serving.context import context_for

    requests, per_request = 20, 250
    for i in range(requests):
        store.get_online_features(["user_stats:amount"], {"user_id": list(range(i * per_request, (i + 1) *
                                                                                  per_request))})
    context_for(store).serving_log.close()
    table = read_log(store, "user_stats")
    n, p = requests * per_request, 0.2
    sd = (n * p * (1 - p)) ** 0.5
    assert abs(table.num_rows - n * p) < 5 * sd  # 5 sigma: 1000 +- 113
    ids = table["user_id"].to_pylist()
    assert len(set(ids)) == len(ids)  # each served row at most once
    assert abs(sum(1 for i in ids if i < n / 2) - table.num_rows / 2) < 5 * (table.num_rows / 4) ** 0.5  # uniform


def test_flushes_by_size_and_by_time_without_shutdown(tmp_path, redis_url):
    store = logged_store(tmp_path, redis_url, "{log_sample_rate: 1.0, log_flush_rows: 50, log_flush_s: 3600}")
    from aquifer.serving.context import context_for

    store.get_online_features(["user_stats:amount"], {"user_id": list(range(10))})
    time.sleep(0.3)
    assert log_files(store, "user_stats") == []  # under the size, long before the period
    store.get_online_features(["user_stats:amount"], {"user_id": list(range(10, 60))})
    deadline = time.monotonic() + 10
    while not log_files(store, "user_stats") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_log(store, "user_stats").num_rows == 60
    context_for(store).serving_log.close()

    timed = logged_store(tmp_path / "timed", redis_url, "{log_sample_rate: 1.0, log_flush_s: 0.2}")
    timed.get_online_features(["user_stats:amount"], {"user_id": [1, 2]})
    deadline = time.monotonic() + 10
    while not log_files(timed, "user_stats") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_log(timed, "user_stats").num_rows == 2
    context_for(timed).serving_log.close()


def test_bad_rate_is_refused(tmp_path, redis_url):
    from aquifer.config import ConfigError

    with pytest.raises(ConfigError, match="log_sample_rate"):
        logged_store(tmp_path, redis_url, "{log_sample_rate: 1.5}")
    with pytest.raises(ConfigError, match=r"unknown key 'serving\.sample'"):
        logged_store(tmp_path / "b", redis_url, "{sample: 1}")
