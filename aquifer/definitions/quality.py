"""Quality declarations: what a feature's values must satisfy, and what a run does when they do not.

``Field("amount", Float64, expect=[InRange(0, 10_000), NotNull(mostly=0.99)])`` declares expectations on one
feature; ``FeatureView(..., quality=Quality(policy="quarantine", margin=0.1))`` sets the view's policy (and,
for an ``AggregationView``, whose features are derived, its expectations: ``Quality(expect={"amount_sum_1h":
[InRange(0, None)]})``).

Expectations are *row-level* (each value passes or fails: ``NotNull``, ``InRange``, ``InSet``, ``Matches``;
``mostly`` is the share of values that must pass) or *aggregate* (one number per column must fall in a range:
``MeanBetween``, ``StddevBetween``, ``QuantileBetween``). Both are metadata: editing them never changes a
view's data fingerprint (no recomputation), and both round-trip through the registry's spec (``spec()`` /
``expectation_from_spec``). This module imports nothing heavy; ``aquifer.quality`` turns these values into
Great Expectations suites and engines run them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aquifer.definitions.base import DefinitionError, caller_location, describe, wrong
from aquifer.definitions.types import FeatureType

POLICIES = ("warn", "quarantine", "block")
"""``warn``: write, record, alert; ``quarantine``: write the good rows, set the bad ones aside; ``block``: write
nothing, the run fails."""

_NUMERIC = frozenset({"Int64", "Int32", "Float64", "Float32"})
_ORDERED = _NUMERIC | {"Timestamp", "String"}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not (
        isinstance(value, float) and math.isnan(value))


def _mostly(value: Any, who: str, at: str | None) -> float:
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise wrong(who, "mostly", "a share between 0.0 and 1.0", value, at)
    return float(value)


def _bounds(who: str, lo: Any, hi: Any, at: str | None, names: tuple[str, str] = ("min", "max")) -> None:
    for name, value in zip(names, (lo, hi), strict=True):
        if value is not None and not _is_number(value) and not isinstance(value, str):
            raise wrong(who, name, "a number (or None for no bound)", value, at)
    if lo is None and hi is None:
        raise DefinitionError(f"{who} needs a {names[0]} or a {names[1]} (or both)", at)
    if lo is not None and hi is not None and type(lo) is not type(hi) and (isinstance(lo, str) or isinstance(hi, str)):
        raise DefinitionError(f"{who} bounds {lo!r} and {hi!r} are not of one kind", at)
    if lo is not None and hi is not None and lo > hi:
        raise DefinitionError(f"{who} {names[0]} {lo!r} is above its {names[1]} {hi!r}", at)


@dataclass(frozen=True)
class Expectation:
    """Base of every expectation: ``kind`` names it in specs and suites; ``row_level`` says how it runs."""

    kind: ClassVar[str] = ""
    row_level: ClassVar[bool] = True
    types: ClassVar[frozenset[str] | None] = None  # the feature types it applies to (None: all)
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def _locate(self) -> None:
        if self.location is None:
            object.__setattr__(self, "location", caller_location())

    @property
    def who(self) -> str:
        """How messages name it: ``InRange``."""
        return type(self).__name__

    @property
    def key(self) -> str:
        """What makes two expectations on one column "the same kind" (a declared one overrides a profiled one)."""
        return self.kind

    def refusal(self, dtype: FeatureType) -> str | None:
        """Why this expectation cannot apply to a feature of ``dtype`` (None when it can)."""
        if self.types is not None and dtype.name not in self.types:
            return f"{self.who} does not apply to a {dtype.name} feature (it takes {', '.join(sorted(self.types))})"
        return None

    def params(self) -> dict[str, Any]:
        """The expectation's parameters as JSON-able values."""
        return {}

    def spec(self) -> dict[str, Any]:
        """``{"kind": ..., **params}``: what the registry keeps (``expectation_from_spec`` reads it back)."""
        return {"kind": self.kind, **self.params()}


@dataclass(frozen=True)
class NotNull(Expectation):
    """At least ``mostly`` of the values are set (NaN counts as null)."""

    mostly: float = 1.0
    kind: ClassVar[str] = "not_null"

    def __post_init__(self) -> None:
        self._locate()
        object.__setattr__(self, "mostly", _mostly(self.mostly, self.who, self.location))

    def params(self) -> dict[str, Any]:
        """``mostly``."""
        return {"mostly": self.mostly}


@dataclass(frozen=True)
class InRange(Expectation):
    """``min <= value <= max`` (either bound may be None) for at least ``mostly`` of the non-null values."""

    min: Any = None
    max: Any = None
    mostly: float = 1.0
    kind: ClassVar[str] = "in_range"
    types: ClassVar[frozenset[str] | None] = _NUMERIC

    def __post_init__(self) -> None:
        self._locate()
        _bounds(self.who, self.min, self.max, self.location)
        if isinstance(self.min, str) or isinstance(self.max, str):
            raise wrong(self.who, "min" if isinstance(self.min, str) else "max", "a number (or None for no bound)",
                        self.min if isinstance(self.min, str) else self.max, self.location)
        object.__setattr__(self, "mostly", _mostly(self.mostly, self.who, self.location))

    def params(self) -> dict[str, Any]:
        """``min``, ``max``, ``mostly``."""
        return {"min": self.min, "max": self.max, "mostly": self.mostly}


@dataclass(frozen=True)
class InSet(Expectation):
    """Each non-null value is one of ``values`` (for at least ``mostly`` of them)."""

    values: tuple[Any, ...] = ()
    mostly: float = 1.0
    kind: ClassVar[str] = "in_set"
    types: ClassVar[frozenset[str] | None] = _NUMERIC | {"String", "Bool"}

    def __post_init__(self) -> None:
        self._locate()
        values = self.values
        if isinstance(values, str) or not isinstance(values, list | tuple | set | frozenset):
            raise wrong(self.who, "values", "a list of allowed values", values, self.location)
        values = tuple(sorted(values, key=repr)) if isinstance(values, set | frozenset) else tuple(values)
        if not values:
            raise DefinitionError(f"{self.who} needs at least one allowed value", self.location)
        for v in values:
            if not isinstance(v, str | int | float | bool):
                raise wrong(self.who, "values", "a list of text, numbers or booleans", v, self.location, " in the list")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "mostly", _mostly(self.mostly, self.who, self.location))

    def refusal(self, dtype: FeatureType) -> str | None:
        """Also refused when a value is not of the feature's type (``"3"`` for an Int64 feature)."""
        base = super().refusal(dtype)
        if base:
            return base
        for v in self.values:
            fits = (isinstance(v, str) if dtype.name == "String" else isinstance(v, bool) if dtype.name == "Bool"
                    else _is_number(v) and (dtype.name.startswith("Float") or isinstance(v, int)))
            if not fits:
                return f"{self.who} value {v!r} is not of type {dtype.name}"
        return None

    def params(self) -> dict[str, Any]:
        """``values``, ``mostly``."""
        return {"values": list(self.values), "mostly": self.mostly}


@dataclass(frozen=True)
class Matches(Expectation):
    """Each non-null text value contains a match of ``regex`` (anchor it with ``^...$`` for a whole match)."""

    regex: str = ""
    mostly: float = 1.0
    kind: ClassVar[str] = "matches"
    types: ClassVar[frozenset[str] | None] = frozenset({"String"})

    def __post_init__(self) -> None:
        self._locate()
        if not isinstance(self.regex, str) or not self.regex:
            raise wrong(self.who, "regex", "a non-empty regular expression", self.regex, self.location)
        try:
            re.compile(self.regex)
        except re.error as exc:
            raise DefinitionError(f"{self.who} regex {self.regex!r} is not valid: {exc}", self.location) from None
        object.__setattr__(self, "mostly", _mostly(self.mostly, self.who, self.location))

    def params(self) -> dict[str, Any]:
        """``regex``, ``mostly``."""
        return {"regex": self.regex, "mostly": self.mostly}


@dataclass(frozen=True)
class _Between(Expectation):
    """An aggregate of the column lies in ``[lo, hi]`` (either may be None)."""

    lo: float | None = None
    hi: float | None = None
    row_level: ClassVar[bool] = False
    types: ClassVar[frozenset[str] | None] = _NUMERIC

    def __post_init__(self) -> None:
        self._locate()
        _bounds(self.who, self.lo, self.hi, self.location, ("lo", "hi"))
        if isinstance(self.lo, str) or isinstance(self.hi, str):
            raise wrong(self.who, "lo" if isinstance(self.lo, str) else "hi", "a number (or None for no bound)",
                        self.lo if isinstance(self.lo, str) else self.hi, self.location)

    def params(self) -> dict[str, Any]:
        """``lo``, ``hi``."""
        return {"lo": self.lo, "hi": self.hi}


@dataclass(frozen=True)
class MeanBetween(_Between):
    """The mean of the non-null values lies in ``[lo, hi]``."""

    kind: ClassVar[str] = "mean_between"


@dataclass(frozen=True)
class StddevBetween(_Between):
    """The sample standard deviation of the non-null values lies in ``[lo, hi]``."""

    kind: ClassVar[str] = "stddev_between"


@dataclass(frozen=True)
class QuantileBetween(Expectation):
    """The ``q`` quantile of the non-null values lies in ``[lo, hi]``."""

    q: float = 0.5
    lo: float | None = None
    hi: float | None = None
    kind: ClassVar[str] = "quantile_between"
    row_level: ClassVar[bool] = False
    types: ClassVar[frozenset[str] | None] = _NUMERIC

    def __post_init__(self) -> None:
        self._locate()
        if not _is_number(self.q) or not 0.0 <= float(self.q) <= 1.0:
            raise wrong(self.who, "q", "a quantile between 0.0 and 1.0", self.q, self.location)
        object.__setattr__(self, "q", float(self.q))
        _bounds(self.who, self.lo, self.hi, self.location, ("lo", "hi"))

    @property
    def key(self) -> str:
        """One per quantile: ``quantile_0.5``."""
        return f"quantile_{self.q:g}"

    def params(self) -> dict[str, Any]:
        """``q``, ``lo``, ``hi``."""
        return {"q": self.q, "lo": self.lo, "hi": self.hi}


EXPECTATION_KINDS: dict[str, type[Expectation]] = {
    cls.kind: cls for cls in (NotNull, InRange, InSet, Matches, MeanBetween, StddevBetween, QuantileBetween)
}


def expectation_from_spec(spec: Mapping[str, Any]) -> Expectation:
    """The expectation a ``spec()`` dict describes; ``ValueError`` for an unknown kind."""
    params = dict(spec)
    kind = params.pop("kind", None)
    cls = EXPECTATION_KINDS.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown expectation kind {kind!r}; known: {', '.join(EXPECTATION_KINDS)}")
    if "values" in params:
        params["values"] = tuple(params["values"])
    return cls(**params, location=spec.get("location"))  # type: ignore[call-arg]


def as_expectations(value: Any, who: str, location: str | None) -> tuple[Expectation, ...]:
    """A list of expectations (None: none); anything else is refused naming ``who``."""
    if value is None:
        return ()
    if isinstance(value, Expectation):
        raise wrong(who, "expect", "a list of expectations", value, location, " (write expect=[...] around it)")
    if not isinstance(value, list | tuple):
        raise wrong(who, "expect", "a list of expectations (NotNull(), InRange(0, 1), ...)", value, location)
    items = tuple(value)
    for item in items:
        if isinstance(item, type) and issubclass(item, Expectation):
            raise DefinitionError(f"{who} expect holds the class {item.__name__}; call it: {item.__name__}()",
                                  location)
        if not isinstance(item, Expectation):
            raise DefinitionError(f"{who} expect must be a list of expectations, got {describe(item)} in the list",
                                  location)
    return items


def check_expectations(expectations: Sequence[Expectation], dtype: FeatureType, who: str, location: str | None
                       ) -> None:
    """Refuse expectations that cannot apply to a feature of ``dtype`` or that repeat a kind."""
    seen: set[str] = set()
    for e in expectations:
        reason = e.refusal(dtype)
        if reason:
            raise DefinitionError(f"{who}: {reason}", location)
        if e.key in seen:
            raise DefinitionError(f"{who} declares {e.who} twice (one per kind and column)", location)
        seen.add(e.key)


@dataclass(frozen=True)
class Quality:
    """A view's quality settings.

    ``policy``: what a batch run does with rows failing a row-level expectation (or a range failing an
    aggregate one): ``warn`` (write everything, record, alert), ``quarantine`` (write the good rows, set the bad
    ones aside with the names of what they failed, record, alert) or ``block`` (write nothing; the run fails).
    ``margin``: how far profiled bounds are widened (a share of the observed spread). ``profile``: whether
    ``aquifer profile`` derives expectations from statistics (False: the suite holds only the declared schema
    and expectations). ``sample_rows``: rows drawn for aggregate expectations. ``expect``: expectations per
    feature name, for features without a ``Field`` of their own (an ``AggregationView``'s).
    """

    policy: str = "warn"
    margin: float = 0.1
    profile: bool = True
    sample_rows: int = 100_000
    expect: Mapping[str, Sequence[Expectation]] = field(default_factory=dict)
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        if self.location is None:
            object.__setattr__(self, "location", caller_location())
        at, who = self.location, "Quality"
        if self.policy not in POLICIES:
            raise wrong(who, "policy", f"one of {', '.join(map(repr, POLICIES))}", self.policy, at)
        if not _is_number(self.margin) or not 0.0 <= float(self.margin) <= 10.0:
            raise wrong(who, "margin", "a share of the observed spread between 0.0 and 10.0", self.margin, at)
        object.__setattr__(self, "margin", float(self.margin))
        if not isinstance(self.profile, bool):
            raise wrong(who, "profile", "True or False", self.profile, at)
        if isinstance(self.sample_rows, bool) or not isinstance(self.sample_rows, int) or self.sample_rows < 1:
            raise wrong(who, "sample_rows", "a positive number of rows", self.sample_rows, at)
        if not isinstance(self.expect, Mapping):
            raise wrong(who, "expect", "a dict of feature name -> list of expectations", self.expect, at)
        expect = {}
        for name, items in self.expect.items():
            if not isinstance(name, str):
                raise wrong(who, "expect", "a dict keyed by feature names", name, at, " as a key")
            expect[name] = as_expectations(items, f"{who} expect[{name!r}]", at)
        object.__setattr__(self, "expect", _FrozenExpect(expect))

    def spec(self) -> dict[str, Any]:
        """JSON-able settings (the registry's meta spec)."""
        return {"policy": self.policy, "margin": self.margin, "profile": self.profile, "sample_rows": self.sample_rows,
                "expect": {n: [e.spec() for e in items] for n, items in self.expect.items()}}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Quality:
        """The settings ``spec()`` wrote."""
        expect = {n: [expectation_from_spec(e) for e in items] for n, items in (spec.get("expect") or {}).items()}
        return cls(policy=spec.get("policy", "warn"), margin=spec.get("margin", 0.1),
                   profile=spec.get("profile", True), sample_rows=spec.get("sample_rows", 100_000), expect=expect,
                   location=spec.get("location"))


class _FrozenExpect(Mapping[str, tuple[Expectation, ...]]):
    """An immutable, hashable ``{feature: expectations}``."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, tuple[Expectation, ...]]):
        self._data = dict(data)

    def __getitem__(self, key: str) -> tuple[Expectation, ...]:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return repr(self._data)


DEFAULT_QUALITY_SPEC: dict[str, Any] = {"policy": "warn", "margin": 0.1, "profile": True, "sample_rows": 100_000,
                                        "expect": {}}
