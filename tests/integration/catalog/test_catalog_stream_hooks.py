"""Catalog hooks hear stream runs too: a real worker on a real broker, its START and COMPLETE as OpenLineage run
events (parsed back into the client's models) and as webhook bodies."""

from __future__ import annotations

import json
import textwrap
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from test_catalog_hooks import parse, serve

from aquifer.engines.stream.worker import StreamSettings, StreamWorker
from aquifer.sdk import catalog_hooks
from aquifer.sdk.store import FeatureStore

DEFS = '''
from datetime import timedelta

from aquifer import Aggregation, AggregationView, Entity, Field, KafkaSource, Tumbling
from aquifer.types import Float64, Int64

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
payments = KafkaSource("payments", topic="{topic}", timestamp_field="ts", timestamp_unit="ms",
                       schema=[Field("user_id", Int64), Field("amount", Float64), Field("ts", Int64)])
spend = AggregationView("spend", entities=[user], source=payments, allowed_lateness=timedelta(minutes=1),
                        aggregations=[Aggregation("amount", "sum", Tumbling(timedelta(minutes=5)))])
'''


def test_a_stream_run_is_told_to_every_hook(tmp_path: Path, kafka_broker, redis_url):
    from confluent_kafka import Producer

    from aquifer.engines.stream import kafka_client_config

    topic = f"payments-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    server, bodies = serve(200)
    servers = kafka_broker.kafka_section()["bootstrap_servers"]
    (tmp_path / "features.py").write_text(textwrap.dedent(DEFS.format(topic=topic)))
    (tmp_path / "aquifer.yaml").write_text(textwrap.dedent(f"""\
        project: stream_hooks
        registry: 'sqlite:///{tmp_path}/registry.db'
        online_store: {{url: '{redis_url}'}}
        kafka: {{bootstrap_servers: '{servers}'}}
        catalog:
          hooks:
            - {{type: openlineage, transport: file, path: lineage/events.jsonl, namespace: acme}}
            - {{type: webhook, name: ok, url: 'http://127.0.0.1:{server.server_address[1]}/hook'}}
        """))
    store = FeatureStore(tmp_path)
    store.apply()
    producer = Producer(kafka_client_config(kafka_broker.kafka_section(), "producer"))
    for i in range(20):
        producer.produce(topic, key=str(i % 3).encode(),
                         value=json.dumps({"user_id": i % 3, "ts": 1_700_000_000_000 + i * 60_000,
                                           "amount": float(i)}).encode())
    assert producer.flush(30) == 0
    settings = StreamSettings(kafka=kafka_broker.kafka_section(), online_store={"url": redis_url},
                              project="stream_hooks", state_dir=tmp_path / "state", max_skew=timedelta(days=1))
    worker = StreamWorker([store.views["spend"]], settings, listeners=catalog_hooks.stream_listeners(store))
    watchdog = threading.Timer(90, worker.stop)
    watchdog.start()
    try:
        worker.run(stop_when=lambda w: w.events >= 20)
    finally:
        watchdog.cancel()
        server.shutdown()

    events = [json.loads(line) for line in (tmp_path / "lineage" / "events.jsonl").read_text().splitlines()]
    runs = [e for e in events if "run" in e and e["job"]["name"] == "stream_hooks.spend"
            and e["job"]["facets"]["jobType"]["processingType"] == "STREAMING"]
    assert [e["eventType"] for e in runs] == ["START", "COMPLETE"]
    assert runs[0]["run"]["runId"] == runs[1]["run"]["runId"]
    for event in runs:
        parse(event)  # the client's own models accept it
        assert {(d["namespace"], d["name"]) for d in event["inputs"]} == {(f"kafka://{servers.split(',')[0]}", topic)}
        assert [d["name"] for d in event["outputs"]] == ["stream_hooks.spend"]
    told = [b for b in bodies if b.get("event") == "run"]
    assert [(b["view"], b["kind"], b["state"]) for b in told] == [("spend", "stream", "START"),
                                                                   ("spend", "stream", "COMPLETE")]
    assert told[1]["rows_in"] == 20 and told[1]["error"] is None
    assert store.catalog_hooks.failures == {}
