"""A corrupt or truncated Parquet file in a source: a clear error naming the file, no partial write."""

from __future__ import annotations

import textwrap

import pytest
from batch_helpers import HEADER, config_text, offline, transactions, write_parquet
from typer.testing import CliRunner

from aquifer.runs.batch import run

pytestmark = pytest.mark.spark

VIEWS = """
transactions = BatchSource("transactions", path="data/transactions", timestamp_field="event_ts")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64)])
"""


@pytest.fixture
def repo(tmp_path, spark):
    (tmp_path / "aquifer.yaml").write_text(config_text(tmp_path))
    (tmp_path / "features.py").write_text(HEADER + textwrap.dedent(VIEWS))
    frame = transactions(days=3)
    days = frame["event_ts"].dt.floor("D")
    for i, day in enumerate(sorted(days.unique())):
        write_parquet(frame[days == day].drop(columns=["ingested_at"], errors="ignore"),
                      tmp_path / "data" / "transactions" / f"part-{i}.parquet")
    return tmp_path


@pytest.mark.parametrize("damage", ["truncated", "not parquet"])
def test_a_damaged_source_file_is_named_and_nothing_is_written(repo, damage):
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    assert run(store, end="2026-01-02").ok  # day one is in; the damaged file comes later
    before = offline(store, "raw")
    ledger_before = store.registry.ledger(store.config.project, "raw", "batch")
    bad = repo / "data" / "transactions" / "part-2.parquet"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"user_id,amount\n1,2.0\n")

    summary = run(store, end="2026-01-04")
    assert not summary.ok
    (failed,) = [v for v in summary.views if v.status == "failed"]
    assert "part-2.parquet" in failed.error, failed.error
    assert "Traceback" not in failed.error
    assert offline(store, "raw").equals(before)  # nothing partial
    assert store.registry.ledger(store.config.project, "raw", "batch") == ledger_before

    from aquifer.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["run", "-r", str(repo)])
    assert result.exit_code == 1
    # the table folds long paths at any character: look for the name with the folds taken out
    assert "part-2.parquet" in "".join(result.output.split()) and "Traceback" not in result.output
