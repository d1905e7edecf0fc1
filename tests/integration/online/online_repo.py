"""A small feature repo for the online tests, written to disk so ``FeatureStore`` loads it for real."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

FEATURES = '''
from datetime import timedelta

from aquifer import BatchSource, Entity, FeatureService, FeatureView, Field
from aquifer.types import Bool, Bytes, Float32, Float64, Int32, Int64, String, Timestamp

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
merchant = Entity("merchant", join_keys=["merchant_id"], key_types=[Int64])
account = Entity("account", join_keys=["bank", "account_no"], key_types=[String, Int64])

events = BatchSource("events", path="data/events.parquet", timestamp_field="event_ts")

user_stats = FeatureView(
    "user_stats", entities=[user], source=events,
    schema=[Field("txn_count", Int64, default=0), Field("amount", Float64, default=0.0),
            Field("country", String, default="unknown"), Field("is_vip", Bool, default=False)],
    ttl=timedelta(days=30), freshness=timedelta(hours=2),
)
user_profile = FeatureView(
    "user_profile", entities=[user], source=events,
    schema=[Field("age", Int32, default=-1), Field("score", Float32), Field("signup_ts", Timestamp),
            Field("avatar", Bytes)],
)
merchant_risk = FeatureView(
    "merchant_risk", entities=[merchant], source=events,
    schema=[Field("risk", Float64, default=0.5), Field("category", String, default="other")],
    ttl=timedelta(days=7),
)
account_balance = FeatureView(
    "account_balance", entities=[account], source=events,
    schema=[Field("balance", Float64, default=0.0)], ttl=timedelta(days=3650),
)
user_wide = FeatureView(
    "user_wide", entities=[user], source=events,
    schema=[Field(f"f{i}", Float64, default=0.0) for i in range(10)], ttl=timedelta(days=3650),
)
scoring = FeatureService("scoring", features=[user_stats[["amount", "country"]], merchant_risk])
'''


HOUR_US = 3600 * 1_000_000


def now_us() -> int:
    """Now, in µs since the epoch."""
    return time.time_ns() // 1000


def write_repo(root: Path, redis_url: str, *, api: str = "", project: str = "online_test") -> Path:
    """Write ``aquifer.yaml`` and ``features/defs.py`` under ``root``; returns ``root``."""
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "features" / "defs.py").write_text(textwrap.dedent(FEATURES))
    (root / "aquifer.yaml").write_text(
        f"project: {project}\n"
        f"registry: sqlite:///{root}/.aquifer/registry.db\n"
        f"online_store: {{url: '{redis_url}', timeout_ms: 200, max_entities: 300}}\n"
        + (f"api: {api}\n" if api else "")
    )
    return root
