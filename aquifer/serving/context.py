"""Per-store serving state kept in-process: the Redis client, cached definitions and cached plans."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from aquifer.serving.plan import PlanCache, RetrievalPlan
from aquifer.stores.online.redis_store import RedisOnlineStore


class ServingContext:
    """What serving one store needs, built once per ``FeatureStore`` and reused by every lookup."""

    def __init__(self, store: Any):
        self.project: str = store.config.project
        self.online = RedisOnlineStore.from_config(store.config.online_store)
        self.max_entities = int(store.config.online_store.get("max_entities", 1000))
        self.views = dict(store.views)  # definitions: cached for the process (reload = new context)
        self.services = dict(store.services)
        self.plans = PlanCache()

    def plan(self, features: Any, full_names: bool) -> RetrievalPlan:
        """The (cached) plan of a request; ``FeatureRefError`` naming anything unknown."""
        return self.plans.get(features, list(self.views.values()), list(self.services.values()), full_names)

    def close(self) -> None:
        """Release Redis connections."""
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
