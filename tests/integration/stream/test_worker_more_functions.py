"""A stream worker (real broker, real Redis) running the newer functions — moments, approx_distinct, first/last
with text values, last_n, min_by/max_by, an offset window and Lifetime — checked against brute force
(``aggregation_oracle``) at the final watermark.

Grid features hold their value as of the final watermark ``W``. A Lifetime feature holds every accepted event
before ``W``: its last row came at the last watermark that passed new events of the key, and no event of the
key lies between that watermark and ``W`` (or it would have emitted again). The vector's time depends on when
emissions ran, so only the values are compared.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aggregation_oracle import agree, grid_rows, lifetime_as_of
from test_worker import (
    FINAL_KEY,
    LATENESS,
    MINUTE_MS,
    make_events,
    online_vectors,
    produce,
    run_until,
    settings,
    start_ms,
    unique,
    wire,
)

from aquifer.definitions import Aggregation, AggregationView, Entity, Field, KafkaSource, Lifetime, Sliding, Tumbling
from aquifer.definitions.types import Float64, Int64, String
from aquifer.engines.stream.worker import StreamWorker

N_KEYS = 8
MERCHANTS = ["m1", "m2", "m3", "m4", "m5"]


def more_view(topic: str) -> AggregationView:
    user = Entity("user", join_keys=["user_id"])
    source = KafkaSource("payments", topic=topic, timestamp_field="ts", timestamp_unit="ms",
                         schema=[Field("user_id", Int64), Field("amount", Float64), Field("merchant", String)])
    window = Tumbling(timedelta(minutes=10), offset=timedelta(minutes=3))
    return AggregationView("more", entities=[user], source=source, allowed_lateness=LATENESS, aggregations=[
        Aggregation("amount", "stddev_samp", window),
        Aggregation("amount", "var_pop", Sliding(timedelta(minutes=30), timedelta(minutes=10))),
        Aggregation("merchant", "approx_distinct", window),
        Aggregation("merchant", "last", window, value_type=String),
        Aggregation("amount", "first", Lifetime()),
        Aggregation("amount", "last_n(3)", Lifetime()),
        Aggregation("merchant", "max_by", Lifetime(), by="amount", value_type=String),
        Aggregation("merchant", "min_by", window, by="amount", value_type=String),
    ])


@pytest.mark.timeout(180)
def test_worker_runs_the_newer_functions_like_brute_force(kafka_broker, redis_url, tmp_path):
    topic = unique("payments")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    view = more_view(topic)
    events = make_events(29, 240, list(range(N_KEYS)), start_ms(), 150 * MINUTE_MS)
    for i, event in enumerate(events):
        if i % 13 != 5:
            event["merchant"] = MERCHANTS[(i * 7) % len(MERCHANTS)]
    final: dict[str, Any] = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 40 * MINUTE_MS,
                             "amount": 1.0, "merchant": "m1"}
    payloads = [(str(e["user_id"]).encode(), json.dumps(wire(e, i)).encode())
                for i, e in enumerate([*events, final])]
    produce(kafka_broker, topic, payloads)

    worker = StreamWorker([view], settings(kafka_broker, redis_url, tmp_path, unique("workers")))
    run_until(worker, lambda w: w.counts["events"] >= len(events) + 1)
    assert worker.counts["accepted"] == len(events) + 1 and worker.counts["dead_letters"] == 0, dict(worker.counts)

    watermark = (final["ts"] - int(LATENESS.total_seconds() * 1000)) * 1000
    got = online_vectors(view, redis_url, list(range(N_KEYS)))
    assert sorted(got) == list(range(N_KEYS))
    problems = []
    for key in range(N_KEYS):
        mine = [e for e in events if e["user_id"] == key]
        for a, value in zip(view.aggregations, got[key][1], strict=True):
            column = [(e["ts"] * 1000, e.get(a.column), e.get(a.by) if a.by else None) for e in mine]
            if isinstance(a.window, Lifetime):
                want = lifetime_as_of(a.function, column, watermark)
            else:
                closed = [r for r in grid_rows(a.window, a.function, column) if r[1] <= watermark]
                want = max(closed, key=lambda r: r[1])[2] if closed else None
            if not agree(a.function, value, want):
                problems.append(f"key {key} {a.feature_name}: online {value!r}, expected {want!r}")
    assert not problems, problems
