"""Fields: a named, typed column of a view's schema, with an optional serving default and expectations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aquifer.definitions.base import DefinitionError, caller_location, describe, must_be_text, wrong
from aquifer.definitions.quality import Expectation, as_expectations, check_expectations
from aquifer.definitions.types import ALL_TYPES, FeatureType, Timestamp


@dataclass(frozen=True)
class Field:
    """``Field("amount", Float64, default=0.0)``: ``default`` is served when a value is missing.

    ``expect=[InRange(0, 10_000), NotNull()]`` declares what its values must satisfy (``aquifer.quality``);
    expectations are metadata: changing them never changes the view's data fingerprint.
    """

    name: str
    dtype: FeatureType
    default: Any = None
    description: str = ""
    expect: tuple[Expectation, ...] = field(default=(), kw_only=True)
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        if self.location is None:
            object.__setattr__(self, "location", caller_location())
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise DefinitionError(f"Field name must be an identifier, got {describe(self.name)}", self.location)
        who = f"Field {self.name!r}"
        if not isinstance(self.dtype, FeatureType):
            raise wrong(who, "dtype", "an aquifer type (Int64, Float64, String, ... from aquifer.types)",
                        self.dtype, self.location, type_hint(self.dtype))
        object.__setattr__(self, "description", must_be_text(self.description, who, "description", self.location,
                                                             empty=True))
        if self.default is not None and not _fits(self.default, self.dtype):
            raise DefinitionError(
                f"Field {self.name!r} default {self.default!r} does not fit its dtype {self.dtype.name}", self.location
            )
        if self.expect != ():
            expect = as_expectations(self.expect, who, self.location)
            check_expectations(expect, self.dtype, who, self.location)
            object.__setattr__(self, "expect", expect)


def field_hint(value: Any) -> str:
    """Advice when a column name was written where a ``Field`` belongs."""
    return f" (write Field({value!r}, Float64), with its type)" if isinstance(value, str) else ""


def type_hint(value: Any) -> str:
    """Advice when a type's name was written where the type belongs."""
    return f" (import it: from aquifer.types import {value})" if isinstance(value, str) and value in ALL_TYPES else ""


def _fits(value: Any, dtype: FeatureType) -> bool:
    if dtype.python is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if dtype.python is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype is Timestamp:  # a datetime, or microseconds since the epoch (what the online codec stores)
        return isinstance(value, datetime) or (isinstance(value, int) and not isinstance(value, bool))
    return isinstance(value, dtype.python)
