"""Row-level expectations inside Spark: Column predicates, one counting pass, sample failures, good/bad split.

Each row-level expectation (not-null, range, set, regex) becomes a boolean Column that is true where a row
fails it; nulls (and NaN for floats) fail only ``not_null`` and are skipped by the others, as in Great
Expectations. ``check_rows`` counts every expectation's failures and each column's non-null values in one
aggregation over the (cached) frame, then fetches a few failing values for the expectations that failed; a
batch run counts them instead in the pass that materializes the computed range's cache (``count_columns``
added to ``job.compute_range``'s hygiene counts, ``finish_checks`` in the quality listener), so validation
reads the rows no second time.
Under ``warn`` a batch run counts them in the write instead (``write_checks``): the writing tasks evaluate most
checks with pyarrow and count the others (regular expressions) as bits of int64 masks Spark computes
(``aquifer.quality.written_checks``); ``written_counts`` gives ``finish_checks`` the same counts.
Schema expectations (column exists, type) are read from the frame's schema. Aggregate expectations are not
run here: ``sample_rows`` draws a bounded pandas sample for GX (``aquifer.quality.suites``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aquifer.engines.spark.schema_check import observed_type
from aquifer.quality.expectations import ColumnExpectation
from aquifer.quality.validation import (
    SAMPLES,
    ExpectationResult,
    SqlDialect,
    plan_checks,
    row_result,
    wants_samples,
)
from aquifer.quality.validation import failing_sql as validation_sql
from aquifer.quality.written_checks import IN_RANGE, IN_SET, MASK_BITS, NULL, ArrowCheck

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

FAILED_COLUMN = "failed_expectations"
"""The quarantine area's extra column: the names of the expectations a row failed."""


def quote(column: str) -> str:
    """A column name as Spark SQL text."""
    return "`" + column.replace("`", "``") + "`"


def literal(value: Any) -> str:
    """An expectation's value as a Spark SQL literal (numbers keep their type, text is escaped)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity") if math.isinf(value) \
            else repr(value)
        return f"CAST('{text}' AS DOUBLE)"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def null_sql(column: str, spark_type: str) -> str:
    """SQL true where the value is null (or NaN, for floating-point columns)."""
    c = quote(column)
    return f"({c} IS NULL OR isnan({c}))" if spark_type in ("double", "float") else f"({c} IS NULL)"


SPARK_SQL = SqlDialect(quote, literal, null_sql, lambda c, regex: f"NOT (CAST({c} AS STRING) RLIKE {regex})")


def failing_sql(ce: ColumnExpectation, dtypes: dict[str, str]) -> str | None:
    """Spark SQL true where a row fails ``ce`` (``quality.validation.failing_sql``). Text rather than Column
    objects: a suite of a hundred checks is then a few calls into the JVM, not thousands."""
    return validation_sql(ce, dtypes, SPARK_SQL)


def failing(ce: ColumnExpectation, dtypes: dict[str, str]) -> Column | None:
    """A Column true where a row fails ``ce`` (None: not a row check, or the column is missing)."""
    from pyspark.sql import functions as F

    sql = failing_sql(ce, dtypes)
    return None if sql is None else F.expr(sql)


@dataclass(frozen=True)
class PreparedChecks:
    """Expectations prepared for one frame's columns: the results its schema already gives, and the row checks
    still to count (``count_columns``), whose counts ``finish_checks`` turns into results."""

    expectations: tuple[ColumnExpectation, ...]
    results: dict[str, ExpectationResult]
    checks: list[tuple[ColumnExpectation, str]]
    """Each row check and its ``failing_sql``."""
    columns: list[str]


def prepare_checks(dtypes: dict[str, str], expectations: Sequence[ColumnExpectation]) -> PreparedChecks:
    """Classify ``expectations`` against a frame's ``dtypes`` (``quality.validation.plan_checks``)."""
    results, checks = plan_checks(expectations, dtypes, lambda c: _type_name(dtypes.get(c)),
                                  lambda ce: failing_sql(ce, dtypes))
    columns = sorted({ce.column for ce, _ in checks})
    return PreparedChecks(tuple(expectations), results, checks, columns)


def count_columns(prepared: PreparedChecks, dtypes: dict[str, str], scope: Column | None = None) -> list[Column]:
    """The aggregates counting, among the rows where ``scope`` holds (all rows when None), the rows, each check's
    failures and each checked column's non-null values: add them to any aggregation over the frame."""
    from pyspark.sql import functions as F

    def counted(condition: str) -> Column:
        return F.sum((F.expr(condition) if scope is None else scope & F.expr(condition)).cast("long"))

    aggs = [(F.count(F.lit(1)) if scope is None else F.sum(scope.cast("long"))).alias("__rows")]
    aggs += [counted(p).alias(f"__f{i}") for i, (_, p) in enumerate(prepared.checks)]
    aggs += [counted(f"NOT {null_sql(c, dtypes[c])}").alias(f"__n{i}") for i, c in enumerate(prepared.columns)]
    return aggs


MASK = "__check_mask_"
"""Prefix of the bit-mask columns ``write_checks`` adds."""


_INTEGERS = ("tinyint", "smallint", "int", "bigint")
_FLOATS = ("float", "double")


@dataclass(frozen=True)
class WriteChecks:
    """How the writing tasks count a ``PreparedChecks``' flags (``quality.written_checks``): flags ``0..n-1`` are
    the checks' failures, the next ones each checked column's nulls. ``arrow``: the flags pyarrow counts;
    ``masks``: the int64 Columns Spark computes for the others, each with the flag of each of its bits."""

    flags: int
    arrow: list[ArrowCheck]
    masks: dict[str, Column]
    bits: list[tuple[str, list[int]]]


def write_checks(prepared: PreparedChecks, dtypes: dict[str, str]) -> WriteChecks:
    """Split ``prepared``'s flags between pyarrow (``arrow_check``) and Spark's bit masks (regular expressions,
    which must run in Spark's own dialect, and anything Arrow would judge differently)."""
    from pyspark.sql import functions as F

    n = len(prepared.checks)
    arrow: list[ArrowCheck] = []
    left: list[tuple[int, str]] = []
    for flag, (ce, sql) in enumerate(prepared.checks):
        found = arrow_check(ce, flag, dtypes[ce.column])
        if found is None:
            left.append((flag, sql))
        else:
            arrow.append(found)
    arrow += [ArrowCheck(n + i, NULL, c) for i, c in enumerate(prepared.columns)]
    masks: dict[str, Column] = {}
    bits: list[tuple[str, list[int]]] = []
    for j, lo in enumerate(range(0, len(left), MASK_BITS)):
        part = left[lo:lo + MASK_BITS]
        name = f"{MASK}{j}"
        masks[name] = F.expr(" + ".join(f"CASE WHEN {sql} THEN {1 << b}L ELSE 0L END"
                                        for b, (_, sql) in enumerate(part)))
        bits.append((name, [flag for flag, _ in part]))
    return WriteChecks(n + len(prepared.columns), arrow, masks, bits)


def arrow_check(ce: ColumnExpectation, flag: int, spark_type: str) -> ArrowCheck | None:
    """``ce`` as a check pyarrow judges exactly as Spark's ``failing_sql`` does, or None (then Spark judges it):
    not-null on any column; ranges on integer and floating-point columns (numbers compare in their common type
    in both); sets of integers on integer columns, of numbers on floating-point ones, of text on strings and of
    booleans on booleans."""
    e = ce.expectation
    if ce.kind == "not_null":
        return ArrowCheck(flag, NULL, ce.column)
    numeric = (*_INTEGERS, *_FLOATS)
    if ce.kind == "in_range" and spark_type in numeric and all(
            v is None or (_is_number(v) and abs(float(v)) < 2**63) for v in (e.min, e.max)):  # type: ignore[attr-defined]
        return ArrowCheck(flag, IN_RANGE, ce.column, lo=e.min, hi=e.max)  # type: ignore[attr-defined]
    if ce.kind == "in_set":
        values = tuple(e.values)  # type: ignore[attr-defined]
        fits = (spark_type in _INTEGERS and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                                and -(2**63) <= int(v) < 2**63 for v in values)) or \
            (spark_type in _FLOATS and all(_is_number(v) for v in values)) or \
            (spark_type == "string" and all(isinstance(v, str) for v in values)) or \
            (spark_type == "boolean" and all(isinstance(v, bool) for v in values))
        if fits and values:
            return ArrowCheck(flag, IN_SET, ce.column, values=values)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def written_counts(prepared: PreparedChecks, rows: int, flags: Sequence[int]) -> dict[str, int]:
    """The counts ``count_columns`` would give, from the flags the writing tasks counted (``write_checks``)."""
    n = len(prepared.checks)
    counts = {"__rows": rows}
    counts.update({f"__f{i}": int(flags[i]) for i in range(n)})
    counts.update({f"__n{i}": rows - int(flags[n + i]) for i in range(len(prepared.columns))})
    return counts


def finish_checks(prepared: PreparedChecks, counts: Any, df: DataFrame, samples: int = SAMPLES
                  ) -> tuple[list[ExpectationResult], int]:
    """``(results, rows)`` from the counts of ``count_columns`` (a Row or mapping); a few failing values of each
    failed check are fetched from ``df`` (the rows in scope)."""
    from pyspark.sql import functions as F

    rows = int(counts["__rows"] or 0)
    non_null = {c: int(counts[f"__n{i}"] or 0) for i, c in enumerate(prepared.columns)}
    results = dict(prepared.results)
    failed = [(i, ce, p) for i, (ce, p) in enumerate(prepared.checks)
              if wants_samples(ce, int(counts[f"__f{i}"] or 0), non_null[ce.column], rows)]
    found: dict[int, list[Any]] = {}
    if failed and samples:  # a few failing values of every failed check in one pass (the least by hash: stable)
        picked = df.agg(*[F.min_by(F.col(ce.column), F.when(F.expr(p), F.xxhash64(F.col(ce.column))), samples)
                          .alias(f"__s{i}") for i, ce, p in failed]).first()
        found = {i: list(picked[f"__s{i}"] or []) for i, _, _ in failed}
    for i, (ce, _) in enumerate(prepared.checks):
        unexpected = int(counts[f"__f{i}"] or 0)
        results[ce.name] = row_result(ce, unexpected, non_null[ce.column], rows, found.get(i, []))
    return [results[ce.name] for ce in prepared.expectations if ce.name in results], rows


def check_rows(df: DataFrame, expectations: Sequence[ColumnExpectation], samples: int = SAMPLES
               ) -> tuple[list[ExpectationResult], int]:
    """``(results, rows)`` of the schema and row-level expectations over ``df`` (aggregate ones are skipped)."""
    dtypes = dict(df.dtypes)
    prepared = prepare_checks(dtypes, expectations)
    return finish_checks(prepared, df.agg(*count_columns(prepared, dtypes)).first(), df, samples)


def _type_name(spark_type: str | None) -> str | None:
    if spark_type is None:
        return None
    found = observed_type(spark_type)
    return found.name if found is not None else spark_type


def failed_names(expectations: Sequence[ColumnExpectation], dtypes: dict[str, str]) -> Column | None:
    """An array<string> Column: the names of the row-level expectations each row fails (None when none apply)."""
    from pyspark.sql import functions as F

    parts = [(ce.name, failing(ce, dtypes)) for ce in expectations]
    parts = [(name, p) for name, p in parts if p is not None]
    if not parts:
        return None
    return F.array_compact(F.array(*[F.when(p, F.lit(name)) for name, p in parts]))


def split_rows(df: DataFrame, expectations: Sequence[ColumnExpectation], scope: Column | None = None
               ) -> tuple[DataFrame, DataFrame]:
    """``(good rows, bad rows)``: bad rows fail a row-level expectation (and lie in ``scope``, when given)
    and carry ``failed_expectations``; good rows are all the others, columns unchanged."""
    from pyspark.sql import functions as F

    names = failed_names(expectations, dict(df.dtypes))
    if names is None:
        return df, df.limit(0).withColumn(FAILED_COLUMN, F.array().cast("array<string>"))
    bad = F.size(names) > 0
    if scope is not None:
        bad = scope & bad
    good = df.where(~bad)
    return good, df.where(bad).withColumn(FAILED_COLUMN, names)


def sample_rows(df: DataFrame, columns: Sequence[str], rows: int, limit: int, seed: int = 14) -> Any:
    """A pandas frame of at most ``limit`` rows of ``columns`` (all rows when ``rows <= limit``)."""
    present = [c for c in columns if c in df.columns]
    picked = df.select(*present)
    if rows <= limit:
        return picked.toPandas()
    # one job: ``limit`` after ``sample`` would scan partitions in growing rounds, a job each
    sampled = picked.sample(withReplacement=False, fraction=min(1.0, 1.2 * limit / rows), seed=seed).toPandas()
    return sampled.head(limit)
