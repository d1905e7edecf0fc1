"""Row-level expectations inside Spark: Column predicates, one counting pass, sample failures, good/bad split.

Each row-level expectation (not-null, range, set, regex) becomes a boolean Column that is true where a row
fails it; nulls (and NaN for floats) fail only ``not_null`` and are skipped by the others, as in Great
Expectations. ``check_rows`` counts every expectation's failures and each column's non-null values in one
aggregation over the (cached) frame, then fetches a few failing values for the expectations that failed.
Schema expectations (column exists, type) are read from the frame's schema. Aggregate expectations are not
run here: ``sample_rows`` draws a bounded pandas sample for GX (``aquifer.quality.suites``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aquifer.engines.spark.schema_check import observed_type
from aquifer.quality.expectations import ColumnExpectation
from aquifer.quality.validation import (
    SAMPLES,
    ExpectationResult,
    plan_checks,
    row_result,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

FAILED_COLUMN = "failed_expectations"
"""The quarantine area's extra column: the names of the expectations a row failed."""


def is_null(column: str, spark_type: str) -> Column:
    """True where the value is null (or NaN, for floating-point columns)."""
    from pyspark.sql import functions as F

    c = F.col(column)
    return c.isNull() | F.isnan(c) if spark_type in ("double", "float") else c.isNull()


def failing(ce: ColumnExpectation, dtypes: dict[str, str]) -> Column | None:
    """A Column true where a row fails ``ce`` (None: not a row check, or the column is missing)."""
    from pyspark.sql import functions as F

    if not ce.row_level or ce.schema_level or ce.column not in dtypes:
        return None
    e, c = ce.expectation, F.col(ce.column)
    null = is_null(ce.column, dtypes[ce.column])
    if ce.kind == "not_null":
        return null
    if ce.kind == "in_range":
        bad = F.lit(False)
        if e.min is not None:  # type: ignore[attr-defined]
            bad = bad | (c < F.lit(e.min))  # type: ignore[attr-defined]
        if e.max is not None:  # type: ignore[attr-defined]
            bad = bad | (c > F.lit(e.max))  # type: ignore[attr-defined]
        return ~null & bad
    if ce.kind == "in_set":
        return ~null & ~c.isin(list(e.values))  # type: ignore[attr-defined]
    if ce.kind == "matches":
        return ~null & ~c.cast("string").rlike(e.regex)  # type: ignore[attr-defined]
    return None


def check_rows(df: DataFrame, expectations: Sequence[ColumnExpectation], samples: int = SAMPLES
               ) -> tuple[list[ExpectationResult], int]:
    """``(results, rows)`` of the schema and row-level expectations over ``df`` (aggregate ones are skipped)."""
    from pyspark.sql import functions as F

    dtypes = dict(df.dtypes)
    results, checks = plan_checks(expectations, dtypes, lambda c: _type_name(dtypes.get(c)),
                                  lambda ce: failing(ce, dtypes))
    columns = sorted({ce.column for ce, _ in checks})
    aggs = [F.count(F.lit(1)).alias("__rows")]
    aggs += [F.sum(p.cast("long")).alias(f"__f{i}") for i, (_, p) in enumerate(checks)]
    aggs += [F.sum((~is_null(c, dtypes[c])).cast("long")).alias(f"__n{i}") for i, c in enumerate(columns)]
    counts = df.agg(*aggs).first()
    rows = int(counts["__rows"] or 0)
    non_null = {c: int(counts[f"__n{i}"] or 0) for i, c in enumerate(columns)}
    for i, (ce, predicate) in enumerate(checks):
        unexpected = int(counts[f"__f{i}"] or 0)
        found: list[Any] = []
        if unexpected and samples:
            found = [r[0] for r in df.where(predicate).select(ce.column).limit(samples).collect()]
        results[ce.name] = row_result(ce, unexpected, non_null[ce.column], rows, found)
    return [results[ce.name] for ce in expectations if ce.name in results], rows


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
    if rows > limit:
        picked = picked.sample(withReplacement=False, fraction=min(1.0, 1.2 * limit / rows), seed=seed).limit(limit)
    return picked.toPandas()
