"""The run lifecycle on real Spark: events in order, a listener's veto, dry-run plans, run records."""

from __future__ import annotations

import pytest
from batch_helpers import offline, transactions
from typer.testing import CliRunner

from aquifer.runs import (
    RangeComputed,
    RangeFailed,
    RangeRecorded,
    RangeStarted,
    RangeWritten,
    RunFinished,
    RunStarted,
    ViewFinished,
    ViewStarted,
)
from aquifer.runs.batch import backfill, plan_backfill, plan_batch, run

pytestmark = pytest.mark.spark

VIEWS = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64)])
spend = FeatureView("spend", entities=[user], source=raw,
    transform=sql("SELECT user_id, event_ts, amount * 2 AS doubled FROM {raw}"),
    schema=[Field("doubled", Float64)])
"""
END = "2026-01-03"


class Recorder:
    """Keeps every event; vetoes ranges of ``refuse`` (checking the computed rows first)."""

    def __init__(self, refuse: str | None = None):
        self.events: list = []
        self.refuse = refuse
        self.seen_rows: dict[str, int] = {}

    def on_event(self, event) -> None:
        self.events.append(event)

    def check(self, event: RangeComputed) -> str | None:
        self.seen_rows[event.view] = event.computed.frame.count()
        return "amounts look wrong" if event.view == self.refuse else None


def kinds(events) -> list[str]:
    return [f"{type(e).__name__}:{getattr(e, 'view', '')}" for e in events]


def test_events_arrive_in_step_order_and_records_follow(make_store):
    store = make_store(VIEWS, transactions=transactions(days=2))
    listener = Recorder()
    summary = run(store, end=END, listeners=[listener])
    assert summary.ok
    assert kinds(listener.events) == [
        "RunStarted:", "ViewStarted:raw", "RangeStarted:raw", "RangeWritten:raw", "RangeRecorded:raw",
        "ViewFinished:", "ViewStarted:spend", "RangeStarted:spend", "RangeWritten:spend", "RangeRecorded:spend",
        "ViewFinished:", "RunFinished:",
    ]
    assert isinstance(listener.events[0], RunStarted) and listener.events[0].views == ("raw", "spend")
    recorded = [e for e in listener.events if isinstance(e, RangeRecorded)]
    runs = {r.id: r for r in store.registry.runs("t")}
    for event in recorded:  # the recorder listener closed each record with the range's counts
        record = runs[event.result.run_id]
        assert (record.view, record.status, record.rows_out) == (event.view, "succeeded", event.result.rows_out)
    assert listener.seen_rows == {"raw": len(offline(store, "raw")), "spend": len(offline(store, "spend"))}
    assert isinstance(listener.events[-1], RunFinished) and listener.events[-1].summary is summary


def test_a_veto_writes_nothing_and_leaves_the_ledger(make_store):
    store = make_store(VIEWS, transactions=transactions(days=2))
    from aquifer.alerts import RegistrySink
    from aquifer.runs.alerting import AlertListener

    listener = Recorder(refuse="raw")
    summary = run(store, end=END, listeners=[listener, AlertListener("t", [RegistrySink(store.registry)])])
    assert summary["raw"].status == "failed" and "refused by Recorder: amounts look wrong" in summary["raw"].error
    assert summary["spend"].status == "skipped"
    assert offline(store, "raw").empty and store.registry.intervals("t", "raw", kind="batch") == []
    failed = [e for e in listener.events if isinstance(e, RangeFailed)]
    assert len(failed) == 1 and failed[0].vetoed_by == "Recorder"
    assert not [e for e in listener.events if isinstance(e, RangeWritten | RangeRecorded)]
    (record,) = [r for r in store.registry.runs("t") if r.view == "raw"]
    assert record.status == "failed" and "amounts look wrong" in record.error
    (alert,) = store.registry.alerts("t")
    assert (alert.kind, alert.subject, alert.severity) == ("run_failed", "raw", "error")
    assert "amounts look wrong" in alert.message

    # without the veto the same range goes through
    assert run(store, end=END).ok and len(offline(store, "raw")) == len(offline(store, "spend")) > 0


def test_dry_run_plans_match_what_runs(make_store, tmp_path):
    store = make_store(VIEWS, transactions=transactions(days=2))
    plan = plan_batch(store, end=END)
    assert [vp.name for vp in plan.views] == ["raw", "spend"]
    lines = plan.describe()
    assert any("compute → check → write → record interval" in line for line in lines)
    listener = Recorder()
    run(store, end=END, listeners=[listener])
    started = [(e.view, e.start, e.end) for e in listener.events if isinstance(e, RangeStarted)]
    assert started == [(vp.name, s, e) for vp in plan.views for s, e in vp.ranges]
    assert all(not vp.ranges for vp in plan_batch(store, end="2026-01-02").views)  # already done

    back = plan_backfill(store, "raw", "2026-01-01", "2026-01-02")
    assert back.views[0].forget is not None and "forget" in back.describe()[1]
    listener = Recorder()
    assert backfill(store, "raw", "2026-01-01", "2026-01-02", listeners=[listener]).ok
    assert [type(e) for e in listener.events][:2] == [RunStarted, ViewStarted]
    assert sum(isinstance(e, ViewFinished) for e in listener.events) == 1

    from aquifer.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["run", "--dry-run", "--end", "2026-01-04", "-r", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "raw (batch" in result.output and "compute → check → write → record interval" in result.output
    assert store.registry.intervals("t", "raw", kind="batch")[-1][1].day == 3  # the dry run computed nothing
