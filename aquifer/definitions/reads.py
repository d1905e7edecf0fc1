"""How a view reads one upstream beyond the default: ``Lookback("30d")`` widens the read back in time.

By default a view reads an event upstream for the range it computes, a snapshot whole, and the dimension
of an ``ASOF`` join up to the range's end (``docs/semantics.md``, "Dimension and as-of joins").
``FeatureView(..., reads={"users": Lookback("30d")})`` reads ``users`` for ``[start - 30d, end)``; in an
``ASOF`` join an event at ``t`` then matches only dimension rows at or after ``t - 30d``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aquifer.definitions.base import DefinitionError, caller_location
from aquifer.definitions.durations import DurationError, format_duration, parse_duration


@dataclass(frozen=True)
class Lookback:
    """Read an upstream from ``duration`` before the computed range's start (a positive duration)."""

    duration: timedelta | str
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        at = self.location or caller_location()
        object.__setattr__(self, "location", at)
        try:
            value = parse_duration(self.duration)
        except DurationError as exc:
            raise DefinitionError(f"Lookback: {exc}", at) from None
        if value <= timedelta(0):
            raise DefinitionError(f"Lookback must be positive, got {self.duration!r}", at)
        object.__setattr__(self, "duration", value)

    def __str__(self) -> str:
        return f"Lookback({format_duration(self.duration)!r})"  # type: ignore[arg-type]


def as_reads(value: Any, who: str, upstreams: tuple[str, ...], location: str | None
             ) -> tuple[tuple[str, Lookback], ...]:
    """``reads=`` as sorted ``(upstream, Lookback)`` pairs; each name must be one of the view's upstreams."""
    if value is None or value == ():
        return ()
    if not isinstance(value, Mapping):
        raise DefinitionError(f"{who} reads must be a dict like {{'users': Lookback('30d')}}, got "
                              f"{type(value).__name__}", location)
    out = []
    for name, read in value.items():
        if not isinstance(read, Lookback):
            raise DefinitionError(f"{who} reads[{name!r}] must be a Lookback(...), got {read!r}", location)
        if name not in upstreams:
            raise DefinitionError(f"{who} reads names {name!r}, which the view does not read (its upstreams: "
                                  f"{', '.join(upstreams) or 'none'})", location)
        out.append((name, read))
    return tuple(sorted(out, key=lambda pair: pair[0]))
