"""Data sources: landed tables or files (``BatchSource``) and Kafka topics (``KafkaSource``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from aquifer.definitions.base import DefinitionError, Metadata, as_tuple, must_be, must_be_text
from aquifer.definitions.durations import DurationError, parse_duration
from aquifer.definitions.fields import Field, field_hint

SOURCE_FORMATS = ("parquet", "csv", "json", "delta", "table")
KAFKA_FORMATS = ("json", "avro", "protobuf")
TIMESTAMP_UNITS = ("s", "ms", "us", "ns")
"""Units of an epoch-number time column: ``timestamp_unit="ms"`` reads ``1717200000000`` as a time."""


def _check_unit(kind: str, name: str, unit: object, location: str | None) -> None:
    if unit is not None and unit not in TIMESTAMP_UNITS:
        raise DefinitionError(
            f"{kind} {name!r} timestamp_unit {unit!r} is not one of {', '.join(TIMESTAMP_UNITS)} "
            "(or None for timestamps and ISO 8601 text)",
            location,
        )


def _check_delay(source: BatchSource) -> None:
    """``availability_delay`` as a non-negative ``timedelta`` (None stays None: no delay)."""
    value = source.availability_delay
    if value is None:
        return
    try:
        delay = parse_duration(value)
    except DurationError as exc:
        raise DefinitionError(f"BatchSource {source.name!r} availability_delay: {exc}", source.location) from None
    if delay < timedelta(0):
        raise DefinitionError(
            f"BatchSource {source.name!r} availability_delay must not be negative, got {value!r} "
            "(it is how long after its event time a row can be used)", source.location,
        )
    object.__setattr__(source, "availability_delay", delay)


@dataclass(frozen=True)
class BatchSource(Metadata):
    """Rows at rest: a Parquet/CSV/JSON ``path`` (relative to the repo) or a catalog ``table``.

    ``schema`` is optional; when absent it is read cheaply from the Parquet footer where possible.
    Time columns (``timestamp_field``, ``created_timestamp_field``) hold timestamps, or ISO 8601 text
    (no offset = UTC); with ``timestamp_unit`` ("s", "ms", "us", "ns") they hold epoch numbers instead.
    ``timestamp_field=None`` declares a snapshot (a dimension table with no event time): views read it
    whole for every range, and a change of its files makes what it feeds stale (``docs/semantics.md``).
    ``availability_delay`` ("2h", a ``timedelta``): a row can be used only that long after its event time,
    by training joins and materialization alike (``docs/semantics.md``, "Data availability delay").
    """

    name: str
    path: str | None = None
    table: str | None = None
    timestamp_field: str | None = "event_ts"
    created_timestamp_field: str | None = None
    format: str = "parquet"
    schema: tuple[Field, ...] = ()
    timestamp_unit: str | None = None
    availability_delay: timedelta | str | None = None

    def __post_init__(self) -> None:
        self._init_metadata()
        who, at = self.who, self.location
        object.__setattr__(self, "schema", as_tuple(self.schema, who, "schema", at, Field, "Field objects", field_hint))
        _check_delay(self)
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        for attr in ("path", "table", "created_timestamp_field", "timestamp_field"):
            object.__setattr__(self, attr, must_be_text(getattr(self, attr), who, attr, at, optional=True))
        object.__setattr__(self, "format", must_be_text(self.format, who, "format", at))
        _check_unit("BatchSource", self.name, self.timestamp_unit, self.location)
        if self.path is not None and "://" in self.path:
            raise DefinitionError(
                f"BatchSource {self.name!r} path {self.path!r} is a URL: sources are read from a local or shared "
                "POSIX path (e.g. an NFS mount every Spark executor reaches); object stores are not supported yet",
                self.location,
            )
        if (self.path is None) == (self.table is None):
            raise DefinitionError(
                f"BatchSource {self.name!r} needs exactly one of path= or table=", self.location
            )
        if self.table is not None and self.format == "parquet":
            object.__setattr__(self, "format", "table")
        if self.format not in SOURCE_FORMATS:
            raise DefinitionError(
                f"BatchSource {self.name!r} format {self.format!r} is not one of {', '.join(SOURCE_FORMATS)}",
                self.location,
            )

    @property
    def is_snapshot(self) -> bool:
        """True for a table with no event time (``timestamp_field=None``): read whole for every range."""
        return self.timestamp_field is None


@dataclass(frozen=True)
class KafkaSource(Metadata):
    """Events on a Kafka topic; ``batch_source`` names the same events landed at rest (for backfills).

    ``timestamp_unit`` describes the events' time field on the topic; batch reads of the landed events
    follow the ``batch_source``'s own declaration (it describes its files).
    """

    name: str
    topic: str = ""
    timestamp_field: str = "event_ts"
    format: str = "json"
    batch_source: BatchSource | None = None
    schema: tuple[Field, ...] = ()
    key_field: str | None = None
    timestamp_unit: str | None = None

    def __post_init__(self) -> None:
        self._init_metadata()
        who, at = self.who, self.location
        object.__setattr__(self, "schema", as_tuple(self.schema, who, "schema", at, Field, "Field objects", field_hint))
        if self.topic == "" or self.topic is None:
            raise DefinitionError(f"KafkaSource {self.name!r} needs a topic (topic=...)", self.location)
        for attr in ("topic", "timestamp_field", "format"):
            object.__setattr__(self, attr, must_be_text(getattr(self, attr), who, attr, at))
        object.__setattr__(self, "key_field", must_be_text(self.key_field, who, "key_field", at, optional=True))
        must_be(self.batch_source, BatchSource, who, "batch_source", "a BatchSource object", at, optional=True)
        _check_unit("KafkaSource", self.name, self.timestamp_unit, self.location)
        if self.format not in KAFKA_FORMATS:
            raise DefinitionError(
                f"KafkaSource {self.name!r} format {self.format!r} is not one of {', '.join(KAFKA_FORMATS)}",
                self.location,
            )

    @property
    def created_timestamp_field(self) -> str | None:
        """Kafka events carry no separate ingestion time unless their landed batch source does."""
        return self.batch_source.created_timestamp_field if self.batch_source else None


Source = BatchSource | KafkaSource
