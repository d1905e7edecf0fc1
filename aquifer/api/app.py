"""The FastAPI application factory. Each route group lives in its own module and is included here."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from aquifer.alerts import (
    AlertGate,
    AlertSink,
    LogSink,
    MemoryAlertStates,
    RegistryAlertStates,
    RegistrySink,
    SlackWebhookSink,
    WebhookSink,
)
from aquifer.api.fastpath import OnlineFastPath
from aquifer.serving.context import ServingContext
from aquifer.serving.freshness import FreshnessMonitor
from aquifer.serving.metrics import ServingMetrics

ROUTERS = ("aquifer.api.online", "aquifer.api.health", "aquifer.api.metrics", "aquifer.api.materialize",
           "aquifer.api.push", "aquifer.api.drift", "aquifer.api.quality", "aquifer.api.catalog",
           "aquifer.api.triggers")


def default_sinks(store: Any) -> list[AlertSink]:
    """Log, every ``online_store.alert_webhooks`` / ``alert_slack_webhooks`` URL, and the registry when it opens."""
    sinks: list[AlertSink] = [LogSink()]
    sinks.extend(WebhookSink(url) for url in store.config.online_store.get("alert_webhooks") or [])
    sinks.extend(SlackWebhookSink(url) for url in store.config.online_store.get("alert_slack_webhooks") or [])
    with contextlib.suppress(Exception):  # no registry (yet, or unreachable): alerts still go elsewhere
        sinks.append(RegistrySink(store.registry))
    return sinks


def default_gate(store: Any, sinks: Sequence[AlertSink]) -> AlertGate:
    """An ``AlertGate`` over ``sinks`` keeping its states in the registry (in memory when it cannot be opened)."""
    try:
        store.registry.alert_states(store.config.project)  # opens the registry (tables created on first use)
        states: Any = RegistryAlertStates(store.registry)
    except Exception:  # no registry: de-duplicate within this process
        states = MemoryAlertStates()
    return AlertGate(sinks, states)


def create_app(
    store: Any,
    *,
    sinks: Sequence[AlertSink] | None = None,
    metrics_registry: CollectorRegistry | None = None,
    freshness_check_s: float | None = None,
) -> FastAPI:
    """A new app serving ``store`` (a ``FeatureStore``): online features, health, metrics, triggers.

    Every app owns its Prometheus registry and serving context, so several apps can live in one process.
    ``freshness_check_s`` (default ``online_store.freshness_check_s``; 0 = off) runs the freshness
    monitor in a background thread; ``/metrics`` scrapes run it too.
    """
    import importlib

    ctx = ServingContext(store)
    metrics = ServingMetrics(metrics_registry)
    gate = default_gate(store, default_sinks(store) if sinks is None else sinks)
    monitor = FreshnessMonitor(ctx.online, ctx.project, list(ctx.views.values()), metrics=metrics, gate=gate)
    interval = float(store.config.online_store.get("freshness_check_s", 60) if freshness_check_s is None
                     else freshness_check_s)
    refresh = float(store.config.online_store.get("definitions_refresh_s", 10))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        # everything loaded so far lives as long as the server: keep it out of the cyclic GC's scans,
        # whose full passes over the startup heap were the p99 of online lookups
        gc.collect()
        gc.freeze()
        if interval > 0:
            threading.Thread(target=_monitor_loop, args=(monitor, interval, stop), daemon=True).start()
        if refresh > 0:
            with contextlib.suppress(Exception):  # no registry: nothing to refresh from
                ctx.remember_registry_version()
            threading.Thread(target=_refresh_loop, args=(ctx, monitor, refresh, stop), daemon=True).start()
        yield
        stop.set()
        ctx.close()

    app = FastAPI(title="aquifer", version="0.1.0", lifespan=lifespan,
                  description="Feature server: online features, health, metrics and run triggers.")
    app.state.store = store
    app.state.serving = ctx
    app.state.metrics = metrics
    app.state.freshness = monitor
    app.state.alert_gate = gate
    app.state.api_config = dict(store.config.api)
    extra_schemas: dict[str, Any] = {}
    for name in ROUTERS:
        module = importlib.import_module(name)
        app.include_router(module.router)
        if hasattr(module, "openapi_schemas"):
            extra_schemas.update(module.openapi_schemas())
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = base_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(extra_schemas)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(OnlineFastPath)
    return app


def _refresh_loop(ctx: ServingContext, monitor: FreshnessMonitor, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        with contextlib.suppress(Exception):  # no registry yet, or unreachable: keep serving what we have
            if ctx.refresh_if_applied():
                monitor.views = [v for v in ctx.views.values() if getattr(v, "online", True)]


def _monitor_loop(monitor: FreshnessMonitor, interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        with contextlib.suppress(Exception):  # keep monitoring through transient failures
            monitor.check()
