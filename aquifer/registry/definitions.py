"""Declared definitions: plan a snapshot against the registry, apply it in one transaction, read it back.

Each definition keeps a current row plus one ``definition_versions`` row per version ever applied. A
version is bumped when either fingerprint changes; ``changed_data`` (data fingerprint differs) means
recompute, ``changed_meta`` (only the metadata fingerprint differs) does not. Removed definitions are
marked deleted, their history kept; re-adding one continues its version numbers.

Concurrency: ``apply`` bumps the project's version with ``UPDATE ... WHERE version = :expected``; when
another apply got there first, nothing is written and ``RegistryConflict`` is raised.

Reads return the wire format's models (``aquifer.registry.schemas.v1``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.registry.errors import RegistryConflict
from aquifer.registry.schemas import v1
from aquifer.registry.snapshot import ApplyResult, Change, ColumnEdge, Diff, Edge, Entry, Snapshot
from aquifer.registry.times import utc_now


def _version(conn: Connection, project: str) -> int:
    found = conn.execute(select(t.projects.c.version).where(t.projects.c.name == project)).scalar()
    return int(found or 0)


def _rows(conn: Connection, project: str) -> dict[tuple[str, str], Any]:
    rows = conn.execute(select(t.definitions).where(t.definitions.c.project == project)).all()
    return {(r.kind, r.name): r for r in rows}


def _edge_set(conn: Connection, project: str) -> set[Edge]:
    c = t.edges.c
    rows = conn.execute(select(c.from_kind, c.from_name, c.to_kind, c.to_name).where(c.project == project))
    return {tuple(r) for r in rows}  # type: ignore[misc]


def _column_edge_set(conn: Connection, project: str) -> set[ColumnEdge]:
    c = t.column_edges.c
    rows = conn.execute(select(c.from_node, c.from_column, c.to_node, c.to_column).where(c.project == project))
    return {tuple(r) for r in rows}  # type: ignore[misc]


def _diff(project: str, base: int, rows: dict[tuple[str, str], Any], snapshot: Snapshot,
          edges: set[Edge], column_edges: set[ColumnEdge]) -> Diff:
    added, changed_data, changed_meta, unchanged = [], [], [], []
    for e in snapshot.entries:
        row = rows.get((e.kind, e.name))
        if row is None:
            added.append(Change(kind=e.kind, name=e.name, old_version=None, new_version=1))
        elif row.deleted:
            added.append(Change(kind=e.kind, name=e.name, old_version=None, new_version=row.version + 1))
        elif row.data_fp != e.data_fp:
            changed_data.append(Change(kind=e.kind, name=e.name, old_version=row.version, new_version=row.version + 1))
        elif row.meta_fp != e.meta_fp:
            changed_meta.append(Change(kind=e.kind, name=e.name, old_version=row.version, new_version=row.version + 1))
        else:
            unchanged.append(Change(kind=e.kind, name=e.name, old_version=row.version, new_version=row.version))
    wanted = {(e.kind, e.name) for e in snapshot.entries}
    removed = [Change(kind=k, name=n, old_version=r.version, new_version=None)
               for (k, n), r in rows.items() if not r.deleted and (k, n) not in wanted]

    def key(c: Change) -> tuple[str, str]:
        return (c.kind, c.name)

    return Diff(
        project=project, base_version=base, added=sorted(added, key=key), removed=sorted(removed, key=key),
        changed_data=sorted(changed_data, key=key), changed_meta=sorted(changed_meta, key=key),
        unchanged=sorted(unchanged, key=key), edges_changed=set(snapshot.edges) != edges,
        column_edges_changed=set(snapshot.column_edges) != column_edges,
    )


def plan(db: Database, project: str, snapshot: Snapshot) -> Diff:
    """What ``apply(project, snapshot)`` would change; writes nothing."""
    with db.read() as conn:
        base = _version(conn, project)
        return _diff(project, base, _rows(conn, project), snapshot, _edge_set(conn, project),
                     _column_edge_set(conn, project))


def apply(
    db: Database, project: str, snapshot: Snapshot, expected_version: int | None = None, applied_by: str | None = None
) -> ApplyResult:
    """Write ``snapshot`` as the project's definitions in one transaction.

    ``expected_version`` is the project version the caller planned against (``Diff.base_version``);
    None means "whatever it is when apply starts". Raises ``RegistryConflict`` when another apply changed
    the project in between; then nothing is written. ``applied_by`` (who applies) is kept with every
    version this apply writes.
    """
    now = utc_now()
    with db.write() as conn:
        db.insert_ignore(conn, t.projects, {"name": project, "version": 0, "created_at": now, "updated_at": now},
                         ["name"])
        current = _version(conn, project)
        expected = current if expected_version is None else expected_version
        if current != expected:
            raise RegistryConflict(project, expected, current)
        rows = _rows(conn, project)
        diff = _diff(project, expected, rows, snapshot, _edge_set(conn, project), _column_edge_set(conn, project))
        entries = {(e.kind, e.name): e for e in snapshot.entries}
        version = expected
        if diff.has_changes:
            bumped = conn.execute(
                update(t.projects).where(t.projects.c.name == project, t.projects.c.version == expected)
                .values(version=expected + 1, updated_at=now)
            )
            if bumped.rowcount != 1:
                raise RegistryConflict(project, expected, _version(conn, project))
            version = expected + 1
            _write(conn, project, version, now, applied_by, diff, entries, rows, snapshot)
        _refresh_locations(conn, diff, entries, rows, now)
    return ApplyResult(project=project, version=version, diff=diff, applied_at=now, applied_by=applied_by)


def _write(conn: Connection, project: str, version: int, now: datetime, applied_by: str | None, diff: Diff,
           entries: dict[tuple[str, str], Entry], rows: dict[tuple[str, str], Any], snapshot: Snapshot) -> None:
    d = t.definitions
    for change_kind, changes in (("added", diff.added), ("data", diff.changed_data), ("meta", diff.changed_meta)):
        for ch in changes:
            e = entries[(ch.kind, ch.name)]
            values = {"version": ch.new_version, "data_fp": e.data_fp, "meta_fp": e.meta_fp, "spec": e.spec,
                      "location": e.location, "updated_at": now, "deleted": False, "applied_by": applied_by}
            if (ch.kind, ch.name) in rows:
                conn.execute(update(d).where(d.c.id == rows[(ch.kind, ch.name)].id).values(**values))
            else:
                conn.execute(d.insert().values(project=project, kind=ch.kind, name=ch.name, created_at=now, **values))
            conn.execute(t.definition_versions.insert().values(
                project=project, kind=ch.kind, name=ch.name, version=ch.new_version, change=change_kind,
                data_fp=e.data_fp, meta_fp=e.meta_fp, spec=e.spec, location=e.location, project_version=version,
                created_at=now, applied_by=applied_by,
            ))
    for ch in diff.removed:
        conn.execute(update(d).where(d.c.id == rows[(ch.kind, ch.name)].id).values(deleted=True, updated_at=now))
    if diff.edges_changed:
        conn.execute(delete(t.edges).where(t.edges.c.project == project))
        if snapshot.edges:
            conn.execute(t.edges.insert(), [
                {"project": project, "from_kind": a, "from_name": b, "to_kind": c, "to_name": e}
                for a, b, c, e in sorted(set(snapshot.edges))
            ])
    if diff.column_edges_changed:
        conn.execute(delete(t.column_edges).where(t.column_edges.c.project == project))
        if snapshot.column_edges:
            conn.execute(t.column_edges.insert(), [
                {"project": project, "from_node": a, "from_column": b, "to_node": c, "to_column": e}
                for a, b, c, e in sorted(set(snapshot.column_edges))
            ])


def _refresh_locations(conn: Connection, diff: Diff, entries: dict[tuple[str, str], Entry],
                       rows: dict[tuple[str, str], Any], now: datetime) -> None:
    """Unchanged definitions that moved (other ``file:line``) get their current location and spec updated."""
    for ch in diff.unchanged:
        e, row = entries[(ch.kind, ch.name)], rows[(ch.kind, ch.name)]
        if row.location != e.location or row.spec != e.spec:
            conn.execute(update(t.definitions).where(t.definitions.c.id == row.id)
                         .values(location=e.location, spec=e.spec))


def _definition(project: str, row: Any) -> v1.Definition:
    return v1.Definition(
        project=project, kind=row.kind, name=row.name, version=row.version, data_fingerprint=row.data_fp,
        meta_fingerprint=row.meta_fp, spec=row.spec, location=row.location, created_at=row.created_at,
        updated_at=row.updated_at, applied_by=row.applied_by,
    )


def _summary(project: str, row: Any) -> v1.DefinitionSummary:
    meta = row.spec.get("meta") or {}
    return v1.DefinitionSummary(
        project=project, kind=row.kind, name=row.name, version=row.version, description=meta.get("description"),
        owner=meta.get("owner"), tags=meta.get("tags") or {}, fields=[f["name"] for f in meta.get("fields") or ()],
        location=row.location, created_at=row.created_at, updated_at=row.updated_at,
    )


def _current(project: str, kind: str | None = None, name: str | None = None) -> Any:
    d = t.definitions.c
    query = select(t.definitions).where(d.project == project, d.deleted.is_(False))
    if kind is not None:
        query = query.where(d.kind == kind)
    if name is not None:
        query = query.where(d.name == name)
    return query.order_by(d.kind, d.name)


def definitions(db: Database, project: str, kind: str | None = None) -> list[v1.DefinitionSummary]:
    """Current (not deleted) definitions as listed (no spec), sorted by kind and name."""
    with db.read() as conn:
        return [_summary(project, r) for r in conn.execute(_current(project, kind))]


def current_definitions(db: Database, project: str, kind: str | None = None) -> list[v1.Definition]:
    """Every current (not deleted) definition with its spec, in one query, sorted by kind and name."""
    with db.read() as conn:
        return [_definition(project, r) for r in conn.execute(_current(project, kind))]


def definition(db: Database, project: str, kind: str, name: str) -> v1.Definition | None:
    """One current definition with its spec, or None when it does not exist or was removed."""
    with db.read() as conn:
        row = conn.execute(_current(project, kind, name)).first()
    return None if row is None else _definition(project, row)


def versions(db: Database, project: str, kind: str, name: str) -> list[v1.DefinitionVersion]:
    """Every version ever applied of one definition (also after removal), oldest first."""
    v = t.definition_versions.c
    query = select(t.definition_versions).where(v.project == project, v.kind == kind, v.name == name)
    with db.read() as conn:
        return [
            v1.DefinitionVersion(
                project=project, kind=r.kind, name=r.name, version=r.version, change=r.change,
                data_fingerprint=r.data_fp, meta_fingerprint=r.meta_fp, spec=r.spec, location=r.location,
                project_version=r.project_version, created_at=r.created_at, applied_by=r.applied_by,
            )
            for r in conn.execute(query.order_by(v.version))
        ]


def _lineage_edge(edge: Edge) -> v1.LineageEdge:
    return v1.LineageEdge(from_kind=edge[0], from_name=edge[1], to_kind=edge[2], to_name=edge[3])


def _column_edge(edge: ColumnEdge) -> v1.ColumnEdge:
    return v1.ColumnEdge(from_node=edge[0], from_column=edge[1], to_node=edge[2], to_column=edge[3])


def edges(db: Database, project: str) -> list[v1.LineageEdge]:
    """The project's dependency edges, sorted by (from_kind, from_name, to_kind, to_name)."""
    with db.read() as conn:
        return [_lineage_edge(e) for e in sorted(_edge_set(conn, project))]


def column_edges(db: Database, project: str) -> list[v1.ColumnEdge]:
    """The project's column lineage, sorted by (from_node, from_column, to_node, to_column)."""
    with db.read() as conn:
        return [_column_edge(e) for e in sorted(_column_edge_set(conn, project))]


def lineage(db: Database, project: str) -> v1.Lineage:
    """The project's whole dependency graph, read in one transaction.

    Nodes are the current definitions plus anything an edge names that is not one (``version`` None).
    """
    d = t.definitions.c
    with db.read() as conn:
        base = _version(conn, project)
        current = {(r.kind, r.name): r.version for r in conn.execute(
            select(d.kind, d.name, d.version).where(d.project == project, d.deleted.is_(False)))}
        graph, columns = sorted(_edge_set(conn, project)), sorted(_column_edge_set(conn, project))
    named = {(k, n) for a, b, c, e in graph for k, n in ((a, b), (c, e))}
    nodes = [v1.LineageNode(kind=k, name=n, version=current.get((k, n))) for k, n in sorted(current.keys() | named)]
    return v1.Lineage(
        project=project, project_version=base, nodes=nodes, edges=[_lineage_edge(e) for e in graph],
        column_edges=[_column_edge(e) for e in columns],
    )


def project_version(db: Database, project: str) -> int:
    """The project's version: 0 before the first apply, +1 for every apply that changed something."""
    with db.read() as conn:
        return _version(conn, project)


def projects(db: Database) -> list[str]:
    """Names of all projects ever applied, sorted."""
    with db.read() as conn:
        return sorted(conn.execute(select(t.projects.c.name)).scalars())
