"""Whether a job is small enough for the in-process DuckDB engine: the ``auto`` rule's measurements.

Shared by training joins (``sdk/training_engine``) and materialization: DuckDB is chosen when Spark's
master is local and the job's inputs take at most ``MEMORY_FRACTION`` of the RAM available right now,
which leaves room for DuckDB's working state and the result (together within ~3x the inputs).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from aquifer.stores.offline.layout import DATE_PARTITION

MEMORY_FRACTION = 0.25
FOOTER_SAMPLE = 200  # read at most this many Parquet footers per folder; scale the rest by file count


def local_master(config: Any) -> bool:
    """Whether the configured Spark master runs in this process (``local``, ``local[N]``, ``local[*]``)."""
    return str(config.spark.get("master", "local[*]")).startswith("local")


def fits_in_memory(nbytes: int) -> bool:
    """Whether ``nbytes`` of input is at most ``MEMORY_FRACTION`` of the memory available now."""
    return nbytes <= MEMORY_FRACTION * available_memory()


def parquet_bytes(folder: Path, since: date | None = None) -> int:
    """Uncompressed bytes of the Parquet files under ``folder`` (from footers, sampled when many).

    ``since`` skips ``event_date=`` partitions before that day.
    """
    import pyarrow.parquet as pq

    if not folder.exists():
        return 0
    files = sorted(folder.rglob("*.parquet"))
    if since is not None:
        files = [f for f in files if not _before(f.relative_to(folder), since)]
    sample = files[:: max(1, len(files) // FOOTER_SAMPLE)][:FOOTER_SAMPLE]
    size = 0
    for file in sample:
        meta = pq.read_metadata(file)
        size += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return int(size * len(files) / max(1, len(sample)))


def _before(relative: Path, day: date) -> bool:
    for part in relative.parts:
        if part.startswith(f"{DATE_PARTITION}="):
            try:
                return date.fromisoformat(part.split("=", 1)[1]) < day
            except ValueError:
                return False
    return False


def available_memory() -> int:
    """Bytes of RAM available right now (psutil when installed, else the POSIX page counts)."""
    try:
        import psutil
    except ImportError:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.virtual_memory().available)
