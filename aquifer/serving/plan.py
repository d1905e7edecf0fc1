"""What one online lookup reads: requested features grouped by entity group, then by view.

A plan is pure data derived from definitions, so it is computed once per distinct request shape and
cached (``PlanCache``); serving a request then costs only key encoding, one pipeline and the decodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from aquifer.definitions import AggregationView, FeatureService, FeatureView
from aquifer.definitions.refs import resolve_features
from aquifer.serving.status import micros
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.keys import EntityGroup, entity_group

View = FeatureView | AggregationView


@dataclass(frozen=True)
class ViewRead:
    """One view's part of a lookup: which decoded values go to which output columns."""

    view: View
    codec: ViewCodec
    indices: tuple[int, ...]
    columns: tuple[str, ...]
    defaults: tuple[Any, ...]
    ttl_us: int | None
    freshness_us: int | None
    pick: Callable[[Sequence[Any]], Sequence[Any]] | None = None  # decoded values → requested ones (None: all)


@dataclass(frozen=True)
class GroupRead:
    """One entity group: one ``HMGET`` per entity of every view field in ``views``."""

    group: EntityGroup
    fields: tuple[str, ...]
    views: tuple[ViewRead, ...]


@dataclass(frozen=True)
class RetrievalPlan:
    """Everything a lookup needs besides the entities."""

    groups: tuple[GroupRead, ...]
    columns: tuple[str, ...]  # output feature columns, in request order
    column_views: dict[str, str]
    join_keys: tuple[str, ...]


def build_plan(
    features: Any, views: Sequence[View], services: Sequence[FeatureService], full_names: bool
) -> RetrievalPlan:
    """Resolve ``features`` (service, its name, refs, views) into a plan; ``FeatureRefError`` when unknown."""
    resolved = resolve_features(features, views, services, full_names=full_names)
    by_group: dict[str, tuple[EntityGroup, list[ViewRead]]] = {}
    for projection in resolved.projections:
        view = projection.view
        codec = ViewCodec.for_view(view)
        fields = {f.name: f for f in view.features}
        group = entity_group(view)
        indices = tuple(codec.names.index(f) for f in projection.features)
        read = ViewRead(
            view=view,
            codec=codec,
            indices=indices,
            columns=tuple(f"{view.name}__{f}" if full_names else f for f in projection.features),
            defaults=tuple(fields[f].default for f in projection.features),
            ttl_us=micros(view.ttl),
            freshness_us=micros(view.freshness),
            pick=_picker(indices, len(codec.names)),
        )
        by_group.setdefault(group.name, (group, []))[1].append(read)
    groups = tuple(GroupRead(g, tuple(r.view.name for r in reads), tuple(reads)) for g, reads in by_group.values())
    join_keys: list[str] = []
    for g in groups:
        join_keys.extend(k for k in g.group.join_keys if k not in join_keys)
    columns = tuple(col for _, _, col in resolved.columns())
    column_views = {col: view for view, _, col in resolved.columns()}
    return RetrievalPlan(groups, columns, column_views, tuple(join_keys))


def _picker(indices: tuple[int, ...], size: int) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """A C-speed projection of a decoded value list onto the requested features (None: take it whole)."""
    if indices == tuple(range(size)):
        return None
    if len(indices) == 1:
        (only,) = indices
        return lambda values: (values[only],)
    return itemgetter(*indices)


class PlanCache:
    """Plans by request shape (service name or the tuple of refs, and ``full_names``); bounded.

    Definition objects are keyed by identity; the cache holds them, so an id cannot be reused while cached.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._plans: dict[Any, tuple[Any, RetrievalPlan]] = {}

    def get(
        self, features: Any, views: Sequence[View], services: Sequence[FeatureService], full_names: bool
    ) -> RetrievalPlan:
        """The cached plan for this request shape, building it on first use."""
        key = (_shape(features), full_names)
        hit = self._plans.get(key)
        if hit is not None:
            return hit[1]
        plan = build_plan(features, views, services, full_names)
        if len(self._plans) >= self.size:
            self._plans.clear()
        self._plans[key] = (features if isinstance(features, FeatureService) else tuple(features), plan)
        return plan

    def clear(self) -> None:
        """Forget every plan (definitions changed)."""
        self._plans.clear()


def _shape(features: Any) -> Any:
    if isinstance(features, str):
        return features
    if isinstance(features, FeatureService):
        return ("service", id(features))
    return tuple(f if isinstance(f, str) else ("obj", id(f)) for f in features)
