"""``Aggregation``: one windowed aggregate of one column, e.g. ``Aggregation("amount", "sum", Tumbling("1h"))``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aquifer.definitions.base import DefinitionError, caller_location, must_be, must_be_text, wrong
from aquifer.definitions.types import Bool, FeatureType, Float64, Float64List, Int64, String
from aquifer.definitions.windows import Lifetime, Session, Sliding, Tumbling, Window

SIMPLE_FUNCTIONS = (
    "count", "sum", "avg", "min", "max",
    "stddev_pop", "stddev_samp", "var_pop", "var_samp", "approx_distinct",
    "first", "last", "min_by", "max_by",
)
"""Every function without a parameter (``percentile(q)`` and ``last_n(k)`` take one)."""
NAMED_PERCENTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
BY_FUNCTIONS = ("min_by", "max_by")
"""Functions that need ``by=``: the value at the least / greatest ``by``."""
VALUE_FUNCTIONS = ("first", "last", "min_by", "max_by")
"""Functions returning one of the column's values: their feature type is ``dtype=`` (default Float64)."""
VALUE_TYPES = (Float64, Int64, String, Bool)
_PERCENTILE = re.compile(r"^percentile\(\s*(0?\.\d+|1(?:\.0*)?|0)\s*\)$")
_LAST_N = re.compile(r"^last_n\(([1-9]\d{0,3})\)$")
LAST_N_MAX = 9999


def last_n_of(function: str) -> int | None:
    """``k`` of ``last_n(k)`` (1 <= k <= 9999), else None."""
    match = _LAST_N.match(function.replace(" ", ""))
    return int(match.group(1)) if match else None


def percentile_of(function: str) -> float | None:
    """The quantile a function asks for (``"p95"`` → 0.95, ``"percentile(0.75)"`` → 0.75), else None."""
    if function in NAMED_PERCENTILES:
        return NAMED_PERCENTILES[function]
    match = _PERCENTILE.match(function.replace(" ", ""))
    return float(match.group(1)) if match else None


def is_known_function(function: str) -> bool:
    """True for the ``SIMPLE_FUNCTIONS``, p50/p90/p95/p99, ``percentile(q)`` with 0 <= q <= 1 and
    ``last_n(k)``."""
    return function in SIMPLE_FUNCTIONS or percentile_of(function) is not None or last_n_of(function) is not None


def function_label(function: str) -> str:
    """Feature-name label: ``percentile(0.75)`` → ``p75``, ``percentile(0.999)`` → ``p99_9``,
    ``last_n(5)`` → ``last_5``."""
    k = last_n_of(function)
    if k is not None:
        return f"last_{k}"
    q = percentile_of(function)
    if q is None or function in NAMED_PERCENTILES:
        return function
    text = f"{q * 100:.6g}".replace(".", "_")
    return f"p{text}"


@dataclass(frozen=True)
class Aggregation:
    """A windowed aggregate. Its feature is ``{column}_{function}_{window}`` unless ``name`` is given
    (``{column}_{function}_{by}_{window}`` for ``min_by`` / ``max_by``).

    ``by``: the ordering column of ``min_by`` / ``max_by`` (``Aggregation("merchant", "max_by", w,
    by="amount")``: the merchant of the largest amount); refused for other functions. ``dtype``: the feature
    type of ``first`` / ``last`` / ``min_by`` / ``max_by`` (one of the column's values: Float64 by default,
    or Int64, String, Bool); other functions have a fixed type (see ``dtype``)."""

    column: str
    function: str
    window: Window
    name: str | None = None
    by: str | None = field(default=None, kw_only=True)
    value_type: FeatureType | None = field(default=None, kw_only=True)
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", self.location or caller_location())
        at = self.location
        must_be_text(self.column, "Aggregation", "column", at)
        who = f"Aggregation of {self.column!r}"
        must_be_text(self.function, who, "function", at)
        hint = f" (write Tumbling({self.window!r}))" if isinstance(self.window, str) else ""
        must_be(self.window, (Tumbling, Sliding, Session, Lifetime), who, "window",
                "a Tumbling, Sliding, Session or Lifetime window", at, hint=hint)
        if self.name is not None and (not isinstance(self.name, str) or not self.name.isidentifier()):
            raise wrong(who, "name", "an identifier (or None for the default name)", self.name, at)
        object.__setattr__(self, "function", self.function.strip().lower())
        if self.function in BY_FUNCTIONS:
            if self.by is None:
                raise DefinitionError(f"{who}: {self.function} needs by= (the column whose least / greatest value "
                                      f"picks the event), e.g. Aggregation({self.column!r}, {self.function!r}, "
                                      "window, by='amount')", at)
            must_be_text(self.by, who, "by", at)
        elif self.by is not None:
            raise DefinitionError(f"{who}: by= is only for min_by and max_by, not {self.function!r}", at)
        if self.value_type is not None:
            if self.function not in VALUE_FUNCTIONS:
                raise DefinitionError(f"{who}: value_type= is only for {', '.join(VALUE_FUNCTIONS)} (the type of the "
                                      f"value they return), not {self.function!r}", at)
            if self.value_type not in VALUE_TYPES:
                raise wrong(who, "value_type", "one of Float64, Int64, String, Bool", self.value_type, at)
        if not self.feature_name.isidentifier():
            raise DefinitionError(f"{who}: the feature name {self.feature_name!r} made from its column, function "
                                  "and window is not an identifier; give it one with name=...", at)

    @property
    def feature_name(self) -> str:
        """The output feature's name."""
        by = f"_{self.by}" if self.by is not None else ""
        return self.name or f"{self.column}_{function_label(self.function)}{by}_{self.window.label}"

    @property
    def quantile(self) -> float | None:
        """The quantile for percentile functions, else None."""
        return percentile_of(self.function)

    @property
    def last_n(self) -> int | None:
        """``k`` for ``last_n(k)``, else None."""
        return last_n_of(self.function)

    @property
    def dtype(self) -> FeatureType:
        """``count`` and ``approx_distinct`` are Int64; ``last_n(k)`` a Float64List; ``first`` / ``last`` /
        ``min_by`` / ``max_by`` their ``value_type`` (Float64 by default); every other aggregate Float64."""
        if self.function in ("count", "approx_distinct"):
            return Int64
        if self.function in VALUE_FUNCTIONS:
            return self.value_type or Float64
        if self.last_n is not None:
            return Float64List
        return Float64
