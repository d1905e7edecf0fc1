"""Stream workers against a real broker and real Redis, checked against the brute-force reference.

The oracle is ``aggregations.reference``: ``compute_windows`` over each key's accepted events (plain loops,
independent of ``WindowOperator``) and ``value_as_of`` at the final watermark (the greatest event time seen in
the partition minus the view's lateness): every key's online vector must hold exactly those values, with the
newest window end at or before the watermark as its event time.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from aquifer.aggregations import compute_windows, value_as_of
from aquifer.definitions import Aggregation, AggregationView, Entity, Field, KafkaSource, Session, Sliding, Tumbling
from aquifer.definitions.types import Float64, Int64
from aquifer.engines.stream import kafka_client_config
from aquifer.engines.stream.worker import StreamSettings, StreamWorker
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.interface import open_online_store
from aquifer.stores.online.keys import entity_group
from aquifer.stream_broker import Broker

MINUTE_MS = 60_000
LATENESS = timedelta(minutes=5)
PROJECT = "streamtest"
RUN_BOUND_S = 90.0
N_KEYS = 20
FINAL_KEY = 999


def unique(prefix: str) -> str:
    """A topic or group name no other test of this session uses (the broker is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def spend_view(topic: str) -> AggregationView:
    """Tumbling count, sliding sum, session p95 and a capped session sum over ``amount``."""
    user = Entity("user", join_keys=["user_id"])
    source = KafkaSource("payments", topic=topic, timestamp_field="ts", timestamp_unit="ms",
                         schema=[Field("user_id", Int64), Field("amount", Float64)])
    return AggregationView("spend", entities=[user], source=source, allowed_lateness=LATENESS, aggregations=[
        Aggregation("amount", "count", Tumbling(timedelta(minutes=10))),
        Aggregation("amount", "sum", Sliding(timedelta(minutes=30), timedelta(minutes=10))),
        Aggregation("amount", "p95", Session(timedelta(minutes=7))),
        Aggregation("amount", "sum", Session(timedelta(minutes=4), max_duration=timedelta(minutes=20)),
                    name="amount_sum_capped"),
    ])


def make_events(seed: int, n: int, keys: Sequence[int], start_ms: int, span_ms: int) -> list[dict[str, Any]]:
    """Events in arrival order: times random in the span, each arriving up to ``LATENESS`` late (never late).

    Times alternate between epoch milliseconds and ISO text; a few amounts are null or missing.
    """
    rng = random.Random(seed)
    events = []
    for i in range(n):
        ts = start_ms + rng.randrange(span_ms)
        event: dict[str, Any] = {"user_id": rng.choice(keys), "ts": ts, "amount": round(rng.uniform(1, 100), 2)}
        if i % 17 == 0:
            event["amount"] = None
        elif i % 23 == 0:
            del event["amount"]
        events.append(event)
    lateness_ms = int(LATENESS.total_seconds() * 1000)
    jitter = [rng.randrange(lateness_ms + 1) for _ in events]
    order = sorted(range(n), key=lambda i: (events[i]["ts"] + jitter[i], i))
    return [events[i] for i in order]


def wire(event: dict[str, Any], index: int) -> dict[str, Any]:
    """The event as produced: every other one with its time as ISO text."""
    if index % 2:
        return event
    from aquifer.times import from_micros

    return {**event, "ts": from_micros(event["ts"] * 1000).isoformat()}


def produce(broker: Broker, topic: str, payloads: Sequence[tuple[bytes | None, bytes]]) -> None:
    """Produce ``(key, value)`` payloads in order and wait for every delivery."""
    from confluent_kafka import Producer

    producer = Producer(kafka_client_config(broker.kafka_section(), "producer"))
    errors: list[str] = []
    for key, value in payloads:
        producer.produce(topic, key=key, value=value,
                         on_delivery=lambda err, _msg: errors.append(str(err)) if err else None)
        producer.poll(0)
    assert producer.flush(30) == 0, "events still queued after 30 s"
    assert not errors, errors


def as_payloads(events: Sequence[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(str(e["user_id"]).encode(), json.dumps(wire(e, i)).encode()) for i, e in enumerate(events)]


def settings(broker: Broker, redis_url: str, state_dir: Path, group: str) -> StreamSettings:
    return StreamSettings(kafka=broker.kafka_section(), online_store={"url": redis_url}, project=PROJECT,
                          state_dir=state_dir, consumer_group=group, commit_interval=0.5)


def run_until(worker: StreamWorker, done: Callable[[StreamWorker], bool], bound_s: float = RUN_BOUND_S) -> float:
    """Run ``worker`` until ``done`` (or ``bound_s`` seconds: the caller's assertions then fail); seconds run."""
    watchdog = threading.Timer(bound_s, worker.stop)
    watchdog.start()
    began = time.monotonic()
    try:
        worker.run(stop_when=done)
    finally:
        watchdog.cancel()
    return time.monotonic() - began


def expected_vectors(view: AggregationView, accepted: Sequence[dict[str, Any]], watermark_us: int
                     ) -> dict[int, tuple[int, list[Any]]]:
    """Per key: ``(event_ts, values)`` the reference gives at ``watermark_us``; keys with no closed window
    are absent (nothing is written for them)."""
    by_key: dict[int, list[tuple[int, object]]] = {}
    for event in accepted:
        by_key.setdefault(event["user_id"], []).append((event["ts"] * 1000, event.get("amount")))
    out = {}
    for key, events in by_key.items():
        values, newest = [], None
        for aggregation in view.aggregations:
            rows = compute_windows(events, aggregation)
            closed = [row.end for row in rows if row.end <= watermark_us]
            if closed:
                newest = max(closed) if newest is None else max(newest, *closed)
            values.append(value_as_of(rows, watermark_us))
        if newest is not None:
            out[key] = (newest, values)
    return out


def online_vectors(view: AggregationView, redis_url: str, keys: Sequence[int]) -> dict[int, tuple[int, list[Any]]]:
    """What the online store holds for ``keys``: ``(event_ts, values)``."""
    store = open_online_store({"url": redis_url})
    try:
        prefix = entity_group(view).prefix(PROJECT)
        blobs = store.read([(prefix + str(k), [view.name]) for k in keys])
    finally:
        store.close()
    codec = ViewCodec.for_view(view)
    out = {}
    for key, (blob,) in zip(keys, blobs, strict=True):
        if blob is not None:
            decoded = codec.decode(blob)
            assert decoded is not None
            out[key] = (decoded[0], list(decoded[2]))
    return out


def same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]


def mismatches(expected: dict[int, tuple[int, list[Any]]], got: dict[int, tuple[int, list[Any]]],
               features: Sequence[str]) -> list[str]:
    problems = []
    for key in sorted(set(expected) | set(got)):
        want, have = expected.get(key), got.get(key)
        if want is None or have is None:
            problems.append(f"key {key}: expected {want}, online {have}")
            continue
        if want[0] != have[0]:
            problems.append(f"key {key}: event_ts {have[0]}, expected {want[0]}")
        for name, w, h in zip(features, want[1], have[1], strict=True):
            if not same(w, h):
                problems.append(f"key {key} {name}: online {h!r}, expected {w!r}")
    return problems


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_ms() -> int:
    """Two days ago on a whole hour: every event is in the past (the skew bound only refuses the future)."""
    now = int(time.time() * 1000) - 2 * 24 * 60 * MINUTE_MS
    return now - now % (60 * MINUTE_MS)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("catch_up", [True, False], ids=["catching-up", "emitting-every-interval"])
def test_one_worker_matches_the_reference_at_the_final_watermark(kafka_broker, redis_url, tmp_path, catch_up):
    """Two-day-old events: by default the worker is catching up (emits at checkpoints and idle polls); with
    ``catch_up_lag=None`` it emits every ``emit_interval`` while they flow, as it does at the stream's head."""
    topic = unique("payments")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    view = spend_view(topic)
    base = start_ms()
    events = make_events(13, 400, list(range(N_KEYS)), base, 180 * MINUTE_MS)
    final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
    produce(kafka_broker, topic, as_payloads([*events, final]))

    config = settings(kafka_broker, redis_url, tmp_path, unique("workers"))
    worker = StreamWorker([view], config if catch_up else StreamSettings(**{**config.__dict__, "catch_up_lag": None}))
    seconds = run_until(worker, lambda w: w.counts["events"] >= len(events) + 1)

    counts = worker.counts
    assert counts["events"] == len(events) + 1, f"consumed {counts['events']} events in {seconds:.1f}s"
    assert counts["accepted"] == len(events) + 1 and counts["dead_letters"] == 0, dict(counts)
    assert worker.events == counts["events"]
    watermark = final["ts"] * 1000 - int(LATENESS.total_seconds() * 1_000_000)
    expected = expected_vectors(view, [*events, final], watermark)
    assert len(expected) == N_KEYS, "every key but the final one has closed windows"
    got = online_vectors(view, redis_url, [*range(N_KEYS), FINAL_KEY])
    assert not mismatches(expected, got, [f.name for f in view.features])
    assert counts["values_written"] > 0 and counts["windows_emitted"] > 0
    store = open_online_store({"url": redis_url})
    try:
        assert store.newest(PROJECT, [view.name])[view.name] == max(ts for ts, _ in expected.values())
    finally:
        store.close()


def consume_all(broker: Broker, topic: str, expect: int, bound_s: float = 30.0) -> list[tuple[bytes | None, Any]]:
    """Read ``topic`` from the start until ``expect`` JSON records arrived (or ``bound_s``): ``(key, value)``."""
    from confluent_kafka import Consumer

    consumer = Consumer({**kafka_client_config(broker.kafka_section(), "consumer"), "group.id": unique("reader"),
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got: list[tuple[bytes | None, Any]] = []
    deadline = time.monotonic() + bound_s
    try:
        while len(got) < expect and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=100, timeout=0.2):
                assert msg.error() is None, msg.error()
                got.append((msg.key(), json.loads(msg.value())))
    finally:
        consumer.close()
    return got


@pytest.mark.timeout(180)
def test_bad_and_late_events_are_dead_lettered_counted_and_the_worker_goes_on(kafka_broker, redis_url, tmp_path):
    topic = unique("payments")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    view = spend_view(topic)
    base = start_ms()
    events = make_events(7, 200, list(range(8)), base, 120 * MINUTE_MS)
    future_ms = int(time.time() * 1000) + 24 * 60 * MINUTE_MS
    bad: list[tuple[str, bytes | None, bytes]] = [
        ("malformed", b"1", b"{not json"),
        ("malformed", b"1", b"[1, 2]"),
        ("missing_key", None, json.dumps({"ts": base, "amount": 1.0}).encode()),
        ("wrong_type", b"x", json.dumps({"user_id": "x", "ts": base, "amount": 1.0}).encode()),
        ("wrong_type", b"1", json.dumps({"user_id": 1, "ts": base, "amount": "lots"}).encode()),
        ("wrong_type", b"1", json.dumps({"user_id": 1, "ts": True, "amount": 1.0}).encode()),
        ("missing_timestamp", b"1", json.dumps({"user_id": 1, "amount": 1.0}).encode()),
        ("before_epoch", b"1", json.dumps({"user_id": 1, "ts": -5000, "amount": 1.0}).encode()),
        ("future", b"2", json.dumps({"user_id": 2, "ts": future_ms, "amount": 1.0}).encode()),
    ]
    payloads = as_payloads(events)
    # the bad ones early (a future event accepted there would make most later events late), then late ones
    mixed: list[tuple[bytes | None, bytes]] = payloads[:20] + [(k, v) for _, k, v in bad] + payloads[20:]
    late = [{"user_id": 3, "ts": base, "amount": 5.0}, {"user_id": 4, "ts": base + 30 * MINUTE_MS, "amount": 5.0}]
    final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
    mixed += as_payloads(late) + as_payloads([final])
    produce(kafka_broker, topic, mixed)

    from aquifer.registry import Registry
    from aquifer.runs.stream import StreamMetrics, StreamRecorder

    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    worker = StreamWorker([view], settings(kafka_broker, redis_url, tmp_path, unique("workers")),
                          listeners=[StreamRecorder(registry, PROJECT, every_s=0.0)])
    metrics = StreamMetrics(worker)
    port = free_port()
    server = metrics.serve(port)
    try:
        run_until(worker, lambda w: w.counts["events"] >= len(mixed))
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        server.shutdown()

    counts = worker.counts
    reasons = [reason for reason, _, _ in bad] + ["late"] * len(late)
    (record,) = registry.runs(PROJECT, kind="stream")
    assert (record.status, record.rows_in, record.details["late"]) == ("succeeded", len(mixed), len(late))
    assert record.details["dead_letters"] == {r: reasons.count(r) for r in set(reasons)}
    assert record.details["partitions"]["0"]["offset"] == len(mixed) - 1
    assert f'aquifer_stream_late_events_total{{view="spend"}} {float(len(late))}' in scraped, scraped
    assert 'aquifer_stream_dead_letters_total{reason="malformed",view="spend"} 2.0' in scraped, scraped
    assert f'aquifer_stream_accepted_events_total{{view="spend"}} {float(len(events) + 1)}' in scraped
    assert counts["events"] == len(mixed) and counts["accepted"] == len(events) + 1, dict(counts)
    assert counts["dead_letters"] == len(reasons)
    assert {k: v for k, v in counts.items() if k.startswith("dead_letter.")} == {
        f"dead_letter.{r}": reasons.count(r) for r in set(reasons)}
    letters = consume_all(kafka_broker, f"{topic}.dead-letter", len(reasons))
    assert [letter["reason"] for _, letter in letters] == reasons
    originals = [v.decode() for _, _, v in bad] + [json.dumps(wire(e, i)) for i, e in enumerate(late)]
    assert [letter["payload"] for _, letter in letters] == originals
    assert all(letter["detail"] and letter["topic"] == topic and letter["view"] == "spend" for _, letter in letters)
    assert "closed at watermark" in letters[-1][1]["detail"] or "before watermark" in letters[-1][1]["detail"]

    watermark = final["ts"] * 1000 - int(LATENESS.total_seconds() * 1_000_000)
    expected = expected_vectors(view, [*events, final], watermark)
    got = online_vectors(view, redis_url, [*range(8), FINAL_KEY])
    assert not mismatches(expected, got, [f.name for f in view.features])


@pytest.mark.timeout(120)
def test_a_changed_view_gets_a_new_default_group_and_old_state_is_refused_clearly(kafka_broker, redis_url, tmp_path):
    from dataclasses import replace

    from aquifer.engines.stream.worker import StreamError, default_group

    topic = unique("payments")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    view = spend_view(topic)
    changed = replace(view, aggregations=(Aggregation("amount", "max", Tumbling(timedelta(minutes=10))),))
    assert default_group(PROJECT, [view]) != default_group(PROJECT, [changed])
    assert default_group(PROJECT, [view]) == default_group(PROJECT, [spend_view(topic)])
    import aquifer.engines.stream.worker as worker_module

    current = default_group(PROJECT, [view])
    worker_module.STATE_VERSION += 1  # a new state format: a new group, never old bytes read by new code
    try:
        assert default_group(PROJECT, [view]) != current
    finally:
        worker_module.STATE_VERSION -= 1

    events = make_events(1, 5, [1], start_ms(), 10 * MINUTE_MS)
    produce(kafka_broker, topic, as_payloads(events))
    group = unique("workers")
    worker = StreamWorker([view], settings(kafka_broker, redis_url, tmp_path / "a", group))
    run_until(worker, lambda w: w.counts["events"] >= len(events))
    produce(kafka_broker, topic, as_payloads(events[:1]))
    again = StreamWorker([changed], settings(kafka_broker, redis_url, tmp_path / "b", group))
    with pytest.raises(StreamError, match="does not fit its aggregations"):
        run_until(again, lambda w: w.counts["events"] >= 1)


@pytest.mark.timeout(180)
def test_windows_wait_for_an_unreachable_online_store(kafka_broker, tmp_path):
    """Redis frozen (SIGSTOP) while windows close: checkpoints back off and replay, nothing is lost or doubled."""
    import signal
    import socket
    import subprocess

    from aquifer.stream_broker import free_port

    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                              "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    topic = unique("payments")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    view = spend_view(topic)
    events = make_events(21, 300, list(range(8)), start_ms(), 120 * MINUTE_MS)
    first, second = events[:150], events[150:]
    final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
    lateness_us = int(LATENESS.total_seconds() * 1_000_000)
    features = [f.name for f in view.features]
    worker = StreamWorker([view], settings(kafka_broker, url, tmp_path, unique("workers")))
    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            keys = [*range(8), FINAL_KEY]
            produce(kafka_broker, topic, as_payloads(first))
            want = expected_vectors(view, first, max(e["ts"] for e in first) * 1000 - lateness_us)
            deadline = time.monotonic() + 60
            while mismatches(want, online_vectors(view, url, keys), features) and time.monotonic() < deadline:
                time.sleep(0.3)
            redis.send_signal(signal.SIGSTOP)
            produce(kafka_broker, topic, as_payloads([*second, final]))
            deadline = time.monotonic() + 30
            while worker.counts["online_unavailable"] < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            redis.send_signal(signal.SIGCONT)
            want = expected_vectors(view, [*events, final], final["ts"] * 1000 - lateness_us)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                outcome["problems"] = mismatches(want, online_vectors(view, url, keys), features)
                if not outcome["problems"]:
                    break
                time.sleep(0.3)
        finally:
            redis.send_signal(signal.SIGCONT)
            worker.stop()

    driver = threading.Thread(target=drive)
    try:
        driver.start()
        run_until(worker, lambda w: False, bound_s=150)
        driver.join(10)
    finally:
        redis.kill()
        redis.wait(10)
    assert worker.counts["online_unavailable"] >= 2, dict(worker.counts)
    assert outcome.get("problems") == [], outcome


@pytest.mark.timeout(240)
def test_the_worker_rides_out_an_unreachable_broker(redis_url, tmp_path):
    """The broker frozen (SIGSTOP) for longer than the group's session timeout while events wait: the worker
    neither exits nor loses or doubles anything; once the broker answers it rejoins and catches up."""
    import signal

    from aquifer.stream_broker import LocalBroker

    with LocalBroker() as broker:  # its own: freezing the session broker would stall other tests' clients
        process = broker.process
        assert process is not None
        topic = unique("payments")
        broker.create_topic(topic)
        broker.create_topic(f"{topic}.dead-letter")
        view = spend_view(topic)
        events = make_events(31, 300, list(range(8)), start_ms(), 120 * MINUTE_MS)
        first, second = events[:150], events[150:]
        final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
        lateness_us = int(LATENESS.total_seconds() * 1_000_000)
        features, keys = [f.name for f in view.features], [*range(8), FINAL_KEY]
        worker = StreamWorker([view], settings(broker, redis_url, tmp_path, unique("workers")))
        outcome: dict[str, Any] = {}

        def drive() -> None:
            try:
                produce(broker, topic, as_payloads(first))
                deadline = time.monotonic() + 60
                while worker.counts["events"] < len(first) and time.monotonic() < deadline:
                    time.sleep(0.2)
                outcome["before"] = worker.counts["events"]
                process.send_signal(signal.SIGSTOP)
                time.sleep(10)  # beyond session.timeout.ms (6 s): the group must be joined again
                process.send_signal(signal.SIGCONT)
                produce(broker, topic, as_payloads([*second, final]))
                want = expected_vectors(view, [*events, final], final["ts"] * 1000 - lateness_us)
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    outcome["problems"] = mismatches(want, online_vectors(view, redis_url, keys), features)
                    if not outcome["problems"]:
                        break
                    time.sleep(0.3)
            finally:
                process.send_signal(signal.SIGCONT)
                worker.stop()

        driver = threading.Thread(target=drive)
        driver.start()
        run_until(worker, lambda w: False, bound_s=200)
        driver.join(10)
    assert outcome.get("before") == len(first), outcome
    assert outcome.get("problems") == [], outcome
    assert worker.counts["accepted"] >= len(events) + 1, dict(worker.counts)  # replays allowed, values exact
    print("after the freeze:", dict(worker.counts))


@pytest.mark.timeout(180)
def test_windows_the_last_events_closed_are_written_while_the_stream_is_idle(kafka_broker, redis_url, tmp_path):
    """With no checkpoint in sight (commit every 10 minutes) and no event after the last ones, the windows they
    closed still reach the online store within a few emit intervals: emission is checked after every poll."""
    topic = unique("payments")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    view = spend_view(topic)
    events = make_events(17, 200, list(range(N_KEYS)), start_ms(), 120 * MINUTE_MS)
    final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
    produce(kafka_broker, topic, as_payloads([*events, final]))
    watermark = final["ts"] * 1000 - int(LATENESS.total_seconds() * 1_000_000)
    expected = expected_vectors(view, [*events, final], watermark)
    keys = [*range(N_KEYS), FINAL_KEY]
    config = settings(kafka_broker, redis_url, tmp_path, unique("workers"))
    worker = StreamWorker([view], StreamSettings(**{**config.__dict__, "commit_interval": 600.0}))
    seen: dict[str, Any] = {}

    def watch() -> None:
        bound = time.monotonic() + 60
        while time.monotonic() < bound and "at" not in seen:
            if worker.counts["events"] == len(events) + 1:
                seen.setdefault("idle_from", time.monotonic())
                if not mismatches(expected, online_vectors(view, redis_url, keys), [f.name for f in view.features]):
                    seen["at"] = time.monotonic()
                    seen["committed"] = worker.report()[view.name]["partitions"]["0"]["offset"]
            time.sleep(0.05)
        worker.stop()  # the stop's checkpoint would write them too: the watcher has looked already

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run_until(worker, lambda w: False)
    watcher.join(10)
    assert "at" in seen, "the closed windows were not written before the worker stopped"
    assert seen["committed"] is None  # no checkpoint was flushed before they were readable
