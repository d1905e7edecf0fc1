"""``POST /api/v1/push`` against real Redis and a real Kafka-protocol broker (no mocks).

Oracles: what a push wrote is read back through the HTTP online lookup (``/api/v1/online-features``), and what
it produced through a plain confluent-kafka consumer of the topic; the aggregation path is followed through a
real stream worker to the online values it computes.

Redis: db 9, which no test module's ``redis_url`` lands on (``1 + crc32(module) % 15``); every test has its
own project (key prefix ``aq:<project>:``) and deletes its keys afterwards, so nothing is flushed.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from aquifer.api import create_app
from aquifer.api.auth import hash_api_key
from aquifer.engines.stream import kafka_client_config
from aquifer.sdk.store import FeatureStore
from aquifer.stores.online.interface import open_online_store
from aquifer.stream_broker import Broker, free_port
from aquifer.times import from_micros

pytestmark = pytest.mark.redis

REDIS_DB = 9
PUSH = "/api/v1/push"
LOOKUP = "/api/v1/online-features"
KEY = "push-s3cret"
HEADERS = {"X-API-Key": KEY}
README = Path(__file__).parents[3] / "README.md"
TEMPLATE = Path(__file__).parents[3] / "aquifer" / "templates" / "quickstart"

DEFS = '''
from datetime import timedelta

from aquifer import (Aggregation, AggregationView, BatchSource, Entity, FeatureView, Field, KafkaSource, Tumbling,
                     sql)
from aquifer.types import Bool, Bytes, Float32, Float64, Int32, Int64, String, Timestamp

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
account = Entity("account", join_keys=["bank", "account_no"], key_types=[String, Int64])

profiles = BatchSource("profiles", path="data/profiles.parquet", timestamp_field="updated_at")
user_profile = FeatureView(
    "user_profile", entities=[user], source=profiles,
    schema=[Field("score", Float64), Field("age", Int32, default=-1), Field("country", String, default="unknown"),
            Field("is_vip", Bool, default=False), Field("signup_ts", Timestamp), Field("avatar", Bytes),
            Field("weight", Float32)],
)
account_balance = FeatureView("account_balance", entities=[account], source=profiles,
                              schema=[Field("balance", Float64)])
profile_shape = FeatureView(
    "profile_shape", entities=[user], source=profiles,
    transform=sql("SELECT user_id, updated_at AS event_ts, score * 2 AS double_score FROM {profiles}"),
    schema=[Field("double_score", Float64)],
)
profile_archive = FeatureView("profile_archive", entities=[user], source=profiles,
                              schema=[Field("score", Float64)], online=False)
batch_windows = AggregationView("batch_windows", entities=[user], source=profiles,
                                aggregations=[Aggregation("score", "sum", Tumbling("1h"))])

payments = KafkaSource("payments", topic="{payments_topic}", timestamp_field="ts", timestamp_unit="ms",
                       schema=[Field("user_id", Int64), Field("amount", Float64), Field("merchant", String)])
user_spend = FeatureView("user_spend", entities=[user], source=payments, schema=[Field("amount", Float64)])
spend_shape = FeatureView(
    "spend_shape", entities=[user], source=payments,
    transform=sql("SELECT user_id, ts AS event_ts, amount * 2 AS double_amount FROM {payments}"),
    schema=[Field("double_amount", Float64)],
)

orders = KafkaSource("orders", topic="{orders_topic}", timestamp_field="ts", timestamp_unit="ms",
                     schema=[Field("user_id", Int64), Field("amount", Float64)])
order_windows = AggregationView(
    "order_windows", entities=[user], source=orders, allowed_lateness=timedelta(seconds=1),
    aggregations=[Aggregation("amount", "sum", Tumbling(timedelta(minutes=10)), name="amount_sum_10m"),
                  Aggregation("amount", "count", Tumbling(timedelta(minutes=10)), name="amount_count_10m")],
)
'''


def unique(prefix: str) -> str:
    """A name no other test of the session uses (the broker is shared)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def iso(us: int) -> str:
    return from_micros(us).isoformat()


def now_us() -> int:
    return time.time_ns() // 1000


MINUTE_US = 60_000_000


@pytest.fixture
def redis_db(redis_server_url) -> str:
    """This module's Redis db (see the module docstring)."""
    if redis_server_url.startswith("redis://"):
        return f"{redis_server_url}/{REDIS_DB}"
    return f"{redis_server_url}?db={REDIS_DB}"


@pytest.fixture
def project(redis_db) -> Iterator[str]:
    """A project name of this test alone; its online keys are deleted afterwards."""
    name = unique("push")
    yield name
    client = redis.Redis.from_url(redis_db)
    try:
        keys = list(client.scan_iter(match=f"aq:{name}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def write_repo(root: Path, redis_url: str, project: str, *, kafka: dict[str, Any] | None = None,
               keys: bool = True, topics: dict[str, str] | None = None) -> Path:
    """The test repo: ``aquifer.yaml`` (JSON flow style is YAML) and ``features/defs.py``."""
    topics = topics or {"payments_topic": unique("payments"), "orders_topic": unique("orders")}
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "features" / "defs.py").write_text(textwrap.dedent(DEFS).replace(
        "{payments_topic}", topics["payments_topic"]).replace("{orders_topic}", topics["orders_topic"]))
    config = {
        "project": project,
        "registry": f"sqlite:///{root}/.aquifer/registry.db",
        "online_store": {"url": redis_url, "timeout_ms": 500},
        "kafka": kafka or {"bootstrap_servers": f"127.0.0.1:{free_port()}"},
        "api": {"api_keys": [hash_api_key(KEY)]} if keys else {},
    }
    (root / "aquifer.yaml").write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in config.items()) + "\n")
    return root


class Server:
    """A feature server over the test repo, its TestClient and the repo's topics."""

    def __init__(self, store: FeatureStore, client: TestClient, topics: dict[str, str]):
        self.store, self.client, self.topics = store, client, topics

    def push(self, view: str, rows: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Any:
        return self.client.post(PUSH, json={"view": view, "rows": rows},
                                headers=HEADERS if headers is None else headers)

    def lookup(self, refs: list[str], entities: dict[str, list[Any]]) -> dict[str, Any]:
        response = self.client.post(LOOKUP, json={"features": refs, "entities": entities})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def make_server(tmp_path, redis_db, project) -> Iterator[Any]:
    """``make_server(kafka=None, keys=True, create_topics=None, redis_url=None)``: a running app over a fresh repo
    (closed at the end)."""
    opened: list[tuple[FeatureStore, TestClient]] = []

    def make(kafka: dict[str, Any] | None = None, keys: bool = True, create_topics: Broker | None = None,
             redis_url: str | None = None) -> Server:
        topics = {"payments_topic": unique("payments"), "orders_topic": unique("orders")}
        if create_topics is not None:
            for topic in topics.values():
                create_topics.create_topic(topic)
        root = write_repo(tmp_path / unique("repo"), redis_url or redis_db, project, kafka=kafka, keys=keys,
                          topics=topics)
        store = FeatureStore(root)
        client = TestClient(create_app(store, sinks=[], freshness_check_s=0))
        client.__enter__()
        opened.append((store, client))
        return Server(store, client, topics)

    yield make
    for store, client in opened:
        producer = getattr(client.app.state, "push_producer", None)
        if producer is not None:
            producer.close()
        client.__exit__(None, None, None)
        store.close()


@pytest.fixture
def server(make_server) -> Server:
    """A server whose Kafka is unreachable (for the views that never produce)."""
    return make_server()


def consume(broker: Broker, topic: str, expect: int, bound_s: float = 20.0, settle_s: float = 0.0
            ) -> list[tuple[bytes | None, Any]]:
    """``(key, JSON value)`` of ``topic``'s records from its start (partition 0, no group), until ``expect``
    arrived (or ``bound_s``); then ``settle_s`` more seconds, so a record too many would show."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**kafka_client_config(broker.kafka_section(), "consumer"), "group.id": unique("reader"),
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got: list[tuple[bytes | None, Any]] = []
    deadline = time.monotonic() + bound_s
    try:
        while len(got) < expect and time.monotonic() < deadline:
            got.extend(_records(consumer))
        settle = time.monotonic() + settle_s
        while time.monotonic() < settle:
            got.extend(_records(consumer))
    finally:
        consumer.close()
    return got


def _records(consumer: Any) -> list[tuple[bytes | None, Any]]:
    out = []
    for msg in consumer.consume(num_messages=100, timeout=0.2):
        assert msg.error() is None, msg.error()
        out.append((msg.key(), json.loads(msg.value())))
    return out


def profile_row(user_id: Any, ts_us: int, score: float = 1.5, **extra: Any) -> dict[str, Any]:
    row = {"user_id": user_id, "updated_at": iso(ts_us), "score": score, "age": 41, "country": "FR",
           "is_vip": True, "signup_ts": "2020-01-02T03:04:05Z", "avatar": base64.b64encode(b"\x00\xffpng").decode(),
           "weight": 0.5}
    row.update(extra)
    return row


PROFILE = [f"user_profile:{f}" for f in ("score", "age", "country", "is_vip", "signup_ts", "avatar", "weight")]


# --- feature views: written online, read back over HTTP -----------------------------------------------------


def test_feature_rows_are_written_online_with_their_types_and_time(server):
    t = now_us() - 5 * MINUTE_US
    response = server.push("user_profile", [profile_row(1, t), profile_row("2", t - MINUTE_US, score=7.0, age=None)])
    assert response.status_code == 200, response.text
    assert response.json() == {"view": "user_profile", "rows": 2, "written": 2, "skipped": 0, "produced": 0,
                               "topic": None}

    body = server.lookup(PROFILE, {"user_id": [1, 2, 3]})
    features = body["features"]
    assert features["score"] == [1.5, 7.0, None]
    assert features["age"] == [41, -1, -1]  # a pushed null is served as the default, as a missing value is
    assert body["statuses"]["age"] == ["present", "missing", "missing"]
    assert features["country"] == ["FR", "FR", "unknown"]
    assert features["is_vip"] == [True, True, False]
    assert features["signup_ts"][:2] == ["2020-01-02T03:04:05+00:00"] * 2
    assert base64.b64decode(features["avatar"][0]) == b"\x00\xffpng"
    assert features["weight"][:2] == [0.5, 0.5]
    assert body["event_times_us"]["user_profile"] == [t, t - MINUTE_US, None]

    online = open_online_store(server.store.config.online_store)
    try:  # freshness: the newest time is recorded, as materialization records it
        assert online.newest(server.store.config.project, ["user_profile"]) == {"user_profile": t}
    finally:
        online.close()


def test_an_older_push_never_replaces_a_newer_value(server):
    t = now_us() - 10 * MINUTE_US
    assert server.push("user_profile", [profile_row(1, t, score=2.0)]).json()["written"] == 1
    older = server.push("user_profile", [profile_row(1, t - MINUTE_US, score=1.0)])
    assert older.status_code == 200 and (older.json()["written"], older.json()["skipped"]) == (0, 1)
    assert server.lookup(["user_profile:score"], {"user_id": [1]})["features"]["score"] == [2.0]

    # same time, pushed later: the later push wins (its created_ts, the push time, is newer)
    assert server.push("user_profile", [profile_row(1, t, score=3.0)]).json()["written"] == 1
    assert server.lookup(["user_profile:score"], {"user_id": [1]})["features"]["score"] == [3.0]

    # several rows of one entity in one push: the newest row wins whatever its place
    rows = [profile_row(5, t + MINUTE_US, score=10.0), profile_row(5, t + 3 * MINUTE_US, score=30.0),
            profile_row(5, t + 2 * MINUTE_US, score=20.0)]
    result = server.push("user_profile", rows).json()
    assert (result["written"], result["skipped"]) == (1, 2)
    body = server.lookup(["user_profile:score"], {"user_id": [5]})
    assert body["features"]["score"] == [30.0] and body["event_times_us"]["user_profile"] == [t + 3 * MINUTE_US]


def test_transformed_batch_view_and_composite_keys(server):
    t = now_us() - MINUTE_US
    # a transform view's rows carry the view's own time field (event_ts), not the source's
    ok = server.push("profile_shape", [{"user_id": 4, "event_ts": iso(t), "double_score": 8.0}])
    assert ok.status_code == 200 and ok.json()["written"] == 1, ok.text
    assert server.lookup(["profile_shape:double_score"], {"user_id": [4]})["features"]["double_score"] == [8.0]
    bad = server.push("profile_shape", [{"user_id": 4, "updated_at": iso(t), "double_score": 8.0}])
    assert bad.status_code == 422
    # composite key: "a|b" needs escaping, "7" is coerced to the Int64 key 7 as lookups coerce it
    row = {"bank": "a|b", "account_no": "7", "updated_at": iso(t), "balance": 99.5}
    assert server.push("account_balance", [row]).json()["written"] == 1
    body = server.lookup(["account_balance:balance"], {"bank": ["a|b", "a"], "account_no": [7, 7]})
    assert body["features"]["balance"] == [99.5, None]


# --- bad input ------------------------------------------------------------------------------------------------


def errors_of(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 422, response.text
    return [(tuple(e["loc"]), e["type"]) for e in response.json()["detail"]]


def test_bad_rows_name_the_row_and_field_and_nothing_is_written(server):
    t = now_us() - MINUTE_US
    good = profile_row(1, t)
    cases: list[tuple[dict[str, Any], tuple[Any, ...], str]] = [
        ({k: v for k, v in good.items() if k != "user_id"}, ("user_id",), "missing_key"),
        ({**good, "user_id": "abc"}, ("user_id",), "wrong_type"),
        ({**good, "user_id": 1.5}, ("user_id",), "wrong_type"),
        ({k: v for k, v in good.items() if k != "updated_at"}, ("updated_at",), "missing_timestamp"),
        ({**good, "updated_at": "yesterday"}, ("updated_at",), "wrong_type"),
        ({**good, "updated_at": t // 1000}, ("updated_at",), "wrong_type"),  # a number, and the source has no unit
        ({**good, "updated_at": "1969-12-31T00:00:00Z"}, ("updated_at",), "before_epoch"),
        ({**good, "updated_at": iso(now_us() + 60 * MINUTE_US)}, ("updated_at",), "future"),
        ({**good, "score": "high"}, ("score",), "wrong_type"),
        ({**good, "age": 2**31}, ("age",), "wrong_type"),  # out of Int32
        ({**good, "age": 41.0}, ("age",), "wrong_type"),
        ({**good, "is_vip": 1}, ("is_vip",), "wrong_type"),
        ({**good, "signup_ts": 1_700_000_000}, ("signup_ts",), "wrong_type"),
        ({**good, "avatar": "not base64!"}, ("avatar",), "wrong_type"),
        ({**good, "weight": 1e39}, ("weight",), "wrong_type"),  # out of Float32
        ({k: v for k, v in good.items() if k != "country"}, ("country",), "missing_field"),
        ({**good, "scroe": 1.0}, ("scroe",), "unknown_field"),
    ]
    for index, (row, field, kind) in enumerate(cases):
        rows = [profile_row(10 + index, t), row]  # a good row first: it must not be written either
        found = errors_of(server.push("user_profile", rows))
        assert found == [(("body", "rows", 1, *field), kind)], (row, found)
    body = server.lookup(["user_profile:score"], {"user_id": [1, *(10 + i for i in range(len(cases)))]})
    assert set(body["statuses"]["score"]) == {"missing"}, "nothing is written when a row is bad"

    # every bad row is reported, each with all its bad fields
    found = errors_of(server.push("user_profile", [good, {**good, "score": "x", "age": "y"}, {"user_id": 2}]))
    assert (("body", "rows", 1, "score"), "wrong_type") in found and (("body", "rows", 1, "age"), "wrong_type") in found
    assert {loc[2] for loc, _ in found} == {1, 2}
    message = server.push("user_profile", [{**good, "score": "high"}]).json()["detail"][0]["msg"]
    assert "score" in message and "high" in message


def test_unknown_view_empty_and_too_many_rows(server):
    r = server.push("ghost", [{"user_id": 1}])
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    r = server.push("user_profile", [])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "rows"]
    r = server.client.post(PUSH, json={"view": "user_profile", "rows": [1, 2]}, headers=HEADERS)
    assert r.status_code == 422  # rows must be objects
    r = server.push("user_profile", [{"user_id": i} for i in range(10_001)])
    assert r.status_code == 413 and "10000" in r.json()["detail"]


def test_views_that_cannot_take_pushes_are_refused(server):
    t = iso(now_us() - MINUTE_US)
    r = server.push("batch_windows", [{"user_id": 1, "updated_at": t, "score": 1.0}])
    assert r.status_code == 400 and "not a KafkaSource" in r.json()["detail"]
    r = server.push("spend_shape", [{"user_id": 1, "event_ts": t, "double_amount": 1.0}])
    assert r.status_code == 400 and "transforms KafkaSource" in r.json()["detail"]
    r = server.push("profile_archive", [{"user_id": 1, "updated_at": t, "score": 1.0}])
    assert r.status_code == 400 and "online=False" in r.json()["detail"]


def test_api_key_required(server, make_server):
    row = [profile_row(1, now_us() - MINUTE_US)]
    assert server.push("user_profile", row, headers={}).status_code == 401
    assert server.push("user_profile", row, headers={"X-API-Key": "wrong"}).status_code == 403
    closed = make_server(keys=False)  # no key configured: write routes are closed
    assert closed.push("user_profile", row).status_code == 403
    assert server.lookup(["user_profile:score"], {"user_id": [1]})["statuses"]["score"] == ["missing"]


def test_openapi_documents_the_route(server):
    schema = server.client.get("/openapi.json").json()
    operation = schema["paths"][PUSH]["post"]
    assert {"400", "401", "403", "404", "413", "422", "503"} <= set(operation["responses"])
    assert {"PushRequest", "PushResponse"} <= set(schema["components"]["schemas"])


# --- Kafka sources --------------------------------------------------------------------------------------------


def test_kafka_feature_view_rows_are_produced_and_written(make_server, kafka_broker):
    server = make_server(kafka=kafka_broker.kafka_section(), create_topics=kafka_broker)
    topic = server.topics["payments_topic"]
    t = now_us() - 2 * MINUTE_US
    t_ms = t // 1000
    rows = [{"user_id": 1, "ts": iso(t_ms * 1000), "amount": 12.5, "merchant": "m1"},
            {"user_id": "2", "ts": t_ms - 1000, "amount": None}]
    response = server.push("user_spend", rows)
    assert response.status_code == 200, response.text
    assert response.json() == {"view": "user_spend", "rows": 2, "written": 2, "skipped": 0, "produced": 2,
                               "topic": topic}

    got = consume(kafka_broker, topic, expect=2, settle_s=1.0)
    assert got == [(b"1", {"user_id": 1, "ts": t_ms, "amount": 12.5, "merchant": "m1"}),  # time as declared: ms
                   (b"2", {"user_id": 2, "ts": t_ms - 1000, "amount": None})]
    body = server.lookup(["user_spend:amount"], {"user_id": [1, 2]})
    assert body["features"]["amount"] == [12.5, None] and body["statuses"]["amount"] == ["present", "missing"]
    assert body["event_times_us"]["user_spend"] == [t_ms * 1000, (t_ms - 1000) * 1000]  # the null is a value

    # an older row is still produced (the topic keeps every event), but not written online
    older = server.push("user_spend", [{"user_id": 1, "ts": t_ms - 60_000, "amount": 1.0}]).json()
    assert (older["produced"], older["written"], older["skipped"]) == (1, 0, 1)
    assert server.lookup(["user_spend:amount"], {"user_id": [1]})["features"]["amount"] == [12.5]
    assert len(consume(kafka_broker, topic, expect=3)) == 3
    # the source's declared columns are checked too; undeclared ones refused
    assert errors_of(server.push("user_spend", [{**rows[0], "merchant": 5}])) == [
        (("body", "rows", 0, "merchant"), "wrong_type")]
    assert errors_of(server.push("user_spend", [{**rows[0], "shop": "x"}])) == [
        (("body", "rows", 0, "shop"), "unknown_field")]
    assert len(consume(kafka_broker, topic, expect=4, bound_s=2.0)) == 3, "a refused push produces nothing"


def test_one_producer_serves_concurrent_pushes(kafka_broker):
    from aquifer.runs.push import KafkaProducer

    topic = unique("concurrent")
    kafka_broker.create_topic(topic)
    producer = KafkaProducer(kafka_broker.kafka_section())
    results: list[int] = []

    def push(thread: int) -> None:
        results.append(producer.produce(topic, [(b"%d" % thread, json.dumps({"n": i}).encode()) for i in range(100)]))

    threads = [threading.Thread(target=push, args=(t,)) for t in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        producer.close()
    assert results == [100] * 4  # each waited for its own deliveries only
    assert len(consume(kafka_broker, topic, expect=400, settle_s=0.5)) == 400


def test_unreachable_broker_is_503_and_nothing_is_written_online(make_server):
    dead = {"bootstrap_servers": f"127.0.0.1:{free_port()}", "conf": {"message.timeout.ms": 2000}}
    server = make_server(kafka=dead)
    began = time.monotonic()
    response = server.push("user_spend", [{"user_id": 1, "ts": (now_us() - MINUTE_US) // 1000, "amount": 3.0}])
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert server.topics["payments_topic"] in detail and "did not answer" in detail, detail
    assert time.monotonic() - began < 15
    assert server.lookup(["user_spend:amount"], {"user_id": [1]})["statuses"]["amount"] == ["missing"]


def test_missing_topic_is_503_and_not_created(make_server, kafka_broker):
    server = make_server(kafka=kafka_broker.kafka_section())  # topics not created
    topic = server.topics["payments_topic"]
    response = server.push("user_spend", [{"user_id": 1, "ts": (now_us() - MINUTE_US) // 1000, "amount": 3.0}])
    assert response.status_code == 503 and topic in response.json()["detail"]
    assert "does not exist" in response.json()["detail"]
    assert topic not in kafka_broker.admin().list_topics(timeout=10).topics
    assert server.lookup(["user_spend:amount"], {"user_id": [1]})["statuses"]["amount"] == ["missing"]


def test_unreachable_online_store_is_503_after_the_produce(make_server, kafka_broker):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    plain = make_server(redis_url=dead_redis)
    response = plain.push("user_profile", [profile_row(1, now_us() - MINUTE_US)])
    assert response.status_code == 503 and "unreachable" in response.json()["detail"]

    # Kafka first: the rows are in the topic, and the answer says so
    server = make_server(kafka=kafka_broker.kafka_section(), create_topics=kafka_broker, redis_url=dead_redis)
    topic = server.topics["payments_topic"]
    response = server.push("user_spend", [{"user_id": 1, "ts": (now_us() - MINUTE_US) // 1000, "amount": 3.0}])
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "unreachable" in detail and topic in detail and "1 messages" in detail, detail
    assert len(consume(kafka_broker, topic, expect=1)) == 1


# --- aggregation views: events to the topic, windows by the stream worker --------------------------------------


def test_aggregation_events_are_checked_produced_and_streamed(make_server, kafka_broker, tmp_path):
    from aquifer.engines.stream.worker import StreamSettings, StreamWorker

    server = make_server(kafka=kafka_broker.kafka_section(), create_topics=kafka_broker)
    topic = server.topics["orders_topic"]
    kafka_broker.create_topic(f"{topic}.dead-letter")
    start = now_us() - 120 * MINUTE_US
    start -= start % (10 * MINUTE_US)
    ms = [(start + k * MINUTE_US) // 1000 for k in (1, 2, 3)]
    good = [{"user_id": 1, "ts": ms[0], "amount": 5},
            {"user_id": 1, "ts": iso(ms[1] * 1000), "amount": 7.0, "note": "kept"},  # extra fields pass through
            {"user_id": 1, "ts": ms[2], "amount": 9.0},
            {"user_id": 2, "ts": (start + 20 * MINUTE_US) // 1000, "amount": None}]  # closes user 1's window

    # the stream's own checks, with the stream's reasons; nothing is produced while a row is bad
    bad_cases = [
        ({"ts": ms[0], "amount": 1.0}, "user_id", "missing_key"),
        ({"user_id": "x", "ts": ms[0], "amount": 1.0}, "user_id", "wrong_type"),
        ({"user_id": "1", "ts": ms[0], "amount": 1.0}, "user_id", "wrong_type"),  # the source declares Int64
        ({"user_id": 1, "amount": 1.0}, "ts", "missing_timestamp"),
        ({"user_id": 1, "ts": "soon", "amount": 1.0}, "ts", "wrong_type"),
        ({"user_id": 1, "ts": ms[0], "amount": "lots"}, "amount", "wrong_type"),
        ({"user_id": 1, "ts": -5000, "amount": 1.0}, "ts", "before_epoch"),
        ({"user_id": 1, "ts": (now_us() + 60 * MINUTE_US) // 1000, "amount": 1.0}, "ts", "future"),
    ]
    for row, field, kind in bad_cases:
        assert errors_of(server.push("order_windows", [good[0], row])) == [(("body", "rows", 1, field), kind)], row

    response = server.push("order_windows", good)
    assert response.status_code == 200, response.text
    assert response.json() == {"view": "order_windows", "rows": 4, "written": 0, "skipped": 0, "produced": 4,
                               "topic": topic}
    got = consume(kafka_broker, topic, expect=4, settle_s=1.0)
    assert [key for key, _ in got] == [b"1", b"1", b"1", b"2"]  # only the good push's events
    assert [value["ts"] for _, value in got] == [*ms, (start + 20 * MINUTE_US) // 1000]  # ms, as declared
    assert got[1][1] == {"user_id": 1, "ts": ms[1], "amount": 7.0, "note": "kept"}
    assert server.lookup(["order_windows:amount_sum_10m"], {"user_id": [1]})["statuses"]["amount_sum_10m"] == [
        "missing"], "nothing is written online by the push itself"

    view = server.store.views["order_windows"]
    settings = StreamSettings(kafka=kafka_broker.kafka_section(), online_store=server.store.config.online_store,
                              project=server.store.config.project, state_dir=tmp_path / "state",
                              consumer_group=unique("workers"), commit_interval=0.5)
    worker = StreamWorker([view], settings)
    watchdog = threading.Timer(90, worker.stop)
    watchdog.start()
    try:
        worker.run(stop_when=lambda w: w.counts["events"] >= 4)
    finally:
        watchdog.cancel()
    assert worker.counts["accepted"] == 4 and worker.counts["dead_letters"] == 0, dict(worker.counts)
    body = server.lookup(["order_windows:amount_sum_10m", "order_windows:amount_count_10m"], {"user_id": [1, 2]})
    assert body["features"]["amount_sum_10m"][0] == 21.0 and body["features"]["amount_count_10m"][0] == 3
    assert body["statuses"]["amount_sum_10m"] == ["present", "missing"]


# --- the README's examples --------------------------------------------------------------------------------------


def readme_push_examples() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(request body, answer)`` of every ``curl .../api/v1/push`` in the README, with its ``# {...}`` answer."""
    text = README.read_text()
    section = text[text.index("### Pushing rows"):]
    found = re.findall(r"/api/v1/push .*?-d '(\{.*?\})'\n# (\{.*?\})\n", section, flags=re.S)
    return [(json.loads(body), json.loads(answer)) for body, answer in found]


def test_readme_push_examples_answer_as_shown(tmp_path, redis_db, project, kafka_broker):
    examples = readme_push_examples()
    assert len(examples) == 2
    repo = tmp_path / "fraud"
    shutil.copytree(TEMPLATE, repo, ignore=shutil.ignore_patterns("generate_data.py", "__pycache__"))
    topic = unique("transactions")
    kafka_broker.create_topic(topic)
    sources = repo / "features" / "sources.py"
    sources.write_text(sources.read_text().replace('topic="transactions"', f'topic="{topic}"'))
    config = repo / "aquifer.yaml"
    text = re.sub(r"online_store: \{url: [^}]*\}", f"online_store: {{url: '{redis_db}'}}", config.read_text())
    text = re.sub(r"project: \S+", f"project: {project}", text)
    text += f"kafka: {json.dumps(kafka_broker.kafka_section())}\napi: {{api_keys: ['{hash_api_key(KEY)}']}}\n"
    config.write_text(text)
    store = FeatureStore(repo)
    try:
        with TestClient(create_app(store, sinks=[], freshness_check_s=0)) as client:
            for body, answer in examples:
                response = client.post(PUSH, json=body, headers=HEADERS)
                assert response.status_code == 200, response.text
                if answer["topic"] == "transactions":
                    answer = {**answer, "topic": topic}
                assert response.json() == answer
            client.app.state.push_producer.close()
    finally:
        store.close()
    assert len(consume(kafka_broker, topic, expect=1)) == 1

