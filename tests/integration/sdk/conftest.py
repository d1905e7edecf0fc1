"""Fixtures of the SDK tests: the PIT conformance data in a real repo, and a quickstart repo run once.

The conformance suite's data and oracle (``tests/integration/pit``) are imported from there, so the datasets
and the transformer are checked against the same independent answer as the engines.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
import zlib
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "pit"))

from pit_data import PROJECT, generate, write_view

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


@pytest.fixture(scope="session")
def pit_dataset():
    """The conformance suite's seeded feature rows and labels."""
    return generate()


@pytest.fixture(scope="session")
def pit_repo(tmp_path_factory, pit_dataset) -> Path:
    """A repo (real ``FeatureStore``) holding the conformance rows; its online store is a closed port."""
    return write_pit_repo(tmp_path_factory.mktemp("sdk_pit") / "repo", pit_dataset)


def sdk_redis_url(server_url: str) -> str:
    """The SDK tests' Redis db (keys are prefixed by their own project, so a shared db is harmless)."""
    db = 1 + zlib.crc32(b"tests.integration.sdk") % 15
    return f"{server_url}/{db}" if server_url.startswith("redis://") else f"{server_url}?db={db}"


@pytest.fixture(scope="session")
def quickstart(tmp_path_factory, spark, redis_server_url) -> Path:
    """The quickstart template after ``apply``, a batch ``run``, ``materialize`` and a training frame written
    to ``training.parquet`` (the demo's state when its ML act starts)."""
    from aquifer.cli.repo_commands import _TEMPLATE_SKIP, TEMPLATE, generate_example_data
    from aquifer.sdk.store import FeatureStore

    root = tmp_path_factory.mktemp("sdk_quickstart") / "repo"
    shutil.copytree(TEMPLATE, root, ignore=_TEMPLATE_SKIP)
    config = root / "aquifer.yaml"
    text = config.read_text().replace("project: quickstart", f"project: {SDK_PROJECT}")
    url = sdk_redis_url(redis_server_url)
    config.write_text(re.sub(r"online_store: \{url: [^}]*\}", f"online_store: {{url: '{url}'}}", text))
    generate_example_data(root)
    store = FeatureStore(root)
    store.apply()
    store.run()
    labels = pd.read_parquet(root / "data" / "labels.parquet")
    store.get_training_frame(labels, "fraud_model_v1", engine="duckdb").to_parquet(root / "training.parquet",
                                                                                   index=False)
    store.close()
    return root


@pytest.fixture(scope="module")
def materialized(quickstart) -> Path:
    """The quickstart with its latest values pushed online at the start of this module (another module may
    have emptied the shared db since)."""
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(quickstart)
    store.materialize(full=True, engine="duckdb", progress=False)
    store.close()
    return quickstart
