"""Event times as integer epoch microseconds (what engines use) and as tz-aware UTC datetimes.

Integers are the primary representation: window arithmetic on them is exact and cheap. ``to_micros`` and
``from_micros`` are ``aquifer.times``'s (a naive datetime is UTC; datetimes coming back are tz-aware UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from aquifer.times import EPOCH, from_micros, to_micros

__all__ = ["EPOCH", "Duration", "Time", "duration_micros", "from_micros", "like", "to_micros"]

_MICRO = timedelta(microseconds=1)

Time = TypeVar("Time", int, datetime)
"""An event time: epoch microseconds (``int``) or a datetime. Functions return the kind they were given."""

Duration = int | timedelta
"""A duration: microseconds (``int``) or a ``timedelta``."""


def duration_micros(duration: Duration) -> int:
    """Microseconds of a duration; ints pass through."""
    if isinstance(duration, int):
        return duration
    return duration // _MICRO


def like(us: int, template: datetime | int) -> datetime | int:
    """``us`` as the same kind of time as ``template`` (an int, or a UTC datetime)."""
    return us if isinstance(template, int) else from_micros(us)
