"""Event times as integer epoch microseconds (what engines use) and as tz-aware UTC datetimes.

Integers are the primary representation: window arithmetic on them is exact and cheap. A naive datetime
is read as UTC (the same rule as ``aquifer.planning.parse_time``); datetimes coming back are always
tz-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

Time = TypeVar("Time", int, datetime)
"""An event time: epoch microseconds (``int``) or a datetime. Functions return the kind they were given."""

Duration = int | timedelta
"""A duration: microseconds (``int``) or a ``timedelta``."""


def to_micros(ts: datetime | int) -> int:
    """Epoch microseconds of a datetime (naive means UTC); ints pass through."""
    if isinstance(ts, int):
        return ts
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - EPOCH) // _MICRO


def from_micros(us: int) -> datetime:
    """The tz-aware UTC datetime of epoch microseconds."""
    return EPOCH + timedelta(microseconds=us)


def duration_micros(duration: Duration) -> int:
    """Microseconds of a duration; ints pass through."""
    if isinstance(duration, int):
        return duration
    return duration // _MICRO


def like(us: int, template: datetime | int) -> datetime | int:
    """``us`` as the same kind of time as ``template`` (an int, or a UTC datetime)."""
    return us if isinstance(template, int) else from_micros(us)
