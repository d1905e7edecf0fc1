"""Expectation suites per view, versioned: a new version only when the suite's content changed.

A suite is stored as the Great Expectations suite JSON (``aquifer.quality.suites``); versions count 1, 2, ...
per view. Read back as the wire format's ``v1.Suite``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.registry.schemas.v1 import Suite
from aquifer.registry.times import utc_now

_VOLATILE = ("id", "notes")  # GX fills these in; they do not change what a suite checks


def content(suite: dict[str, Any]) -> str:
    """Canonical JSON of what a suite checks (expectations and meta, without GX's ids)."""
    body = {k: v for k, v in suite.items() if k not in _VOLATILE}
    body["expectations"] = [{k: v for k, v in e.items() if k != "id"} for e in suite.get("expectations") or []]
    return json.dumps(body, sort_keys=True, default=str)


def latest_suite(db: Database, project: str, view: str) -> Suite | None:
    """The view's newest suite version, or None."""
    c = t.suites.c
    query = select(t.suites).where(c.project == project, c.view == view).order_by(c.version.desc()).limit(1)
    with db.read() as conn:
        row = conn.execute(query).first()
    return None if row is None else Suite.model_validate(dict(row._mapping))


def suites(db: Database, project: str, view: str) -> list[Suite]:
    """Every version of the view's suite, oldest first."""
    c = t.suites.c
    query = select(t.suites).where(c.project == project, c.view == view).order_by(c.version)
    with db.read() as conn:
        return [Suite.model_validate(dict(row._mapping)) for row in conn.execute(query)]


def save_suite(db: Database, project: str, view: str, suite: dict[str, Any]) -> tuple[Suite, bool]:
    """Store ``suite`` as the view's next version unless it equals the newest; ``(newest version, added)``."""
    c = t.suites.c
    with db.write() as conn:
        db.lock(conn, "suite", project, view)
        row = conn.execute(
            select(t.suites).where(c.project == project, c.view == view).order_by(c.version.desc()).limit(1)
        ).first()
        if row is not None and content(row.suite) == content(suite):
            return Suite.model_validate(dict(row._mapping)), False
        top = conn.execute(select(func.max(c.version)).where(c.project == project, c.view == view)).scalar()
        version = int(top or 0) + 1
        result = conn.execute(t.suites.insert().values(project=project, view=view, version=version, suite=suite,
                                                       created_at=utc_now()))
        new_id = int(result.inserted_primary_key[0])
    return Suite(id=new_id, project=project, view=view, version=version, suite=suite,
                 created_at=utc_now()), True
