"""Resolve what a caller asks for (a service, ``"view:feature"`` strings, views) into view projections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aquifer.definitions.base import DefinitionError
from aquifer.definitions.service import FeatureService
from aquifer.definitions.views import AggregationView, FeatureView, FeatureViewProjection


class FeatureRefError(DefinitionError, KeyError):
    """A requested feature, view or service does not exist (the message names it)."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


@dataclass(frozen=True)
class ResolvedFeatures:
    """Requested features grouped by view, in request order, with their output column names."""

    projections: tuple[FeatureViewProjection, ...]
    full_names: bool = False

    def columns(self) -> list[tuple[str, str, str]]:
        """``(view, feature, output column)`` for every requested feature, in order."""
        out = []
        for p in self.projections:
            for f in p.features:
                out.append((p.name, f, f"{p.name}__{f}" if self.full_names else f))
        return out


def resolve_features(
    features: FeatureService | str | Sequence[str | FeatureView | AggregationView | FeatureViewProjection],
    views: Iterable[FeatureView | AggregationView],
    services: Iterable[FeatureService] = (),
    full_names: bool = False,
) -> ResolvedFeatures:
    """Turn a service, a service name, or a list of refs/views/projections into grouped projections.

    Raises ``FeatureRefError`` naming the unknown service, view or feature, and when two views share
    a bare feature name without ``full_names=True``.
    """
    by_view = {v.name: v for v in views}
    by_service = {s.name: s for s in services}
    if isinstance(features, str) and ":" not in features:
        if features not in by_service:
            known = ", ".join(sorted(by_service)) or "none"
            raise FeatureRefError(f"unknown feature service {features!r} (known: {known})")
        features = by_service[features]
    items: Sequence = features.features if isinstance(features, FeatureService) else (
        [features] if isinstance(features, str) else list(features)
    )
    grouped: dict[str, list[str]] = {}
    views_used: dict[str, FeatureView | AggregationView] = {}
    for item in items:
        if isinstance(item, FeatureViewProjection):
            view, names = item.view, list(item.features)
        elif isinstance(item, FeatureView | AggregationView):
            view, names = item, list(item.feature_names)
        elif isinstance(item, str):
            if ":" not in item:
                raise FeatureRefError(f"feature reference {item!r} must look like 'view:feature'")
            view_name, feature = item.split(":", 1)
            if view_name not in by_view:
                raise FeatureRefError(f"unknown feature view {view_name!r} in {item!r}")
            view, names = by_view[view_name], [feature]
        else:
            raise FeatureRefError(f"cannot use {item!r} as a feature reference")
        view = by_view.get(view.name, view)
        for name in names:
            if name not in view.feature_names:
                raise FeatureRefError(
                    f"unknown feature {name!r} in view {view.name!r} (it has: {', '.join(view.feature_names)})"
                )
        views_used[view.name] = view
        bucket = grouped.setdefault(view.name, [])
        bucket.extend(n for n in names if n not in bucket)
    if not grouped:
        raise FeatureRefError("no features requested")
    resolved = ResolvedFeatures(
        tuple(FeatureViewProjection(views_used[v], tuple(fs)) for v, fs in grouped.items()), full_names
    )
    if not full_names:
        seen: dict[str, str] = {}
        for view, feature, _ in resolved.columns():
            if feature in seen and seen[feature] != view:
                raise FeatureRefError(
                    f"feature name {feature!r} is served by both {seen[feature]!r} and {view!r}; "
                    "pass full_names=True to get view__feature columns"
                )
            seen[feature] = view
    return resolved
