"""``GET /api/v1/validation/{view}``: a view's latest validation results (batch runs, ``aquifer validate``).

A read route (an API key only with ``api.require_key_for_reads``), answered from the registry: the newest
results first, each with its success, policy, action, range and per-expectation counts and samples.
404: unknown view.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from aquifer.api.auth import HEADER, check_key
from aquifer.api.models import ErrorResponse
from aquifer.api.quality_models import ValidationResponse

router = APIRouter(tags=["quality"])


@router.get("/api/v1/validation/{view}", summary="Latest validation results of a view",
            response_model=ValidationResponse,
            responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}})
def validation(request: Request, view: str, limit: int = Query(1, ge=1, le=100)) -> dict[str, Any]:
    """The ``limit`` newest validation results (default 1) and whether the newest passed."""
    state = request.app.state
    check_key(state.api_config, request.headers.get(HEADER), write=False)
    store = state.store
    if view not in state.serving.views:
        raise HTTPException(404, f"unknown feature view {view!r}")
    found = store.registry.validation_results(store.config.project, view, limit)
    results = [{"id": r.id, "success": r.success, "created_at": r.created_at.isoformat(), **r.results}
               for r in found]
    return {"view": view, "success": results[0]["success"] if results else None, "results": results}
