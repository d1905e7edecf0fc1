"""p50/p99 of the discovery routes (search, a view, lineage) on a generated registry. Prints JSON.

``python bench/api.py [--chains 40] [--depth 50] [--features 20] [--requests 300] [--redis URL]``: 2,000 views
(40 chains of 50 views, each view computed by SQL from the one before it, the chain's first from a source) of 20
features each, registered in one ``Registry.apply`` (the registry's normal write path, with the dependency and
column edges a repo's analysis would give: every feature from the same feature upstream), a few runs per view
measured. Requests go through FastAPI's ``TestClient`` (the app's full HTTP stack in process), interleaved round
by round (a busy machine weighs on routes and floors alike). Floors measured in the same run: a trivial route on
the same app and client, and the bare SQL query each request makes (the project version). The first request of
each route builds the per-version snapshot: reported as ``cold_ms``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def build(chains: int, depth: int, features: int) -> tuple[Any, int, int]:
    """The generated project as a registry ``Snapshot`` (and its view and column-edge counts)."""
    from aquifer import BatchSource, Entity, FeatureView, Field, sql
    from aquifer.definitions.spec import to_spec
    from aquifer.registry.snapshot import Entry, Snapshot
    from aquifer.types import Float64, Int64

    user = Entity("user", join_keys=["user_id"], key_types=[Int64], description="A customer", location="gen.py:1")
    entries, edges, column_edges = [], [], []
    cols = [f"f{k:02d}" for k in range(features)]

    def add(d: Any) -> None:
        spec = to_spec(d)
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]
        entries.append(Entry(d.kind, d.name, digest, digest[::-1], spec, spec.get("location")))

    add(user)
    words = ["spend", "risk", "velocity", "merchant", "country", "device", "session", "refund", "chargeback"]
    for c in range(chains):
        source = BatchSource(f"source_{c:02d}", path=f"data/source_{c:02d}.parquet", location=f"gen.py:{c}",
                             schema=[Field("user_id", Int64), *(Field(n, Float64) for n in cols)],
                             description=f"Landed {words[c % len(words)]} events")
        add(source)
        upstream: Any = source
        for i in range(depth):
            name = f"view_{c:02d}_{i:02d}"
            select = ", ".join(f"{n} * 1.01 AS {n}" for n in cols)
            view = FeatureView(
                name, entities=[user], source=upstream,
                transform=sql(f"SELECT user_id, event_ts, {select} FROM {{{upstream.name}}}"),
                schema=[Field(n, Float64, default=0.0, description=f"{words[(c + k) % len(words)]} measure {k}")
                        for k, n in enumerate(cols)],
                description=f"{words[c % len(words)]} features, stage {i} of chain {c}",
                owner=f"team{c % 7}@acme.example", tags={"domain": words[c % len(words)], "tier": str(i % 3)},
                location=f"gen.py:{1000 + c * depth + i}", ttl=timedelta(days=30),
            )
            add(view)
            edges.append((upstream.kind, upstream.name, view.kind, name))
            edges.append(("entity", "user", view.kind, name))
            column_edges.extend((upstream.name, n, name, n) for n in ["user_id", "event_ts", *cols])
            upstream = view
    return Snapshot(entries=entries, edges=sorted(set(edges)), column_edges=sorted(column_edges)), \
        chains * depth, len(column_edges)


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p99/max in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1e3, 3), "p99_ms": round(p99 * 1e3, 3),
            "max_ms": round(ordered[-1] * 1e3, 3)}


def measure(call: Callable[[int], Any], n: int) -> tuple[float, list[float]]:
    """The first call's time (cold), then ``n`` timed calls."""
    start = time.perf_counter()
    call(0)
    cold = time.perf_counter() - start
    samples = []
    for i in range(n):
        start = time.perf_counter()
        call(i + 1)
        samples.append(time.perf_counter() - start)
    return cold, samples


def main() -> None:
    """Generate, register, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=40)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="online store (only read)")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from aquifer.api import create_app
    from aquifer.sdk.store import FeatureStore

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "features").mkdir()
        (root / "aquifer.yaml").write_text(f"project: bench_api\nregistry: 'sqlite:///{root}/registry.db'\n"
                                           f"online_store: {{url: '{args.redis}', timeout_ms: 200}}\n")
        store = FeatureStore(root)
        started = time.perf_counter()
        snapshot, views, n_column_edges = build(args.chains, args.depth, args.features)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        store.registry.apply("bench_api", snapshot, applied_by="bench")
        applied = time.perf_counter() - started
        names = [e.name for e in snapshot.entries if e.kind == "feature_view"]
        t0 = datetime(2024, 3, 1, tzinfo=UTC)
        for name in rng.sample(names, 200):  # a few runs each for the views the view route is asked about
            for d in range(3):
                run_id = store.registry.start_run("bench_api", name, "batch", t0 + timedelta(days=d),
                                                  t0 + timedelta(days=d + 1))
                store.registry.finish_run(run_id, status="succeeded", rows_in=1000, rows_out=1000)
        measured = [n for n in names if store.registry.runs("bench_api", view=n, limit=1)]

        app = create_app(store, freshness_check_s=0)

        @app.get("/bench/floor")
        def floor() -> dict[str, bool]:
            return {"ok": True}

        client = TestClient(app).__enter__()  # runs the app's lifespan, as a server does
        queries = ["spend", "risk measure", "chain 7", "stage 12", "velocity features", "f05", "zzz-nothing"]

        def get(path: str, **params: Any) -> Any:
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            return response

        routes: dict[str, Callable[[int], Any]] = {
            "floor_trivial_route": lambda i: get("/bench/floor"),
            "search": lambda i: get("/api/v1/feature-views", q=queries[i % len(queries)]),
            "search_tag_owner": lambda i: get("/api/v1/feature-views", tag="domain:risk", owner="team1@acme.example"),
            "view": lambda i: get(f"/api/v1/feature-views/{measured[i % len(measured)]}"),
            "lineage_depth2": lambda i: get(f"/api/v1/lineage/{names[(i * 37) % len(names)]}"),
            "lineage_depth10": lambda i: get(f"/api/v1/lineage/{names[(i * 37) % len(names)]}", depth=10),
            "lineage_depth50_up": lambda i: get(f"/api/v1/lineage/{names[(i * 37) % len(names)]}", depth=50,
                                                direction="up"),
        }
        routes["floor_sql_project_version"] = lambda i: store.registry.project_version("bench_api")
        # interleaved (one request of each route per round), so a busy machine weighs on routes and floors alike
        cold = {label: measure(call, 0)[0] for label, call in routes.items()}
        samples: dict[str, list[float]] = {label: [] for label in routes}
        for i in range(args.requests):
            for label, call in routes.items():
                start = time.perf_counter()
                call(i + 1)
                samples[label].append(time.perf_counter() - start)
        out = {label: {"cold_ms": round(cold[label] * 1e3, 2), **percentiles(samples[label])} for label in routes}
        client.__exit__(None, None, None)
    target = {k: out[k]["p99_ms"] < 50 for k in ("search", "view", "lineage_depth2")}
    print(json.dumps({
        "views": views, "features_per_view": args.features, "chain_depth": args.depth,
        "definitions": len(snapshot.entries), "column_edges": n_column_edges, "requests_per_route": args.requests,
        "generate_s": round(generated, 2), "registry_apply_s": round(applied, 2), "routes": out,
        "p99_under_50ms": target, "load_average_1m": round(__import__("os").getloadavg()[0], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
