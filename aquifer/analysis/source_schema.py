"""Known columns of a source, and what its files say against its declaration, read cheaply at plan time.

Columns come from the declared ``schema``, else from the Parquet footers (or CSV headers) of ``path``.
A missing file is not an error at plan time (the data may land later): the columns are just unknown.
What the footers already show is checked here, each problem naming the file and column: files that
disagree, a time column that cannot be read as a time, a declared type the stored one does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aquifer.analysis.source_files import (
    SourceFiles,
    arrow_to_feature_type,
    data_files,
    inspect_files,
)
from aquifer.definitions import BatchSource, Field, KafkaSource
from aquifer.definitions.types import Bool, Bytes, FeatureType, String, Timestamp, accepts

Columns = dict[str, FeatureType | None]

__all__ = ["Columns", "SourceSchema", "arrow_to_feature_type", "data_files", "source_columns", "source_errors",
           "time_column_problem"]

NUMBER_TYPES = frozenset({"Int32", "Int64", "Float32", "Float64"})


@dataclass
class SourceSchema:
    """A source's known columns (None when unknown) and the problems its files show."""

    columns: Columns | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def declared_columns(schema: tuple[Field, ...]) -> Columns:
    """Columns named by a declared schema, with their types."""
    return {f.name: f.dtype for f in schema}


def time_columns(source: BatchSource | KafkaSource) -> list[tuple[str, str]]:
    """``(attribute, column)`` for the source's time columns (a Kafka source's created time is its batch's)."""
    attrs = ("timestamp_field",) if isinstance(source, KafkaSource) else ("timestamp_field", "created_timestamp_field")
    return [(a, getattr(source, a)) for a in attrs if getattr(source, a)]


def time_column_problem(attr: str, column: str, dtype: FeatureType | None, unit: str | None, where: str) -> str | None:
    """Why ``column`` (of type ``dtype``, found in ``where``) cannot be read as a time; None when it can.

    Timestamps always can; text is parsed as ISO 8601 at run time; numbers need ``timestamp_unit``.
    """
    if dtype is None or dtype in (Timestamp, String):
        return None
    if dtype.name in NUMBER_TYPES:
        if unit is not None:
            return None
        return (f"{attr} {column!r} holds numbers ({dtype.name}) in {where}, wanted a timestamp: declare "
                "timestamp_unit='s', 'ms', 'us' or 'ns' to read epoch numbers")
    kind = "bytes" if dtype == Bytes else "booleans" if dtype == Bool else dtype.name
    return f"{attr} {column!r} holds {kind} ({dtype.name}) in {where}, wanted a timestamp"


def source_columns(source: BatchSource | KafkaSource, root: Path) -> SourceSchema:
    """The source's columns (declared schema first, then its files) and what its files show against it.

    A Kafka source without a schema has its batch source's columns (the same events, landed).
    """
    landed = source.batch_source if isinstance(source, KafkaSource) else source
    out = SourceSchema(columns=declared_columns(source.schema) if source.schema else None)
    if landed is None or landed.path is None or landed.format not in ("parquet", "csv"):
        if out.columns is None and landed is not None and landed is not source:
            out.columns = source_columns(landed, root).columns
        return out
    path = Path(landed.path)
    try:
        files = inspect_files(path if path.is_absolute() else root / path, landed.format)
    except Exception as exc:  # a corrupt or foreign file: say so, but keep analysing
        out.warnings.append(f"cannot read the {landed.format} schema of {landed.path!r}: {exc}")
        return out
    if not files.files:
        return out
    out.errors += source_errors(source, files)
    if out.columns is None:
        out.columns = dict(files.columns)
    return out


def source_errors(source: BatchSource | KafkaSource, files: SourceFiles) -> list[str]:
    """What ``files`` (a source's inspected files) show against the source's declaration."""
    landed = source.batch_source if isinstance(source, KafkaSource) else source
    errors = list(files.problems)
    if landed is None or files.format != "parquet":
        return errors
    errors += _declared_problems(source.schema or landed.schema, files, landed.timestamp_unit)
    for attr, column in time_columns(source):
        problem = time_column_problem(attr, column, files.columns.get(column), landed.timestamp_unit,
                                      files.where(column))
        if problem:
            errors.append(problem)
    return errors


def _declared_problems(schema: tuple[Field, ...], files: SourceFiles, unit: str | None) -> list[str]:
    problems = []
    for f in schema:
        if f.name not in files.columns:
            problems.append(f"declared column {f.name!r} is not in {files.location}")
            continue
        found = files.columns[f.name]
        if found is None or accepts(f.dtype, found):
            continue
        if f.dtype == Timestamp and time_column_problem("", f.name, found, unit, "") is None:
            continue
        stored = ", ".join(files.found.get(f.name, {})) or found.name
        problems.append(f"column {f.name!r} is {stored} in {files.where(f.name)}, but declared {f.dtype.name}")
    return problems
