"""``POST /api/v1/materialize``: trigger a materialization (API key required); runs in the background."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request

from aquifer.api.auth import require_key
from aquifer.api.models import ErrorResponse, MaterializeRequest, MaterializeResponse

router = APIRouter(tags=["runs"])
log = logging.getLogger("aquifer.api")
_RUNNING = threading.Lock()


def _run(store: Any, views: list[str] | None, end: str | None, listeners: list[Any]) -> None:
    try:  # through the store: its online writer, and its catalog hooks hear the run
        store.materialize(views, end=end, progress=False, listeners=listeners)
    except Exception:
        log.exception("materialization triggered over HTTP failed")
    finally:
        _RUNNING.release()


@router.post(
    "/api/v1/materialize",
    response_model=MaterializeResponse,
    status_code=202,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse},
               409: {"model": ErrorResponse}},
    dependencies=[Depends(require_key(write=True))],
    summary="Push the latest offline values to the online store",
)
def trigger_materialize(body: MaterializeRequest, request: Request, background: BackgroundTasks) -> MaterializeResponse:
    """Start an incremental materialization; 409 while another one started here is still running."""
    store = request.app.state.store
    unknown = [v for v in body.views or [] if v not in request.app.state.serving.views]
    if unknown:
        raise HTTPException(404, f"unknown feature view {unknown[0]!r}")
    if not _RUNNING.acquire(blocking=False):
        raise HTTPException(409, "a materialization is already running")
    from aquifer.runs.alerting import AlertListener, FreshnessListener

    monitor = request.app.state.freshness
    listeners = [AlertListener(store.config.project, gate=monitor.gate), FreshnessListener(monitor)]
    background.add_task(_run, store, body.views, body.end, listeners)
    return MaterializeResponse(status="started", views=body.views)
