"""Response bodies of ``GET /api/v1/validation/{view}`` and ``GET /api/v1/drift/{view}`` (for /openapi.json)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ValidationRecord(BaseModel):
    """One stored validation result: the registry's ``results`` document (``ValidationReport.to_dict``)."""

    model_config = ConfigDict(extra="allow")

    id: int
    success: bool
    created_at: str = Field(description="When it was recorded (ISO 8601)")
    view: str | None = None
    kind: str | None = Field(default=None, description="batch, backfill or validate")
    policy: str | None = Field(default=None, description="warn, quarantine or block")
    action: str | None = None
    rows: int | None = None
    start: str | None = None
    end: str | None = None
    failed: list[str] = Field(default_factory=list, description="Names of the expectations that failed")
    expectations: list[dict[str, Any]] = Field(default_factory=list, description="Per expectation: counts, samples")


class ValidationResponse(BaseModel):
    """The newest validation results of a view, newest first."""

    view: str
    success: bool | None = Field(description="Whether the newest result passed (null: none recorded)")
    results: list[ValidationRecord]


class DriftFeature(BaseModel):
    """Drift of one feature: stored (``training_id``, ``computed_at``, ``metrics``) or just computed (every metric
    of ``FeatureDrift.to_dict``: psi, ks, chi-square, reasons, notes ...)."""

    model_config = ConfigDict(extra="allow")

    breached: bool
    training_id: str | None = None
    computed_at: str | None = None
    metrics: dict[str, Any] | None = None


class DriftResponse(BaseModel):
    """Train/serve drift per feature of a view."""

    view: str
    computed: bool = Field(description="True when computed by this request (compute=true)")
    breached: bool
    features: dict[str, DriftFeature]
    training_id: str | None = None
    serving_rows: int | None = None
    training_rows: int | None = None
    since: str | None = None
    skipped: dict[str, str] = Field(default_factory=dict, description="Features not compared, and why")
