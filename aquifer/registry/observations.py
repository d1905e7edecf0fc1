"""Observed metadata, appended apart from declared definitions: statistics, validation results, alerts.

Read back as the wire format's ``v1.Statistic``, ``v1.ValidationResult`` and ``v1.Alert``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select

from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.registry.schemas.v1 import Alert, Document, Statistic, ValidationResult
from aquifer.registry.times import utc_now
from aquifer.times import as_utc

SEVERITIES = ("info", "warning", "error", "critical")

Model = TypeVar("Model", bound=Document)


def _build(cls: type[Model], row: Any) -> Model:
    return cls.model_validate(dict(row._mapping))


def add_statistics(
    db: Database, project: str, view: str, feature: str, stats: dict[str, Any], computed_at: datetime | None = None,
    *, range_start: datetime | None = None, range_end: datetime | None = None, run_kind: str | None = None,
    run_id: int | None = None,
) -> int:
    """Append one feature's statistics, optionally of the rows of ``[range_start, range_end)`` measured by a run
    (``run_kind``: batch, backfill, materialize, training, serving, profile); returns the row id."""
    when = utc_now() if computed_at is None else as_utc(computed_at, "computed_at")
    lo = None if range_start is None else as_utc(range_start, "range_start")
    hi = None if range_end is None else as_utc(range_end, "range_end")
    with db.write() as conn:
        result = conn.execute(
            t.statistics.insert().values(project=project, view=view, feature=feature, stats=stats, computed_at=when,
                                         range_start=lo, range_end=hi, run_kind=run_kind, run_id=run_id)
        )
        return int(result.inserted_primary_key[0])


def statistics(db: Database, project: str, view: str) -> dict[str, Statistic]:
    """The latest statistics of each feature of ``view`` (by ``computed_at``, then insertion order)."""
    c = t.statistics.c
    rank = func.row_number().over(partition_by=c.feature, order_by=(c.computed_at.desc(), c.id.desc()))
    ranked = (
        select(c.id, c.project, c.view, c.feature, c.stats, c.computed_at, c.range_start, c.range_end, c.run_kind,
               c.run_id, rank.label("rank"))
        .where(c.project == project, c.view == view)
        .subquery()
    )
    query = select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.feature)
    with db.read() as conn:
        return {row.feature: _build(Statistic, row) for row in conn.execute(query)}


def statistics_between(
    db: Database, project: str, view: str, start: datetime | None = None, end: datetime | None = None,
    run_kinds: tuple[str, ...] = ("batch", "backfill"),
) -> list[Statistic]:
    """Statistics rows of ``view`` measured by ``run_kinds`` whose range overlaps ``[start, end)`` (None:
    unbounded), newest first (``computed_at``, then insertion order); rows without a range are left out.

    The rows are returned as stored, overlaps included: merging them without counting a recomputed range twice
    (only the newest row counts for each day, see ``aquifer.quality.statistics.merge_stored``) is the reader's.
    """
    c = t.statistics.c
    query = select(t.statistics).where(
        c.project == project, c.view == view, c.run_kind.in_(run_kinds),
        c.range_start.is_not(None), c.range_end.is_not(None),
    )
    if start is not None:
        query = query.where(c.range_end > as_utc(start, "start"))
    if end is not None:
        query = query.where(c.range_start < as_utc(end, "end"))
    query = query.order_by(c.computed_at.desc(), c.id.desc())
    with db.read() as conn:
        return [_build(Statistic, row) for row in conn.execute(query)]


def add_validation_result(db: Database, project: str, view: str, success: bool, results: dict[str, Any]) -> int:
    """Append one validation result; returns its id."""
    with db.write() as conn:
        result = conn.execute(
            t.validation_results.insert().values(
                project=project, view=view, success=bool(success), results=results, created_at=utc_now()
            )
        )
        return int(result.inserted_primary_key[0])


def validation_results(db: Database, project: str, view: str, limit: int = 20) -> list[ValidationResult]:
    """The view's validation results, newest first."""
    c = t.validation_results.c
    query = (
        select(t.validation_results).where(c.project == project, c.view == view)
        .order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    )
    with db.read() as conn:
        return [_build(ValidationResult, row) for row in conn.execute(query)]


def add_alert(
    db: Database, project: str, kind: str, subject: str, severity: str, message: str,
    details: dict[str, Any] | None = None,
) -> int:
    """Append an alert (severity: info, warning, error or critical); returns its id."""
    if severity not in SEVERITIES:
        raise ValueError(f"alert severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    with db.write() as conn:
        result = conn.execute(
            t.alerts.insert().values(
                project=project, kind=kind, subject=subject, severity=severity, message=message, details=details,
                created_at=utc_now(),
            )
        )
        return int(result.inserted_primary_key[0])


def alerts(
    db: Database, project: str, subject: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Alert]:
    """The project's alerts, newest first, optionally about one subject and / or of one kind."""
    c = t.alerts.c
    query = select(t.alerts).where(c.project == project)
    if subject is not None:
        query = query.where(c.subject == subject)
    if kind is not None:
        query = query.where(c.kind == kind)
    query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    with db.read() as conn:
        return [_build(Alert, row) for row in conn.execute(query)]
