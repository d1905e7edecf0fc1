"""UTC handling: the registry takes and returns tz-aware UTC datetimes (rules in ``aquifer.times``).

A naive datetime is taken to be UTC; an aware one is converted to UTC. Anything that is not a ``datetime``
(a ``date``, a string) is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from aquifer.times import as_utc


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
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)
