"""Validation in every batch run, on real Spark and real Great Expectations: warn, quarantine and block.

Oracles: GX's own pandas validation of the same full frame (per expectation: pass/fail and failing counts)
and pandas boolean filters (which rows are good, which are set aside and why).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from batch_helpers import offline, transactions

from aquifer import InRange, InSet, Matches, MeanBetween, NotNull
from aquifer.quality.expectations import ColumnExpectation
from aquifer.quality.suites import gx_validate_pandas
from aquifer.runs.batch import backfill, run

pytestmark = pytest.mark.spark

END = "2026-01-03"

VIEW = """
from aquifer import InRange, InSet, Matches, NotNull, Quality, MeanBetween
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[
        Field("amount", Float64, expect=[InRange(0, 5000), NotNull()]),
        Field("country", String, expect=[InSet(["US", "GB", "DE"]), Matches("^[A-Z]{{2}}$")]),
    ], quality=Quality(policy={policy!r}){extra})
spend = FeatureView("spend", entities=[user], source=raw,
    transform=sql("SELECT user_id, event_ts, amount * 2 AS doubled FROM {{raw}}"),
    schema=[Field("doubled", Float64)])
"""

DECLARED = [
    ColumnExpectation("amount", InRange(0, 5000)),
    ColumnExpectation("amount", NotNull()),
    ColumnExpectation("country", InSet(("US", "GB", "DE"))),
    ColumnExpectation("country", Matches("^[A-Z]{2}$")),
]


def dirty() -> pd.DataFrame:
    """Transactions with out-of-range amounts, null amounts and bad countries in known rows."""
    df = transactions(days=2)
    df.loc[[3, 10], "amount"] = -5.0
    df.loc[17, "amount"] = 99_999.0
    df.loc[[5, 20], "amount"] = np.nan
    df.loc[8, "country"] = "xx"
    df.loc[30, "country"] = "FRA"
    return df


def bad_reasons(df: pd.DataFrame) -> pd.Series:
    """The pandas oracle: per row, the names of the declared expectations it fails."""
    amount, country = df["amount"], df["country"]
    checks = {
        "amount.in_range": amount.notna() & ((amount < 0) | (amount > 5000)),
        "amount.not_null": amount.isna(),
        "country.in_set": country.notna() & ~country.isin(["US", "GB", "DE"]),
        "country.matches": country.notna() & ~country.str.contains("^[A-Z]{2}$", regex=True),
    }
    return pd.Series([[n for n, m in checks.items() if m.iloc[i]] for i in range(len(df))], index=df.index)


class Spy:
    """Tells, for each computed range of ``raw``, whether the engine counted the row checks as it computed."""

    counted: list[bool]
    computed: list

    def __init__(self):
        Spy.counted, Spy.computed = [], []

    def check(self, event):
        if event.view == "raw":
            Spy.counted.append(event.computed.checked is not None)
            Spy.computed.append(event.computed)


def by_name(results) -> dict:
    return {r["name"] if isinstance(r, dict) else r.name: r for r in results}


def test_clean_data_passes(make_store):
    store = make_store(VIEW.format(policy="block", extra=""), transactions=transactions(days=2))
    summary = run(store, end=END)
    assert summary.ok
    assert len(offline(store, "raw")) == len(transactions(days=2))
    (result,) = store.registry.validation_results("t", "raw")
    assert result.success and result.results["failed"] == [] and result.results["rows"] == len(transactions(days=2))
    assert {e["name"] for e in result.results["expectations"]} == {ce.name for ce in DECLARED}
    assert store.registry.validation_results("t", "spend") == []  # no suite, nothing declared: not checked


def test_warn_writes_everything_and_records_exactly_the_failed_expectations(make_store):
    df = dirty()
    store = make_store(VIEW.format(policy="warn", extra=""), transactions=df)

    summary = run(store, end=END, listeners=[Spy()])
    assert summary.ok  # warn never stops a run
    assert Spy.counted == [False]  # under warn the checks are not counted in the compute pass...
    written = Spy.computed[0].observed["quality"]  # ... but by the tasks that write the rows
    assert written.problem is None and written.observed
    assert len(offline(store, "raw")) == len(df)
    (result,) = store.registry.validation_results("t", "raw")
    assert not result.success and result.results["action"] == "allowed"
    ours = by_name(result.results["expectations"])
    oracle = by_name(gx_validate_pandas(df[["amount", "country"]], DECLARED))  # GX's own pandas engine
    assert set(ours) == set(oracle)
    for name, gx_result in oracle.items():
        assert ours[name]["success"] == gx_result.success, name
        assert ours[name]["unexpected"] == gx_result.unexpected, name
    assert sorted(result.results["failed"]) == sorted(n for n, r in oracle.items() if not r.success)
    reasons = bad_reasons(df)
    assert ours["amount.in_range"]["unexpected"] == sum("amount.in_range" in r for r in reasons) == 3
    assert sorted(ours["amount.in_range"]["samples"]) == [-5.0, -5.0, 99_999.0]
    assert sorted(ours["country.in_set"]["samples"]) == ["FRA", "xx"]
    (alert,) = store.registry.alerts("t", kind="validation")
    assert alert.subject == "raw" and alert.severity == "warning" and "amount.in_range" in alert.message


def test_warn_counts_apart_when_the_writing_tasks_could_not(make_store, monkeypatch, caplog):
    """An observer that fails in the tasks never fails the write: the checks are then counted over the cached
    rows, with a warning, and the result is the same."""
    import dataclasses

    from aquifer.engines.spark import validation
    from aquifer.quality.written_checks import NULL, ArrowCheck

    real = validation.write_checks

    def broken(prepared, dtypes):
        how = real(prepared, dtypes)
        return dataclasses.replace(how, arrow=[*how.arrow, ArrowCheck(0, NULL, "no_such_column")])

    monkeypatch.setattr(validation, "write_checks", broken)
    df = dirty()
    store = make_store(VIEW.format(policy="warn", extra=""), transactions=df)
    assert run(store, end=END, listeners=[Spy()]).ok
    assert Spy.computed[0].observed["quality"].observed is None
    assert "row checks counted apart from the write" in caplog.text
    (result,) = store.registry.validation_results("t", "raw")
    ours = by_name(result.results["expectations"])
    oracle = by_name(gx_validate_pandas(df[["amount", "country"]], DECLARED))
    assert {n: (r["success"], r["unexpected"]) for n, r in ours.items()} == \
        {n: (r.success, r.unexpected) for n, r in oracle.items()}
    assert len(offline(store, "raw")) == len(df)


def test_quarantine_writes_good_rows_and_sets_bad_ones_aside_with_reasons(make_store):
    from aquifer.stores.offline.reader import read_view_pandas

    df = dirty()
    store = make_store(VIEW.format(policy="quarantine", extra=""), transactions=df)
    summary = run(store, end=END, listeners=[Spy()])
    assert summary.ok
    assert Spy.counted == [True]  # counted by the engine while it computed: the verdict reads no rows again
    reasons = bad_reasons(df)
    good = df[reasons.map(len) == 0]
    kept = offline(store, "raw")
    oracle = good.sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    assert len(kept) == len(oracle) == len(df) - 7
    pd.testing.assert_series_equal(kept["amount"], oracle["amount"], check_names=False)
    assert kept["country"].tolist() == oracle["country"].tolist()
    assert len(offline(store, "spend")) == len(oracle)  # downstream reads only the good rows

    root = store.config.offline_path / "_quarantine"
    aside = read_view_pandas(root, "t", "raw").sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    expected = df[reasons.map(len) > 0].assign(reasons=reasons).sort_values(["user_id", "event_ts"])
    assert len(aside) == len(expected) == 7
    assert [sorted(r) for r in aside["failed_expectations"]] == [sorted(r) for r in expected["reasons"]]
    assert aside["amount"].isna().sum() == 2 and set(aside["country"]) >= {"xx", "FRA"}

    (result,) = store.registry.validation_results("t", "raw")
    assert result.results["action"] == "quarantined" and result.results["quarantined"] == 7
    (record,) = [r for r in store.registry.runs("t") if r.view == "raw"]
    assert record.rows_out == len(oracle) and record.details["quarantined"] == 7
    assert record.details["dropped_duplicates"] == 0

    # a rerun replaces the range's quarantined rows (no duplicates), and clean data empties them
    assert backfill(store, "raw", "2026-01-01", END).ok
    assert len(read_view_pandas(root, "t", "raw")) == 7 and len(offline(store, "raw")) == len(oracle)
    from batch_helpers import write_parquet

    write_parquet(transactions(days=2), store.config.root / "data" / "transactions.parquet")
    assert backfill(store, "raw", "2026-01-01", END).ok
    assert read_view_pandas(root, "t", "raw").empty and len(offline(store, "raw")) == len(df)


def test_block_writes_nothing_and_the_run_fails_naming_the_expectations(make_store):
    store = make_store(VIEW.format(policy="block", extra=""), transactions=dirty())
    summary = run(store, end=END)
    assert summary["raw"].status == "failed" and summary["spend"].status == "skipped"
    error = summary["raw"].error
    assert "quality check failed" in error and "refused by QualityListener" in error
    for name in ("amount.in_range", "amount.not_null", "country.in_set", "country.matches"):
        assert name in error
    assert "-5.0" in error  # sample values
    assert offline(store, "raw").empty and store.registry.intervals("t", "raw", kind="batch") == []
    assert not (store.config.offline_path / "_quarantine").exists()
    (result,) = store.registry.validation_results("t", "raw")
    assert not result.success and result.results["action"] == "blocked"
    (alert,) = store.registry.alerts("t", kind="validation")
    assert alert.severity == "error"


def test_aggregate_expectations_run_through_gx_on_a_sample(make_store):
    df = transactions(days=2)
    mean = float(df["amount"].mean())
    raw2 = (f'raw2 = FeatureView("raw2", entities=[user], source=transactions, schema=[Field("amount", Float64)], '
            f'quality=Quality(policy="block", expect={{"amount": [MeanBetween({mean + 1}, {mean + 100})]}}))')
    store = make_store(VIEW.format(policy="warn", extra="") + raw2, transactions=df)
    summary = run(store, ["raw2"], end=END)
    assert summary["raw2"].status == "failed" and "amount.mean_between" in summary["raw2"].error
    (result,) = store.registry.validation_results("t", "raw2")
    (mean_result,) = result.results["expectations"]
    assert mean_result["observed"] == pytest.approx(mean) and result.results["sampled_rows"] == len(df)
    oracle = gx_validate_pandas(df[["amount"]], [ColumnExpectation("amount", MeanBetween(mean + 1, mean + 100))])
    assert oracle[0].observed == pytest.approx(mean_result["observed"]) and not oracle[0].success


@pytest.mark.parametrize("sample_rows", [None, 40])
def test_under_warn_the_writing_tasks_draw_the_sample_for_gx(make_store, sample_rows):
    """All rows when they fit the sample (the observed mean is the data's), else ``sample_rows`` of them."""
    df = transactions(days=2)
    mean = float(df["amount"].mean())
    size = "" if sample_rows is None else f", sample_rows={sample_rows}"
    raw2 = (f'raw2 = FeatureView("raw2", entities=[user], source=transactions, schema=[Field("amount", Float64)], '
            f'quality=Quality(policy="warn"{size}, expect={{"amount": [MeanBetween({mean - 1}, {mean + 1})]}}))')
    store = make_store(VIEW.format(policy="warn", extra="") + raw2, transactions=df)
    assert run(store, ["raw2"], end=END, listeners=[Spy()]).ok
    (result,) = store.registry.validation_results("t", "raw2")
    (mean_result,) = result.results["expectations"]
    if sample_rows is None:
        assert result.success and result.results["sampled_rows"] == len(df)
        assert mean_result["observed"] == pytest.approx(mean)
    else:
        assert result.results["sampled_rows"] == sample_rows
        assert df["amount"].min() <= mean_result["observed"] <= df["amount"].max()


def test_a_view_writing_far_fewer_rows_than_it_reads_gets_its_whole_sample(make_store, caplog):
    """Under ``warn`` a FeatureView's range is counted as it is written, so the writing tasks draw the sample at
    a rate set by the rows read; a view that filters most of them out comes up short, and the sample is then
    drawn apart: GX still sees ``min(rows written, sample_rows)`` rows (here all of them, the oracle's mean)."""
    import logging

    df = transactions(days=2)
    kept = df[df["amount"] > 1500]
    assert 0 < len(kept) < 20 < len(df)
    mean = float(kept["amount"].mean())
    big = (f'big = FeatureView("big", entities=[user], source=transactions, schema=[Field("amount", Float64)], '
           f'transform=sql("SELECT user_id, event_ts, ingested_at, amount FROM {{transactions}} '
           f'WHERE amount > 1500"), quality=Quality(policy="warn", sample_rows=20, '
           f'expect={{"amount": [MeanBetween({mean - 1}, {mean + 1})]}}))')
    store = make_store(VIEW.format(policy="warn", extra="") + big, transactions=df)
    with caplog.at_level(logging.INFO, logger="aquifer.quality"):
        assert run(store, ["big"], end=END).ok
    (result,) = store.registry.validation_results("t", "big")
    (mean_result,) = result.results["expectations"]
    assert result.success and result.results["sampled_rows"] == len(kept)
    assert mean_result["observed"] == pytest.approx(mean)
    assert "drawn apart" in caplog.text


def test_a_stored_suite_naming_a_removed_column_gives_a_clear_result(make_store):
    from aquifer.quality.expectations import schema_expectations
    from aquifer.quality.suites import build_suite, suite_json

    store = make_store(VIEW.format(policy="warn", extra=""), transactions=transactions(days=2))
    view = store.views["raw"]
    gone = [ColumnExpectation("discount", InRange(0, 1), "profiled"),
            ColumnExpectation("discount", NotNull(), "profiled")]
    suite = suite_json(build_suite("t.raw", [*schema_expectations(view), *gone]))
    store.registry.save_suite("t", "raw", suite)
    assert run(store, end=END).ok  # warn: written, and the result says what is wrong
    (result,) = store.registry.validation_results("t", "raw")
    assert sorted(result.results["failed"]) == ["discount.in_range", "discount.not_null"]
    assert "missing from the rows" in by_name(result.results["expectations"])["discount.in_range"]["note"]
    assert result.results["suite_version"] == 1


def test_changing_expectations_recomputes_nothing(make_store, tmp_path):
    from aquifer.runs.batch import plan_batch
    from aquifer.sdk.store import FeatureStore

    store = make_store(VIEW.format(policy="warn", extra=""), transactions=transactions(days=2))
    assert run(store, end=END).ok
    features = tmp_path / "features.py"
    features.write_text(features.read_text().replace("InRange(0, 5000)", "InRange(0, 10)")
                        .replace("policy='warn'", "policy='block'"))
    edited = FeatureStore(tmp_path)
    assert edited.views["raw"].quality.policy == "block"
    assert edited.analysis.fingerprints[("feature_view", "raw")].data == \
        store.analysis.fingerprints[("feature_view", "raw")].data
    # the same plan as without the edit: only the lateness lookback, no recomputation of what is done
    assert [vp.ranges for vp in plan_batch(edited, end=END).views] == \
        [vp.ranges for vp in plan_batch(store, end=END).views]
    first_day = pd.Timestamp("2026-01-01", tz="UTC")
    assert all(s >= first_day + timedelta(days=1) for vp in plan_batch(edited, end=END).views for s, _ in vp.ranges)


def test_aggregation_views_quarantine_their_window_rows(make_store):
    from aquifer.stores.offline.reader import read_view_pandas

    code = VIEW.format(policy="warn", extra="") + """
daily = AggregationView("daily", entities=[user], source=transactions,
    aggregations=[Aggregation("amount", "count", Tumbling("1d")), Aggregation("amount", "sum", Tumbling("1d"))],
    quality=Quality(policy="quarantine", expect={"amount_count_1d": [InRange(0, 5)]}))
"""
    store = make_store(code, transactions=transactions(days=2))
    summary = run(store, ["daily"], end=END)
    assert summary.ok
    aside = read_view_pandas(store.config.offline_path / "_quarantine", "t", "daily")
    kept = offline(store, "daily")
    assert len(aside) > 0 and (aside["amount_count_1d"] > 5).all()
    assert all(list(r) == ["amount_count_1d.in_range"] for r in aside["failed_expectations"])
    assert (kept["amount_count_1d"] <= 5).all()
    (result,) = store.registry.validation_results("t", "daily")
    assert result.results["quarantined"] == len(aside) and result.results["action"] == "quarantined"


def test_a_range_without_rows_passes_its_aggregate_expectations(make_store):
    df = transactions(days=2)
    mean = float(df["amount"].mean())
    raw2 = (f'raw2 = FeatureView("raw2", entities=[user], source=transactions, schema=[Field("amount", Float64)], '
            f'quality=Quality(policy="block", expect={{"amount": [MeanBetween({mean - 1}, {mean + 1}), '
            f'NotNull()]}}))')
    store = make_store(VIEW.format(policy="warn", extra="") + raw2, transactions=df)
    assert run(store, ["raw2"], end=END).ok
    assert backfill(store, "raw2", "2026-01-04", "2026-01-05").ok  # a day after the data: no rows
    latest, first = store.registry.validation_results("t", "raw2")
    assert latest.success and latest.results["rows"] == 0 and first.success and first.results["rows"] == len(df)
    assert "aggregate expectations" in " ".join(latest.results["notes"])
