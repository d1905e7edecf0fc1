"""The interval ledger as stored, per fingerprint, as a ``v1.Ledger`` document (for the API, UI and catalogs).

Planning reads the ledger through ``ledger.intervals`` (coalesced ranges); writes and the interval algebra
live in ``ledger.py``. Every write there leaves the stored pieces normalized, so they are returned as they are.
"""

from __future__ import annotations

from sqlalchemy import select

from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.registry.ledger import LEDGER_KINDS
from aquifer.registry.schemas import v1


def ledger(db: Database, project: str, view: str, kind: str = "batch") -> v1.Ledger:
    """The ledger of ``view`` (kind ``batch`` or ``materialize``): its intervals with their fingerprints."""
    if kind not in LEDGER_KINDS:
        raise ValueError(f"ledger kind must be one of {', '.join(LEDGER_KINDS)}, got {kind!r}")
    c = t.intervals.c
    query = (
        select(c.fingerprint, c.start, c.end)
        .where(c.project == project, c.view == view, c.kind == kind)
        .order_by(c.start, c.fingerprint, c.end)
    )
    with db.read() as conn:
        rows = conn.execute(query).all()
    intervals = [v1.LedgerInterval(data_fingerprint=fp, start=s, end=e) for fp, s, e in rows]
    return v1.Ledger(project=project, view=view, kind=kind, intervals=intervals)
