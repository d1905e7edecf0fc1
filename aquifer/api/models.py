"""Request and response bodies of the online-feature route (pydantic; shown in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Status = Literal["present", "stale", "missing", "unavailable"]


class OnlineFeaturesRequest(BaseModel):
    """Which features, for which entities. Give exactly one of ``features`` and ``feature_service``."""

    features: list[str] | None = Field(default=None, description='Feature refs, e.g. ["user_spend:amount"]')
    feature_service: str | None = Field(default=None, description="A feature service name")
    entities: dict[str, list[Any]] | list[dict[str, Any]] = Field(
        description='Join-key columns, e.g. {"user_id": [1, 2]} (or rows: [{"user_id": 1}, ...])'
    )
    full_names: bool = Field(default=False, description="Name columns view__feature instead of feature")

    @model_validator(mode="after")
    def _one_selector(self) -> OnlineFeaturesRequest:
        if (self.features is None) == (self.feature_service is None):
            raise ValueError("give exactly one of 'features' and 'feature_service'")
        return self


class OnlineFeaturesResponse(BaseModel):
    """Column-major: every list has one item per requested entity, in request order.

    Column-major because a model consumes columns (one array per feature), every name appears once
    rather than once per entity (a 100-entity answer is several times smaller), and it is the shape of
    the SDK's ``OnlineResult.to_dict()``, so the HTTP and SDK answers compare directly.
    """

    entities: dict[str, list[Any]] = Field(description="Join-key columns, as requested")
    features: dict[str, list[Any]] = Field(description="Feature columns (defaults where not present)")
    statuses: dict[str, list[Status]] = Field(description="Per value: present, stale, missing or unavailable")
    event_times_us: dict[str, list[int | None]] = Field(
        description="Per view: each served value's event time, µs since the Unix epoch (UTC); null if none"
    )
    served_at_us: int = Field(description="Serving time (µs since the epoch); age = served_at_us - event time")


class ErrorResponse(BaseModel):
    """An error; ``detail`` names the offending feature, service, key or limit."""

    detail: str


class HealthResponse(BaseModel):
    """Liveness plus the online store's reachability (the server answers with defaults without it)."""

    status: Literal["ok", "degraded"]
    online_store: Literal["reachable", "unreachable"]


class MaterializeRequest(BaseModel):
    """Which views to materialize (all online views when omitted), up to ``end`` (ISO 8601; default now)."""

    views: list[str] | None = None
    end: str | None = None


class MaterializeResponse(BaseModel):
    """The materialization was started in the background."""

    status: Literal["started"]
    views: list[str] | None


class PushRequest(BaseModel):
    """Rows for one view: feature values for a ``FeatureView``, raw events for a Kafka-sourced ``AggregationView``.

    A feature view's row holds its join keys, its time field (ISO 8601 text, or an epoch number when the source
    declares ``timestamp_unit``) and every feature (null allowed); an aggregation view's row is one event as
    the stream reads it.
    """

    view: str = Field(description="The view's name, e.g. user_spend")
    rows: list[dict[str, Any]] = Field(
        min_length=1,
        description='Rows as JSON objects, e.g. [{"user_id": 1, "event_ts": "2026-05-01T12:00:00Z", "amount": 12.5}]',
    )


class PushResponse(BaseModel):
    """What a push did. ``written + skipped == rows`` for a feature view served online."""

    view: str
    rows: int = Field(description="Rows received")
    written: int = Field(description="Values written online (newer than the stored value)")
    skipped: int = Field(description="Rows not written online: an equal or newer value was already stored, or a "
                                     "newer row of the same entity came in the same push")
    produced: int = Field(description="Messages delivered to the source's Kafka topic")
    topic: str | None = Field(description="The Kafka topic produced to (null when the source is not Kafka)")
