"""UTC handling: the registry takes and returns tz-aware UTC datetimes.

A naive datetime is taken to be UTC (the project-wide rule: "a time without an offset is UTC"); an aware
one is converted to UTC. Anything that is not a ``datetime`` (a ``date``, a string) is refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def to_utc(value: datetime, what: str = "time") -> datetime:
    """``value`` as a plain tz-aware UTC ``datetime`` (naive means UTC); refuses non-datetimes."""
    if not isinstance(value, datetime):
        kind = "a date without a time" if isinstance(value, date) else type(value).__name__
        raise TypeError(f"{what} must be a datetime, got {kind}: {value!r}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    # rebuild as a plain datetime (pandas.Timestamp and friends are subclasses with extra behaviour)
    return datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, tzinfo=UTC
    )


def utc_now() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp column that stores UTC and always returns tz-aware UTC.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text (same format for every row, so text
    comparison is time comparison).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
