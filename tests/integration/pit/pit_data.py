"""Seeded PIT test data: views written in the offline layout with pyarrow, plus labels that hit every edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aquifer.config import load_config
from aquifer.definitions import Entity, FeatureView, Field
from aquifer.definitions.sources import BatchSource
from aquifer.stores.offline.layout import view_path
from aquifer.types import Bool, Float64, Int64, String

T0 = pd.Timestamp("2024-03-01", tz="UTC")
PROJECT = "pit"

user = Entity("user", join_keys=["user_id"])
merchant = Entity("merchant", join_keys=["merchant_id"])
_source = BatchSource("txns", path="unused.parquet", timestamp_field="event_ts")

user_stats = FeatureView(
    "user_stats", entities=[user], source=_source, ttl=timedelta(days=2),
    schema=[Field("amount", Float64, default=0.0), Field("n", Int64, default=0), Field("tag", String)],
)
merchant_risk = FeatureView(
    "merchant_risk", entities=[merchant], source=_source,
    schema=[Field("risk", Float64, default=0.5), Field("flagged", Bool, default=False)],
)
pair_stats = FeatureView(
    "pair_stats", entities=[user, merchant], source=_source, ttl=timedelta(hours=6),
    schema=[Field("cnt", Int64, default=0)],
)
empty_view = FeatureView(
    "not_yet_run", entities=[user], source=_source, schema=[Field("score", Float64, default=-1.0)],
)
VIEWS = (user_stats, merchant_risk, pair_stats, empty_view)


def make_store(root: Path) -> SimpleNamespace:
    """A stand-in for ``FeatureStore``: what ``get_training_frame`` reads (config, views, services)."""
    (root / "aquifer.yaml").write_text(f"project: {PROJECT}\noffline_store: {{path: offline}}\n")
    config = load_config(root)
    return SimpleNamespace(config=config, views={v.name: v for v in VIEWS}, services={})


def write_view(store: SimpleNamespace, view: str, rows: pd.DataFrame, files_per_day: int = 2) -> None:
    """Write feature rows in the offline layout: ``<root>/<project>/<view>/event_date=D/part-i.parquet``."""
    base = view_path(store.config.offline_path, PROJECT, view)
    days = rows["event_ts"].dt.strftime("%Y-%m-%d")
    for day, part in rows.groupby(days, sort=True):
        folder = base / f"event_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        step = -(-len(part) // files_per_day)
        for i in range(files_per_day):
            chunk = part.iloc[i * step:(i + 1) * step]
            table = pa.Table.from_pandas(chunk.reset_index(drop=True), preserve_index=False)
            pq.write_table(table, folder / f"part-{i}.parquet", coerce_timestamps="us")


def _times(rng: np.random.Generator, n: int, days: int = 8) -> pd.Series:
    seconds = rng.integers(0, days * 86_400, n)
    return pd.Series(T0 + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us, UTC]")


def _with_ties(rng: np.random.Generator, rows: pd.DataFrame, keys: list[str], n_ties: int) -> pd.DataFrame:
    """Copy some rows to the same (keys, event_ts) with a later or earlier created_ts and other values."""
    tied = rows.sample(n=n_ties, random_state=int(rng.integers(1 << 30))).copy()
    tied["created_ts"] = tied["created_ts"] + pd.to_timedelta(rng.choice([-1, 1], n_ties) * 60, unit="s")
    for col in rows.columns:
        if col not in (*keys, "event_ts", "created_ts") and pd.api.types.is_float_dtype(rows[col]):
            tied[col] = rng.normal(size=n_ties)
    return pd.concat([rows, tied], ignore_index=True)


@dataclass
class Dataset:
    """Feature rows per view and the labels built against them."""

    features: dict[str, pd.DataFrame]
    labels: pd.DataFrame


def generate(seed: int = 7, n_users: int = 40, n_merchants: int = 12, n_rows: int = 1500,
             n_labels: int = 1200) -> Dataset:
    """Random feature rows for three views and labels covering every edge case of the PIT rules."""
    rng = np.random.default_rng(seed)
    merchants = np.array([f"m{i:02d}" for i in range(n_merchants)])
    # users >= n_users - 5 never get features ("entities with no features")
    known_users = n_users - 5
    ev = _times(rng, n_rows)
    us = pd.DataFrame({
        "user_id": rng.integers(0, known_users, n_rows), "event_ts": ev,
        "created_ts": ev + pd.to_timedelta(rng.integers(0, 3600, n_rows), unit="s"),
        "amount": rng.normal(100, 30, n_rows), "n": rng.integers(0, 50, n_rows),
        "tag": rng.choice(["a", "b", "c"], n_rows),
    })
    # nulls inside feature rows: a later row with a null amount must win whole, not be patched from an older one
    us.loc[rng.random(n_rows) < 0.15, "amount"] = np.nan
    us["tag"] = us["tag"].where(rng.random(n_rows) >= 0.1, None)
    us = _with_ties(rng, us, ["user_id"], 120)
    n_m = n_rows // 3
    ev = _times(rng, n_m)
    mr = pd.DataFrame({
        "merchant_id": rng.choice(merchants[:-2], n_m), "event_ts": ev, "created_ts": ev,
        "risk": rng.random(n_m), "flagged": rng.random(n_m) < 0.2,
    })
    mr = _with_ties(rng, mr, ["merchant_id"], 40)
    ev = _times(rng, n_rows)
    ps = pd.DataFrame({
        "user_id": rng.integers(0, known_users, n_rows), "merchant_id": rng.choice(merchants[:-2], n_rows),
        "event_ts": ev, "created_ts": ev, "cnt": rng.integers(0, 9, n_rows),
    })
    features = {"user_stats": us, "merchant_risk": mr, "pair_stats": ps}
    return Dataset(features, _labels(rng, features, n_users, merchants, n_labels))


def _labels(rng: np.random.Generator, features: dict[str, pd.DataFrame], n_users: int, merchants: np.ndarray,
            n: int) -> pd.DataFrame:
    # timestamps from a day before the first feature (labels before any feature) to a day after the last
    seconds = rng.integers(-86_400, 9 * 86_400, n)
    labels = pd.DataFrame({
        "user_id": rng.integers(0, n_users + 3, n),  # includes users with no features and unknown users
        "merchant_id": rng.choice(np.append(merchants, "unknown"), n),
        "event_ts": (T0 + pd.to_timedelta(seconds, unit="s")),
        "label": rng.integers(0, 2, n), "note": rng.choice(["x", "y"], n),
    })
    # exact equality: labels at a feature row's event_ts (available), and half a second before it (not)
    pairs = features["pair_stats"].sample(n=60, random_state=1)
    exact = pd.DataFrame({"user_id": pairs["user_id"].to_numpy(), "merchant_id": pairs["merchant_id"].to_numpy(),
                          "event_ts": pairs["event_ts"].to_numpy(), "label": 1, "note": "exact"})
    early = exact.assign(event_ts=exact["event_ts"] - pd.Timedelta(milliseconds=500), note="early")
    ties = features["user_stats"].sample(n=60, random_state=2)
    at_ties = pd.DataFrame({"user_id": ties["user_id"].to_numpy(), "merchant_id": "m00",
                            "event_ts": ties["event_ts"].to_numpy(), "label": 0, "note": "tie"})
    out = pd.concat([labels, exact, early, at_ties], ignore_index=True)
    out["event_ts"] = out["event_ts"].astype("datetime64[us, UTC]")
    dupes = out.sample(n=40, random_state=3)  # duplicate label rows stay separate rows
    out = pd.concat([out, dupes], ignore_index=True)
    return out.sample(frac=1.0, random_state=4).reset_index(drop=True)
