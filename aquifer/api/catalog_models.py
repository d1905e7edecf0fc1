"""Response bodies of the discovery routes (``aquifer.api.catalog``), so ``/openapi.json`` describes each one.

The ``api`` room may not import ``registry`` (ARCHITECTURE.md), so the registry's v1 wire models are not
reused as classes: the parts sent as they are (``LineageNode``, ``LineageEdge``, ``ColumnEdge``, ``RunRecord``)
are mirrored here field for field, the same names and wire types, so a client reading them with
``aquifer.registry.schemas.v1`` gets the same values. The rest are views shaped for browsing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Json = str | int | float | bool | list[Any] | dict[str, Any] | None
"""A JSON value of a definition's spec (a default, a changed spec value)."""
Scalar = str | int | float | bool | None


class FeatureSummary(BaseModel):
    """A feature as searched and listed: its name, type (None for aggregations) and description."""

    name: str
    dtype: str | None = Field(description="The declared type (Int64, Float64, String, ...); None for aggregations")
    description: str | None


class ViewSummary(BaseModel):
    """One view in search results."""

    name: str
    kind: str = Field(description="feature_view or aggregation_view")
    description: str | None
    owner: str | None
    tags: dict[str, str]
    features: list[FeatureSummary]
    version: int = Field(description="How many applies changed it")
    freshness_s: float | None = Field(description="Freshness SLA in seconds (None: no SLA)")
    updated_at: datetime


class ViewSearchResponse(BaseModel):
    """A page of search results; ``total`` counts every match, ``items`` holds ``limit`` from ``offset``."""

    total: int
    limit: int
    offset: int
    items: list[ViewSummary]


class AggregationSpec(BaseModel):
    """One aggregation of an ``AggregationView``: ``function`` of ``column`` over ``window`` (seconds)."""

    name: str
    column: str
    function: str
    window: dict[str, str | float | None]


class FeatureDetail(BaseModel):
    """A feature of a view: type, default, description and declared expectations."""

    name: str
    dtype: str | None
    default: Json = Field(default=None, description="Served when no value is present")
    description: str | None
    expectations: list[dict[str, Any]] = Field(description="Declared expectations (kind and parameters)")
    aggregation: AggregationSpec | None = None


class EntityRef(BaseModel):
    """An entity a view is keyed by."""

    name: str
    join_keys: list[str]
    key_types: list[str]


class Transform(BaseModel):
    """A view's transform as registered: SQL text, or the Python function's source text."""

    kind: str = Field(description="sql or python")
    text: str | None = Field(default=None, description="The SQL text (sql)")
    source: str | None = Field(default=None, description="The function's source text (python)")
    module: str | None = None
    qualname: str | None = None
    params: list[str] = Field(default_factory=list)


class SpecChange(BaseModel):
    """One spec value that differs from the previous version (``path``: dotted, e.g. ``meta.description``)."""

    path: str
    old: Json = None
    new: Json = None


class ViewVersion(BaseModel):
    """One applied version of a definition and what changed since the one before."""

    version: int
    change: str = Field(description="added, data (recompute) or meta (description only)")
    project_version: int
    created_at: datetime
    applied_by: str | None
    data_fingerprint: str
    meta_fingerprint: str
    changes: list[SpecChange]


class Freshness(BaseModel):
    """The view's newest online value now, against its SLA.

    ``status``: ``fresh``, ``stale`` (older than the SLA), ``never_written``, ``offline`` (not served online) or
    ``unavailable`` (the online store did not answer).
    """

    status: Literal["fresh", "stale", "never_written", "offline", "unavailable"]
    newest_at: datetime | None = None
    age_s: float | None = None
    freshness_s: float | None = None


class Histogram(BaseModel):
    """Equal-width bins: ``len(edges) == len(counts) + 1``."""

    edges: list[float | str]
    counts: list[int]


class FeatureStats(BaseModel):
    """``quality.statistics.FeatureStatistics`` of one feature, as last recorded (non-finite numbers as text)."""

    feature: str
    dtype: str
    count: int
    nulls: int
    null_fraction: float
    distinct: float | None = None
    min: Scalar = None
    max: Scalar = None
    mean: float | str | None = None
    stddev: float | str | None = None
    quantiles: dict[str, float | str | None] = Field(default_factory=dict)
    histogram: Histogram | None = None
    top_values: list[tuple[Scalar, int]] | None = None
    computed_at: datetime
    range_start: datetime | None = None
    range_end: datetime | None = None
    run_kind: str | None = None
    run_id: int | None = None


class Validation(BaseModel):
    """A validation result: overall ``success`` and the detailed ``results`` (per expectation)."""

    id: int
    success: bool
    created_at: datetime
    results: dict[str, Any]


class Drift(BaseModel):
    """Train/serve drift of one feature: ``metrics`` (psi, ks or chi2, thresholds, sample sizes)."""

    training_id: str | None
    breached: bool
    computed_at: datetime
    metrics: dict[str, Any]


class RunRecord(BaseModel):
    """A run, as the registry's v1 ``RunRecord`` (kind: batch, backfill, materialize, stream)."""

    id: int
    view: str
    kind: str
    start: datetime | None = Field(description="Event-time range start (inclusive)")
    end: datetime | None = Field(description="Event-time range end (exclusive)")
    status: str = Field(description="running, succeeded, failed or cancelled")
    rows_in: int | None
    rows_out: int | None
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    error: str | None
    details: dict[str, Any] | None


class RunsResponse(BaseModel):
    """Runs, newest first."""

    runs: list[RunRecord]


class Ref(BaseModel):
    """Another definition, by kind and name."""

    kind: str
    name: str


class ViewDetail(BaseModel):
    """Everything known about a view: its registered definition and what was observed of it."""

    name: str
    kind: str
    version: int
    description: str | None
    owner: str | None
    tags: dict[str, str]
    location: str | None = Field(description="file:line of the definition when applied")
    created_at: datetime
    updated_at: datetime
    applied_by: str | None
    entities: list[EntityRef]
    source: Ref | None
    transform: Transform | None
    timestamp_field: str | None
    ttl_s: float | None
    freshness_s: float | None
    allowed_lateness_s: float | None
    online: bool
    quality: dict[str, Any] | None = Field(description="The quality policy (policy, margin, expectations)")
    features: list[FeatureDetail] = Field(description="The schema")
    used_by: list[Ref] = Field(description="Definitions using this view (services, downstream views)")
    versions: list[ViewVersion] = Field(description="Oldest first")
    freshness: Freshness
    statistics: dict[str, FeatureStats] = Field(description="Latest statistics per feature")
    validation: Validation | None = Field(description="The latest validation result")
    drift: dict[str, Drift] = Field(description="Latest drift per feature")
    runs: list[RunRecord] = Field(description="The last runs, newest first")


class FeatureResponse(BaseModel):
    """One feature of a view with its latest statistics and drift."""

    view: str
    view_kind: str
    feature: FeatureDetail
    statistics: FeatureStats | None
    drift: Drift | None


class EntityDetail(BaseModel):
    """An entity and the views keyed by it."""

    name: str
    version: int
    description: str | None
    owner: str | None
    tags: dict[str, str]
    join_keys: list[str]
    key_types: list[str]
    location: str | None
    used_by: list[Ref]


class SourceField(BaseModel):
    """A column of a source."""

    name: str
    dtype: str
    description: str | None = None


class SourceDetail(BaseModel):
    """A source (batch_source or kafka_source): where its rows come from, its columns and the views reading it."""

    name: str
    kind: str
    version: int
    description: str | None
    owner: str | None
    tags: dict[str, str]
    path: str | None = None
    table: str | None = None
    topic: str | None = None
    format: str | None = None
    timestamp_field: str | None = None
    batch_source: str | None = Field(default=None, description="A Kafka source's batch twin")
    fields: list[SourceField]
    location: str | None
    used_by: list[Ref]


class ServiceFeatures(BaseModel):
    """The features a service takes from one view."""

    view: str
    features: list[str]


class ServiceDetail(BaseModel):
    """A feature service: the features it serves, by view."""

    name: str
    version: int
    description: str | None
    owner: str | None
    tags: dict[str, str]
    features: list[ServiceFeatures]
    location: str | None
    used_by: list[Ref]


class EntityList(BaseModel):
    """Every registered entity, by name."""

    items: list[EntityDetail]


class SourceList(BaseModel):
    """Every registered source, by name."""

    items: list[SourceDetail]


class ServiceList(BaseModel):
    """Every registered feature service, by name."""

    items: list[ServiceDetail]


class LineageNode(BaseModel):
    """A definition in the graph (v1 ``LineageNode``) and how many hops it is from the asked-for node."""

    kind: str
    name: str
    version: int | None
    distance: int = Field(description="Hops from the root (0: the node asked for)")


class LineageEdge(BaseModel):
    """``from`` is used by ``to`` (v1 ``LineageEdge``): a source feeds a view, an entity keys it, ..."""

    from_kind: str
    from_name: str
    to_kind: str
    to_name: str


class ColumnEdge(BaseModel):
    """Column ``to_node.to_column`` is computed from ``from_node.from_column`` (v1 ``ColumnEdge``)."""

    from_node: str
    from_column: str
    to_node: str
    to_column: str


class LineageResponse(BaseModel):
    """The graph around ``root`` up to ``depth`` hops ``direction``; column edges between its nodes."""

    root: Ref
    depth: int
    direction: Literal["up", "down", "both"]
    project_version: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    column_edges: list[ColumnEdge]
