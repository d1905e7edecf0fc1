"""A backfill killed with SIGKILL mid-swap leaves the ledger without the range; the next run heals it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from batch_helpers import offline, transactions, write_parquet

from aquifer.stores.offline.partitions import PAUSE_ENV, SWAP

pytestmark = pytest.mark.spark

VIEWS = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64)])
"""


def test_sigkill_during_the_swap_leaves_old_or_new_and_the_next_run_recomputes(make_store, tmp_path):
    old = transactions()
    store = make_store(VIEWS, transactions=old)
    assert store.run(end="2026-01-04").ok
    new = old.assign(amount=old["amount"] + 1000)
    write_parquet(new, tmp_path / "data/transactions.parquet")

    script = (
        "from aquifer.sdk.store import FeatureStore; "
        f"FeatureStore({str(tmp_path)!r}).backfill('raw', '2026-01-01', '2026-01-04')"
    )
    env = {**os.environ, PAUSE_ENV: "120", "SPARK_LOCAL_IP": "127.0.0.1"}
    env["PYSPARK_SUBMIT_ARGS"] = "--master local[1] --conf spark.driver.memory=1g pyspark-shell"
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    swap = store.config.offline_path / "t" / "raw" / SWAP
    try:
        deadline = time.monotonic() + 240
        while not (swap.is_dir() and any(p for d in swap.iterdir() for p in d.iterdir())):
            assert proc.poll() is None, "the backfill ended before it was killed"
            assert time.monotonic() < deadline, "the backfill never reached the swap"
            time.sleep(0.5)
        # mid-swap: the first day is parked, yet readers still see every old row
        seen = offline(store, "raw")
        assert sorted(seen["amount"]) == sorted(old["amount"])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the JVM this process started

    # the backfill forgot the range and never recorded it again
    assert store.registry.intervals("t", "raw") == []
    killed = store.registry.runs("t", view="raw", kind="backfill")[0]
    assert killed.status == "running"

    assert len(offline(store, "raw")) == len(old)  # old rows, restored from the parked day
    assert store.run(end="2026-01-04").ok
    abandoned = store.registry.run(killed.id)
    assert abandoned.status == "failed" and "abandoned" in abandoned.error
    healed = offline(store, "raw")
    assert len(healed) == len(new)
    expected = new.sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    pd.testing.assert_series_equal(healed["amount"], expected["amount"], check_names=False)
    assert not swap.exists() or not any(swap.iterdir())
