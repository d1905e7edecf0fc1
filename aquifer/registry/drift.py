"""Train/serve drift records: the training frames the SDK returned and the drift results computed from them.

Read back as the wire format's ``v1.TrainingFrameRecord`` and ``v1.DriftResult``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from aquifer.registry import schema as t
from aquifer.registry.database import Database
from aquifer.registry.schemas.v1 import DriftResult, TrainingFrameRecord
from aquifer.registry.times import utc_now
from aquifer.times import as_utc


def add_training_frame(
    db: Database, training_id: str, project: str, features: list[str], rows: int,
    details: dict[str, Any] | None = None, created_at: datetime | None = None,
) -> None:
    """Record one training frame (``features`` as ``view:feature`` refs)."""
    when = utc_now() if created_at is None else as_utc(created_at, "created_at")
    with db.write() as conn:
        conn.execute(t.training_frames.insert().values(
            id=training_id, project=project, features=list(features), rows=int(rows), details=details, created_at=when
        ))


def training_frame(db: Database, training_id: str) -> TrainingFrameRecord | None:
    """One training frame by id, or None."""
    with db.read() as conn:
        row = conn.execute(select(t.training_frames).where(t.training_frames.c.id == training_id)).first()
    return None if row is None else TrainingFrameRecord.model_validate(dict(row._mapping))


def training_frames(db: Database, project: str, view: str | None = None, limit: int = 100) -> list[TrainingFrameRecord]:
    """The project's training frames, newest first; with ``view``, only those holding one of its features."""
    c = t.training_frames.c
    query = select(t.training_frames).where(c.project == project).order_by(c.created_at.desc(), c.id)
    out: list[TrainingFrameRecord] = []
    with db.read() as conn:
        for row in conn.execute(query):
            record = TrainingFrameRecord.model_validate(dict(row._mapping))
            if view is None or any(f.split(":", 1)[0] == view for f in record.features):
                out.append(record)
                if len(out) >= limit:
                    break
    return out


def add_drift_result(
    db: Database, project: str, view: str, feature: str, training_id: str | None, metrics: dict[str, Any],
    breached: bool, computed_at: datetime | None = None,
) -> int:
    """Append one feature's drift result; returns its id."""
    when = utc_now() if computed_at is None else as_utc(computed_at, "computed_at")
    with db.write() as conn:
        result = conn.execute(t.drift_results.insert().values(
            project=project, view=view, feature=feature, training_id=training_id, metrics=metrics,
            breached=bool(breached), computed_at=when,
        ))
        return int(result.inserted_primary_key[0])


def drift_results(db: Database, project: str, view: str, feature: str | None = None, limit: int = 100
                  ) -> list[DriftResult]:
    """Drift results of ``view`` (one feature's when given), newest first."""
    c = t.drift_results.c
    query = select(t.drift_results).where(c.project == project, c.view == view)
    if feature is not None:
        query = query.where(c.feature == feature)
    query = query.order_by(c.computed_at.desc(), c.id.desc()).limit(limit)
    with db.read() as conn:
        return [DriftResult.model_validate(dict(row._mapping)) for row in conn.execute(query)]


def latest_drift(db: Database, project: str, view: str) -> dict[str, DriftResult]:
    """The latest drift result of each feature of ``view``."""
    c = t.drift_results.c
    rank = func.row_number().over(partition_by=c.feature, order_by=(c.computed_at.desc(), c.id.desc()))
    ranked = select(t.drift_results, rank.label("rank")).where(c.project == project, c.view == view).subquery()
    query = select(*[ranked.c[col.name] for col in t.drift_results.c]).where(ranked.c.rank == 1)
    with db.read() as conn:
        rows = [DriftResult.model_validate(dict(row._mapping)) for row in conn.execute(query)]
    return {r.feature: r for r in sorted(rows, key=lambda r: r.feature)}
