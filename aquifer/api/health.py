"""``GET /health``: the server is up; says whether the online store is reachable.

Always 200 while the process serves: without Redis lookups still answer (defaults, ``unavailable``), so
the body's ``status: degraded`` is the signal, not a 5xx that would pull a working server from rotation.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from aquifer.api.models import HealthResponse

router = APIRouter(tags=["ops"])


@router.get("/health", response_model=HealthResponse, summary="Liveness and online-store reachability")
def health(request: Request) -> HealthResponse:
    """``ok`` when Redis answers a PING, else ``degraded``."""
    reachable = request.app.state.serving.online.ping()
    return HealthResponse(
        status="ok" if reachable else "degraded", online_store="reachable" if reachable else "unreachable"
    )
