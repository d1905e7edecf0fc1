"""Write routes: ``POST /api/v1/apply`` (role ``admin``) and ``POST /api/v1/runs`` (role ``writer``).

Apply re-reads the server's feature repo from disk, refuses it with 422 listing every definition error, and
otherwise writes it to the registry (catalog hooks are told, as with ``aquifer apply``); the server then
serves the new definitions. A triggered batch run (``aquifer run``) runs in a background thread; 409 while one
started here is still running. ``POST /api/v1/materialize`` lives in ``materialize.py``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from aquifer.api.auth import require_key
from aquifer.api.models import ErrorResponse
from aquifer.api.trigger_models import ApplyChange, ApplyRequest, ApplyResponse, RunRequest, RunResponse
from aquifer.times import parse_time

router = APIRouter(tags=["runs"])
log = logging.getLogger("aquifer.api")
_APPLYING = threading.Lock()
_RUNNING = threading.Lock()
ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}}


def _changes(found: list[Any]) -> list[ApplyChange]:
    return [ApplyChange(kind=c.kind, name=c.name, old_version=c.old_version, new_version=c.new_version)
            for c in found]


@router.post("/api/v1/apply", response_model=ApplyResponse, summary="Apply the server's feature repo (admin)",
             responses={**ERRORS, 409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
             dependencies=[Depends(require_key(role="admin"))])
def apply_repo(request: Request, body: ApplyRequest | None = None) -> ApplyResponse:
    """Re-read the repo, then write its definitions to the registry (``dry_run``: only diff them)."""
    state = request.app.state
    store = state.store
    if not _APPLYING.acquire(blocking=False):
        raise HTTPException(409, "an apply is already running")
    try:
        store.reload()
        checked = store.plan()
        if checked.problems:
            listed = "; ".join(str(p) for p in checked.problems[:20])
            raise HTTPException(422, f"{len(checked.problems)} definition error(s); nothing was applied: {listed}")
        diff, applied, version = checked.diff, False, checked.diff.base_version
        if not (body and body.dry_run):
            result = store.apply()
            diff, applied, version = result.diff, True, result.version
            with contextlib.suppress(Exception):  # serving keeps the old definitions until the next refresh
                state.serving.refresh_if_applied()
    finally:
        _APPLYING.release()
    return ApplyResponse(project=store.config.project, applied=applied, version=version,
                         added=_changes(diff.added), removed=_changes(diff.removed),
                         changed_data=_changes(diff.changed_data), changed_meta=_changes(diff.changed_meta),
                         warnings=[str(w) for w in checked.warnings])


def _run(store: Any, views: list[str] | None, end: str | None) -> None:
    try:
        summary = store.run(views, end=end)
        if not summary.ok:
            log.warning("batch run triggered over HTTP: %s", "; ".join(v.error or v.view for v in summary.failed))
    except Exception:
        log.exception("batch run triggered over HTTP failed")
    finally:
        _RUNNING.release()


@router.post("/api/v1/runs", response_model=RunResponse, status_code=202,
             summary="Start an incremental batch run (writer)",
             responses={**ERRORS, 404: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
                        422: {"model": ErrorResponse}},
             dependencies=[Depends(require_key(role="writer"))])
def trigger_run(request: Request, body: RunRequest | None = None) -> RunResponse:
    """Run ``views`` (default: all) up to ``end`` in the background; 409 while a run started here is running."""
    state = request.app.state
    body = body or RunRequest()
    known = state.store.views
    unknown = [v for v in body.views or [] if v not in known]
    if unknown:
        raise HTTPException(404, f"unknown feature view {unknown[0]!r}")
    if body.end is not None:
        try:
            parse_time(body.end, "end")
        except (TypeError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
    if not _RUNNING.acquire(blocking=False):
        raise HTTPException(409, "a batch run started by this server is still running")
    thread = threading.Thread(target=_run, args=(state.store, body.views, body.end), daemon=True,
                              name="aquifer-triggered-run")
    thread.start()
    state.triggered = [*getattr(state, "triggered", []), thread]
    return RunResponse(status="started", kind="batch", views=body.views)
