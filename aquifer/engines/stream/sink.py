"""Emitted windows to online feature vectors, written newer-wins.

Vectors reach the store through a quix ``BatchingSink`` (``checkpoint_sink``): quix flushes sinks first in every
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

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aquifer.aggregations import WindowRow
from aquifer.definitions import AggregationView
from aquifer.stores.online.codec import ViewCodec, event_time_of
from aquifer.stores.online.interface import OnlineStore, OnlineStoreUnavailable, Write
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
        newest = max(self.codec.decode(blob)[0] for blob in vectors.values())  # type: ignore[index]
        self.store.record_newest(self.project, {self.view.name: newest})
        self.newest = newest if self.newest is None else max(self.newest, newest)
        self.written += written
        return written


def checkpoint_sink(online: OnlineSink, counts: Counter[str]) -> Any:
    """A quix ``BatchingSink`` taking ``(encoded key, vector)`` records and writing, at each checkpoint, the
    newest vector per key through ``online`` (``values_written`` counted in ``counts``).

    When the online store cannot be reached the sink reports backpressure: quix drops the checkpoint (offsets
    and state stay at the last commit), pauses a second and processes the same events again, so windows wait
    for the store instead of being lost (``online_unavailable`` counts the attempts).
    """
    from quixstreams.sinks import BatchingSink, SinkBackpressureError, SinkBatch

    class CheckpointSink(BatchingSink):
        def write(self, batch: SinkBatch) -> None:
            vectors: dict[str, bytes] = {}
            for item in batch:
                key, blob = item.value
                held = vectors.get(key)
                if held is None or event_time_of(blob) >= event_time_of(held):
                    vectors[key] = blob
            try:
                counts["values_written"] += online.write(vectors)
            except OnlineStoreUnavailable:
                counts["online_unavailable"] += 1
                raise SinkBackpressureError(retry_after=1.0) from None

    return CheckpointSink()
