"""``FeatureStatistics`` of a pandas frame: the fallback profile when the registry holds no statistics yet.

``aquifer profile`` prefers the statistics stored by runs (merged sketches of everything written); a view
with none (statistics off, or written before they were kept) is profiled from a bounded sample of its
offline rows with this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aquifer.definitions import Field
from aquifer.quality.statistics import QUANTILES, FeatureStatistics

if TYPE_CHECKING:
    import pandas as pd

TOP_VALUES = 20
_NUMERIC = ("Int64", "Int32", "Float64", "Float32")


def series_statistics(series: pd.Series, feature: str, dtype: str) -> FeatureStatistics:
    """Statistics of one column (NaN counts as null; quantiles by nearest rank, like the KLL sketch's)."""
    import pandas as pd

    count = len(series)
    values = series.dropna()
    nulls = count - len(values)
    if values.empty:
        return FeatureStatistics(feature, dtype, count, nulls, distinct=0.0)
    distinct = float(values.nunique())
    kwargs: dict[str, Any] = {}
    if dtype in _NUMERIC:
        numbers = pd.to_numeric(values).astype("float64")
        kwargs.update(min=float(numbers.min()), max=float(numbers.max()), mean=float(numbers.mean()),
                      stddev=float(numbers.std(ddof=1)) if len(numbers) > 1 else None,
                      quantiles={f"{q:g}": float(numbers.quantile(q, interpolation="lower")) for q in QUANTILES})
    elif dtype in ("String", "Bool"):
        top = values.astype(object).value_counts().head(TOP_VALUES)
        kwargs["top_values"] = [(_plain(v), int(c)) for v, c in top.items()]
        if dtype == "String":
            kwargs.update(min=str(values.min()), max=str(values.max()))
    return FeatureStatistics(feature, dtype, count, nulls, distinct=distinct, **kwargs)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def frame_statistics(frame: pd.DataFrame, fields: Sequence[Field]) -> dict[str, FeatureStatistics]:
    """Statistics of each field present in ``frame``."""
    return {f.name: series_statistics(frame[f.name], f.name, f.dtype.name) for f in fields if f.name in frame.columns}
