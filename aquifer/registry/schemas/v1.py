"""Version 1 of the registry's wire format: what the registry returns, as pydantic models.

Two sorts of model:

- **documents** (``Definition``, ``DefinitionSummary``, ``DefinitionVersion``, ``Lineage``, ``Diff``,
  ``ApplyResult``, ``RunRecord``, ``Ledger``, ``Statistic``, ``ValidationResult``, ``Alert``) stand alone:
  each carries ``schema_version: "1"``, the first key of its JSON;
- **parts** (``Change``, ``LineageNode``, ``LineageEdge``, ``ColumnEdge``, ``LedgerInterval``) only appear
  inside a document (or in a list the registry returns next to one) and carry no version of their own.

Times are tz-aware UTC ``datetime``s (ISO 8601 with ``Z`` in JSON). Fields holding an enumeration (a kind,
a status, a severity) are plain strings: the docstrings list today's values, and a reader must accept
values it does not know, since new ones may appear within v1. Every model is frozen and ignores unknown
fields when read, so a v1 reader keeps working against a registry that added fields (package docstring).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION: Final = "1"


class Part(BaseModel):
    """Base of every v1 model: frozen, unknown fields ignored on read, schema built on first use."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class Document(Part):
    """Base of the v1 models that stand alone: they carry ``schema_version``."""

    schema_version: Literal["1"] = SCHEMA_VERSION


# ---- definitions -----------------------------------------------------------------------------------------


class Definition(Document):
    """A current (not removed) definition with its whole spec.

    ``spec`` is ``aquifer.definitions.spec.to_spec`` of the definition as applied: ``kind``, ``name``,
    ``location``, ``data`` (what changes rows) and ``meta`` (description, owner, tags, ...). ``version``
    counts applies that changed it (either fingerprint); ``created_at`` is when it first appeared,
    ``updated_at`` when its current version was applied, ``applied_by`` who applied that version (None when
    unknown, e.g. applied by an aquifer that did not record it).
    """

    project: str
    kind: str
    name: str
    version: int
    data_fingerprint: str
    meta_fingerprint: str
    spec: dict[str, Any]
    location: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    applied_by: str | None


class DefinitionSummary(Document):
    """A current definition as listed: who owns it and what it means, without the spec.

    ``description``, ``owner`` and ``tags`` come from the spec's ``meta``; ``fields`` are the names of the
    fields it declares (a view's features, a source's columns; empty for entities and services).
    """

    project: str
    kind: str
    name: str
    version: int
    description: str | None
    owner: str | None
    tags: dict[str, str]
    fields: list[str]
    location: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class DefinitionVersion(Document):
    """One version of a definition as it was applied (kept after the definition is removed).

    ``change`` says why the version exists: ``added`` (first version, or re-added after removal), ``data``
    (the data fingerprint changed: recompute) or ``meta`` (only the metadata fingerprint changed).
    ``project_version`` is the project version the apply produced.
    """

    project: str
    kind: str
    name: str
    version: int
    change: str
    data_fingerprint: str
    meta_fingerprint: str
    spec: dict[str, Any]
    location: str | None
    project_version: int
    created_at: AwareDatetime
    applied_by: str | None


class Change(Part):
    """One definition in a diff. ``old_version`` is None when added; ``new_version`` is None when removed."""

    kind: str
    name: str
    old_version: int | None
    new_version: int | None


class Diff(Document):
    """What ``apply`` would do (or did) to a project, computed against project version ``base_version``."""

    project: str
    base_version: int
    added: list[Change] = Field(default_factory=list)
    removed: list[Change] = Field(default_factory=list)
    changed_data: list[Change] = Field(default_factory=list)
    changed_meta: list[Change] = Field(default_factory=list)
    unchanged: list[Change] = Field(default_factory=list)
    edges_changed: bool = False
    column_edges_changed: bool = False

    @property
    def has_changes(self) -> bool:
        """True when applying would write anything."""
        return bool(
            self.added or self.removed or self.changed_data or self.changed_meta
            or self.edges_changed or self.column_edges_changed
        )


class ApplyResult(Document):
    """The outcome of ``apply``: the project's version after it (unchanged when nothing changed) and the diff."""

    project: str
    version: int
    diff: Diff
    applied_at: AwareDatetime
    applied_by: str | None


# ---- lineage ----------------------------------------------------------------------------------------------


class LineageNode(Part):
    """A definition in the lineage graph; ``version`` is None for a node only named by an edge."""

    kind: str
    name: str
    version: int | None


class LineageEdge(Part):
    """``from`` is used by ``to`` (a source feeds a view, an entity keys it, a view is in a service)."""

    from_kind: str
    from_name: str
    to_kind: str
    to_name: str


class ColumnEdge(Part):
    """Column ``to_node.to_column`` is computed from ``from_node.from_column`` (nodes by name, as stored)."""

    from_node: str
    from_column: str
    to_node: str
    to_column: str


class Lineage(Document):
    """A project's dependency graph at ``project_version``: definitions and column-level edges, sorted."""

    project: str
    project_version: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    column_edges: list[ColumnEdge]


# ---- runs and the ledger ----------------------------------------------------------------------------------


class RunRecord(Document):
    """One run as stored.

    ``kind``: batch, backfill, materialize or stream. ``status``: running, then succeeded, failed or
    cancelled. ``start``/``end`` are the event-time range ``[start, end)`` it covered (None for open-ended
    runs); ``started_at``/``finished_at`` are wall-clock times. ``details`` holds whatever the engine
    recorded (``owner``: host and pid of the process that ran it, dropped null keys, ...).
    """

    id: int
    project: str
    view: str
    kind: str
    start: AwareDatetime | None
    end: AwareDatetime | None
    status: str
    rows_in: int | None
    rows_out: int | None
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    duration_s: float | None
    error: str | None
    details: dict[str, Any] | None


class LedgerInterval(Part):
    """A processed ``[start, end)`` range, computed with the view's ``data_fingerprint``."""

    data_fingerprint: str
    start: AwareDatetime
    end: AwareDatetime


class Ledger(Document):
    """The interval ledger of one view and kind (``batch`` or ``materialize``) as stored.

    Intervals are sorted by start; those of one fingerprint never overlap or touch (they are merged), while
    intervals of different fingerprints never overlap (a newer computation replaces the older one there).
    """

    project: str
    view: str
    kind: str
    intervals: list[LedgerInterval]


# ---- observations ----------------------------------------------------------------------------------------


class Statistic(Document):
    """Statistics of one feature of a view, as computed at ``computed_at`` (``stats`` as recorded)."""

    id: int
    project: str
    view: str
    feature: str
    stats: dict[str, Any]
    computed_at: AwareDatetime
    range_start: AwareDatetime | None = None
    """The event-time range ``[range_start, range_end)`` of the rows measured (None: not recorded)."""
    range_end: AwareDatetime | None = None
    run_kind: str | None = None
    """What measured them: batch, backfill, materialize, training, serving or profile."""
    run_id: int | None = None


class ValidationResult(Document):
    """One validation of a view (e.g. a suite run): overall ``success`` and the detailed ``results``."""

    id: int
    project: str
    view: str
    success: bool
    results: dict[str, Any]
    created_at: AwareDatetime


class Suite(Document):
    """One version of a view's expectation suite (``suite``: the Great Expectations suite as JSON)."""

    id: int
    project: str
    view: str
    version: int
    suite: dict[str, Any]
    created_at: AwareDatetime


class TrainingFrameRecord(Document):
    """A training frame the SDK returned: its id, the features it holds and how many rows."""

    id: str
    project: str
    features: list[str]
    rows: int
    details: dict[str, Any] | None = None
    created_at: AwareDatetime


class DriftResult(Document):
    """Train/serve drift of one feature: ``metrics`` (psi, ks or chi2, thresholds, sample sizes)."""

    id: int
    project: str
    view: str
    feature: str
    training_id: str | None
    metrics: dict[str, Any]
    breached: bool
    computed_at: AwareDatetime


class Alert(Document):
    """Something a person should look at (drift, failed validation, stale view, ...).

    ``severity``: info, warning, error or critical. ``subject`` names what it is about (a view, or
    ``view:feature``).
    """

    id: int
    project: str
    kind: str
    subject: str
    severity: str
    message: str
    details: dict[str, Any] | None
    created_at: AwareDatetime


DOCUMENTS: Final = (
    Definition, DefinitionSummary, DefinitionVersion, Diff, ApplyResult, Lineage, RunRecord, Ledger, Statistic,
    ValidationResult, Suite, TrainingFrameRecord, DriftResult, Alert,
)
"""Every v1 document model."""

PARTS: Final = (Change, LineageNode, LineageEdge, ColumnEdge, LedgerInterval)
"""Every v1 model that only appears inside a document."""
