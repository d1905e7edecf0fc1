"""Write routes with key roles against the quickstart repo on a real SQLite registry and real Redis.

``POST /api/v1/apply`` (admin), ``POST /api/v1/runs`` (writer) and ``POST /api/v1/materialize`` (writer):
no key → 401, a reader key → 403, a writer key → 403 on apply, the right role → done, checked against the
registry (versions, run records) and the repo's files as this test edits them. Keys come from the environment
(``key_env``) or as hashes in aquifer.yaml (``sha256``, or the original bare-hash form, an admin key).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aquifer.api import create_app
from aquifer.api.auth import hash_api_key
from aquifer.cli.repo_commands import TEMPLATE, generate_example_data
from aquifer.sdk.store import FeatureStore

pytestmark = pytest.mark.redis

ADMIN, WRITER, READER = "admin-k3y", "writer-k3y", "reader-k3y"


def make_repo(root: Path, redis_url: str, api: str) -> Path:
    shutil.copytree(TEMPLATE, root, ignore=shutil.ignore_patterns("data", ".aquifer", "__pycache__"))
    generate_example_data(root)
    text = (root / "aquifer.yaml").read_text().replace("project: quickstart", "project: writes_test")
    text = text.replace("url: redis://127.0.0.1:6379/0", f"url: '{redis_url}'")
    text = text.replace('master: "local[*]"', 'master: "local[2]"')
    (root / "aquifer.yaml").write_text(text + f"api: {api}\n")
    return root


@pytest.fixture(scope="module")
def env_key() -> Any:
    patch = pytest.MonkeyPatch()
    patch.setenv("AQ_TEST_WRITER_KEY", WRITER)
    yield
    patch.undo()


@pytest.fixture
def server(tmp_path, redis_url, env_key) -> Any:
    api = (f"{{api_keys: ['{hash_api_key(ADMIN)}', {{name: ci, role: writer, key_env: AQ_TEST_WRITER_KEY}}, "
           f"{{name: dashboards, role: reader, sha256: '{hashlib.sha256(READER.encode()).hexdigest()}'}}]}}")
    root = make_repo(tmp_path / "repo", redis_url, api)
    store = FeatureStore(root)
    with TestClient(create_app(store, freshness_check_s=0)) as client:
        yield {"client": client, "store": store, "root": root}


ROUTES = [("post", "/api/v1/apply", {}), ("post", "/api/v1/runs", {"views": ["user_spend"]}),
          ("post", "/api/v1/materialize", {"views": ["user_spend"]})]


def test_no_key_401_reader_403_writer_403_on_apply(server):
    client = server["client"]
    for method, path, body in ROUTES:
        assert getattr(client, method)(path, json=body).status_code == 401, path
        answer = getattr(client, method)(path, json=body, headers={"X-API-Key": READER})
        assert answer.status_code == 403, path
        assert "needs the writer role" in answer.json()["detail"] or "needs the admin role" in answer.json()["detail"]
        assert getattr(client, method)(path, json=body, headers={"X-API-Key": "nope"}).status_code == 403
    answer = client.post("/api/v1/apply", json={}, headers={"X-API-Key": WRITER})
    assert answer.status_code == 403
    assert answer.json()["detail"] == "this route needs the admin role; key 'ci' has writer"
    assert server["store"].registry.project_version("writes_test") == 0  # nothing was applied
    # reads stay open without require_key_for_reads
    assert server["client"].get("/api/v1/feature-views").status_code == 200


def test_apply_over_http_reads_the_repo_from_disk(server):
    client, store, root = server["client"], server["store"], server["root"]
    admin = {"X-API-Key": ADMIN}
    first = client.post("/api/v1/apply", json={}, headers=admin)
    assert first.status_code == 200, first.text
    body = first.json()
    expected = {d.name for d in FeatureStore(root).repo.definitions}  # an independent load of the files
    assert body["applied"] and body["version"] == 1 and {c["name"] for c in body["added"]} == expected
    assert store.registry.project_version("writes_test") == 1

    payments = root / "features" / "payments.py"
    text = payments.read_text()
    assert 'description="Per-transaction spend facts"' in text
    payments.write_text(text.replace('description="Per-transaction spend facts"', 'description="Edited over HTTP"'))
    dry = client.post("/api/v1/apply", json={"dry_run": True}, headers=admin).json()
    assert not dry["applied"] and dry["version"] == 1
    assert [c["name"] for c in dry["changed_meta"]] == ["user_spend"] and not dry["changed_data"]
    assert store.registry.project_version("writes_test") == 1
    second = client.post("/api/v1/apply", headers=admin).json()  # no body at all: apply
    assert second["applied"] and second["version"] == 2
    assert client.get("/api/v1/feature-views/user_spend").json()["description"] == "Edited over HTTP"

    payments.write_text(payments.read_text() + "\nbroken = FeatureView('broken', source=nowhere)\n")
    refused = client.post("/api/v1/apply", json={}, headers=admin)
    assert refused.status_code == 422 and "nothing was applied" in refused.json()["detail"]
    assert "nowhere" in refused.json()["detail"]
    assert store.registry.project_version("writes_test") == 2


def test_writer_triggers_a_batch_run_and_a_materialization(server, spark):
    client, store = server["client"], server["store"]
    writer = {"X-API-Key": WRITER}
    assert client.post("/api/v1/apply", json={}, headers={"X-API-Key": ADMIN}).status_code == 200
    assert client.post("/api/v1/runs", json={"views": ["nope"]}, headers=writer).status_code == 404
    assert client.post("/api/v1/runs", json={"end": "yesterday-ish"}, headers=writer).status_code == 422
    started = client.post("/api/v1/runs", json={"views": ["merchant_risk"]}, headers=writer)
    assert started.status_code == 202 and started.json() == {"status": "started", "kind": "batch",
                                                           "views": ["merchant_risk"]}
    for thread in client.app.state.triggered:
        thread.join(timeout=300)
    runs = store.registry.runs("writes_test", view="merchant_risk")
    assert runs and {r.status for r in runs} == {"succeeded"} and {r.kind for r in runs} == {"batch"}
    pushed = client.post("/api/v1/materialize", json={"views": ["merchant_risk"]}, headers=writer)
    assert pushed.status_code == 202
    kinds = [r.kind for r in store.registry.runs("writes_test", view="merchant_risk")]
    assert "materialize" in kinds  # TestClient ran the background task before answering
    listed = client.get("/api/v1/runs", params={"view": "merchant_risk"}).json()
    assert {r["kind"] for r in listed["runs"]} >= {"batch", "materialize"}


def test_openapi_has_typed_write_and_quality_routes(server):
    spec = server["client"].get("/openapi.json").json()
    paths = spec["paths"]
    for path, method, model in [("/api/v1/apply", "post", "ApplyResponse"), ("/api/v1/runs", "post", "RunResponse"),
                                ("/api/v1/validation/{view}", "get", "ValidationResponse"),
                                ("/api/v1/drift/{view}", "get", "DriftResponse")]:
        ok = paths[path][method]["responses"]["200" if method == "get" or path.endswith("apply") else "202"]
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith(model), path
