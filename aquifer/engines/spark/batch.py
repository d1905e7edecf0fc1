"""Incremental batch runs and backfills over the interval ledger.

``run`` computes, view by view upstream-first, only what the ledger says is missing up to ``end`` (default:
now), plus the view's lateness lookback (``allowed_lateness``, else ``batch.default_lateness``), widened
to whole UTC days (``aquifer.planning.plan_run``). For each batch: compute, swap the partitions in, and
only then add the batch to the ledger under the view's data fingerprint, so a killed run leaves the range
missing and the next run recomputes it (the swap replaces partitions, so there are no duplicates).
Ledger entries made under another fingerprint (the view or anything upstream changed) count as missing.

A view that fails (missing source, schema mismatch, transform error) is recorded as a failed run with the
error; its ledger is untouched, views downstream of it are skipped, independent views still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aquifer.engines.spark.graph import data_fingerprint, view_order
from aquifer.engines.spark.job import JobContext, run_range
from aquifer.engines.spark.summary import FAILED, SKIPPED, SUCCEEDED, UP_TO_DATE, RunSummary, ViewResult
from aquifer.planning import Interval, backfill_plan, parse_time, plan_run

log = logging.getLogger("aquifer.batch")

Progress = Callable[[str, dict[str, Any]], None]
"""``progress(event, info)``: events ``views`` (total), ``view`` (name, batches), ``batch`` (start, end),
``batch_done``, ``view_done`` (result); the CLI draws its progress bar from these."""

Planner = Callable[[Any, str, JobContext], list[Interval]]
"""``plan(view, data_fingerprint, ctx)``: the batches to compute for one view."""

MAX_SPAN = timedelta(days=31)
DEFAULT_SESSION_LOOKBACK = timedelta(days=7)


def _first_event_day(ctx: JobContext, view: Any) -> datetime | None:
    """UTC midnight before the earliest event of the sources under ``view`` (None when they hold no rows)."""
    from pyspark.sql import functions as F

    from aquifer.definitions import BatchSource, KafkaSource
    from aquifer.engines.spark.sources import read_source
    from aquifer.planning import DAY, floor_time

    firsts = []
    stack, seen = [view.name], set()
    while stack:
        d = ctx.definitions.get(stack.pop())
        if d is None or d.name in seen:
            continue
        seen.add(d.name)
        if isinstance(d, BatchSource | KafkaSource):
            value = read_source(ctx.spark, d, ctx.root).agg(F.min(d.timestamp_field)).first()[0]
            if value is not None:
                firsts.append(parse_time(value))
        else:
            stack.extend(d.declared_upstreams)
    return floor_time(min(firsts), DAY) if firsts else None


def _context(store: Any, now: datetime) -> JobContext:
    from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource
    from aquifer.definitions.durations import parse_duration
    from aquifer.engines.spark.session import spark_for

    config = store.config
    kinds = (BatchSource, KafkaSource, FeatureView, AggregationView)
    definitions = {d.name: d for d in store.repo.definitions if isinstance(d, kinds)}
    lookback = config.batch.get("session_lookback")
    return JobContext(
        spark=spark_for(config), root=config.root, offline_root=config.offline_path, project=config.project,
        definitions=definitions, run_time=now,
        session_lookback=parse_duration(lookback) if lookback else DEFAULT_SESSION_LOOKBACK,
    )


def _analysis(store: Any) -> Any:
    try:
        return store.analysis
    except ImportError:  # analysis package not installed: the engine falls back to its own graph rules
        return None


def _selected(store: Any, views: Iterable[str] | None) -> dict[str, Any]:
    available = store.views
    if views is None:
        return available
    unknown = [v for v in views if v not in available]
    if unknown:
        raise KeyError(f"unknown view(s): {', '.join(unknown)} (known: {', '.join(sorted(available)) or 'none'})")
    return {v: available[v] for v in views}


def _lookback(view: Any, store: Any) -> timedelta:
    return view.allowed_lateness if view.allowed_lateness is not None else store.config.default_lateness


def _repo_ok(store: Any) -> None:
    errors = list(store.repo.errors)
    if errors:
        raise ValueError(f"the repo has definition errors; first: {errors[0]}")


def run(store: Any, views: list[str] | None = None, *, end: Any = None, progress: Progress | None = None
        ) -> RunSummary:
    """Incremental run of ``views`` (default: all), computing what is missing up to ``end`` (default: now)."""
    _repo_ok(store)
    now = datetime.now(UTC)
    stop = parse_time(end) if end is not None else now
    start = parse_time(store.config.batch["start"])
    selected = _selected(store, views)

    def plan(view: Any, fingerprint: str, ctx: JobContext) -> list[Interval]:
        done = store.registry.intervals(store.config.project, view.name, kind="batch", data_fingerprint=fingerprint)
        done_iv = [Interval(s, e) for s, e in done]
        # never plan from batch.start through years of nothing: start at the data (or what is already done)
        lower = done_iv[0].start if done_iv else _first_event_day(ctx, view)
        if lower is None:
            return []
        begin = max(start, lower)
        return plan_run(done_iv, begin, stop, lookback=_lookback(view, store), now_end=now,
                        max_span=MAX_SPAN, lower=begin)

    return _execute(store, selected, plan, "batch", now, progress)


def backfill(store: Any, view: str, start: Any, end: Any, *, progress: Progress | None = None) -> RunSummary:
    """Forget ``[start, end)`` of one view (widened to whole days) and compute it again; idempotent."""
    _repo_ok(store)
    now = datetime.now(UTC)
    s, e = parse_time(start), parse_time(end)
    if e <= s:
        raise ValueError(f"backfill end {e.isoformat()} is not after its start {s.isoformat()}")
    selected = _selected(store, [view])
    plan_ = backfill_plan(s, e, now_end=now, max_span=MAX_SPAN)

    def plan(v: Any, fingerprint: str, ctx: JobContext) -> list[Interval]:
        if plan_ is None:
            return []
        store.registry.forget_intervals(store.config.project, v.name, plan_.forget.start, plan_.forget.end,
                                        kind="batch")
        return plan_.run

    return _execute(store, selected, plan, "backfill", now, progress)


def _execute(store: Any, selected: dict[str, Any], plan: Planner, kind: str,
             now: datetime, progress: Progress | None) -> RunSummary:
    notify = progress or (lambda event, info: None)
    for run_id in store.registry.abandon_dead_runs(store.config.project):
        log.warning("run %s was abandoned by a process that no longer exists; marked failed", run_id)
    analysis = _analysis(store)
    ctx = _context(store, now)
    order = view_order(store.views, analysis)
    names = [n for n in order if n in selected]
    summary = RunSummary()
    broken: dict[str, str] = {}  # view -> why it produced nothing this run
    notify("views", {"total": len(names)})
    for name in names:
        view = selected[name]
        failed_up = [up for up in _all_upstreams(name, store.views) if up in broken]
        if failed_up:
            why = f"skipped: upstream view {failed_up[0]!r} failed"
            broken[name] = why
            summary.views.append(ViewResult(name, SKIPPED, error=why))
            notify("view_done", {"result": summary.views[-1]})
            continue
        result = _run_view(store, ctx, view, plan, kind, data_fingerprint(view, ctx.definitions, analysis), notify)
        if result.status == FAILED:
            broken[name] = result.error or "failed"
        summary.views.append(result)
        notify("view_done", {"result": result})
    return summary


def _all_upstreams(name: str, views: dict[str, Any]) -> list[str]:
    out: list[str] = []
    stack = list(views[name].declared_upstreams)
    while stack:
        up = stack.pop()
        if up in views and up not in out:
            out.append(up)
            stack.extend(views[up].declared_upstreams)
    return out


def _run_view(store: Any, ctx: JobContext, view: Any, plan: Planner, kind: str,
              fingerprint: str, notify: Callable[[str, dict[str, Any]], None]) -> ViewResult:
    import time

    began = time.monotonic()
    registry, project = store.registry, store.config.project
    try:
        batches = plan(view, fingerprint, ctx)
    except Exception as exc:  # e.g. its source is missing while looking for the first event time
        error = _message(view.name, exc)
        log.warning("%s", error)
        registry.finish_run(registry.start_run(project, view.name, kind, None, None), status="failed", error=error)
        return ViewResult(view.name, FAILED, error=error, duration_s=time.monotonic() - began)
    notify("view", {"name": view.name, "batches": len(batches)})
    result = ViewResult(view.name, UP_TO_DATE if not batches else SUCCEEDED)
    for batch in batches:
        notify("batch", {"name": view.name, "start": batch.start, "end": batch.end})
        run_id = registry.start_run(project, view.name, kind, batch.start, batch.end)
        try:
            outcome = run_range(ctx, view, batch.start, batch.end)
        except Exception as exc:  # any failure of this view is recorded and reported, never raised
            error = _message(view.name, exc)
            log.warning("%s", error)
            registry.finish_run(run_id, status="failed", error=error)
            result.status, result.error = FAILED, error
            break
        registry.add_interval(project, view.name, batch.start, batch.end, kind="batch", data_fingerprint=fingerprint)
        outcome.run_id = run_id
        registry.finish_run(run_id, status="succeeded", rows_in=outcome.rows_in, rows_out=outcome.rows_out,
                            details=outcome.details)
        result.ranges.append(outcome)
        notify("batch_done", {"name": view.name, "result": outcome})
    result.duration_s = time.monotonic() - began
    return result


def _message(view: str, exc: BaseException) -> str:
    """One line naming the view and the cause (for a Python worker's traceback: its last line)."""
    from aquifer.engines.spark.sources import raised_message

    raised = raised_message(exc)
    if raised:
        return f"view {view!r}: {raised}"
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if text.endswith(":") and len(lines) > 1:
        cause = next((line for line in reversed(lines) if "Error" in line or "Exception" in line), lines[-1])
        text = f"{text} {cause}"
    return text if f"{view!r}" in text or view in text else f"view {view!r}: {text}"
