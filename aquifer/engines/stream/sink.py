"""Emitted windows to online feature vectors, written newer-wins.

Vectors reach the store when a checkpoint flushes (``checkpoint_sink``): quix flushes sinks first in every
checkpoint, before it commits offsets and state, so a window whose emission is committed has been written, and
one batch per checkpoint (the latest vector per key) replaces a round trip per event.

A key's online vector holds, per feature, the value of its most recent emitted window (closing rows
included): at watermark ``W`` that is ``value_as_of(W)`` of the batch rows, as batch materialization would
push. The vector's ``event_ts`` is the newest window end it holds (the time of the batch row it equals) and its
``created_ts`` is the same time: a replay after a crash writes the same ``(event_ts, created_ts)`` and the
newer-wins script refuses it, while a batch correction of the same row (created at its computation time,
later than the window end) replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aquifer.aggregations import WindowRow
from aquifer.definitions import AggregationView
from aquifer.stores.online.codec import ViewCodec, event_time_of
from aquifer.stores.online.interface import OnlineStore, Write
from aquifer.stores.online.keys import entity_group


@dataclass
class OnlineSink:
    """Builds one view's vectors from emitted rows and writes them through an ``OnlineStore``."""

    store: OnlineStore
    project: str
    view: AggregationView
    codec: ViewCodec = field(init=False)
    prefix: str = field(init=False)
    written: int = 0
    newest: int | None = None

    def __post_init__(self) -> None:
        self.codec = ViewCodec.for_view(self.view)
        self.prefix = entity_group(self.view).prefix(self.project)

    def vector(self, previous: bytes | None, rows: Sequence[WindowRow]) -> bytes | None:
        """The key's vector after ``rows`` (ordered by end, as ``on_watermark`` gives them) over ``previous``."""
        if not rows:
            return previous
        decoded = self.codec.decode(previous) if previous else None
        values = list(decoded[2]) if decoded else [None] * len(self.codec.fields)
        for row in rows:
            values[row.aggregation] = row.value
        end = max(row.end for row in rows)
        if decoded:
            end = max(end, decoded[0])
        return self.codec.encode(values, end, end)

    def write(self, vectors: dict[str, bytes]) -> int:
        """Write ``{encoded entity key: vector}`` newer-wins and record the newest time for freshness."""
        if not vectors:
            return 0
        writes: list[Write] = [(self.prefix + key, [(self.view.name, blob)]) for key, blob in vectors.items()]
        written = self.store.write(writes)
        newest = max(map(event_time_of, vectors.values()))
        self.store.record_newest(self.project, {self.view.name: newest})
        self.newest = newest if self.newest is None else max(self.newest, newest)
        self.written += written
        return written


def checkpoint_sink(flush: Callable[[], None], drop: Callable[[], None]) -> Any:
    """A quix sink that takes no records: at every checkpoint, before offsets and state are committed, it calls
    ``flush`` (which may raise ``SinkBackpressureError``), and ``drop`` when another sink's backpressure drops
    the checkpoint."""
    from quixstreams.sinks import BaseSink

    class CheckpointSink(BaseSink):
        def add(self, value: Any, key: Any, timestamp: int, headers: Any, topic: str, partition: int,
                offset: int) -> None:
            raise AssertionError("the checkpoint sink takes no records")

        def flush(self) -> None:
            flush()

        def on_paused(self) -> None:
            drop()

    return CheckpointSink()
