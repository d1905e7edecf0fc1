"""Row-level expectations in DuckDB SQL, over a view's Parquet files in the offline store (``aquifer validate``).

The same rules as the Spark translation (``aquifer.engines.spark.validation``): one boolean SQL expression per
row-level expectation, true where a row fails; nulls (and NaN) fail only ``not_null``. One query counts every
expectation's failures and each column's non-null values; failing expectations get a few sample values; the
column types come from the files' schema. Aggregate expectations get a bounded sample (``USING SAMPLE``) for GX.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from aquifer.engines.duckdb.sql import cursor, parquet_scan, quote, timestamp
from aquifer.quality.expectations import ColumnExpectation
from aquifer.quality.validation import (
    SAMPLES,
    ExpectationResult,
    SqlDialect,
    failing_sql,
    plan_checks,
    row_result,
    wants_samples,
)
from aquifer.stores.offline.layout import EVENT_TS

# DuckDB column types -> aquifer type names
_TYPES = {"BIGINT": "Int64", "INTEGER": "Int32", "DOUBLE": "Float64", "FLOAT": "Float32", "VARCHAR": "String",
          "BOOLEAN": "Bool", "BLOB": "Bytes", "TIMESTAMP WITH TIME ZONE": "Timestamp", "TIMESTAMP": "Timestamp",
          "SMALLINT": "Int32", "TINYINT": "Int32"}


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


def is_null(column: str, duck_type: str) -> str:
    """SQL true where the value is null (or NaN, for floating-point columns)."""
    c = quote(column)
    return f"({c} IS NULL OR isnan({c}))" if duck_type in ("DOUBLE", "FLOAT") else f"({c} IS NULL)"


DUCKDB_SQL = SqlDialect(quote, _literal, is_null,
                        lambda c, regex: f"NOT regexp_matches(CAST({c} AS VARCHAR), {regex})")


def failing(ce: ColumnExpectation, types: dict[str, str]) -> str | None:
    """SQL true where a row fails ``ce`` (None: not a row check, or the column is missing)."""
    return failing_sql(ce, types, DUCKDB_SQL)


def _source(files: Sequence[Path], start: datetime | None, end: datetime | None) -> str:
    cond = []
    if start is not None:
        cond.append(f"{EVENT_TS} >= {timestamp(start)}")
    if end is not None:
        cond.append(f"{EVENT_TS} < {timestamp(end)}")
    where = f" WHERE {' AND '.join(cond)}" if cond else ""
    return f"(SELECT * FROM {parquet_scan(files)}{where})"


def check_files(files: Sequence[Path], expectations: Sequence[ColumnExpectation], start: datetime | None = None,
                end: datetime | None = None, samples: int = SAMPLES) -> tuple[list[ExpectationResult], int]:
    """``(results, rows)`` of the schema and row-level expectations over the rows of ``files`` in ``[start, end)``."""
    con = cursor()
    try:
        con.execute("SET TimeZone = 'UTC'")
        source = _source(files, start, end)
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        types = {row[0]: str(row[1]) for row in described}
        results, checks = plan_checks(expectations, types,
                                      lambda c: _TYPES.get(types.get(c) or "", types.get(c)),
                                      lambda ce: failing(ce, types))
        columns = sorted({ce.column for ce, _ in checks})
        parts = ["count(*)"]
        parts += [f"sum(CASE WHEN {p} THEN 1 ELSE 0 END)" for _, p in checks]
        parts += [f"sum(CASE WHEN {is_null(c, types[c])} THEN 0 ELSE 1 END)" for c in columns]
        counts = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone() or (0,)
        rows = int(counts[0] or 0)
        non_null = {c: int(counts[1 + len(checks) + i] or 0) for i, c in enumerate(columns)}
        for i, (ce, predicate) in enumerate(checks):
            unexpected = int(counts[1 + i] or 0)
            found_values: list[Any] = []
            if samples and wants_samples(ce, unexpected, non_null[ce.column], rows):
                found_values = [r[0] for r in con.execute(
                    f"SELECT {quote(ce.column)} FROM {source} WHERE {predicate} LIMIT {int(samples)}").fetchall()]
            results[ce.name] = row_result(ce, unexpected, non_null[ce.column], rows, found_values)
        return [results[ce.name] for ce in expectations if ce.name in results], rows
    finally:
        con.close()


def sample_files(files: Sequence[Path], columns: Sequence[str], start: datetime | None, end: datetime | None,
                 limit: int) -> Any:
    """A pandas frame of at most ``limit`` rows of ``columns`` (reservoir sample; all rows when fewer)."""
    con = cursor()
    try:
        con.execute("SET TimeZone = 'UTC'")
        source = _source(files, start, end)
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        wanted = [c for c in columns if c in present]
        select = ", ".join(quote(c) for c in wanted) or "1 AS __none"
        frame = con.execute(f"SELECT {select} FROM {source} USING SAMPLE reservoir({int(limit)} ROWS) "
                        "REPEATABLE (14)").df()
        return frame[wanted] if wanted else frame.iloc[:, :0]
    finally:
        con.close()
