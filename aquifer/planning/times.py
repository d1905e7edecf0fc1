"""UTC time helpers for planning: read ISO 8601 ("a time without an offset is UTC") and round to units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def as_utc(ts: datetime) -> datetime:
    """``ts`` in UTC; a naive datetime is taken to be UTC already."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def parse_time(text: str | datetime) -> datetime:
    """A tz-aware UTC datetime from ISO 8601 text (``2024-05-01``, ``2024-05-01T12:30``, ``...Z``,
    ``...+02:00``); a time without an offset is UTC. Datetimes pass through ``as_utc``."""
    if isinstance(text, datetime):
        return as_utc(text)
    cleaned = text.strip()
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"cannot read time {text!r}: use ISO 8601, e.g. '2024-05-01' or '2024-05-01T12:30:00Z' "
            "(a time without an offset is UTC)"
        ) from None
    return as_utc(parsed)


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
