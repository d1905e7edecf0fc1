"""``GET /metrics``: Prometheus text format from the app's own ``CollectorRegistry``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["ops"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Serving metrics; each scrape also refreshes the per-view freshness gauges (one Redis round trip)."""
    monitor = request.app.state.freshness
    if monitor is not None:
        monitor.check()
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
