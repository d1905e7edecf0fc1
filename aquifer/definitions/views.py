"""Feature views (rows computed from sources or other views) and aggregation views (windowed aggregates)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aquifer.definitions.aggregation import Aggregation
from aquifer.definitions.base import DefinitionError, Metadata, as_tuple, caller_location
from aquifer.definitions.durations import DurationError, parse_duration
from aquifer.definitions.entity import Entity
from aquifer.definitions.fields import Field
from aquifer.definitions.sources import BatchSource, KafkaSource
from aquifer.definitions.transforms import PythonTransform, SqlTransform, _function_location


def _opt_duration(view: Any, attr: str) -> None:
    value = getattr(view, attr)
    if value is None:
        return
    try:
        object.__setattr__(view, attr, parse_duration(value))
    except DurationError as exc:
        raise DefinitionError(f"{type(view).__name__} {view.name!r} {attr}: {exc}", view.location) from None


@dataclass(frozen=True)
class FeatureViewProjection:
    """A subset of a view's features, written ``view[["a", "b"]]`` inside a ``FeatureService``."""

    view: FeatureView | AggregationView
    features: tuple[str, ...]

    @property
    def name(self) -> str:
        """The projected view's name."""
        return self.view.name


class _ViewMixin:
    """Behaviour shared by both view kinds."""

    name: str
    entities: tuple[Entity, ...]

    def __getitem__(self, features: Sequence[str]) -> FeatureViewProjection:
        if isinstance(features, str):
            features = [features]
        return FeatureViewProjection(self, tuple(features))  # type: ignore[arg-type]

    @property
    def join_keys(self) -> tuple[str, ...]:
        """All join keys of the view's entities, in declaration order."""
        keys: list[str] = []
        for entity in self.entities:
            keys.extend(k for k in entity.join_keys if k not in keys)
        return tuple(keys)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the features this view serves."""
        return tuple(f.name for f in self.features)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FeatureView(_ViewMixin, Metadata):
    """Rows with entity keys, an event time and features, computed by ``transform`` from its upstreams.

    ``source`` is a source or another view; a SQL transform may read more upstreams named ``{name}``.
    With no transform, the source's columns named in ``schema`` pass through.
    """

    name: str
    entities: tuple[Entity, ...] = ()
    source: BatchSource | KafkaSource | FeatureView | AggregationView | None = None
    transform: SqlTransform | PythonTransform | None = None
    schema: tuple[Field, ...] = ()
    ttl: timedelta | None = None
    freshness: timedelta | None = None
    allowed_lateness: timedelta | None = None
    timestamp_field: str = "event_ts"
    online: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", as_tuple(self.entities, f"FeatureView {self.name!r} entities"))
        object.__setattr__(self, "schema", as_tuple(self.schema, f"FeatureView {self.name!r} schema"))
        self._init_metadata()
        for attr in ("ttl", "freshness", "allowed_lateness"):
            _opt_duration(self, attr)
        if not self.entities:
            raise DefinitionError(f"FeatureView {self.name!r} needs at least one entity", self.location)
        for e in self.entities:
            if not isinstance(e, Entity):
                raise DefinitionError(
                    f"FeatureView {self.name!r} entities must be Entity objects, got {e!r}", self.location
                )
        for f in self.schema:
            if not isinstance(f, Field):
                raise DefinitionError(
                    f"FeatureView {self.name!r} schema must hold Field objects, got {f!r}", self.location
                )
        if self.transform is None and self.source is None:
            raise DefinitionError(f"FeatureView {self.name!r} needs a source or a transform", self.location)
        if self.transform is not None and not isinstance(self.transform, SqlTransform | PythonTransform):
            raise DefinitionError(
                f"FeatureView {self.name!r} transform must be sql(...) or a @feature_view function",
                self.location,
            )

    @property
    def features(self) -> tuple[Field, ...]:
        """The declared schema."""
        return self.schema

    @property
    def declared_upstreams(self) -> tuple[str, ...]:
        """Upstream names as written: ``source``, ``{name}`` placeholders, Python parameter names."""
        names: list[str] = []
        if self.source is not None:
            names.append(self.source.name)
        if isinstance(self.transform, SqlTransform):
            names.extend(n for n in self.transform.placeholders if n not in names)
        elif isinstance(self.transform, PythonTransform):
            names.extend(n for n in self.transform.params if n not in names)
        return tuple(names)


@dataclass(frozen=True)
class AggregationView(_ViewMixin, Metadata):
    """Windowed aggregates of a source's events per entity; computed in batch and in the stream alike.

    Each row is one entity at one window end (``event_ts``); a feature's value at time ``t`` is that of
    its most recent window closed at or before ``t``.
    """

    name: str
    entities: tuple[Entity, ...] = ()
    source: BatchSource | KafkaSource | FeatureView | None = None
    aggregations: tuple[Aggregation, ...] = ()
    ttl: timedelta | None = None
    freshness: timedelta | None = None
    allowed_lateness: timedelta | None = None
    online: bool = True

    timestamp_field = "event_ts"

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", as_tuple(self.entities, f"AggregationView {self.name!r} entities"))
        object.__setattr__(
            self, "aggregations", as_tuple(self.aggregations, f"AggregationView {self.name!r} aggregations")
        )
        self._init_metadata()
        for attr in ("ttl", "freshness", "allowed_lateness"):
            _opt_duration(self, attr)
        if not self.entities:
            raise DefinitionError(f"AggregationView {self.name!r} needs at least one entity", self.location)
        if self.source is None:
            raise DefinitionError(f"AggregationView {self.name!r} needs a source", self.location)
        if not self.aggregations:
            raise DefinitionError(f"AggregationView {self.name!r} needs at least one Aggregation", self.location)
        for a in self.aggregations:
            if not isinstance(a, Aggregation):
                raise DefinitionError(
                    f"AggregationView {self.name!r} aggregations must be Aggregation objects, got {a!r}",
                    self.location,
                )

    @property
    def features(self) -> tuple[Field, ...]:
        """One Field per aggregation, named by its ``feature_name``; counts default to 0."""
        return tuple(
            Field(a.feature_name, a.dtype, default=0 if a.function == "count" else None, location=a.location)
            for a in self.aggregations
        )

    @property
    def schema(self) -> tuple[Field, ...]:
        """Same as ``features`` (aggregation views derive their schema)."""
        return self.features

    @property
    def declared_upstreams(self) -> tuple[str, ...]:
        """The source's name."""
        return (self.source.name,) if self.source is not None else ()


def feature_view(
    name: str | None = None,
    *,
    entities: Sequence[Entity],
    schema: Sequence[Field],
    source: Any = None,
    ttl: timedelta | str | None = None,
    freshness: timedelta | str | None = None,
    allowed_lateness: timedelta | str | None = None,
    timestamp_field: str = "event_ts",
    online: bool = True,
    description: str = "",
    owner: str = "",
    tags: dict[str, str] | None = None,
) -> Callable[[Callable], FeatureView]:
    """Decorate a function ``f(upstream_a, upstream_b) -> DataFrame`` into a ``FeatureView``.

    Parameter names name the upstream views or sources; the docstring is the default description.
    """
    if callable(name):
        raise DefinitionError("@feature_view needs arguments: @feature_view(entities=[...], schema=[...])",
                              caller_location())

    def wrap(fn: Callable) -> FeatureView:
        return FeatureView(
            name or fn.__name__,
            entities=entities,
            source=source,
            transform=PythonTransform.from_function(fn),
            schema=schema,
            ttl=ttl,  # type: ignore[arg-type]
            freshness=freshness,  # type: ignore[arg-type]
            allowed_lateness=allowed_lateness,  # type: ignore[arg-type]
            timestamp_field=timestamp_field,
            online=online,
            description=description or (fn.__doc__ or "").strip(),
            owner=owner,
            tags=tags or {},
            location=_function_location(fn),
        )

    return wrap


View = FeatureView | AggregationView
