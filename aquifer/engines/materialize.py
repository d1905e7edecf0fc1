"""Pushing a view's latest rows to the online store: the engines' half of materialization.

Each entity's latest row comes from one of two engines: DuckDB in this process (``engines/duckdb/latest``:
no Spark job to start, which dominates small runs), or Spark (``engines/spark/materialize``: partitions
write in parallel, and the cluster scales past one machine). Both hand Arrow batches to a
``LatestWriter``, which encodes them with numpy straight into RESP newer-wins calls
(``frames.pack_batch``) and writes them in pipelined batches through its own Redis connection. On a
single Redis node one script call writes 100 keys (``NEWER_WINS_COLUMN``, twice the throughput of a call
per key); on a Redis Cluster, where a script's keys must share a slot, every key gets its own pipelined
call (``RedisOnlineStore.keys_per_call``). The same batches feed per-feature statistics of the rows pushed
(``quality.statistics.DailyStatistics``), returned beside the counts: no second read. Orchestration (ranges,
ledger, records, events) is ``aquifer.runs.materialize``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from aquifer.definitions import Field
from aquifer.quality.statistics import DailyStatistics
from aquifer.stores.online.interface import OnlineStore, open_online_store
from aquifer.stores.online.keys import EntityGroup, entity_group

BATCH_SIZE = 2000  # entity keys per pipelined write

log = logging.getLogger("aquifer.materialize")


class Pushed(NamedTuple):
    """What a push did: entities pushed, values written, the newest event time (µs), and per feature the
    statistics of the rows pushed (registry ``stats`` form; None when they could not be computed)."""

    entities: int
    written: int
    newest: int
    statistics: dict[str, dict[str, Any]] | None = None


def push_latest(store: Any, view: Any, path: Path, start: datetime, end: datetime,
                engine: str = "spark", online: OnlineStore | None = None) -> Pushed:
    """Push each entity's latest row with ``start <= event_ts < end``; counts and statistics (``Pushed``).

    ``online``: a long-lived writer to reuse in this process (DuckDB); Spark partitions open their own.
    """
    group = entity_group(view)
    writer = LatestWriter(store.config.online_store, store.config.project, view.name, tuple(view.features), group,
                          online=online if engine == "duckdb" else None,
                          statistics=bool(store.config.quality["statistics"]))
    if engine == "duckdb":
        from aquifer.engines.duckdb.latest import latest_batches

        batches = latest_batches(path, group.join_keys, [(f.name, f.dtype.arrow) for f in view.features],
                                 start, end)
        parts = [tuple(c[0] for c in counts.to_pydict().values()) for counts in writer(batches)]
    else:
        from aquifer.engines.spark.materialize import spark_push_latest
        from aquifer.engines.spark.session import spark_for

        parts = spark_push_latest(spark_for(store.config), view, path, list(group.join_keys), start, end, writer)
    return Pushed(sum(p[0] for p in parts), sum(p[1] for p in parts), max((p[2] for p in parts), default=0),
                  _merged_statistics(view, [p[3] for p in parts]))


def _merged_statistics(view: Any, partials: list[bytes | None]) -> dict[str, dict[str, Any]] | None:
    """The partitions' statistics merged (None when any partition could not compute its own)."""
    if any(p is None for p in partials):
        return None
    try:
        merged = DailyStatistics([(f.name, f.dtype.name) for f in view.features])
        for partial in partials:
            merged.merge(DailyStatistics.from_bytes(partial))  # type: ignore[arg-type]
        return merged.stored()
    except Exception as exc:  # statistics never fail a push
        log.warning("view %s: statistics of the push not computed: %s", view.name, exc)
        return None


class LatestWriter:
    """Encodes Arrow batches of latest rows and writes them in pipelined newer-wins batches.

    Called with an iterator of batches (``mapInArrow``'s contract, so it runs in Spark partitions as well
    as in this process); yields one batch of counts: ``entities``, ``written``, ``newest`` (µs), and
    ``statistics``: the serialized ``DailyStatistics`` of the rows it wrote (null when they failed, which
    never stops the write). In this process it writes through ``online`` when given; pickled into a Spark task
    it opens its own connection.
    """

    OUTPUT = "entities long, written long, newest long, statistics binary"

    def __init__(self, online_cfg: dict[str, Any], project: str, view: str, fields: tuple[Field, ...],
                 group: EntityGroup, online: OnlineStore | None = None, statistics: bool = True):
        self.online_cfg = dict(online_cfg)
        self.project, self.view, self.fields, self.group = project, view, fields, group
        self.online = online
        self.statistics = statistics

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "online": None}  # connections do not travel to executors

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from aquifer.stores.online.codec import ViewCodec
        from aquifer.stores.online.frames import pack_batch
        online = self.online or open_online_store(self.online_cfg, writer=True)
        codec = ViewCodec(self.fields)
        counts = {"entities": 0, "newest": 0}
        stats: DailyStatistics | None = (DailyStatistics([(f.name, f.dtype.name) for f in self.fields])
                                         if self.statistics else None)

        def packed(per_call: int) -> Iterator[tuple[bytes, int]]:
            nonlocal stats
            for batch in batches:
                if stats is not None:
                    try:
                        stats.update(batch)
                    except Exception as exc:  # statistics never fail a push
                        log.warning("view %s: statistics of the push not computed: %s", self.view, exc)
                        stats = None
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
            if online is not self.online:
                online.close()
        entities, newest = counts["entities"], counts["newest"]
        blob = stats.to_bytes() if stats is not None else None
        yield pa.RecordBatch.from_pydict(
            {"entities": [entities], "written": [written], "newest": [newest], "statistics": [blob]},
            schema=pa.schema([("entities", pa.int64()), ("written", pa.int64()), ("newest", pa.int64()),
                              ("statistics", pa.binary())]),
        )
