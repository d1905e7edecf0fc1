"""Wires the catalog hooks (``aquifer.catalog``) to apply and to runs: a run listener translating run events into
``RunNotice``s, and the notice of an apply. ``runs`` never imports ``catalog``; this is where they meet."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aquifer.catalog import COMPLETE, FAIL, START, ApplyNotice, Describer, Hooks, RunNotice
from aquifer.runs.events import RangeFailed, RangeRecorded, RunEvent, ViewFinished, ViewPushed, ViewStarted

_DONE = ("succeeded", "up_to_date")


class CatalogListener:
    """Tells ``hooks`` when each view of a run starts (with ranges to do), completes or fails."""

    def __init__(self, store: Any, hooks: Hooks):
        self.store, self.hooks = store, hooks
        self._open: dict[str, dict[str, Any]] = {}

    def on_event(self, event: RunEvent) -> None:
        """Translate one run event; hooks contain their own failures, so this never raises for them."""
        if isinstance(event, ViewStarted):
            if event.ranges:
                self._start(event.view, event.kind, tuple(event.ranges))
        elif isinstance(event, RangeRecorded):
            state = self._open.get(event.view)
            if state is not None:
                state["rows_in"] += event.result.rows_in
                state["rows_out"] += event.result.rows_out
                if event.result.run_id is not None:
                    state["run_ids"].append(event.result.run_id)
        elif isinstance(event, ViewPushed):
            state = self._open.get(event.view)
            if state is not None:
                state["rows_in"] += event.entities
                state["rows_out"] += event.written
        elif isinstance(event, RangeFailed):
            state = self._open.get(event.view) or self._start(event.view, event.kind, ())
            state["error"] = event.error
        elif isinstance(event, ViewFinished):
            state = self._open.pop(event.result.view, None)
            if state is None:
                return  # up to date with nothing to do, or skipped because an upstream failed: no run
            ok = event.result.status in _DONE
            self._notice(event.result.view, state, COMPLETE if ok else FAIL,
                         error=None if ok else (event.result.error or state.get("error")))

    def _start(self, view: str, kind: str, ranges: tuple[Any, ...]) -> dict[str, Any]:
        state = {"run_id": str(uuid.uuid4()), "kind": kind, "ranges": ranges, "rows_in": 0, "rows_out": 0,
                 "run_ids": [], "error": None}
        self._open[view] = state
        self._notice(view, state, START)
        return state

    def _notice(self, view: str, state: dict[str, Any], status: str, error: str | None = None) -> None:
        done = status != START
        self.hooks.run(RunNotice(
            run_id=state["run_id"], project=self.store.config.project, view=view, kind=state["kind"], state=status,
            at=datetime.now(UTC), describer=describer(self.store), ranges=state["ranges"],
            rows_in=state["rows_in"] if done else None, rows_out=state["rows_out"] if done else None, error=error,
            registry_run_ids=tuple(state["run_ids"]),
        ))


class CatalogStreamListener:
    """Tells ``hooks`` when a stream worker starts (START per view, kind ``stream``) and stops (COMPLETE, or FAIL
    with the error): a ``StreamListener`` of ``aquifer.engines.stream``, duck-typed."""

    def __init__(self, store: Any, hooks: Hooks):
        self.store, self.hooks = store, hooks
        self._runs: dict[str, str] = {}

    def stream_started(self, worker: Any) -> None:
        """One START per streamed view."""
        for stream in worker.streams:
            self._runs[stream.view.name] = str(uuid.uuid4())
            self._notice(stream, START)

    def stream_checkpoint(self, worker: Any) -> None:
        """Checkpoints are not runs of their own: nothing to tell."""

    def stream_stopped(self, worker: Any, error: str | None) -> None:
        """COMPLETE (stopped cleanly) or FAIL per view, with its events consumed and values written."""
        for stream in worker.streams:
            if stream.view.name in self._runs:
                self._notice(stream, COMPLETE if error is None else FAIL, error)

    def _notice(self, stream: Any, status: str, error: str | None = None) -> None:
        done = status != START
        counts = stream.counts
        self.hooks.run(RunNotice(
            run_id=self._runs[stream.view.name], project=self.store.config.project, view=stream.view.name,
            kind="stream", state=status, at=datetime.now(UTC), describer=describer(self.store),
            rows_in=counts["events"] if done else None, rows_out=counts["values_written"] if done else None,
            error=error,
        ))


def stream_listeners(store: Any) -> list[CatalogStreamListener]:
    """A stream listener for the store's hooks, or none when ``catalog.hooks`` is empty."""
    hooks = store.catalog_hooks
    return [CatalogStreamListener(store, hooks)] if hooks else []


def describer(store: Any) -> Describer:
    """The store's ``Describer`` (one per loaded repo)."""
    found = store.__dict__.get("_catalog_describer")
    if found is None:
        found = store.__dict__["_catalog_describer"] = Describer(store.analysis, store.config)
    return found


def listeners(store: Any) -> list[CatalogListener]:
    """A run listener for the store's hooks, or none when ``catalog.hooks`` is empty."""
    hooks = store.catalog_hooks
    return [CatalogListener(store, hooks)] if hooks else []


def notify_apply(store: Any, result: Any) -> None:
    """Tell the store's hooks that ``result`` (an ``ApplyResult``) was applied."""
    hooks = store.catalog_hooks
    if not hooks:
        return
    diff = result.diff
    changes = {"added": tuple(c.name for c in diff.added), "removed": tuple(c.name for c in diff.removed),
               "changed": tuple(c.name for c in [*diff.changed_data, *diff.changed_meta])}
    hooks.applied(ApplyNotice(project=result.project, version=result.version, applied_at=result.applied_at,
                              applied_by=result.applied_by, describer=describer(store), changes=changes))
