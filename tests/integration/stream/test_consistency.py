"""``aquifer consistency`` on a real broker and real Redis: a StreamWorker's online values against the batch rules
over the events it accepted, landed through ``EventLanding``.

The worker lands the accepted events itself (the malformed and the late event went to the dead-letter topic),
checkpoint by checkpoint: the landed rows are exactly the accepted events. Then: no mismatch (exit 0); a corrupted
online value is reported for its feature and key (exit 1); an event dropped from the landed files is reported for the
window it was in; misuse exits 2. Redis: this module's own db (``redis_url``: db 5, no other test module's).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_worker import (
    FINAL_KEY,
    MINUTE_MS,
    as_payloads,
    make_events,
    produce,
    run_until,
    start_ms,
    unique,
)
from typer.testing import CliRunner

from aquifer.aggregations import compute_windows
from aquifer.cli import _register, app
from aquifer.engines.stream.consistency import check_consistency, iso
from aquifer.engines.stream.landing import EventLanding
from aquifer.engines.stream.worker import StreamSettings, StreamWorker
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.interface import open_online_store
from aquifer.stores.online.keys import entity_group

pytestmark = pytest.mark.redis

PROJECT = "consistency"
FEATURES = """
from datetime import timedelta

from aquifer.definitions import (Aggregation, AggregationView, BatchSource, Entity, Field, KafkaSource, Session,
                                 Sliding, Tumbling)
from aquifer.definitions.types import Float64, Int64

user = Entity("user", join_keys=["user_id"])
landed = BatchSource("landed", path="data/payments", timestamp_field="ts")
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
unlanded = AggregationView("unlanded", entities=[user], source=KafkaSource("clicks", topic="clicks"),
                           aggregations=[Aggregation("n", "count", Tumbling(timedelta(minutes=10)))])
"""


def write_repo(root: Path, topic: str, redis_url: str, kafka: dict[str, Any]) -> None:
    root.mkdir(parents=True)
    (root / "aquifer.yaml").write_text(json.dumps({  # JSON is YAML
        "project": PROJECT, "online_store": {"url": redis_url}, "kafka": kafka,
    }))
    (root / "features.py").write_text(textwrap.dedent(FEATURES).replace("TOPIC", repr(topic)))


def cli(*args: str) -> Any:
    _register()
    return CliRunner().invoke(app, ["consistency", *args])


def drop_landed_event(landing: EventLanding, user_id: int, ts_ms: int) -> None:
    """Rewrite the landed file holding the event without it."""
    for landed in landing.landed_files():
        table = pq.read_table(landed.path)
        hit = pc.and_(pc.equal(table["user_id"], user_id),
                      pc.equal(pc.cast(table["ts"], "int64"), ts_ms * 1000))
        if pc.any(hit).as_py():
            kept = table.filter(pc.invert(hit))
            assert kept.num_rows == table.num_rows - 1
            pq.write_table(kept, landed.path)
            return
    raise AssertionError(f"no landed event of user {user_id} at {ts_ms}")


@pytest.mark.timeout(240)
def test_stream_and_landed_batch_agree_and_disagreements_are_reported(kafka_broker, redis_url, tmp_path):
    from aquifer.sdk.store import FeatureStore

    topic = unique("consistency")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    root = tmp_path / "repo"
    write_repo(root, topic, redis_url, kafka_broker.kafka_section())
    store = FeatureStore(root)
    view = store.views["spend"]

    base = start_ms()
    events = make_events(21, 300, list(range(10)), base, 150 * MINUTE_MS)
    final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
    late = {"user_id": 4, "ts": base, "amount": 7.0}
    payloads = as_payloads(events)
    # offsets are positions: a malformed message at 100, the final event, then one that is late by then
    produced = [*payloads[:100], (b"1", b"{not json"), *payloads[100:], *as_payloads([final]), *as_payloads([late])]
    accepted_at = {i: e for i, e in enumerate([*events[:100], None, *events[100:], final, None]) if e is not None}
    produce(kafka_broker, topic, produced)

    settings = StreamSettings.from_config(store.config, state_dir=tmp_path / "state",
                                          consumer_group=unique("consistency"), commit_interval=0.5, land=True)
    worker = StreamWorker([view], settings)
    run_until(worker, lambda w: w.counts["events"] >= len(produced))
    assert worker.counts["accepted"] == len(accepted_at) and worker.counts["dead_letters"] == 2, dict(worker.counts)

    landing = EventLanding.for_view(view, store.config.root)  # the worker landed them, checkpoint by checkpoint
    assert landing is not None and worker.counts["events_landed"] == len(accepted_at)
    landed = sorted((int(user), int(ts.timestamp() * 1000)) for f in landing.landed_files()
                    for user, ts in zip(*pq.read_table(f.path, columns=["user_id", "ts"]).to_pydict().values(),
                                        strict=True))
    assert landed == sorted((e["user_id"], e["ts"]) for e in accepted_at.values())

    start, end = base * 1000 - 3_600_000_000, final["ts"] * 1000 + 3_600_000_000
    online = open_online_store({"url": redis_url})
    try:
        report = check_consistency(view, root=root, store=online, project=PROJECT,
                                   start=iso_time(start), end=iso_time(end))
        assert report.consistent, "\n".join(report.render())
        assert report.keys_in_range == 10 and report.events_read == len(accepted_at)
        assert all(f.compared == 10 for f in report.features)

        ok = cli("spend", "--start", iso(start), "--end", iso(end), "--repo", str(root))
        assert ok.exit_code == 0, ok.output
        assert ok.output.strip().endswith("consistent") and "amount_sum_capped" in ok.output

        # a different online value, written newer-wins over the stream's
        codec, prefix = ViewCodec.for_view(view), entity_group(view).prefix(PROJECT)
        key = next(k for k in range(10) if read_vector(online, codec, prefix, view.name, k)[1][1] is not None)
        at, values = read_vector(online, codec, prefix, view.name, key)
        values[1] += 1.0
        assert online.write([(prefix + str(key), [(view.name, codec.encode(values, at, at + 1))])]) == 1
        bad = cli("spend", "--start", iso(start), "--end", iso(end), "--json", "--repo", str(root))
        assert bad.exit_code == 1, bad.output
        data = json.loads(bad.output)
        assert data["consistent"] is False and data["mismatches"] == 1
        (sliding,) = [f for f in data["features"] if f["mismatches"]]
        assert sliding["feature"] == "amount_sum_30m_every_10m"
        assert [(m["key"], m["event_ts"]) for m in sliding["examples"]] == [(str(key), iso(at))]
        assert sliding["max_abs_diff"] == pytest.approx(1.0)

        # an event missing from the landed files: the sum of the session it ended differs
        other, dropped = event_ending_latest_session(view, online, codec, prefix, accepted_at.values(), skip=key)
        drop_landed_event(landing, other, dropped)
        report = check_consistency(view, root=root, store=online, project=PROJECT,
                                   start=iso_time(start), end=iso_time(end))
    finally:
        online.close()
    flagged = {(f.feature, m.key) for f in report.features for m in f.examples}
    assert ("amount_sum_capped", str(other)) in flagged, "\n".join(report.render())
    assert ("amount_sum_30m_every_10m", str(key)) in flagged

    unknown = cli("nope", "--start", iso(start), "--end", iso(end), "--repo", str(root))
    assert unknown.exit_code == 2 and "no view 'nope'" in unknown.output and "spend" in unknown.output
    unlanded = cli("unlanded", "--start", iso(start), "--end", iso(end), "--repo", str(root))
    assert unlanded.exit_code == 2 and "has no batch_source" in unlanded.output, unlanded.output
    backwards = cli("spend", "--start", iso(end), "--end", iso(start), "--repo", str(root))
    assert backwards.exit_code == 2 and "is not before" in backwards.output


def payload_of(raw: bytes) -> dict[str, Any]:
    return json.loads(raw)


def iso_time(us: int) -> Any:
    from aquifer.times import from_micros

    return from_micros(us)


def read_vector(online: Any, codec: ViewCodec, prefix: str, view: str, key: int) -> tuple[int, list[Any]]:
    ((blob,),) = online.read([(prefix + str(key), [view])])
    decoded = codec.decode(blob)
    assert decoded is not None
    return decoded[0], list(decoded[2])


def event_ending_latest_session(view: Any, online: Any, codec: ViewCodec, prefix: str, accepted: Any,
                                skip: int) -> tuple[int, int]:
    """A key and the last event (time in ms) of its latest emitted capped session, one ended by its gap and
    holding another event: without that event the session keeps its start and loses a positive amount."""
    capped = view.aggregations[3]
    gap_us = int(capped.window.gap.total_seconds() * 1_000_000)
    by_key: dict[int, list[dict[str, Any]]] = {}
    for event in accepted:
        by_key.setdefault(event["user_id"], []).append(event)
    for key in sorted(k for k in by_key if k not in (skip, FINAL_KEY)):
        at, _ = read_vector(online, codec, prefix, view.name, key)
        rows = compute_windows([(e["ts"] * 1000, e.get("amount")) for e in by_key[key]], capped)
        session = max((r for r in rows if r.end <= at), key=lambda r: r.end)
        members = sorted((e for e in by_key[key] if session.start <= e["ts"] * 1000 < session.end),
                         key=lambda e: e["ts"])
        last = members[-1]
        if (len(members) >= 2 and last["ts"] * 1000 + gap_us == session.end and last.get("amount") is not None
                and members[-2]["ts"] != last["ts"]):
            return key, last["ts"]
    raise AssertionError("no key with a latest capped session ended by its gap")
