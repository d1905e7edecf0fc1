"""The registry's tables (SQLAlchemy Core). Created on first use; ``aq_schema_version`` guards migrations.

Declared metadata (projects, definitions, versions, edges) lives apart from observed metadata
(intervals, runs, statistics, validation results, alerts), which is only ever appended or ledgered.

``LAYOUT_VERSION`` is the version of these tables (``MIGRATIONS`` bring an older database up to it); it is
not the version of the wire format the registry returns (``aquifer.registry.schemas.SCHEMA_VERSION``).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

from aquifer.registry.times import UTCDateTime

LAYOUT_VERSION = 3

MIGRATIONS: dict[int, list[tuple[str, str]]] = {
    # layout version reached -> (table, column definition) to add; 2: who applied each definition version
    2: [("aq_definitions", "applied_by VARCHAR(200)"), ("aq_definition_versions", "applied_by VARCHAR(200)")],
    # 3: statistics per run and time range (mergeable sketches); new quality tables are created, not migrated
    3: [("aq_statistics", "range_start TIMESTAMP WITH TIME ZONE"),
        ("aq_statistics", "range_end TIMESTAMP WITH TIME ZONE"),
        ("aq_statistics", "run_kind VARCHAR(32)"), ("aq_statistics", "run_id BIGINT")],
}

Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY

metadata = MetaData()

schema_version = Table(
    "aq_schema_version", metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# ---- declared: definitions and their versions ----------------------------------------------------------

projects = Table(
    "aq_projects", metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

definitions = Table(
    "aq_definitions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("aq_projects.name"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("version", Integer, nullable=False),
    Column("data_fp", String(128), nullable=False),
    Column("meta_fp", String(128), nullable=False),
    Column("spec", Json, nullable=False),
    Column("location", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("applied_by", String(200)),
    UniqueConstraint("project", "kind", "name", name="uq_aq_definitions"),
)

definition_versions = Table(
    "aq_definition_versions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("aq_projects.name"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("version", Integer, nullable=False),
    Column("change", String(16), nullable=False),  # added | data | meta
    Column("data_fp", String(128), nullable=False),
    Column("meta_fp", String(128), nullable=False),
    Column("spec", Json, nullable=False),
    Column("location", Text),
    Column("project_version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("applied_by", String(200)),
    UniqueConstraint("project", "kind", "name", "version", name="uq_aq_definition_versions"),
)

edges = Table(
    "aq_edges", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("aq_projects.name"), nullable=False),
    Column("from_kind", String(64), nullable=False),
    Column("from_name", String(300), nullable=False),
    Column("to_kind", String(64), nullable=False),
    Column("to_name", String(300), nullable=False),
    Index("ix_aq_edges_project", "project"),
)

column_edges = Table(
    "aq_column_edges", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), ForeignKey("aq_projects.name"), nullable=False),
    Column("from_node", String(300), nullable=False),
    Column("from_column", String(300), nullable=False),
    Column("to_node", String(300), nullable=False),
    Column("to_column", String(300), nullable=False),
    Index("ix_aq_column_edges_project", "project"),
)

# ---- observed: ledger, runs, statistics, validation, alerts ----------------------------------------------

intervals = Table(
    "aq_intervals", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("view", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Index("ix_aq_intervals_view", "project", "view", "kind"),
)

runs = Table(
    "aq_runs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("view", String(300), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("start", UTCDateTime),
    Column("end", UTCDateTime),
    Column("status", String(16), nullable=False),
    Column("rows_in", BigInteger),
    Column("rows_out", BigInteger),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("duration_s", Float),
    Column("error", Text),
    Column("details", Json),
    Index("ix_aq_runs_project", "project", "view", "kind"),
)

statistics = Table(
    "aq_statistics", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("view", String(300), nullable=False),
    Column("feature", String(300), nullable=False),
    Column("stats", Json, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("range_start", UTCDateTime),  # the event-time range [range_start, range_end) the rows came from
    Column("range_end", UTCDateTime),
    Column("run_kind", String(32)),  # batch, backfill, materialize, training, serving, profile
    Column("run_id", BigInteger),
    Index("ix_aq_statistics_view", "project", "view", "feature"),
)

validation_results = Table(
    "aq_validation_results", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("view", String(300), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("results", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_aq_validation_view", "project", "view"),
)

suites = Table(
    "aq_suites", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("view", String(300), nullable=False),
    Column("version", Integer, nullable=False),
    Column("suite", Json, nullable=False),  # the GX ExpectationSuite as its JSON dict
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("project", "view", "version", name="uq_aq_suites_version"),
)

training_frames = Table(
    "aq_training_frames", metadata,
    Column("id", String(64), primary_key=True),  # returned by the SDK with the frame
    Column("project", String(200), nullable=False),
    Column("features", Json, nullable=False),  # ["view:feature", ...]
    Column("rows", BigInteger, nullable=False),
    Column("details", Json),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_aq_training_frames_project", "project", "created_at"),
)

drift_results = Table(
    "aq_drift_results", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("view", String(300), nullable=False),
    Column("feature", String(300), nullable=False),
    Column("training_id", String(64)),
    Column("metrics", Json, nullable=False),  # psi, ks / chi2, thresholds, sample sizes
    Column("breached", Boolean, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Index("ix_aq_drift_view", "project", "view", "feature"),
)

alert_states = Table(
    "aq_alert_states", metadata,  # the last state per alert key: a persistent breach alerts once per change
    Column("project", String(200), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("subject", String(300), primary_key=True),
    Column("state", String(16), nullable=False),  # firing or ok
    Column("details", Json),
    Column("updated_at", UTCDateTime, nullable=False),
)

alerts = Table(
    "aq_alerts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", Json),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_aq_alerts_project", "project", "subject", "kind"),
)
