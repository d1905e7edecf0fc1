"""Spark as a ``BatchEngine`` of the run lifecycle (``aquifer.runs.batch``): where data starts, compute, write.

Planning, the ledger, run records and events live in ``aquifer.runs``; this module only knows Spark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from aquifer.engines.results import RangeResult
from aquifer.engines.spark.job import ComputedRange, JobContext, compute_range, write_computed
from aquifer.engines.spark.sources import raised_message

DEFAULT_SESSION_LOOKBACK = timedelta(days=7)


class SparkBatchEngine:
    """Computes and writes view ranges with the repo's Spark session (started on first use)."""

    name = "spark"

    def __init__(self, store: Any, now: datetime):
        self.store, self.now = store, now

    @cached_property
    def ctx(self) -> JobContext:
        """The job context: session, paths, the repo's sources and views, the run's time."""
        from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource
        from aquifer.definitions.durations import parse_duration
        from aquifer.engines.spark.session import spark_for

        config = self.store.config
        kinds = (BatchSource, KafkaSource, FeatureView, AggregationView)
        definitions = {d.name: d for d in self.store.repo.definitions if isinstance(d, kinds)}
        lookback = config.batch.get("session_lookback")
        return JobContext(
            spark=spark_for(config), root=config.root, offline_root=config.offline_path, project=config.project,
            definitions=definitions, run_time=self.now,
            session_lookback=parse_duration(lookback) if lookback else DEFAULT_SESSION_LOOKBACK,
            statistics=bool(config.quality["statistics"]),
            sliding_windows=str(config.batch.get("sliding_windows", "tiles")),
        )

    def first_event_day(self, view: Any) -> datetime | None:
        """UTC midnight before the earliest event of the sources under ``view`` (None when they hold no rows)."""
        from pyspark.sql import functions as F

        from aquifer.analysis.dimensions import EVENT, JoinPlan, view_join_plan
        from aquifer.definitions import BatchSource, FeatureView, KafkaSource
        from aquifer.engines.spark.sources import read_source
        from aquifer.planning import DAY, floor_time, parse_time

        ctx, firsts = self.ctx, []
        stack, seen = [view.name], set()
        while stack:
            d = ctx.definitions.get(stack.pop())
            if d is None or d.name in seen:
                continue
            seen.add(d.name)
            if isinstance(d, BatchSource) and d.is_snapshot:
                continue  # a snapshot has no event time: it never decides where a view's data starts
            if isinstance(d, BatchSource | KafkaSource):
                value = read_source(ctx.spark, d, ctx.root).agg(F.min(d.timestamp_field)).first()[0]
                if value is not None:
                    firsts.append(parse_time(value))
            else:  # only what is read by event time: a dimension's old rows do not start the view's data
                joins = view_join_plan(d, ctx.definitions) if isinstance(d, FeatureView) else JoinPlan()
                stack.extend(n for n in d.declared_upstreams if joins.read_mode(n, ctx.definitions.get(n)) == EVENT)
        return floor_time(min(firsts), DAY) if firsts else None

    def data_extent(self, view: Any) -> list[tuple[datetime, datetime]] | None:
        """Where ``view`` can have rows, from its sources' Parquet footers (None: unknown); Spark is not started.

        ``aquifer.analysis.extent``: the run records ranges outside it as done without computing them.
        """
        from aquifer.analysis.extent import view_extent
        from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource
        from aquifer.definitions.durations import parse_duration

        config = self.store.config
        kinds = (BatchSource, KafkaSource, FeatureView, AggregationView)
        definitions = {d.name: d for d in self.store.repo.definitions if isinstance(d, kinds)}
        lookback = config.batch.get("session_lookback")
        memo = self.__dict__.setdefault("_extents", {})  # one footer pass per source for the whole plan
        return view_extent(view.name, definitions, config.root, memo=memo,
                           session_lookback=parse_duration(lookback) if lookback else DEFAULT_SESSION_LOOKBACK)

    def carry_end(self, view: Any, end: datetime, limit: datetime) -> datetime:
        """How far a backfill of an ``AggregationView`` ending at ``end`` must reach (``engines.spark.carry``)."""
        from aquifer.engines.spark.carry import carry_end

        return carry_end(self.ctx, view, end, limit)

    def compute_range(self, view: Any, start: datetime, end: datetime, checks: Sequence[Any] = ()
                      ) -> ComputedRange:
        """Compute ``[start, end)`` of ``view`` (cached; nothing written), counting the row-level ``checks``
        over the rows to be written in the same pass (``ComputedRange.checked``)."""
        return compute_range(self.ctx, view, start, end, checks)

    def write_range(self, computed: ComputedRange) -> RangeResult:
        """Swap the computed rows into the offline store."""
        return write_computed(self.ctx, computed)

    def explain(self, exc: BaseException) -> str | None:
        """The message of a source value error raised inside a Spark job."""
        return raised_message(exc)
