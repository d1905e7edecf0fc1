"""``GET /api/v1/drift/{view}``: train/serve drift of a view's features.

By default the latest stored result per feature (what ``aquifer drift`` or an earlier ``compute`` stored), read
from the registry: cheap, and a read route (an API key only with ``api.require_key_for_reads``).
``?compute=true`` (optionally with ``training_id`` and ``since``) first writes the server's buffered serving log,
then computes, stores and alerts like ``aquifer drift`` and answers with that report; it writes to the registry,
so it needs a write key. 404: unknown view; 409: nothing to compare (no training frame, no serving log).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from aquifer.api.auth import HEADER, check_key
from aquifer.api.models import ErrorResponse
from aquifer.api.quality_models import DriftResponse

router = APIRouter(tags=["quality"])


@router.get("/api/v1/drift/{view}", summary="Train/serve drift per feature of a view", response_model=DriftResponse,
            responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
                       409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})
def drift(request: Request, view: str, compute: bool = False, training_id: str | None = None,
          since: str | None = None) -> dict[str, Any]:
    """Latest drift results per feature (``features``: metrics and ``breached``), or fresh ones with ``compute``."""
    state = request.app.state
    check_key(state.api_config, request.headers.get(HEADER), write=compute)
    store = state.store
    if view not in state.serving.views:
        raise HTTPException(404, f"unknown feature view {view!r}")
    if not compute:
        if training_id is not None or since is not None:
            raise HTTPException(422, "training_id and since apply only with compute=true")
        latest = store.registry.latest_drift(store.config.project, view)
        return {"view": view, "computed": False, "breached": any(r.breached for r in latest.values()),
                "features": {f: {"training_id": r.training_id, "breached": r.breached, "computed_at":
                                 r.computed_at.isoformat(), "metrics": r.metrics} for f, r in latest.items()}}
    from aquifer.serving.drift import DriftProblem, check_drift
    from aquifer.times import parse_time

    try:
        since_at = None if since is None else parse_time(since, "since")
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    serving_log = state.serving.serving_log
    if serving_log is not None:
        serving_log.flush()
    try:
        report = check_drift(store, view, training_id=training_id, since=since_at,
                             gate=getattr(state, "alert_gate", None))
    except DriftProblem as exc:
        raise HTTPException(409, str(exc)) from None
    return {**report.to_dict(), "computed": True}
