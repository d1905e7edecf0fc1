"""``aquifer profile`` and ``aquifer validate`` on a real repo (Spark writes, DuckDB validates), and
``GET /api/v1/validation/{view}``: suites from stored statistics, versions only on change, exit codes 0/1/2,
failures named with sample values (oracle: GX's pandas engine over the same offline rows), a type error in a
hand-placed offline file."""

from __future__ import annotations

import pandas as pd
import pytest
from batch_helpers import offline, transactions, write_parquet
from typer.testing import CliRunner

from aquifer.runs.batch import backfill, run

pytestmark = pytest.mark.spark

END = "2026-01-03"

VIEW = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64),
                                                                        Field("country", String)])
"""


def cli(tmp_path, *args: str):
    from aquifer.cli import _register, app

    _register()
    return CliRunner().invoke(app, [*args, "-r", str(tmp_path)])


def test_profile_then_validate(make_store, tmp_path):
    from aquifer.quality.suites import gx_validate_pandas, read_suite

    clean = transactions(days=2)
    store = make_store(VIEW, transactions=clean)
    assert run(store, end=END).ok

    result = cli(tmp_path, "profile", "raw")
    assert result.exit_code == 0, result.output
    assert "suite version 1 stored" in result.output
    stored = store.registry.latest_suite("t", "raw")
    expectations, notes = read_suite(stored.suite)
    assert notes == []
    names = {ce.name: ce for ce in expectations}
    assert {"amount.exists", "amount.of_type", "amount.not_null", "amount.in_range", "amount.mean_between",
            "country.in_set", "country.not_null"} <= set(names)
    span = clean["amount"].max() - clean["amount"].min()
    assert names["amount.in_range"].expectation.min == pytest.approx(clean["amount"].min() - 0.1 * span)
    assert set(names["country.in_set"].expectation.values) == set(clean["country"])

    again = cli(tmp_path, "profile", "raw")
    assert again.exit_code == 0 and "suite unchanged: still version 1" in again.output
    assert [s.version for s in store.registry.suites("t", "raw")] == [1]

    ok = cli(tmp_path, "validate", "raw")
    assert ok.exit_code == 0, ok.output
    assert "FAIL" not in ok.output and f"{len(clean):,} rows" in ok.output

    assert cli(tmp_path, "validate", "nope").exit_code == 2
    assert cli(tmp_path, "validate", "raw", "--start", "yesterday-ish").exit_code == 2
    assert cli(tmp_path, "validate", "raw", "--start", "2026-01-02", "--end", "2026-01-01").exit_code == 2
    assert cli(tmp_path, "profile", "nope").exit_code == 2

    # bad rows written under the default policy (warn), then checked on demand
    dirty = clean.copy()
    dirty.loc[[3, 10], "amount"] = -500.0
    dirty.loc[17, "amount"] = None
    dirty.loc[8, "country"] = "xx"
    write_parquet(dirty, tmp_path / "data" / "transactions.parquet")
    assert backfill(store, "raw", "2026-01-01", END).ok
    bad = cli(tmp_path, "validate", "raw")
    assert bad.exit_code == 1
    text = " ".join(bad.output.split())
    rows = offline(store, "raw")
    oracle = {r.name: r for r in gx_validate_pandas(rows[["amount", "country"]], expectations)}
    failed = sorted(n for n, r in oracle.items() if not r.success)
    assert {"amount.in_range", "amount.not_null", "country.in_set"} <= set(failed)
    for name in failed:
        assert name in text
    assert "amount.in_range: 2 of" in text and "-500.0" in text and "'xx'" in text
    latest = store.registry.validation_results("t", "raw")[0]
    assert sorted(latest.results["failed"]) == failed and latest.results["kind"] == "on_demand"
    report = store.validate("raw", "2026-01-01", END)  # the SDK's door to the same check
    assert not report.success and sorted(r.name for r in report.failed) == failed

    # a hand-placed day whose amounts are text: the type expectation fails, the row checks say why they did not run
    day = store.config.offline_path / "t" / "raw" / "event_date=2026-01-05"
    write_parquet(pd.DataFrame({"user_id": [1, 2], "event_ts": pd.to_datetime(["2026-01-05 01:00", "2026-01-05 02:00"],
                                                                                utc=True),
                                "created_ts": pd.to_datetime(["2026-01-05 01:00"] * 2, utc=True),
                                "amount": ["12.5", "abc"], "country": ["US", "GB"]}), day / "part-0.parquet")
    typed = cli(tmp_path, "validate", "raw", "--start", "2026-01-05", "--end", "2026-01-06")
    assert typed.exit_code == 1
    text = " ".join(typed.output.split())
    assert "amount.of_type" in text and "holds String, not Float64" in text
    assert "country.of_type" not in text.split("failed:")[-1]
    ours = store.registry.validation_results("t", "raw")[0].results
    day_rows = pd.read_parquet(day / "part-0.parquet")
    oracle = {r.name: r for r in gx_validate_pandas(day_rows[["amount", "country"]], expectations)}
    assert sorted(ours["failed"]) == sorted(n for n, r in oracle.items() if not r.success)
    assert "amount.of_type" in ours["failed"] and "amount.not_null" not in ours["failed"]


def test_validation_route(make_store, tmp_path):
    from fastapi.testclient import TestClient

    from aquifer.api import create_app

    code = "from aquifer import InRange\n" + VIEW.replace('Field("amount", Float64)',
                                                          'Field("amount", Float64, expect=[InRange(0, 10)])')
    store = make_store(code, transactions=transactions(days=2))
    assert run(store, end=END).ok
    client = TestClient(create_app(store, sinks=[], freshness_check_s=0))
    body = client.get("/api/v1/validation/raw").json()
    assert body["success"] is False and body["results"][0]["failed"] == ["amount.in_range"]
    assert body["results"][0]["policy"] == "warn" and body["results"][0]["expectations"][0]["samples"]
    assert client.get("/api/v1/validation/nope").status_code == 404
