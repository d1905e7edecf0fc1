"""Parse and format durations such as ``"5m"``, ``"1h30m"``, ``"2d"`` or a ``timedelta``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


class DurationError(ValueError):
    """A duration string could not be understood."""


def parse_duration(value: str | timedelta | int | float) -> timedelta:
    """``"1h30m"`` → ``timedelta(hours=1, minutes=30)``; numbers are seconds; timedeltas pass through."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise DurationError(f"duration must be a string like '5m' or a timedelta, not {value!r}")
    if isinstance(value, int | float):
        return _checked(lambda: timedelta(seconds=value), value)
    if not isinstance(value, str):
        raise DurationError(f"duration must be a string like '5m' or a timedelta, not {_short_repr(value)}")
    text = value.strip().lower().replace(" ", "")
    negative = text.startswith("-")
    if negative:
        text = text[1:]
    pos, total = 0, timedelta(0)
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total = _checked(lambda m=match, t=total: t + float(m.group(1)) * _UNITS[m.group(2)], value)
        pos = match.end()
    if not text or pos != len(text):
        raise DurationError(
            f"cannot read duration {value!r}: use a number followed by ms, s, m, h, d or w (e.g. '5m', '1h30m')"
        )
    return -total if negative else total


def _checked(make: Callable[[], timedelta], value: object) -> timedelta:
    """``make()``, with NaN, infinity and out-of-range values refused as a ``DurationError``."""
    try:
        return make()
    except (OverflowError, ValueError):
        raise DurationError(f"duration {_short_repr(value)} is not a finite span (at most 999999999 days)") from None


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_duration(value: timedelta) -> str:
    """Shortest exact label for a duration: ``timedelta(minutes=90)`` → ``"90m"``; used in feature names."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
