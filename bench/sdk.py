"""ML SDK throughput (prints JSON; progress on stderr): datasets and the transformer beside their floors.

A throw-away repo: one view of 20 features (16 Float64, 2 Int64, 1 Bool, 1 String) for ``--users`` users, one
feature row per user per day over ``--days`` days, written in the offline layout with pyarrow; ``--rows`` labels
at random times. Figures:

- ``offline``: ``FeatureDataset`` (offline, the cached frame: built once untimed, then constructed again from the
  cache, timed as ``cached_construct_s``) through ``DataLoader(batch_size=1024, shuffle=True,
  collate_fn=collate)`` with ``num_workers`` 0 and 2, samples/s over an epoch (best of ``--repeat``), beside the
  floor: a plain ``TensorDataset`` of the same arrays (features, categorical, label) through the same
  ``DataLoader`` with torch's default collate. ``ratio`` = dataset / floor (target >= 0.8).
- ``online``: the latest values materialized into Redis (``--redis``; keys under a throw-away project, deleted at
  the end), ``FeatureDataset(source="online")`` over ``--online-rows`` entities through ``DataLoader(batch_size=
  1024, num_workers=0)`` beside a loop of ``FeatureStore.get_online_features`` on the same batches.
- ``transformer``: ``FeatureTransformer.transform`` rows/s, offline (the DuckDB point-in-time join of all labels)
  and online (``--online-rows`` entities in batches of 1024).

Usage: ``.venv/bin/python bench/sdk.py [--rows 500000] [--redis redis://127.0.0.1:6379/0]``; ``--quick`` for a
smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import textwrap
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import redis
import torch
from torch.utils.data import DataLoader, TensorDataset

from aquifer.sdk.sklearn import FeatureTransformer
from aquifer.sdk.store import FeatureStore
from aquifer.sdk.torch import FeatureDataset, collate
from aquifer.stores.offline.layout import view_path

BATCH = 1024
FEATURES = [f"f{i}" for i in range(16)] + ["n0", "n1", "flag", "segment"]
DEFS = '''
from datetime import timedelta
from aquifer import BatchSource, Entity, FeatureService, FeatureView, Field
from aquifer.types import Bool, Float64, Int64, String
user = Entity("user", join_keys=["user_id"])
src = BatchSource("src", path="data/src.parquet", timestamp_field="event_ts")
stats = FeatureView(
    "stats", entities=[user], source=src, ttl=timedelta(days=3),
    schema=[*(Field(f"f{i}", Float64, default=0.0) for i in range(16)), Field("n0", Int64, default=0),
            Field("n1", Int64, default=0), Field("flag", Bool, default=False),
            Field("segment", String, default="none")],
)
model = FeatureService("model", features=[stats])
'''


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_repo(root: Path, url: str, project: str, users: int, days: int, end: datetime) -> FeatureStore:
    """The repo, its source file and its offline rows (one file per day)."""
    (root / "features").mkdir(parents=True)
    (root / "features" / "defs.py").write_text(textwrap.dedent(DEFS))
    (root / "aquifer.yaml").write_text(
        f"project: {project}\nregistry: sqlite:///{root}/registry.db\noffline_store: {{path: offline}}\n"
        f"online_store: {{url: '{url}', timeout_ms: 2000, max_entities: 5000}}\noffline_engine: duckdb\n")
    rng = np.random.default_rng(1)
    store = FeatureStore(root)
    folder = view_path(store.config.offline_path, project, "stats")
    frames = []
    for day in range(days):
        moment = end - timedelta(days=days - day)
        ts = pd.Timestamp(moment) + pd.to_timedelta(rng.integers(0, 86_400, users), unit="s")
        frame = pd.DataFrame({"user_id": np.arange(users, dtype=np.int64),
                              "event_ts": ts.astype("datetime64[us, UTC]")})
        frame["created_ts"] = frame["event_ts"]
        for i in range(16):
            frame[f"f{i}"] = rng.normal(size=users)
        frame["n0"] = rng.integers(0, 100, users)
        frame["n1"] = rng.integers(0, 5, users)
        frame["flag"] = rng.random(users) < 0.3
        frame["segment"] = rng.choice(["a", "b", "c", "d", "e"], users)
        part = folder / f"event_date={moment:%Y-%m-%d}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), part / "part-0.parquet")
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True).drop(columns="created_ts")
    (root / "data").mkdir()
    data.to_parquet(root / "data" / "src.parquet")
    for day in range(days):  # what a batch run would have recorded
        moment = (end - timedelta(days=days - day)).replace(hour=0, minute=0, second=0, microsecond=0)
        store.registry.add_interval(project, "stats", moment, moment + timedelta(days=1),
                                    data_fingerprint=store.analysis.fingerprints[("feature_view", "stats")].data)
    return store


def epoch_rate(loader: DataLoader, repeat: int, key: Any) -> float:
    """Best samples/s of ``repeat`` full passes."""
    best = 0.0
    for _ in range(repeat):
        start, n = time.perf_counter(), 0
        for batch in loader:
            n += len(key(batch))
        best = max(best, n / (time.perf_counter() - start))
    return best


def bench_offline(store: FeatureStore, labels: pd.DataFrame, repeat: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        FeatureDataset(store, labels, "model", label="y")  # builds and caches the frame
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        dataset = FeatureDataset(store, labels, "model", label="y")
        cached_s = time.perf_counter() - start
    assert dataset.cache_hit
    whole = dataset.__getitems__(range(len(dataset))).batch
    floor = TensorDataset(whole["features"], whole["categorical"], whole["label"])
    out: dict[str, Any] = {"rows": len(dataset), "features": len(dataset.feature_names),
                           "build_and_cache_s": round(build_s, 3), "cached_construct_s": round(cached_s, 3)}
    for workers in (0, 2):
        log(f"offline DataLoader, num_workers={workers}")
        ours = epoch_rate(DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=workers,
                                     collate_fn=collate), repeat, lambda b: b["label"])
        plain = epoch_rate(DataLoader(floor, batch_size=BATCH, shuffle=True, num_workers=workers), repeat,
                           lambda b: b[2])
        out[f"num_workers_{workers}"] = {"feature_dataset_samples_per_s": round(ours),
                                         "tensor_dataset_floor_samples_per_s": round(plain),
                                         "ratio": round(ours / plain, 3)}
    return out


def bench_online(store: FeatureStore, entities: pd.DataFrame, repeat: int) -> dict[str, Any]:
    """The dataset's epochs and the lookup loop, interleaved (Redis and the machine are shared), best of each."""
    dataset = FeatureDataset(store, entities, "model", label="y", source="online")
    loader = DataLoader(dataset, batch_size=BATCH, num_workers=0, collate_fn=collate)
    batches = [entities.iloc[i:i + BATCH][["user_id"]].to_dict("records") for i in range(0, len(entities), BATCH)]
    ours = best = 0.0
    for _ in range(repeat):
        ours = max(ours, epoch_rate(loader, 1, lambda b: b["label"]))
        start = time.perf_counter()
        for rows in batches:
            store.get_online_features("model", rows)
        best = max(best, len(entities) / (time.perf_counter() - start))
    served = collate(dataset.__getitems__(range(min(len(dataset), 2000))))["status"]
    return {"entities": len(entities), "feature_dataset_samples_per_s": round(ours),
            "get_online_features_loop_samples_per_s": round(best), "ratio": round(ours / best, 3),
            "share_present_or_stale": round(float((served <= 1).float().mean()), 3)}


def bench_transformer(store: FeatureStore, labels: pd.DataFrame, entities: pd.DataFrame,
                      repeat: int) -> dict[str, Any]:
    keys = labels[["user_id", "event_ts"]]
    offline = FeatureTransformer(store, "model").fit(keys.head(10_000))
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        offline.transform(keys)
        best = max(best, len(keys) / (time.perf_counter() - start))
    online = FeatureTransformer(store, "model", source="online").fit(entities[["user_id"]].head(BATCH))
    best_online = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(0, len(entities), BATCH):
            online.transform(entities.iloc[i:i + BATCH][["user_id"]])
        best_online = max(best_online, len(entities) / (time.perf_counter() - start))
    return {"offline_rows": len(keys), "offline_rows_per_s": round(best), "online_rows": len(entities),
            "online_rows_per_s_batches_of_1024": round(best_online)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=500_000, help="labels (offline dataset and transformer)")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--online-rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="50k labels, 5k online entities, one pass each")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.online_rows, args.users, args.repeat = 50_000, 5_000, 5_000, 1
    return args


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    load_start, started = os.getloadavg(), time.perf_counter()
    project = f"bench_sdk_{uuid.uuid4().hex[:8]}"
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rng = np.random.default_rng(2)
    with tempfile.TemporaryDirectory(prefix="aq_bench_sdk_") as tmp:
        log("writing the repo and its offline rows")
        store = make_repo(Path(tmp) / "repo", args.redis, project, args.users, args.days, end)
        offset = pd.to_timedelta(rng.integers(0, args.days * 86_400, args.rows), unit="s")
        labels = pd.DataFrame({"user_id": rng.integers(0, args.users, args.rows),
                               "event_ts": pd.Timestamp(end - timedelta(days=args.days)) + offset,
                               "y": rng.integers(0, 2, args.rows)})
        entities = pd.DataFrame({"user_id": rng.integers(0, args.users, args.online_rows),
                                 "y": rng.integers(0, 2, args.online_rows)})
        try:
            log("offline dataset")
            offline = bench_offline(store, labels, args.repeat)
            log("materializing")
            store.materialize(engine="duckdb", progress=False)
            log("online dataset")
            online = bench_online(store, entities, args.repeat)
            log("transformer")
            transformer = bench_transformer(store, labels, entities, args.repeat)
        finally:
            client = redis.Redis.from_url(args.redis)
            keys = list(client.scan_iter(match=f"aq:{project}:*", count=1000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i:i + 1000])
            client.close()
            store.close()
    print(json.dumps({
        "benchmark": "sdk", "quick": args.quick, "batch_size": BATCH, "torch": torch.__version__,
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "offline": offline, "online": online, "transformer": transformer,
        "total_s": round(time.perf_counter() - started, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
