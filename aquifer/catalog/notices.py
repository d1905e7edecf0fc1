"""What hooks are told: an apply happened, or a view's run started, completed or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aquifer.catalog.describe import Describer

START, COMPLETE, FAIL = "START", "COMPLETE", "FAIL"


@dataclass(frozen=True)
class ApplyNotice:
    """``apply`` wrote project ``version``; ``changes`` maps ``added``/``removed``/``changed`` to names."""

    project: str
    version: int
    applied_at: datetime
    applied_by: str | None
    describer: Describer
    changes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the webhook's body)."""
        return {"event": "apply", "project": self.project, "version": self.version,
                "applied_at": self.applied_at.isoformat(), "applied_by": self.applied_by,
                "changes": {k: list(v) for k, v in self.changes.items()},
                "views": sorted(self.describer.views())}


@dataclass(frozen=True)
class RunNotice:
    """One view's run of ``kind`` (batch, backfill, materialize, stream) changed ``state`` (START, COMPLETE, FAIL).

    ``run_id`` (a UUID) is the same for a view's START and its COMPLETE or FAIL; ``ranges`` are the event-time
    ranges it computes; ``registry_run_ids`` the registry's run records of those ranges (known once done).
    """

    run_id: str
    project: str
    view: str
    kind: str
    state: str
    at: datetime
    describer: Describer
    ranges: tuple[tuple[datetime, datetime], ...] = ()
    rows_in: int | None = None
    rows_out: int | None = None
    error: str | None = None
    registry_run_ids: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the webhook's body)."""
        return {"event": "run", "state": self.state, "run_id": self.run_id, "project": self.project,
                "view": self.view, "kind": self.kind, "at": self.at.isoformat(),
                "ranges": [[s.isoformat(), e.isoformat()] for s, e in self.ranges],
                "rows_in": self.rows_in, "rows_out": self.rows_out, "error": self.error,
                "registry_run_ids": list(self.registry_run_ids)}
