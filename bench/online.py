"""Online-store benchmark (prints JSON): lookups (SDK, HTTP) beside the raw pipelined HMGET + decode floor,
materialization beside a raw pipelined HSET floor, and blob vs per-feature-field layouts.

Usage: ``.venv/bin/python bench/online.py [--redis redis://127.0.0.1:6379/0] [--sizes 100000,1000000]``.
Keys live under a throw-away project name and are deleted at the end (no FLUSHDB).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import redis

from aquifer.sdk.store import FeatureStore
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.frames import encode_batch
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore

FEATURES = """
from datetime import timedelta
from aquifer import BatchSource, Entity, FeatureView, Field
from aquifer.types import Float64
user = Entity("user", join_keys=["user_id"])
src = BatchSource("src", path="data/x.parquet")
{views}
"""
VIEW = 'v{n} = FeatureView("v{n}", entities=[user], source=src, ttl=timedelta(days=3650), ' \
       'schema=[Field(f"v{n}_f{{i}}", Float64, default=0.0) for i in range(10)])'


def make_repo(root: Path, url: str, project: str) -> FeatureStore:
    (root / "features").mkdir(parents=True)
    (root / "features" / "defs.py").write_text(textwrap.dedent(FEATURES.format(
        views="\n".join(VIEW.format(n=n) for n in range(3)))))
    (root / "aquifer.yaml").write_text(
        f"project: {project}\nregistry: sqlite:///{root}/reg.db\n"
        f"online_store: {{url: '{url}', timeout_ms: 1000, max_entities: 1000}}\n"
        "spark: {master: 'local[*]', conf: {spark.driver.memory: 4g, spark.sql.shuffle.partitions: 4}}\n"
    )
    return FeatureStore(root)


def pct(samples: list[float]) -> dict[str, float]:
    a = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 4), "p99_ms": round(float(np.percentile(a, 99)), 4)}


def seed(store: FeatureStore, n: int) -> None:
    online = RedisOnlineStore.from_config(store.config.online_store)
    now = datetime.now(UTC)
    for v in ("v0", "v1", "v2"):
        view = store.views[v]
        table = pa.table({"user_id": np.arange(n), "event_ts": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
                          **{f.name: np.random.rand(n) for f in view.features}})
        writes, _ = encode_batch(table, ViewCodec.for_view(view), entity_group(view), store.config.project, v)
        for i in range(0, n, 2000):
            online.write(writes[i:i + 2000])
    online.close()


def bench_reads(store: FeatureStore, rounds: int, http_url: str | None) -> dict:
    client = redis.Redis.from_url(store.config.online_store["url"])
    prefix = f"aq:{store.config.project}:user:"
    codecs = {v: ViewCodec.for_view(store.views[v]) for v in ("v0", "v1", "v2")}
    online = RedisOnlineStore.from_config(store.config.online_store)
    # a keep-alive raw socket speaking just enough HTTP/1.1: the client's own overhead (http.client parses
    # headers with the email package) stays out of the server's latency
    web_conn = RawHTTP(http_url) if http_url else None
    out = {}
    rng = np.random.default_rng(0)
    for label, n, views in (("1x10", 1, ["v0"]), ("100x10", 100, ["v0"]), ("100x10x3views", 100, ["v0", "v1", "v2"])):
        refs = [f"{v}:{v}_f{i}" for v in views for i in range(10)]
        floor, packed, sdk, web = [], [], [], []
        store.get_online_features(refs, [{"user_id": 1}])
        for _ in range(rounds):
            ids = [int(x) for x in rng.integers(0, 10_000, n)]
            t0 = time.perf_counter()
            pipe = client.pipeline(transaction=False)
            for i in ids:
                pipe.hmget(prefix + str(i), views)
            for row in pipe.execute():
                for v, blob in zip(views, row, strict=True):
                    codecs[v].decode(blob)
            t1 = time.perf_counter()
            store.get_online_features(refs, {"user_id": ids})
            t2 = time.perf_counter()
            # second floor: the same reads packed by hand (what RedisOnlineStore.read sends) + decode
            for row in online.read([(prefix + str(i), views) for i in ids]):
                for v, blob in zip(views, row, strict=True):
                    codecs[v].decode(blob)
            t3 = time.perf_counter()
            floor.append(t1 - t0)
            sdk.append(t2 - t1)
            packed.append(t3 - t2)
            if web_conn:
                body = json.dumps({"features": refs, "entities": {"user_id": ids}})
                request = web_conn.request_bytes("/api/v1/online-features", body.encode())
                t4 = time.perf_counter()
                status, raw = web_conn.post(request)
                web.append(time.perf_counter() - t4)  # until the whole answer has arrived
                assert status == 200 and len(json.loads(raw)["statuses"]) == len(refs), raw[:300]
        entry = {"floor_hmget_decode": pct(floor), "floor_packed_hmget_decode": pct(packed), "sdk": pct(sdk)}
        entry["sdk_over_floor_p50"] = round(entry["sdk"]["p50_ms"] / entry["floor_hmget_decode"]["p50_ms"], 2)
        entry["sdk_over_packed_floor_p50"] = round(
            entry["sdk"]["p50_ms"] / entry["floor_packed_hmget_decode"]["p50_ms"], 2)
        if web_conn:
            entry["http"] = pct(web)
        out[label] = entry
    client.close()
    online.close()
    if web_conn:
        web_conn.close()
    return out


class RawHTTP:
    """A minimal keep-alive HTTP/1.1 client: POST a prepared request, read the status and the whole body."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request_bytes(self, path: str, body: bytes) -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    def post(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            body += self._recv()
        return int(lines[0].split()[1]), body

    def _recv(self) -> bytes:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def bench_layouts(url: str, project: str, n: int, rounds: int) -> dict:
    """Blob per view vs one field per feature (+ a ts field), 100 entities x 3 views x 10 features."""
    client = redis.Redis.from_url(url)
    fields = [[f"v{v}_f{i}" for i in range(10)] for v in range(3)]
    from aquifer import Field
    from aquifer.types import Float64

    codecs = [ViewCodec([Field(f, Float64) for f in fs]) for fs in fields]
    ts = int(time.time() * 1e6)
    pipe = client.pipeline(transaction=False)
    for e in range(n):
        vals = np.random.rand(30).tolist()
        blob_map = {f"v{v}": codecs[v].encode(vals[v * 10:(v + 1) * 10], ts) for v in range(3)}
        pipe.hset(f"aq:{project}:blob:{e}", mapping=blob_map)
        flat = {f: repr(vals[v * 10 + i]) for v in range(3) for i, f in enumerate(fields[v])}
        flat.update({f"v{v}:__ts": ts for v in range(3)})
        pipe.hset(f"aq:{project}:flat:{e}", mapping=flat)
        if e % 1000 == 999:
            pipe.execute()
    pipe.execute()
    flat_fields = [f for v in range(3) for f in [*fields[v], f"v{v}:__ts"]]
    rng = np.random.default_rng(1)
    blob_t, flat_t = [], []
    for _ in range(rounds):
        ids = rng.integers(0, n, 100)
        t0 = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for e in ids:
            pipe.hmget(f"aq:{project}:blob:{e}", ["v0", "v1", "v2"])
        for row in pipe.execute():
            for c, b in zip(codecs, row, strict=True):
                c.decode(b)
        t1 = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for e in ids:
            pipe.hmget(f"aq:{project}:flat:{e}", flat_fields)
        for row in pipe.execute():
            [float(x) for x in row]
        flat_t.append(time.perf_counter() - t1)
        blob_t.append(t1 - t0)
    mem_blob = client.memory_usage(f"aq:{project}:blob:0")
    mem_flat = client.memory_usage(f"aq:{project}:flat:0")
    client.close()
    return {"read_100x3x10_blob": pct(blob_t), "read_100x3x10_per_feature": pct(flat_t),
            "bytes_per_entity_blob": mem_blob, "bytes_per_entity_per_feature": mem_flat}


def bench_materialize(store: FeatureStore, n: int, key_base: int | None = None) -> dict:
    from aquifer.runs.materialize import clean_view, materialize

    end = datetime(2024, 3, 1, tzinfo=UTC)
    view = store.views["v0"]
    root = store.config.offline_path / store.config.project / "v0" / "event_date=2024-02-29"
    root.mkdir(parents=True, exist_ok=True)
    ts = pd.Timestamp(end - timedelta(hours=1))
    base = 10_000_000 * (n // 100_000) if key_base is None else key_base
    table = pa.table({"user_id": np.arange(n, dtype=np.int64) + base,
                      "event_ts": pa.array(np.full(n, ts.value // 1000), pa.timestamp("us", tz="UTC")),
                      "created_ts": pa.array(np.full(n, ts.value // 1000), pa.timestamp("us", tz="UTC")),
                      **{f.name: np.random.rand(n) for f in view.features}})
    pq.write_table(table, root / "part-0.parquet", coerce_timestamps="us")
    # floor: the same keys and blobs, pre-encoded, pushed with raw pipelined HSETs from one process
    writes, _ = encode_batch(table, ViewCodec.for_view(view), entity_group(view), store.config.project, "floor")
    client = redis.Redis.from_url(store.config.online_store["url"])
    t0 = time.perf_counter()
    for i in range(0, n, 2000):
        pipe = client.pipeline(transaction=False)
        for key, ((field, blob),) in writes[i:i + 2000]:
            pipe.hset(key, field, blob)
        pipe.execute()
    floor_s = time.perf_counter() - t0
    client.close()
    # second floor: the same HSETs packed by hand on one connection (no redis-py pipeline overhead per command)
    online = RedisOnlineStore.from_config({**store.config.online_store, "timeout_ms": 5000})
    t0 = time.perf_counter()
    for i in range(0, n, 2000):
        chunk = writes[i:i + 2000]
        payload = b"".join(b"*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$6\r\nfloor2\r\n$%d\r\n%s\r\n"
                           % (len(key), key.encode(), len(blob), blob) for key, ((_, blob),) in chunk)
        online._roundtrip(payload, len(chunk))
    packed_s = time.perf_counter() - t0
    online.close()
    out = {"floor_hset_s": round(floor_s, 2), "floor_rows_per_s": round(n / floor_s),
           "floor_packed_hset_s": round(packed_s, 2)}
    for engine in ("duckdb", "spark"):  # auto picks duckdb here (local master, small range)
        clean_view(store, "v0")  # every engine writes every key (newer-wins would skip equal values)
        t0 = time.perf_counter()
        report = materialize(store, ["v0"], end=end, full=True, progress=False, engine=engine)[0]
        seconds = time.perf_counter() - t0
        out[engine] = {"entities": report.entities, "materialize_s": round(seconds, 2),
                       "materialize_rows_per_s": round(n / seconds), "ratio_to_floor": round(floor_s / seconds, 2),
                       "ratio_to_packed_floor": round(packed_s / seconds, 2)}
    import shutil

    shutil.rmtree(root)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    code = ("import uvicorn; from aquifer.sdk.store import FeatureStore; from aquifer.api import create_app; "
            f"uvicorn.run(create_app(FeatureStore({str(root)!r}), sinks=[], freshness_check_s=0), "
            f"host='127.0.0.1', port={port}, log_level='warning', access_log=False, http='httptools', loop='uvloop')")
    proc = subprocess.Popen([sys.executable, "-c", code])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def cleanup(url: str, project: str) -> None:
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"aq:{project}:*", count=5000):
        client.unlink(key)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=os.environ.get("AQUIFER_BENCH_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--sizes", default="100000,1000000", help="materialize sizes ('' to skip)")
    args = parser.parse_args()
    project = f"bench_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        store = make_repo(Path(tmp), args.redis, project)
        try:
            seed(store, 10_000)
            proc, http_url = start_server(Path(tmp))
            try:
                results = {"reads": bench_reads(store, args.rounds, http_url)}
            finally:
                proc.terminate()
                proc.wait(10)
            results["layouts"] = bench_layouts(args.redis, project, 10_000, args.rounds // 2)
            if args.sizes:
                sizes = [int(n) for n in args.sizes.split(",")]
                # warm-up (not reported): JVM start, JIT compilation of the aggregation and a Python worker per
                # core are one-time costs of a long-lived process, not throughput; the smallest size starts them all
                bench_materialize(store, 1000)
                results["materialize_warmup"] = bench_materialize(store, min(sizes), key_base=900_000_000)
                results["materialize"] = {n: bench_materialize(store, n) for n in sizes}
        finally:
            cleanup(args.redis, project)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
