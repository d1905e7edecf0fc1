"""Repos of the SDK tests, written to disk so ``FeatureStore`` loads them for real."""

from __future__ import annotations

import sys
import textwrap
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "pit"))

from pit_data import PROJECT, write_view

# the conformance suite's views (pit_data), as a feature repo file FeatureStore loads for real
PIT_DEFS = '''
from datetime import timedelta

from aquifer import BatchSource, Entity, FeatureView, Field
from aquifer.types import Bool, Float64, Int64, String

user = Entity("user", join_keys=["user_id"])
merchant = Entity("merchant", join_keys=["merchant_id"], key_types=[String])
txns = BatchSource("txns", path="unused.parquet", timestamp_field="event_ts")

user_stats = FeatureView(
    "user_stats", entities=[user], source=txns, ttl=timedelta(days=2),
    schema=[Field("amount", Float64, default=0.0), Field("n", Int64, default=0), Field("tag", String)],
)
merchant_risk = FeatureView(
    "merchant_risk", entities=[merchant], source=txns,
    schema=[Field("risk", Float64, default=0.5), Field("flagged", Bool, default=False)],
)
pair_stats = FeatureView(
    "pair_stats", entities=[user, merchant], source=txns, ttl=timedelta(hours=6),
    schema=[Field("cnt", Int64, default=0)],
)
not_yet_run = FeatureView(
    "not_yet_run", entities=[user], source=txns, schema=[Field("score", Float64, default=-1.0)],
)
'''

SDK_PROJECT = "sdk_quickstart"
"""The quickstart copy's project name (its online keys are prefixed by it)."""


def write_pit_repo(root: Path, dataset) -> Path:
    """A repo of the conformance views whose offline store holds the conformance rows."""
    from aquifer.sdk.store import FeatureStore

    (root / "features").mkdir(parents=True)
    (root / "features" / "defs.py").write_text(textwrap.dedent(PIT_DEFS))
    (root / "aquifer.yaml").write_text(f"project: {PROJECT}\noffline_store: {{path: offline}}\n"
                                       "online_store: {url: 'redis://127.0.0.1:1/0', timeout_ms: 200}\n")
    store = FeatureStore(root)
    for name, rows in dataset.features.items():
        write_view(store, name, rows)
    return root



def sdk_redis_url(server_url: str) -> str:
    """The SDK tests' Redis db (keys are prefixed by their own project, so a shared db is harmless)."""
    db = 1 + zlib.crc32(b"tests.integration.sdk") % 15
    return f"{server_url}/{db}" if server_url.startswith("redis://") else f"{server_url}?db={db}"
