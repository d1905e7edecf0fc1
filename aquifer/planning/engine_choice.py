"""The ``auto`` engine-choice rule: in-process DuckDB when the job is small enough, else Spark.

Shared by training joins (``training/engine``) and materialization: DuckDB is chosen when Spark's master
is local and the job's inputs take at most ``MEMORY_FRACTION`` of the RAM available right now, which
leaves room for DuckDB's working state and the result (together within ~3x the inputs). The callers
measure their inputs (``stores/offline/sizing`` for Parquet in the offline store); the rule only compares.
"""

from __future__ import annotations

MEMORY_FRACTION = 0.25
DEFAULT_MASTER = "local[*]"  # Spark's master when aquifer.yaml names none


def local_master(master: str | None) -> bool:
    """Whether a Spark master runs in this process (``local``, ``local[N]``, ``local[*]``; None is the default)."""
    return str(master or DEFAULT_MASTER).startswith("local")


def fits_in_memory(input_bytes: int, available_bytes: int | None = None) -> bool:
    """Whether ``input_bytes`` is at most ``MEMORY_FRACTION`` of ``available_bytes`` (default: available now)."""
    if available_bytes is None:
        available_bytes = available_memory()
    return input_bytes <= MEMORY_FRACTION * available_bytes


def available_memory() -> int:
    """Bytes of RAM available right now (psutil when installed, else the POSIX page counts)."""
    try:
        import psutil
    except ImportError:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.virtual_memory().available)
