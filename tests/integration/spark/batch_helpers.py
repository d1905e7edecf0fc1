"""Helpers for the Spark batch tests: tmp repos, test data, reading results back."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd

T0 = pd.Timestamp("2026-01-01", tz="UTC")

HEADER = """
from datetime import timedelta
from aquifer import (Aggregation, AggregationView, BatchSource, Entity, FeatureView, Field, KafkaSource,
                     Session, Sliding, Tumbling, feature_view, sql)
from aquifer.types import Bool, Float64, Int64, String

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
"""


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Parquet as a pandas user writes it (nanosecond timestamps, the index's metadata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path)


def config_text(tmp: Path, extra: str = "") -> str:
    """An aquifer.yaml keeping everything inside ``tmp``."""
    return textwrap.dedent(f"""
        project: t
        registry: sqlite:///{tmp}/reg.db
        offline_store: {{path: {tmp}/offline}}
        batch: {{start: "2025-12-01T00:00:00+00:00", default_lateness: 1h}}
    """) + extra


def offline(store, view: str) -> pd.DataFrame:
    """A view's offline rows (without the partition column), sorted by keys and time."""
    from aquifer.stores.offline.reader import read_view_pandas

    frame = read_view_pandas(store.config.offline_path, store.config.project, view)
    if frame.empty:
        return frame
    frame = frame.drop(columns=[c for c in ("event_date",) if c in frame.columns])
    keys = [c for c in frame.columns if c.endswith("_id")]
    return frame.sort_values([*keys, "event_ts"]).reset_index(drop=True)


def transactions(n_users: int = 4, days: int = 3, per_day: int = 6, seed: int = 1) -> pd.DataFrame:
    """Small deterministic transactions: user_id, amount, country, event_ts, ingested_at."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = n_users * days * per_day
    ts = T0 + pd.to_timedelta(np.sort(rng.integers(0, days * 86400, n)), unit="s")
    return pd.DataFrame({
        "user_id": rng.integers(1, n_users + 1, n).astype("int64"),
        "amount": np.round(rng.uniform(1, 2000, n), 2),
        "country": rng.choice(["US", "GB", "DE"], n),
        "event_ts": ts,
        "ingested_at": ts + pd.Timedelta(minutes=5),
    })
