"""``aquifer demo`` runs the whole story and says what it did."""

from __future__ import annotations

import os
import re
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
                 "Point-in-time", "Statistics of what", "Profile:", "Validate", "Train/serve drift",
                 "Machine learning:", "Streaming:", "Start the stream worker", "wave 1", "Wave 2", "Stop the worker",
                 "The web UI", "demo finished"):
        assert step in out, step
    assert "Traceback" not in out + result.stderr
    assert "suite version 1 stored" in out
    assert re.search(r"amount\.in_range\s+│ declared", out)  # the template's InRange(min=0) is in the suite
    assert "│ pass" in out and "FAIL" not in out  # validate passed (exit 1 would have stopped the demo)
    assert "drift of user_spend vs training frame" in out
    assert re.search(r"scikit-learn.*validation", out) and re.search(r"PyTorch.*validation", out)
    assert "the transformer's features equal training.parquet's (defaults for nulls): True" in out
    assert "web UI: " in out and (tmp_path / "demo" / "screenshots" / "lineage.png").stat().st_size > 10_000
    training = pd.read_parquet(tmp_path / "demo" / "training.parquet")
    labels = pd.read_parquet(tmp_path / "demo" / "data" / "labels.parquet")
    assert len(training) == len(labels)  # every label row comes back
    assert training["amount"].notna().mean() > 0.9  # the batch run filled the offline store

    # the streaming act: the second wave changed every streamed user's values ...
    assert "values changed for 3 of 3 users" in out, out[-4000:]
    assert "amount_count_1h 2 → 6" in out  # the first user's closed hour: 2 transactions, then the pivot hour's 6
    # ... the worker stopped cleanly on SIGTERM and counted the two refused events ...
    stopped = re.search(r"stopped: (\d+) events, (\d+) accepted, (\d+) dead-lettered", out)
    assert stopped, out[-4000:]
    events, accepted, dead = map(int, stopped.groups())
    assert (events, accepted, dead) == (35, 33, 2)  # 15 + 18 transactions, one malformed, one late
    # ... which are in the dead-letter topic with their reasons
    assert "dead letters in transactions.dead-letter by reason: late 1, malformed 1" in out
    if "started a local Tansu broker" not in out:
        return  # a Kafka at aquifer.yaml's default 127.0.0.1:9092 was used as it is (earlier demos' events too)
    # the broker is stopped and the repo no longer points at it
    assert "stopped the local broker" in out
    assert "kafka:" not in (tmp_path / "demo" / "aquifer.yaml").read_text()

    # what the worker wrote is online: each streamed user's closed pivot hour holds its 2 + 4 + i transactions
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(tmp_path / "demo")
    first = int(pd.read_parquet(tmp_path / "demo" / "data" / "transactions.parquet")["user_id"].max()) + 1
    users = [first, first + 1, first + 2]
    online = store.get_online_features(["user_txn_windows:amount_count_1h"], [{"user_id": u} for u in users])
    assert [int(v) for v in online.values["amount_count_1h"]] == [6, 7, 8]
