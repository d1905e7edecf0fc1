"""Push: rows sent by a caller, checked, written online newer-wins and, for a Kafka source, produced to its topic.

Two steps, so nothing is written before every row is known good:

1. ``plan_push(view, rows, project)`` checks every row (nothing is sent anywhere) and returns a ``PushPlan``:
   the online writes (one blob per entity key, encoded by the view's ``ViewCodec``; ``event_ts`` is the row's
   time, ``created_ts`` the push time) and the Kafka messages. Any bad row raises ``BadRows`` listing every
   bad row's index, field and reason; a view that cannot take pushes raises ``PushRefused``.
2. ``execute_push(plan, online, project, producer)`` produces the messages first (waiting for every
   delivery), then writes online through the newer-wins script and records the view's newest time for
   freshness, as materialization does.

What a row is depends on the view:

- ``FeatureView``: the view's join keys, its event-time column (the source's ``timestamp_field`` for a view
  passing a source through, else the view's ``timestamp_field``) and every feature (null allowed). Times are
  ISO 8601 text, or epoch numbers when the source declares ``timestamp_unit``. Values must have their
  declared types (integers for Int64/Int32, numbers for floats, text for String, true/false for Bool, ISO
  text for Timestamp features, base64 text for Bytes). Other fields are refused (a typo must not silently
  null a feature), except a Kafka source's declared schema columns and ``key_field``, which are produced
  along. When the view reads a ``KafkaSource`` the rows are its events: they are produced to the topic too,
  so the stream's landing keeps them offline; a view that *transforms* a Kafka source is refused (its rows
  are outputs, not the topic's events).
- ``AggregationView`` (its source must be a ``KafkaSource``): rows are raw events, checked by the stream's
  own ``EventParser`` (the errors a dead letter would carry) and produced; the stream workers compute the
  windows, nothing is written online here.

Produced messages are JSON; the message key is the row's ``key_field`` value when the source declares one,
else the encoded entity key (what the stream and the online store key by). The time field is written as the
source declares it: ISO 8601 text, or an epoch number in ``timestamp_unit``.

Order, and why: produce first, then write online. A produce failure (broker unreachable, topic missing,
delivery timed out) stops the push before anything is written online, so online never holds values the topic
(and so the offline store) will not. If the online write fails after the produce, the rows are in the topic
(the landing and the next materialization still carry them); retrying the push is safe online (newer-wins)
but produces the events again (the topic is at-least-once, as every Kafka producer with retries is).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource
from aquifer.engines.stream.events import (
    BEFORE_EPOCH,
    FUTURE,
    MISSING_KEY,
    MISSING_TIMESTAMP,
    UNIT_MICROS,
    WRONG_TYPE,
    BadEvent,
    EventParser,
    event_time,
)
from aquifer.engines.stream.kafka_config import kafka_client_config
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.interface import OnlineStore, OnlineStoreUnavailable, Write
from aquifer.stores.online.keys import EntityGroup, EntityKeyError, entity_group, render
from aquifer.times import from_micros, parse_time

log = logging.getLogger("aquifer.push")

MAX_ROWS = 10_000
"""Rows one push may carry."""
MAX_SKEW = timedelta(minutes=10)
"""A row timed later than now plus this is refused (``future``), as the stream worker's default ``max_skew``:
a far-future value would otherwise win every newer-wins comparison until that time."""
MESSAGE_TIMEOUT_MS = 10_000
"""librdkafka's ``message.timeout.ms`` for pushes unless the ``kafka.conf`` section sets it: how long a push
waits for the broker before it is reported as failed."""
MAX_REPORTED_ERRORS = 100

MISSING_FIELD = "missing_field"
UNKNOWN_FIELD = "unknown_field"

_INT_RANGES = {"Int64": (-(2**63), 2**63 - 1), "Int32": (-(2**31), 2**31 - 1)}
_FLOAT32_MAX = 3.4028234663852886e38
_QUOTED = re.compile(r"'([^']+)'")


class PushError(Exception):
    """Base of the push errors."""


class PushRefused(PushError):
    """The view cannot take pushes as asked (not online, no Kafka source for events, a transformed stream)."""


class TooManyRows(PushError):
    """More rows than ``MAX_ROWS`` in one push."""


@dataclass(frozen=True)
class RowError:
    """One bad value: the row's index in the request, the field (None when the row as a whole), why."""

    row: int
    field: str | None
    kind: str
    message: str


class BadRows(PushError):
    """Some rows are bad; ``errors`` lists them (first ``MAX_REPORTED_ERRORS``), ``bad_rows`` counts them."""

    def __init__(self, errors: Sequence[RowError], bad_rows: int) -> None:
        first = errors[0]
        super().__init__(f"{bad_rows} bad row(s); row {first.row}: {first.message}")
        self.errors = list(errors)
        self.bad_rows = bad_rows


class ProduceFailed(PushError):
    """Kafka did not take every message: ``delivered`` of ``total`` reached ``topic``; nothing was written online."""

    def __init__(self, topic: str, reason: str, delivered: int = 0, total: int = 0) -> None:
        part = f" ({delivered} of {total} messages were delivered)" if delivered else ""
        super().__init__(f"could not produce to Kafka topic {topic!r}: {reason}{part}; nothing was written online")
        self.topic, self.reason, self.delivered, self.total = topic, reason, delivered, total


class OnlineWriteFailed(PushError):
    """The online store failed after the rows were produced: they are in ``topic``, not online."""

    def __init__(self, topic: str | None, produced: int, reason: str) -> None:
        where = f"; the rows were produced to Kafka topic {topic!r} ({produced} messages)" if produced else ""
        super().__init__(f"{reason}{where}: retrying the push is safe online (newer-wins) but produces them again"
                         if produced else reason)
        self.topic, self.produced = topic, produced


@dataclass(frozen=True)
class PushPlan:
    """What a checked push will do: online writes (one per entity key) and Kafka messages."""

    view: str
    rows: int
    writes: list[Write] = field(default_factory=list)
    newest_us: int = 0
    topic: str | None = None
    messages: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, JSON value)
    superseded: int = 0  # rows beaten by a newer row of the same entity in this push


@dataclass(frozen=True)
class PushResult:
    """What a push did: values written online, rows not written as not newer, messages produced."""

    view: str
    rows: int
    written: int
    skipped: int
    produced: int
    topic: str | None


def event_time_field(view: FeatureView) -> str:
    """The column holding a feature view's event time in its rows.

    A view passing a source through (no transform) keeps the source's ``timestamp_field``; any other view
    names its own (``engines.spark.compiler.output_timestamp`` applies the same rule to computed rows).
    """
    if view.transform is None and isinstance(view.source, BatchSource | KafkaSource):
        return view.source.timestamp_field
    return view.timestamp_field


def time_unit(view: FeatureView | AggregationView) -> str | None:
    """The epoch unit the pushed time field may be written in (the source's ``timestamp_unit``), else None."""
    if isinstance(view, FeatureView) and view.transform is not None:
        return None
    return getattr(view.source, "timestamp_unit", None)


def wire_time(value: Any, us: int, unit: str | None) -> Any:
    """A time as its source writes it: a number already in ``unit`` kept, else ISO text (no unit) or a number."""
    if unit is None:
        return from_micros(us).isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if unit == "ns":
        return us * 1000
    per = UNIT_MICROS[unit]
    return us // per if us % per == 0 else us / per


def plan_push(view: FeatureView | AggregationView, rows: Sequence[Mapping[str, Any]], project: str, *,
              now_us: int | None = None) -> PushPlan:
    """Check every row and build the plan (see the module docstring); nothing is written or sent.

    Raises ``TooManyRows``, ``PushRefused`` or ``BadRows``.
    """
    if len(rows) > MAX_ROWS:
        raise TooManyRows(f"{len(rows)} rows in one push; at most {MAX_ROWS}: split them")
    now = time.time_ns() // 1000 if now_us is None else now_us
    if isinstance(view, AggregationView):
        return _plan_events(view, rows, now)
    return _plan_feature_rows(view, rows, project, now)


def _kafka_source(view: FeatureView | AggregationView) -> KafkaSource | None:
    return view.source if isinstance(view.source, KafkaSource) else None


def _refuse_unless_json(view: FeatureView | AggregationView, source: KafkaSource) -> None:
    if source.format != "json":
        raise PushRefused(f"view {view.name!r} reads KafkaSource {source.name!r} in format {source.format!r}; "
                          "pushes produce JSON only")


def _message_key(row: Mapping[str, Any], source: KafkaSource, encoded: str) -> bytes:
    if source.key_field:
        return str(row[source.key_field]).encode()
    return encoded.encode()


def _native_key(value: Any, type_name: str, text: str) -> Any:
    """A join-key value as JSON should carry it (``"7"`` for an Int64 key becomes ``7``)."""
    if type_name in ("Int64", "Int32"):
        return int(text)
    if type_name == "Bool":
        return text == "true"
    if type_name == "String":
        return text
    return value


def _check_time(row: Mapping[str, Any], ts_field: str, unit: str | None, now: int, index: int,
                errors: list[RowError]) -> int | None:
    value = row.get(ts_field)
    if value is None:
        errors.append(RowError(index, ts_field, MISSING_TIMESTAMP, f"no time field {ts_field!r}"))
        return None
    try:
        us = event_time(value, unit, ts_field)
    except BadEvent as exc:
        errors.append(RowError(index, ts_field, exc.kind, str(exc)))
        return None
    if us < 0:
        errors.append(RowError(index, ts_field, BEFORE_EPOCH, f"time field {ts_field!r} is before 1970-01-01: "
                                                              f"{value!r}"))
        return None
    if us > now + _skew_us():
        errors.append(RowError(index, ts_field, FUTURE, f"time field {ts_field!r} is {value!r}, more than "
                                                        f"{MAX_SKEW} after now"))
        return None
    return us


def _skew_us() -> int:
    return int(MAX_SKEW.total_seconds() * 1_000_000)


def check_value(value: Any, type_name: str, name: str) -> Any:
    """``value`` as the online codec takes it for a feature of ``type_name``; ``ValueError`` naming ``name``.

    None is null for every type. A NaN float is null too (as the codec stores it).
    """
    if value is None:
        return None
    if type_name in _INT_RANGES:
        low, high = _INT_RANGES[type_name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"field {name!r} must be an integer ({type_name}), got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"field {name!r} is {value}, out of {type_name}'s range")
        return value
    if type_name in ("Float64", "Float32"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"field {name!r} must be a number ({type_name}), got {value!r}")
        number = float(value)
        if type_name == "Float32" and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
            raise ValueError(f"field {name!r} is {value}, out of Float32's range")
        return number
    if type_name == "String":
        if not isinstance(value, str):
            raise ValueError(f"field {name!r} must be text (String), got {value!r}")
        return value
    if type_name == "Bool":
        if not isinstance(value, bool):
            raise ValueError(f"field {name!r} must be true or false (Bool), got {value!r}")
        return value
    if type_name == "Timestamp":
        if not isinstance(value, str):
            raise ValueError(f"field {name!r} must be ISO 8601 text (Timestamp), got {value!r}")
        return parse_time(value, f"field {name!r}")  # ValueError names the field
    if type_name == "Bytes":
        if not isinstance(value, str):
            raise ValueError(f"field {name!r} must be base64 text (Bytes), got {value!r}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"field {name!r} is not base64 text (Bytes): {value!r}") from None
    raise ValueError(f"field {name!r} has type {type_name}, which pushes do not take")


def _check_keys(row: Mapping[str, Any], group: EntityGroup, index: int, errors: list[RowError]
                ) -> tuple[str, dict[str, Any]] | None:
    """``(encoded entity key, {join key: JSON value})``, or None after adding the row's key errors."""
    native: dict[str, Any] = {}
    ok = True
    for key, type_name in zip(group.join_keys, group.key_types, strict=True):
        value = row.get(key)
        if value is None:
            errors.append(RowError(index, key, MISSING_KEY, f"no join key {key!r}"))
            ok = False
            continue
        try:
            text = render(value, type_name, key)
        except EntityKeyError as exc:
            errors.append(RowError(index, key, WRONG_TYPE, str(exc)))
            ok = False
            continue
        native[key] = _native_key(value, type_name, text)
    if not ok:
        return None
    return group.encode([row[k] for k in group.join_keys]), native


def _plan_feature_rows(view: FeatureView, rows: Sequence[Mapping[str, Any]], project: str, now: int) -> PushPlan:
    source = _kafka_source(view)
    if source is not None:
        _refuse_unless_json(view, source)
        if view.transform is not None:
            raise PushRefused(
                f"view {view.name!r} transforms KafkaSource {source.name!r}: its rows are the transform's output, "
                f"not events of topic {source.topic!r}; push the events to a view reading the source as is (or "
                "produce them to the topic)")
    elif not view.online:
        raise PushRefused(f"view {view.name!r} is not served online (online=False) and has no Kafka source: a push "
                          "would write nowhere")
    group = entity_group(view)
    codec = ViewCodec.for_view(view)
    ts_field, unit = event_time_field(view), time_unit(view)
    features = [(f.name, f.dtype.name) for f in view.features]
    known = {*group.join_keys, ts_field, *codec.names}
    extra_types: dict[str, str] = {}
    open_schema = False
    if source is not None:
        extra_types = {f.name: f.dtype.name for f in source.schema if f.name not in known}
        open_schema = not source.schema  # undeclared: the topic's other columns are unknown, pass them on
        if source.key_field:
            known.add(source.key_field)
    known |= set(extra_types)

    errors: list[RowError] = []
    bad_rows = 0
    winners: dict[str, tuple[int, int]] = {}  # Redis key -> (event µs, row index)
    blobs: list[bytes | None] = [None] * len(rows)
    messages: list[tuple[bytes, bytes]] = []
    newest = 0
    for index, row in enumerate(rows):
        row_errors: list[RowError] = []
        checked = _check_keys(row, group, index, row_errors)
        us = _check_time(row, ts_field, unit, now, index, row_errors)
        values = []
        for name, type_name in features:
            if name not in row:
                row_errors.append(RowError(index, name, MISSING_FIELD,
                                           f"no feature {name!r} (send null for a null value)"))
                continue
            try:
                values.append(check_value(row[name], type_name, name))
            except ValueError as exc:
                row_errors.append(RowError(index, name, WRONG_TYPE, str(exc)))
        for name, value in row.items():
            if name in extra_types:
                try:
                    check_value(value, extra_types[name], name)
                except ValueError as exc:
                    row_errors.append(RowError(index, name, WRONG_TYPE, str(exc)))
            elif name not in known and not open_schema:
                row_errors.append(RowError(index, name, UNKNOWN_FIELD, _unknown(view, name, known)))
        if source is not None and source.key_field and source.key_field not in group.join_keys \
                and row.get(source.key_field) is None:
            row_errors.append(RowError(index, source.key_field, MISSING_KEY,
                                       f"no key field {source.key_field!r} (the source's key_field)"))
        if row_errors or checked is None or us is None:
            errors.extend(row_errors)
            bad_rows += 1
            continue
        encoded, native = checked
        if source is not None:
            event = {**row, **native, ts_field: wire_time(row[ts_field], us, unit)}
            try:
                payload = json.dumps(event, allow_nan=False, separators=(",", ":")).encode()
            except ValueError:
                errors.append(RowError(index, None, WRONG_TYPE, "NaN or infinite numbers cannot be produced as JSON"))
                bad_rows += 1
                continue
            messages.append((_message_key(row, source, encoded), payload))
        if not errors and view.online:
            redis_key = group.prefix(project) + encoded
            blobs[index] = codec.encode(values, us, now)
            best = winners.get(redis_key)
            if best is None or us >= best[0]:  # equal times: the later row of the push wins
                winners[redis_key] = (us, index)
            newest = max(newest, us)
    if errors:
        raise BadRows(errors[:MAX_REPORTED_ERRORS], bad_rows)
    writes: list[Write] = []
    for redis_key, (_, index) in winners.items():
        blob = blobs[index]
        assert blob is not None
        writes.append((redis_key, ((view.name, blob),)))
    return PushPlan(view.name, len(rows), writes, newest, source.topic if source else None, messages,
                    superseded=len(rows) - len(writes) if view.online else 0)


def _unknown(view: FeatureView, name: str, known: set[str]) -> str:
    return (f"field {name!r} is not a join key, the time field or a feature of view {view.name!r} "
            f"(expected: {', '.join(sorted(known))})")


def _plan_events(view: AggregationView, rows: Sequence[Mapping[str, Any]], now: int) -> PushPlan:
    source = _kafka_source(view)
    if source is None:
        raise PushRefused(
            f"aggregation view {view.name!r} reads {type(view.source).__name__} "
            f"{getattr(view.source, 'name', '?')!r}, not a KafkaSource: its windows are computed in batch "
            "(aquifer run), and pushed events would have no stream to reach")
    _refuse_unless_json(view, source)
    try:
        parser = EventParser(view)
    except ValueError as exc:
        raise PushRefused(str(exc)) from None
    group = parser.group
    ts_field, unit = source.timestamp_field, source.timestamp_unit
    errors: list[RowError] = []
    bad_rows = 0
    messages: list[tuple[bytes, bytes]] = []
    for index, row in enumerate(rows):
        try:
            raw = json.dumps(row, allow_nan=False).encode()
        except ValueError:
            errors.append(RowError(index, None, WRONG_TYPE, "NaN or infinite numbers cannot be produced as JSON"))
            bad_rows += 1
            continue
        try:
            event = parser.parse(raw)
            if event.ts_us > now + _skew_us():
                raise BadEvent(FUTURE, f"time field {ts_field!r} is {row.get(ts_field)!r}, more than {MAX_SKEW} "
                                       "after now")
            if source.key_field and row.get(source.key_field) is None:
                raise BadEvent(MISSING_KEY, f"no key field {source.key_field!r} (the source's key_field)")
        except BadEvent as exc:
            errors.append(RowError(index, _field_of(exc, ts_field), exc.kind, str(exc)))
            bad_rows += 1
            continue
        if errors:
            continue  # already failing: only collect the other rows' errors
        native = {k: _native_key(row[k], t, text) for k, t, text in
                  zip(group.join_keys, group.key_types, _split_rendered(row, group), strict=True)}
        payload = {**row, **native, ts_field: wire_time(row[ts_field], event.ts_us, unit)}
        messages.append((_message_key(row, source, event.key),
                         json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()))
    if errors:
        raise BadRows(errors[:MAX_REPORTED_ERRORS], bad_rows)
    return PushPlan(view.name, len(rows), topic=source.topic, messages=messages)


def _split_rendered(row: Mapping[str, Any], group: EntityGroup) -> list[str]:
    return [render(row[k], t, k) for k, t in zip(group.join_keys, group.key_types, strict=True)]


def _field_of(exc: BadEvent, ts_field: str) -> str | None:
    """The field a ``BadEvent`` is about: the time field for time kinds, else the first name it quotes."""
    if exc.kind in (MISSING_TIMESTAMP, BEFORE_EPOCH, FUTURE):
        return ts_field
    found = _QUOTED.search(str(exc))
    return found.group(1) if found else None


class KafkaProducer:
    """One long-lived confluent-kafka producer for pushes, built from the ``kafka:`` section on first use.

    Thread-safe: requests produce concurrently and each waits only for its own deliveries.
    """

    def __init__(self, kafka: Mapping[str, Any]) -> None:
        conf = kafka_client_config(kafka, "producer")
        if "message.timeout.ms" not in conf and "delivery.timeout.ms" not in conf:
            conf["message.timeout.ms"] = MESSAGE_TIMEOUT_MS
        self.conf = conf
        self.timeout_s = int(conf.get("message.timeout.ms", conf.get("delivery.timeout.ms"))) / 1000
        self.servers = str(conf.get("bootstrap.servers"))
        self._producer: Any = None
        self._lock = threading.Lock()
        self._known_topics: set[str] = set()

    def _client(self) -> Any:
        with self._lock:
            if self._producer is None:
                from confluent_kafka import Producer

                self._producer = Producer({**self.conf, "logger": logging.getLogger("aquifer.push.kafka")})
            return self._producer

    def _check_topic(self, producer: Any, topic: str) -> None:
        """``ProduceFailed`` unless the broker answers and has ``topic``.

        Asks for every topic's metadata, not ``topic``'s: a broker with ``auto.create.topics.enable`` creates a
        topic it is asked about, and a push must not create a misspelled topic. Remembered once found.
        """
        from confluent_kafka import KafkaException

        try:
            meta = producer.list_topics(timeout=min(5.0, self.timeout_s))
        except KafkaException as exc:
            error = exc.args[0]
            detail = error.str() if hasattr(error, "str") else str(error)
            raise ProduceFailed(topic, f"the Kafka broker at {self.servers} did not answer ({detail})") from None
        described = meta.topics.get(topic)
        if described is None:
            raise ProduceFailed(topic, f"the topic does not exist on {self.servers}")
        if described.error is not None:
            raise ProduceFailed(topic, f"{described.error.str()} (on {self.servers})")
        self._known_topics.add(topic)

    def produce(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> int:
        """Produce ``messages`` to ``topic`` and wait for every delivery; ``ProduceFailed`` unless all arrived."""
        if not messages:
            return 0
        producer = self._client()
        if topic not in self._known_topics:
            self._check_topic(producer, topic)
        outcome = {"delivered": 0, "failed": 0}
        failures: list[str] = []
        lock = threading.Lock()

        def delivered(err: Any, _msg: Any) -> None:
            with lock:
                if err is None:
                    outcome["delivered"] += 1
                else:
                    outcome["failed"] += 1
                    failures.append(str(err))

        deadline = time.monotonic() + self.timeout_s + 5.0
        for key, value in messages:
            while True:
                try:
                    producer.produce(topic, value=value, key=key, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
                    if time.monotonic() > deadline:
                        raise ProduceFailed(topic, "the producer's queue stayed full", outcome["delivered"],
                                            len(messages)) from None
            producer.poll(0)
        while outcome["delivered"] + outcome["failed"] < len(messages) and time.monotonic() < deadline:
            producer.poll(0.05)
        if outcome["delivered"] < len(messages):
            reason = failures[0] if failures else f"deliveries not confirmed within {self.timeout_s:g}s"
            raise ProduceFailed(topic, reason, outcome["delivered"], len(messages))
        return outcome["delivered"]

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds) and drop the client."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(timeout)


def execute_push(plan: PushPlan, online: OnlineStore, project: str, producer: KafkaProducer | None) -> PushResult:
    """Run a checked plan: produce (when it has a topic), then write online and record the newest time.

    ``ProduceFailed`` leaves the online store untouched; ``OnlineWriteFailed`` (the online store is unreachable)
    says how many messages were produced before (see the module docstring).
    """
    produced = 0
    if plan.topic is not None and plan.messages:
        if producer is None:
            raise ProduceFailed(plan.topic, "no Kafka producer is configured")
        produced = producer.produce(plan.topic, plan.messages)
    written = 0
    if plan.writes:
        try:
            written = online.write(plan.writes)
            if written:
                online.record_newest(project, {plan.view: plan.newest_us})
        except OnlineStoreUnavailable as exc:
            raise OnlineWriteFailed(plan.topic, produced, str(exc)) from exc
    skipped = plan.superseded + (len(plan.writes) - written)
    log.info("push %s: %d rows, %d written online, %d not newer, %d produced", plan.view, plan.rows, written,
             skipped, produced)
    return PushResult(plan.view, plan.rows, written, skipped, produced, plan.topic)


def push(view: FeatureView | AggregationView, rows: Sequence[Mapping[str, Any]], *, online: OnlineStore,
         project: str, producer: KafkaProducer | None = None) -> PushResult:
    """``plan_push`` then ``execute_push``: check every row, then produce and write (see the module docstring)."""
    return execute_push(plan_push(view, rows, project), online, project, producer)


__all__ = [
    "MAX_ROWS",
    "MAX_SKEW",
    "BadRows",
    "KafkaProducer",
    "OnlineWriteFailed",
    "ProduceFailed",
    "PushError",
    "PushPlan",
    "PushRefused",
    "PushResult",
    "RowError",
    "TooManyRows",
    "event_time_field",
    "execute_push",
    "plan_push",
    "push",
]
