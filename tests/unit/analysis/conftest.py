"""Helpers for analysis tests: write a small feature repo into tmp_path and load it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from aquifer.analysis import Analysis, analyze
from aquifer.repo import load_repo

HEADER = """\
from datetime import timedelta
from aquifer import (Aggregation, AggregationView, BatchSource, Entity, FeatureService, FeatureView, Field,
                     KafkaSource, Session, Sliding, Tumbling, feature_view, sql)
from aquifer.types import Bool, Float64, Int32, Int64, String, Timestamp
"""


def write_transactions(path: Path) -> None:
    """A tiny Parquet file: user_id, event_ts, amount, country."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({
        "user_id": pd.Series([1, 2], dtype="int64"),
        "event_ts": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
        "amount": [10.0, 2000.0],
        "country": ["US", "FR"],
    })
    frame.to_parquet(path, index=False)


class RepoWriter:
    """Writes ``features/*.py`` (each prefixed with the common imports) and analyzes the repo."""

    def __init__(self, root: Path):
        self.root = root
        self._writes = 0
        root.mkdir(parents=True, exist_ok=True)
        (root / "aquifer.yaml").write_text("project: repo\n")

    def write(self, files: dict[str, str], header: bool = True) -> RepoWriter:
        for rel, text in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            body = textwrap.dedent(text).lstrip("\n")
            path.write_text((HEADER if header else "") + body)
            # a second write within the same second must not reuse a stale .pyc
            self._writes += 2
            stamp = path.stat().st_mtime + self._writes
            os.utime(path, (stamp, stamp))
        return self

    def data(self, rel: str = "data/transactions.parquet") -> RepoWriter:
        write_transactions(self.root / rel)
        return self

    def analyze(self) -> Analysis:
        return analyze(load_repo(self.root))

    def loc(self, rel: str, marker: str) -> str:
        """``file:line`` of the line carrying ``# marker`` in a written file."""
        path = self.root / rel
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if line.rstrip().endswith(f"# {marker}"):
                return f"{path}:{number}"
        raise AssertionError(f"marker {marker!r} not in {rel}")


@pytest.fixture
def repo(tmp_path: Path) -> RepoWriter:
    """An empty repo in tmp_path (``repo.write({...}).analyze()``)."""
    return RepoWriter(tmp_path / "repo")


def problems_of(result: Analysis, name: str) -> list[str]:
    """Messages of the problems about ``name``."""
    return [p.message for p in result.problems if p.name == name]

