"""Online values of many entities in one pipelined lookup, encoded, with a status code per value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aquifer.sdk.encoding import Encoded, FeatureEncoder
from aquifer.serving.context import context_for
from aquifer.serving.retrieval import read_online
from aquifer.serving.status import MISSING, PRESENT, STALE, UNAVAILABLE

if TYPE_CHECKING:
    import numpy as np

    from aquifer.serving.result import OnlineResult

STATUS_CODES = {PRESENT: 0, STALE: 1, MISSING: 2, UNAVAILABLE: 3}
"""The ``status`` tensor's codes: present 0, stale 1, missing 2, unavailable 3."""


@dataclass
class OnlineRows:
    """Encoded online values (``encoded.mask`` False where a default was served) and ``status`` codes ``[n, F+C]``."""

    encoded: Encoded
    status: np.ndarray
    result: OnlineResult


def lookup(store: Any, features: Any, entities: Mapping[str, Sequence[Any]], *, full_names: bool = False,
           log: bool = False) -> OnlineResult:
    """The latest values of ``features`` for the entity key columns ``entities``, in ONE Redis pipeline.

    Unlike ``FeatureStore.get_online_features`` it is not bounded by ``online_store.max_entities`` (a guard for
    the HTTP API): a training batch of any size is one round trip. ``log=True`` records the answer in the serving
    log when one is configured (serving-time lookups; training reads are not logged). A Redis that cannot be
    reached is not an error: every value is ``unavailable`` with its default, within ``online_store.timeout_ms``
    and its retries.
    """
    ctx = context_for(store)
    plan = ctx.plan(features, full_names)
    result = read_online(ctx.online, ctx.project, plan, entities)
    if log and ctx.serving_log is not None:
        ctx.serving_log.record(plan, result)
    return result


def encode_online(result: OnlineResult, encoder: FeatureEncoder, views: Mapping[str, Any]) -> OnlineRows:
    """``result``'s values encoded; the mask and status codes from its per-value statuses.

    A ``stale`` value past its view's TTL was replaced by the default (as training would): masked False.
    """
    import numpy as np

    n = len(result)
    encoded = encoder.encode(result.values, n)
    names = encoder.mask_names
    status = np.empty((n, len(names)), dtype=np.int8)
    previous: tuple[list[str], np.ndarray] | None = None
    for j, name in enumerate(names):
        statuses = result.statuses[name]
        if previous is not None and previous[0] == statuses:  # a view's columns nearly always share them
            codes = previous[1]
        else:
            codes = np.fromiter(map(STATUS_CODES.__getitem__, statuses), dtype=np.int8, count=n)
            previous = (statuses, codes)
        status[:, j] = codes
        served = codes <= STATUS_CODES[STALE]
        if (codes == STATUS_CODES[STALE]).any():
            served &= ~_expired(result, views[result.column_views[name]], n)
        encoded.mask[:, j] = served
    return OnlineRows(encoded, status, result)


def _expired(result: OnlineResult, view: Any, n: int) -> np.ndarray:
    import numpy as np

    if view.ttl is None:
        return np.zeros(n, dtype=bool)
    ttl_us = view.ttl.total_seconds() * 1e6
    times = result.event_times_us[view.name]
    return np.fromiter((t is not None and result.served_at_us - t > ttl_us for t in times), dtype=bool, count=n)
