"""Which engine runs a training join: an explicit ``engine=`` wins, then ``offline_engine`` in aquifer.yaml.

``auto`` rule: DuckDB when Spark's master is local (``local``, ``local[N]``, ``local[*]``), the labels
are a pandas frame, no Spark result is asked for (``as_spark=False``), and the estimated input size
(labels in memory + the requested views' uncompressed Parquet bytes, from file footers) is at most a
quarter of the RAM currently available; otherwise Spark. A quarter leaves room for DuckDB's join state
and the result frame, which together stay within ~3x the inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aquifer.config import OFFLINE_ENGINES, Config
from aquifer.engines.pit_plan import PitView
from aquifer.sdk.training_inputs import TrainingInputError

MEMORY_FRACTION = 0.25
FOOTER_SAMPLE = 200  # read at most this many Parquet footers per view; scale the rest by file count


def choose_engine(config: Config, engine: str | None, labels: Any, views: Sequence[PitView], as_spark: bool) -> str:
    """``"spark"`` or ``"duckdb"`` for this call (see the module docstring for the ``auto`` rule)."""
    from aquifer.sdk.training_labels import is_spark_frame

    choice = engine or config.offline_engine
    if choice not in OFFLINE_ENGINES:
        raise TrainingInputError(f"unknown engine {choice!r}; use one of {', '.join(OFFLINE_ENGINES)}")
    if choice != "auto":
        return choice
    master = str(config.spark.get("master", "local[*]"))
    if not master.startswith("local") or is_spark_frame(labels) or as_spark:
        return "spark"
    return "duckdb" if estimate_bytes(labels, views) <= MEMORY_FRACTION * available_memory() else "spark"


def estimate_bytes(labels: Any, views: Sequence[PitView]) -> int:
    """Labels' in-memory bytes plus the views' uncompressed Parquet bytes (footers; sampled when many)."""
    import pyarrow.parquet as pq

    total = int(labels.memory_usage(index=False, deep=False).sum())
    for view in views:
        if not view.has_data:
            continue
        files = sorted(view.path.rglob("*.parquet"))
        sample = files[:: max(1, len(files) // FOOTER_SAMPLE)][:FOOTER_SAMPLE]
        size = 0
        for file in sample:
            meta = pq.read_metadata(file)
            size += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        total += int(size * len(files) / max(1, len(sample)))
    return total


def available_memory() -> int:
    """Bytes of RAM available right now (psutil when installed, else the POSIX page counts)."""
    try:
        import psutil
    except ImportError:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.virtual_memory().available)
