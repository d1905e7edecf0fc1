"""Freshness monitoring: newest-value ages, gauges, and one alert per breach to sinks and the registry."""

from __future__ import annotations

import pytest
from online_repo import HOUR_US, now_us

from aquifer.alerts import Alert, RegistrySink
from aquifer.serving.freshness import FreshnessMonitor
from aquifer.serving.metrics import ServingMetrics
from aquifer.stores.online.redis_store import RedisOnlineStore

pytestmark = pytest.mark.redis


class ListSink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


class BrokenSink:
    def send(self, alert: Alert) -> None:
        raise RuntimeError("down")


def test_breach_alerts_once_and_recovers(store):
    online = RedisOnlineStore.from_config(store.config.online_store)
    project, sink, metrics = store.config.project, ListSink(), ServingMetrics()
    views = [store.views["user_stats"], store.views["merchant_risk"]]  # freshness 2h / none
    monitor = FreshnessMonitor(online, project, views, sinks=[BrokenSink(), sink, RegistrySink(store.registry)],
                               metrics=metrics)
    now = now_us()
    online.record_newest(project, {"user_stats": now - 3 * HOUR_US, "merchant_risk": now - 100 * HOUR_US})
    reports = {r.view: r for r in monitor.check(now)}
    assert reports["user_stats"].breached and not reports["merchant_risk"].breached
    assert reports["user_stats"].age_s == pytest.approx(3 * 3600)
    monitor.check(now)  # still breached: no second alert
    assert [a.subject for a in sink.alerts] == ["user_stats"] and sink.alerts[0].kind == "staleness"
    assert metrics.registry.get_sample_value("aquifer_view_freshness_breached", {"view": "user_stats"}) == 1
    assert metrics.registry.get_sample_value("aquifer_view_newest_value_age_seconds", {"view": "user_stats"}) > 3600
    recorded = store.registry.alerts(project, subject="user_stats")
    assert len(recorded) == 1 and "freshness" in recorded[0].message

    online.record_newest(project, {"user_stats": now - 60_000_000})  # a fresh write: recovered
    assert not {r.view: r for r in monitor.check(now)}["user_stats"].breached
    assert len(sink.alerts) == 2 and sink.alerts[1].severity == "info"  # one recovery message
    assert sink.alerts[1].message.startswith("recovered")
    monitor.check(now)  # still fine: nothing more
    assert len(sink.alerts) == 2
    online.record_newest(project, {"user_stats": now - 60_000_000 - 1})  # older: ignored (newer-wins)
    assert online.newest(project, ["user_stats"])["user_stats"] == now - 60_000_000
    monitor.check(now + 3 * HOUR_US)  # breached again later: alerts again
    assert len(sink.alerts) == 3 and sink.alerts[2].severity == "warning"
    online.close()
