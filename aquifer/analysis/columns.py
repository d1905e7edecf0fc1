"""Columns of views: declared outputs, column-level lineage edges and the column checks that go with them.

A view's outputs are its join keys, its timestamp field and its schema fields (engines keep exactly
these). Lineage per kind: SQL views from sqlglot (see ``sql.py``); passthrough views take each column
from the same-named upstream column; aggregation views compute each feature from its aggregation's
column; Python views have no column lineage (dependencies at view level only).
"""

from __future__ import annotations

from collections.abc import Mapping

from aquifer.analysis.problems import WARNING, Problem, did_you_mean
from aquifer.analysis.result import ColumnEdge
from aquifer.analysis.source_schema import Columns
from aquifer.analysis.sql import PLACEHOLDER, SqlAnalysis
from aquifer.definitions import AggregationView, FeatureView, Field, SqlTransform, View
from aquifer.definitions.aggregation import VALUE_FUNCTIONS
from aquifer.definitions.types import FeatureType, Int64, Timestamp, accepts

NUMERIC = {"Int64", "Int32", "Float64", "Float32"}
ANY_TYPE = ("count", "min", "max", "approx_distinct")
"""Aggregate functions taking a column of any type (``first`` / ``last`` / ``min_by`` / ``max_by`` take any
type their ``value_type`` accepts)."""


def key_types(view: View) -> dict[str, FeatureType]:
    """Each join key's declared type (an entity without ``key_types`` has Int64 keys)."""
    out: dict[str, FeatureType] = {}
    for entity in view.entities:
        types = entity.key_types or (Int64,) * len(entity.join_keys)
        for key, dtype in zip(entity.join_keys, types, strict=True):
            out.setdefault(key, dtype)
    return out


def view_outputs(view: View) -> Columns:
    """Join keys, timestamp field and features, with their declared types."""
    out: Columns = dict(key_types(view))
    out[view.timestamp_field] = Timestamp
    out.update({f.name: f.dtype for f in view.features})
    return out


def output_problems(view: View) -> list[Problem]:
    """Features that collide with each other, a join key or the timestamp field."""
    problems, seen = [], {*view.join_keys, view.timestamp_field}
    for f in view.features:
        if f.name in seen:
            problems.append(Problem(view.name, f.location or view.location,
                                    f"feature {f.name!r} is declared twice (or clashes with a join key or "
                                    "the timestamp field)"))
        seen.add(f.name)
    return problems


def upstream_timestamp(upstream: object) -> str | None:
    """The event-time column of a source or view."""
    return getattr(upstream, "timestamp_field", None)


def view_columns(
    view: View, columns: Mapping[str, Columns], sql: SqlAnalysis | None
) -> tuple[list[ColumnEdge], list[Problem]]:
    """Column edges into ``view`` and the problems found while resolving them."""
    if isinstance(view, AggregationView):
        return _aggregation(view, columns)
    if isinstance(view.transform, SqlTransform):
        return _sql(view, columns, sql) if sql is not None else ([], [])
    if view.transform is None and view.source is not None:
        return _passthrough(view, columns)
    return [], []


def _passthrough(view: FeatureView, columns: Mapping[str, Columns]) -> tuple[list[ColumnEdge], list[Problem]]:
    source = view.source
    assert source is not None
    known = columns.get(source.name)
    pairs = [(k, k, "join key") for k in view.join_keys]
    pairs.append((upstream_timestamp(source) or view.timestamp_field, view.timestamp_field, None))
    pairs += [(f.name, f.name, "field") for f in view.features]
    fields = {f.name: f for f in view.features}
    declared = view_outputs(view)
    edges, problems = [], []
    for src_col, col, what in pairs:
        if known is not None and src_col not in known:
            if what is not None:  # a missing timestamp column is reported on the source itself
                where = fields[col].location if col in fields else view.location
                problems.append(Problem(view.name, where or view.location,
                                        f"{_what(view, col, what)} is not a column of {source.name!r}"
                                        f"{did_you_mean(src_col, known)}"))
            continue
        edges.append(ColumnEdge(source.name, src_col, view.name, col))
        observed = known.get(src_col) if known else None
        problems += _clash(view, col, declared[col], observed, f"column {src_col!r} of {source.name!r}",
                           fields.get(col), strict=what != "join key" or _declares_key_types(view, col))
    return edges, problems


def _sql(view: FeatureView, columns: Mapping[str, Columns], sql: SqlAnalysis) -> tuple[list[ColumnEdge], list[Problem]]:
    problems = []
    if sql.error:
        return [], [Problem(view.name, view.location, sql.error)]
    for where, column in sql.unknown_columns:
        known = [c for name in PLACEHOLDER.findall(where) for c in columns.get(name) or {}]
        problems.append(Problem(view.name, view.location, f"SQL reads column {column!r}, which {where} does not "
                                f"have{did_you_mean(column, known)}"))
    for table in sql.external_tables:
        problems.append(Problem(view.name, view.location,
                                f"SQL reads table {table!r} directly; write {{name}} for a source or view so "
                                "aquifer can track the dependency", WARNING))
    edges: list[ColumnEdge] = []
    if sql.outputs is None:
        return edges, problems
    produced = {name.lower(): name for name in sql.outputs}
    fields = {f.name: f for f in view.features}
    for col, dtype in view_outputs(view).items():
        found = produced.get(col.lower())
        if found is None:
            what = "join key" if col in view.join_keys else "timestamp field" if col == view.timestamp_field \
                else "field"
            where = fields[col].location if col in fields else view.location
            problems.append(Problem(view.name, where or view.location,
                                    f"the SQL does not produce {_what(view, col, what)}"
                                    f"{did_you_mean(col, sql.outputs)}"))
            continue
        edges += [ColumnEdge(up, up_col, view.name, col) for up, up_col in sql.reads.get(found, ())]
        if col != view.timestamp_field:
            strict = col in fields or _declares_key_types(view, col)
            problems += _clash(view, col, dtype, sql.outputs[found], "the SQL", fields.get(col), strict=strict)
    return edges, problems


def _aggregation(view: AggregationView, columns: Mapping[str, Columns]) -> tuple[list[ColumnEdge], list[Problem]]:
    source = view.source
    assert source is not None
    known = columns.get(source.name)
    edges, problems = [], []
    for key in view.join_keys:
        if known is not None and key not in known:
            problems.append(Problem(view.name, view.location, f"{_what(view, key, 'join key')} is not a column "
                                    f"of {source.name!r}{did_you_mean(key, known)}"))
        else:
            edges.append(ColumnEdge(source.name, key, view.name, key))
    ts = upstream_timestamp(source)
    if ts and (known is None or ts in known):
        edges.append(ColumnEdge(source.name, ts, view.name, view.timestamp_field))
    for agg in view.aggregations:
        read = [agg.column] if agg.by is None else [agg.column, agg.by]
        missing = [c for c in read if known is not None and c not in known]
        for column in missing:
            problems.append(Problem(view.name, agg.location or view.location,
                                    f"aggregation {agg.feature_name!r} reads column {column!r}, which "
                                    f"{source.name!r} does not have{did_you_mean(column, known or {})}"))
        if missing:
            continue
        edges += [ColumnEdge(source.name, column, view.name, agg.feature_name) for column in read]
        observed = known.get(agg.column) if known else None
        if observed is None:
            continue
        if agg.function in VALUE_FUNCTIONS:
            if not accepts(agg.dtype, observed):
                problems.append(Problem(view.name, agg.location or view.location,
                                        f"aggregation {agg.feature_name!r}: {agg.function} returns values of "
                                        f"{agg.column!r}, which is {observed.name}, but its value_type is "
                                        f"{agg.dtype.name} (declare value_type={observed.name})"))
        elif agg.function not in ANY_TYPE and observed.name not in NUMERIC:
            problems.append(Problem(view.name, agg.location or view.location,
                                    f"aggregation {agg.feature_name!r}: {agg.function} needs a numeric column, "
                                    f"but {agg.column!r} is {observed.name}"))
    return edges, problems


def _declares_key_types(view: View, key: str) -> bool:
    return any(key in e.join_keys and e.key_types for e in view.entities)


def _clash(view: View, col: str, declared: FeatureType | None, observed: FeatureType | None, where: str,
           field: Field | None, strict: bool) -> list[Problem]:
    if not strict or declared is None or observed is None or accepts(declared, observed):
        return []
    location = (field.location if field else None) or view.location
    return [Problem(view.name, location, f"type clash: {col!r} is declared {declared.name} but {where} gives "
                    f"{observed.name}")]


def _what(view: View, col: str, what: str) -> str:
    if what == "join key":
        entity = next((e.name for e in view.entities if col in e.join_keys), "?")
        return f"join key {col!r} of entity {entity!r}"
    return f"{what} {col!r}"
