"""Materialization: each entity's latest row (within TTL as of ``end``) from the offline store to Redis.

Incremental: the registry ledger (kind ``materialize``) records the event-time ranges already pushed;
a run reads only ``[start, end)`` where ``start`` is the ledger's end minus the view's lateness (late
rows of the last range are re-read) and never earlier than ``end - ttl``. When the view's batch ledger
is non-empty, ``end`` is capped at what the batch pipeline has computed; with an availability delay
(``definitions.availability``) at ``end - delay``, so a row is pushed only once it was usable.
Re-reading is harmless: writes are newer-wins, so a repeated or out-of-order push never replaces a newer
value. ``full=True`` re-pushes the whole TTL window (after a backfill rewrote history).

Each view runs the steps ``push online → record interval``; the engine (``engine=`` > ``offline_engine``
in aquifer.yaml; ``auto`` takes DuckDB when Spark's master is local and the range's Parquet fits in
memory, ``planning.engine_choice``) reads the latest rows and pushes them (``engines.materialize``).
Run records and progress are listeners of the same events as batch runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aquifer.config import OFFLINE_ENGINES
from aquifer.definitions import AggregationView, Entity, FeatureService, FeatureView
from aquifer.definitions.availability import availability_delay
from aquifer.engines.results import FAILED, SUCCEEDED, UP_TO_DATE, ViewResult
from aquifer.planning.engine_choice import fits_in_memory, local_master
from aquifer.runs.events import (
    MATERIALIZE,
    RangeFailed,
    RangeStarted,
    RunFinished,
    RunStarted,
    ViewFinished,
    ViewPushed,
    ViewStarted,
)
from aquifer.runs.listeners import Listeners
from aquifer.runs.recording import RegistryRecorder
from aquifer.runs.statistics import StatisticsRecorder
from aquifer.runs.steps import PUSH_STEPS, RunPlan, ViewPlan
from aquifer.stores.offline.layout import view_path
from aquifer.stores.offline.sizing import parquet_bytes
from aquifer.stores.online.interface import OnlineStore, open_online_store
from aquifer.stores.online.keys import entity_group
from aquifer.times import parse_time


@dataclass(frozen=True)
class MaterializeReport:
    """One view's materialization: the range read, entities pushed and values actually written."""

    view: str
    start: datetime | None
    end: datetime
    entities: int = 0
    written: int = 0
    seconds: float = 0.0
    skipped: str | None = None  # why nothing ran (up to date, no data)
    engine: str | None = None  # which engine read the offline store ("spark", "duckdb")


def to_end(end: Any) -> datetime:
    """``end`` as an aware UTC datetime: None → now; ISO string, naive or pandas time → UTC."""
    return datetime.now(UTC) if end is None else parse_time(end)


def materialize_range(
    done: Sequence[tuple[datetime, datetime]],
    end: datetime,
    *,
    ttl: timedelta | None,
    lateness: timedelta,
    floor: datetime,
    computed_until: datetime | None = None,
    delay: timedelta = timedelta(0),
) -> tuple[datetime, datetime] | None:
    """The ``[start, end)`` a run must read (None when up to date); pure, see the module docstring.

    ``delay`` (the view's availability delay) keeps rows with ``event_ts + delay > end`` out: they were not
    usable yet at ``end``, so they are left for a later run. The TTL still counts back from ``end``.
    """
    if computed_until is not None:
        end = min(end, computed_until)
    lower = end - ttl if ttl is not None else floor
    end = end - delay
    start = lower
    if done:
        last = max(e for _, e in done)
        if last >= end:
            return None
        start = max(lower, last - lateness)
    return (start, end) if start < end else None


def plan_materialize(store: Any, views: Sequence[str] | None = None, end: Any = None, *, full: bool = False,
                     engine: str | None = None) -> RunPlan:
    """What ``materialize`` would push: per view its range and engine (nothing is read or written)."""
    config, registry, end_dt = store.config, store.registry, to_end(end)
    choice = engine or config.offline_engine
    if choice not in OFFLINE_ENGINES:
        raise ValueError(f"unknown engine {choice!r}; use one of {', '.join(OFFLINE_ENGINES)}")
    plan = RunPlan(MATERIALIZE)
    definitions = {d.name: d for d in store.repo.definitions if not isinstance(d, Entity | FeatureService)}
    for view in _select(store.views, views):
        done = [] if full else registry.intervals(config.project, view.name, kind="materialize")
        batch = registry.intervals(config.project, view.name, kind="batch")
        span = materialize_range(
            done, end_dt, ttl=view.ttl, lateness=view.allowed_lateness or config.default_lateness,
            floor=to_end(config.batch["start"]), computed_until=max((e for _, e in batch), default=None),
            delay=availability_delay(view, definitions),
        )
        if span is None:
            plan.views.append(ViewPlan(view, MATERIALIZE, steps=PUSH_STEPS, note="up to date"))
            continue
        path = view_path(config.offline_path, config.project, view.name)
        plan.views.append(ViewPlan(view, MATERIALIZE, (span,), steps=PUSH_STEPS,
                                   engine=choose_engine(config, choice, path, span[0])))
    return plan


def materialize(
    store: Any, views: Sequence[str] | None = None, end: Any = None, *, full: bool = False, progress: bool = True,
    engine: str | None = None, listeners: Iterable[object] = (), online: OnlineStore | None = None,
) -> list[MaterializeReport]:
    """Materialize ``views`` (default: every online view) up to ``end``; one run record per view.

    ``engine``: ``"auto"``, ``"spark"`` or ``"duckdb"`` (default: ``offline_engine`` in aquifer.yaml).
    ``online``: a long-lived writer (``FeatureStore.online_writer``); else one is opened for this call.
    """
    plan = plan_materialize(store, views, end, full=full, engine=engine)
    extra = list(listeners)
    bar = None
    if progress:
        from aquifer.runs.progress import RichProgress

        bar = RichProgress.start()
        extra.append(bar)
    runs = RegistryRecorder(store.registry, store.config.project)
    bus = Listeners([runs, StatisticsRecorder(store.registry, store.config.project, runs=runs), *extra])
    own = online is None
    writer = open_online_store(store.config.online_store, writer=True) if online is None else online
    reports: list[MaterializeReport] = []
    bus.emit(RunStarted(MATERIALIZE, tuple(vp.name for vp in plan.views)))
    try:
        for vp in plan.views:
            reports.append(_push_view(store, writer, vp, bus, to_end(end)))
    finally:
        if own:
            writer.close()
        if bar is not None:
            bar.stop()
    bus.emit(RunFinished(MATERIALIZE))
    return reports


def _push_view(store: Any, online: OnlineStore, vp: ViewPlan, bus: Listeners, end: datetime) -> MaterializeReport:
    from aquifer.engines.materialize import push_latest

    config, registry, project, name = store.config, store.registry, store.config.project, vp.name
    if not vp.ranges:
        bus.emit(ViewFinished(MATERIALIZE, ViewResult(name, UP_TO_DATE)))
        return MaterializeReport(name, None, end, skipped="up to date")
    ((start, stop),) = vp.ranges
    engine = vp.engine or "spark"
    path = view_path(config.offline_path, project, name)
    bus.emit(ViewStarted(name, MATERIALIZE, vp.ranges))
    bus.emit(RangeStarted(name, MATERIALIZE, start, stop))
    began = time.perf_counter()
    try:
        entities, written, newest, statistics = (0, 0, 0, None) if not path.exists() else push_latest(
            store, vp.view, path, start, stop, engine, online
        )
        if newest:
            online.record_newest(project, {name: newest})
        registry.add_interval(project, name, start, stop, kind="materialize")  # the ledger goes last
    except BaseException as exc:
        bus.emit(RangeFailed(name, MATERIALIZE, start, stop, f"{type(exc).__name__}: {exc}"))
        bus.emit(ViewFinished(MATERIALIZE, ViewResult(name, FAILED, error=str(exc))))
        raise
    seconds = time.perf_counter() - began
    bus.emit(ViewPushed(name, start, stop, entities, written, newest, engine, seconds, statistics))
    bus.emit(ViewFinished(MATERIALIZE, ViewResult(name, SUCCEEDED, duration_s=seconds)))
    return MaterializeReport(name, start, stop, entities, written, seconds,
                             None if path.exists() else "no offline data", engine)


def choose_engine(config: Any, choice: str, path: Path, start: datetime) -> str:
    """``choice`` unless ``auto``: then DuckDB when Spark is local and the range's Parquet fits in memory."""
    if choice != "auto":
        return choice
    if not local_master(config.spark.get("master")):
        return "spark"
    since = (start - timedelta(days=1)).date()
    return "duckdb" if fits_in_memory(parquet_bytes(path, since)) else "spark"


def _select(defined: dict[str, Any], names: Sequence[str] | None) -> list[FeatureView | AggregationView]:
    if not names:
        return [v for v in defined.values() if v.online]
    unknown = [n for n in names if n not in defined]
    if unknown:
        raise KeyError(f"unknown feature view {unknown[0]!r} (known: {', '.join(sorted(defined))})")
    return [defined[n] for n in names]


def clean_view(store: Any, view: str, *, entity_group_name: str | None = None, batch: int = 1000) -> int:
    """Remove a view's values from the online store (SCAN + HDEL in batches) and forget its ledger.

    The view may already be gone from the repo: then every entity group of the project is scanned
    unless ``entity_group_name`` (e.g. ``user``) narrows it. Returns how many entity hashes held it.
    """
    defined = store.views.get(view)
    group = entity_group_name or (entity_group(defined).name if defined is not None else None)
    online = open_online_store(store.config.online_store, writer=True)
    try:
        removed = online.clean_view(store.config.project, view, group=group, batch=batch)
    finally:
        online.close()
    store.registry.forget_intervals(store.config.project, view, kind="materialize")
    return removed
