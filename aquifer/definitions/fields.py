"""Fields: a named, typed column of a view's schema, with an optional serving default."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aquifer.definitions.base import DefinitionError, caller_location
from aquifer.definitions.types import FeatureType


@dataclass(frozen=True)
class Field:
    """``Field("amount", Float64, default=0.0)``: ``default`` is served when a value is missing."""

    name: str
    dtype: FeatureType
    default: Any = None
    description: str = ""
    location: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.location is None:
            object.__setattr__(self, "location", caller_location())
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise DefinitionError(f"Field name must be an identifier, got {self.name!r}", self.location)
        if not isinstance(self.dtype, FeatureType):
            raise DefinitionError(
                f"Field {self.name!r} dtype must be an aquifer type (Int64, Float64, String, ...), "
                f"got {self.dtype!r}",
                self.location,
            )
        if self.default is not None and not _fits(self.default, self.dtype):
            raise DefinitionError(
                f"Field {self.name!r} default {self.default!r} is not a {self.dtype.name}", self.location
            )


def _fits(value: Any, dtype: FeatureType) -> bool:
    if dtype.python is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if dtype.python is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype.python is object:
        return True
    return isinstance(value, dtype.python)
