"""How big a view's history in the offline store is: uncompressed Parquet bytes, read from file footers.

The ``auto`` engine choice (``planning/engine_choice``) compares this with the memory available.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from aquifer.stores.offline.layout import DATE_PARTITION

FOOTER_SAMPLE = 200  # read at most this many Parquet footers per folder; scale the rest by file count


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
