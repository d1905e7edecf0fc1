"""``POST /api/v1/online-features``: the online lookup over HTTP (same answer as the SDK)."""

from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from aquifer.api.auth import require_key
from aquifer.api.models import ErrorResponse, OnlineFeaturesRequest, OnlineFeaturesResponse
from aquifer.definitions.refs import FeatureRefError
from aquifer.serving.retrieval import TooManyEntities, read_online
from aquifer.stores.online.keys import EntityKeyError

router = APIRouter(tags=["online"])


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"cannot serialize {type(value).__name__}")


@router.post(
    "/api/v1/online-features",
    response_model=OnlineFeaturesResponse,
    responses={404: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    dependencies=[Depends(require_key(write=False))],
    summary="Latest feature values for entities, with a status per value",
)
async def online_features(body: OnlineFeaturesRequest, request: Request) -> Response:
    """Look up features (a list of ``view:feature`` refs or a ``feature_service``) for entities.

    Unknown feature/service → 404; a missing join key or bad key type → 422; more entities than
    ``online_store.max_entities`` → 413. An unreachable Redis still answers 200, every status
    ``unavailable`` and every value its default. Bytes values are base64; timestamps are ISO 8601.
    """
    started = time.perf_counter()
    ctx = request.app.state.serving
    features = body.feature_service if body.feature_service is not None else body.features
    try:
        plan = ctx.plan(features, body.full_names)
        result = read_online(ctx.online, ctx.project, plan, body.entities, max_entities=ctx.max_entities)
    except FeatureRefError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404 if str(exc).startswith("unknown") else 422)
    except TooManyEntities as exc:
        return JSONResponse({"detail": str(exc)}, status_code=413)
    except EntityKeyError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    payload = {
        "entities": result.entities,
        "features": result.values,
        "statuses": result.statuses,
        "event_times_us": result.event_times_us,
        "served_at_us": result.served_at_us,
    }
    body_bytes = orjson.dumps(payload, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)
    request.app.state.metrics.observe(result, time.perf_counter() - started, route="http")
    return Response(body_bytes, media_type="application/json")
