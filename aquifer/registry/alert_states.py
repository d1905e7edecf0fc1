"""The last state of each alert key (``aq_alert_states``), so a persistent breach alerts once per change.

``aquifer.alerts.RegistryAlertStates`` reads and writes these through the ``Registry`` facade.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.registry.times import utc_now

STATES = ("firing", "ok")


def alert_state(db: Database, project: str, kind: str, subject: str) -> str | None:
    """The recorded state of ``(project, kind, subject)``, or None."""
    c = t.alert_states.c
    with db.read() as conn:
        return conn.execute(
            select(c.state).where(c.project == project, c.kind == kind, c.subject == subject)
        ).scalar()


def set_alert_state(db: Database, project: str, kind: str, subject: str, state: str,
                    details: dict[str, Any] | None = None) -> None:
    """Record ``state`` (``firing`` or ``ok``) for ``(project, kind, subject)``, replacing the last one."""
    if state not in STATES:
        raise ValueError(f"alert state must be one of {', '.join(STATES)}, got {state!r}")
    c = t.alert_states.c
    where = (c.project == project, c.kind == kind, c.subject == subject)
    with db.write() as conn:
        db.lock(conn, "alert-state", project, kind, subject)
        found = conn.execute(select(c.state).where(*where)).first()
        values = {"state": state, "details": details, "updated_at": utc_now()}
        if found is None:
            conn.execute(t.alert_states.insert().values(project=project, kind=kind, subject=subject, **values))
        else:
            conn.execute(update(t.alert_states).where(*where).values(**values))


def alert_states(db: Database, project: str, kind: str | None = None) -> dict[tuple[str, str], str]:
    """Every recorded state of the project: ``{(kind, subject): state}``."""
    c = t.alert_states.c
    query = select(c.kind, c.subject, c.state).where(c.project == project)
    if kind is not None:
        query = query.where(c.kind == kind)
    with db.read() as conn:
        return {(row.kind, row.subject): row.state for row in conn.execute(query)}
