"""The golden example repo analyzes cleanly and quickly, without Spark or Redis."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

from aquifer.analysis import ColumnEdge, analyze
from aquifer.repo import load_repo

QUICKSTART = Path(__file__).resolve().parents[3] / "examples" / "quickstart"


def _with_data(tmp_path: Path) -> Path:
    """A copy of the quickstart with a small generated data set."""
    root = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART / "features", root / "features", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(QUICKSTART / "aquifer.yaml", root / "aquifer.yaml")
    spec = importlib.util.spec_from_file_location("quickstart_generate_data", QUICKSTART / "generate_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(root / "data", users=5, merchants=3, days=1)
    return root


def test_quickstart_has_no_problems(tmp_path):
    repo = load_repo(_with_data(tmp_path))
    started = time.perf_counter()
    result = analyze(repo)
    elapsed = time.perf_counter() - started
    assert result.problems == []
    assert result.order == ["user_spend", "merchant_risk", "user_spend_shape", "user_txn_windows"]
    assert result.upstreams["user_txn_windows"] == ("transaction_events",)
    assert result.upstreams["transaction_events"] == ("transactions",)
    assert set(result.columns["transactions"]) >= {"user_id", "merchant_id", "amount", "country", "event_ts"}
    assert ColumnEdge("transactions", "amount", "user_spend", "is_large") in result.column_edges
    assert ColumnEdge("transaction_events", "amount", "user_txn_windows", "amount_p95_1d") in result.column_edges
    assert len({fp.data for fp in result.fingerprints.values()}) == len(result.fingerprints)
    assert elapsed < 1.0


def test_quickstart_without_data_is_still_clean_and_imports_no_engine():
    code = (
        "import sys; from aquifer.repo import load_repo; from aquifer.analysis import analyze; "
        f"r = analyze(load_repo({str(QUICKSTART)!r})); assert r.ok, r.problems; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'redis')]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
