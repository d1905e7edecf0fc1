"""Row-level expectations inside Spark: Column predicates, one counting pass, sample failures, good/bad split.

Each row-level expectation (not-null, range, set, regex) becomes a boolean Column that is true where a row
fails it; nulls (and NaN for floats) fail only ``not_null`` and are skipped by the others, as in Great
Expectations. ``check_rows`` counts every expectation's failures and each column's non-null values in one
aggregation over the (cached) frame, then fetches a few failing values for the expectations that failed; under
``warn`` the same counts (``plan_rows(...).aggregates()``) are summed inside the statistics job beside the write
instead (``job.ComputedRange.count_beside``), so the rows are not scanned a second time.
Schema expectations (column exists, type) are read from the frame's schema. Aggregate expectations are not
run here: ``sample_rows`` draws a bounded pandas sample for GX (``aquifer.quality.suites``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass
class RowChecks:
    """The schema answers and the planned row checks of a frame: the aggregates that count them (summable over
    any split of the rows, e.g. per day beside the statistics) and how to judge the counts."""

    frame: DataFrame
    expectations: Sequence[ColumnExpectation]
    results: dict[str, ExpectationResult]
    checks: list[tuple[ColumnExpectation, Column]]
    columns: list[str]

    def aggregates(self) -> dict[str, Column]:
        """``__f<i>``: rows failing check ``i``; ``__n<i>``: non-null values of column ``i`` (sums of longs, so
        counts over parts of the rows add up)."""
        from pyspark.sql import functions as F

        dtypes = dict(self.frame.dtypes)
        aggs = {f"__f{i}": F.sum(p.cast("long")) for i, (_, p) in enumerate(self.checks)}
        aggs |= {f"__n{i}": F.sum((~is_null(c, dtypes[c])).cast("long")) for i, c in enumerate(self.columns)}
        return aggs

    def judge(self, counts: Mapping[str, Any], rows: int, samples: int = SAMPLES) -> list[ExpectationResult]:
        """Results in the expectations' order from the summed ``aggregates`` over ``rows`` rows; a few failing
        values are fetched from the frame for each expectation that failed."""
        results = dict(self.results)
        non_null = {c: int(counts.get(f"__n{i}") or 0) for i, c in enumerate(self.columns)}
        for i, (ce, predicate) in enumerate(self.checks):
            unexpected = int(counts.get(f"__f{i}") or 0)
            found: list[Any] = []
            if unexpected and samples:
                found = [r[0] for r in self.frame.where(predicate).select(ce.column).limit(samples).collect()]
            results[ce.name] = row_result(ce, unexpected, non_null[ce.column], rows, found)
        return [results[ce.name] for ce in self.expectations if ce.name in results]


def plan_rows(df: DataFrame, expectations: Sequence[ColumnExpectation]) -> RowChecks:
    """The schema answers and row checks of ``expectations`` over ``df`` (aggregate ones are skipped)."""
    dtypes = dict(df.dtypes)
    results, checks = plan_checks(expectations, dtypes, lambda c: _type_name(dtypes.get(c)),
                                  lambda ce: failing(ce, dtypes))
    return RowChecks(df, expectations, results, checks, sorted({ce.column for ce, _ in checks}))


def check_rows(df: DataFrame, expectations: Sequence[ColumnExpectation], samples: int = SAMPLES
               ) -> tuple[list[ExpectationResult], int]:
    """``(results, rows)`` of the schema and row-level expectations over ``df``, counted in one aggregation."""
    from pyspark.sql import functions as F

    planned = plan_rows(df, expectations)
    aggs = [agg.alias(name) for name, agg in planned.aggregates().items()]
    counts = df.agg(F.count(F.lit(1)).alias("__rows"), *aggs).first()
    rows = int(counts["__rows"] or 0)
    return planned.judge(counts.asDict(), rows, samples), rows


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
