"""Scale by workers: two ``aquifer stream`` processes in one consumer group on a two-partition topic.

Each partition has its own watermark (its greatest event time minus the lateness), so the oracle evaluates each
key at the watermark of its partition. Every key's online values must equal the reference's, whichever worker
computed them.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_worker import (
    LATENESS,
    MINUTE_MS,
    expected_vectors,
    make_events,
    mismatches,
    online_vectors,
    spend_view,
    start_ms,
    unique,
    wire,
)
from test_worker_cli import write_repo

from aquifer.engines.stream import kafka_client_config

N_KEYS = 16
FINAL_KEYS = (998, 999)  # one per partition (partition = user_id % 2)
JOIN_S = 15.0


def produce_by_key(broker: Any, topic: str, events: list[dict[str, Any]]) -> None:
    """Produce each event to partition ``user_id % 2``, keyed by user id."""
    from confluent_kafka import Producer

    producer = Producer(kafka_client_config(broker.kafka_section(), "producer"))
    for i, event in enumerate(events):
        producer.produce(topic, key=str(event["user_id"]).encode(), value=json.dumps(wire(event, i)).encode(),
                         partition=event["user_id"] % 2)
        producer.poll(0)
    assert producer.flush(30) == 0


@pytest.mark.timeout(240)
def test_two_workers_in_one_group_on_two_partitions(kafka_broker, redis_url, tmp_path):
    topic, group = unique("payments"), unique("pair")
    kafka_broker.create_topic(topic, partitions=2)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    write_repo(tmp_path / "repo", topic, kafka_broker.kafka_section(), redis_url)
    view = spend_view(topic)
    aquifer = Path(sys.executable).parent / "aquifer"
    procs = [subprocess.Popen([str(aquifer), "stream", "--repo", str(tmp_path / "repo"), "--group", group,
                               "--state-dir", str(tmp_path / f"state{i}")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs: list[tuple[str, str]] = []
    try:
        # Tansu cannot describe groups; a join takes ~3 s there and the second member's rebalance as much again
        time.sleep(JOIN_S)

        events = make_events(11, 400, list(range(N_KEYS)), start_ms(), 120 * MINUTE_MS)
        finals = []
        for key in FINAL_KEYS:
            latest = max(e["ts"] for e in events if e["user_id"] % 2 == key % 2)
            finals.append({"user_id": key, "ts": latest + 20 * MINUTE_MS, "amount": 1.0})
        produce_by_key(kafka_broker, topic, [*events, *finals])
        lateness_us = int(LATENESS.total_seconds() * 1_000_000)
        expected = {}
        for parity, final in zip((0, 1), sorted(finals, key=lambda f: f["user_id"] % 2), strict=True):
            mine = [e for e in [*events, *finals] if e["user_id"] % 2 == parity]
            expected.update(expected_vectors(view, mine, final["ts"] * 1000 - lateness_us))
        assert len(expected) == N_KEYS

        features = [f.name for f in view.features]
        deadline = time.monotonic() + 90
        got: dict = {}
        while time.monotonic() < deadline and all(p.poll() is None for p in procs):
            got = online_vectors(view, redis_url, [*range(N_KEYS), *FINAL_KEYS])
            if not mismatches(expected, got, features):
                break
            time.sleep(0.5)
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs if p.poll() is not None]
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert not mismatches(expected, got, features)
    seen = [int(re.search(r"stopped: ([\d,]+) events", out).group(1).replace(",", ""))  # type: ignore[union-attr]
            for out, _ in outputs]
    assert all(n > 0 for n in seen) and sum(seen) >= len(events) + len(finals), seen
