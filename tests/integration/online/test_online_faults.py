"""Redis stops mid-test: every request still answers 200 (defaults, ``unavailable``) and recovers by itself."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from fastapi.testclient import TestClient
from online_repo import now_us, write_repo

from aquifer.api import create_app
from aquifer.sdk.store import FeatureStore
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore

pytestmark = [pytest.mark.redis, pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")]
URL = "/api/v1/online-features"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(10)


def test_redis_down_then_back(tmp_path):
    port = free_port()
    proc = start_redis(port)
    try:
        store = FeatureStore(write_repo(tmp_path / "r", f"redis://127.0.0.1:{port}/0"))
        view = store.views["user_stats"]
        online = RedisOnlineStore(f"redis://127.0.0.1:{port}/0")

        def seed() -> None:
            key = entity_group(view).key_of(store.config.project, {"user_id": 1})
            online.write([(key, [("user_stats", ViewCodec.for_view(view).encode([1, 9.5, "FR", True], now_us()))])])

        seed()
        body = {"features": ["user_stats:amount", "user_stats:country"], "entities": {"user_id": [1, 2]}}
        with TestClient(create_app(store, sinks=[], freshness_check_s=0)) as client:
            ok = client.post(URL, json=body).json()
            assert ok["features"]["amount"] == [9.5, 0.0] and ok["statuses"]["amount"] == ["present", "missing"]

            stop(proc)
            for _ in range(5):
                r = client.post(URL, json=body)
                assert r.status_code == 200
                assert r.json()["features"] == {"amount": [0.0, 0.0], "country": ["unknown", "unknown"]}
                assert {s for col in r.json()["statuses"].values() for s in col} == {"unavailable"}
            assert client.get("/health").json()["status"] == "degraded"
            assert client.get("/metrics").status_code == 200
            sdk = store.get_online_features(["user_stats:amount"], [{"user_id": 1}])
            assert sdk.statuses["amount"] == ["unavailable"]

            proc = start_redis(port)  # same port, empty: the old connections are dead
            seed()
            r = client.post(URL, json=body)
            assert r.status_code == 200 and r.json()["statuses"]["amount"] == ["present", "missing"]
            assert client.get("/health").json()["status"] == "ok"
            assert store.get_online_features(["user_stats:amount"], [{"user_id": 1}]).statuses["amount"] == ["present"]
        online.close()
    finally:
        stop(proc)


def test_streamed_write_survives_a_redis_restart_between_batches(tmp_path):
    """Redis restarts (empty: connection dead, scripts gone) while batch 1 is in flight and batch 2 is being
    encoded: ``write_packed_stream`` writes both batches again to the new server, and nothing is lost."""
    from aquifer.stores.online.redis_store import pack_newer_wins_column

    port = free_port()
    procs = [start_redis(port)]
    try:
        store = FeatureStore(write_repo(tmp_path / "r", f"redis://127.0.0.1:{port}/0"))
        view = store.views["user_stats"]
        codec, group = ViewCodec.for_view(view), entity_group(view)
        keys = [group.prefix(store.config.project) + f"u{k}" for k in range(200)]
        blobs = [codec.encode([k, float(k), "s", True], now_us()) for k in range(200)]
        online = RedisOnlineStore(f"redis://127.0.0.1:{port}/0", timeout_ms=1000)

        def batches():
            yield pack_newer_wins_column(keys[:100], "user_stats", blobs[:100], 30)
            stop(procs[-1])  # batch 1 was sent to the old server; its replies will never come
            procs.append(start_redis(port))
            yield pack_newer_wins_column(keys[100:], "user_stats", blobs[100:], 30)

        assert online.write_packed_stream(batches()) == 200
        assert online.read([(k, ["user_stats"]) for k in keys]) == [[b] for b in blobs]
        online.close()
    finally:
        stop(procs[-1])
