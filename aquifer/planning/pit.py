"""What a point-in-time join needs to know, as plain values shared by the Spark and DuckDB engines.

``aquifer.training`` builds a ``PitPlan`` from the repo's definitions and the labels; engines only execute
it, so both engines answer the same question from the same inputs (and neither imports ``training``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROW_ID = "__aq_row_id"  # position of the label row in the caller's frame
LABEL_TS = "__aq_ts"  # the label timestamp normalised to UTC (microseconds)
MAX_TS = "9999-12-31 23:59:59.999999"  # sorts after any real created_ts


@dataclass(frozen=True)
class PitFeature:
    """One requested feature: its name in the offline store, its output column and its declared type."""

    name: str
    column: str
    arrow_type: str
    spark_type: str
    default: Any = None


@dataclass(frozen=True)
class PitView:
    """One view taking part in the join.

    ``path`` is the view's folder in the offline store; ``has_data`` is False when it holds no Parquet
    yet (its features are then null). ``ttl`` None means features never expire. ``delay`` is the view's
    availability delay: a row is usable at ``ts`` only when ``event_ts + delay <= ts`` (the TTL still
    counts from ``event_ts``).
    """

    name: str
    keys: tuple[str, ...]
    features: tuple[PitFeature, ...]
    path: Path
    ttl: timedelta | None = None
    has_data: bool = True
    delay: timedelta = timedelta(0)

    @property
    def delay_us(self) -> int:
        """The availability delay in whole microseconds (0 without one)."""
        return int(self.delay / timedelta(microseconds=1))

    @property
    def ttl_us(self) -> int | None:
        """The TTL in whole microseconds (None without a TTL)."""
        return None if self.ttl is None else int(self.ttl / timedelta(microseconds=1))


@dataclass(frozen=True)
class PitPlan:
    """Every view to join plus the labels' UTC time range (used to prune feature rows before joining).

    ``min_ts``/``max_ts`` are None when no label has a timestamp (then nothing can match);
    ``label_rows`` is how many label rows there are, when known.
    """

    views: tuple[PitView, ...]
    min_ts: datetime | None
    max_ts: datetime | None
    fill_defaults: bool = False
    label_rows: int | None = None

    @property
    def output_columns(self) -> list[str]:
        """Feature output columns in request order."""
        return [f.column for v in self.views for f in v.features]

    def time_bounds(self, view: PitView) -> tuple[datetime | None, datetime] | None:
        """``(lowest or None, highest)`` event_ts a row of ``view`` needs to be useful; None: no row is."""
        if self.min_ts is None or self.max_ts is None:
            return None
        return (self.min_ts - view.ttl if view.ttl is not None else None), self.max_ts - view.delay
