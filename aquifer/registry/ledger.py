"""The interval ledger: which half-open event-time ranges ``[start, end)`` a view has processed.

One ledger per (project, view, kind) with kind ``batch`` or ``materialize``. Each stored interval carries
the view's data fingerprint it was computed with. Rules:

- ``add_interval`` *replaces* the range: any part of ``[start, end)`` recorded under another fingerprint
  is cut out (that data was just rewritten), then the range is merged with adjacent or overlapping
  intervals of the same fingerprint.
- ``forget_intervals`` cuts ``[start, end)`` out of every fingerprint, splitting intervals that straddle
  its bounds (``None`` = unbounded).
- Every write is one transaction that holds the ledger's lock (PostgreSQL advisory lock; SQLite
  ``BEGIN IMMEDIATE``), so concurrent writers never lose each other's changes.

Merging and cutting use planning's interval algebra (``aquifer.planning.intervals``) per fingerprint: the
registry imports planning (pure, no I/O), never the other way round.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from aquifer.planning.intervals import Interval
from aquifer.planning.intervals import normalize as normalize_intervals
from aquifer.planning.intervals import subtract as subtract_intervals
from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.times import as_utc

LEDGER_KINDS = ("batch", "materialize")

Piece = tuple[str, datetime, datetime]  # (fingerprint, start, end)

# stand-ins for an unbounded side of a cut; never stored (a cut only ever ends pieces at its finite bounds)
_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)


def _check_kind(kind: str) -> None:
    if kind not in LEDGER_KINDS:
        raise ValueError(f"ledger kind must be one of {', '.join(LEDGER_KINDS)}, got {kind!r}")


def _bounds(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    s = None if start is None else as_utc(start, "start")
    e = None if end is None else as_utc(end, "end")
    if s is not None and e is not None and s > e:
        raise ValueError(f"interval start {s.isoformat()} is after its end {e.isoformat()}")
    return s, e


def coalesce(ranges: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, merged ranges: overlapping or touching ``[a, b)`` ``[b, c)`` become ``[a, c)``; empty ones drop."""
    merged = normalize_intervals(Interval(s, e) for s, e in ranges if s < e)
    return [(i.start, i.end) for i in merged]


def subtract(pieces: Iterable[Piece], start: datetime | None, end: datetime | None) -> list[Piece]:
    """``pieces`` with ``[start, end)`` cut out (``None`` = unbounded); straddling pieces are split."""
    cut = [Interval(_MIN if start is None else start, _MAX if end is None else end)]
    by_fp = _by_fingerprint(pieces)
    return [(fp, i.start, i.end) for fp, ranges in by_fp.items()
            for i in subtract_intervals((Interval(s, e) for s, e in ranges), cut)]


def normalize(pieces: Iterable[Piece]) -> list[Piece]:
    """Per fingerprint, coalesced; sorted by (start, fingerprint)."""
    out = [(fp, s, e) for fp, ranges in _by_fingerprint(pieces).items() for s, e in coalesce(ranges)]
    return sorted(out, key=lambda p: (p[1], p[0]))


def _by_fingerprint(pieces: Iterable[Piece]) -> dict[str, list[tuple[datetime, datetime]]]:
    by_fp: dict[str, list[tuple[datetime, datetime]]] = {}
    for fp, s, e in pieces:
        by_fp.setdefault(fp, []).append((s, e))
    return by_fp


def _where(project: str, view: str, kind: str) -> ColumnElement[bool]:
    c = t.intervals.c
    return and_(c.project == project, c.view == view, c.kind == kind)


def intervals(
    db: Database, project: str, view: str, kind: str = "batch", data_fingerprint: str | None = None
) -> list[tuple[datetime, datetime]]:
    """Sorted, coalesced ranges of the ledger; only those computed with ``data_fingerprint`` when given."""
    _check_kind(kind)
    c = t.intervals.c
    query = select(c.start, c.end).where(_where(project, view, kind))
    if data_fingerprint is not None:
        query = query.where(c.fingerprint == data_fingerprint)
    with db.read() as conn:
        rows = conn.execute(query).all()
    return coalesce((s, e) for s, e in rows)


def _rewrite(
    db: Database, project: str, view: str, kind: str, change: Callable[[list[Piece]], list[Piece]]
) -> None:
    """Load the ledger under its lock, apply ``change(pieces) -> pieces``, write back only the difference."""
    c = t.intervals.c
    with db.write() as conn:
        db.lock(conn, "ledger", project, view, kind)
        rows = conn.execute(select(c.id, c.fingerprint, c.start, c.end).where(_where(project, view, kind))).all()
        old = [(fp, s, e) for _, fp, s, e in rows]
        new = normalize(change(normalize(old)))
        _sync(conn, project, view, kind, rows, new)


def _sync(conn: Connection, project: str, view: str, kind: str, rows: list, new: list[Piece]) -> None:
    keep = Counter(new)
    doomed = []
    for row_id, fp, s, e in rows:
        if keep[(fp, s, e)] > 0:
            keep[(fp, s, e)] -= 1
        else:
            doomed.append(row_id)
    if doomed:
        conn.execute(delete(t.intervals).where(t.intervals.c.id.in_(doomed)))
    inserts = [
        {"project": project, "view": view, "kind": kind, "fingerprint": fp, "start": s, "end": e}
        for (fp, s, e), n in keep.items()
        for _ in range(n)
    ]
    if inserts:
        conn.execute(t.intervals.insert(), inserts)


def add_interval(
    db: Database, project: str, view: str, start: datetime, end: datetime, *, kind: str = "batch",
    data_fingerprint: str = "",
) -> None:
    """Record ``[start, end)`` as processed with ``data_fingerprint`` (replacing other fingerprints there)."""
    _check_kind(kind)
    if start is None or end is None:
        raise ValueError("add_interval needs both start and end")
    s, e = _bounds(start, end)
    assert s is not None and e is not None
    if s == e:
        return
    _rewrite(db, project, view, kind, lambda pieces: [*subtract(pieces, s, e), (data_fingerprint, s, e)])


def forget_intervals(
    db: Database, project: str, view: str, start: datetime | None = None, end: datetime | None = None, *,
    kind: str = "batch",
) -> None:
    """Cut ``[start, end)`` out of the ledger for every fingerprint (``None`` = unbounded on that side)."""
    _check_kind(kind)
    s, e = _bounds(start, end)
    if s is not None and s == e:
        return
    _rewrite(db, project, view, kind, lambda pieces: subtract(pieces, s, e))
