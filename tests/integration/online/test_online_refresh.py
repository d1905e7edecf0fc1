"""A running feature server picks up a new ``apply`` by itself, without blocking requests."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from online_repo import write_repo

from aquifer.api import create_app
from aquifer.sdk.apply import apply
from aquifer.sdk.store import FeatureStore

pytestmark = pytest.mark.redis
URL = "/api/v1/online-features"

NEW_VIEW = '''
user_extra = FeatureView("user_extra", entities=[user], source=events, schema=[Field("bonus", Float64, default=7.0)])
'''


def test_server_reloads_definitions_after_apply(tmp_path, redis_url):
    root = write_repo(tmp_path, redis_url)
    config = root / "aquifer.yaml"
    text = config.read_text().replace("max_entities: 300}", "max_entities: 300, definitions_refresh_s: 0.2}")
    config.write_text(text)
    store = FeatureStore(root)
    apply(store)
    request = {"features": ["user_extra:bonus"], "entities": {"user_id": [1]}}
    with TestClient(create_app(store, sinks=[], freshness_check_s=0)) as client:
        assert client.post(URL, json=request).status_code == 404
        with (root / "features" / "defs.py").open("a") as defs:
            defs.write(NEW_VIEW)
        apply(FeatureStore(root))
        deadline = time.monotonic() + 30
        while (response := client.post(URL, json=request)).status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert response.status_code == 200, response.text
        assert response.json()["features"] == {"bonus": [7.0]}
        assert response.json()["statuses"] == {"bonus": ["missing"]}
