"""Kafka payloads to events: JSON parsed, checked against the source's schema, keyed, timed.

Every refusal is a ``BadEvent`` with a ``kind`` (a counter name and the dead-letter reason) and a message that
names the field and value. The rules follow ``docs/semantics.md``: time fields hold ISO 8601 text (no offset
means UTC) or, only when the source declares ``timestamp_unit``, epoch numbers; a missing or null aggregation
column is a null value (the event still counts as an event); join keys are coerced to their declared types as
the online store's keys are. Columns that only ``first`` / ``last`` / ``min_by`` / ``max_by`` /
``approx_distinct`` read, and ``by`` columns, keep their JSON scalar (text, number or bool); every other
aggregated column must hold a number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from aquifer.definitions import AggregationView, KafkaSource
from aquifer.stores.online.keys import EntityKeyError, entity_group
from aquifer.times import parse_time, to_micros

UNIT_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}

MALFORMED = "malformed"
MISSING_KEY = "missing_key"
MISSING_TIMESTAMP = "missing_timestamp"
WRONG_TYPE = "wrong_type"
BEFORE_EPOCH = "before_epoch"
FUTURE = "future"
LATE = "late"
KINDS = (MALFORMED, MISSING_KEY, MISSING_TIMESTAMP, WRONG_TYPE, BEFORE_EPOCH, FUTURE, LATE)
"""Every dead-letter reason."""


class BadEvent(ValueError):
    """A payload that cannot be an event of the view; ``kind`` is one of ``KINDS``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Event(NamedTuple):
    """One accepted payload: the encoded entity key, the event time and the aggregation columns' values."""

    key: str
    ts_us: int
    values: dict[str, Any]
    data: dict[str, Any]
    """The decoded payload (what landing writes)."""


def event_time(value: Any, unit: str | None, field: str) -> int:
    """Epoch microseconds of a time field: ISO text, or a number in ``unit`` (``BadEvent`` otherwise)."""
    if isinstance(value, str):
        try:
            return to_micros(parse_time(value, f"time field {field!r}"))
        except (TypeError, ValueError) as exc:
            raise BadEvent(WRONG_TYPE, str(exc)) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadEvent(WRONG_TYPE, f"time field {field!r} must be ISO 8601 text or an epoch number, got {value!r}")
    if unit is None:
        raise BadEvent(WRONG_TYPE, f"time field {field!r} holds the number {value!r} but the source declares no "
                                   "timestamp_unit (s, ms, us or ns)")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadEvent(WRONG_TYPE, f"time field {field!r} is {value!r}")
    if unit == "ns":
        return int(value) // 1000  # towards the past, as Parquet nanoseconds are read
    return math.floor(value * UNIT_MICROS[unit])


_SCHEMA_CHECKS: dict[str, tuple[tuple[type, ...], str]] = {
    "Int64": ((int,), "an integer"), "Int32": ((int,), "an integer"),
    "Float64": ((int, float), "a number"), "Float32": ((int, float), "a number"),
    "String": ((str,), "text"), "Bool": ((bool,), "true or false"),
}
_NUMBERS = frozenset((int, float))


def _loads(payload: bytes) -> Any:
    """The JSON value of a payload: orjson, else the standard library (which also takes ``NaN`` and
    ``Infinity``, as the worker always did); ``BadEvent`` when neither can read it."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        try:
            return json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadEvent(MALFORMED, f"not JSON: {exc}") from None


class EventParser:
    """Turns one view's Kafka payloads into ``Event``s (see the module docstring)."""

    def __init__(self, view: AggregationView) -> None:
        source = view.source
        if not isinstance(source, KafkaSource):
            raise ValueError(f"view {view.name!r} reads {type(source).__name__} {getattr(source, 'name', '?')!r}, "
                             "not a KafkaSource: it has no stream")
        if source.format != "json":
            raise ValueError(f"KafkaSource {source.name!r}: the stream reads JSON events only (format "
                             f"{source.format!r})")
        self.source = source
        self.group = entity_group(view)
        raw = {"first", "last", "min_by", "max_by", "approx_distinct"}
        self.columns = tuple(dict.fromkeys(a.column for a in view.aggregations if a.function not in raw))
        self.raw_columns = tuple(c for c in dict.fromkeys(
            [*(a.column for a in view.aggregations if a.function in raw), *(a.by for a in view.aggregations if a.by)])
            if c not in self.columns)
        self.time_fields = tuple(f for f in (source.timestamp_field, source.created_timestamp_field) if f)
        self.schema = {f.name: f.dtype.name for f in source.schema if f.name not in self.time_fields}
        # For the hot path: the checked fields with the exact types JSON gives them (``type(v) in types`` is
        # ``isinstance`` minus bool where bool is not wanted), an integer time's scale to µs, and whether the
        # key is one integer (rendered with ``str``).
        self._checks = tuple((name, frozenset(_SCHEMA_CHECKS[type_name][0]))
                             for name, type_name in self.schema.items() if type_name in _SCHEMA_CHECKS)
        self._ts_field = source.timestamp_field
        unit = source.timestamp_unit
        self._int_scale = UNIT_MICROS.get(unit) if unit else None
        self._int_key = (self.group.join_keys[0] if len(self.group.join_keys) == 1
                         and self.group.key_types[0] in ("Int64", "Int32") else None)

    def parse(self, payload: bytes | None, message_key: bytes | None = None) -> Event:
        """The event a payload holds; ``BadEvent`` naming why it is refused.

        A join key missing from the payload is taken from the message key when the view has exactly one.
        """
        if payload is None:
            raise BadEvent(MALFORMED, "empty message (no value)")
        data = _loads(payload)
        if type(data) is not dict:
            raise BadEvent(MALFORMED, f"a JSON object was expected, got {type(data).__name__}")
        ts_field = self._ts_field
        raw_ts = data.get(ts_field)
        if raw_ts is None:
            raise BadEvent(MISSING_TIMESTAMP, f"no time field {ts_field!r}")
        if type(raw_ts) is int and self._int_scale is not None:
            ts = raw_ts * self._int_scale
        else:
            ts = event_time(raw_ts, self.source.timestamp_unit, ts_field)
        if ts < 0:
            raise BadEvent(BEFORE_EPOCH, f"time field {ts_field!r} is before 1970-01-01: {raw_ts!r}")
        for name, types in self._checks:
            value = data.get(name)
            if value is not None and type(value) not in types:
                self._check_schema(data)  # names the field (types JSON does not give end up here too)
        int_key = self._int_key
        if int_key is not None and type(key_value := data.get(int_key)) is int:
            key = str(key_value)
        else:
            key = self._key(data, message_key)
        return Event(key, ts, self._values(data), data)

    def _check_schema(self, data: Mapping[str, Any]) -> None:
        for name, type_name in self.schema.items():
            value = data.get(name)
            if value is None or type_name not in _SCHEMA_CHECKS:
                continue
            types, wanted = _SCHEMA_CHECKS[type_name]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise BadEvent(WRONG_TYPE, f"field {name!r} must be {wanted} ({type_name}), got {value!r}")

    def _key(self, data: dict[str, Any], message_key: bytes | None) -> str:
        values = []
        for name in self.group.join_keys:
            value = data.get(name)
            if value is None and message_key and len(self.group.join_keys) == 1:
                value = data[name] = message_key.decode("utf-8", "replace")  # landed events carry their key
            if value is None:
                raise BadEvent(MISSING_KEY, f"no join key {name!r}")
            values.append(value)
        try:
            return self.group.encode(values)
        except EntityKeyError as exc:
            raise BadEvent(WRONG_TYPE, str(exc)) from None

    def _values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for column in self.columns:
            value = data.get(column)
            if value is None:
                values[column] = None
            elif type(value) not in _NUMBERS:
                raise BadEvent(WRONG_TYPE, f"field {column!r} must be a number, got {value!r}")
            else:
                values[column] = float(value)
        for column in self.raw_columns:
            value = data.get(column)
            if value is not None and not isinstance(value, str | int | float):
                raise BadEvent(WRONG_TYPE, f"field {column!r} must be text, a number or true/false, got {value!r}")
            values[column] = value
        return values
