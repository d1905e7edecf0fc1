"""The registry: declared definitions and their versions, the interval ledger, runs and observed metadata.

``Registry(url)`` is a thin facade over small modules (``definitions``, ``ledger``, ``runs``,
``observations``) sharing one ``Database``. SQLite (default) and PostgreSQL are supported; tables are
created on first use. Times go in and come out as tz-aware UTC ``datetime``s (a naive one is taken as UTC).

What the read methods return is the registry's versioned wire format, ``aquifer.registry.schemas.v1``
(pydantic models; compatibility rule in ``aquifer.registry.schemas``). ``intervals`` is the exception: it
gives the planners plain coalesced ``(start, end)`` ranges; ``ledger`` is the same ledger as a document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aquifer.registry import alert_states as _alert_states
from aquifer.registry import definitions as _definitions
from aquifer.registry import drift as _drift
from aquifer.registry import ledger as _ledger
from aquifer.registry import ledger_records as _ledger_records
from aquifer.registry import observations as _observations
from aquifer.registry import runs as _runs
from aquifer.registry import suites as _suites
from aquifer.registry.database import Database, normalize_url
from aquifer.registry.errors import RegistryConflict, RegistryError
from aquifer.registry.schemas import SCHEMA_VERSION, v1
from aquifer.registry.schemas.v1 import (
    Alert,
    ApplyResult,
    Change,
    Definition,
    DefinitionSummary,
    DefinitionVersion,
    Diff,
    DriftResult,
    Ledger,
    Lineage,
    LineageEdge,
    RunRecord,
    Statistic,
    Suite,
    TrainingFrameRecord,
    ValidationResult,
)
from aquifer.registry.snapshot import ColumnEdge, Edge, Entry, Snapshot

__all__ = [
    "SCHEMA_VERSION",
    "Alert",
    "ApplyResult",
    "Change",
    "ColumnEdge",
    "Definition",
    "DefinitionSummary",
    "DefinitionVersion",
    "Diff",
    "DriftResult",
    "Edge",
    "Entry",
    "Ledger",
    "Lineage",
    "Registry",
    "RegistryConflict",
    "RegistryError",
    "RunRecord",
    "Snapshot",
    "Statistic",
    "Suite",
    "TrainingFrameRecord",
    "ValidationResult",
    "normalize_url",
    "v1",
]


class Registry:
    """The registry database at ``url`` (``sqlite:///path`` or ``postgresql://...``).

    ``schema`` (PostgreSQL only) keeps the tables in that schema, created when missing.
    """

    def __init__(self, url: str, *, schema: str | None = None):
        self.db = Database(url, schema=schema)

    @property
    def url(self) -> str:
        """The normalized SQLAlchemy URL."""
        return self.db.url

    def close(self) -> None:
        """Release the connection pool (shared per URL; disposed with its last user)."""
        self.db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.db.engine.url.render_as_string(hide_password=True)!r})"

    # ---- definitions -----------------------------------------------------------------------------------

    def plan(self, project: str, snapshot: Snapshot) -> Diff:
        """What ``apply`` would change; writes nothing."""
        return _definitions.plan(self.db, project, snapshot)

    def apply(
        self, project: str, snapshot: Snapshot, expected_version: int | None = None, *, applied_by: str | None = None
    ) -> ApplyResult:
        """Write ``snapshot`` in one transaction; ``RegistryConflict`` if another apply came first.

        ``applied_by`` (a person, ``user@host``, an API key's name) is kept with every version written.
        """
        return _definitions.apply(self.db, project, snapshot, expected_version, applied_by)

    def definitions(self, project: str, kind: str | None = None) -> list[DefinitionSummary]:
        """Current (not deleted) definitions as listed (no spec), sorted by kind and name."""
        return _definitions.definitions(self.db, project, kind)

    def current_definitions(self, project: str, kind: str | None = None) -> list[Definition]:
        """Every current definition with its spec (one query; what ``definition`` returns, for all of them)."""
        return _definitions.current_definitions(self.db, project, kind)

    def definition(self, project: str, kind: str, name: str) -> Definition | None:
        """One current definition with its spec, or None."""
        return _definitions.definition(self.db, project, kind, name)

    def versions(self, project: str, kind: str, name: str) -> list[DefinitionVersion]:
        """Every version ever applied of one definition, oldest first."""
        return _definitions.versions(self.db, project, kind, name)

    def edges(self, project: str) -> list[LineageEdge]:
        """Dependency edges, sorted (``lineage`` has them with their nodes)."""
        return _definitions.edges(self.db, project)

    def column_edges(self, project: str) -> list[v1.ColumnEdge]:
        """Column lineage edges, sorted (``lineage`` has them with their nodes)."""
        return _definitions.column_edges(self.db, project)

    def lineage(self, project: str) -> Lineage:
        """The project's dependency graph: nodes, definition edges and column edges, in one document."""
        return _definitions.lineage(self.db, project)

    def project_version(self, project: str) -> int:
        """The project's version (0 before the first apply)."""
        return _definitions.project_version(self.db, project)

    def projects(self) -> list[str]:
        """All project names."""
        return _definitions.projects(self.db)

    # ---- interval ledger -------------------------------------------------------------------------------

    def intervals(
        self, project: str, view: str, kind: str = "batch", data_fingerprint: str | None = None
    ) -> list[tuple[datetime, datetime]]:
        """Processed ``[start, end)`` ranges, sorted and coalesced; only one fingerprint's when given."""
        return _ledger.intervals(self.db, project, view, kind, data_fingerprint)

    def ledger(self, project: str, view: str, kind: str = "batch") -> Ledger:
        """The ledger as stored: every interval with the data fingerprint it was computed with."""
        return _ledger_records.ledger(self.db, project, view, kind)

    def add_interval(
        self, project: str, view: str, start: datetime, end: datetime, *, kind: str = "batch",
        data_fingerprint: str = "",
    ) -> None:
        """Record ``[start, end)`` as processed with ``data_fingerprint``; replaces other fingerprints there."""
        _ledger.add_interval(self.db, project, view, start, end, kind=kind, data_fingerprint=data_fingerprint)

    def forget_intervals(
        self, project: str, view: str, start: datetime | None = None, end: datetime | None = None, *,
        kind: str = "batch",
    ) -> None:
        """Remove ``[start, end)`` (None = unbounded) from the ledger, splitting straddling intervals."""
        _ledger.forget_intervals(self.db, project, view, start, end, kind=kind)

    # ---- runs ------------------------------------------------------------------------------------------

    def start_run(self, project: str, view: str, kind: str, start: datetime | None, end: datetime | None) -> int:
        """Record a ``running`` run (kind: batch, backfill, materialize, stream); returns its id."""
        return _runs.start_run(self.db, project, view, kind, start, end)

    def finish_run(
        self, run_id: int, *, status: str, rows_in: int | None = None, rows_out: int | None = None,
        error: str | None = None, details: dict[str, Any] | None = None,
    ) -> None:
        """Finish a run with status succeeded / failed / cancelled; the duration is computed."""
        _runs.finish_run(self.db, run_id, status=status, rows_in=rows_in, rows_out=rows_out, error=error,
                         details=details)

    def update_run(self, run_id: int, *, rows_in: int | None = None, rows_out: int | None = None,
                   details: dict[str, Any] | None = None) -> None:
        """Record a running run's progress (rows so far, details merged in)."""
        _runs.update_run(self.db, run_id, rows_in=rows_in, rows_out=rows_out, details=details)

    def abandon_dead_runs(self, project: str) -> list[int]:
        """Mark ``running`` runs whose process on this host is gone as failed; returns their ids."""
        return _runs.abandon_dead_runs(self.db, project)

    def runs(
        self, project: str, view: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[RunRecord]:
        """Runs, newest first."""
        return _runs.runs(self.db, project, view, kind, limit)

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id, or None."""
        return _runs.run(self.db, run_id)

    # ---- observed metadata -----------------------------------------------------------------------------

    def add_statistics(
        self, project: str, view: str, feature: str, stats: dict[str, Any], computed_at: datetime | None = None,
        *, range_start: datetime | None = None, range_end: datetime | None = None, run_kind: str | None = None,
        run_id: int | None = None,
    ) -> int:
        """Append one feature's statistics (of the rows of ``[range_start, range_end)``, measured by a run of
        ``run_kind``, when given); returns the row id."""
        return _observations.add_statistics(self.db, project, view, feature, stats, computed_at,
                                            range_start=range_start, range_end=range_end, run_kind=run_kind,
                                            run_id=run_id)

    def statistics(self, project: str, view: str) -> dict[str, Statistic]:
        """Latest statistics per feature of ``view``."""
        return _observations.statistics(self.db, project, view)

    def statistics_between(
        self, project: str, view: str, start: datetime | None = None, end: datetime | None = None,
        run_kinds: tuple[str, ...] = ("batch", "backfill"),
    ) -> list[Statistic]:
        """Statistics rows of runs of ``run_kinds`` whose range overlaps ``[start, end)``, newest first, as stored
        (``aquifer.quality.statistics.merge_stored`` merges them, counting each day once)."""
        return _observations.statistics_between(self.db, project, view, start, end, run_kinds)

    def add_validation_result(self, project: str, view: str, success: bool, results: dict[str, Any]) -> int:
        """Append a validation result; returns its id."""
        return _observations.add_validation_result(self.db, project, view, success, results)

    def validation_results(self, project: str, view: str, limit: int = 20) -> list[ValidationResult]:
        """Validation results of ``view``, newest first."""
        return _observations.validation_results(self.db, project, view, limit)

    def save_suite(self, project: str, view: str, suite: dict[str, Any]) -> tuple[Suite, bool]:
        """Store a view's expectation suite (GX JSON) as a new version unless it equals the newest one;
        ``(newest version, whether one was added)``."""
        return _suites.save_suite(self.db, project, view, suite)

    def latest_suite(self, project: str, view: str) -> Suite | None:
        """The view's newest suite version, or None."""
        return _suites.latest_suite(self.db, project, view)

    def suites(self, project: str, view: str) -> list[Suite]:
        """Every version of the view's suite, oldest first."""
        return _suites.suites(self.db, project, view)

    def add_alert(
        self, project: str, kind: str, subject: str, severity: str, message: str,
        details: dict[str, Any] | None = None,
    ) -> int:
        """Append an alert (severity: info, warning, error, critical); returns its id."""
        return _observations.add_alert(self.db, project, kind, subject, severity, message, details)

    def alerts(
        self, project: str, subject: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Alerts, newest first."""
        return _observations.alerts(self.db, project, subject, kind, limit)

    # ---- train/serve drift and alert states --------------------------------------------------------------

    def add_training_frame(
        self, training_id: str, project: str, features: list[str], rows: int,
        details: dict[str, Any] | None = None, created_at: datetime | None = None,
    ) -> None:
        """Record a training frame the SDK returned (``features``: ``view:feature`` refs)."""
        _drift.add_training_frame(self.db, training_id, project, features, rows, details, created_at)

    def training_frame(self, training_id: str) -> TrainingFrameRecord | None:
        """One training frame by id, or None."""
        return _drift.training_frame(self.db, training_id)

    def training_frames(self, project: str, view: str | None = None, limit: int = 100) -> list[TrainingFrameRecord]:
        """Training frames, newest first; with ``view``, those holding one of its features."""
        return _drift.training_frames(self.db, project, view, limit)

    def add_drift_result(
        self, project: str, view: str, feature: str, training_id: str | None, metrics: dict[str, Any],
        breached: bool, computed_at: datetime | None = None,
    ) -> int:
        """Append one feature's drift result; returns its id."""
        return _drift.add_drift_result(self.db, project, view, feature, training_id, metrics, breached, computed_at)

    def drift_results(
        self, project: str, view: str, feature: str | None = None, limit: int = 100
    ) -> list[DriftResult]:
        """Drift results of a view (or one feature), newest first."""
        return _drift.drift_results(self.db, project, view, feature, limit)

    def latest_drift(self, project: str, view: str) -> dict[str, DriftResult]:
        """The latest drift result per feature of ``view``."""
        return _drift.latest_drift(self.db, project, view)

    def alert_state(self, project: str, kind: str, subject: str) -> str | None:
        """The last alert state (``firing`` / ``ok``) of ``(project, kind, subject)``, or None."""
        return _alert_states.alert_state(self.db, project, kind, subject)

    def set_alert_state(
        self, project: str, kind: str, subject: str, state: str, details: dict[str, Any] | None = None
    ) -> None:
        """Record an alert key's state (``aquifer.alerts.RegistryAlertStates`` calls this)."""
        _alert_states.set_alert_state(self.db, project, kind, subject, state, details)

    def alert_states(self, project: str, kind: str | None = None) -> dict[tuple[str, str], str]:
        """Every recorded alert state: ``{(kind, subject): state}``."""
        return _alert_states.alert_states(self.db, project, kind)
