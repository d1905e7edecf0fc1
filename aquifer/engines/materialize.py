"""Materialization: each entity's latest row (within TTL as of ``end``) from the offline store to Redis.

Incremental: the registry ledger (kind ``materialize``) records the event-time ranges already pushed;
a run reads only ``[start, end)`` where ``start`` is the ledger's end minus the view's lateness (late
rows of the last range are re-read) and never earlier than ``end - ttl``. When the view's batch ledger
is non-empty, ``end`` is capped at what the batch pipeline has computed. Re-reading is harmless: writes
are newer-wins, so a repeated or out-of-order push never replaces a newer value. ``full=True`` re-pushes
the whole TTL window (after a backfill rewrote history).

Each entity's latest row comes from one of two engines (``engine=`` > ``offline_engine`` in
aquifer.yaml; ``auto`` takes DuckDB when Spark's master is local and the range's Parquet fits in
memory, as ``engines/local`` measures it): DuckDB in this process (``engines/duckdb/latest``: no Spark
job to start, which dominates small runs), or Spark (``engines/spark/materialize``: partitions write in
parallel, and the cluster scales past one machine). Both hand Arrow batches to a ``LatestWriter``,
which encodes them with numpy straight into RESP newer-wins calls (``frames.pack_batch``) and writes
them in pipelined batches through its own Redis connection. On a single Redis node one script call
writes 100 keys (``NEWER_WINS_COLUMN``, twice the throughput of a call per key); on a Redis Cluster,
where a script's keys must share a slot, every key gets its own pipelined call
(``RedisOnlineStore.keys_per_call``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aquifer.config import OFFLINE_ENGINES
from aquifer.definitions import AggregationView, FeatureView, Field
from aquifer.engines import local
from aquifer.stores.offline.layout import view_path
from aquifer.stores.online.keys import EntityGroup, entity_group

BATCH_SIZE = 2000  # entity keys per pipelined write


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
    """``end`` as an aware UTC datetime: None → now; ISO string or naive datetime → UTC."""
    if end is None:
        return datetime.now(UTC)
    if isinstance(end, str):
        end = datetime.fromisoformat(end.replace("Z", "+00:00"))
    if hasattr(end, "to_pydatetime"):
        end = end.to_pydatetime()
    return end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)


def materialize_range(
    done: Sequence[tuple[datetime, datetime]],
    end: datetime,
    *,
    ttl: timedelta | None,
    lateness: timedelta,
    floor: datetime,
    computed_until: datetime | None = None,
) -> tuple[datetime, datetime] | None:
    """The ``[start, end)`` a run must read (None when up to date); pure, see the module docstring."""
    if computed_until is not None:
        end = min(end, computed_until)
    lower = end - ttl if ttl is not None else floor
    start = lower
    if done:
        last = max(e for _, e in done)
        if last >= end:
            return None
        start = max(lower, last - lateness)
    return (start, end) if start < end else None


def materialize(
    store: Any, views: Sequence[str] | None = None, end: Any = None, *, full: bool = False, progress: bool = True,
    engine: str | None = None,
) -> list[MaterializeReport]:
    """Materialize ``views`` (default: every online view) up to ``end``; one run record per view.

    ``engine``: ``"auto"``, ``"spark"`` or ``"duckdb"`` (default: ``offline_engine`` in aquifer.yaml).
    """
    from aquifer.stores.online.redis_store import RedisOnlineStore

    config, registry, end_dt = store.config, store.registry, to_end(end)
    choice = engine or config.offline_engine
    if choice not in OFFLINE_ENGINES:
        raise ValueError(f"unknown engine {choice!r}; use one of {', '.join(OFFLINE_ENGINES)}")
    targets = _select(store.views, views)
    online = RedisOnlineStore.from_config(config.online_store)
    reports: list[MaterializeReport] = []
    with _progress(progress) as bar:
        task = bar.add_task("materialize", total=len(targets)) if bar else None
        try:
            for view in targets:
                if bar:
                    bar.update(task, description=f"materialize {view.name}")
                reports.append(_materialize_view(store, registry, online, view, end_dt, full, choice))
                if bar:
                    bar.advance(task)
        finally:
            online.close()
    return reports


def _select(defined: dict[str, Any], names: Sequence[str] | None) -> list[FeatureView | AggregationView]:
    if not names:
        return [v for v in defined.values() if v.online]
    unknown = [n for n in names if n not in defined]
    if unknown:
        raise KeyError(f"unknown feature view {unknown[0]!r} (known: {', '.join(sorted(defined))})")
    return [defined[n] for n in names]


def _materialize_view(
    store: Any, registry: Any, online: Any, view: Any, end: datetime, full: bool, engine: str
) -> MaterializeReport:
    config, project = store.config, store.config.project
    done = [] if full else registry.intervals(project, view.name, kind="materialize")
    batch = registry.intervals(project, view.name, kind="batch")
    span = materialize_range(
        done, end, ttl=view.ttl, lateness=view.allowed_lateness or config.default_lateness,
        floor=to_end(config.batch["start"]), computed_until=max((e for _, e in batch), default=None),
    )
    if span is None:
        return MaterializeReport(view.name, None, end, skipped="up to date")
    start, stop = span
    path = view_path(config.offline_path, project, view.name)
    engine = _engine(config, engine, path, start)
    run_id = registry.start_run(project, view.name, "materialize", start, stop)
    began = time.perf_counter()
    try:
        entities, written, newest = (0, 0, 0) if not path.exists() else push_latest(
            store, view, path, start, stop, engine
        )
        if newest:
            online.record_newest(project, {view.name: newest})
        registry.add_interval(project, view.name, start, stop, kind="materialize")  # the ledger goes last
        seconds = time.perf_counter() - began
        registry.finish_run(run_id, status="succeeded", rows_in=entities, rows_out=written,
                            details={"entities": entities, "written": written, "seconds": round(seconds, 3),
                                     "engine": engine})
    except BaseException as exc:
        registry.finish_run(run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    return MaterializeReport(view.name, start, stop, entities, written, seconds,
                             None if path.exists() else "no offline data", engine)


def _engine(config: Any, choice: str, path: Path, start: datetime) -> str:
    if choice != "auto":
        return choice
    if not local.local_master(config):
        return "spark"
    since = (start - timedelta(days=1)).date()
    return "duckdb" if local.fits_in_memory(local.parquet_bytes(path, since)) else "spark"


def push_latest(store: Any, view: Any, path: Path, start: datetime, end: datetime,
                engine: str = "spark") -> tuple[int, int, int]:
    """Push each entity's latest row with ``start <= event_ts < end``; ``(entities, written, newest µs)``."""
    group = entity_group(view)
    writer = LatestWriter(store.config.online_store, store.config.project, view.name, tuple(view.features), group)
    if engine == "duckdb":
        from aquifer.engines.duckdb.latest import latest_batches

        batches = latest_batches(path, group.join_keys, [(f.name, f.dtype.arrow) for f in view.features],
                                 start, end)
        parts = [tuple(c[0] for c in counts.to_pydict().values()) for counts in writer(batches)]
    else:
        from aquifer.engines.spark.materialize import spark_push_latest
        from aquifer.engines.spark.session import spark_for

        parts = spark_push_latest(spark_for(store.config), view, path, list(group.join_keys), start, end, writer)
    return sum(p[0] for p in parts), sum(p[1] for p in parts), max((p[2] for p in parts), default=0)


class LatestWriter:
    """Encodes Arrow batches of latest rows and writes them in pipelined newer-wins batches.

    Called with an iterator of batches (``mapInArrow``'s contract, so it runs in Spark partitions as well
    as in this process); yields one batch of counts: ``entities``, ``written``, ``newest`` (µs).
    """

    def __init__(self, online_cfg: dict[str, Any], project: str, view: str, fields: tuple[Field, ...],
                 group: EntityGroup):
        self.online_cfg = dict(online_cfg)
        self.project, self.view, self.fields, self.group = project, view, fields, group

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from aquifer.stores.online.codec import ViewCodec
        from aquifer.stores.online.frames import pack_batch
        from aquifer.stores.online.redis_store import RedisOnlineStore

        online = RedisOnlineStore.from_config({**self.online_cfg, "timeout_ms": max(2000, self.online_cfg.get(
            "timeout_ms", 200))})
        codec = ViewCodec(self.fields)
        counts = {"entities": 0, "newest": 0}

        def packed(per_call: int) -> Iterator[tuple[bytes, int]]:
            for batch in batches:
                for offset in range(0, batch.num_rows, BATCH_SIZE):
                    part = batch.slice(offset, BATCH_SIZE)
                    payload, calls, top = pack_batch(part, codec, self.group, self.project, self.view, per_call)
                    counts["entities"] += part.num_rows
                    counts["newest"] = max(counts["newest"], top)
                    yield payload, calls

        try:
            # multi-key script calls on a single node, 1 key per call on a cluster
            written = online.write_packed_stream(packed(online.keys_per_call()))
        finally:
            online.close()
        entities, newest = counts["entities"], counts["newest"]
        yield pa.RecordBatch.from_pydict({"entities": [entities], "written": [written], "newest": [newest]})


def clean_view(store: Any, view: str, *, entity_group_name: str | None = None, batch: int = 1000) -> int:
    """Remove a view's values from the online store (SCAN + HDEL in batches) and forget its ledger.

    The view may already be gone from the repo: then every entity group of the project is scanned
    unless ``entity_group_name`` (e.g. ``user``) narrows it. Returns how many entity hashes held it.
    """
    from aquifer.stores.online.redis_store import RedisOnlineStore

    defined = store.views.get(view)
    group = entity_group_name or (entity_group(defined).name if defined is not None else None)
    online = RedisOnlineStore.from_config(store.config.online_store)
    try:
        removed = online.clean_view(store.config.project, view, group=group, batch=batch)
    finally:
        online.close()
    store.registry.forget_intervals(store.config.project, view, kind="materialize")
    return removed


class _progress:
    """A rich progress bar (or nothing when ``enabled`` is false)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar: Any = None

    def __enter__(self) -> Any:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn

            self.bar = Progress(SpinnerColumn(), "{task.description}", BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn())
            self.bar.start()
        return self.bar

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
