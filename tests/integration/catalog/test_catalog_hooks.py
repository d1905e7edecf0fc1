"""Catalog hooks on a real repo: a real apply (SQLite registry) and a real Spark batch run, with an OpenLineage file
hook, a DataHub file hook, a webhook to a live local HTTP server, and two failing webhooks (one answers 500, one
port is closed).

Oracles: every emitted OpenLineage event is parsed back into the client's own ``event_v2`` / ``facet_v2`` classes
(their validators check run ids, times, producer and schema URLs; unknown or missing fields raise) and must
serialize to the same JSON; datasets, schemas and column lineage are checked against the repo as written here;
DataHub MCPs against the fields DataHub's models require; webhook bodies as the server received them.
"""

from __future__ import annotations

import json
import socket
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openlineage.client.event_v2 import InputDataset, Job, JobEvent, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_dataset,
    schema_dataset,
    tags_run,
)
from openlineage.client.serde import Serde

from aquifer.sdk.store import FeatureStore

T0 = datetime(2024, 3, 1, tzinfo=UTC)

DEFS = '''
from datetime import timedelta

from aquifer import BatchSource, Entity, FeatureView, Field, sql
from aquifer.types import Bool, Float64, Int64, Timestamp

user = Entity("user", join_keys=["user_id"], key_types=[Int64], description="A customer account")
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts")
missing = BatchSource("missing", path="data/missing.parquet", timestamp_field="event_ts",
                      schema=[Field("user_id", Int64), Field("amount", Float64), Field("event_ts", Timestamp)])

user_spend = FeatureView(
    "user_spend", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount, amount > 1000 AS is_large FROM {transactions}"),
    schema=[Field("amount", Float64, description="Amount in USD"), Field("is_large", Bool)],
    ttl=timedelta(days=30), description="Per-transaction spend", owner="risk@acme.example",
    tags={"domain": "payments"},
)
broken = FeatureView("broken", entities=[user], source=missing, schema=[Field("amount", Float64)])
'''


class Recorder(BaseHTTPRequestHandler):
    """Keeps each POSTed JSON body; answers ``status`` (a class attribute set per server)."""

    status = 200
    bodies: list[Any]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def serve(status: int) -> tuple[ThreadingHTTPServer, list[Any]]:
    bodies: list[Any] = []
    handler = type("Handler", (Recorder,), {"status": status, "bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, bodies


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    ok, ok_bodies = serve(200)
    failing, failing_bodies = serve(500)
    yield {"ok": ok, "ok_bodies": ok_bodies, "failing": failing, "failing_bodies": failing_bodies}
    ok.shutdown()
    failing.shutdown()


@pytest.fixture(scope="module")
def online_url(redis_server_url) -> str:
    """Real Redis on a db of this module's own (emptied first)."""
    import zlib

    import redis

    db = 1 + zlib.crc32(__name__.encode()) % 15
    url = f"{redis_server_url}/{db}" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db={db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(scope="module")
def repo(tmp_path_factory, servers, online_url) -> Path:
    root = tmp_path_factory.mktemp("hooks")
    (root / "features").mkdir()
    (root / "features" / "defs.py").write_text(textwrap.dedent(DEFS))
    (root / "data").mkdir()
    rng = np.random.default_rng(3)
    n = 60
    pd.DataFrame({
        "user_id": rng.integers(0, 10, n),
        "event_ts": pd.to_datetime([T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 600, n)], utc=True),
        "amount": rng.normal(500, 600, n).round(2),
    }).to_parquet(root / "data" / "transactions.parquet")
    ok, failing = servers["ok"].server_address[1], servers["failing"].server_address[1]
    (root / "aquifer.yaml").write_text(textwrap.dedent(f"""\
        project: hooks_test
        registry: 'sqlite:///{root}/.aquifer/registry.db'
        online_store: {{url: '{online_url}'}}
        spark: {{master: 'local[2]', conf: {{spark.sql.shuffle.partitions: 4}}}}
        batch: {{start: '2024-03-01T00:00:00+00:00'}}
        catalog:
          hooks:
            - {{type: openlineage, transport: file, path: lineage/events.jsonl, namespace: acme}}
            - {{type: datahub, path: lineage/datahub.jsonl}}
            - {{type: webhook, name: ok, url: 'http://127.0.0.1:{ok}/hook', headers: {{X-Token: t0k}}}}
            - {{type: webhook, name: answers_500, url: 'http://127.0.0.1:{failing}/hook'}}
            - {{type: webhook, name: down, url: 'http://127.0.0.1:{closed_port()}/hook', timeout_s: 2}}
        """))
    return root


@pytest.fixture(scope="module")
def outcome(repo, spark) -> dict[str, Any]:
    """Apply, one batch run (``user_spend`` succeeds, ``broken`` fails: its source file is missing), then a
    materialization of ``user_spend`` with DuckDB."""
    store = FeatureStore(repo)
    applied = store.apply()
    summary = store.run(end=T0 + timedelta(days=1))
    batch_events = len(events(repo))
    pushed = store.materialize(["user_spend"], end=T0 + timedelta(days=1), engine="duckdb", progress=False)
    return {"store": store, "applied": applied, "summary": summary, "batch_events": batch_events, "pushed": pushed}


def events(repo: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (repo / "lineage" / "events.jsonl").read_text().splitlines()]


# --- parsing back into the OpenLineage client's models ------------------------------------------------------------

FACETS = {
    "schema": lambda d: schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(**f) for f in d.pop("fields")], **d),
    "columnLineage": lambda d: column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={k: column_lineage_dataset.Fields(
            inputFields=[column_lineage_dataset.InputField(**i) for i in v.pop("inputFields")], **v)
            for k, v in d.pop("fields").items()}, **d),
    "documentation": lambda d: documentation_dataset.DocumentationDatasetFacet(**d),
    "ownership": lambda d: ownership_dataset.OwnershipDatasetFacet(
        owners=[ownership_dataset.Owner(**o) for o in d.pop("owners")], **d),
    "jobType": lambda d: job_type_job.JobTypeJobFacet(**d),
    "nominalTime": lambda d: nominal_time_run.NominalTimeRunFacet(**d),
    "errorMessage": lambda d: error_message_run.ErrorMessageRunFacet(**d),
    "tags": lambda d: tags_run.TagsRunFacet(tags=[tags_run.TagsRunFacetFields(**t) for t in d.pop("tags")], **d),
}


def facets(found: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for name, body in (found or {}).items():
        body = dict(body)
        producer, url = body.pop("_producer"), body.pop("_schemaURL")
        facet = FACETS[name](body)  # an unknown facet name or field raises here
        assert facet._producer == producer and facet._schemaURL == url
        out[name] = facet
    return out


def parse(event: dict[str, Any]) -> RunEvent | JobEvent:
    """The event as the client's own classes (every attrs validator runs)."""
    e = json.loads(json.dumps(event))
    job = Job(namespace=e["job"]["namespace"], name=e["job"]["name"], facets=facets(e["job"].get("facets")))
    inputs = [InputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d.get("facets")))
              for d in e.get("inputs", [])]
    outputs = [OutputDataset(namespace=d["namespace"], name=d["name"], facets=facets(d.get("facets")))
               for d in e.get("outputs", [])]
    if "run" in e:
        return RunEvent(eventType=RunState(e["eventType"]), eventTime=e["eventTime"], producer=e["producer"],
                        run=Run(runId=e["run"]["runId"], facets=facets(e["run"].get("facets"))), job=job,
                        inputs=inputs, outputs=outputs)
    return JobEvent(eventTime=e["eventTime"], producer=e["producer"], job=job, inputs=inputs, outputs=outputs)


def test_every_openlineage_event_is_the_clients_own_model(outcome, repo):
    found = events(repo)
    assert found
    for event in found:
        parsed = parse(event)
        assert parsed.schemaURL == event["schemaURL"]
        assert json.loads(Serde.to_json(parsed)) == event  # nothing lost or added by the round trip


def test_apply_emits_a_job_event_per_view_with_static_lineage(outcome, repo):
    jobs = {e["job"]["name"]: e for e in events(repo) if "run" not in e}
    assert set(jobs) == {"hooks_test.user_spend", "hooks_test.broken"}
    spend = jobs["hooks_test.user_spend"]
    assert spend["inputs"][0]["namespace"] == "file"
    assert spend["inputs"][0]["name"] == str((repo / "data" / "transactions.parquet").resolve())
    (out,) = spend["outputs"]
    assert (out["namespace"], out["name"]) == ("acme", "hooks_test.user_spend")
    assert out["facets"]["ownership"]["owners"] == [{"name": "risk@acme.example", "type": "OWNER"}]


def test_run_events_start_then_complete_or_fail_with_datasets_and_facets(outcome, repo):
    summary = outcome["summary"]
    assert summary["user_spend"].status == "succeeded"  # failing hooks did not fail the run
    assert summary["broken"].status == "failed"
    runs: dict[str, list[dict[str, Any]]] = {}
    for e in events(repo)[:outcome["batch_events"]]:
        if "run" in e:
            runs.setdefault(e["job"]["name"], []).append(e)
    spend = runs["hooks_test.user_spend"]
    assert [e["eventType"] for e in spend] == ["START", "COMPLETE"]
    assert spend[0]["run"]["runId"] == spend[1]["run"]["runId"]
    complete = spend[1]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        ("file", str((repo / "data" / "transactions.parquet").resolve()))]
    (out,) = complete["outputs"]
    schema = {f["name"]: f.get("type") for f in out["facets"]["schema"]["fields"]}
    assert schema == {"user_id": "Int64", "event_ts": "Timestamp", "amount": "Float64", "is_large": "Bool"}
    lineage = {col: {(i["name"].rsplit("/", 1)[-1], i["field"]) for i in v["inputFields"]}
               for col, v in out["facets"]["columnLineage"]["fields"].items()}
    # SELECT user_id, event_ts, amount, amount > 1000 AS is_large FROM {transactions}
    assert lineage["amount"] == {("transactions.parquet", "amount")}
    assert lineage["is_large"] == {("transactions.parquet", "amount")}
    assert lineage["user_id"] == {("transactions.parquet", "user_id")}
    nominal = complete["run"]["facets"]["nominalTime"]
    assert nominal["nominalStartTime"].startswith("2024-03-01")
    broken = runs["hooks_test.broken"]
    assert [e["eventType"] for e in broken] == ["START", "FAIL"]
    assert "missing.parquet" in broken[1]["run"]["facets"]["errorMessage"]["message"]


def test_failing_hooks_are_counted_and_never_fail_the_apply_or_run(outcome):
    store = outcome["store"]
    assert outcome["applied"].version == 1
    failures = store.catalog_hooks.failures
    # one apply and six run notices (two per view run, materialization included): each failing webhook failed each
    assert failures[("answers_500", "apply")] == 1 and failures[("down", "apply")] == 1
    assert failures[("answers_500", "run")] == 6 and failures[("down", "run")] == 6
    assert not any(name in ("ok", "openlineage#0", "datahub#1") for name, _ in failures)
    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("aquifer_catalog_hook_failures_total",
                                     {"hook": "down", "event": "run"}) >= 6
    recorded = store.registry.runs("hooks_test", view="user_spend")
    assert sorted((r.kind, r.status) for r in recorded) == [("batch", "succeeded"), ("materialize", "succeeded")]
    assert outcome["pushed"][0].written > 0


def test_webhook_receives_apply_and_run_bodies(outcome, servers):
    bodies = servers["ok_bodies"]
    apply_body = next(b for b in bodies if b["event"] == "apply")
    assert apply_body["project"] == "hooks_test" and apply_body["version"] == 1
    assert sorted(apply_body["changes"]["added"]) == ["broken", "missing", "transactions", "user", "user_spend"]
    runs = [(b["view"], b["kind"], b["state"]) for b in bodies if b["event"] == "run"]
    assert sorted(runs) == [("broken", "batch", "FAIL"), ("broken", "batch", "START"),
                            ("user_spend", "batch", "COMPLETE"), ("user_spend", "batch", "START"),
                            ("user_spend", "materialize", "COMPLETE"), ("user_spend", "materialize", "START")]
    complete = next(b for b in bodies if b.get("state") == "COMPLETE" and b["kind"] == "batch")
    recorded = outcome["store"].registry.runs("hooks_test", view="user_spend", kind="batch")
    assert complete["registry_run_ids"] == [r.id for r in recorded]
    assert complete["rows_out"] == sum(r.rows_out for r in recorded) > 0
    assert len(servers["failing_bodies"]) == 7  # the 500 server was asked each time


def test_materialization_reads_the_view_and_writes_its_online_table(outcome, repo, online_url):
    found = [e for e in events(repo)[outcome["batch_events"]:] if "run" in e]
    assert [e["eventType"] for e in found] == ["START", "COMPLETE"]
    assert found[0]["job"]["facets"]["jobType"]["jobType"] == "MATERIALIZE"
    (source,), (target,) = found[1]["inputs"], found[1]["outputs"]
    assert (source["namespace"], source["name"]) == ("acme", "hooks_test.user_spend")
    host_port = online_url.split("//", 1)[1].rsplit("/", 1)[0]
    assert (target["namespace"], target["name"]) == (f"redis://{host_port}", "hooks_test.user_spend")
    lineage = target["facets"]["columnLineage"]["fields"]
    assert lineage["amount"]["inputFields"] == [{"namespace": "acme", "name": "hooks_test.user_spend",
                                                 "field": "amount", "transformations": []}]


def test_datahub_proposals_carry_what_datahub_requires(outcome, repo):
    mcps = [json.loads(line) for line in (repo / "lineage" / "datahub.jsonl").read_text().splitlines()]
    for mcp in mcps:
        assert set(mcp) == {"entityType", "entityUrn", "changeType", "aspectName", "aspect"}
        assert mcp["changeType"] == "UPSERT" and set(mcp["aspect"]) == {"json"}
        assert mcp["entityUrn"].startswith(f"urn:li:{mcp['entityType']}:")
    by = {(m["entityUrn"], m["aspectName"]): m["aspect"]["json"] for m in mcps}
    urn = "urn:li:mlFeatureTable:(urn:li:dataPlatform:aquifer,hooks_test.user_spend)"
    table = by[(urn, "mlFeatureTableProperties")]
    assert table["mlFeatures"] == ["urn:li:mlFeature:(hooks_test.user_spend,amount)",
                                   "urn:li:mlFeature:(hooks_test.user_spend,is_large)"]
    assert table["mlPrimaryKeys"] == ["urn:li:mlPrimaryKey:(hooks_test.user,user_id)"]
    assert table["description"] == "Per-transaction spend"
    source = f"urn:li:dataset:(urn:li:dataPlatform:file,{(repo / 'data' / 'transactions.parquet').resolve()},PROD)"
    amount = by[("urn:li:mlFeature:(hooks_test.user_spend,amount)", "mlFeatureProperties")]
    assert amount == {"dataType": "CONTINUOUS", "description": "Amount in USD", "sources": [source]}
    key = by[("urn:li:mlPrimaryKey:(hooks_test.user,user_id)", "mlPrimaryKeyProperties")]
    assert key["dataType"] == "ORDINAL" and source in key["sources"]  # sources is required for primary keys
    owners = by[(urn, "ownership")]
    assert owners["owners"] == [{"owner": "urn:li:corpuser:risk@acme.example", "type": "DATAOWNER"}]
    tags = by[(urn, "globalTags")]
    assert tags == {"tags": [{"tag": "urn:li:tag:domain:payments"}]}
