"""Expectations on a view's columns: declared in the DSL, derived from profiles, and read back from stored suites.

A ``ColumnExpectation`` is one DSL expectation (``aquifer.definitions.quality``) bound to a column, with where it
came from: ``schema`` (the declared schema: the column exists with its type), ``declared`` (``Field(expect=...)``
or ``Quality(expect=...)``) or ``profiled`` (derived from statistics by ``profile_expectations``). Its ``name``
(``amount.in_range``) is what results, alerts and the quarantine area call it.

Suites are stored as Great Expectations 1.x suite JSON; ``to_gx_dict`` / ``from_gx_dict`` translate one
expectation both ways without importing GX (``aquifer.quality.suites`` builds the real ``ExpectationSuite``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from aquifer.definitions import AggregationView, FeatureView
from aquifer.definitions.quality import (
    Expectation,
    InRange,
    InSet,
    Matches,
    MeanBetween,
    NotNull,
    Quality,
    QuantileBetween,
    StddevBetween,
)
from aquifer.definitions.views import declared_expectations
from aquifer.quality.statistics import FeatureStatistics

SCHEMA, DECLARED, PROFILED = "schema", "declared", "profiled"

NEARLY_NOT_NULL = 0.9
"""A feature whose non-null share is at least this (and below 1) gets ``NotNull(mostly=share - margin)``."""

MAX_SET_SIZE = 20
"""Text features with at most this many distinct values get an allowed set (from their top values)."""

PROFILED_QUANTILES = ("0.25", "0.5", "0.75")

MIN_QUANTILE_VALUES = 1000
"""Quartile bounds are profiled from at least this many values: with fewer, neighbouring ranks can lie further
apart than the margin, and engines that pick the rank differently (GX's pandas ``nearest``, the KLL sketch's
inclusive rank) would disagree on clean data."""

_INTEGER = ("Int64", "Int32")
_NUMERIC = ("Int64", "Int32", "Float64", "Float32")


@dataclass(frozen=True)
class ColumnExists(Expectation):
    """The column is present in the rows (from the declared schema)."""

    kind: ClassVar[str] = "exists"
    row_level: ClassVar[bool] = True


@dataclass(frozen=True)
class OfType(Expectation):
    """The column holds values of the declared type (``type_name``: an aquifer type name, ``Float64``)."""

    type_name: str = ""
    kind: ClassVar[str] = "of_type"
    row_level: ClassVar[bool] = True

    def params(self) -> dict[str, Any]:
        """``type_name``."""
        return {"type_name": self.type_name}


SCHEMA_KINDS = (ColumnExists.kind, OfType.kind)
"""Expectations about the column as a whole (checked on the frame's schema, never per row)."""


@dataclass(frozen=True)
class ColumnExpectation:
    """One expectation on one column, and where it came from."""

    column: str
    expectation: Expectation
    source: str = DECLARED

    @property
    def name(self) -> str:
        """``amount.in_range``: unique within a suite (one per kind and column)."""
        return f"{self.column}.{self.expectation.key}"

    @property
    def kind(self) -> str:
        """The expectation's kind (``in_range``)."""
        return self.expectation.kind

    @property
    def row_level(self) -> bool:
        """True when each value passes or fails on its own (engines check these on every row)."""
        return self.expectation.row_level

    @property
    def schema_level(self) -> bool:
        """True for column existence and type (checked on the schema)."""
        return self.expectation.kind in SCHEMA_KINDS

    def describe(self) -> str:
        """``amount.in_range (min=0, max=100)`` for messages."""
        params = ", ".join(f"{k}={v!r}" for k, v in self.expectation.params().items() if v is not None)
        return f"{self.name} ({params})" if params else self.name


def quality_of(view: FeatureView | AggregationView) -> Quality:
    """The view's quality settings (defaults: policy ``warn``, margin 0.1)."""
    return view.quality if view.quality is not None else Quality(location=view.location)


def schema_expectations(view: FeatureView | AggregationView) -> list[ColumnExpectation]:
    """Each declared feature exists and has its declared type."""
    out = []
    for f in view.features:
        out.append(ColumnExpectation(f.name, ColumnExists(location=None), SCHEMA))
        out.append(ColumnExpectation(f.name, OfType(f.dtype.name, location=None), SCHEMA))
    return out


def declared(view: FeatureView | AggregationView) -> list[ColumnExpectation]:
    """The view's declared expectations (``Field(expect=...)`` and ``Quality(expect=...)``)."""
    return [ColumnExpectation(name, e, DECLARED) for name, items in declared_expectations(view).items()
            for e in items]


def merged(base: Iterable[ColumnExpectation], overrides: Iterable[ColumnExpectation]) -> list[ColumnExpectation]:
    """``base`` with each expectation of ``overrides`` replacing the one of the same kind on the same column."""
    out: dict[str, ColumnExpectation] = {ce.name: ce for ce in base}
    for ce in overrides:
        out[ce.name] = ce
    return list(out.values())


def _round_out(value: float, up: bool, integer: bool) -> float | int:
    if integer:
        return math.ceil(value) if up else math.floor(value)
    return float(value)


def profiled(view: FeatureView | AggregationView, stats: Mapping[str, FeatureStatistics], margin: float
             ) -> list[ColumnExpectation]:
    """Expectations derived from each feature's statistics, widened by ``margin`` * (max - min).

    Not-null where the feature was never null (``mostly`` = observed non-null share - margin when it was
    nearly so); a value range; mean, standard deviation and (from ``MIN_QUANTILE_VALUES`` values on) quartile
    bounds for numbers; the allowed set of
    a text feature with at most ``MAX_SET_SIZE`` distinct values. A feature without rows gets nothing.
    """
    out: list[ColumnExpectation] = []
    for f in view.features:
        s = stats.get(f.name)
        if s is None or s.count == 0:
            continue
        present = 1.0 - s.null_fraction
        if s.nulls == 0:
            out.append(ColumnExpectation(f.name, NotNull(1.0, location=None), PROFILED))
        elif present >= NEARLY_NOT_NULL:
            out.append(ColumnExpectation(f.name, NotNull(round(max(0.0, present - margin), 6), location=None),
                                         PROFILED))
        dtype = f.dtype.name
        if dtype in _NUMERIC and _finite(s.min) and _finite(s.max):
            integer = dtype in _INTEGER
            span = float(s.max) - float(s.min)
            pad = margin * (span if span > 0 else abs(float(s.max)))
            lo, hi = _round_out(float(s.min) - pad, False, integer), _round_out(float(s.max) + pad, True, integer)
            out.append(ColumnExpectation(f.name, InRange(lo, hi, location=None), PROFILED))
            if _finite(s.mean):
                out.append(ColumnExpectation(f.name, MeanBetween(float(s.mean) - pad, float(s.mean) + pad,
                                                                 location=None), PROFILED))
            if _finite(s.stddev):
                sd = float(s.stddev)
                out.append(ColumnExpectation(f.name, StddevBetween(max(0.0, sd - pad), sd + pad, location=None),
                                             PROFILED))
            for q in PROFILED_QUANTILES if s.count - s.nulls >= MIN_QUANTILE_VALUES else ():
                value = (s.quantiles or {}).get(q)
                if _finite(value):
                    out.append(ColumnExpectation(
                        f.name, QuantileBetween(float(q), float(value) - pad, float(value) + pad, location=None),
                        PROFILED))
        elif dtype == "String" and s.top_values and s.distinct is not None and s.distinct <= MAX_SET_SIZE:
            values = [v for v, _ in s.top_values]
            if sum(int(c) for _, c in s.top_values) >= s.count - s.nulls and all(isinstance(v, str) for v in values):
                out.append(ColumnExpectation(f.name, InSet(tuple(sorted(values)), location=None), PROFILED))
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def profile_suite(view: FeatureView | AggregationView, stats: Mapping[str, FeatureStatistics]
                  ) -> list[ColumnExpectation]:
    """The view's schema, profiled expectations (unless ``Quality(profile=False)``) and declared ones on top."""
    quality = quality_of(view)
    found = profiled(view, stats, quality.margin) if quality.profile else []
    return merged(merged(schema_expectations(view), found), declared(view))


def effective(view: FeatureView | AggregationView, stored: Sequence[ColumnExpectation] | None
              ) -> list[ColumnExpectation]:
    """What a run checks: the stored suite with today's schema and declared expectations on top.

    Without a stored suite: the declared expectations alone (none declared: nothing to check). Stored
    expectations on columns the view no longer has stay, and fail clearly ("column missing").
    """
    if stored is None:
        return declared(view)
    return merged(merged(stored, schema_expectations(view)), declared(view))


def statistics_from_stored(stats: Mapping[str, Any]) -> dict[str, FeatureStatistics]:
    """``{feature: FeatureStatistics}`` from the registry's ``{feature: Statistic}`` (``stats["summary"]``)."""
    out: dict[str, FeatureStatistics] = {}
    for feature, record in stats.items():
        body = getattr(record, "stats", record)
        summary = body.get("summary") if isinstance(body, Mapping) else None
        if not isinstance(summary, Mapping):
            continue
        from_dict = getattr(FeatureStatistics, "from_dict", None)
        if from_dict is not None:
            out[feature] = from_dict(dict(summary))
        else:
            known = set(FeatureStatistics.__dataclass_fields__)
            out[feature] = FeatureStatistics(**{k: v for k, v in summary.items() if k in known})
    return out


# ---- Great Expectations JSON -----------------------------------------------------------------------------

GX_TYPES: dict[str, str] = {
    "exists": "expect_column_to_exist",
    "of_type": "expect_column_values_to_be_of_type",
    "not_null": "expect_column_values_to_not_be_null",
    "in_range": "expect_column_values_to_be_between",
    "in_set": "expect_column_values_to_be_in_set",
    "matches": "expect_column_values_to_match_regex",
    "mean_between": "expect_column_mean_to_be_between",
    "stddev_between": "expect_column_stdev_to_be_between",
    "quantile_between": "expect_column_quantile_values_to_be_between",
}
_KINDS = {v: k for k, v in GX_TYPES.items()}

ARROW_NAMES = {"Int64": "int64", "Int32": "int32", "Float64": "float64", "Float32": "float32", "String": "string",
               "Bool": "bool", "Timestamp": "timestamp[us, tz=UTC]", "Bytes": "binary"}


def gx_kwargs(ce: ColumnExpectation, *, pandas_type: str | None = None) -> dict[str, Any]:
    """The GX expectation's keyword arguments (``pandas_type`` replaces ``type_`` for GX's pandas engine)."""
    e, kw = ce.expectation, {"column": ce.column}
    if isinstance(e, OfType):
        kw["type_"] = pandas_type or ARROW_NAMES.get(e.type_name, e.type_name)
    elif isinstance(e, NotNull | InRange | InSet | Matches) and e.mostly != 1.0:
        kw["mostly"] = e.mostly
    if isinstance(e, InRange):
        kw.update(min_value=e.min, max_value=e.max)
    elif isinstance(e, InSet):
        kw["value_set"] = list(e.values)
    elif isinstance(e, Matches):
        kw["regex"] = e.regex
    elif isinstance(e, MeanBetween | StddevBetween):
        kw.update(min_value=e.lo, max_value=e.hi)
    elif isinstance(e, QuantileBetween):
        kw["quantile_ranges"] = {"quantiles": [e.q], "value_ranges": [[e.lo, e.hi]]}
    return kw


def to_gx_dict(ce: ColumnExpectation) -> dict[str, Any]:
    """One expectation as GX 1.x suite JSON (``type``, ``kwargs``, ``meta``)."""
    meta = {"aquifer": {"name": ce.name, "source": ce.source}}
    if isinstance(ce.expectation, OfType):
        meta["aquifer"]["type_name"] = ce.expectation.type_name
    return {"type": GX_TYPES[ce.kind], "kwargs": gx_kwargs(ce), "meta": meta}


def to_gx_dicts(expectations: Sequence[ColumnExpectation]) -> list[dict[str, Any]]:
    """GX suite JSON items for ``expectations``; a column's quantile bounds become one GX expectation.

    One per column, because GX 1.24 computes a column's quantiles once per validation whatever quantiles
    each expectation asks for (three one-quantile expectations on a column all see the first one's value).
    """
    out: list[dict[str, Any]] = []
    grouped: dict[str, dict[str, Any]] = {}
    for ce in expectations:
        if not isinstance(ce.expectation, QuantileBetween):
            out.append(to_gx_dict(ce))
            continue
        item = grouped.get(ce.column)
        if item is None:
            item = {"type": GX_TYPES[ce.kind],
                    "kwargs": {"column": ce.column, "quantile_ranges": {"quantiles": [], "value_ranges": []}},
                    "meta": {"aquifer": {"names": [], "sources": []}}}
            grouped[ce.column] = item
            out.append(item)
        item["kwargs"]["quantile_ranges"]["quantiles"].append(ce.expectation.q)
        item["kwargs"]["quantile_ranges"]["value_ranges"].append([ce.expectation.lo, ce.expectation.hi])
        item["meta"]["aquifer"]["names"].append(ce.name)
        item["meta"]["aquifer"]["sources"].append(ce.source)
    return out


def from_gx_dict(item: Mapping[str, Any]) -> list[ColumnExpectation]:
    """The expectations GX suite JSON describes (several for a quantile one); ``ValueError`` for a GX
    expectation aquifer does not run."""
    kind = _KINDS.get(str(item.get("type", item.get("expectation_type"))))
    kw = dict(item.get("kwargs") or {})
    meta = (item.get("meta") or {}).get("aquifer") or {}
    if kind is None or "column" not in kw:
        raise ValueError(f"aquifer does not run the GX expectation {item.get('type')!r}")
    column, mostly = kw["column"], float(kw.get("mostly", 1.0))
    source = meta.get("source", PROFILED)
    e: Expectation
    if kind == "quantile_between":
        ranges = kw["quantile_ranges"]
        sources = meta.get("sources") or [source] * len(ranges["quantiles"])
        return [ColumnExpectation(column, QuantileBetween(q, lo, hi, location=None), src)
                for q, (lo, hi), src in zip(ranges["quantiles"], ranges["value_ranges"], sources, strict=True)]
    if kind == "exists":
        e = ColumnExists(location=None)
    elif kind == "of_type":
        e = OfType(meta.get("type_name") or _type_name(kw.get("type_")), location=None)
    elif kind == "not_null":
        e = NotNull(mostly, location=None)
    elif kind == "in_range":
        e = InRange(kw.get("min_value"), kw.get("max_value"), mostly, location=None)
    elif kind == "in_set":
        e = InSet(tuple(kw.get("value_set") or ()), mostly, location=None)
    elif kind == "matches":
        e = Matches(kw["regex"], mostly, location=None)
    elif kind == "mean_between":
        e = MeanBetween(kw.get("min_value"), kw.get("max_value"), location=None)
    else:
        e = StddevBetween(kw.get("min_value"), kw.get("max_value"), location=None)
    return [ColumnExpectation(column, e, source)]


def _type_name(gx_type: Any) -> str:
    by_arrow = {v: k for k, v in ARROW_NAMES.items()}
    return by_arrow.get(str(gx_type), str(gx_type))


def suite_dict(name: str, expectations: Sequence[ColumnExpectation], meta: Mapping[str, Any] | None = None
               ) -> dict[str, Any]:
    """GX 1.x suite JSON for ``expectations`` (what ``ExpectationSuite(**d)`` reads and ``to_json_dict`` writes)."""
    return {"name": name, "id": None, "expectations": to_gx_dicts(expectations),
            "meta": {"aquifer": dict(meta or {})}, "notes": None}


def from_suite_dict(suite: Mapping[str, Any]) -> tuple[list[ColumnExpectation], list[str]]:
    """``(expectations, notes)`` of stored suite JSON; a GX expectation aquifer cannot run becomes a note."""
    out, notes = [], []
    for item in suite.get("expectations") or []:
        try:
            out.extend(from_gx_dict(item))
        except (ValueError, KeyError, TypeError) as exc:
            notes.append(f"ignored: {exc}")
    return out, notes
