"""Known columns of a source: its declared schema, else the Parquet footer of its ``path`` (read cheaply).

A missing file is not an error at plan time (the data may land later): the columns are just unknown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aquifer.definitions import BatchSource, Field, KafkaSource
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

Columns = dict[str, FeatureType | None]


def declared_columns(schema: tuple[Field, ...]) -> Columns:
    """Columns named by a declared schema, with their types."""
    return {f.name: f.dtype for f in schema}


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


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files at ``path``: the file itself, or the data files below a directory (sorted)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return [
            p for p in sorted(path.rglob("*"))
            if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
        ]
    return sorted(p for p in path.parent.glob(path.name) if p.is_file()) if "*" in path.name else []


def read_parquet_columns(path: Path) -> Columns | None:
    """Columns from the footer of the first Parquet file at ``path``; None when there is no file yet.

    Raises ``OSError``/``ValueError`` (from pyarrow) when a file exists but is not readable Parquet.
    """
    files = parquet_files(path)
    if not files:
        return None
    import pyarrow.parquet as pq

    schema = pq.read_schema(files[0])
    return {name: arrow_to_feature_type(schema.field(name).type) for name in schema.names}


def source_columns(source: BatchSource | KafkaSource, root: Path) -> tuple[Columns | None, str | None]:
    """``(columns, error)`` for a source: declared schema first, then the Parquet footer for ``path=``.

    A Kafka source without a schema has its batch source's columns (the same events, landed).
    Columns are None when unknown; ``error`` is set only when a Parquet file exists but cannot be read.
    """
    if source.schema:
        return declared_columns(source.schema), None
    if isinstance(source, KafkaSource):
        return source_columns(source.batch_source, root) if source.batch_source else (None, None)
    if source.path is None or source.format != "parquet":
        return None, None
    path = Path(source.path)
    try:
        return read_parquet_columns(path if path.is_absolute() else root / path), None
    except Exception as exc:  # a corrupt or foreign file: say so, but keep analysing
        return None, f"cannot read the Parquet schema of {source.path!r}: {exc}"
