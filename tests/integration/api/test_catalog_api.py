"""The discovery routes (``aquifer.api.catalog``) against a real registry (SQLite; PostgreSQL too for the tests
marked ``BOTH_REGISTRIES``, each in a schema of its own) and real Redis.

The repo is applied, its ``user_spend`` rows written to the offline store as Parquet and materialized with
DuckDB (a real run record, statistics of the pushed rows, the newest-value bookkeeping in Redis), then validated
with DuckDB (a real validation result); one drift result is added by hand. Oracles: the repo's own definition
objects (loaded from the checkout, filtered here independently of the route's code), pandas over the rows
written, and hand-derived lineage sets.
"""

from __future__ import annotations

import socket
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from aquifer import InRange
from aquifer.api import create_app
from aquifer.api.auth import hash_api_key
from aquifer.sdk.store import FeatureStore
from aquifer.stores.offline.layout import view_path

pytestmark = pytest.mark.redis

T0 = datetime(2024, 3, 1, tzinfo=UTC)
USERS = 40
KEY = "catalog-s3cret"

DEFS = '''
from datetime import timedelta

from aquifer import (Aggregation, AggregationView, BatchSource, Entity, FeatureService, FeatureView, Field, InRange,
                     InSet, KafkaSource, Quality, Tumbling, feature_view, sql)
from aquifer.types import Bool, Float64, Int64, String, Timestamp

user = Entity("user", join_keys=["user_id"], key_types=[Int64], description="A customer account",
              owner="risk@acme.example")
merchant = Entity("merchant", join_keys=["merchant_id"], key_types=[Int64])

transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           description="Card transactions, landed hourly", owner="payments@acme.example")
transaction_events = KafkaSource("transaction_events", topic="transactions", timestamp_field="event_ts",
                                 format="json", batch_source=transactions,
                                 schema=[Field("user_id", Int64), Field("amount", Float64),
                                         Field("event_ts", Timestamp)])
merchants = BatchSource("merchants", path="data/merchants.parquet", timestamp_field="event_ts")

user_spend = FeatureView(
    "user_spend", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount, amount > 1000 AS is_large, country FROM {transactions}"),
    schema=[Field("amount", Float64, default=0.0, expect=[InRange(min=0)], description="Amount in USD"),
            Field("is_large", Bool, default=False, description="Over a thousand"),
            Field("country", String, default="unknown", expect=[InSet(["US", "GB"], mostly=0.5)])],
    quality=Quality(policy="warn"), ttl=timedelta(days=30), freshness=timedelta(hours=2),
    description="Per-transaction spend facts", owner="risk@acme.example", tags={"domain": "payments", "tier": "gold"},
)
merchant_risk = FeatureView(
    "merchant_risk", entities=[merchant], source=merchants,
    schema=[Field("category", String, default="other"), Field("risk_score", Float64, default=0.5,
                                                               description="Chargeback likelihood")],
    ttl=timedelta(days=7), description="Latest merchant risk snapshot", tags={"domain": "merchants"},
)


@feature_view(entities=[user], schema=[Field("amount_log", Float64, default=0.0)], ttl=timedelta(days=30),
              tags={"domain": "payments"}, owner="ml@acme.example")
def user_spend_shape(user_spend):
    """Log-scaled amount."""
    from pyspark.sql import functions as F

    return user_spend.select("user_id", "event_ts", F.log1p("amount").alias("amount_log"))


user_txn_windows = AggregationView(
    "user_txn_windows", entities=[user], source=transaction_events,
    aggregations=[Aggregation("amount", "count", Tumbling("1h"))], freshness=timedelta(minutes=30),
    ttl=timedelta(days=2), description="Recent spending velocity", owner="risk@acme.example",
    tags={"domain": "payments"},
)

EXTRA = [FeatureView(f"extra_{i:02d}", entities=[user], source=transactions,
                     schema=[Field(f"x{i}", Float64, description="payment ratio" if i % 3 == 0 else "")],
                     owner=["risk@acme.example", "ml@acme.example"][i % 2], tags={"tier": ["gold", "silver"][i % 2]})
         for i in range(9)]
for _view in EXTRA:
    globals()[_view.name] = _view

fraud_model_v1 = FeatureService("fraud_model_v1", features=[user_spend[["amount", "is_large"]], user_spend_shape,
                                                            merchant_risk[["risk_score"]]],
                                description="Features of the card-fraud model", owner="risk@acme.example")
'''


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_repo(root: Path, redis_url: str, api: str = "", defs: str = DEFS, registry: str | None = None) -> Path:
    """The repo under ``root``: ``DEFS``, a SQLite registry in it (or ``registry``), Redis at ``redis_url``."""
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "features" / "defs.py").write_text(textwrap.dedent(defs))
    (root / "aquifer.yaml").write_text(
        "project: catalog_test\n"
        f"registry: '{registry or f'sqlite:///{root}/.aquifer/registry.db'}'\n"
        f"online_store: {{url: '{redis_url}', timeout_ms: 200}}\n"
        + (f"api: {api}\n" if api else "")
    )
    return root


def offline_rows() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = USERS * 3
    event = [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 20 * 60, n)]
    amount = rng.normal(300, 400, n).round(2)  # some negative: InRange(min=0) fails on them
    return pd.DataFrame({
        "user_id": rng.integers(0, USERS, n), "event_ts": pd.to_datetime(event, utc=True),
        "amount": amount, "is_large": amount > 1000, "country": rng.choice(["US", "GB", "FR"], n),
    })


def write_offline(store: FeatureStore, df: pd.DataFrame) -> None:
    folder = view_path(store.config.offline_path, store.config.project, "user_spend") / "event_date=2024-03-01"
    folder.mkdir(parents=True)
    table = pa.Table.from_pandas(df.assign(created_ts=df["event_ts"]), preserve_index=False)
    pq.write_table(table, folder / "part-0.parquet", coerce_timestamps="us")


@pytest.fixture
def registry_url(request, tmp_path) -> Iterator[str | None]:
    """None (SQLite in the repo), or with ``postgres`` as the test's parameter a PostgreSQL registry in a schema
    of its own (``search_path``), dropped afterwards."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    import sqlalchemy

    base = request.getfixturevalue("postgres_url")
    schema = f"catalog_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{base}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        tables = conn.execute(sqlalchemy.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                                              ":s AND table_name LIKE 'aq_%'"), {"s": schema}).scalar()
        conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
    assert tables, "the registry's tables were not in the test's schema"
    engine.dispose()


BOTH_REGISTRIES = pytest.mark.parametrize("registry_url", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def repo(tmp_path, redis_url, registry_url) -> Iterator[tuple[FeatureStore, pd.DataFrame]]:
    """The applied repo with user_spend materialized (DuckDB) and validated, and one drift result."""
    store = FeatureStore(write_repo(tmp_path / "repo", redis_url, registry=registry_url))
    assert store.registry.url.startswith("sqlite" if registry_url is None else "postgresql")
    store.apply()
    df = offline_rows()
    write_offline(store, df)
    store.materialize(["user_spend"], end=T0 + timedelta(days=1), engine="duckdb", progress=False)
    store.validate("user_spend")
    store.registry.add_drift_result(store.config.project, "user_spend", "amount", "t-1",
                                    {"psi": 0.31, "psi_threshold": 0.2}, True)
    yield store, df
    store.close()


def client(store: FeatureStore) -> TestClient:
    return TestClient(create_app(store, freshness_check_s=0))


# ---- search ---------------------------------------------------------------------------------------------------


def oracle(store: FeatureStore, q: str = "", tag: str | None = None, owner: str | None = None) -> list[str]:
    """Names of the checkout's views matching, filtered here from the definition objects themselves."""
    out = []
    for v in store.views.values():
        words = [v.name, v.description or ""] + [x for f in v.features for x in (f.name, f.description or "")]
        text = " ".join(words).lower()
        if any(w not in text for w in q.lower().split()):
            continue
        if tag is not None:
            key, _, value = tag.partition(":")
            if key not in v.tags or (":" in tag and v.tags[key] != value):
                continue
        if owner is not None and (v.owner or "").lower() != owner.lower():
            continue
        out.append(v.name)
    return sorted(out)


@BOTH_REGISTRIES
@pytest.mark.parametrize("params", [
    {}, {"q": "payment"}, {"q": "AMOUNT"}, {"q": "ratio payment"}, {"q": "usd"}, {"tag": "domain"},
    {"tag": "tier:gold"}, {"tag": "domain:payments"}, {"owner": "RISK@acme.example"},
    {"q": "spend", "tag": "domain:payments", "owner": "risk@acme.example"}, {"q": "'; DROP TABLE aq_runs; --"},
])
def test_search_matches_an_independent_filter_with_pagination(repo, params):
    store, _ = repo
    expected = oracle(store, **params)
    with client(store) as c:
        seen, offset = [], 0
        while True:
            body = c.get("/api/v1/feature-views", params={**params, "limit": 3, "offset": offset}).json()
            assert body["total"] == len(expected) and body["limit"] == 3 and body["offset"] == offset
            seen += [item["name"] for item in body["items"]]
            offset += 3
            if offset >= body["total"]:
                break
        assert seen == expected
        assert c.get("/api/v1/feature-views", params={**params, "offset": 1000}).json()["items"] == []
    if not params:
        assert len(expected) == 13  # every view kind: feature views, the decorated one, the aggregation view


def test_search_item_fields(repo):
    store, _ = repo
    with client(store) as c:
        items = {i["name"]: i for i in c.get("/api/v1/feature-views", params={"limit": 100}).json()["items"]}
    spend, windows = items["user_spend"], items["user_txn_windows"]
    v = store.views["user_spend"]
    assert (spend["kind"], spend["description"], spend["owner"], spend["tags"], spend["version"]) == (
        "feature_view", v.description, v.owner, dict(v.tags), 1)
    assert spend["freshness_s"] == 7200.0
    assert spend["features"] == [{"name": f.name, "dtype": f.dtype.name, "description": f.description or None}
                                 for f in v.features]
    assert windows["kind"] == "aggregation_view" and windows["freshness_s"] == 1800.0
    assert [f["name"] for f in windows["features"]] == [f.name for f in store.views["user_txn_windows"].features]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 5000}, {"offset": -1}, {"tag": ":x"}, {"limit": "a"}])
def test_bad_search_parameters_are_422(repo, params):
    with client(repo[0]) as c:
        assert c.get("/api/v1/feature-views", params=params).status_code == 422


# ---- a view ---------------------------------------------------------------------------------------------------


@BOTH_REGISTRIES
def test_view_detail_equals_the_definitions_and_what_was_observed(repo):
    store, df = repo
    v = store.views["user_spend"]
    with client(store) as c:
        body = c.get("/api/v1/feature-views/user_spend").json()
        shape = c.get("/api/v1/feature-views/user_spend_shape").json()
    assert (body["name"], body["kind"], body["description"], body["owner"], body["tags"]) == (
        v.name, "feature_view", v.description, v.owner, dict(v.tags))
    assert body["entities"] == [{"name": "user", "join_keys": ["user_id"], "key_types": ["Int64"]}]
    assert body["source"] == {"kind": "batch_source", "name": "transactions"}
    assert body["transform"]["kind"] == "sql" and body["transform"]["text"] == v.transform.text
    assert (body["ttl_s"], body["freshness_s"], body["online"]) == (v.ttl.total_seconds(), 7200.0, True)
    assert body["quality"]["policy"] == "warn"
    assert [(f["name"], f["dtype"], f["default"], f["description"]) for f in body["features"]] == [
        (f.name, f.dtype.name, f.default, f.description or None) for f in v.features]
    assert body["features"][0]["expectations"] == [e.spec() for e in v.features[0].expect]
    assert {"kind": "feature_service", "name": "fraud_model_v1"} in body["used_by"]
    assert {"kind": "feature_view", "name": "user_spend_shape"} in body["used_by"]
    assert [x["version"] for x in body["versions"]] == [1] and body["versions"][0]["change"] == "added"
    assert shape["transform"]["kind"] == "python" and "log1p" in shape["transform"]["source"]

    # materialized: the run, the pushed rows' statistics, and the newest value online
    latest = df.sort_values("event_ts").groupby("user_id").tail(1)
    (run,) = body["runs"]
    assert (run["kind"], run["status"], run["view"]) == ("materialize", "succeeded", "user_spend")
    assert run["end"] == "2024-03-02T00:00:00Z"
    amount = body["statistics"]["amount"]
    assert amount["count"] == len(latest) and amount["run_kind"] == "materialize" and amount["nulls"] == 0
    assert amount["min"] == pytest.approx(latest["amount"].min()) and amount["max"] == pytest.approx(
        latest["amount"].max())
    assert amount["mean"] == pytest.approx(latest["amount"].mean())
    assert sum(amount["histogram"]["counts"]) == len(latest)
    assert {tuple(t) for t in body["statistics"]["country"]["top_values"]} == set(
        latest["country"].value_counts().items())
    fresh = body["freshness"]
    assert fresh["status"] == "stale" and fresh["freshness_s"] == 7200.0  # 2024 values, a 2-hour SLA
    assert pd.Timestamp(fresh["newest_at"]) == latest["event_ts"].max()
    # validated: negative amounts fail InRange(min=0)
    validation = store.registry.validation_results(store.config.project, "user_spend", 1)[0]
    assert body["validation"]["id"] == validation.id and body["validation"]["success"] is validation.success is False
    assert body["drift"]["amount"]["breached"] is True and body["drift"]["amount"]["training_id"] == "t-1"


@BOTH_REGISTRIES
def test_versions_after_editing_a_description(repo):
    store, _ = repo
    defs = store.config.root / "features" / "defs.py"
    defs.write_text(defs.read_text().replace('"Per-transaction spend facts"', '"Spend facts, one row per card use"'))
    FeatureStore(store.config.root).apply()
    with client(store) as c:
        body = c.get("/api/v1/feature-views/user_spend").json()
        found = c.get("/api/v1/feature-views", params={"q": "card use"}).json()
    assert body["description"] == "Spend facts, one row per card use" and body["version"] == 2
    old, new = body["versions"]
    assert (old["version"], new["version"], new["change"]) == (1, 2, "meta")
    assert new["changes"] == [{"path": "meta.description", "old": "Per-transaction spend facts",
                               "new": "Spend facts, one row per card use"}]
    assert old["data_fingerprint"] == new["data_fingerprint"] != "" and old["meta_fingerprint"] != new[
        "meta_fingerprint"]
    assert [i["name"] for i in found["items"]] == ["user_spend"]


def test_one_feature(repo):
    store, df = repo
    with client(store) as c:
        body = c.get("/api/v1/features/user_spend:amount").json()
        missing = c.get("/api/v1/features/user_spend:amont")
        agg = c.get("/api/v1/features/user_txn_windows:amount_count_1h")
    assert body["view"] == "user_spend" and body["feature"]["dtype"] == "Float64"
    assert (body["feature"]["default"], body["feature"]["description"]) == (0.0, "Amount in USD")
    assert body["feature"]["expectations"] == [InRange(min=0).spec()]
    assert body["statistics"]["count"] == df["user_id"].nunique() and body["drift"]["metrics"]["psi"] == 0.31
    assert missing.status_code == 404
    assert missing.json()["detail"] == "unknown feature 'amont' of view 'user_spend'; did you mean 'amount'?"
    assert agg.json()["feature"]["aggregation"] == {"name": "amount_count_1h", "column": "amount",
                                                    "function": "count", "window": {"kind": "tumbling", "size": 3600.0}}


# ---- entities, sources, services, runs -----------------------------------------------------------------------


@BOTH_REGISTRIES
def test_entities_sources_services(repo):
    store, _ = repo
    with client(store) as c:
        ents = {e["name"]: e for e in c.get("/api/v1/entities").json()["items"]}
        user = c.get("/api/v1/entities/user").json()
        srcs = {s["name"]: s for s in c.get("/api/v1/sources").json()["items"]}
        kafka = c.get("/api/v1/sources/transaction_events").json()
        svcs = c.get("/api/v1/feature-services").json()["items"]
        svc = c.get("/api/v1/feature-services/fraud_model_v1").json()
        missing = c.get("/api/v1/entities/usr")
    users_views = sorted(v.name for v in store.views.values() if any(e.name == "user" for e in v.entities))
    assert sorted(ents) == ["merchant", "user"] and ents["user"] == user
    assert user["join_keys"] == ["user_id"] and user["description"] == "A customer account"
    assert sorted(r["name"] for r in user["used_by"] if r["kind"].endswith("_view")) == users_views
    assert sorted(srcs) == ["merchants", "transaction_events", "transactions"]
    assert srcs["transactions"]["path"] == "data/transactions.parquet" and srcs["transactions"]["kind"] == (
        "batch_source")
    assert (kafka["kind"], kafka["topic"], kafka["batch_source"]) == ("kafka_source", "transactions", "transactions")
    assert [f["name"] for f in kafka["fields"]] == ["user_id", "amount", "event_ts"]
    assert {"kind": "aggregation_view", "name": "user_txn_windows"} in kafka["used_by"]
    service = store.services["fraud_model_v1"]
    assert [s["name"] for s in svcs] == ["fraud_model_v1"] and svc == svcs[0]
    assert svc["features"] == [{"view": p.name, "features": list(p.features)} for p in service.features]
    assert missing.status_code == 404 and "did you mean 'user'" in missing.json()["detail"]


@BOTH_REGISTRIES
def test_runs(repo):
    store, _ = repo
    with client(store) as c:
        runs = c.get("/api/v1/runs").json()["runs"]
        mine = c.get("/api/v1/runs", params={"view": "user_spend", "kind": "materialize", "limit": 1}).json()["runs"]
        none = c.get("/api/v1/runs", params={"kind": "backfill"}).json()["runs"]
        unknown = c.get("/api/v1/runs", params={"view": "user_spnd"})
        bad = c.get("/api/v1/runs", params={"kind": "Batch; --"})
    stored = store.registry.runs(store.config.project)
    assert [r["id"] for r in runs] == [r.id for r in stored] and len(runs) == 1
    assert mine == runs and none == []
    assert (mine[0]["start"], mine[0]["end"]) == ("2024-02-01T00:00:00Z", "2024-03-02T00:00:00Z")
    assert mine[0]["rows_out"] == stored[0].rows_out
    assert unknown.status_code == 404 and "did you mean 'user_spend'" in unknown.json()["detail"]
    assert bad.status_code == 422


# ---- lineage ---------------------------------------------------------------------------------------------------


def nodes(body: dict[str, Any]) -> dict[str, int]:
    return {f"{n['kind']}:{n['name']}": n["distance"] for n in body["nodes"]}


@BOTH_REGISTRIES
def test_lineage_depth_direction_and_columns(repo):
    store, _ = repo
    with client(store) as c:
        up1 = c.get("/api/v1/lineage/user_spend_shape", params={"depth": 1, "direction": "up"}).json()
        up2 = c.get("/api/v1/lineage/user_spend_shape", params={"depth": 2, "direction": "up"}).json()
        down1 = c.get("/api/v1/lineage/transactions", params={"depth": 1, "direction": "down"}).json()
        down2 = c.get("/api/v1/lineage/transactions", params={"depth": 2, "direction": "down",
                                                              "columns": "false"}).json()
        both = c.get("/api/v1/lineage/user_spend", params={"depth": 1}).json()
        zero = c.get("/api/v1/lineage/user_spend", params={"depth": 0}).json()
    assert nodes(up1) == {"feature_view:user_spend_shape": 0, "feature_view:user_spend": 1, "entity:user": 1}
    assert nodes(up2) == {**nodes(up1), "batch_source:transactions": 2}
    assert {(e["from_name"], e["to_name"]) for e in up2["edges"]} == {
        ("user_spend", "user_spend_shape"), ("user", "user_spend_shape"), ("user", "user_spend"),
        ("transactions", "user_spend")}
    cols = {(e["from_node"], e["from_column"], e["to_node"], e["to_column"]) for e in up2["column_edges"]}
    stored = store.registry.column_edges(store.config.project)
    assert cols == {(e.from_node, e.from_column, e.to_node, e.to_column) for e in stored
                    if e.from_node == "transactions" and e.to_node == "user_spend"}
    assert ("transactions", "amount", "user_spend", "is_large") in cols  # through the SQL: amount > 1000
    assert up1["column_edges"] == []  # transactions is 2 hops up; a Python transform has no column lineage

    extras = {f"feature_view:extra_{i:02d}": 1 for i in range(9)}
    assert nodes(down1) == {"batch_source:transactions": 0, "feature_view:user_spend": 1,
                            "kafka_source:transaction_events": 1, **extras}
    assert nodes(down2) == {**nodes(down1), "feature_view:user_spend_shape": 2, "feature_service:fraud_model_v1": 2,
                            "aggregation_view:user_txn_windows": 2}
    assert down2["column_edges"] == [] and down1["column_edges"]
    assert nodes(both) == {"feature_view:user_spend": 0, "batch_source:transactions": 1, "entity:user": 1,
                           "feature_view:user_spend_shape": 1, "feature_service:fraud_model_v1": 1}
    assert nodes(zero) == {"feature_view:user_spend": 0} and zero["edges"] == []
    assert set(zero) >= {"root", "project_version"} and zero["root"] == {"kind": "feature_view", "name": "user_spend"}


@pytest.mark.parametrize("params", [{"depth": -1}, {"depth": 1000}, {"direction": "sideways"},
                                    {"columns": "maybe"}])
def test_bad_lineage_parameters_are_422(repo, params):
    with client(repo[0]) as c:
        assert c.get("/api/v1/lineage/user_spend", params=params).status_code == 422


# ---- not found, unapplied, openapi, keys, Redis down ---------------------------------------------------------


@pytest.mark.parametrize(("path", "message"), [
    ("/api/v1/feature-views/user_spnd", "unknown feature view 'user_spnd'; did you mean 'user_spend'"),
    ("/api/v1/feature-views/nothing_like_it", "unknown feature view 'nothing_like_it'"),
    ("/api/v1/features/usr_spend:amount", "unknown feature view 'usr_spend'; did you mean 'user_spend'"),
    ("/api/v1/sources/transaction", "unknown source 'transaction'; did you mean 'transactions'"),
    ("/api/v1/feature-services/fraud_model", "unknown feature service 'fraud_model'; did you mean 'fraud_model_v1'"),
    ("/api/v1/lineage/merchant_rsk", "unknown lineage node 'merchant_rsk'; did you mean 'merchant_risk'"),
])
def test_unknown_names_are_404_with_suggestions(repo, path, message):
    with client(repo[0]) as c:
        r = c.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json()["detail"].startswith(message)


def test_an_unapplied_repo_shows_nothing(tmp_path, redis_url):
    store = FeatureStore(write_repo(tmp_path / "repo", redis_url))
    with client(store) as c:
        assert c.get("/api/v1/feature-views").json() == {"total": 0, "limit": 50, "offset": 0, "items": []}
        assert c.get("/api/v1/entities").json() == {"items": []}
        assert c.get("/api/v1/runs").json() == {"runs": []}
        assert c.get("/api/v1/feature-views/user_spend").status_code == 404
        assert c.get("/api/v1/lineage/user_spend").status_code == 404


ROUTES = ["/api/v1/feature-views", "/api/v1/feature-views/{name}", "/api/v1/features/{view}:{feature}",
          "/api/v1/entities", "/api/v1/entities/{name}", "/api/v1/sources", "/api/v1/sources/{name}",
          "/api/v1/feature-services", "/api/v1/feature-services/{name}", "/api/v1/runs", "/api/v1/lineage/{name}"]


def test_openapi_describes_every_route(repo):
    with client(repo[0]) as c:
        doc = c.get("/openapi.json").json()
    components = doc["components"]["schemas"]
    for route in ROUTES:
        op = doc["paths"][route]["get"]
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema and "$ref" in schema, route
        model = components[schema["$ref"].rsplit("/", 1)[1]]
        assert model["properties"], route
        assert all(p != {} for p in model["properties"].values()), route
        if "{" in route:
            assert "404" in op["responses"], route
    for name in ("ViewDetail", "FeatureStats", "LineageResponse", "RunRecord", "Freshness"):
        assert all(p != {} for p in components[name]["properties"].values()), name


def test_require_key_for_reads(tmp_path, redis_url):
    api = f"{{api_keys: ['{hash_api_key(KEY)}'], require_key_for_reads: true}}"
    store = FeatureStore(write_repo(tmp_path / "repo", redis_url, api=api))
    store.apply()
    paths = [r.replace("{name}", "user").replace("{view}:{feature}", "user_spend:amount") for r in ROUTES]
    paths = [p.replace("feature-views/user", "feature-views/user_spend").replace("sources/user", "sources/merchants")
             .replace("feature-services/user", "feature-services/fraud_model_v1") for p in paths]
    with client(store) as c:
        for path in paths:
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"X-API-Key": "wrong"}).status_code == 403, path
            assert c.get(path, headers={"X-API-Key": KEY}).status_code == 200, path


def test_freshness_is_unavailable_when_redis_is_down(tmp_path):
    store = FeatureStore(write_repo(tmp_path / "repo", f"redis://127.0.0.1:{free_port()}/0"))
    store.apply()
    with TestClient(create_app(store, freshness_check_s=0), raise_server_exceptions=False) as c:
        r = c.get("/api/v1/feature-views/user_spend")
        shape = c.get("/api/v1/feature-views/user_txn_windows")
    assert r.status_code == 200, r.text
    assert r.json()["freshness"] == {"status": "unavailable", "newest_at": None, "age_s": None,
                                     "freshness_s": 7200.0}
    assert shape.status_code == 200 and shape.json()["freshness"]["status"] == "unavailable"


def test_an_unreachable_registry_is_503(tmp_path, redis_url):
    registry = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    store = FeatureStore(write_repo(tmp_path / "repo", redis_url, registry=registry))
    with TestClient(create_app(store, freshness_check_s=0), raise_server_exceptions=False) as c:
        for path in ("/api/v1/feature-views", "/api/v1/feature-views/user_spend", "/api/v1/lineage/user_spend",
                     "/api/v1/runs"):
            r = c.get(path)
            assert r.status_code == 503, (path, r.text)
            assert r.json()["detail"].startswith("the registry did not answer (") and "127.0.0.1" not in r.text


def test_arbitrary_text_never_makes_a_server_error(tmp_path, redis_url):
    """Any text in any parameter or name (SQL metacharacters, unicode, control characters) is a 2xx, 404 or 422."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    store = FeatureStore(write_repo(tmp_path / "repo", redis_url))
    store.apply()
    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
    with client(store) as c:

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(q=text, tag=text, owner=text, name=text.filter(lambda t: t not in (".", "..")), depth=st.integers(),
               limit=st.integers(), kind=text)
        def check(q, tag, owner, name, depth, limit, kind):
            from urllib.parse import quote

            name = quote(name, safe="")
            responses = [
                c.get("/api/v1/feature-views", params={"q": q, "tag": tag, "owner": owner, "limit": limit}),
                c.get(f"/api/v1/feature-views/{name}"), c.get(f"/api/v1/features/{name}:{name}"),
                c.get(f"/api/v1/sources/{name}"), c.get("/api/v1/runs", params={"view": name, "kind": kind}),
                c.get(f"/api/v1/lineage/{name}", params={"depth": depth, "kind": kind}),
            ]
            for r in responses:
                assert r.status_code in (200, 404, 422), (r.request.url, r.status_code, r.text)

        check()
