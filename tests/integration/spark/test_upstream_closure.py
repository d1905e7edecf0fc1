"""Upstream closure and backfill cascade on a chain of three views over quickstart-shaped transactions.

``run(["shape_flags"])`` brings ``user_spend`` and ``user_spend_shape`` up to date first; ``backfill`` of
``user_spend`` invalidates (or with ``cascade``, recomputes) the two views below it. Every view's offline
rows are checked against a pandas computation from the source file.
"""

from __future__ import annotations

import importlib.util
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_helpers import HEADER, config_text, offline
from typer.testing import CliRunner

import aquifer

pytestmark = pytest.mark.spark

END = datetime(2026, 1, 4, tzinfo=UTC)
CHAIN = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
user_spend = FeatureView("user_spend", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount, amount > 1000 AS is_large, country FROM {transactions}"),
    schema=[Field("amount", Float64), Field("is_large", Bool), Field("country", String)])
user_spend_shape = FeatureView("user_spend_shape", entities=[user],
    transform=sql("SELECT user_id, event_ts, ln(1 + amount) AS amount_log, country <> 'US' AS is_foreign "
                  "FROM {user_spend}"),
    schema=[Field("amount_log", Float64), Field("is_foreign", Bool)])
shape_flags = FeatureView("shape_flags", entities=[user],
    transform=sql("SELECT user_id, event_ts, amount_log > 4 AS big_foreign FROM {user_spend_shape} "
                  "WHERE is_foreign"),
    schema=[Field("big_foreign", Bool)])
"""
ORDER = ["user_spend", "user_spend_shape", "shape_flags"]


def _quickstart_transactions(out: Path) -> pd.DataFrame:
    """The quickstart generator's transactions (20 users, 3 days before ``END``), as it writes them."""
    path = Path(aquifer.__file__).parent / "templates" / "quickstart" / "generate_data.py"
    spec = importlib.util.spec_from_file_location("quickstart_generate_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(out, users=20, merchants=5, days=3, end=END)
    return pd.read_parquet(out / "transactions.parquet")


def _repo(tmp: Path) -> tuple[object, pd.DataFrame]:
    from aquifer.sdk.store import FeatureStore

    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "aquifer.yaml").write_text(config_text(tmp))
    (tmp / "features.py").write_text(HEADER + textwrap.dedent(CHAIN))
    return FeatureStore(tmp), _quickstart_transactions(tmp / "data")


def _oracle(txns: pd.DataFrame, upto: datetime = END) -> dict[str, pd.DataFrame]:
    """Each view's rows computed with pandas from the source rows before ``upto``."""
    t = txns.assign(event_ts=txns.event_ts.dt.floor("us"))
    t = t[t.event_ts < pd.Timestamp(upto)]
    spend = t.assign(is_large=t.amount > 1000)[["user_id", "event_ts", "amount", "is_large", "country"]]
    shape = spend.assign(amount_log=np.log1p(spend.amount), is_foreign=spend.country != "US")
    flags = shape[shape.is_foreign].assign(big_foreign=lambda d: d.amount_log > 4)
    return {"user_spend": spend, "user_spend_shape": shape[["user_id", "event_ts", "amount_log", "is_foreign"]],
            "shape_flags": flags[["user_id", "event_ts", "big_foreign"]]}


def _check(store, expected: dict[str, pd.DataFrame]) -> None:
    for view, want in expected.items():
        got = offline(store, view)
        columns = list(want.columns)
        want = want.sort_values(["user_id", "event_ts"]).reset_index(drop=True)
        got = got[columns].reset_index(drop=True)
        assert len(got) == len(want) > 0, view
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=1e-12, obj=view)


def test_run_of_one_view_brings_its_upstreams_up_to_date_first(spark, tmp_path):
    store, txns = _repo(tmp_path / "a")
    first = txns[txns.event_ts < pd.Timestamp("2026-01-03", tz="UTC")]
    first.to_parquet(tmp_path / "a" / "data" / "transactions.parquet")

    summary = store.run(["shape_flags"], end="2026-01-03")
    assert [v.view for v in summary] == ORDER
    assert summary.ok
    _check(store, _oracle(first, datetime(2026, 1, 3, tzinfo=UTC)))

    # the rest of the data lands; a run of the last view alone catches its stale upstreams up first
    txns.to_parquet(tmp_path / "a" / "data" / "transactions.parquet")
    summary = store.run(["shape_flags"], end=END)
    assert [v.view for v in summary] == ORDER and all(v.ranges for v in summary)
    _check(store, _oracle(txns))

    # --only keeps the old behaviour: the named view alone, reading whatever its upstreams hold
    only = tmp_path / "b"
    other, _ = _repo(only)
    summary = other.run(["shape_flags"], end=END, only=True)
    assert [v.view for v in summary] == ["shape_flags"]
    assert offline(other, "shape_flags").empty and offline(other, "user_spend").empty


def test_backfill_invalidates_downstream_and_cascade_recomputes_it(spark, tmp_path):
    from aquifer.cli import _register, app

    store, txns = _repo(tmp_path)
    assert store.run(end=END).ok
    _check(store, _oracle(txns))

    # the source's second day is corrected: amounts x10
    day2 = (txns.event_ts >= pd.Timestamp("2026-01-02", tz="UTC")) & (txns.event_ts < pd.Timestamp("2026-01-03",
                                                                                                      tz="UTC"))
    fixed = txns.assign(amount=txns.amount.where(~day2, txns.amount * 10))
    fixed.to_parquet(tmp_path / "data" / "transactions.parquet")

    _register()
    dry = CliRunner().invoke(app, ["backfill", "user_spend", "--start", "2026-01-02", "--end", "2026-01-03",
                                   "--dry-run", "-r", str(tmp_path)])
    assert dry.exit_code == 0, dry.output
    assert "would invalidate downstream: user_spend_shape, shape_flags" in dry.output

    summary = store.backfill("user_spend", "2026-01-02", "2026-01-03")
    assert summary.ok
    day = (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC))
    assert summary.invalidated == [("user_spend_shape", *day), ("shape_flags", *day)]
    assert day not in store.registry.intervals("t", "shape_flags")
    assert store.registry.intervals("t", "shape_flags") == [(datetime(2026, 1, 1, tzinfo=UTC), day[0]),
                                                            (day[1], END)]
    # the next run of the last view recomputes exactly the invalidated day, upstream-first
    summary = store.run(["shape_flags"], end=END)
    assert [v.view for v in summary] == ORDER and summary.ok
    ranges = {v.view: [(r.start, r.end) for r in v.ranges] for v in summary}
    assert ranges["user_spend"] == [(day[1], END)]  # only its lateness lookback (the last day) is re-read
    assert ranges["user_spend_shape"] == ranges["shape_flags"] == [(day[0], END)]  # the invalidated day too
    _check(store, _oracle(fixed))

    # with --cascade the same kind of change reaches every downstream view at once
    day3 = txns.event_ts >= pd.Timestamp("2026-01-03", tz="UTC")
    again = fixed.assign(country=fixed.country.where(~day3, "BR"))
    again.to_parquet(tmp_path / "data" / "transactions.parquet")
    result = CliRunner().invoke(app, ["backfill", "user_spend", "--start", "2026-01-03", "--end", "2026-01-04",
                                      "--cascade", "-r", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "invalidated downstream" not in result.output
    _check(store, _oracle(again))
    kinds = {(r.view, r.kind) for r in store.registry.runs("t", limit=100) if r.start == day[1]}
    assert {("user_spend_shape", "backfill"), ("shape_flags", "backfill")} <= kinds
