"""schemathesis against ``/openapi.json`` of the app serving the quickstart on a real SQLite registry and Redis:
every operation (discovery reads, online lookups, validation and drift, and the write routes — apply, runs,
materialize, push — called with an admin key) answers generated requests without a server error.

The run and materialization triggers are exercised with their locks held (they answer 409 once a request is
valid): a generated ``{"views": null}`` would otherwise start a full Spark run in the middle of the fuzzing.
test_api_writes.py runs both for real.
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from aquifer.api import create_app, triggers
from aquifer.api import materialize as materialize_route
from aquifer.api.auth import hash_api_key
from aquifer.cli.repo_commands import TEMPLATE, generate_example_data
from aquifer.sdk.store import FeatureStore

pytestmark = pytest.mark.redis

ADMIN = "schemathesis-admin"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, redis_server_url) -> Iterator[Any]:
    import redis

    db = 1 + zlib.crc32(__name__.encode()) % 15
    url = f"{redis_server_url}/{db}" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db={db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    root = tmp_path_factory.mktemp("schemathesis") / "repo"
    shutil.copytree(TEMPLATE, root, ignore=shutil.ignore_patterns("data", ".aquifer", "__pycache__"))
    generate_example_data(root)
    text = (root / "aquifer.yaml").read_text().replace("url: redis://127.0.0.1:6379/0", f"url: '{url}'")
    (root / "aquifer.yaml").write_text(text + f"api: {{api_keys: ['{hash_api_key(ADMIN)}']}}\n")
    store = FeatureStore(Path(root))
    store.apply()
    app = create_app(store, freshness_check_s=0)
    triggers._RUNNING.acquire()
    materialize_route._RUNNING.acquire()
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        triggers._RUNNING.release()
        materialize_route._RUNNING.release()


def test_no_server_errors(api_schema):
    """Each operation with up to ``max_examples`` generated requests (hypothesis drives schemathesis's strategies;
    its pytest plugin's subtests do not run under this pytest)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    methods = {(op.method.upper(), op.path) for op in operations}
    assert {("POST", "/api/v1/apply"), ("POST", "/api/v1/runs"), ("GET", "/api/v1/lineage/{name}")} <= methods
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    calls: dict[str, int] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case: Any) -> None:
            response = case.call_and_validate(headers={"X-API-Key": ADMIN}, checks=[not_a_server_error])
            label = f"{case.method.upper()} {case.path}"
            statuses.setdefault(label, set()).add(response.status_code)
            calls[label] = calls.get(label, 0) + 1

        try:
            check()
        except Exception as exc:  # collect every failing operation, then fail once naming them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    # the fuzzing reached past validation: real answers from reads and writes alike
    assert 200 in statuses["POST /api/v1/apply"] and 200 in statuses["GET /api/v1/feature-views"]
    assert 409 in statuses["POST /api/v1/runs"]  # valid trigger requests (the lock is held)
    assert len(calls) == len(operations)
    assert all(n >= 5 for label, n in calls.items() if label not in ("GET /health", "GET /metrics")), calls
