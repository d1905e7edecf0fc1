"""Compute one range of one view and write it: read upstreams, transform, check, clean, write.

Nothing is written unless the whole range computed: schema checks run on the plan, and the write lands in
staging before any partition is swapped (``aquifer.stores.offline.writer``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aquifer.analysis.dimensions import view_join_plan
from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource
from aquifer.engines.results import RangeResult
from aquifer.engines.spark import rows
from aquifer.engines.spark.compiler import compile_view, output_timestamp
from aquifer.engines.spark.dimensions import prepared, read_bounds
from aquifer.engines.spark.schema_check import conform, store_schema
from aquifer.engines.spark.sources import read_source
from aquifer.engines.spark.validation import count_columns, prepare_checks
from aquifer.stores.offline.interface import OfflineStore, ParquetOfflineStore
from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS
from aquifer.stores.offline.writer import Observers, Written

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from aquifer.quality.expectations import ColumnExpectation
    from aquifer.stores.offline.writer import Observer

log = logging.getLogger("aquifer.batch")

STATISTICS = "statistics"
"""The name of the statistics' observer among a write's observers."""


@dataclass(frozen=True)
class JobContext:
    """What every job needs: the session, where things live, the repo's definitions, the run's time."""

    spark: SparkSession
    root: Path
    offline_root: Path
    project: str
    definitions: Mapping[str, Any]
    run_time: datetime
    session_lookback: Any = None  # timedelta; see aggregate.history_start
    statistics: bool = True  # per-feature statistics of the rows each range writes (False: skipped)
    sliding_windows: str = "tiles"  # how sliding windows are computed (``engines.spark.tiles``): tiles | explode

    @property
    def offline(self) -> OfflineStore:
        """The offline store the job reads upstream views from and writes to."""
        return ParquetOfflineStore(self.offline_root, self.project)


def read_upstream(ctx: JobContext, name: str, start: datetime | None, end: datetime | None) -> DataFrame:
    """An upstream's rows in ``[start, end)``: a source from its data, a view from the offline store."""
    upstream = ctx.definitions[name]
    if isinstance(upstream, BatchSource | KafkaSource):
        return read_source(ctx.spark, upstream, ctx.root, start, end)
    return ctx.offline.read(ctx.spark, name, start, end, schema=store_schema(upstream))


def feature_rows(ctx: JobContext, view: FeatureView, start: datetime, end: datetime
                 ) -> tuple[DataFrame, Future[int]]:
    """The view's conformed rows (before hygiene) and how many upstream rows were read: counted by a Spark job of
    its own, started now beside whatever comes next (a source that reads as one task leaves a core idle)."""
    joins = view_join_plan(view, ctx.definitions)  # snapshots read whole, ASOF dimensions up to ``end``
    inputs = {name: read_upstream(ctx, name, *read_bounds(joins, name, ctx.definitions.get(name), start, end))
              for name in view.declared_upstreams}
    rows_in = _beside(ctx.spark, lambda: sum(df.count() for df in inputs.values()))
    out = compile_view(ctx.spark, view, prepared(view.name, inputs, joins, ctx.definitions), joins)
    created = getattr(view.source, "created_timestamp_field", None)
    if CREATED_TS not in out.columns and created and created in out.columns:
        out = out.withColumnRenamed(created, CREATED_TS)
    return conform(out, view, output_timestamp(view)), rows_in


@dataclass
class ComputedRange:
    """A computed range of one view, not yet written (``aquifer.runs.engine.ComputedRange``).

    ``frame`` holds the conformed rows before hygiene (null keys, out-of-range rows and duplicates are dropped by
    ``write``); ``stats`` counts them. A range is computed lazily: when nothing asks for its ``stats`` before the
    write, ``write_computed`` reads, transforms, counts and writes in one pass; the first ``stats`` asked for
    before the write caches the rows and counts them (``materialize``).
    """

    view: FeatureView | AggregationView
    start: datetime
    end: datetime
    frame: DataFrame
    _rows_in: int | Future[int]
    _stats: Any
    details: dict[str, Any]
    checked: Any = None
    """``(PreparedChecks, counts)`` of the row checks counted with the hygiene counts (``compute_range``)."""
    writing: dict[str, tuple[Callable[[], Observer], dict[str, Column]]] = field(default_factory=dict)
    observed: dict[str, Written] = field(default_factory=dict)
    """What each ``observe_write`` observer saw of the rows written (set by ``write_computed``)."""
    cached: bool = False

    @property
    def rows_in(self) -> int:
        """The upstream rows read (waits for their count)."""
        if isinstance(self._rows_in, Future):
            self._rows_in = self._rows_in.result()
        return self._rows_in

    @property
    def stats(self) -> Any:
        """``total``, ``null_keys`` and ``outside`` (and the row checks' counts): the rows cached and counted on
        first use before the write."""
        if self._stats is None:
            self.materialize()
        return self._stats

    @stats.setter
    def stats(self, value: Any) -> None:
        self._stats = value

    @property
    def counted(self) -> bool:
        """Whether ``stats`` are known without a pass of their own (cached and counted already)."""
        return self._stats is not None

    def materialize(self, checks: Sequence[ColumnExpectation] = ()) -> None:
        """Cache the rows and count them (null keys, out-of-range rows, and ``checks``' failures in ``checked``)
        in one pass, for whoever looks at them before the write."""
        from pyspark import StorageLevel

        keys = list(self.view.join_keys)
        out = self.frame
        if not isinstance(self.view, AggregationView):
            # hash-partitioned: a source that reads as one task (a file of one row group, as ``to_parquet``
            # writes) does not leave the count pass and whoever reads the cache on one core
            out = out.repartition(*keys, EVENT_TS)
        out = out.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            to_check = prepare_checks(dict(out.dtypes), checks) if checks else None
            counted = [] if to_check is None else count_columns(to_check, dict(out.dtypes), ~rows.null_key_flag(keys) &
                                                                _inside(self.start, self.end))
            stats = out.agg(*_hygiene_counts(keys, self.start, self.end), *counted).first()
        except BaseException:
            out.unpersist()
            raise
        self.frame, self.cached, self._stats = out, True, stats
        self.checked = None if to_check is None else (to_check, stats.asDict())

    def observe_write(self, name: str, make: Callable[[], Observer], extra: Mapping[str, Column] | None = None
                      ) -> None:
        """Have every writing task feed its rows (and the ``extra`` columns, computed then, not written) to an
        observer ``make()``; after the write, ``observed[name]`` holds what they sent back."""
        self.writing[name] = (make, dict(extra or {}))

    def release(self) -> None:
        """Drop the cached rows."""
        if self.cached:
            self.frame.unpersist()


def _beside(spark: SparkSession, count: Callable[[], int]) -> Future[int]:
    from pyspark.util import inheritable_thread_target

    pool = ThreadPoolExecutor(1, thread_name_prefix="aquifer-rows-in")
    try:
        return pool.submit(inheritable_thread_target(spark)(count))
    finally:
        pool.shutdown(wait=False)


def _inside(start: datetime, end: datetime) -> Column:
    from pyspark.sql import functions as F

    return (F.col(EVENT_TS) >= F.lit(start)) & (F.col(EVENT_TS) < F.lit(end))


def _hygiene_counts(keys: Sequence[str], start: datetime, end: datetime) -> list[Column]:
    """``total``, ``null_keys`` (a null join key or event time) and ``outside`` (set, but out of the range)."""
    from pyspark.sql import functions as F

    bad = rows.null_key_flag(keys)
    return [F.count(F.lit(1)).alias("total"), F.sum(bad.cast("long")).alias("null_keys"),
            F.sum((~bad & ~_inside(start, end)).cast("long")).alias("outside")]


def compute_range(ctx: JobContext, view: FeatureView | AggregationView, start: datetime, end: datetime,
                  checks: Sequence[ColumnExpectation] = ()) -> ComputedRange:
    """Compute ``[start, end)`` of ``view``: nothing written.

    A view's rows with ``checks`` (row-level expectations) are cached and counted now, the checks' failures in the
    same pass (``validation.count_columns``; ``ComputedRange.checked`` holds the counts for the quality
    listener); others are computed lazily (``ComputedRange``).
    """
    keys = list(view.join_keys)
    details: dict[str, Any] = {}
    if isinstance(view, AggregationView):
        from aquifer.engines.spark.aggregate import aggregation_rows

        out, rows_in, details = aggregation_rows(ctx, view, start, end)
    else:
        out, rows_in = feature_rows(ctx, view, start, end)
    out = rows.with_created(out, ctx.run_time)
    out = out.select(*keys, EVENT_TS, CREATED_TS, *(f.name for f in view.schema))
    computed = ComputedRange(view, start, end, out, rows_in, None, details)
    if checks:
        computed.materialize(checks)
    return computed


def write_computed(ctx: JobContext, computed: ComputedRange) -> RangeResult:
    """Write a computed range (after hygiene) in place of the range's partitions; rows in / out, details.

    With statistics on, the write's tasks sketch each day file's rows (``statistics.observer``; the store's writer
    reads each file back with pyarrow, or writes it with pyarrow, in the same write): the statistics describe exactly
    the rows written and cost no second Spark read. A range nobody counted before the write is counted as it is
    written (``DataFrame.observe``).
    """
    from pyspark.sql import Observation

    from aquifer.engines.spark import statistics

    view, start, end = computed.view, computed.start, computed.end
    keys = list(view.join_keys)
    details = dict(computed.details)
    frame, counting = computed.frame, None
    if not computed.counted:
        counting = Observation()
        frame = frame.observe(counting, *_hygiene_counts(keys, start, end))
    candidates = rows.in_range(rows.drop_null_keys(frame, keys), start, end)
    if counting is not None and "CollectMetrics" not in candidates._jdf.queryExecution().optimizedPlan().toString():
        counting = None  # optimized away (an empty plan): counted apart after the write
    # an AggregationView's rows are unique per (keys, event_ts) by construction (``aggregate.aggregation_rows``
    # groups by them): no dedupe. A FeatureView's are deduped by the write's tasks, which keep the first row of
    # each (keys, event_ts) in the day's sort: no exchange or sort of its own
    unique = [] if isinstance(view, AggregationView) else [*keys, EVENT_TS]
    order = [*keys, EVENT_TS, *(rows.newest_first(candidates, keys) if unique else [])]
    makers = {name: make for name, (make, _) in computed.writing.items()}
    if ctx.statistics:
        makers[STATISTICS] = statistics.observer(view)
    extra = {column: c for _, shown in computed.writing.values() for column, c in shown.items()}
    written = ctx.offline.replace_range(candidates, view.name, start, end, unique_times=True, order=order,
                                        observe=partial(Observers, makers) if makers else None, extra=extra,
                                        first_of=unique)
    if not computed.counted:
        computed.stats = _observed(counting) if counting is not None else None
        if computed._stats is None:
            computed.stats = computed.frame.agg(*_hygiene_counts(keys, start, end)).first().asDict()
    stats = computed.stats
    null_keys = int(stats["null_keys"] or 0) + int(details.pop("null_key_events", 0))
    if null_keys:
        log.warning("view %s: dropped %d rows with a null join key or event time", view.name, null_keys)
    total, outside = int(stats["total"] or 0), int(stats["outside"] or 0)
    expected = total - int(stats["null_keys"] or 0) - outside  # the candidates: written unless duplicates
    computed.observed = {name: written.part(name) for name in computed.writing}
    measured = statistics.stored_statistics(written.part(STATISTICS), view) if ctx.statistics else None
    details.update(
        dropped_null_keys=null_keys, dropped_outside_range=outside,
        dropped_duplicates=max(0, expected - written.rows),
    )
    return RangeResult(start, end, rows_in=computed.rows_in, rows_out=written.rows, details=details,
                       statistics=measured)


def _observed(observation: Any, timeout: float = 10.0) -> dict[str, Any] | None:
    """An ``Observation``'s metrics once its query succeeded; None when they do not come: Spark's ``get`` waits
    forever for metrics of a plan that lost its observation, and fails on the empty row of a query that finished
    without running it (seen when adaptive execution found a stage empty)."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="aquifer-observed")
    try:
        return pool.submit(lambda: observation.get).result(timeout)
    except TimeoutError:
        return None
    except Exception as exc:
        log.debug("observed metrics unavailable: %s", exc)
        return None
    finally:
        pool.shutdown(wait=False)


def run_range(ctx: JobContext, view: FeatureView | AggregationView, start: datetime, end: datetime) -> RangeResult:
    """Compute ``[start, end)`` of ``view`` and replace that range in the offline store (no listeners)."""
    computed = compute_range(ctx, view, start, end)
    try:
        return write_computed(ctx, computed)
    finally:
        computed.release()
