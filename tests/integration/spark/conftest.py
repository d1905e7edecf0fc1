"""Fixtures for the Spark batch tests: a tmp feature repo with its own registry and offline store."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from batch_helpers import HEADER, config_text, write_parquet


@pytest.fixture
def make_store(tmp_path: Path, spark) -> Callable[..., object]:
    """``make_store(code, transactions=df, ...)``: a FeatureStore over a tmp repo whose ``features.py`` is
    ``HEADER + code`` and whose ``data/<name>.parquet`` hold the given frames."""
    from aquifer.sdk.store import FeatureStore

    def make(code: str, **frames: pd.DataFrame) -> FeatureStore:
        (tmp_path / "aquifer.yaml").write_text(config_text(tmp_path))
        (tmp_path / "features.py").write_text(HEADER + textwrap.dedent(code))
        for name, frame in frames.items():
            write_parquet(frame, tmp_path / "data" / f"{name}.parquet")
        return FeatureStore(tmp_path)

    return make
