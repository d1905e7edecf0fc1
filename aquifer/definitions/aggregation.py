"""``Aggregation``: one windowed aggregate of one column, e.g. ``Aggregation("amount", "sum", Tumbling("1h"))``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aquifer.definitions.base import DefinitionError, caller_location, must_be, must_be_text, wrong
from aquifer.definitions.types import FeatureType, Float64, Int64
from aquifer.definitions.windows import Session, Sliding, Tumbling, Window

SIMPLE_FUNCTIONS = ("count", "sum", "avg", "min", "max")
NAMED_PERCENTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
_PERCENTILE = re.compile(r"^percentile\(\s*(0?\.\d+|1(?:\.0*)?|0)\s*\)$")


def percentile_of(function: str) -> float | None:
    """The quantile a function asks for (``"p95"`` → 0.95, ``"percentile(0.75)"`` → 0.75), else None."""
    if function in NAMED_PERCENTILES:
        return NAMED_PERCENTILES[function]
    match = _PERCENTILE.match(function.replace(" ", ""))
    return float(match.group(1)) if match else None


def is_known_function(function: str) -> bool:
    """True for count/sum/avg/min/max, p50/p90/p95/p99 and ``percentile(q)`` with 0 <= q <= 1."""
    return function in SIMPLE_FUNCTIONS or percentile_of(function) is not None


def function_label(function: str) -> str:
    """Feature-name label: ``percentile(0.75)`` → ``p75``, ``percentile(0.999)`` → ``p99_9``."""
    q = percentile_of(function)
    if q is None or function in NAMED_PERCENTILES:
        return function
    text = f"{q * 100:.6g}".replace(".", "_")
    return f"p{text}"


@dataclass(frozen=True)
class Aggregation:
    """A windowed aggregate. Its feature is ``{column}_{function}_{window}`` unless ``name`` is given."""

    column: str
    function: str
    window: Window
    name: str | None = None
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", self.location or caller_location())
        at = self.location
        must_be_text(self.column, "Aggregation", "column", at)
        who = f"Aggregation of {self.column!r}"
        must_be_text(self.function, who, "function", at)
        hint = f" (write Tumbling({self.window!r}))" if isinstance(self.window, str) else ""
        must_be(self.window, (Tumbling, Sliding, Session), who, "window", "a Tumbling, Sliding or Session window",
                at, hint=hint)
        if self.name is not None and (not isinstance(self.name, str) or not self.name.isidentifier()):
            raise wrong(who, "name", "an identifier (or None for the default name)", self.name, at)
        object.__setattr__(self, "function", self.function.strip().lower())
        if not self.feature_name.isidentifier():
            raise DefinitionError(f"{who}: the feature name {self.feature_name!r} made from its column, function "
                                  "and window is not an identifier; give it one with name=...", at)

    @property
    def feature_name(self) -> str:
        """The output feature's name."""
        return self.name or f"{self.column}_{function_label(self.function)}_{self.window.label}"

    @property
    def quantile(self) -> float | None:
        """The quantile for percentile functions, else None."""
        return percentile_of(self.function)

    @property
    def dtype(self) -> FeatureType:
        """Counts are Int64; every other aggregate is Float64."""
        return Int64 if self.function == "count" else Float64
