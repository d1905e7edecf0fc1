"""Stream workers: a quixstreams Application computing ``AggregationView``s from their ``KafkaSource`` topics.

Per message (one stateful step per view; quix does consuming, producing, rebalancing, checkpoints and state):

1. the payload becomes an event (``events.EventParser``) or a dead letter; an event more than ``max_skew``
   after the wall clock is a dead letter too, so it can never push the watermark (and make every other event
   late);
2. the key's ``WindowOperator`` state takes the event at the partition's watermark; a late event is a dead
   letter, counted by no aggregation;
3. the partition's clock (``watermarks.Clock``: max event time seen - ``allowed_lateness``) moves forward.

Every ``emit_interval`` (checked after each poll, with a message or none: ``ViewStream.tick``, a periodic task of
the Application's loop) and at each checkpoint, every key whose timer (``next_emit``) is at or before the
partition's watermark emits its closed windows into its online vector, written newer-wins: once per key and round,
however many windows closed meanwhile (an event's acceptance depends on the watermark only,
never on what was emitted, so emitting later changes no value). ``emit_interval`` bounds the time from the
watermark passing a window's end to the value being readable online; state is committed every
``commit_interval``. A partition reading a backlog (newest event time more than ``catch_up_lag`` behind the wall
clock) emits at checkpoints and idle polls only.

Key states, vectors, the clock and the timers live in a per-partition cache (``partition.PartitionCache``)
between checkpoints. At each checkpoint, before quix commits offsets and state, the view's checkpoint sink
writes the new vectors newer-wins (``sink.OnlineSink``), lands the accepted events (``landing``) and writes what
changed into the partition's changelogged store, where the clock and timers sit under a reserved prefix, so a
restarted or rebalanced worker resumes exactly where the committed checkpoint left it. Delivery is
at-least-once; replays rewrite identical ``(event_ts, created_ts)`` vectors, which the online store refuses as
not newer. A key with no window left has its window state deleted at the flush (eviction); its online vector is
kept (the next window's vector builds on it) until it outlives the view's ``ttl``.
Dead letters go to ``<topic>.dead-letter`` (``dead_letter_topic`` overrides it) as JSON: ``reason``,
``detail``, ``view``, ``topic``, ``partition``, ``offset``, ``key`` and the original ``payload`` (text).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from aquifer.aggregations import WindowOperator, duration_micros
from aquifer.aggregations.incremental import STATE_VERSION
from aquifer.config import Config
from aquifer.definitions import AggregationView
from aquifer.engines.stream.events import FUTURE, LATE, BadEvent, EventParser
from aquifer.engines.stream.kafka_config import kafka_client_config, quix_app_settings
from aquifer.engines.stream.landing import EventLanding
from aquifer.engines.stream.partition import PartitionCache, StateMismatch
from aquifer.engines.stream.sink import OnlineSink, checkpoint_sink
from aquifer.stores.online.codec import event_time_of
from aquifer.stores.online.interface import OnlineStore, OnlineStoreUnavailable, open_online_store
from aquifer.times import from_micros

log = logging.getLogger("aquifer.stream")


class StreamError(RuntimeError):
    """A worker cannot start (no such topic, a view without a Kafka source, ...)."""


class StreamListener(Protocol):
    """Told when a worker starts, after each checkpoint's flush, and when it stops (``error`` None when clean)."""

    def stream_started(self, worker: StreamWorker) -> None:
        """The topics exist; consuming starts."""

    def stream_checkpoint(self, worker: StreamWorker) -> None:
        """A view's checkpoint flush wrote its windows, landed events and state (about to be committed)."""

    def stream_stopped(self, worker: StreamWorker, error: str | None) -> None:
        """The worker stopped: cleanly (``error`` None) or with an exception."""


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
    commit_interval: float = 5.0
    """Seconds between checkpoints (state and offsets committed; quix's default). Values reach the online store
    every ``emit_interval`` whatever this is; a longer interval flushes each busy key's state once for more of its
    events (at 1 s the flush cost about 14% of the worker's CPU in ``bench/stream.py``) and replays more after a
    crash."""
    emit_interval: float = 0.25
    """Seconds between emissions while events flow: closed windows are readable online this soon after the
    watermark passes their end, without committing state that often."""
    catch_up_lag: timedelta | None = timedelta(minutes=5)
    """A partition whose newest event time is more than this behind the wall clock is catching up (reading a
    backlog): while its messages keep coming, its windows are emitted at checkpoints (and whenever a poll returns
    nothing) instead of every ``emit_interval``. Its values are at least this old anyway; emitting once per
    checkpoint halves the emission work of a backlog (a key due once per checkpoint, not once per round).
    None: emit every ``emit_interval`` always."""
    gc_threshold: int | None = 100_000
    """Python's gen-0 gc threshold while the worker runs (``gc_threshold`` in worker.py; None keeps Python's)."""
    processing_guarantee: str = "at-least-once"
    """Or ``exactly-once`` on a Kafka whose transactions isolate (the online writes are idempotent either way)."""
    auto_offset_reset: str = "earliest"
    loglevel: str = "WARNING"
    max_reconnects: int = 8
    """Checkpoints lost to the broker in a row (no event processed between them) before the worker gives up."""
    root: Path | None = None
    """The repo root: relative ``batch_source`` paths (where accepted events land) are resolved against it."""
    land: bool | None = None
    """Land accepted events into the view's ``batch_source``: None when it can take them (else a note says why
    not), True required (else ``StreamError``), False never."""

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> StreamSettings:
        """Settings from ``aquifer.yaml`` (``kafka``, ``online_store``, ``batch.default_lateness``)."""
        values: dict[str, Any] = {
            "kafka": config.kafka, "online_store": config.online_store, "project": config.project,
            "state_dir": config.root / ".aquifer" / "stream-state", "default_lateness": config.default_lateness,
            "root": config.root,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def default_group(project: str, views: Sequence[AggregationView]) -> str:
    """``aquifer.<project>.<view>+<view>.<crc>``: the crc follows the views' aggregations and the state's byte
    format, so a changed view (or an aquifer with a new format) starts a new group (and new state) that computes
    it again from the topic's start."""
    layout = repr(sorted((v.name, [(a.column, a.function, a.window, a.feature_name) for a in v.aggregations])
                         for v in views))
    layout += f"/state-v{STATE_VERSION}"
    names = "+".join(sorted(v.name for v in views))
    return f"aquifer.{project}.{names}.{zlib.crc32(layout.encode()):08x}"


@contextlib.contextmanager
def gc_threshold(threshold: int | None) -> Iterator[None]:
    """Python's youngest-generation gc threshold raised to ``threshold`` while the worker runs (None: unchanged).

    The worker's caches hold tens of thousands of long-lived objects; at Python's default (700) the collector
    ran over 1,000 times per 100k events and its full collections cost about 12 µs per event, while the step
    creates almost no reference cycles. The old thresholds come back when the worker stops.
    """
    if threshold is None:
        yield
        return
    old = gc.get_threshold()
    gc.set_threshold(threshold, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _now_us() -> int:
    return time.time_ns() // 1000


def _never(_: Any) -> bool:
    return False


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "backslashreplace")


@dataclass
class ViewStream:
    """The stateful step of one view: events in, dead letters out, windows emitted into partition caches."""

    view: AggregationView
    sink: OnlineSink
    lateness_us: int
    max_skew_us: int
    counts: Counter[str] = field(default_factory=Counter)
    landing: Any = None
    """An ``EventLanding`` (``land(partition, first_offset, last_offset, events)``) or None."""
    emit_interval: float = 0.25
    """Seconds between emissions while events flow (and at every checkpoint)."""
    catch_up_us: int | None = None
    """``StreamSettings.catch_up_lag`` in µs (None: never catching up)."""

    def __post_init__(self) -> None:
        self._last_emit = 0.0
        self._events_at_tick = 0
        self._future_bound = -1  # events after it are checked against the wall clock (``max_skew_us``)
        self.parser = EventParser(self.view)
        self.operator = WindowOperator(self.view.aggregations)
        self.ttl_us = duration_micros(self.view.ttl) if self.view.ttl else None
        self.caches: dict[int, PartitionCache] = {}
        from quixstreams import message_context

        self._message_context = message_context

    def process(self, value: bytes | None, key: bytes | None, timestamp: int, headers: Any, state: Any
                ) -> list[dict[str, Any]]:
        """One message: the dead letter it became, if any (its windows go to the partition's cache)."""
        context = self._message_context()
        counts = self.counts
        counts["events"] += 1
        cache = self.caches.get(context.partition)
        if cache is None:
            cache = self.caches[context.partition] = PartitionCache(self.operator, context.partition)
        cache.bind(state._transaction, context.offset)  # the partition's transaction: every key's state
        try:
            event = self.parser.parse(value, key)
        except BadEvent as exc:
            return [self._dead(exc.kind, str(exc), value, key)]
        ts, entity = event.ts_us, event.key
        if ts > self._future_bound:  # the wall clock is read again only for an event past the last bound
            self._future_bound = _now_us() + self.max_skew_us
            if ts > self._future_bound:
                return [self._dead(FUTURE, f"event time {ts} µs is more than {self.max_skew_us} µs after the wall "
                                   "clock", value, key)]
        op, clock = self.operator, cache.clock
        key_state = cache.states.get(entity)
        if key_state is None:
            key_state = self._state(cache, entity)
        _, late = op.on_event(key_state, ts, event.values, watermark_us=clock.watermark)
        if late:
            detail = "; ".join(f"{report.feature}: {report.reason}" for report in late)
            return [self._dead(LATE, detail, value, key)]
        counts["accepted"] += 1
        cache.dirty.add(entity)
        if self.landing is not None:
            cache.landed.append((ts, event.data))
        timers = cache.timers
        due = timers.due.get(entity)
        if due is None or due > ts:  # every window end the event adds is after ts: an earlier timer stands
            timers.lower(entity, op.first_end(ts))  # exact again when it fires
        clock.observe(ts, self.lateness_us)
        return []

    def tick(self) -> None:
        """After every poll, with a message or none: publish once ``emit_interval`` has passed, so the windows
        the last events closed are written while the stream is idle too, not only at the next checkpoint."""
        events = self.counts["events"]
        idle = events == self._events_at_tick  # no message since the last poll
        self._events_at_tick = events
        now = time.monotonic()
        if now - self._last_emit >= self.emit_interval:
            self._last_emit = now
            with contextlib.suppress(OnlineStoreUnavailable):  # pending vectors wait for the checkpoint's retry
                self.publish(all_partitions=idle)

    def publish(self, all_partitions: bool = True) -> int:
        """Emit the windows closed at each partition's watermark and write the pending vectors newer-wins;
        ``all_partitions=False`` leaves out the partitions that are catching up (``StreamSettings.catch_up_lag``).

        Between checkpoints too: a value written before its checkpoint commits is the value a replay computes
        again (and the store refuses as not newer), so only the state's commit waits for the checkpoint.
        """
        vectors: dict[str, bytes] = {}
        now_us = _now_us()
        for cache in self.caches.values():
            if cache.first_offset is not None and cache.clock.watermark is not None and (
                    all_partitions or not self._catching_up(cache, now_us)):
                self._emit_due(cache)  # one call per due key, however many of its windows closed
            vectors.update(cache.online)
        written = self.sink.write(vectors)
        self.counts["values_written"] += written
        for cache in self.caches.values():
            cache.online.clear()
        return written

    def _catching_up(self, cache: PartitionCache, now_us: int) -> bool:
        newest = cache.clock.max_seen
        return self.catch_up_us is not None and newest is not None and now_us - newest > self.catch_up_us

    def _emit_due(self, cache: PartitionCache) -> None:
        """Emit the windows of every key whose timer is due at the partition's watermark; evict idle keys."""
        op, watermark = self.operator, cache.clock.watermark
        assert watermark is not None
        for due in cache.timers.pop_due(watermark):
            key_state = self._state(cache, due)
            _, rows, emitted = op.advance(key_state, watermark)  # each feature's latest window: the vector's
            cache.dirty.add(due)
            if rows:
                self.counts["windows_emitted"] += emitted
                vector = self.sink.vector(cache.vector(due), rows)
                if vector is not None:
                    cache.set_vector(due, vector)
            next_emit = op.next_emit(key_state)
            if next_emit is None and self.ttl_us is not None:
                # idle: its window state goes at the flush; its online vector once it outlives the view's ttl
                newest = self._vector_time(cache.vector(due))
                if newest is not None:
                    if newest + self.ttl_us <= watermark:
                        cache.evict_vector(due)
                    else:
                        next_emit = newest + self.ttl_us
            cache.timers.set(due, next_emit)

    def _vector_time(self, vector: bytes | None) -> int | None:
        return None if vector is None else event_time_of(vector)

    def _state(self, cache: PartitionCache, key: str) -> Any:
        try:
            return cache.state(key)
        except StateMismatch as exc:
            raise StreamError(f"view {self.view.name!r}: the stored window state does not fit its aggregations "
                              f"({exc}): the view's aggregations or aquifer's state format changed since this consumer "
                              "group ran; stream it under a new group (the default group name follows both)") from None

    def flush(self) -> None:
        """At a checkpoint, before quix commits: emit every window closed at each partition's watermark, write
        the new online vectors (newer-wins), land the accepted events, then put the changed state into the
        checkpoint's transactions.

        An unreachable online store raises ``SinkBackpressureError``: quix drops the checkpoint (offsets and
        state stay at the last commit), pauses a second and processes the same events again, so windows wait
        for the store instead of being lost (``online_unavailable`` counts the attempts).
        """
        from quixstreams.sinks import SinkBackpressureError

        try:
            self.publish()
        except OnlineStoreUnavailable:
            self.counts["online_unavailable"] += 1
            self.drop()
            raise SinkBackpressureError(retry_after=1.0) from None
        for cache in self.caches.values():
            if self.landing is not None and cache.first_offset is not None:
                # also with no event accepted: it removes what an uncommitted attempt landed from these offsets
                assert cache.first_offset is not None and cache.last_offset is not None
                self.counts["events_landed"] += self.landing.land(cache.partition, cache.first_offset,
                                                                   cache.last_offset, list(cache.landed))
            cache.flush()

    def drop(self) -> None:
        """Forget every cache (the checkpoint they belong to will not be committed)."""
        for cache in self.caches.values():
            cache.reset()

    def _dead(self, kind: str, detail: str, value: bytes | None, key: bytes | None) -> dict[str, Any]:
        context = self._message_context()
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
                 online: OnlineStore | None = None, listeners: Sequence[StreamListener] = ()) -> None:
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
                       duration_micros(view.allowed_lateness or settings.default_lateness), skew,
                       emit_interval=settings.emit_interval,
                       catch_up_us=None if settings.catch_up_lag is None else duration_micros(settings.catch_up_lag))
            for view in views
        ]
        self.notes: list[str] = []
        """What the worker will not do and why (e.g. a view whose events cannot be landed)."""
        for stream in self.streams:
            stream.landing = self._landing(stream.view)
        self.group = settings.consumer_group or default_group(settings.project, views)
        self.listeners = list(listeners)
        self.reconnects = 0
        self._stopping = False
        self.app: Any = None
        self._stop_when: Callable[[StreamWorker], bool] | None = None

    def _landing(self, view: AggregationView) -> EventLanding | None:
        wanted = self.settings.land
        if wanted is False:
            return None
        try:
            landing = None if self.settings.root is None else EventLanding.for_view(view, self.settings.root)
        except ValueError as exc:
            if wanted:
                raise StreamError(f"view {view.name!r}: its events cannot be landed: {exc}") from None
            self.notes.append(f"view {view.name!r}: not landing its events: {exc}")
            return None
        if landing is None:
            reason = "no repo root given" if self.settings.root is None else "its KafkaSource has no batch_source"
            if wanted:
                raise StreamError(f"view {view.name!r}: its events cannot be landed: {reason}")
            self.notes.append(f"view {view.name!r}: not landing its events: {reason}")
        return landing

    def report(self) -> dict[str, dict[str, Any]]:
        """Per view: its counters, and per partition the last committed offset and the watermark (ISO)."""
        out: dict[str, dict[str, Any]] = {}
        for stream in self.streams:
            partitions = {
                str(p): {"offset": c.committed_offset,
                         "watermark": None if c.clock.watermark is None else from_micros(c.clock.watermark).isoformat()}
                for p, c in sorted(stream.caches.items())
            }
            out[stream.view.name] = {"topic": stream.view.source.topic,  # type: ignore[union-attr]
                                     "counts": dict(stream.counts), "partitions": partitions,
                                     "landing": stream.landing is not None}
        return out

    @property
    def events(self) -> int:
        """Messages processed since the worker started (every view's; cheap enough to ask after each message)."""
        streams = self.streams
        if len(streams) == 1:
            return streams[0].counts["events"]
        return sum(stream.counts["events"] for stream in streams)

    @property
    def counts(self) -> Counter[str]:
        """Every view's counters, summed."""
        total: Counter[str] = Counter()
        for stream in self.streams:
            total.update(stream.counts)
        if self.reconnects:
            total["reconnects"] = self.reconnects
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
                               processing_guarantee=s.processing_guarantee,
                               # an idle poll returns within an emit interval: its tick writes what closed
                               consumer_poll_timeout=min(1.0, s.emit_interval), **quix_app_settings(s.kafka))
        for stream in self.streams:
            source = stream.view.source
            topic = self.app.topic(source.topic, value_deserializer="bytes", key_deserializer="bytes")  # type: ignore[union-attr]
            dead = self.app.topic(self.dead_letter_topic(stream.view), value_serializer="json", key_serializer="bytes")
            letters = self.app.dataframe(topic).apply(self._step(stream), stateful=True, metadata=True, expand=True)
            letters.to_topic(dead)
            letters.filter(_never).sink(checkpoint_sink(self._flush(stream), stream.drop))
            # run by the Application's loop after each poll, between the message and the checkpoint's commit
            self.app._dataframe_registry.register_periodic_task(stream.tick)
        return self.app

    def _flush(self, stream: ViewStream) -> Callable[[], None]:
        def flush() -> None:
            stream.flush()
            for listener in self.listeners:
                listener.stream_checkpoint(self)

        return flush

    def _step(self, stream: ViewStream) -> Callable[..., Any]:
        def step(value: bytes | None, key: bytes | None, timestamp: int, headers: Any, state: Any) -> Any:
            records = stream.process(value, key, timestamp, headers, state)
            if self._stop_when is not None and self._stop_when(self):
                self.app.stop()
            return records

        return step

    def run(self, stop_when: Callable[[StreamWorker], bool] | None = None) -> None:
        """Consume until stopped; ``stop_when(worker)`` is asked after each message (tests, bounded runs).

        A lost connection to the broker that costs the worker its checkpoint (a commit refused after the group
        moved on, undelivered changelogs) does not end it: the uncommitted work is dropped (it is processed
        again, and every write is idempotent), and a new Application rejoins the group after a pause that
        doubles up to 30 s. ``reconnects`` counts them; ``settings.max_reconnects`` in a row without an event
        processed in between ends the worker with the last error.
        """
        self._stop_when = stop_when
        self._stopping = False
        error: str | None = None
        try:
            self.check_topics()
            for listener in self.listeners:
                listener.stream_started(self)
            with gc_threshold(self.settings.gc_threshold):
                self._run_reconnecting()
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            try:
                for listener in self.listeners:
                    listener.stream_stopped(self, error)
            finally:
                if self._own_online:
                    self.online.close()

    def _run_reconnecting(self) -> None:
        from quixstreams.checkpointing.exceptions import CheckpointProducerTimeout
        from quixstreams.kafka.exceptions import KafkaConsumerException, KafkaProducerDeliveryError

        in_a_row, pause = 0, 1.0
        while True:
            seen = self.counts["events"]
            try:
                self.build().run()
                return
            except (KafkaConsumerException, KafkaProducerDeliveryError, CheckpointProducerTimeout) as exc:
                for stream in self.streams:
                    stream.drop()
                self.app = None
                if self.counts["events"] > seen:
                    in_a_row, pause = 0, 1.0
                in_a_row += 1
                self.reconnects += 1
                if self._stopping or in_a_row > self.settings.max_reconnects:
                    raise
                log.warning("stream worker lost its checkpoint (%s: %s); rejoining in %.0f s",
                            type(exc).__name__, exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, 30.0)
                if self._stopping:
                    return

    def stop(self) -> None:
        """Ask the running Application to stop (it flushes, commits and closes)."""
        self._stopping = True
        if self.app is not None:
            self.app.stop()
