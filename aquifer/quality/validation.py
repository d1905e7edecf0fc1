"""Validation results: per expectation (counts, observed value, sample failing values) and per range (the report).

Engines count; this module decides. A row-level expectation (not-null, range, set, regex) passes when the share
of values that satisfy it is at least ``mostly``: for ``not_null`` over all rows, for the others over the
non-null values (nulls are neither good nor bad, as in Great Expectations). Schema expectations (the column
exists, its type) pass or fail as a whole. Aggregate expectations come back from GX's pandas engine
(``aquifer.quality.suites.validate_aggregates``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from aquifer.quality.expectations import ColumnExpectation

P = TypeVar("P")

SAMPLES = 5
"""Sample failing values kept per expectation."""


@dataclass
class ExpectationResult:
    """How one expectation fared.

    ``unexpected``: failing values (row-level); ``checked``: the values it was judged over (non-null values,
    or all rows for not-null); ``observed``: the measured value of an aggregate or schema expectation;
    ``samples``: a few failing values; ``note``: why it could not be checked (a missing column).
    """

    name: str
    column: str
    kind: str
    source: str
    success: bool
    unexpected: int | None = None
    checked: int | None = None
    observed: Any = None
    samples: list[Any] = field(default_factory=list)
    note: str | None = None
    expectation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (samples as text when they are not plain values)."""
        return {"name": self.name, "column": self.column, "kind": self.kind, "source": self.source,
                "success": self.success, "unexpected": self.unexpected, "checked": self.checked,
                "observed": _plain(self.observed), "samples": [_plain(v) for v in self.samples], "note": self.note,
                "expectation": self.expectation}

    def describe(self) -> str:
        """``amount.in_range: 3 of 120 values failed (samples: -5.0, 99999.0)``."""
        if self.note:
            return f"{self.name}: {self.note}"
        if self.unexpected is not None:
            text = f"{self.name}: {self.unexpected} of {self.checked} values failed"
            if self.samples:
                text += f" (samples: {', '.join(repr(_plain(v)) for v in self.samples)})"
            return text
        return f"{self.name}: observed {_plain(self.observed)!r}, expected {self.expectation}"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value else None
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        try:
            return _plain(value.item())
        except (ValueError, TypeError):
            pass
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def row_result(ce: ColumnExpectation, unexpected: int, non_null: int, rows: int, samples: Sequence[Any] = ()
               ) -> ExpectationResult:
    """Judge a row-level expectation from its counts (see the module docstring for ``mostly``)."""
    mostly = float(getattr(ce.expectation, "mostly", 1.0))
    checked = rows if ce.kind == "not_null" else non_null
    success = checked == 0 or (checked - unexpected) / checked >= mostly
    return ExpectationResult(ce.name, ce.column, ce.kind, ce.source, success, unexpected=int(unexpected),
                             checked=int(checked), samples=list(samples)[:SAMPLES], expectation=ce.expectation.spec())


def wants_samples(ce: ColumnExpectation, unexpected: int, non_null: int, rows: int) -> bool:
    """Whether an engine should fetch a few failing values of a row check: only when it failed beyond its
    ``mostly`` and its failing values are not simply nulls. Rows a passing ``mostly`` tolerates are not looked
    at: on real data (a few nulls, a few outliers) that was a full extra pass over the rows in every run."""
    return unexpected > 0 and ce.kind != "not_null" and not row_result(ce, unexpected, non_null, rows).success


def schema_result(ce: ColumnExpectation, present: bool, observed_type: str | None) -> ExpectationResult:
    """Judge ``exists`` / ``of_type`` from the frame's schema (``observed_type``: an aquifer type name or None)."""
    if ce.kind == "exists":
        return ExpectationResult(ce.name, ce.column, ce.kind, ce.source, present, observed=present,
                                 note=None if present else f"column {ce.column!r} is missing from the rows",
                                 expectation=ce.expectation.spec())
    wanted = getattr(ce.expectation, "type_name", None)
    ok = present and observed_type == wanted
    note = None if ok else (f"column {ce.column!r} is missing from the rows" if not present
                            else f"column {ce.column!r} holds {observed_type or 'an unknown type'}, not {wanted}")
    return ExpectationResult(ce.name, ce.column, ce.kind, ce.source, ok, observed=observed_type, note=note,
                             expectation=ce.expectation.spec())


def missing_column(ce: ColumnExpectation) -> ExpectationResult:
    """An expectation on a column the rows do not have: failed, with a note saying so (not a crash)."""
    return ExpectationResult(ce.name, ce.column, ce.kind, ce.source, False,
                             note=f"column {ce.column!r} is missing from the rows (removed from the view? "
                                  "'aquifer profile' builds a new suite)", expectation=ce.expectation.spec())


def wrong_type(ce: ColumnExpectation, observed: str | None, wanted: str | None) -> ExpectationResult:
    """A row-level expectation on a column of the wrong type: failed, not checked (its ``of_type`` says why)."""
    return ExpectationResult(ce.name, ce.column, ce.kind, ce.source, False,
                             note=f"not checked: column {ce.column!r} holds {observed}, not {wanted}",
                             expectation=ce.expectation.spec())


@dataclass(frozen=True)
class SqlDialect:
    """What an engine's SQL spells its own way in ``failing_sql``: a column name, a value, null-ness (``null(column,
    engine type)``, NaN included for floating-point columns) and a failed regular expression (``no_match(quoted
    column, regex literal)``, searched anywhere in the text)."""

    quote: Callable[[str], str]
    literal: Callable[[Any], str]
    null: Callable[[str, str], str]
    no_match: Callable[[str, str], str]


def failing_sql(ce: ColumnExpectation, types: Mapping[str, str], dialect: SqlDialect) -> str | None:
    """SQL true where a row fails ``ce`` (None: not a row check, or the column is missing from ``types``, the
    rows' engine types); nulls (and NaN) fail only ``not_null``, as in GX."""
    if not ce.row_level or ce.schema_level or ce.column not in types:
        return None
    e, c = ce.expectation, dialect.quote(ce.column)
    null = dialect.null(ce.column, types[ce.column])
    if ce.kind == "not_null":
        return null
    if ce.kind == "in_range":
        bad = []
        if e.min is not None:  # type: ignore[attr-defined]
            bad.append(f"{c} < {dialect.literal(e.min)}")  # type: ignore[attr-defined]
        if e.max is not None:  # type: ignore[attr-defined]
            bad.append(f"{c} > {dialect.literal(e.max)}")  # type: ignore[attr-defined]
        return f"(NOT {null} AND ({' OR '.join(bad) or 'FALSE'}))"
    if ce.kind == "in_set":
        values = ", ".join(dialect.literal(v) for v in e.values)  # type: ignore[attr-defined]
        return f"(NOT {null} AND NOT {c} IN ({values}))" if values else f"(NOT {null})"
    if ce.kind == "matches":
        return f"(NOT {null} AND {dialect.no_match(c, dialect.literal(e.regex))})"  # type: ignore[attr-defined]
    return None


def plan_checks(
    expectations: Sequence[ColumnExpectation], columns: Mapping[str, Any], type_of: Callable[[str], str | None],
    predicate_of: Callable[[ColumnExpectation], P | None],
) -> tuple[dict[str, ExpectationResult], list[tuple[ColumnExpectation, P]]]:
    """What an engine must count: schema expectations answered from the rows' ``columns`` (their aquifer type
    names by ``type_of``), row-level ones on a missing or mistyped column answered as such, and the rest as
    ``(expectation, engine predicate of a failing row)`` pairs. Every engine classifies the same way; only the
    predicates (Spark columns, DuckDB SQL) differ."""
    results: dict[str, ExpectationResult] = {}
    checks: list[tuple[ColumnExpectation, P]] = []
    for ce in expectations:
        if ce.schema_level:
            results[ce.name] = schema_result(ce, ce.column in columns, type_of(ce.column))
    wrong = mistyped(list(results.values()))
    for ce in expectations:
        if ce.row_level and not ce.schema_level:
            predicate = predicate_of(ce)
            if ce.column in wrong and ce.kind != "not_null":  # null-ness needs no type
                results[ce.name] = wrong_type(ce, *wrong[ce.column])
            elif predicate is None:
                results[ce.name] = missing_column(ce)
            else:
                checks.append((ce, predicate))
    return results, checks


def mistyped(results: Sequence[ExpectationResult]) -> dict[str, tuple[str | None, str | None]]:
    """``{column: (observed type, wanted type)}`` of present columns whose ``of_type`` failed."""
    return {r.column: (r.observed, r.expectation.get("type_name")) for r in results
            if r.kind == "of_type" and not r.success and r.observed is not None}


@dataclass
class ValidationReport:
    """The validation of one range (or of the offline store's rows on demand) of one view."""

    view: str
    policy: str
    rows: int
    results: list[ExpectationResult]
    start: datetime | None = None
    end: datetime | None = None
    kind: str = "batch"
    action: str = "allowed"  # allowed, quarantined, blocked
    quarantined: int = 0
    quarantine_path: str | None = None
    suite_version: int | None = None
    sampled_rows: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """True when every expectation passed."""
        return all(r.success for r in self.results)

    @property
    def failed(self) -> list[ExpectationResult]:
        """The failed expectations."""
        return [r for r in self.results if not r.success]

    def message(self, limit: int = 5) -> str:
        """One line naming the failed expectations (with a few sample values)."""
        failed = self.failed
        if not failed:
            return f"view {self.view!r}: all {len(self.results)} expectations passed"
        shown = "; ".join(r.describe() for r in failed[:limit])
        more = f"; and {len(failed) - limit} more" if len(failed) > limit else ""
        return f"view {self.view!r}: {len(failed)} expectation(s) failed: {shown}{more}"

    def to_dict(self) -> dict[str, Any]:
        """What the registry keeps (``add_validation_result``'s ``results``)."""
        return {
            "view": self.view, "kind": self.kind, "policy": self.policy, "action": self.action, "rows": self.rows,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "quarantined": self.quarantined, "quarantine_path": self.quarantine_path,
            "suite_version": self.suite_version, "sampled_rows": self.sampled_rows, "notes": list(self.notes),
            "failed": [r.name for r in self.failed],
            "expectations": [r.to_dict() for r in self.results],
        }
