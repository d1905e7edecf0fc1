"""Feature views (rows computed from sources or other views) and aggregation views (windowed aggregates)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aquifer.definitions.aggregation import Aggregation
from aquifer.definitions.base import (
    DefinitionError,
    Metadata,
    as_tuple,
    caller_location,
    must_be,
    must_be_bool,
    must_be_text,
    object_hint,
    wrong,
)
from aquifer.definitions.durations import DurationError, parse_duration
from aquifer.definitions.entity import Entity
from aquifer.definitions.fields import Field, field_hint
from aquifer.definitions.quality import Expectation, Quality, check_expectations
from aquifer.definitions.reads import Lookback, as_reads
from aquifer.definitions.sources import BatchSource, KafkaSource
from aquifer.definitions.transforms import PythonTransform, SqlTransform, _function_location


def _opt_duration(view: Any, attr: str) -> None:
    value = getattr(view, attr)
    if value is None:
        return
    try:
        duration = parse_duration(value)
    except DurationError as exc:
        raise DefinitionError(f"{view.who} {attr}: {exc}", view.location) from None
    if duration < timedelta(0):
        raise DefinitionError(f"{view.who} {attr} must not be negative, got {value!r}", view.location)
    object.__setattr__(view, attr, duration)


def _init_view(view: Any, sources: tuple[type, ...], source_names: str) -> None:
    """Checks both view kinds share: metadata, entities, source, durations, ``online``."""
    view._init_metadata()
    who, at = view.who, view.location
    entities = as_tuple(view.entities, who, "entities", at, Entity, "Entity objects")
    object.__setattr__(view, "entities", entities)
    if view.source is not None:
        hint = object_hint("source", view.source)
        if isinstance(view.source, Entity):
            hint = " (an entity goes in entities=[...]; source= is where the rows come from)"
        must_be(view.source, sources, who, "source", f"a {source_names} object", at, hint=hint)
    for attr in ("ttl", "freshness", "allowed_lateness"):
        _opt_duration(view, attr)
    must_be_bool(view.online, who, "online", at)
    if not entities:
        raise DefinitionError(f"{who} needs at least one entity (entities=[...])", at)
    if view.quality is not None:
        must_be(view.quality, Quality, who, "quality", "a Quality(...) object", at)


def _check_quality(view: Any) -> None:
    """Expectations named in ``quality.expect`` must be of the view's features and fit their types."""
    if view.quality is None or not view.quality.expect:
        return
    fields = {f.name: f for f in view.features}
    for name, items in view.quality.expect.items():
        if name not in fields:
            raise DefinitionError(f"{view.who} quality expect names {name!r}, which is not one of its features "
                                  f"({', '.join(fields) or 'none'})", view.quality.location or view.location)
        check_expectations((*fields[name].expect, *items), fields[name].dtype, f"{view.who} feature {name!r}",
                           view.quality.location or view.location)


def declared_expectations(view: Any) -> dict[str, tuple[Expectation, ...]]:
    """Every feature's declared expectations: its ``Field(expect=...)`` then ``quality.expect``'s."""
    out = {f.name: tuple(f.expect) for f in view.features}
    if view.quality is not None:
        for name, items in view.quality.expect.items():
            out[name] = (*out.get(name, ()), *items)
    return {name: items for name, items in out.items() if items}


@dataclass(frozen=True)
class FeatureViewProjection:
    """A subset of a view's features, written ``view[["a", "b"]]`` inside a ``FeatureService``."""

    view: FeatureView | AggregationView
    features: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.view, FeatureView | AggregationView) and isinstance(self.features, tuple) \
                and all(isinstance(f, str) for f in self.features):
            return  # the common case, also built while serving: no stack walk for a location
        at = caller_location()
        must_be(self.view, (FeatureView, AggregationView), "FeatureViewProjection", "view",
                "a FeatureView or AggregationView object", at)
        object.__setattr__(self, "features", as_tuple(self.features, f"projection of {self.view.name!r}",
                                                      "features", at, str, "feature names (strings)"))

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
        who = f"projection {self.name}[[...]]"
        names = as_tuple(features, who, "features", caller_location(), str, "feature names (strings)")
        if not names:
            raise DefinitionError(f"{who} needs at least one feature name", caller_location())
        return FeatureViewProjection(self, names)  # type: ignore[arg-type]

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
    With no transform, the source's columns named in ``schema`` pass through. ``reads`` widens how far back
    an upstream is read: ``reads={"users": Lookback("30d")}`` (``aquifer.definitions.reads``).
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
    quality: Quality | None = None
    reads: Mapping[str, Lookback] | tuple[tuple[str, Lookback], ...] = ()

    def __post_init__(self) -> None:
        _init_view(self, (BatchSource, KafkaSource, FeatureView, AggregationView),
                   "BatchSource, KafkaSource, FeatureView or AggregationView")
        who, at = self.who, self.location
        object.__setattr__(self, "schema", as_tuple(self.schema, who, "schema", at, Field, "Field objects", field_hint))
        object.__setattr__(self, "timestamp_field", must_be_text(self.timestamp_field, who, "timestamp_field", at))
        if self.transform is None and self.source is None:
            raise DefinitionError(f"{who} needs a source or a transform", at)
        if self.transform is not None and not isinstance(self.transform, SqlTransform | PythonTransform):
            hint = " (wrap SQL text in sql(...))" if isinstance(self.transform, str) else ""
            raise wrong(who, "transform", "sql(...) or a @feature_view function", self.transform, at, hint)
        _check_quality(self)
        object.__setattr__(self, "reads", as_reads(self.reads, who, self.declared_upstreams, at))

    @property
    def read_windows(self) -> dict[str, Lookback]:
        """``reads`` as a dict: upstream name → ``Lookback``."""
        return dict(self.reads)  # type: ignore[arg-type]

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
    quality: Quality | None = None

    timestamp_field = "event_ts"

    def __post_init__(self) -> None:
        _init_view(self, (BatchSource, KafkaSource, FeatureView), "BatchSource, KafkaSource or FeatureView")
        who, at = self.who, self.location
        object.__setattr__(self, "aggregations", as_tuple(
            self.aggregations, who, "aggregations", at, Aggregation, "Aggregation objects"))
        if self.source is None:
            raise DefinitionError(f"{who} needs a source (source=...)", at)
        if not self.aggregations:
            raise DefinitionError(f"{who} needs at least one Aggregation (aggregations=[...])", at)
        _check_quality(self)

    @property
    def features(self) -> tuple[Field, ...]:
        """One Field per aggregation, named by its ``feature_name``; counts (``count``, ``approx_distinct``)
        default to 0."""
        return tuple(
            Field(a.feature_name, a.dtype, default=0 if a.function in ("count", "approx_distinct") else None,
                  location=a.location)
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
    entities: Sequence[Entity] | None = None,
    schema: Sequence[Field] | None = None,
    source: Any = None,
    ttl: timedelta | str | None = None,
    freshness: timedelta | str | None = None,
    allowed_lateness: timedelta | str | None = None,
    timestamp_field: str = "event_ts",
    online: bool = True,
    quality: Quality | None = None,
    description: str = "",
    owner: str = "",
    tags: dict[str, str] | None = None,
) -> Callable[[Callable], FeatureView]:
    """Decorate a function ``f(upstream_a, upstream_b) -> DataFrame`` into a ``FeatureView``.

    Parameter names name the upstream views or sources; the docstring is the default description.
    """
    if callable(name) and entities is None and schema is None:  # bare @feature_view
        raise DefinitionError("@feature_view needs arguments: @feature_view(entities=[...], schema=[...])",
                              caller_location())

    def wrap(fn: Callable) -> FeatureView:
        if not inspect.isfunction(fn):
            raise wrong("@feature_view", "target", "a function (def my_view(upstream, ...): ...)", fn,
                        caller_location())
        return FeatureView(
            fn.__name__ if name is None else name,
            entities=entities,
            source=source,
            transform=PythonTransform.from_function(fn),
            schema=schema,
            ttl=ttl,  # type: ignore[arg-type]
            freshness=freshness,  # type: ignore[arg-type]
            allowed_lateness=allowed_lateness,  # type: ignore[arg-type]
            timestamp_field=timestamp_field,
            online=online,
            quality=quality,
            description=(fn.__doc__ or "").strip() if description == "" else description,
            owner=owner,
            tags={} if tags is None else tags,
            location=_function_location(fn),
        )

    return wrap


View = FeatureView | AggregationView
