"""``POST /api/v1/push``: write rows of a view online (newer-wins) and produce them to its Kafka topic.

API key required, like every write route. The checks and the writes live in ``aquifer.runs.push`` (its
docstring says what a row is per view kind and why Kafka is produced to before the online write); this module
maps its outcomes to HTTP. Every row is checked before anything is written: one bad row refuses the whole
push with a 422 listing each bad row's index and field (FastAPI's validation-error shape, ``loc`` =
``["body", "rows", index, field]``).
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from aquifer.api.auth import require_key
from aquifer.api.models import ErrorResponse, PushRequest, PushResponse
from aquifer.runs.push import (
    MAX_ROWS,
    BadRows,
    KafkaProducer,
    OnlineWriteFailed,
    ProduceFailed,
    PushRefused,
    TooManyRows,
    execute_push,
    plan_push,
)

router = APIRouter(tags=["push"])
PATH = "/api/v1/push"
_PRODUCER_LOCK = threading.Lock()


def _producer(request: Request) -> KafkaProducer:
    """The app's one push producer (``kafka:`` section of aquifer.yaml), made on the first Kafka push."""
    state = request.app.state
    with _PRODUCER_LOCK:
        producer = getattr(state, "push_producer", None)
        if producer is None:
            try:
                producer = KafkaProducer(state.store.config.kafka)
            except ValueError as exc:  # no bootstrap servers
                raise HTTPException(503, f"cannot produce: {exc}") from None
            state.push_producer = producer
    return producer


def _validation_errors(exc: BadRows) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = [
        {"loc": ["body", "rows", e.row, *([e.field] if e.field is not None else [])], "msg": e.message,
         "type": e.kind}
        for e in exc.errors
    ]
    reported = len({e.row for e in exc.errors})
    if exc.bad_rows > reported:
        errors.append({"loc": ["body", "rows"], "type": "more_bad_rows",
                       "msg": f"{exc.bad_rows} bad rows in all; the first {reported} are listed"})
    return errors


@router.post(
    PATH,
    response_model=PushResponse,
    responses={400: {"model": ErrorResponse}, 401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
               404: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    dependencies=[Depends(require_key(write=True))],
    summary="Write rows of a view online (newer-wins) and to its Kafka topic",
)
def push_rows(body: PushRequest, request: Request) -> PushResponse:
    """Push rows to a view; nothing is written unless every row is good.

    ``FeatureView``: rows of join keys, time field and features are written online newer-wins (an older row
    never replaces a newer value; ``skipped`` counts those) and, when its source is a ``KafkaSource``, also
    produced to the topic first. Kafka-sourced ``AggregationView``: rows are raw events, checked as the stream
    checks them and produced; the stream workers compute the windows. Unknown view → 404; a view that cannot
    take pushes → 400; bad rows → 422 naming each row index and field; more than 10,000 rows → 413; Kafka or
    the online store unreachable → 503 (a failed produce leaves the online store untouched).
    """
    view = request.app.state.serving.views.get(body.view)
    if view is None:
        raise HTTPException(404, f"unknown feature view {body.view!r}")
    if len(body.rows) > MAX_ROWS:
        raise HTTPException(413, f"{len(body.rows)} rows in one push; at most {MAX_ROWS}: split them")
    store = request.app.state.store
    project = store.config.project
    try:
        plan = plan_push(view, body.rows, project)
    except TooManyRows as exc:
        raise HTTPException(413, str(exc)) from None
    except PushRefused as exc:
        raise HTTPException(400, str(exc)) from None
    except BadRows as exc:
        raise HTTPException(422, _validation_errors(exc)) from None
    producer = _producer(request) if plan.topic is not None and plan.messages else None
    try:
        result = execute_push(plan, store.online_writer, project, producer)
    except (ProduceFailed, OnlineWriteFailed) as exc:
        raise HTTPException(503, str(exc)) from None
    return PushResponse(view=result.view, rows=result.rows, written=result.written, skipped=result.skipped,
                        produced=result.produced, topic=result.topic)
