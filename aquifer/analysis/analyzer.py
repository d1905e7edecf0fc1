"""``analyze(repo)``: the whole-graph pass that ``plan``, ``apply``, engines and the catalog build on."""

from __future__ import annotations

from aquifer.analysis import validate
from aquifer.analysis.columns import output_problems, view_columns, view_outputs
from aquifer.analysis.dimensions import (
    JoinPlan,
    dimension_problems,
    snapshot_digest,
    view_join_plan,
    with_csv_types,
)
from aquifer.analysis.fingerprint import fingerprint_all
from aquifer.analysis.graph import cycles, downstreams_of, topological_order
from aquifer.analysis.problems import ERROR, WARNING, Problem, sort_key
from aquifer.analysis.result import Analysis, Fingerprint
from aquifer.analysis.source_schema import source_columns
from aquifer.analysis.sql import SqlAnalysis, analyze_sql
from aquifer.definitions import (
    AggregationView,
    BatchSource,
    Definition,
    FeatureService,
    FeatureView,
    KafkaSource,
    SqlTransform,
)
from aquifer.repo import LoadedRepo


def analyze(repo: LoadedRepo) -> Analysis:
    """Analyze a loaded repo: dependencies, columns, lineage, fingerprints and every problem at once.

    Never raises on user mistakes: load errors are passed through and every finding becomes a
    ``Problem`` in ``result.problems`` (``result.ok`` is False when any of them is an error).
    """
    result = Analysis(problems=[Problem(e.name or "", e.location, e.message) for e in repo.errors])
    spaces, duplicates = validate.index(repo.definitions)
    result.problems += duplicates
    result.definitions, result.entities, result.services = spaces.data, spaces.entities, spaces.services
    views = {n: d for n, d in spaces.data.items() if isinstance(d, FeatureView | AggregationView)}

    for name, d in spaces.data.items():
        if isinstance(d, BatchSource | KafkaSource):
            found = source_columns(d, repo.config.root)
            result.problems += [Problem(name, d.location, f"source {name!r}: {e}") for e in found.errors]
            result.problems += [Problem(name, d.location, w, WARNING) for w in found.warnings]
            if found.columns is not None:
                result.columns[name] = found.columns
        else:
            result.columns[name] = view_outputs(d)
            result.problems += output_problems(d)

    sql: dict[str, SqlAnalysis] = {}
    for name, view in views.items():
        if isinstance(view, FeatureView) and isinstance(view.transform, SqlTransform):
            reads = {n: result.columns.get(n) for n in view.transform.placeholders}
            sql[name] = analyze_sql(view.transform.text, reads)

    declared: dict[str, tuple[str, ...]] = {}
    for name, d in spaces.data.items():
        declared[name] = validate.declared_upstreams(d, sql.get(name))
        result.problems += validate.upstream_problems(d, declared[name], spaces)
        result.upstreams[name] = tuple(n for n in declared[name] if n in spaces.data)
    result.downstreams = downstreams_of(result.upstreams)

    found_cycles = cycles(result.upstreams)
    result.problems += [validate.cycle_problem(path, spaces) for path in found_cycles]
    order = topological_order(result.upstreams) if not found_cycles else None
    result.order = [n for n in order or () if n in views]

    for name, d in spaces.data.items():
        if isinstance(d, BatchSource | KafkaSource):
            result.problems += validate.source_problems(d, result.columns.get(name))
    typed = with_csv_types(result.columns, spaces.data, repo.config.root)  # join keys of CSV dimensions
    for name, view in views.items():
        result.problems += validate.batch_problems(view, result.upstreams[name], spaces)
        if isinstance(view, AggregationView):
            result.problems += validate.aggregation_problems(view)
        edges, problems = view_columns(view, result.columns, sql.get(name))
        result.column_edges += edges
        result.problems += problems
        joins = view_join_plan(view, spaces.data, typed) if isinstance(view, FeatureView) else JoinPlan()
        result.problems += [Problem(name, view.location, message, ERROR if error else WARNING)
                            for message, error in dimension_problems(view, joins, spaces.data, repo.config.root)]
    for service in spaces.services.values():
        result.problems += validate.service_problems(service, spaces)

    snapshots = {(d.kind, n): snapshot_digest(d, repo.config.root) for n, d in spaces.data.items()
                 if isinstance(d, BatchSource) and d.is_snapshot}
    result.fingerprints = _fingerprints(spaces, declared, snapshots)
    result.problems.sort(key=sort_key)
    return result


def _fingerprints(
    spaces: validate.Namespaces, declared: dict[str, tuple[str, ...]], content: dict[tuple[str, str], object]
) -> dict[tuple[str, str], Fingerprint]:
    nodes: dict[tuple[str, str], Definition] = {}
    for space in (spaces.entities, spaces.data, spaces.services):
        nodes.update({(d.kind, n): d for n, d in space.items()})

    def depends_on(d: Definition) -> list[tuple[str, str]]:
        if isinstance(d, FeatureService):
            return [("feature_view" if isinstance(p.view, FeatureView) else "aggregation_view", p.name)
                    for p in d.features]
        keys = [(e.kind, e.name) for e in getattr(d, "entities", ())]
        for name in declared.get(d.name, ()):
            up = spaces.data.get(name)
            keys.append((up.kind, name) if up is not None else ("missing", name))
        return keys

    return fingerprint_all(nodes, depends_on, content)

