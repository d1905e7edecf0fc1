"""Runs: one row per batch / backfill / materialize / stream run, from start to finish (read as ``v1.RunRecord``)."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.registry.errors import RegistryError
from aquifer.registry.schemas.v1 import RunRecord
from aquifer.registry.times import utc_now
from aquifer.times import as_utc

RUN_KINDS = ("batch", "backfill", "materialize", "stream")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")


def start_run(
    db: Database, project: str, view: str, kind: str, start: datetime | None, end: datetime | None
) -> int:
    """Record a run as ``running`` now; returns its id."""
    if kind not in RUN_KINDS:
        raise ValueError(f"run kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
    s = None if start is None else as_utc(start, "start")
    e = None if end is None else as_utc(end, "end")
    if s is not None and e is not None and s > e:
        raise ValueError(f"run start {s.isoformat()} is after its end {e.isoformat()}")
    owner = {"host": socket.gethostname(), "pid": os.getpid()}  # lets a later run spot an abandoned one
    with db.write() as conn:
        result = conn.execute(
            t.runs.insert().values(
                project=project, view=view, kind=kind, start=s, end=e, status="running", started_at=utc_now(),
                details={"owner": owner},
            )
        )
        return int(result.inserted_primary_key[0])


def abandon_dead_runs(db: Database, project: str) -> list[int]:
    """Fail the ``running`` runs whose process on this host is gone (killed, crashed); returns their ids.

    Runs started on other hosts are left alone: their liveness cannot be told from here.
    """
    c = t.runs.c
    host = socket.gethostname()
    abandoned = []
    with db.read() as conn:
        rows = conn.execute(select(c.id, c.details).where(c.project == project, c.status == "running")).all()
    for row in rows:
        owner = (row.details or {}).get("owner") or {}
        pid = owner.get("pid")
        if owner.get("host") != host or not isinstance(pid, int) or _alive(pid):
            continue
        try:
            finish_run(db, row.id, status="failed",
                       error=f"abandoned: process {pid} on {host} stopped before the run finished (killed?)")
            abandoned.append(row.id)
        except RegistryError:  # finished meanwhile by someone else
            continue
    return abandoned


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def finish_run(
    db: Database, run_id: int, *, status: str, rows_in: int | None = None, rows_out: int | None = None,
    error: str | None = None, details: dict[str, Any] | None = None,
) -> None:
    """Mark a running run finished with ``status`` (succeeded / failed / cancelled); computes its duration."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"a run finishes with one of {', '.join(FINAL_STATUSES)}, got {status!r}")
    c = t.runs.c
    with db.write() as conn:
        row = conn.execute(select(c.status, c.started_at, c.details).where(c.id == run_id)).first()
        if row is None:
            raise RegistryError(f"no run with id {run_id}")
        if row.status != "running":
            raise RegistryError(f"run {run_id} already finished with status {row.status!r}")
        now = utc_now()
        merged = {**(row.details or {}), **(details or {})}
        conn.execute(
            update(t.runs).where(c.id == run_id).values(
                status=status, rows_in=rows_in, rows_out=rows_out, error=error, details=merged or None,
                finished_at=now, duration_s=max(0.0, (now - row.started_at).total_seconds()),
            )
        )


def update_run(
    db: Database, run_id: int, *, rows_in: int | None = None, rows_out: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Progress of a ``running`` run (a stream's offsets and counts): rows and details merged in."""
    c = t.runs.c
    with db.write() as conn:
        row = conn.execute(select(c.status, c.details).where(c.id == run_id)).first()
        if row is None:
            raise RegistryError(f"no run with id {run_id}")
        if row.status != "running":
            raise RegistryError(f"run {run_id} already finished with status {row.status!r}")
        merged = {**(row.details or {}), **(details or {})}
        conn.execute(update(t.runs).where(c.id == run_id).values(rows_in=rows_in, rows_out=rows_out,
                                                                 details=merged or None))


def _record(row: Any) -> RunRecord:
    return RunRecord.model_validate(dict(row._mapping))


def runs(
    db: Database, project: str, view: str | None = None, kind: str | None = None, limit: int = 100
) -> list[RunRecord]:
    """The project's runs, newest first, optionally only one view's and / or one kind's."""
    c = t.runs.c
    query = select(t.runs).where(c.project == project)
    if view is not None:
        query = query.where(c.view == view)
    if kind is not None:
        query = query.where(c.kind == kind)
    query = query.order_by(c.started_at.desc(), c.id.desc()).limit(limit)
    with db.read() as conn:
        return [_record(r) for r in conn.execute(query)]


def run(db: Database, run_id: int) -> RunRecord | None:
    """One run by id, or None."""
    with db.read() as conn:
        row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).first()
    return None if row is None else _record(row)
