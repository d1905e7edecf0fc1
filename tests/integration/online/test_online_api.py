"""The feature server over HTTP (FastAPI TestClient): same answer as the SDK, errors, keys, ops routes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from online_repo import now_us, write_repo

from aquifer.api import create_app
from aquifer.api.auth import hash_api_key
from aquifer.sdk.store import FeatureStore

pytestmark = pytest.mark.redis
URL = "/api/v1/online-features"


@pytest.fixture
def client(store):
    with TestClient(create_app(store, sinks=[], freshness_check_s=0)) as c:
        yield c


def test_http_equals_sdk(store, put, client):
    now = now_us()
    put("user_stats", {"user_id": 1}, [3, 12.5, "FR", True], now - 1_000_000)
    put("merchant_risk", {"merchant_id": 9}, [0.9, "gambling"], now - 8 * 24 * 3600 * 1_000_000)
    entities = {"user_id": [1, 2], "merchant_id": [9, 3]}
    response = client.post(URL, json={"feature_service": "scoring", "entities": entities})
    assert response.status_code == 200
    body = response.json()
    sdk = store.get_online_features("scoring", entities)
    assert body["entities"] == sdk.entities and body["features"] == sdk.values and body["statuses"] == sdk.statuses
    assert body["event_times_us"] == sdk.event_times_us
    assert body["statuses"]["risk"] == ["stale", "missing"]  # past the 7d TTL → default
    rows = client.post(URL, json={"features": ["user_stats:amount"], "entities": [{"user_id": 1}],
                                  "full_names": True}).json()
    assert rows["features"] == {"user_stats__amount": [12.5]}


def test_bad_input(client):
    r = client.post(URL, json={"features": ["user_stats:nope"], "entities": {"user_id": [1]}})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = client.post(URL, json={"feature_service": "ghost", "entities": {"user_id": [1]}})
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    r = client.post(URL, json={"features": ["nocolon"], "entities": {"user_id": [1]}})
    assert r.status_code == 422 and "nocolon" in r.json()["detail"]
    r = client.post(URL, json={"feature_service": "scoring", "entities": {"user_id": [1]}})
    assert r.status_code == 422 and "merchant_id" in r.json()["detail"]
    r = client.post(URL, json={"feature_service": "scoring", "entities": [{"user_id": 1}]})
    assert r.status_code == 422 and "merchant_id" in r.json()["detail"]
    r = client.post(URL, json={"features": ["user_stats:amount"], "entities": {"user_id": list(range(301))}})
    assert r.status_code == 413
    r = client.post(URL, json={"entities": {"user_id": [1]}})
    assert r.status_code == 422


def test_fast_path_and_route_answer_alike(store, put, client):
    """``create_app`` answers through ``OnlineFastPath``; the FastAPI route alone must give the same bytes."""
    from fastapi import FastAPI

    from aquifer.api.online import router

    put("user_stats", {"user_id": 1}, [3, 12.5, "FR", True], now_us() - 1_000_000)
    plain = FastAPI()
    plain.include_router(router)
    plain.state.__dict__.update({k: getattr(client.app.state, k) for k in ("serving", "metrics", "api_config")})
    bodies = [
        {"features": ["user_stats:amount", "user_stats:country"], "entities": {"user_id": [1, 2]}},
        {"features": ["user_stats:nope"], "entities": {"user_id": [1]}},
        {"feature_service": "scoring", "entities": [{"user_id": 1}]},
        {"entities": {"user_id": [1]}},
        {"features": "not a list", "entities": {"user_id": [1]}},
    ]
    with TestClient(plain) as direct:
        for body in bodies:
            fast, routed = client.post(URL, json=body), direct.post(URL, json=body)
            assert fast.status_code == routed.status_code, body
            a, b = fast.json(), routed.json()
            a.pop("served_at_us", None), b.pop("served_at_us", None)
            assert a == b, body
        assert client.get(URL).status_code == direct.get(URL).status_code == 405  # other methods: FastAPI's


def test_health_metrics_and_openapi(client):
    assert client.get("/health").json() == {"status": "ok", "online_store": "reachable"}
    client.post(URL, json={"features": ["user_stats:amount"], "entities": {"user_id": [1]}})
    text = client.get("/metrics").text
    assert 'aquifer_online_values_total{status="missing",view="user_stats"} 1.0' in text
    assert "aquifer_online_request_seconds_bucket" in text
    assert "aquifer_view_freshness_breached" in text
    schema = client.get("/openapi.json").json()
    assert "OnlineFeaturesResponse" in schema["components"]["schemas"]


def test_two_apps_have_separate_metrics(store):
    a, b = create_app(store, sinks=[], freshness_check_s=0), create_app(store, sinks=[], freshness_check_s=0)
    assert a.state.metrics.registry is not b.state.metrics.registry


def test_api_keys(tmp_path, redis_url):
    api = f"{{api_keys: ['{hash_api_key('s3cret')}'], require_key_for_reads: true}}"
    store = FeatureStore(write_repo(tmp_path / "keyed", redis_url, api=api))
    with TestClient(create_app(store, sinks=[], freshness_check_s=0)) as c:
        body = {"features": ["user_stats:amount"], "entities": {"user_id": [1]}}
        assert c.post(URL, json=body).status_code == 401
        assert c.post(URL, json=body, headers={"X-API-Key": "wrong"}).status_code == 403
        assert c.post(URL, json=body, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.post("/api/v1/materialize", json={}).status_code == 401
        assert c.post("/api/v1/materialize", json={"views": ["ghost"]},
                      headers={"X-API-Key": "s3cret"}).status_code == 404


def test_write_routes_closed_without_configured_keys(client):
    assert client.post("/api/v1/materialize", json={}, headers={"X-API-Key": "x"}).status_code == 403
    assert client.post(URL, json={"features": ["user_stats:amount"], "entities": {"user_id": [1]}}).status_code == 200
