"""A training request checked once, for the frame and the batch iterator alike: views, join keys, engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aquifer.definitions import Entity, FeatureService
from aquifer.definitions.refs import resolve_features
from aquifer.planning.pit import PitView
from aquifer.training.engine import choose_engine
from aquifer.training.inputs import check_columns, check_key_types, pandas_kind, plan_views, spark_kind
from aquifer.training.labels import is_spark_frame


@dataclass(frozen=True)
class TrainingRequest:
    """The views to join (in request order), the join keys the labels must carry, and the engine chosen."""

    views: tuple[PitView, ...]
    keys: tuple[str, ...]
    engine: str


def prepare(store: Any, labels: Any, features: Any, *, timestamp_col: str, full_names: bool, engine: str | None,
            as_spark: bool) -> TrainingRequest:
    """Resolve ``features``, check the labels against them (columns, key kinds) and choose the engine.

    Raises ``TrainingInputError`` naming the column and view at fault.
    """
    resolved = resolve_features(features, store.views.values(), store.services.values(), full_names)
    config = store.config
    definitions = _readable(store)
    views = plan_views(resolved, config.offline_path, config.project, definitions)
    keys: list[str] = []
    for view in views:
        keys.extend(k for k in view.keys if k not in keys)
    check_columns(list(labels.columns), timestamp_col, views)
    if is_spark_frame(labels):
        kinds = {k: spark_kind(labels.schema[k].dataType) for k in keys}
    else:
        kinds = {k: pandas_kind(labels[k]) for k in keys}
    check_key_types(kinds, views)
    return TrainingRequest(views, tuple(keys), choose_engine(config, engine, labels, views, as_spark))


def _readable(store: Any) -> dict[str, Any]:
    """Sources and views by name, for the availability delay of views that name their upstreams as text."""
    repo = getattr(store, "repo", None)  # a store holding only views (tests' stand-ins) resolves view upstreams
    found = list(repo.definitions) if repo is not None else list(store.views.values())
    return {d.name: d for d in found if not isinstance(d, Entity | FeatureService)}
