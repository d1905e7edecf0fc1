"""``aquifer demo`` runs the whole story and says what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.spark

AQUIFER = str(Path(sys.executable).with_name("aquifer"))


def test_demo_runs_end_to_end(tmp_path, redis_url):
    result = subprocess.run([AQUIFER, "demo", "--directory", str(tmp_path / "demo"), "--online-url", redis_url],
                            capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "160"})
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in ("Plan:", "Apply:", "Lineage", "Batch run", "Materialize", "Online lookup", "over HTTP",
                 "Point-in-time", "demo finished"):
        assert step in out, step
    assert "Traceback" not in out + result.stderr
    training = pd.read_parquet(tmp_path / "demo" / "training.parquet")
    labels = pd.read_parquet(tmp_path / "demo" / "data" / "labels.parquet")
    assert len(training) == len(labels)  # every label row comes back
    assert training["amount"].notna().mean() > 0.9  # the batch run filled the offline store
