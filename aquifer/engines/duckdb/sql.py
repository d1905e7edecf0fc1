"""What the DuckDB queries share: this process's database, and SQL text for names, times and folders."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aquifer.times import as_utc

if TYPE_CHECKING:
    import duckdb

_LOCK = threading.Lock()
_DATABASE: tuple[int, duckdb.DuckDBPyConnection] | None = None


def cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory database (opening a database costs ~20 ms; a cursor, 0.2)."""
    import duckdb

    global _DATABASE
    with _LOCK:
        if _DATABASE is None or _DATABASE[0] != os.getpid():  # a forked child opens its own
            _DATABASE = (os.getpid(), duckdb.connect())
        return _DATABASE[1].cursor()


def quote(name: str) -> str:
    """``name`` as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def timestamp(value: datetime) -> str:
    """A TIMESTAMPTZ literal (UTC): filters stay on the raw column, so Parquet statistics can prune row groups."""
    return f"TIMESTAMPTZ '{as_utc(value).isoformat(sep=' ')}'"


def parquet_scan(files: Sequence[Path]) -> str:
    """``read_parquet`` over exactly ``files`` (a snapshot from ``partitions.snapshot_files``; not empty)."""
    names = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"read_parquet([{names}], hive_partitioning = false)"


_DUCK_TYPES = {"int64": "BIGINT", "int32": "INTEGER", "float64": "DOUBLE", "float32": "FLOAT", "string": "VARCHAR",
               "bool": "BOOLEAN", "binary": "BLOB", "list<double>": "DOUBLE[]"}


def duck_type(arrow_type: str) -> str:
    """The DuckDB type of a feature type's Arrow name (``FeatureType.arrow``)."""
    return "TIMESTAMPTZ" if arrow_type.startswith("timestamp") else _DUCK_TYPES[arrow_type]
