"""Stream workers: a quixstreams Application computing ``AggregationView``s from their ``KafkaSource`` topics.

Per message (one stateful step per view; quix does consuming, producing, rebalancing, checkpoints and state):

1. the payload becomes an event (``events.EventParser``) or a dead letter; an event more than ``max_skew``
   after the wall clock is a dead letter too, so it can never push the watermark (and make every other event
   late);
2. the key's ``WindowOperator`` state (bytes in quix state, prefix = the encoded entity key) takes the event
   at the partition's watermark; a late event is a dead letter, counted by no aggregation;
3. the partition's clock (``watermarks.Clock``: max event time seen - ``allowed_lateness``) moves forward, and
   every key whose timer (``next_emit``) is at or before the new watermark emits its closed windows; their
   online vectors (``sink.OnlineSink``) go to a quix sink that writes them newer-wins at each checkpoint, before
   offsets and state are committed.

The clock and timers sit under a reserved prefix of the same changelogged store, so a restarted or rebalanced
worker resumes exactly where the committed checkpoint left it. Delivery is at-least-once; replays rewrite
identical ``(event_ts, created_ts)`` vectors, which the online store refuses as not newer.
Dead letters go to ``<topic>.dead-letter`` (``dead_letter_topic`` overrides it) as JSON: ``reason``,
``detail``, ``view``, ``topic``, ``partition``, ``offset``, ``key`` and the original ``payload`` (text).
"""

from __future__ import annotations

import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aquifer.aggregations import WindowOperator, duration_micros
from aquifer.config import Config
from aquifer.definitions import AggregationView
from aquifer.engines.stream.events import FUTURE, LATE, BadEvent, EventParser
from aquifer.engines.stream.kafka_config import kafka_client_config, quix_app_settings
from aquifer.engines.stream.sink import OnlineSink, checkpoint_sink
from aquifer.engines.stream.watermarks import Clock, Timers
from aquifer.stores.online.interface import OnlineStore, open_online_store

RESERVED = b"\x00aquifer"  # state prefix of the partition's clock and timers: no encoded entity key starts so
CLOCK = "clock"
WINDOWS = "w"
VECTOR = "v"


class StreamError(RuntimeError):
    """A worker cannot start (no such topic, a view without a Kafka source, ...)."""


@dataclass(frozen=True)
class StreamSettings:
    """What a worker needs besides its views: clients, state, lateness and skew defaults."""

    kafka: Mapping[str, Any]
    online_store: Mapping[str, Any]
    project: str
    state_dir: Path
    default_lateness: timedelta = timedelta(hours=1)
    max_skew: timedelta = timedelta(minutes=10)
    """An event later than the wall clock plus this is dead-lettered (``future``)."""
    consumer_group: str | None = None
    """Default: ``default_group(project, views)``."""
    dead_letter_topic: str | None = None
    """Default: ``<source topic>.dead-letter``."""
    commit_interval: float = 1.0
    processing_guarantee: str = "at-least-once"
    """Or ``exactly-once`` on a Kafka whose transactions isolate (the online writes are idempotent either way)."""
    auto_offset_reset: str = "earliest"
    loglevel: str = "WARNING"

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> StreamSettings:
        """Settings from ``aquifer.yaml`` (``kafka``, ``online_store``, ``batch.default_lateness``)."""
        values: dict[str, Any] = {
            "kafka": config.kafka, "online_store": config.online_store, "project": config.project,
            "state_dir": config.root / ".aquifer" / "stream-state", "default_lateness": config.default_lateness,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def default_group(project: str, views: Sequence[AggregationView]) -> str:
    """``aquifer.<project>.<view>+<view>.<crc>``: the crc follows the views' aggregations, so a changed view
    starts a new group (and new state) that computes it again from the topic's start."""
    layout = repr(sorted((v.name, [(a.column, a.function, a.window, a.feature_name) for a in v.aggregations])
                         for v in views))
    names = "+".join(sorted(v.name for v in views))
    return f"aquifer.{project}.{names}.{zlib.crc32(layout.encode()):08x}"


def _now_us() -> int:
    return time.time_ns() // 1000


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "backslashreplace")


@dataclass
class ViewStream:
    """The stateful step of one view: events in, dead letters out, online vectors written."""

    view: AggregationView
    sink: OnlineSink
    lateness_us: int
    max_skew_us: int
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.parser = EventParser(self.view)
        self.operator = WindowOperator(self.view.aggregations)
        self._timers: dict[int, Timers] = {}

    def process(self, value: bytes | None, key: bytes | None, timestamp: int, headers: Any, state: Any
                ) -> list[tuple[str, Any]]:
        """One message: ``[("dead", letter)]``, or ``("online", (encoded key, vector))`` per key it updated."""
        from quixstreams import message_context

        tx = state._transaction  # the partition's transaction: other keys' state and the reserved prefix
        self.counts["events"] += 1
        try:
            event = self.parser.parse(value, key)
            if event.ts_us > _now_us() + self.max_skew_us:
                raise BadEvent(FUTURE, f"event time {event.ts_us} µs is more than {self.max_skew_us} µs after "
                                       "the wall clock")
        except BadEvent as exc:
            return [("dead", self._dead(exc.kind, str(exc), value, key))]
        partition = message_context().partition
        meta = tx.as_state(prefix=RESERVED)
        clock = Clock.from_bytes(meta.get_bytes(CLOCK))
        timers = self._timers.get(partition)
        if timers is None or timers.version != clock.version:
            timers = self._timers[partition] = Timers.load(meta, clock.version)

        op = self.operator
        raw = tx.as_state(prefix=event.key.encode()).get_bytes(WINDOWS)
        key_state = self._load(raw) if raw else op.new_state()
        key_state, late = op.on_event(key_state, event.ts_us, event.values, watermark_us=clock.watermark)
        if late:
            detail = "; ".join(f"{report.feature}: {report.reason}" for report in late)
            return [("dead", self._dead(LATE, detail, value, key))]
        self.counts["accepted"] += 1
        clock.observe(event.ts_us, self.lateness_us)
        states = {event.key: key_state}
        timers.set(event.key, op.next_emit(key_state))
        vectors: dict[str, bytes] = {}
        assert clock.watermark is not None
        for due in timers.pop_due(clock.watermark):
            due_state = tx.as_state(prefix=due.encode())
            current = states.get(due)
            if current is None:
                current = self._load(due_state.get_bytes(WINDOWS))
            current, rows = op.on_watermark(current, clock.watermark)
            states[due] = current
            timers.set(due, op.next_emit(current))
            vector = self.sink.vector(due_state.get_bytes(VECTOR), rows)
            if vector is not None and rows:
                due_state.set_bytes(VECTOR, vector)
                vectors[due] = vector
            self.counts["windows_emitted"] += len(rows)
        for entity, key_state in states.items():
            tx.as_state(prefix=entity.encode()).set_bytes(WINDOWS, op.to_bytes(key_state))
        clock.version += 1
        timers.version = clock.version
        timers.save(meta)
        meta.set_bytes(CLOCK, clock.to_bytes())
        return [("online", item) for item in vectors.items()]

    def _load(self, raw: bytes) -> Any:
        try:
            return self.operator.from_bytes(raw)
        except ValueError as exc:
            raise StreamError(f"view {self.view.name!r}: the stored window state does not fit its aggregations "
                              f"({exc}); the view changed since this consumer group ran: stream it under a new "
                              "group (the default group name follows the aggregations)") from None

    def _dead(self, kind: str, detail: str, value: bytes | None, key: bytes | None) -> dict[str, Any]:
        from quixstreams import message_context

        context = message_context()
        self.counts["dead_letters"] += 1
        self.counts[f"dead_letter.{kind}"] += 1
        return {"reason": kind, "detail": detail, "view": self.view.name, "topic": context.topic,
                "partition": context.partition, "offset": context.offset, "key": _text(key), "payload": _text(value)}


class StreamWorker:
    """One quixstreams Application running the stream step of some ``AggregationView``s (one topic each).

    ``run()`` blocks until ``stop()`` (or SIGINT/SIGTERM, which quix handles: it finishes the message, flushes,
    commits the checkpoint and closes). ``counts`` holds events, accepted, dead letters by reason, windows
    emitted and values written since the worker started.
    """

    def __init__(self, views: Sequence[AggregationView], settings: StreamSettings,
                 online: OnlineStore | None = None) -> None:
        if not views:
            raise StreamError("no view to stream")
        topics: dict[str, str] = {}
        for view in views:
            topic = getattr(view.source, "topic", None)
            if topic is None:
                raise StreamError(f"view {view.name!r} has no KafkaSource: nothing to stream")
            if topic in topics:
                raise StreamError(f"views {topics[topic]!r} and {view.name!r} read one topic {topic!r}: stream them "
                                  "in separate workers")
            topics[topic] = view.name
        self.settings = settings
        self._own_online = online is None
        self.online = online if online is not None else open_online_store(dict(settings.online_store), writer=True)
        skew = duration_micros(settings.max_skew)
        self.streams = [
            ViewStream(view, OnlineSink(self.online, settings.project, view),
                       duration_micros(view.allowed_lateness or settings.default_lateness), skew)
            for view in views
        ]
        self.group = settings.consumer_group or default_group(settings.project, views)
        self.app: Any = None
        self._stop_when: Callable[[StreamWorker], bool] | None = None

    @property
    def counts(self) -> Counter[str]:
        """Every view's counters, summed."""
        total: Counter[str] = Counter()
        for stream in self.streams:
            total.update(stream.counts)
        return total

    def dead_letter_topic(self, view: AggregationView) -> str:
        """Where a view's refused events go."""
        return self.settings.dead_letter_topic or f"{view.source.topic}.dead-letter"  # type: ignore[union-attr]

    def check_topics(self, timeout: float = 15.0) -> None:
        """``StreamError`` naming every source topic the broker does not have."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(kafka_client_config(self.settings.kafka, "admin"))
        meta = admin.list_topics(timeout=timeout)
        missing = [s.view.source.topic for s in self.streams  # type: ignore[union-attr]
                   if s.view.source.topic not in meta.topics]  # type: ignore[union-attr]
        if missing:
            raise StreamError(f"topic {', '.join(map(repr, missing))} does not exist on "
                              f"{self.settings.kafka.get('bootstrap_servers')}")

    def build(self) -> Any:
        """The quixstreams Application (built once)."""
        from quixstreams import Application

        if self.app is not None:
            return self.app
        s = self.settings
        self.app = Application(consumer_group=self.group, auto_offset_reset=s.auto_offset_reset,
                               state_dir=str(s.state_dir), commit_interval=s.commit_interval, loglevel=s.loglevel,
                               processing_guarantee=s.processing_guarantee, **quix_app_settings(s.kafka))
        for stream in self.streams:
            source = stream.view.source
            topic = self.app.topic(source.topic, value_deserializer="bytes", key_deserializer="bytes")  # type: ignore[union-attr]
            dead = self.app.topic(self.dead_letter_topic(stream.view), value_serializer="json", key_serializer="bytes")
            out = self.app.dataframe(topic).apply(self._step(stream), stateful=True, metadata=True, expand=True)
            out.filter(lambda record: record[0] == "dead").apply(lambda record: record[1]).to_topic(dead)
            out.filter(lambda record: record[0] == "online").apply(lambda record: record[1]).sink(
                checkpoint_sink(stream.sink, stream.counts))
        return self.app

    def _step(self, stream: ViewStream) -> Callable[..., Any]:
        def step(value: bytes | None, key: bytes | None, timestamp: int, headers: Any, state: Any) -> Any:
            records = stream.process(value, key, timestamp, headers, state)
            if self._stop_when is not None and self._stop_when(self):
                self.app.stop()
            return records

        return step

    def run(self, stop_when: Callable[[StreamWorker], bool] | None = None) -> None:
        """Consume until stopped; ``stop_when(worker)`` is asked after each message (tests, bounded runs)."""
        self._stop_when = stop_when
        try:
            self.check_topics()
            self.build().run()
        finally:
            if self._own_online:
                self.online.close()

    def stop(self) -> None:
        """Ask the running Application to stop (it flushes, commits and closes)."""
        if self.app is not None:
            self.app.stop()
