"""Prometheus metrics of online serving, on a caller-owned ``CollectorRegistry`` (one per app, not global)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aquifer.serving.result import OnlineResult

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
AGE_BUCKETS = (1, 10, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400, 30 * 86400)


class ServingMetrics:
    """Served statuses, served-value ages, request latency, and each view's newest value age."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.values = Counter(
            "aquifer_online_values", "Feature values served, by view and status", ["view", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aquifer_online_request_seconds", "Online lookup latency", ["route"], buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.value_age = Histogram(
            "aquifer_online_oldest_value_age_seconds",
            "Per request and view, the age of the oldest value served (event time to serving time)", ["view"],
            buckets=AGE_BUCKETS, registry=self.registry,
        )
        self.newest_age = Gauge(
            "aquifer_view_newest_value_age_seconds",
            "Age of the newest value materialized or streamed to the online store, per view", ["view"],
            registry=self.registry,
        )
        self.freshness_breached = Gauge(
            "aquifer_view_freshness_breached", "1 when the view's newest online value breaches its freshness SLA",
            ["view"], registry=self.registry,
        )

    def observe(self, result: OnlineResult, seconds: float, route: str = "sdk") -> None:
        """Record one lookup: its latency, status counts and, per view, the oldest served value's age.

        One histogram sample per view and request (not per value) keeps this off the latency budget of
        large batch lookups while still showing how stale the worst value a model received was.
        """
        self.latency.labels(route).observe(seconds)
        for (view, status), count in result.status_counts().items():
            self.values.labels(view, status).inc(count)
        now = result.served_at_us
        for view, times in result.event_times_us.items():
            oldest = min((ts for ts in times if ts is not None), default=None)
            if oldest is not None:
                self.value_age.labels(view).observe((now - oldest) / 1e6)
