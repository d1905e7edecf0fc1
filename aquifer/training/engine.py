"""Which engine runs a training join: an explicit ``engine=`` wins, then ``offline_engine`` in aquifer.yaml.

``auto`` rule: DuckDB when Spark's master is local (``local``, ``local[N]``, ``local[*]``), the labels
are a pandas frame, no Spark result is asked for (``as_spark=False``), and the estimated input size
(labels in memory + the requested views' uncompressed Parquet bytes, from file footers) fits in memory
as ``planning/engine_choice`` rules it; otherwise Spark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aquifer.config import OFFLINE_ENGINES, Config
from aquifer.planning.engine_choice import fits_in_memory, local_master
from aquifer.planning.pit import PitView
from aquifer.stores.offline.sizing import parquet_bytes
from aquifer.training.inputs import TrainingInputError
from aquifer.training.labels import is_spark_frame


def choose_engine(config: Config, engine: str | None, labels: Any, views: Sequence[PitView], as_spark: bool) -> str:
    """``"spark"`` or ``"duckdb"`` for this call (see the module docstring for the ``auto`` rule)."""
    choice = engine or config.offline_engine
    if choice not in OFFLINE_ENGINES:
        raise TrainingInputError(f"unknown engine {choice!r}; use one of {', '.join(OFFLINE_ENGINES)}")
    if choice != "auto":
        return choice
    if not local_master(config.spark.get("master")) or is_spark_frame(labels) or as_spark:
        return "spark"
    return "duckdb" if fits_in_memory(estimate_bytes(labels, views)) else "spark"


def estimate_bytes(labels: Any, views: Sequence[PitView]) -> int:
    """Labels' in-memory bytes plus the views' uncompressed Parquet bytes (footers; sampled when many)."""
    total = int(labels.memory_usage(index=False, deep=False).sum())
    return total + sum(parquet_bytes(view.path) for view in views if view.has_data)
