"""Discovery routes (read-only): search views and features, a view's definition and health, entities, sources,
services, runs and lineage. Response bodies are in ``aquifer.api.catalog_models``.

**Source of truth: the registry, not the server's checkout.** Every answer describes the definitions as applied
to the registry for the app's project (``Registry.definitions``/``definition``/``versions``/``lineage``). The
server may run from a checkout newer (or older) than what was applied, and a checkout knows neither versions nor
lineage as recorded nor who applied what; discovery shows what is registered, which is also what runs computed
and what ``aquifer plan`` diffs against. A repo never applied shows nothing: empty lists and 404s.

**Cost.** Definitions change only on ``apply``, so they are read once per project version: each request asks the
registry for the project version (one small query) and reuses the snapshot built for it (every definition's
spec and the lineage graph) until it moves. Observations (runs, statistics, validation, drift) are read per
request, one registry query each; freshness is one Redis round trip (the online store's newest-value
bookkeeping, as ``serving.freshness`` reads it), answered ``unavailable`` when Redis does not answer. No route
touches Spark, DuckDB or the offline store.

The registry is reached through the store (``store.registry``), as the quality and drift routes do: the ``api``
room does not import ``registry``. Reads need an API key only with ``api.require_key_for_reads``.
404s name what was not found and suggest close names; bad parameters are 422s; a registry that does not answer
is a 503.
"""

from __future__ import annotations

import difflib
import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from aquifer.api import catalog_models as m
from aquifer.api.auth import require_key
from aquifer.api.models import ErrorResponse
from aquifer.times import from_micros

log = logging.getLogger("aquifer.api")
router = APIRouter(tags=["discovery"], dependencies=[Depends(require_key(write=False))],
                   responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
                              503: {"model": ErrorResponse, "description": "The registry did not answer"}})

VIEW_KINDS = ("feature_view", "aggregation_view")
SOURCE_KINDS = ("batch_source", "kafka_source")
NOT_FOUND = {404: {"model": ErrorResponse, "description": "Unknown name (the message suggests close ones)"}}
RUNS_SHOWN = 10
REGISTRY_DOWN = (OperationalError, InterfaceError, PoolTimeout)
"""What a registry that cannot be reached raises (connection refused or lost, pool exhausted)."""
Name = Annotated[str, Path(min_length=1, max_length=256)]


# ---- the registered definitions, read once per project version ------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every current definition (with its spec) and the lineage graph of one project version.

    What every request would otherwise rebuild from them (search items and their text, the graph's adjacency)
    is computed on first use and kept with the snapshot, so it is built once per ``apply``.
    """

    version: int
    definitions: dict[tuple[str, str], Any] = field(default_factory=dict)
    lineage: Any = None

    @cached_property
    def search_items(self) -> list[tuple[m.ViewSummary, str]]:
        """Every view's search item, by name, with the case-folded text ``q`` is looked up in."""
        out = []
        for d in self.of_kinds(VIEW_KINDS):
            item = _summary(d)
            words = [item.name, item.description or ""] + [f"{f.name}\n{f.description or ''}" for f in item.features]
            out.append((item, "\n".join(words).casefold()))
        return out

    @cached_property
    def graph(self) -> Graph:
        """The lineage graph indexed for walking: nodes by key, neighbours up and down, column edges by node."""
        graph = Graph()
        if self.lineage is None:
            return graph
        graph.nodes = {(n.kind, n.name): n for n in self.lineage.nodes}
        for e in self.lineage.edges:
            src, dst = (e.from_kind, e.from_name), (e.to_kind, e.to_name)
            graph.up.setdefault(dst, []).append(src)
            graph.down.setdefault(src, []).append(dst)
            graph.edges_to.setdefault(dst, []).append(e)
        for c in self.lineage.column_edges:
            graph.columns_to.setdefault(c.to_node, []).append(c)
        return graph

    def of_kinds(self, kinds: Sequence[str]) -> list[Any]:
        """Definitions of ``kinds``, sorted by name."""
        return sorted((d for (k, _), d in self.definitions.items() if k in kinds), key=lambda d: (d.name, d.kind))

    def find(self, kinds: Sequence[str], name: str, what: str) -> Any:
        """The definition of one of ``kinds`` named ``name``; 404 naming it (with close names) otherwise."""
        for kind in kinds:
            found = self.definitions.get((kind, name))
            if found is not None:
                return found
        raise not_found(what, name, [d.name for d in self.of_kinds(kinds)])

    def used_by(self, kind: str, name: str) -> list[m.Ref]:
        """Definitions that use ``kind:name`` (downstream by one edge)."""
        return [m.Ref(kind=k, name=n) for k, n in sorted(self.graph.down.get((kind, name), ()))]


@dataclass
class Graph:
    """A lineage graph indexed by node: ``(kind, name)`` keys; column edges by their ``to_node`` name."""

    nodes: dict[tuple[str, str], Any] = field(default_factory=dict)
    up: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    down: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    edges_to: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    columns_to: dict[str, list[Any]] = field(default_factory=dict)

    def walk(self, root: tuple[str, str], depth: int, direction: str) -> dict[tuple[str, str], int]:
        """Nodes within ``depth`` hops of ``root`` (``up``, ``down`` or ``both``), with their distance."""
        distance = {root: 0}
        for neighbours, wanted in ((self.up, ("up", "both")), (self.down, ("down", "both"))):
            if direction not in wanted:
                continue
            queue, seen = deque([root]), {root: 0}
            while queue:
                at = queue.popleft()
                if seen[at] >= depth:
                    continue
                for nxt in neighbours.get(at, []):
                    if nxt not in seen:
                        seen[nxt] = seen[at] + 1
                        queue.append(nxt)
            for key, hops in seen.items():
                distance[key] = min(hops, distance.get(key, hops))
        return distance


class Catalog:
    """The snapshot of the app's project, rebuilt when the registry's project version moves."""

    def __init__(self, store: Any):
        self.store = store
        self.project: str = store.config.project
        self._snapshot = Snapshot(-1)
        self._lock = threading.Lock()

    @property
    def registry(self) -> Any:
        """The store's registry (``aquifer.registry.Registry``)."""
        return self.store.registry

    def snapshot(self) -> Snapshot:
        """The current snapshot: one project-version query, a reload only after an ``apply``."""
        version = self.registry.project_version(self.project)
        current = self._snapshot
        if current.version == version:
            return current
        with self._lock:
            if self._snapshot.version == version:
                return self._snapshot
            if version == 0:  # never applied: nothing is registered
                self._snapshot = Snapshot(0)
                return self._snapshot
            registry, project = self.registry, self.project
            found = {(d.kind, d.name): d for d in registry.current_definitions(project)}  # one query
            # labelled with the version read first: an apply in between only makes the next request reload
            self._snapshot = Snapshot(version, found, registry.lineage(project))
            self._snapshot.search_items, self._snapshot.graph  # noqa: B018 - built now, not by the next request
            # kept until the next apply: out of the cyclic GC's scans, whose full passes over a large project's
            # snapshot (2,000 views: ~10^6 objects) were the routes' p99 (as the app does for its startup heap)
            gc.collect()
            gc.freeze()
            return self._snapshot


def catalog(request: Request) -> Iterator[Catalog]:
    """The app's ``Catalog`` (created on first use); a registry that does not answer during the request is a 503
    (the error is logged, its text not sent: it may name hosts)."""
    state = request.app.state
    found = getattr(state, "catalog", None)
    if found is None:
        found = state.catalog = Catalog(state.store)
    try:
        yield found
    except REGISTRY_DOWN as exc:
        log.warning("discovery: the registry did not answer: %s", exc)
        detail = f"the registry did not answer ({type(exc).__name__}); see the server log"
        raise HTTPException(503, detail) from None


CatalogDep = Annotated[Catalog, Depends(catalog)]


def not_found(what: str, name: str, known: Iterable[str], where: str = "") -> HTTPException:
    """A 404 naming ``what`` ``name`` (``where``: e.g. `` of view 'x'``) and the known names it may have meant."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return HTTPException(404, f"unknown {what} {name!r}{where}{hint}")


# ---- spec readers ----------------------------------------------------------------------------------------------


def _meta(d: Any) -> dict[str, Any]:
    return d.spec.get("meta") or {}


def _data(d: Any) -> dict[str, Any]:
    return d.spec.get("data") or {}


def _text(value: Any) -> str | None:
    return value or None


def _features(d: Any) -> list[m.FeatureDetail]:
    """The view's features: names, descriptions, defaults and expectations from the meta spec, types from the data
    spec (a ``FeatureView``'s schema) or the aggregation that computes them."""
    data = _data(d)
    types = {f["name"]: f.get("dtype") for f in data.get("schema") or []}
    aggs = {a.get("name"): a for a in data.get("aggregations") or []}
    quality = (_meta(d).get("quality") or {}).get("expect") or {}
    out = []
    for f in _meta(d).get("fields") or []:
        name = f["name"]
        agg = aggs.get(name)
        out.append(m.FeatureDetail(
            name=name, dtype=types.get(name), default=f.get("default"), description=_text(f.get("description")),
            expectations=list(f.get("expect") or []) + list(quality.get(name) or []),
            aggregation=None if agg is None else m.AggregationSpec(
                name=name, column=agg.get("column", ""), function=agg.get("function", ""),
                window=agg.get("window") or {}),
        ))
    return out


def _summary(d: Any) -> m.ViewSummary:
    meta = _meta(d)
    return m.ViewSummary(
        name=d.name, kind=d.kind, description=_text(meta.get("description")), owner=_text(meta.get("owner")),
        tags=dict(meta.get("tags") or {}), version=d.version, freshness_s=meta.get("freshness"),
        features=[m.FeatureSummary(name=f.name, dtype=f.dtype, description=f.description) for f in _features(d)],
        updated_at=d.updated_at,
    )


def _matches(item: m.ViewSummary, text: str, terms: Sequence[str], tags: Sequence[tuple[str, str | None]],
             owner: str | None) -> bool:
    """Every term in ``text`` (name, description, features' names and descriptions); every tag; the owner."""
    if owner is not None and (item.owner or "").casefold() != owner.casefold():
        return False
    for key, value in tags:
        if key not in item.tags or (value is not None and item.tags[key] != value):
            return False
    return all(term in text for term in terms)


def _parse_tag(tag: str) -> tuple[str, str | None]:
    key, sep, value = tag.partition(":")
    if not key:
        raise HTTPException(422, f"tag {tag!r}: give key or key:value")
    return key, (value if sep else None)


def _run(r: Any) -> m.RunRecord:
    return m.RunRecord(id=r.id, view=r.view, kind=r.kind, start=r.start, end=r.end, status=r.status, rows_in=r.rows_in,
                       rows_out=r.rows_out, started_at=r.started_at, finished_at=r.finished_at,
                       duration_s=r.duration_s, error=r.error, details=r.details)


def _stats(record: Any) -> m.FeatureStats | None:
    """The stored summary (``stats["summary"]``, ``FeatureStatistics.to_dict``) with when and what measured it."""
    from aquifer.quality.statistics import FeatureStatistics

    summary = (record.stats or {}).get("summary") if isinstance(record.stats, dict) else None
    if not isinstance(summary, dict):
        return None
    try:
        parsed = FeatureStatistics.from_dict(summary)
    except (TypeError, ValueError):  # a summary this version cannot read: show none rather than fail the page
        return None
    body = parsed.to_dict()  # JSON-safe again (non-finite numbers as text)
    return m.FeatureStats(**body, null_fraction=parsed.null_fraction, computed_at=record.computed_at,
                          range_start=record.range_start, range_end=record.range_end, run_kind=record.run_kind,
                          run_id=record.run_id)


def _drift(r: Any) -> m.Drift:
    return m.Drift(training_id=r.training_id, breached=r.breached, computed_at=r.computed_at, metrics=r.metrics)


def _changes(old: Any, new: Any, path: str = "") -> list[m.SpecChange]:
    """Leaf paths whose values differ between two specs (lists compared whole, ``location`` ignored)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            if not path and key == "location":
                continue
            out += _changes(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return out
    if old == new:
        return []
    if isinstance(old, list) and isinstance(new, list) and path.endswith((".fields", ".schema")):
        return _list_by_name(old, new, path)
    return [m.SpecChange(path=path, old=old, new=new)]


def _list_by_name(old: list[Any], new: list[Any], path: str) -> list[m.SpecChange]:
    """Field lists compared field by field (``meta.fields.amount.description``) when their items are named."""
    if not all(isinstance(x, dict) and "name" in x for x in [*old, *new]):
        return [m.SpecChange(path=path, old=old, new=new)]
    before, after = {x["name"]: x for x in old}, {x["name"]: x for x in new}
    out = []
    for name in [*before, *(n for n in after if n not in before)]:
        out += _changes(before.get(name), after.get(name), f"{path}.{name}")
    return out


def _versions(registry: Any, project: str, d: Any) -> list[m.ViewVersion]:
    out, previous = [], None
    for v in registry.versions(project, d.kind, d.name):
        changes = [] if previous is None else _changes(previous, v.spec)
        out.append(m.ViewVersion(version=v.version, change=v.change, project_version=v.project_version,
                                 created_at=v.created_at, applied_by=v.applied_by,
                                 data_fingerprint=v.data_fingerprint, meta_fingerprint=v.meta_fingerprint,
                                 changes=changes))
        previous = v.spec
    return out


def _freshness(request: Request, project: str, d: Any) -> m.Freshness:
    """The newest online value's age against the SLA; ``unavailable`` when the online store does not answer."""
    meta = _meta(d)
    sla = meta.get("freshness")
    if meta.get("online") is False:
        return m.Freshness(status="offline", freshness_s=sla)
    try:
        newest = request.app.state.serving.online.newest(project, [d.name]).get(d.name)
    except Exception:  # OnlineStoreUnavailable, or anything else from a store that is not answering
        return m.Freshness(status="unavailable", freshness_s=sla)
    if newest is None:
        return m.Freshness(status="never_written", freshness_s=sla)
    age = (time.time_ns() // 1000 - newest) / 1e6
    stale = sla is not None and age > sla
    return m.Freshness(status="stale" if stale else "fresh", newest_at=from_micros(newest), age_s=age,
                       freshness_s=sla)


def _entity(d: Any, snap: Snapshot) -> m.EntityDetail:
    meta, data = _meta(d), _data(d)
    return m.EntityDetail(name=d.name, version=d.version, description=_text(meta.get("description")),
                          owner=_text(meta.get("owner")), tags=dict(meta.get("tags") or {}),
                          join_keys=list(data.get("join_keys") or []), key_types=list(data.get("key_types") or []),
                          location=d.location, used_by=snap.used_by(d.kind, d.name))


def _source(d: Any, snap: Snapshot) -> m.SourceDetail:
    meta, data = _meta(d), _data(d)
    described = {f["name"]: f.get("description") for f in meta.get("fields") or []}
    return m.SourceDetail(
        name=d.name, kind=d.kind, version=d.version, description=_text(meta.get("description")),
        owner=_text(meta.get("owner")), tags=dict(meta.get("tags") or {}), path=data.get("path"),
        table=data.get("table"), topic=data.get("topic"), format=data.get("format"),
        timestamp_field=data.get("timestamp_field"), batch_source=data.get("batch_source"),
        fields=[m.SourceField(name=f["name"], dtype=f.get("dtype", ""), description=_text(described.get(f["name"])))
                for f in data.get("schema") or []],
        location=d.location, used_by=snap.used_by(d.kind, d.name),
    )


def _service(d: Any, snap: Snapshot) -> m.ServiceDetail:
    meta = _meta(d)
    return m.ServiceDetail(
        name=d.name, version=d.version, description=_text(meta.get("description")), owner=_text(meta.get("owner")),
        tags=dict(meta.get("tags") or {}), location=d.location, used_by=snap.used_by(d.kind, d.name),
        features=[m.ServiceFeatures(view=p["view"], features=list(p.get("features") or []))
                  for p in _data(d).get("features") or []],
    )


# ---- routes ------------------------------------------------------------------------------------------------------


@router.get("/api/v1/feature-views", summary="Search views and their features")
def search_views(
    cat: CatalogDep,
    q: Annotated[str | None, Query(max_length=500, description="Words found (case-insensitively) in the name, "
                                   "description, or a feature's name or description")] = None,
    tag: Annotated[list[str] | None, Query(max_length=50, description="key or key:value; repeat for all of them")]
    = None,
    owner: Annotated[str | None, Query(max_length=256, description="The owner (case-insensitive)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> m.ViewSearchResponse:
    """Views (``FeatureView`` and ``AggregationView``) matching every given filter, by name, one page of them."""
    tags = [_parse_tag(t) for t in tag or []]
    terms = (q or "").casefold().split()
    found = [item for item, text in cat.snapshot().search_items if _matches(item, text, terms, tags, owner)]
    return m.ViewSearchResponse(total=len(found), limit=limit, offset=offset, items=found[offset:offset + limit])


@router.get("/api/v1/feature-views/{name}", summary="A view: definition, schema, versions, freshness, health",
            responses=NOT_FOUND)
def view_detail(request: Request, cat: CatalogDep, name: Name) -> m.ViewDetail:
    """The registered definition with its versions (and what changed), freshness now, latest statistics,
    validation and drift, and the last runs."""
    snap = cat.snapshot()
    d = snap.find(VIEW_KINDS, name, "feature view")
    registry, project = cat.registry, cat.project
    meta, data = _meta(d), _data(d)
    entities = []
    for e in data.get("entities") or []:
        spec = snap.definitions.get(("entity", e))
        edata = _data(spec) if spec is not None else {}
        entities.append(m.EntityRef(name=e, join_keys=list(edata.get("join_keys") or []),
                                    key_types=list(edata.get("key_types") or [])))
    source = data.get("source")
    source_kind = next((k for k in SOURCE_KINDS if (k, source) in snap.definitions), "source")
    transform = data.get("transform")
    return m.ViewDetail(
        name=d.name, kind=d.kind, version=d.version, description=_text(meta.get("description")),
        owner=_text(meta.get("owner")), tags=dict(meta.get("tags") or {}), location=d.location,
        created_at=d.created_at, updated_at=d.updated_at, applied_by=d.applied_by, entities=entities,
        source=None if source is None else m.Ref(kind=source_kind, name=source),
        transform=None if not transform else m.Transform(**transform),
        timestamp_field=data.get("timestamp_field"), ttl_s=meta.get("ttl"), freshness_s=meta.get("freshness"),
        allowed_lateness_s=meta.get("allowed_lateness"), online=meta.get("online", True) is not False,
        quality=meta.get("quality"), features=_features(d), used_by=snap.used_by(d.kind, d.name),
        versions=_versions(registry, project, d),
        freshness=_freshness(request, project, d),
        statistics={f: s for f, r in registry.statistics(project, d.name).items() if (s := _stats(r)) is not None},
        validation=next((m.Validation(id=r.id, success=r.success, created_at=r.created_at, results=r.results)
                         for r in registry.validation_results(project, d.name, 1)), None),
        drift={f: _drift(r) for f, r in registry.latest_drift(project, d.name).items()},
        runs=[_run(r) for r in registry.runs(project, view=d.name, limit=RUNS_SHOWN)],
    )


@router.get("/api/v1/features/{view}:{feature}", summary="One feature with its statistics", responses=NOT_FOUND)
def feature_detail(cat: CatalogDep, view: Name, feature: Name) -> m.FeatureResponse:
    """A feature's type, description, default and expectations, with its latest statistics and drift."""
    d = cat.snapshot().find(VIEW_KINDS, view, "feature view")
    features = {f.name: f for f in _features(d)}
    if feature not in features:
        raise not_found("feature", feature, features, f" of view {view!r}")
    registry, project = cat.registry, cat.project
    record = registry.statistics(project, d.name).get(feature)
    drift = registry.latest_drift(project, d.name).get(feature)
    return m.FeatureResponse(view=d.name, view_kind=d.kind, feature=features[feature],
                             statistics=None if record is None else _stats(record),
                             drift=None if drift is None else _drift(drift))


@router.get("/api/v1/entities", summary="Every entity, with the views keyed by it")
def entities(cat: CatalogDep) -> m.EntityList:
    """Registered entities by name."""
    snap = cat.snapshot()
    return m.EntityList(items=[_entity(d, snap) for d in snap.of_kinds(("entity",))])


@router.get("/api/v1/entities/{name}", summary="An entity", responses=NOT_FOUND)
def entity(cat: CatalogDep, name: Name) -> m.EntityDetail:
    """One entity: join keys and types, and the views keyed by it."""
    snap = cat.snapshot()
    return _entity(snap.find(("entity",), name, "entity"), snap)


@router.get("/api/v1/sources", summary="Every source, with the views reading it")
def sources(cat: CatalogDep) -> m.SourceList:
    """Registered batch and Kafka sources by name."""
    snap = cat.snapshot()
    return m.SourceList(items=[_source(d, snap) for d in snap.of_kinds(SOURCE_KINDS)])


@router.get("/api/v1/sources/{name}", summary="A source", responses=NOT_FOUND)
def source(cat: CatalogDep, name: Name) -> m.SourceDetail:
    """One source: location (path, table or topic), format, time field, columns, and the views reading it."""
    snap = cat.snapshot()
    return _source(snap.find(SOURCE_KINDS, name, "source"), snap)


@router.get("/api/v1/feature-services", summary="Every feature service")
def services(cat: CatalogDep) -> m.ServiceList:
    """Registered feature services by name."""
    snap = cat.snapshot()
    return m.ServiceList(items=[_service(d, snap) for d in snap.of_kinds(("feature_service",))])


@router.get("/api/v1/feature-services/{name}", summary="A feature service", responses=NOT_FOUND)
def service(cat: CatalogDep, name: Name) -> m.ServiceDetail:
    """One feature service: the features it serves, by view."""
    snap = cat.snapshot()
    return _service(snap.find(("feature_service",), name, "feature service"), snap)


@router.get("/api/v1/runs", summary="Runs with their ranges, status and row counts", responses=NOT_FOUND)
def runs(
    cat: CatalogDep,
    view: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$", description="batch, backfill, materialize, stream")]
    = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> m.RunsResponse:
    """Runs, newest first; of one view (404 when the registry has no such view) and kind when given."""
    if view is not None:
        snap = cat.snapshot()
        snap.find(VIEW_KINDS, view, "feature view")
    return m.RunsResponse(runs=[_run(r) for r in cat.registry.runs(cat.project, view=view, kind=kind, limit=limit)])


@router.get("/api/v1/lineage/{name}", summary="The lineage graph around a node", responses=NOT_FOUND)
def lineage(
    cat: CatalogDep,
    name: Name,
    depth: Annotated[int, Query(ge=0, le=100, description="Hops from the node")] = 2,
    direction: Annotated[Literal["up", "down", "both"], Query(description="up: what it is computed from; "
                                                              "down: what uses it")] = "both",
    columns: Annotated[bool, Query(description="Include column-level edges between the nodes")] = True,
    kind: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$",
                                      description="The node's kind, when names of several kinds collide")] = None,
) -> m.LineageResponse:
    """Nodes within ``depth`` hops of ``name`` (any definition), the edges between them and, with ``columns``,
    the column edges between them."""
    snap = cat.snapshot()
    graph = snap.graph
    roots = [key for key in graph.nodes if key[1] == name and (kind is None or key[0] == kind)]
    if not roots:
        raise not_found("lineage node" if kind is None else kind, name, sorted({n[1] for n in graph.nodes}))
    root = min(roots)
    distance = graph.walk(root, depth, direction)
    names = {key[1] for key in distance}
    nodes = []
    for key in sorted(distance, key=lambda k: (distance[k], k)):
        n = graph.nodes.get(key)
        nodes.append(m.LineageNode(kind=key[0], name=key[1], version=None if n is None else n.version,
                                   distance=distance[key]))
    edges = [m.LineageEdge(from_kind=e.from_kind, from_name=e.from_name, to_kind=e.to_kind, to_name=e.to_name)
             for key in distance for e in graph.edges_to.get(key, ()) if (e.from_kind, e.from_name) in distance]
    column_edges = [m.ColumnEdge(from_node=c.from_node, from_column=c.from_column, to_node=c.to_node,
                                 to_column=c.to_column)
                    for n in names for c in graph.columns_to.get(n, ()) if c.from_node in names] if columns else []
    return m.LineageResponse(root=m.Ref(kind=root[0], name=root[1]), depth=depth, direction=direction,
                             project_version=snap.version, nodes=nodes, edges=sorted(edges, key=_edge_order),
                             column_edges=sorted(column_edges, key=_edge_order))


def _edge_order(edge: BaseModel) -> tuple[str, ...]:
    return tuple(str(v) for v in edge.model_dump().values())
