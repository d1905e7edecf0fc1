"""What a source's files hold, read from their footers and headers (never their rows).

Users write Parquet with pandas (nanosecond timestamps, index columns), pyarrow, DuckDB or Spark, as one
file, a folder or a hive-partitioned dataset; and CSV with a header line. ``inspect_files`` lists the data
files, reads each Parquet footer (or CSV header) and unifies what they say:

- the columns every file holds (pandas' ``__index_level_N__`` columns are ignored), with one type each:
  integer widths and float widths widen (int32 in one file, int64 in another is Int64);
- which Parquet columns hold nanosecond timestamps (Spark reads those as epoch numbers and aquifer
  truncates them to microseconds);
- a problem, naming the file and column, for every file whose column set or column type disagrees.

Pure pyarrow and the standard library: ``plan`` (through ``source_schema``) and the Spark reader share it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aquifer.definitions.types import (
    Bool,
    Bytes,
    FeatureType,
    Float32,
    Float64,
    Int32,
    Int64,
    String,
    Timestamp,
)

PANDAS_INDEX_PREFIX = "__index_level_"
MAX_NAMED = 3  # files named per kind of problem; the rest are counted
TEXT_FORMATS = ("csv", "json")


def arrow_to_feature_type(arrow_type: Any) -> FeatureType | None:
    """The aquifer type for a pyarrow type, or None when aquifer has no exact counterpart."""
    import pyarrow as pa

    t = pa.types
    if t.is_dictionary(arrow_type):
        return arrow_to_feature_type(arrow_type.value_type)
    checks = (
        (t.is_boolean, Bool),
        (lambda x: t.is_int64(x) or t.is_uint32(x) or t.is_uint64(x), Int64),
        (t.is_integer, Int32),  # int8/16/32, uint8/16 fit in Int32
        (t.is_float64, Float64),
        (t.is_floating, Float32),
        (lambda x: t.is_string(x) or t.is_large_string(x) or getattr(t, "is_string_view", bool)(x), String),
        (lambda x: t.is_binary(x) or t.is_large_binary(x) or t.is_fixed_size_binary(x), Bytes),
        (t.is_timestamp, Timestamp),
    )
    for check, feature_type in checks:
        if check(arrow_type):
            return feature_type
    return None


_WIDER = {frozenset({"Int32", "Int64"}): Int64, frozenset({"Float32", "Float64"}): Float64}


def widen(a: FeatureType | None, b: FeatureType | None) -> FeatureType | None:
    """The one type that holds both without loss (None when there is none: the files disagree)."""
    if a is None or b is None:
        return None
    if a == b:
        return a
    return _WIDER.get(frozenset({a.name, b.name}))


@dataclass(frozen=True)
class FileColumn:
    """One column as one file stores it: its aquifer type, the stored type's name and its time unit."""

    name: str
    dtype: FeatureType | None
    found: str
    nanos: bool = False


@dataclass(frozen=True)
class DataFile:
    """One data file: its path, its columns (None: a text file whose types Spark infers) and partitions."""

    path: Path
    columns: tuple[FileColumn, ...] | None
    partitions: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        """Column names, stored ones first, then hive partition keys."""
        return [c.name for c in self.columns or ()] + [k for k, _ in self.partitions]


@dataclass
class SourceFiles:
    """The unified view of a source's files: ``columns`` (name -> type, None = unknown) and ``problems``."""

    location: Path
    format: str
    files: list[DataFile] = field(default_factory=list)
    columns: dict[str, FeatureType | None] = field(default_factory=dict)
    found: dict[str, dict[str, list[Path]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def nanos_columns(self) -> set[str]:
        """Columns stored as nanosecond timestamps in at least one file."""
        return {c.name for f in self.files for c in f.columns or () if c.nanos}

    @property
    def index_columns(self) -> set[str]:
        """pandas index columns (``__index_level_0__``) found in any file: dropped on read."""
        return {c.name for f in self.files for c in f.columns or () if c.name.startswith(PANDAS_INDEX_PREFIX)}

    def signature_groups(self) -> list[list[Path]]:
        """Files grouped by how Spark must read them (same stored types); one group when all agree."""
        groups: dict[tuple, list[Path]] = {}
        for f in self.files:
            key = tuple((c.name, c.found) for c in f.columns or ())
            groups.setdefault(key, []).append(f.path)
        return list(groups.values())

    def where(self, column: str) -> str:
        """The file (or ``N files``) a column's type was found in, for messages."""
        by_type = self.found.get(column, {})
        paths = [p for ps in by_type.values() for p in ps]
        if not paths:
            return str(self.location)
        return str(paths[0]) if len(paths) == 1 else f"{paths[0]} (and {len(paths) - 1} more files)"


def data_files(path: Path) -> list[Path]:
    """The data files at ``path``: the file itself, the files below a folder (not ``_``/``.`` ones), a glob."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return [
            p for p in sorted(path.rglob("*"))
            if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
            and not p.name.endswith((".crc", ".tmp"))
        ]
    return sorted(p for p in path.parent.glob(path.name) if p.is_file()) if "*" in path.name else []


def hive_partitions(location: Path, file: Path) -> tuple[tuple[str, str], ...]:
    """``(key, value)`` pairs from the ``key=value`` folders between ``location`` and ``file``."""
    if not location.is_dir():
        return ()
    parts = file.relative_to(location).parts[:-1]
    return tuple(tuple(p.split("=", 1)) for p in parts if "=" in p)  # type: ignore[misc]


def partition_type(values: list[str]) -> FeatureType:
    """The type Spark infers for a partition column's folder values (integers, decimals, else text)."""
    def all_parse(kind: type) -> bool:
        try:
            for v in values:
                kind(v)
        except ValueError:
            return False
        return True

    if all_parse(int):
        return Int64 if any(abs(int(v)) >= 2**31 for v in values) else Int32
    return Float64 if all_parse(float) else String


def parquet_columns(file: Path) -> tuple[FileColumn, ...]:
    """Top-level columns of one Parquet file from its footer; flags nanosecond timestamps (not INT96)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(file)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError: truncated, not Parquet
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"file {file} is not readable Parquet ({reason})") from None
    arrow = meta.schema.to_arrow_schema()
    nanos = set()
    for i in range(len(meta.schema)):
        column = meta.schema.column(i)
        if "." in column.path or column.physical_type != "INT64":
            continue
        logical = json.loads(column.logical_type.to_json() or "{}") if column.logical_type else {}
        if logical.get("Type") == "Timestamp" and logical.get("timeUnit") == "nanoseconds":
            nanos.add(column.path)
    return tuple(
        FileColumn(f.name, arrow_to_feature_type(f.type), str(f.type), f.name in nanos) for f in arrow
    )


def csv_header(file: Path) -> tuple[FileColumn, ...]:
    """Column names from a CSV file's header line (types are Spark's to infer)."""
    import csv

    with file.open(newline="", encoding="utf-8", errors="replace") as handle:
        row = next(csv.reader(handle), [])
    return tuple(FileColumn(name.strip(), None, "text") for name in row)


def inspect_files(location: Path, format: str) -> SourceFiles:
    """Read every footer (Parquet) or header (CSV) under ``location`` and unify them.

    Raises ``OSError``/``ValueError`` (from pyarrow) when a file exists but is not readable Parquet.
    JSON lines carry no header: their files are listed, their columns left to Spark.
    """
    out = SourceFiles(location, format)
    for path in data_files(location):
        columns = parquet_columns(path) if format == "parquet" else csv_header(path) if format == "csv" else None
        out.files.append(DataFile(path, columns, hive_partitions(location, path)))
    if format == "json" or not out.files:
        return out
    _unify(out)
    return out


def _unify(out: SourceFiles) -> None:
    def names_of(f: DataFile) -> list[str]:
        return [n for n in f.names if not n.startswith(PANDAS_INDEX_PREFIX)]

    # the column set most files share is the reference: one odd file is named, not all the others
    sets = Counter(frozenset(names_of(f)) for f in out.files)
    reference = next(f for f in out.files if frozenset(names_of(f)) == sets.most_common(1)[0][0])
    expected = names_of(reference)
    types: dict[str, dict[str, FeatureType | None]] = {}
    partition_values: dict[str, list[str]] = {}
    odd = []
    for f in out.files:
        names = names_of(f)
        missing = [n for n in expected if n not in names]
        extra = [n for n in names if n not in expected]
        if missing or extra:
            said = "; ".join(s for s in (
                f"lacks {', '.join(map(repr, missing))}" if missing else "",
                f"has extra {', '.join(map(repr, extra))}" if extra else "",
            ) if s)
            odd.append(f"file {f.path} has a different column set than {reference.path}: {said}")
        for c in f.columns or ():
            if not c.name.startswith(PANDAS_INDEX_PREFIX):
                out.found.setdefault(c.name, {}).setdefault(c.found, []).append(f.path)
                types.setdefault(c.name, {})[c.found] = c.dtype
        for key, value in f.partitions:
            partition_values.setdefault(key, []).append(value)
    out.problems += odd[:MAX_NAMED] + ([f"... and {len(odd) - MAX_NAMED} more files"] if len(odd) > MAX_NAMED else [])
    for name, by_found in types.items():
        dtypes = list(by_found.values())
        merged = dtypes[0]
        for dtype in dtypes[1:]:
            merged = widen(merged, dtype)
        if merged is None and len(by_found) > 1 and None not in dtypes:
            (a, a_paths), (b, b_paths) = list(out.found[name].items())[:2]
            out.problems.append(
                f"column {name!r} is {a} in file {a_paths[0]} but {b} in file {b_paths[0]}: the files disagree"
            )
        out.columns[name] = merged
    for key, values in partition_values.items():
        out.columns.setdefault(key, partition_type(values))
