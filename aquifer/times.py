"""Times, one set of rules for the whole package: tz-aware UTC datetimes and integer epoch microseconds.

A time without an offset (a naive datetime, ISO 8601 text without ``Z`` or ``+hh:mm``) is UTC; an aware
time is converted to UTC. Engines, the online codec and window arithmetic count epoch microseconds.

Standard library only: pandas ``Timestamp`` and numpy ``datetime64`` values are recognised by their
attributes, so importing this module never imports pandas or numpy.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

__all__ = ["EPOCH", "as_utc", "from_micros", "parse_time", "to_micros"]


def as_utc(value: datetime, what: str = "time") -> datetime:
    """``value`` as a plain tz-aware UTC ``datetime`` (naive means UTC).

    Subclasses (``pandas.Timestamp``) come back as plain datetimes, truncated to microseconds. Anything
    that is not a datetime (a ``date``, text, a number) raises ``TypeError`` naming ``what``.
    """
    if not isinstance(value, datetime):
        kind = "a date without a time" if isinstance(value, date) else type(value).__name__
        raise TypeError(f"{what} must be a datetime, got {kind}: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if type(value) is not datetime:
        value = datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                         value.microsecond, tzinfo=UTC)
    return value


def parse_time(value: str | datetime, what: str = "time") -> datetime:
    """A tz-aware UTC datetime from ISO 8601 text (``2024-05-01``, ``2024-05-01T12:30``, ``...Z``,
    ``...+02:00``; a time without an offset is UTC) or from a datetime (through ``as_utc``)."""
    if isinstance(value, datetime):
        return as_utc(value, what)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be ISO 8601 text or a datetime, got {type(value).__name__}: {value!r}")
    try:
        text = value.strip()
        # "2024-05-01Z": fromisoformat takes Z only after a time
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" and text else text)
    except ValueError:
        raise ValueError(
            f"cannot read {what} {value!r}: use ISO 8601, e.g. '2024-05-01' or '2024-05-01T12:30:00Z' "
            "(a time without an offset is UTC)"
        ) from None
    return as_utc(parsed, what)


def to_micros(value: Any) -> int:
    """Epoch microseconds of an ``int`` (taken as microseconds already), a datetime (naive means UTC), a
    pandas ``Timestamp`` or a numpy ``datetime64``; finer units are floored. Raises ``TypeError`` otherwise."""
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        if type(value) is not datetime and hasattr(value, "tz_localize"):  # pandas Timestamp: .value is ns
            return int(value.value) // 1000
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if hasattr(value, "astype") and hasattr(value, "dtype"):  # numpy datetime64 (or integer) scalar
        return int(value.astype("datetime64[us]").astype("int64"))
    raise TypeError(f"cannot read a timestamp from {value!r}")


def from_micros(us: int) -> datetime:
    """The tz-aware UTC datetime of epoch microseconds."""
    return EPOCH + timedelta(microseconds=us)
