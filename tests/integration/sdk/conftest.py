"""Fixtures of the SDK tests: the PIT conformance data in a real repo, and a quickstart repo run once.

The conformance suite's data and oracle (``tests/integration/pit``) are imported from there, so the datasets
and the transformer are checked against the same independent answer as the engines.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "pit"))

from pit_data import generate
from sdk_repos import SDK_PROJECT, sdk_redis_url, write_pit_repo


@pytest.fixture(scope="session")
def pit_dataset():
    """The conformance suite's seeded feature rows and labels."""
    return generate()


@pytest.fixture(scope="session")
def pit_repo(tmp_path_factory, pit_dataset) -> Path:
    """A repo (real ``FeatureStore``) holding the conformance rows; its online store is a closed port."""
    return write_pit_repo(tmp_path_factory.mktemp("sdk_pit") / "repo", pit_dataset)


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
