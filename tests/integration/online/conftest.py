"""Fixtures of the online tests: a small on-disk feature repo pointed at the module's Redis db."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from online_repo import write_repo

from aquifer.sdk.store import FeatureStore
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore


@pytest.fixture
def store(tmp_path, redis_url) -> FeatureStore:
    """A FeatureStore over the test repo, online store = this module's Redis db."""
    return FeatureStore(write_repo(tmp_path / "repo", redis_url))


Put = Callable[[str, dict[str, Any], Sequence[Any], int], int]


@pytest.fixture
def put(store) -> Put:
    """``put(view, keys, values, event_us, created_us=0)``: write one vector through the newer-wins script."""
    online = RedisOnlineStore.from_config(store.config.online_store)

    def write(view: str, keys: dict[str, Any], values: Sequence[Any], event_us: int, created_us: int = 0) -> int:
        v = store.views[view]
        key = entity_group(v).key_of(store.config.project, keys)
        return online.write([(key, [(view, ViewCodec.for_view(v).encode(values, event_us, created_us))])])

    yield write
    online.close()
