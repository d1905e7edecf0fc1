"""Web UI page times on the quickstart (prints JSON): server time of every page, p50/p99/max in milliseconds.

The app is the one ``aquifer serve`` runs (``create_app`` + ``aquifer.ui.mount``) over the quickstart as the demo
leaves it (applied, run on Spark, materialized into Redis, validated, drift checked). Server time is measured
around the ASGI app (request in to last body byte out), so the HTTP client's own cost is not in it; every page
is requested ``--repeat`` times after a few warm-up requests. The floor is a static file from memory through the
same stack (routing, middleware): what a page costs beyond it is the page's own work (registry queries, Redis,
templates, SVG). The issue's target: every page under 100 ms.

Usage::

    .venv/bin/python bench/ui.py --repo .aquifer-demo      # a demo repo (``make demo`` leaves one there)
    .venv/bin/python bench/ui.py                           # runs ``aquifer demo`` into a temp dir first (~2 min)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PAGES = {
    "home": "/ui/",
    "search": "/ui/?q=amount",
    "view user_spend": "/ui/views/user_spend",
    "view user_spend_shape": "/ui/views/user_spend_shape",
    "view user_txn_windows": "/ui/views/user_txn_windows",
    "view merchant_risk": "/ui/views/merchant_risk",
    "lineage user_spend": "/ui/lineage/user_spend",
    "lineage user_spend, columns, depth 3": "/ui/lineage/user_spend?depth=3&columns=1",
    "entity user": "/ui/entities/user",
    "source transactions": "/ui/sources/transactions",
    "service fraud_model_v1": "/ui/services/fraud_model_v1",
    "entities": "/ui/entities",
    "unknown view (404)": "/ui/views/nope",
}
FLOOR = "/ui/static/ui.css"


def timed(app: Any, times: list[float]) -> Any:
    """``app`` wrapped to append each request's server time (seconds) to ``times``."""
    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        await app(scope, receive, send)
        times.append(time.perf_counter() - start)

    return wrapper


def summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {"p50_ms": round(statistics.median(ms), 2), "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
            "max_ms": round(ms[-1], 2), "n": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help="a demo repo (default: run the demo into a temp dir)")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    repo = args.repo
    if repo is None:
        repo = Path(tempfile.mkdtemp(prefix="aquifer-ui-bench-")) / "demo"
        subprocess.run([str(Path(sys.executable).with_name("aquifer")), "demo", "--directory", str(repo)], check=True,
                       stdout=subprocess.DEVNULL)

    from fastapi.testclient import TestClient

    from aquifer.api import create_app
    from aquifer.sdk.store import FeatureStore
    from aquifer.ui import mount

    store = FeatureStore(repo)
    times: list[float] = []
    app = mount(create_app(store, sinks=[], freshness_check_s=0))
    out: dict[str, Any] = {"repo": str(repo), "views": len(store.views), "repeat": args.repeat, "pages": {}}
    with TestClient(timed(app, times)) as client:
        for name, path in {"floor (static file)": FLOOR, **PAGES}.items():
            for _ in range(5):
                client.get(path)
            times.clear()
            status = {client.get(path).status_code for _ in range(args.repeat)}
            entry = {"path": path, "status": sorted(status), **summary(times)}
            if name.startswith("floor"):
                out["floor"] = entry
            else:
                out["pages"][name] = entry
    store.close()
    out["slowest_p99_ms"] = max(p["p99_ms"] for p in out["pages"].values())
    out["target_ms"] = 100
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
