"""Incremental batch runs and backfills over the interval ledger, on any ``BatchEngine``.

``run`` computes, view by view upstream-first, only what the ledger says is missing up to ``end`` (default:
now), plus the view's lateness lookback (``allowed_lateness``, else ``batch.default_lateness``), widened
to whole UTC days (``aquifer.planning.plan_run``). Each range runs the steps ``compute → check → write →
record interval``: listeners may veto a computed range (nothing is written), and the ledger moves only
after the write, so a killed run leaves the range missing and the next run recomputes it (writes replace
partitions, so there are no duplicates). Ledger entries made under another data fingerprint (the view or
anything upstream changed) count as missing.

``run`` of named views first brings their upstream views up to date (upstream closure, dependency order;
``only=True`` runs the named views alone). ``backfill`` of a view makes the same range stale in every view
downstream of it: ``cascade=True`` backfills them too, otherwise their ledgers forget the range. An
``AggregationView``'s backfill reaches past the range's end over what it carries into later rows
(``planning.carry``), so a backfill in the middle of history equals a full recompute.

A view that fails (missing source, schema mismatch, transform error, a veto) is recorded as a failed run
with the error; its ledger is untouched, views downstream of it are skipped, independent views still run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aquifer.definitions import AggregationView
from aquifer.engines.results import FAILED, SKIPPED, SUCCEEDED, UP_TO_DATE, RunSummary, ViewResult
from aquifer.planning import (
    DAY,
    BackfillPlan,
    Interval,
    align_to_days,
    backfill_plan,
    ceil_time,
    floor_time,
    normalize,
    parse_time,
    plan_run,
    subtract,
    union,
)
from aquifer.planning.carry import carry_reach
from aquifer.planning.empty import trim_empty
from aquifer.runs.engine import BatchEngine
from aquifer.runs.events import (
    BACKFILL,
    BATCH,
    RangeComputed,
    RangeFailed,
    RangeRecorded,
    RangeStarted,
    RangeWritten,
    RunFinished,
    RunStarted,
    ViewFinished,
    ViewStarted,
)
from aquifer.runs.listeners import Listeners
from aquifer.runs.quality import QualityListener
from aquifer.runs.recording import RegistryRecorder
from aquifer.runs.statistics import StatisticsRecorder
from aquifer.runs.steps import RunPlan, ViewPlan
from aquifer.stores.offline.layout import view_path
from aquifer.stores.offline.partitions import live_partitions

log = logging.getLogger("aquifer.batch")

MAX_SPAN = timedelta(days=31)
EMPTY = "+empty"
"""Suffix of the data fingerprint under which ranges without input rows are recorded (``planning.empty``):
they count as done only while the sources' footers still show no rows there."""

EngineFactory = Callable[[Any, datetime], BatchEngine]
"""``engine_for(store, now)``: the engine a run computes with (default: Spark)."""


def spark_engine(store: Any, now: datetime) -> BatchEngine:
    """The default engine: Spark, configured from ``aquifer.yaml``."""
    from aquifer.engines.spark.batch import SparkBatchEngine

    return SparkBatchEngine(store, now)


def plan_batch(store: Any, views: list[str] | None = None, *, end: Any = None, engine: BatchEngine | None = None,
               now: datetime | None = None, only: bool = False) -> RunPlan:
    """What ``run`` would compute: each selected view's missing ranges (nothing is computed or written).

    Named ``views`` bring their upstream views along (upstream closure), each planned for what it misses
    up to ``end``, so they run first, in dependency order; ``only=True`` plans the named views alone.
    """
    _repo_ok(store)
    now = now or datetime.now(UTC)
    stop = parse_time(end) if end is not None else now
    start = parse_time(store.config.batch["start"])
    engine = engine or spark_engine(store, now)
    plan = RunPlan(BATCH)
    selected = _selected(store, views)
    if views is not None and not only:
        selected = _selected(store, [*dict.fromkeys(up for v in views for up in _all_upstreams(v, store.views)),
                                     *views])
    for view in _ordered(store, selected):
        fingerprint = _fingerprint(store, view)
        try:
            extent = _extent(engine, view)
            done = store.registry.intervals(store.config.project, view.name, kind="batch",
                                            data_fingerprint=fingerprint)
            done_iv = [Interval(s, e) for s, e in done]
            if extent is not None:  # ranges recorded empty stay done while the footers still show no rows there
                empty = store.registry.intervals(store.config.project, view.name, kind="batch",
                                                 data_fingerprint=fingerprint + EMPTY)
                rows_at = align_to_days(extent)  # the days where rows now lie are missing again
                done_iv = union(done_iv, subtract([Interval(s, e) for s, e in empty], rows_at))
            # never plan from batch.start through years of nothing: start at the data (or what is already done)
            if done_iv:
                lower = done_iv[0].start
            elif extent is not None:
                lower = floor_time(extent[0].start, DAY) if extent else None
            else:
                lower = engine.first_event_day(view)
            ranges: list[Interval] = []
            if lower is not None:
                begin = max(start, lower)
                ranges = plan_run(done_iv, begin, stop, lookback=_lookback(view, store), now_end=now,
                                  max_span=MAX_SPAN, lower=begin)
            skipped: list[Interval] = []
            if extent is not None and ranges:
                ranges, skipped = trim_empty(ranges, [*extent, *_offline_days(store, view)])
        except Exception as exc:  # e.g. its source is missing while looking for the first event time
            plan.views.append(ViewPlan(view, BATCH, fingerprint=fingerprint, engine=engine.name,
                                       error=_message(view.name, exc, engine)))
            continue
        plan.views.append(ViewPlan(view, BATCH, tuple((r.start, r.end) for r in ranges), fingerprint=fingerprint,
                                   engine=engine.name, note=None if lower is not None else "no source rows yet",
                                   empty=tuple((r.start, r.end) for r in skipped)))
    return plan


def _extent(engine: BatchEngine, view: Any) -> list[Interval] | None:
    """Where the view's inputs have rows (``BatchEngine.data_extent``); None when unknown or not offered."""
    find = getattr(engine, "data_extent", None)
    found = find(view) if find is not None else None
    return None if found is None else normalize(Interval(s, e) for s, e in found)


def _offline_days(store: Any, view: Any) -> list[Interval]:
    """The UTC days the view already holds rows for: a range over them is computed (to rewrite them)."""
    folder = view_path(store.config.offline_path, store.config.project, view.name)
    return normalize(Interval(d, d + DAY) for d in (
        datetime(day.year, day.month, day.day, tzinfo=UTC) for day, _ in live_partitions(folder)))


def plan_backfill(store: Any, view: str, start: Any, end: Any, *, engine_name: str = "spark",
                  now: datetime | None = None, cascade: bool = False, engine: BatchEngine | None = None) -> RunPlan:
    """What ``backfill`` would do: forget ``[start, end)`` (widened to whole days), then compute it again.

    An ``AggregationView``'s range is widened forward over what it carries into later rows (windows, closing
    rows and sessions crossing its end, carried values; ``planning.carry``), decided from the data with
    ``engine`` (default: Spark), so the result equals a full recompute. ``cascade=True`` does the same, after
    it, for every view downstream of ``view`` (dependency order), from the end its upstreams reached.
    """
    _repo_ok(store)
    now = now or datetime.now(UTC)
    s, e = parse_time(start), parse_time(end)
    if e <= s:
        raise ValueError(f"backfill end {e.isoformat()} is not after its start {s.isoformat()}")
    (target,) = _selected(store, [view]).values()
    found = backfill_plan(s, e, now_end=now, max_span=MAX_SPAN)
    plan = RunPlan(BACKFILL)
    targets = [target, *(downstream_views(store, view) if cascade else [])]
    if found is None:
        plan.views += [ViewPlan(v, BACKFILL, engine=engine_name, note="nothing to backfill before now")
                       for v in targets]
        return plan
    for v, widened, note in _reaches(store, targets, s, found.forget.end, {}, engine, now):
        plan.views.append(ViewPlan(v, BACKFILL, tuple((r.start, r.end) for r in widened.run),
                                   fingerprint=_fingerprint(store, v), engine=engine_name,
                                   forget=(widened.forget.start, widened.forget.end), note=note))
    return plan


def _reaches(store: Any, views: list[Any], start: datetime, asked: datetime, reached: dict[str, datetime],
             engine: BatchEngine | None, now: datetime) -> list[tuple[Any, BackfillPlan, str | None]]:
    """Each of ``views`` (upstream-first) with the backfill it needs after ``[start, asked)`` changed: from
    ``start`` to the latest end its upstreams reach (``reached``, filled in as it goes), widened for an
    ``AggregationView`` over what that carries into later rows; and a note saying why when widened."""
    out = []
    for v in views:
        ups = [u for u in _all_upstreams(v.name, store.views) if u in reached]
        stop = max([asked, *(reached[u] for u in ups)])
        note = f"widened to {stop:%Y-%m-%d %H:%M}, as far as its upstream {ups[0]} is backfilled" if stop > asked \
            else None
        if isinstance(v, AggregationView):
            engine = engine or spark_engine(store, now)
            stop, why = _carry_end(store, v, stop, engine, now)
            if why:
                note = f"widened to {stop:%Y-%m-%d %H:%M} (asked: {asked:%Y-%m-%d %H:%M}), as {why}"
        widened = backfill_plan(start, stop, now_end=now, max_span=MAX_SPAN)
        assert widened is not None  # stop >= asked, and [start, asked) was not empty
        reached[v.name] = widened.forget.end
        out.append((v, widened, note))
    return out


def _carry_end(store: Any, view: Any, end: datetime, engine: BatchEngine, now: datetime) -> tuple[datetime, str]:
    """Where a backfill of ``view`` ending at ``end`` must stop (``planning.carry``) and why, in words ("" when
    not widened): never past the view's ledger (no rows lie beyond it) nor ``now``."""
    done = store.registry.intervals(store.config.project, view.name, kind="batch")
    limit = min(max([end, *(e for _, e in done)]), now)
    find = getattr(engine, "carry_end", None)
    if limit <= end or find is None:
        return end, ""
    widened = ceil_time(find(view, end, limit), DAY)
    if widened <= end:
        return end, ""
    why = carry_reach(view).describe()
    return widened, f"rows after the range depend on it ({why})"


def downstream_views(store: Any, view: str) -> list[Any]:
    """Every view that reads ``view``, directly or through other views, upstream-first."""
    views = store.views
    return _ordered(store, {n: v for n, v in views.items() if n != view and view in _all_upstreams(n, views)})


def run(store: Any, views: list[str] | None = None, *, end: Any = None, listeners: Iterable[object] = (),
        engine_for: EngineFactory = spark_engine, only: bool = False) -> RunSummary:
    """Incremental run of ``views`` (default: all) and, unless ``only``, of their upstream views first,
    computing what is missing up to ``end`` (default: now)."""
    now = datetime.now(UTC)
    engine = engine_for(store, now)
    return execute(store, plan_batch(store, views, end=end, engine=engine, now=now, only=only), engine, listeners)


def backfill(store: Any, view: str, start: Any, end: Any, *, listeners: Iterable[object] = (),
             engine_for: EngineFactory = spark_engine, cascade: bool = False) -> RunSummary:
    """Forget ``[start, end)`` of one view (widened to whole days) and compute it again; idempotent.

    The views downstream of it read what changed: with ``cascade`` they are backfilled over the same range
    right after it; otherwise, once the view succeeded, that range is forgotten from their ledgers (so the
    next ``run`` recomputes it) and listed in ``summary.invalidated``.
    """
    now = datetime.now(UTC)
    engine = engine_for(store, now)
    plan = plan_backfill(store, view, start, end, engine_name=engine.name, now=now, cascade=cascade, engine=engine)
    summary = execute(store, plan, engine, listeners)
    summary.widened = [(vp.name, *vp.forget, vp.note) for vp in plan.views if vp.forget and vp.note]
    forget = plan.views[0].forget
    if not cascade and forget is not None and summary[view].status == SUCCEEDED:
        # each downstream view forgets what its upstreams' rewrite reaches, widened by its own carry
        for down, widened, _ in _reaches(store, downstream_views(store, view), forget[0], forget[1],
                                         {view: forget[1]}, engine, now):
            s, e = widened.forget.start, widened.forget.end
            store.registry.forget_intervals(store.config.project, down.name, s, e, kind="batch")
            summary.invalidated.append((down.name, s, e))
    return summary


def execute(store: Any, plan: RunPlan, engine: BatchEngine, listeners: Iterable[object] = ()) -> RunSummary:
    """Run a plan's steps with ``engine``; run records are kept by a ``RegistryRecorder`` listener."""
    registry, project, listeners = store.registry, store.config.project, list(listeners)
    bus = Listeners([RegistryRecorder(registry, project), StatisticsRecorder(registry, project),
                     QualityListener(store, listeners), *listeners])
    for run_id in registry.abandon_dead_runs(project):
        log.warning("run %s was abandoned by a process that no longer exists; marked failed", run_id)
    summary = RunSummary()
    broken: dict[str, str] = {}  # view -> why it produced nothing this run
    bus.emit(RunStarted(plan.kind, tuple(vp.name for vp in plan.views)))
    for vp in plan.views:
        failed_up = [up for up in _all_upstreams(vp.name, store.views) if up in broken]
        if failed_up:
            result = ViewResult(vp.name, SKIPPED, error=f"skipped: upstream view {failed_up[0]!r} failed")
        else:
            result = _run_view(store, vp, engine, bus)
        if result.status in (FAILED, SKIPPED):
            broken[vp.name] = result.error or result.status
        summary.views.append(result)
        bus.emit(ViewFinished(plan.kind, result))
    bus.emit(RunFinished(plan.kind, summary))
    return summary


def _run_view(store: Any, vp: ViewPlan, engine: BatchEngine, bus: Listeners) -> ViewResult:
    began = time.monotonic()
    registry, project, name = store.registry, store.config.project, vp.name
    if vp.error:
        log.warning("%s", vp.error)
        bus.emit(RangeFailed(name, vp.kind, None, None, vp.error))
        return ViewResult(name, FAILED, error=vp.error, duration_s=time.monotonic() - began)
    bus.emit(ViewStarted(name, vp.kind, vp.ranges))
    if vp.forget:
        registry.forget_intervals(project, name, vp.forget[0], vp.forget[1], kind="batch")
    result = ViewResult(name, UP_TO_DATE if not vp.ranges else SUCCEEDED)
    checks = bus.row_checks(vp.view) if vp.ranges else []
    for start, end in vp.ranges:
        bus.emit(RangeStarted(name, vp.kind, start, end))
        try:
            computed = engine.compute_range(vp.view, start, end, checks) if checks else \
                engine.compute_range(vp.view, start, end)
            try:
                veto = bus.check(RangeComputed(name, vp.kind, start, end, computed))
                if veto is not None:
                    raise RangeVetoed(f"view {name!r}: range {start:%Y-%m-%d}..{end:%Y-%m-%d} {veto}", veto.listener)
                outcome = engine.write_range(computed)
            finally:
                computed.release()
        except Exception as exc:  # any failure of this view is recorded and reported, never raised
            error = _message(name, exc, engine)
            log.warning("%s", error)
            bus.emit(RangeFailed(name, vp.kind, start, end, error, getattr(exc, "listener", None)))
            result.status, result.error = FAILED, error
            break
        bus.emit(RangeWritten(name, vp.kind, outcome))
        registry.add_interval(project, name, start, end, kind="batch", data_fingerprint=vp.fingerprint)
        bus.emit(RangeRecorded(name, vp.kind, outcome, vp.fingerprint))
        result.ranges.append(outcome)
    if result.status != FAILED:  # a failed view leaves its ledger as it was, empty ranges included
        for start, end in vp.empty:  # no input rows there: done without computing, under the "empty" mark
            registry.add_interval(project, name, start, end, kind="batch",
                                  data_fingerprint=f"{vp.fingerprint}{EMPTY}")
        if vp.empty:
            log.info("view %s: %d ranges without input rows recorded as done, not computed", name, len(vp.empty))
    result.duration_s = time.monotonic() - began
    return result


class RangeVetoed(RuntimeError):
    """A listener refused a computed range; ``listener`` names it."""

    def __init__(self, message: str, listener: str):
        super().__init__(message)
        self.listener = listener


def _repo_ok(store: Any) -> None:
    errors = list(store.repo.errors)
    if errors:
        raise ValueError(f"the repo has definition errors; first: {errors[0]}")


def _selected(store: Any, views: Iterable[str] | None) -> dict[str, Any]:
    available = store.views
    if views is None:
        return available
    unknown = [v for v in views if v not in available]
    if unknown:
        raise KeyError(f"unknown view(s): {', '.join(unknown)} (known: {', '.join(sorted(available)) or 'none'})")
    return {v: available[v] for v in views}


def _ordered(store: Any, selected: dict[str, Any]) -> list[Any]:
    """``selected`` views upstream-first (the analysis's order)."""
    order = list(store.analysis.order or [])
    names = [n for n in order if n in selected] + [n for n in selected if n not in order]
    return [selected[n] for n in names]


def _fingerprint(store: Any, view: Any) -> str:
    return store.analysis.fingerprints[(view.kind, view.name)].data


def _lookback(view: Any, store: Any) -> timedelta:
    return view.allowed_lateness if view.allowed_lateness is not None else store.config.default_lateness


def _all_upstreams(name: str, views: dict[str, Any]) -> list[str]:
    out: list[str] = []
    stack = list(views[name].declared_upstreams)
    while stack:
        up = stack.pop()
        if up in views and up not in out:
            out.append(up)
            stack.extend(views[up].declared_upstreams)
    return out


def _message(view: str, exc: BaseException, engine: BatchEngine) -> str:
    """One line naming the view and the cause (for a Python worker's traceback: its last line)."""
    known = engine.explain(exc)
    if known:
        return f"view {view!r}: {known}"
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if text.endswith(":") and len(lines) > 1:
        cause = next((line for line in reversed(lines) if "Error" in line or "Exception" in line), lines[-1])
        text = f"{text} {cause}"
    return text if f"{view!r}" in text or view in text else f"view {view!r}: {text}"
