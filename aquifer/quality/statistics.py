"""Per-feature statistics of written rows: a mergeable sketch per feature and the summary read from it.

``FeatureStatistics`` is the summary every consumer reads (profiles, suites, ``aquifer stats``, drift);
how it is measured and merged lives beside it in this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""The quantiles every summary reports (from the KLL sketch)."""


@dataclass(frozen=True)
class FeatureStatistics:
    """What one feature's values looked like over some rows.

    ``count`` counts rows (nulls included); ``nulls`` the null ones (NaN counts as null for floats).
    ``distinct`` is an HLL estimate of distinct non-null values. ``min``/``max`` are numbers for numeric and
    timestamp (epoch microseconds) features, strings for strings, None otherwise or when all are null.
    ``mean``/``stddev`` (sample standard deviation, ddof=1, like pandas) only for numeric features.
    ``quantiles`` maps each of ``QUANTILES`` (as text, e.g. ``"0.5"``) to the KLL sketch's value.
    ``histogram``: ``{"edges": [...], "counts": [...]}``, fixed equal-width bins over ``[min, max]``.
    ``top_values``: the most frequent values with counts, for strings and booleans.
    """

    feature: str
    dtype: str
    count: int
    nulls: int
    distinct: float | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    stddev: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    histogram: dict[str, list[float]] | None = None
    top_values: list[tuple[Any, int]] | None = None

    @property
    def null_fraction(self) -> float:
        """Share of null values (0.0 for no rows)."""
        return self.nulls / self.count if self.count else 0.0
