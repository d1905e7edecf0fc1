"""Freshness monitoring: each view's newest online value against its ``freshness`` SLA.

Writers (materialization, stream sinks) record each view's newest event time in Redis
(``OnlineStore.record_newest``). ``FreshnessMonitor.check`` reads them all in one round trip,
updates the gauges, and routes every view's state through an ``AlertGate``: one ``staleness`` alert when a
view starts breaching, one ``info`` recovery when it is fresh again, nothing in between. With a
``RegistryAlertStates`` store (what ``aquifer serve`` uses) the state is shared by every server process and
survives restarts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aquifer.alerts import Alert, AlertGate, AlertSink
from aquifer.serving.metrics import ServingMetrics
from aquifer.serving.status import micros
from aquifer.stores.online.interface import OnlineStore, OnlineStoreUnavailable


@dataclass(frozen=True)
class FreshnessReport:
    """One view's freshness: newest online value time (µs, None = never written), age (s) and SLA (s)."""

    view: str
    newest_us: int | None
    age_s: float | None
    freshness_s: float | None

    @property
    def breached(self) -> bool:
        """True when the view has an SLA and its newest value is older (or there is none)."""
        return self.freshness_s is not None and (self.age_s is None or self.age_s > self.freshness_s)


class FreshnessMonitor:
    """Checks online views' freshness, updating ``metrics`` and alerting ``sinks`` on changes of breach state.

    ``gate`` (default: an in-memory ``AlertGate`` over ``sinks``) de-duplicates the alerts.
    """

    def __init__(
        self,
        online: OnlineStore,
        project: str,
        views: Sequence[Any],
        *,
        sinks: Sequence[AlertSink] = (),
        metrics: ServingMetrics | None = None,
        gate: AlertGate | None = None,
    ):
        self.online = online
        self.project = project
        self.views = [v for v in views if getattr(v, "online", True)]
        self.gate = gate if gate is not None else AlertGate(sinks)
        self.sinks = self.gate.sinks
        self.metrics = metrics

    def check(self, now_us: int | None = None) -> list[FreshnessReport]:
        """Reports for every online view (empty when Redis is unreachable); alerts on new breaches."""
        now = time.time_ns() // 1000 if now_us is None else now_us
        try:
            newest = self.online.newest(self.project, [v.name for v in self.views])
        except OnlineStoreUnavailable:
            return []
        reports = []
        for view in self.views:
            ts = newest.get(view.name)
            sla = micros(view.freshness)
            report = FreshnessReport(
                view.name, ts, None if ts is None else (now - ts) / 1e6, None if sla is None else sla / 1e6
            )
            reports.append(report)
            self._record(report)
        return reports

    def _record(self, report: FreshnessReport) -> None:
        if self.metrics is not None:
            if report.age_s is not None:
                self.metrics.newest_age.labels(report.view).set(report.age_s)
            self.metrics.freshness_breached.labels(report.view).set(1 if report.breached else 0)
        if report.freshness_s is None:
            return
        age = "no value was ever written" if report.age_s is None else f"newest value is {report.age_s:.0f}s old"
        self.gate.update(Alert(
            self.project, "staleness", report.view, "warning",
            f"view {report.view!r} breaches its freshness SLA of {report.freshness_s:.0f}s: {age}",
            {"newest_us": report.newest_us, "age_s": report.age_s, "freshness_s": report.freshness_s},
        ), report.breached)
