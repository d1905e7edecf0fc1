"""Online retrieval: N entities across V views in one Redis pipeline, with a status per value."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from aquifer.serving.context import context_for
from aquifer.serving.plan import RetrievalPlan, ViewRead
from aquifer.serving.result import OnlineResult
from aquifer.serving.status import MISSING, PRESENT, STALE, UNAVAILABLE
from aquifer.stores.online.interface import OnlineStore, OnlineStoreUnavailable
from aquifer.stores.online.keys import EntityKeyError

Entities = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]


class TooManyEntities(ValueError):
    """A lookup asked for more entities than ``online_store.max_entities`` allows."""


def get_online_features(store: Any, features: Any, entities: Entities, *, full_names: bool = False) -> OnlineResult:
    """Latest values of ``features`` for ``entities`` (rows ``[{"user_id": 1}, ...]`` or ``{"user_id": [1, ...]}``).

    ``features`` is a ``FeatureService``, its name, or a list of ``"view:feature"`` refs / views /
    projections. One round trip to Redis whatever the number of views. Raises ``FeatureRefError``
    (unknown service/view/feature), ``EntityKeyError`` (a row lacks a join key) or ``TooManyEntities``;
    an unreachable Redis is not an error: every value comes back ``unavailable`` with its default.
    """
    ctx = context_for(store)
    plan = ctx.plan(features, full_names)
    result = read_online(ctx.online, ctx.project, plan, entities, max_entities=ctx.max_entities)
    if ctx.serving_log is not None:
        ctx.serving_log.record(plan, result)
    return result


def entity_columns(entities: Entities, join_keys: Sequence[str]) -> tuple[dict[str, list[Any]], int]:
    """Join-key columns of the requested entities and their number; ``EntityKeyError`` naming a missing key."""
    if hasattr(entities, "columns") and hasattr(entities, "to_dict"):  # a pandas DataFrame
        entities = {str(c): entities[c].tolist() for c in entities.columns}
    if isinstance(entities, Mapping):
        missing = [k for k in join_keys if k not in entities]
        if missing:
            raise EntityKeyError(f"entities lack join key {missing[0]!r} (needed: {', '.join(join_keys)})")
        columns = {k: list(entities[k]) for k in join_keys}
        sizes = {len(c) for c in columns.values()}
        if len(sizes) > 1:
            raise EntityKeyError(f"entity key columns differ in length: { {k: len(c) for k, c in columns.items()} }")
        return columns, sizes.pop() if sizes else 0
    rows = list(entities)
    for i, row in enumerate(rows):
        for k in join_keys:
            if k not in row:
                raise EntityKeyError(f"entity row {i} ({dict(row)!r}) is missing join key {k!r}")
    return {k: [row[k] for row in rows] for k in join_keys}, len(rows)


def read_online(
    online: OnlineStore,
    project: str,
    plan: RetrievalPlan,
    entities: Entities,
    *,
    max_entities: int | None = None,
) -> OnlineResult:
    """Execute a plan: encode keys, one pipeline of HMGETs, decode, assign statuses and defaults."""
    columns, n = entity_columns(entities, plan.join_keys)
    if max_entities is not None and n > max_entities:
        raise TooManyEntities(f"{n} entities requested; online_store.max_entities allows {max_entities}")
    requests: list[tuple[str, tuple[str, ...]]] = []
    for g in plan.groups:
        prefix = g.group.prefix(project)
        key_cols = [columns[k] for k in g.group.join_keys]
        encode = g.group.encode
        requests.extend((prefix + encode(values), g.fields) for values in zip(*key_cols, strict=True))
    try:
        blobs: list[list[bytes | None]] | None = online.read(requests) if n else []
    except OnlineStoreUnavailable:
        blobs = None
    now = time.time_ns() // 1000
    values: dict[str, list[Any]] = dict.fromkeys(plan.columns)  # type: ignore[arg-type]  # request order
    statuses: dict[str, list[str]] = dict.fromkeys(plan.columns)  # type: ignore[arg-type]
    event_times: dict[str, list[int | None]] = {}
    for gi, g in enumerate(plan.groups):
        block = None if blobs is None else blobs[gi * n:(gi + 1) * n]
        for j, read in enumerate(g.views):
            if block is None:
                vcols = [[d] * n for d in read.defaults]
                scols = [[UNAVAILABLE] * n for _ in read.defaults]
                times: list[int | None] = [None] * n
            else:
                vcols, scols, times = _read_view(read, [fields[j] for fields in block], now)
            for column, vcol, scol in zip(read.columns, vcols, scols, strict=True):
                values[column] = vcol
                statuses[column] = scol
            event_times[read.view.name] = times
    return OnlineResult(columns, values, statuses, event_times, plan.column_views, now)


def _read_view(
    read: ViewRead, blobs: list[bytes | None], now: int
) -> tuple[list[list[Any]], list[list[str]], list[int | None]]:
    """One view's decoded columns, statuses and event times for ``blobs`` (one per entity).

    Works row by row only to decode and to pick each entity's status; the rows become columns with one
    C-level transpose (``zip(*rows)``). Null values (rare) are patched to their default afterwards.
    """
    defaults, pick = read.defaults, read.pick
    ttl, fresh = read.ttl_us, read.freshness_us
    rows: list[Sequence[Any]] = []
    status: list[str] = []
    times: list[int | None] = []
    nulls: list[int] = []
    for decoded in read.codec.decode_many(blobs):
        if decoded is None:
            rows.append(defaults)
            status.append(MISSING)
            times.append(None)
            continue
        ts = decoded[0]
        times.append(ts)
        age = now - ts
        if ttl is not None and age > ttl:  # expired: serve defaults, as training would
            rows.append(defaults)
            status.append(STALE)
            continue
        row = decoded[2] if pick is None else pick(decoded[2])
        if None in row:
            nulls.append(len(rows))
        rows.append(row)
        status.append(STALE if fresh is not None and age > fresh else PRESENT)
    if not rows:
        return [[] for _ in defaults], [[] for _ in defaults], times
    vcols = [list(col) for col in zip(*rows, strict=True)]
    scols = [status] + [status.copy() for _ in range(len(defaults) - 1)]
    for r in nulls:
        for k, v in enumerate(rows[r]):
            if v is None:
                vcols[k][r] = defaults[k]
                scols[k][r] = MISSING
    return vcols, scols, times
