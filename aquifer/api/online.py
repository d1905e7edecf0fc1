"""``POST /api/v1/online-features``: the online lookup over HTTP (same answer as the SDK).

The hot path is kept lean (issue #5: p99 ≤ 3 ms for 100 entities). ``lookup`` does the whole request
from its raw bytes: pydantic-core validates the JSON straight into the model (``model_validate_json``,
no intermediate dicts), the read-key check runs inline (no dependency, no threadpool hop), the Redis
round trip runs on the event loop (one sub-millisecond pipelined read: cheaper than a hop to a worker
thread), and orjson serializes the answer once. ``create_app`` puts ``OnlineFastPath`` (``fastpath``)
in front of FastAPI so requests reach ``lookup`` without routing and request objects; the route here
documents the endpoint in OpenAPI (request model and ``X-API-Key`` through ``openapi_extra``) and serves
it when the router is mounted elsewhere. Invalid bodies get FastAPI's usual 422 shape either way.
"""

from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError

from aquifer.api.auth import HEADER, check_key
from aquifer.api.models import ErrorResponse, OnlineFeaturesRequest, OnlineFeaturesResponse
from aquifer.definitions.refs import FeatureRefError
from aquifer.serving.retrieval import TooManyEntities, read_online
from aquifer.stores.online.keys import EntityKeyError

router = APIRouter(tags=["online"])
PATH = "/api/v1/online-features"

# the body model is not a route parameter (see the module docstring): documented by reference, and
# ``openapi_schemas`` (merged into the app's schema by ``create_app``) holds its definition
_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OnlineFeaturesRequest"}}},
}


def openapi_schemas() -> dict[str, Any]:
    """Component schemas the routes here reference without FastAPI knowing them."""
    return {"OnlineFeaturesRequest": OnlineFeaturesRequest.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )}
_KEY_HEADER = {"name": HEADER, "in": "header", "required": False, "schema": {"type": "string"},
               "description": "API key (needed when api.require_key_for_reads is true)"}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot serialize {type(value).__name__}")


@router.post(
    PATH,
    response_model=OnlineFeaturesResponse,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
               413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    openapi_extra={"requestBody": _REQUEST_BODY, "parameters": [_KEY_HEADER]},
    summary="Latest feature values for entities, with a status per value",
)
async def online_features(request: Request) -> Response:
    """Look up features (a list of ``view:feature`` refs or a ``feature_service``) for entities.

    The body is an ``OnlineFeaturesRequest``. Unknown feature/service → 404; a missing join key or bad
    key type → 422; more entities than ``online_store.max_entities`` → 413. An unreachable Redis still
    answers 200, every status ``unavailable`` and every value its default. Bytes values are base64;
    timestamps are ISO 8601.
    """
    status, body = lookup(request.app.state, await request.body(), request.headers.get(HEADER))
    return Response(body, status_code=status, media_type="application/json")


def lookup(state: Any, raw: bytes, api_key: str | None) -> tuple[int, bytes]:
    """The whole lookup for one request body: ``(HTTP status, JSON body)``; never raises for bad input.

    Shared by the route above and by ``OnlineFastPath``, which calls it without FastAPI's routing.
    """
    started = time.perf_counter()
    api = state.api_config
    if api.get("require_key_for_reads", False):
        try:
            check_key(api, api_key, write=False)
        except HTTPException as exc:
            return exc.status_code, orjson.dumps({"detail": exc.detail})
    try:
        body = OnlineFeaturesRequest.model_validate_json(raw)
    except ValidationError as exc:  # the shape of FastAPI's own 422 answers
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        try:
            return 422, orjson.dumps({"detail": errors}, default=str)
        except orjson.JSONEncodeError:  # the echoed input holds an integer beyond 64 bits: json writes any int
            import json

            return 422, json.dumps({"detail": errors}, default=str).encode()
    ctx = state.serving
    features = body.feature_service if body.feature_service is not None else body.features
    try:
        plan = ctx.plan(features, body.full_names)
        result = read_online(ctx.online, ctx.project, plan, body.entities, max_entities=ctx.max_entities)
    except FeatureRefError as exc:
        return (404 if str(exc).startswith("unknown") else 422), orjson.dumps({"detail": str(exc)})
    except TooManyEntities as exc:
        return 413, orjson.dumps({"detail": str(exc)})
    except EntityKeyError as exc:
        return 422, orjson.dumps({"detail": str(exc)})
    payload = {
        "entities": result.entities,
        "features": result.values,
        "statuses": result.statuses,
        "event_times_us": result.event_times_us,
        "served_at_us": result.served_at_us,
    }
    try:
        out = orjson.dumps(payload, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError as exc:  # an entity key beyond 64-bit integers, echoed back: the request's fault
        return 422, orjson.dumps({"detail": f"entity key values must be text or 64-bit integers ({exc})"})
    if ctx.serving_log is not None:  # off by default; on, it only appends to a buffer (``serving_log``)
        ctx.serving_log.record(plan, result)
    state.metrics.observe(result, time.perf_counter() - started, route="http")
    return 200, out
