"""Materialization in the run lifecycle: its plan, its events, the records the recorder listener keeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_online_materialize import END, check, offline_rows, write_offline

from aquifer.runs import RangeFailed, RangeStarted, RunFinished, RunStarted, ViewFinished, ViewPushed, ViewStarted
from aquifer.runs.materialize import materialize, plan_materialize

pytestmark = [pytest.mark.redis]


class Recorder:
    def __init__(self):
        self.events: list = []

    def on_event(self, event) -> None:
        self.events.append(event)


def test_materialize_plan_events_and_records(store):
    df = offline_rows(40, 2, END - timedelta(days=3), 2)
    write_offline(store, "user_stats", df)
    plan = plan_materialize(store, ["user_stats"], end=END, engine="duckdb")
    (vp,) = plan.views
    assert vp.engine == "duckdb" and len(vp.ranges) == 1
    assert "push online → record interval" in "\n".join(plan.describe())

    listener = Recorder()
    (report,) = materialize(store, ["user_stats"], end=END, engine="duckdb", progress=False, listeners=[listener])
    check(store, df, END, range(40))
    assert [type(e) for e in listener.events] == [RunStarted, ViewStarted, RangeStarted, ViewPushed, ViewFinished,
                                                  RunFinished]
    pushed = listener.events[3]
    assert (pushed.start, pushed.end) == vp.ranges[0] and pushed.entities == report.entities > 0
    (record,) = store.registry.runs(store.config.project, view="user_stats")
    assert (record.kind, record.status, record.rows_in, record.rows_out) == (
        "materialize", "succeeded", report.entities, report.written)
    assert plan_materialize(store, ["user_stats"], end=END).views[0].ranges == ()  # recorded: up to date


def test_failed_push_is_recorded_and_raised(store, monkeypatch):
    from aquifer.engines import materialize as push

    write_offline(store, "user_stats", offline_rows(10, 3, END - timedelta(days=2), 1))

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(push, "push_latest", broken)
    listener = Recorder()
    with pytest.raises(OSError, match="disk gone"):
        materialize(store, ["user_stats"], end=END, engine="duckdb", progress=False, listeners=[listener])
    failed = [e for e in listener.events if isinstance(e, RangeFailed)]
    assert len(failed) == 1 and "disk gone" in failed[0].error
    (record,) = store.registry.runs(store.config.project, view="user_stats")
    assert record.status == "failed" and "disk gone" in record.error
    assert store.registry.intervals(store.config.project, "user_stats", kind="materialize") == []


def test_a_push_of_old_values_alerts_staleness_at_once(store):
    from aquifer.alerts import RegistrySink
    from aquifer.runs.alerting import FreshnessListener
    from aquifer.serving.freshness import FreshnessMonitor
    from aquifer.stores.online.redis_store import RedisOnlineStore

    write_offline(store, "user_stats", offline_rows(10, 4, END - timedelta(days=2), 1))
    online = RedisOnlineStore.from_config(store.config.online_store)
    monitor = FreshnessMonitor(online, store.config.project, list(store.views.values()),
                               sinks=[RegistrySink(store.registry)])
    try:
        materialize(store, ["user_stats"], end=END, engine="duckdb", progress=False,
                    listeners=[FreshnessListener(monitor)])
    finally:
        online.close()
    alerts = store.registry.alerts(store.config.project)
    assert [(a.kind, a.subject) for a in alerts] == [("staleness", "user_stats")]  # END is long past
