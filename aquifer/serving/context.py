"""Per-store serving state kept in-process: the Redis client, cached definitions and cached plans."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from aquifer.serving.plan import PlanCache, RetrievalPlan
from aquifer.serving.serving_log import ServingLog
from aquifer.stores.online.interface import OnlineStore, open_online_store


class ServingContext:
    """What serving one store needs, built once per ``FeatureStore`` and reused by every lookup."""

    def __init__(self, store: Any):
        self.store = store
        self.project: str = store.config.project
        self.online: OnlineStore = open_online_store(store.config.online_store)
        self.max_entities = int(store.config.online_store.get("max_entities", 1000))
        self._definitions = (dict(store.views), dict(store.services), PlanCache())
        self._registry_version: int | None = None
        # a sample of the answers for drift (``serving.log_sample_rate``; None when off)
        self.serving_log: ServingLog | None = ServingLog.from_config(store.config)

    @property
    def views(self) -> dict[str, Any]:
        """Views by name, as of the last refresh."""
        return self._definitions[0]

    @property
    def services(self) -> dict[str, Any]:
        """Feature services by name, as of the last refresh."""
        return self._definitions[1]

    def plan(self, features: Any, full_names: bool) -> RetrievalPlan:
        """The (cached) plan of a request; ``FeatureRefError`` naming anything unknown."""
        views, services, plans = self._definitions  # one read: a refresh swaps all three together
        return plans.get(features, list(views.values()), list(services.values()), full_names)

    def remember_registry_version(self) -> None:
        """Note the registry version the loaded definitions belong to (a server calls this at start)."""
        self._registry_version = self.store.registry.project_version(self.project)

    def refresh_if_applied(self) -> bool:
        """Reload definitions when the registry's project version moved (an ``apply`` happened).

        Runs off the request path (a background thread); requests keep using the old definitions until
        the new ones are complete, then switch in one assignment. Returns True when it reloaded.
        """
        version = self.store.registry.project_version(self.project)
        if self._registry_version is None or version == self._registry_version:
            self._registry_version = version
            return False
        from aquifer.repo import load_repo

        fresh = load_repo(self.store.config.root)
        if fresh.errors:  # a broken working copy never replaces good definitions
            return False
        self._definitions = (fresh.views, fresh.services, PlanCache())
        self._registry_version = version
        return True

    def close(self) -> None:
        """Write the serving log's buffered rows and release Redis connections."""
        if self.serving_log is not None:
            self.serving_log.close()
        self.online.close()


_CONTEXTS: weakref.WeakKeyDictionary[Any, ServingContext] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def context_for(store: Any) -> ServingContext:
    """The serving context of ``store``, created on first use."""
    ctx = _CONTEXTS.get(store)
    if ctx is None:
        with _LOCK:
            ctx = _CONTEXTS.get(store)
            if ctx is None:
                ctx = _CONTEXTS[store] = ServingContext(store)
    return ctx


def flush_serving_log(store: Any) -> int:
    """Write the rows ``store``'s serving log buffers now (0 when it has no serving context or no log)."""
    ctx = _CONTEXTS.get(store)
    return ctx.serving_log.flush() if ctx is not None and ctx.serving_log is not None else 0
