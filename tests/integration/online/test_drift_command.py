"""Train/serve drift end to end on a small repo: a training frame recorded by the SDK, served values logged,
``aquifer drift`` (the real console script) with its exit codes, results and de-duplicated alerts in the
registry, and ``GET /api/v1/drift/{view}``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from online_repo import now_us, write_repo

from aquifer.alerts import RegistrySink
from aquifer.api import create_app
from aquifer.api.auth import hash_api_key
from aquifer.quality.samples import read_sample
from aquifer.sdk.store import FeatureStore
from aquifer.serving.context import context_for
from aquifer.stores.offline.layout import view_path
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore

pytestmark = pytest.mark.redis
AQUIFER = str(Path(sys.executable).with_name("aquifer"))
USERS = 500
T0 = pd.Timestamp("2024-03-01", tz="UTC")
FEATURES = ["user_stats:amount", "user_stats:country", "user_stats:txn_count"]


def aquifer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([AQUIFER, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def values(rng: np.random.Generator, shift: float, countries: list[str]) -> dict[int, list]:
    amounts = rng.normal(100 + shift, 10, USERS)
    picks = rng.choice(countries, USERS)
    counts = rng.integers(0, 20, USERS)
    return {u: [int(counts[u]), float(amounts[u]), str(picks[u]), bool(u % 2)] for u in range(USERS)}


def write_offline(store: FeatureStore, rows: dict[int, list]) -> None:
    folder = view_path(store.config.offline_path, store.config.project, "user_stats") / "event_date=2024-03-01"
    folder.mkdir(parents=True)
    ts = pa.array([T0.to_pydatetime()] * USERS, type=pa.timestamp("us", tz="UTC"))
    table = pa.table({
        "user_id": pa.array(list(rows), type=pa.int64()), "event_ts": ts, "created_ts": ts,
        "txn_count": pa.array([r[0] for r in rows.values()], type=pa.int64()),
        "amount": pa.array([r[1] for r in rows.values()], type=pa.float64()),
        "country": pa.array([r[2] for r in rows.values()], type=pa.string()),
        "is_vip": pa.array([r[3] for r in rows.values()], type=pa.bool_()),
    })
    pq.write_table(table, folder / "part-0.parquet")


def serve(store: FeatureStore, rows: dict[int, list], age_us: int = 0) -> None:
    """Write ``rows`` online (event time ``age_us`` before now) and look every user up through the SDK."""
    online = RedisOnlineStore.from_config(store.config.online_store)
    view = store.views["user_stats"]
    codec, group, event = ViewCodec.for_view(view), entity_group(view), now_us() - age_us
    online.write([(group.key_of(store.config.project, {"user_id": u}), [("user_stats", codec.encode(v, event, 0))])
                  for u, v in rows.items()])
    online.close()
    for start in range(0, USERS, 250):
        store.get_online_features(FEATURES, {"user_id": list(range(start, start + 250))})
    context_for(store).serving_log.flush()


@pytest.fixture
def repo(tmp_path, redis_url) -> Path:
    root = write_repo(tmp_path / "repo", redis_url, api=f"{{api_keys: ['{hash_api_key('k')}']}}")
    with (root / "aquifer.yaml").open("a") as f:
        f.write("serving: {log_sample_rate: 1.0}\n")
    return root


def test_drift_end_to_end(repo):
    store = FeatureStore(repo)
    rng = np.random.default_rng(5)
    write_offline(store, values(rng, 0, ["FR", "DE", "US"]))
    r = aquifer("drift", "ghost", "-r", str(repo))
    assert r.returncode == 2 and "no view 'ghost'" in r.stderr
    r = aquifer("drift", "user_stats", "-r", str(repo))
    assert r.returncode == 2 and "no training frame" in r.stderr

    # the training frame: id on the frame and the store, recorded with a sample of what it returned
    labels = pd.DataFrame({"user_id": np.arange(USERS), "event_ts": [T0 + pd.Timedelta(days=1)] * USERS})
    frame = store.get_training_frame(labels, FEATURES, engine="duckdb")
    training_id = frame.attrs["aquifer_training_id"]
    assert training_id == store.last_training_id and len(training_id) == 32
    record = store.registry.training_frame(training_id)
    assert record.features == FEATURES and record.rows == USERS and record.project == store.config.project
    sample = read_sample(Path(record.details["sample_path"]))
    assert sample["user_stats:amount"] == frame["amount"].tolist()  # under 20k rows: the whole frame
    assert record.details["kinds"] == {"user_stats:amount": "numeric", "user_stats:country": "categorical",
                                       "user_stats:txn_count": "numeric"}
    again = store.get_training_frame(labels, FEATURES, engine="duckdb")
    assert again.attrs["aquifer_training_id"] != training_id  # every frame has its own id
    assert [f.id for f in store.registry.training_frames(store.config.project, "user_stats")] == \
        [again.attrs["aquifer_training_id"], training_id]

    r = aquifer("drift", "user_stats", "-r", str(repo))
    assert r.returncode == 2 and "no serving log" in r.stderr

    # served like training: no drift
    serve(store, values(rng, 0, ["FR", "DE", "US"]))
    r = aquifer("drift", "user_stats", "--training", training_id, "-r", str(repo))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "amount" in r.stdout and "country" in r.stdout and "BREACH" not in r.stdout
    latest = store.registry.latest_drift(store.config.project, "user_stats")
    assert set(latest) == {"amount", "country", "txn_count"} and not any(x.breached for x in latest.values())
    assert latest["amount"].training_id == training_id and latest["amount"].metrics["serving_count"] == USERS

    # served shifted (amount + 30, a country training never saw): drift, one alert per feature
    since = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    serve(store, values(rng, 30, ["FR", "DE", "BR"]))
    r = aquifer("drift", "user_stats", "--since", since, "-r", str(repo))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "BREACH" in r.stdout and "unseen categories: BR" in r.stdout
    alerts = store.registry.alerts(store.config.project, kind="drift")
    assert sorted(a.subject for a in alerts) == ["user_stats:amount", "user_stats:country"]
    r = aquifer("drift", "user_stats", "--since", since, "-r", str(repo))
    assert r.returncode == 1
    assert len(store.registry.alerts(store.config.project, kind="drift")) == 2  # still breaching: no new alert
    assert store.registry.alert_state(store.config.project, "drift", "user_stats:amount") == "firing"

    # the whole log again (half calm): the JSON report, and usage errors
    r = aquifer("drift", "user_stats", "--training", "nope", "-r", str(repo))
    assert r.returncode == 2 and "no training frame 'nope'" in r.stderr
    r = aquifer("drift", "user_stats", "--since", "not a time", "-r", str(repo))
    assert r.returncode == 2

    # the HTTP route: stored results, then a computation (write key) that clears the breach
    with TestClient(create_app(store, sinks=[RegistrySink(store.registry)], freshness_check_s=0)) as client:
        body = client.get("/api/v1/drift/user_stats").json()
        assert body["computed"] is False and body["breached"] is True
        assert body["features"]["amount"]["breached"] and body["features"]["amount"]["metrics"]["psi"] > 0.2
        assert client.get("/api/v1/drift/ghost").status_code == 404
        assert client.get("/api/v1/drift/user_stats?compute=true").status_code == 401
        calm_since = datetime.now(UTC).isoformat()
        time.sleep(0.01)
        serve(store, values(rng, 0, ["FR", "DE", "US"]))
        answer = client.get("/api/v1/drift/user_stats", params={"compute": "true", "since": calm_since,
                                                                "training_id": training_id},
                            headers={"X-API-Key": "k"})
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["computed"] is True and report["breached"] is False
        assert report["features"]["amount"]["serving_count"] == USERS
        late = client.get("/api/v1/drift/user_stats", params={"compute": "true", "since": "2999-01-01"},
                          headers={"X-API-Key": "k"})
        assert late.status_code == 409 and "no serving log" in late.json()["detail"]
    recoveries = [a for a in store.registry.alerts(store.config.project, kind="drift") if a.severity == "info"]
    assert sorted(a.subject for a in recoveries) == ["user_stats:amount", "user_stats:country"]
    assert all(a.message.startswith("recovered") for a in recoveries)
    assert store.registry.alert_state(store.config.project, "drift", "user_stats:amount") == "ok"


def test_stale_values_are_served_values_for_drift(repo):
    """Values past the view's freshness SLA (2 h) but within its ttl are what the model got: drift counts them."""
    store = FeatureStore(repo)
    rng = np.random.default_rng(8)
    write_offline(store, values(rng, 0, ["FR", "DE", "US"]))
    labels = pd.DataFrame({"user_id": np.arange(USERS), "event_ts": [T0 + pd.Timedelta(days=1)] * USERS})
    training_id = store.get_training_frame(labels, FEATURES, engine="duckdb").attrs["aquifer_training_id"]
    serve(store, values(rng, 30, ["FR", "DE", "US"]), age_us=3 * 3600 * 10**6)  # stale, shifted
    r = aquifer("drift", "user_stats", "--training", training_id, "-r", str(repo))
    assert r.returncode == 1, r.stdout + r.stderr
    latest = store.registry.latest_drift(store.config.project, "user_stats")
    assert latest["amount"].metrics["serving_count"] == USERS and latest["amount"].breached
