"""UTC time helpers for planning: rounding to units. ``as_utc`` and ``parse_time`` live in ``aquifer.times``."""

from __future__ import annotations

from datetime import datetime, timedelta

from aquifer.times import EPOCH, as_utc, parse_time

__all__ = ["DAY", "EPOCH", "as_utc", "ceil_time", "floor_time", "parse_time"]

DAY = timedelta(days=1)


def _check_unit(unit: timedelta) -> None:
    if unit <= timedelta(0):
        raise ValueError(f"time unit must be positive, got {unit}")


def floor_time(ts: datetime, unit: timedelta) -> datetime:
    """The latest multiple of ``unit`` since the Unix epoch that is ``<= ts`` (``DAY`` → UTC midnight)."""
    _check_unit(unit)
    ts = as_utc(ts)
    return ts - (ts - EPOCH) % unit


def ceil_time(ts: datetime, unit: timedelta) -> datetime:
    """The earliest multiple of ``unit`` since the Unix epoch that is ``>= ts``."""
    floor = floor_time(ts, unit)
    return floor if floor == as_utc(ts) else floor + unit
