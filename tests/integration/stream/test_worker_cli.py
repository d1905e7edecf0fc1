"""``aquifer stream`` as a user runs it: a subprocess on a feature repo, stopped by SIGTERM or SIGINT.

It must compute the same values as the reference, then stop cleanly: exit 0, a summary line, and its consumer
group's offsets committed up to the last event (so a restart would not reprocess them).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_worker import (
    FINAL_KEY,
    LATENESS,
    MINUTE_MS,
    PROJECT,
    as_payloads,
    expected_vectors,
    make_events,
    mismatches,
    online_vectors,
    produce,
    spend_view,
    start_ms,
    unique,
)

from aquifer.engines.stream import kafka_client_config

FEATURES = '''
from datetime import timedelta

from aquifer.definitions import (Aggregation, AggregationView, BatchSource, Entity, Field, KafkaSource, Session,
                                 Sliding, Tumbling)
from aquifer.definitions.types import Float64, Int64

user = Entity("user", join_keys=["user_id"])
landed = BatchSource("landed", path="data/landed", timestamp_field="ts")
payments = KafkaSource("payments", topic=TOPIC, timestamp_field="ts", timestamp_unit="ms", batch_source=landed,
                       schema=[Field("user_id", Int64), Field("amount", Float64)])
spend = AggregationView("spend", entities=[user], source=payments, allowed_lateness=timedelta(minutes=5),
                        aggregations=[
    Aggregation("amount", "count", Tumbling(timedelta(minutes=10))),
    Aggregation("amount", "sum", Sliding(timedelta(minutes=30), timedelta(minutes=10))),
    Aggregation("amount", "p95", Session(timedelta(minutes=7))),
    Aggregation("amount", "sum", Session(timedelta(minutes=4), max_duration=timedelta(minutes=20)),
                name="amount_sum_capped"),
])
'''


def write_repo(root: Path, topic: str, kafka: dict, redis_url: str) -> None:
    """A feature repo whose one aggregation view reads ``topic`` (the same view as ``spend_view``)."""
    root.mkdir()
    (root / "aquifer.yaml").write_text(json.dumps({  # JSON is YAML
        "project": PROJECT, "online_store": {"url": redis_url}, "kafka": kafka,
    }))
    (root / "features.py").write_text(FEATURES.replace("TOPIC", repr(topic)))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_aquifer_stream_computes_and_stops_cleanly_on_a_signal(kafka_broker, redis_url, tmp_path, stop_signal):
    topic, group = unique("payments"), unique("cli")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    write_repo(tmp_path / "repo", topic, kafka_broker.kafka_section(), redis_url)
    view = spend_view(topic)
    events = make_events(5, 150, list(range(6)), start_ms(), 90 * MINUTE_MS)
    final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
    produce(kafka_broker, topic, as_payloads([*events, final]))
    watermark = final["ts"] * 1000 - int(LATENESS.total_seconds() * 1_000_000)
    expected = expected_vectors(view, [*events, final], watermark)

    aquifer = Path(sys.executable).parent / "aquifer"
    proc = subprocess.Popen([str(aquifer), "stream", "--repo", str(tmp_path / "repo"), "--group", group],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        got: dict = {}
        while time.monotonic() < deadline and proc.poll() is None:
            got = online_vectors(view, redis_url, [*range(6), FINAL_KEY])
            if got == expected or not mismatches(expected, got, [f.name for f in view.features]):
                break
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert not mismatches(expected, got, [f.name for f in view.features])
    assert f"stopped: {len(events) + 1:,} events, {len(events) + 1:,} accepted, 0 dead-lettered" in out, out
    assert landed_events(tmp_path / "repo") == sorted((e["user_id"], e["ts"]) for e in [*events, final])

    from aquifer.registry import Registry
    from aquifer.sdk.store import FeatureStore

    registry: Registry = FeatureStore(tmp_path / "repo").registry
    (record,) = registry.runs(PROJECT, kind="stream")
    assert (record.view, record.status, record.rows_in) == ("spend", "succeeded", len(events) + 1)
    assert record.details["partitions"]["0"]["offset"] == len(events)  # the last offset, committed at the stop
    assert record.details["accepted"] == len(events) + 1 and record.details["late"] == 0
    assert record.rows_out == record.details["windows_emitted"] > 0

    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**kafka_client_config(kafka_broker.kafka_section(), "consumer"), "group.id": group})
    try:
        (committed,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
    finally:
        consumer.close()
    assert committed.offset == len(events) + 1, "the stop committed the offset after the last event"


def landed_events(repo: Path) -> list[tuple[int, int]]:
    """``(user_id, ts in ms)`` of every event landed in the repo's ``data/landed`` folder, sorted."""
    import pyarrow.parquet as pq

    rows = []
    for path in sorted((repo / "data" / "landed").glob("*.parquet")):
        table = pq.read_table(path, columns=["user_id", "ts"]).to_pydict()
        rows += [(user, int(ts.timestamp() * 1000)) for user, ts in zip(table["user_id"], table["ts"], strict=True)]
    return sorted(rows)


@pytest.mark.timeout(60)
def test_aquifer_stream_names_a_missing_topic(kafka_broker, redis_url, tmp_path):
    topic = unique("nowhere")
    write_repo(tmp_path / "repo", topic, kafka_broker.kafka_section(), redis_url)
    aquifer = Path(sys.executable).parent / "aquifer"
    done = subprocess.run([str(aquifer), "stream", "--repo", str(tmp_path / "repo")], capture_output=True,
                          text=True, timeout=50)
    assert done.returncode == 1
    assert f"topic {topic!r} does not exist" in done.stderr.replace("\n", ""), done.stderr
