"""Definition-level checks: namespaces and duplicates, upstream names, sources, aggregations, services.

Every check returns problems instead of raising, so one ``analyze`` reports every error at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aquifer.analysis.problems import WARNING, Problem, did_you_mean
from aquifer.analysis.source_schema import Columns, time_column_problem, time_columns
from aquifer.analysis.sql import SqlAnalysis
from aquifer.definitions import (
    AggregationView,
    BatchSource,
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    KafkaSource,
    PythonTransform,
    SqlTransform,
    is_known_function,
    window_problems,
)
from aquifer.definitions.aggregation import NAMED_PERCENTILES, SIMPLE_FUNCTIONS

KNOWN_FUNCTIONS = (*SIMPLE_FUNCTIONS, *NAMED_PERCENTILES)


@dataclass
class Namespaces:
    """Definitions by name: sources and views share ``data``; entities and services have their own."""

    data: dict[str, Definition] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)
    services: dict[str, FeatureService] = field(default_factory=dict)


def index(definitions: Iterable[Definition]) -> tuple[Namespaces, list[Problem]]:
    """Sort definitions into namespaces; two different definitions with one name are a problem."""
    spaces, problems = Namespaces(), []
    for d in definitions:
        space: dict = spaces.entities if isinstance(d, Entity) else (
            spaces.services if isinstance(d, FeatureService) else spaces.data
        )
        first = space.get(d.name)
        if first is None:
            space[d.name] = d
        elif not (first.location == d.location and first == d):  # a module imported twice is no duplicate
            subject = f"two {d.kind}s are" if first.kind == d.kind else f"a {first.kind} and a {d.kind} are both"
            shared = " (sources and views share one namespace)" if space is spaces.data else ""
            problems.append(Problem(d.name, d.location, f"duplicate name: {subject} named {d.name!r}{shared}; "
                                    f"the other is at {first.location}"))
    return spaces, problems


def declared_upstreams(d: Definition, sql: SqlAnalysis | None) -> tuple[str, ...]:
    """Names a source or view reads: ``source=``, SQL ``{name}`` tables, Python parameters, ``batch_source``."""
    if isinstance(d, KafkaSource):
        return (d.batch_source.name,) if d.batch_source else ()
    if isinstance(d, FeatureView) and isinstance(d.transform, SqlTransform):
        names = [d.source.name] if d.source is not None else []
        read = sql.upstreams if sql is not None and sql.error is None else d.transform.placeholders
        return tuple(dict.fromkeys([*names, *read]))
    if isinstance(d, FeatureView | AggregationView):
        return d.declared_upstreams
    return ()


def upstream_problems(d: Definition, names: tuple[str, ...], spaces: Namespaces) -> list[Problem]:
    """Upstream names that name no source or view, with close-name suggestions."""
    problems = []
    for name in names:
        if name in spaces.data:
            continue
        other = "an entity" if name in spaces.entities else "a feature service" if name in spaces.services else ""
        hint = f"; {name!r} is {other}" if other else did_you_mean(name, spaces.data)
        if isinstance(d, FeatureView) and isinstance(d.transform, SqlTransform):
            message = f"SQL reads {{{name}}}, but there is no source or view named {name!r}{hint}"
        elif isinstance(d, FeatureView) and isinstance(d.transform, PythonTransform) \
                and name in d.transform.params:
            message = f"parameter {name!r} of {d.transform.qualname}() names no source or view{hint}"
        else:
            message = f"upstream {name!r} is not a source or view{hint}"
        problems.append(Problem(d.name, d.location, message))
    return problems


def cycle_problem(path: list[str], spaces: Namespaces) -> Problem:
    """One problem naming every view on a dependency cycle, located at its first view."""
    first = spaces.data[path[0]]
    return Problem(first.name, first.location,
                   f"dependency cycle: {' → '.join(path)} (a view cannot read itself, directly or through others)")


def source_problems(source: BatchSource | KafkaSource, known: Columns | None) -> list[Problem]:
    """Timestamp, created-timestamp and key columns that the source's known columns lack.

    Time column types are checked here only against a declared schema; stored types are checked
    against the files, which ``source_schema`` names.
    """
    if known is None:
        return []
    problems = []
    landed = source.batch_source if isinstance(source, KafkaSource) else source
    # a declared schema describes the source's own rows (a Kafka source's events), read with its own unit
    unit = source.timestamp_unit or (landed.timestamp_unit if landed is not None else None)
    for attr, column in [*time_columns(source), ("key_field", getattr(source, "key_field", None))]:
        if column and column not in known:
            problems.append(Problem(source.name, source.location, f"{attr} {column!r} is not a column of "
                                    f"{source.name!r}{did_you_mean(column, known)}"))
        elif column and attr != "key_field" and source.schema:
            why = time_column_problem(attr, column, known[column], unit, f"the declared schema of {source.name!r}")
            if why:
                problems.append(Problem(source.name, source.location, why))
    return problems


def batch_problems(
    view: FeatureView | AggregationView, upstreams: tuple[str, ...], spaces: Namespaces
) -> list[Problem]:
    """A view reading a KafkaSource with no ``batch_source`` cannot be computed (or backfilled) in batch."""
    problems = []
    for name in upstreams:
        source = spaces.data.get(name)
        if not isinstance(source, KafkaSource) or source.batch_source is not None:
            continue
        if isinstance(view, AggregationView):
            problems.append(Problem(view.name, view.location,
                                    f"needs batch_source for batch/backfill: KafkaSource {name!r} has none, so "
                                    "only the stream can compute this view", WARNING))
        else:
            problems.append(Problem(view.name, view.location,
                                    f"cannot be computed in batch: it reads KafkaSource {name!r}, which has no "
                                    "batch_source (set batch_source= to the landed events)"))
    return problems


def aggregation_problems(view: AggregationView) -> list[Problem]:
    """Unknown functions (at the Aggregation's line) and invalid windows (at the window's line)."""
    problems, seen_windows = [], set()
    for agg in view.aggregations:
        if not is_known_function(agg.function):
            known = ", ".join(KNOWN_FUNCTIONS) + ", percentile(q)"
            problems.append(Problem(view.name, agg.location or view.location,
                                    f"unknown aggregation function {agg.function!r}"
                                    f"{did_you_mean(agg.function, KNOWN_FUNCTIONS)} (known: {known})"))
        if id(agg.window) in seen_windows:
            continue
        seen_windows.add(id(agg.window))
        for message in window_problems(agg.window):
            problems.append(Problem(view.name, agg.window.location or agg.location or view.location,
                                    f"aggregation of {agg.column!r}: {message}"))
    return problems


def service_problems(service: FeatureService, spaces: Namespaces) -> list[Problem]:
    """Projections naming a feature the view lacks (or a view outside the repo's namespace)."""
    problems = []
    for projection in service.features:
        view = spaces.data.get(projection.name)
        if view is not projection.view and not isinstance(view, FeatureView | AggregationView):
            problems.append(Problem(service.name, service.location,
                                    f"uses view {projection.name!r}, which is not a feature view of this repo"))
            continue
        have = projection.view.feature_names
        for feature in projection.features:
            if feature not in have:
                problems.append(Problem(service.name, service.location,
                                        f"asks for {projection.name}:{feature}, but view {projection.name!r} has "
                                        f"no feature {feature!r}{did_you_mean(feature, have)} "
                                        f"(it has: {', '.join(have)})"))
    return problems

