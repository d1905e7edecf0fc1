"""Feature values as model inputs: the one type mapping shared by ``sdk.torch`` and ``sdk.sklearn``.

=================  ======================================  ==========================================
declared type      encoded as                              a missing value (null, no row, past TTL)
=================  ======================================  ==========================================
Int32/64, Float    ``dtype`` (float32 by default)          the declared default, else 0
Bool               0 / 1 in ``dtype``                      the declared default, else 0 (False)
Timestamp          seconds since the epoch in ``dtype``    the declared default, else 0
String             int64 index into a vocabulary built     the index of the declared default, else
                   from the training data (sorted values,  ``UNKNOWN`` (0); a value the vocabulary
                   1..V; 0 is reserved for unknown)        does not hold is ``UNKNOWN`` too
Bytes              refused (no numeric reading)
=================  ======================================  ==========================================

Numeric, Bool and Timestamp features form the ``features`` matrix ``[n, F]``; String features the
``categorical`` matrix ``[n, C]``, both in request order. ``mask`` ``[n, F + C]`` is True where a real value
was read and False where the default was put in its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aquifer.definitions.refs import FeatureRefError, resolve_features

if TYPE_CHECKING:
    import numpy as np

UNKNOWN = 0  # the vocabulary index of a string the training data did not hold (and of a missing one)
NUMERIC, BOOL, TIMESTAMP, STRING = "numeric", "bool", "timestamp", "string"


@dataclass(frozen=True)
class FeatureColumn:
    """One requested feature: its output column, ``view:feature`` reference, kind and declared default."""

    column: str
    ref: str
    view: str
    kind: str
    default: Any = None


def feature_columns(store: Any, features: Any, full_names: bool = False) -> tuple[FeatureColumn, ...]:
    """The requested features in request order; ``FeatureRefError`` naming an unknown one or a Bytes feature."""
    resolved = resolve_features(features, store.views.values(), store.services.values(), full_names)
    out = []
    columns = {(v, f): c for v, f, c in resolved.columns()}
    for projection in resolved.projections:
        fields = {f.name: f for f in projection.view.features}
        for name in projection.features:
            spec = fields[name]
            kind = _kind(spec.dtype.arrow)
            if kind is None:
                raise FeatureRefError(
                    f"feature {projection.name}:{name} is {spec.dtype.name}, which has no numeric encoding; "
                    "leave it out of the request"
                )
            out.append(FeatureColumn(columns[(projection.name, name)], f"{projection.name}:{name}", projection.name,
                                     kind, spec.default))
    return tuple(out)


def _kind(arrow: str) -> str | None:
    if arrow == "string":
        return STRING
    if arrow == "bool":
        return BOOL
    if arrow.startswith("timestamp"):
        return TIMESTAMP
    if arrow.startswith(("int", "float", "double")):
        return NUMERIC
    return None


@dataclass
class Encoded:
    """Encoded rows: ``features`` ``[n, F]``, ``categorical`` ``[n, C]`` int64, ``mask`` ``[n, F + C]`` bool."""

    features: np.ndarray
    categorical: np.ndarray
    mask: np.ndarray


@dataclass
class FeatureEncoder:
    """Turns feature columns into contiguous arrays by the table above; ``fit`` builds the vocabularies."""

    columns: tuple[FeatureColumn, ...]
    dtype: Any = "float32"
    vocabularies: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """Columns of the ``features`` matrix, in order."""
        return [c.column for c in self.columns if c.kind != STRING]

    @property
    def categorical_names(self) -> list[str]:
        """Columns of the ``categorical`` matrix, in order."""
        return [c.column for c in self.columns if c.kind == STRING]

    @property
    def mask_names(self) -> list[str]:
        """Columns of ``mask``: the feature names, then the categorical names."""
        return self.feature_names + self.categorical_names

    def fit(self, data: Mapping[str, Any]) -> FeatureEncoder:
        """Build each String feature's vocabulary from ``data`` (a frame or columns): sorted values, 1..V."""
        import pandas as pd

        for col in self.columns:
            if col.kind != STRING:
                continue
            values = set(pd.Series(data[col.column], dtype=object).dropna().unique().tolist())
            if col.default is not None:
                values.add(col.default)
            self.vocabularies[col.column] = {v: i for i, v in enumerate(sorted(map(str, values)), start=1)}
        return self

    def encode(self, data: Mapping[str, Any], n: int | None = None) -> Encoded:
        """Encode ``data`` (a DataFrame, or a mapping of column → list / array / Series) of ``n`` rows."""
        import numpy as np

        if n is None:
            n = len(data[self.columns[0].column]) if self.columns else 0
        numeric = [c for c in self.columns if c.kind != STRING]
        strings = [c for c in self.columns if c.kind == STRING]
        features = np.empty((n, len(numeric)), dtype=self.dtype)
        categorical = np.empty((n, len(strings)), dtype=np.int64)
        mask = np.empty((n, len(numeric) + len(strings)), dtype=bool)
        for j, col in enumerate(numeric):
            features[:, j], mask[:, j] = self._number(col, data[col.column])
        for j, col in enumerate(strings):
            categorical[:, j], mask[:, len(numeric) + j] = self._index(col, data[col.column])
        return Encoded(features, categorical, mask)

    def _number(self, col: FeatureColumn, values: Any) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np
        import pandas as pd

        if isinstance(values, list) and col.kind != TIMESTAMP and None not in values:
            # the online path: plain Python numbers with the defaults already served in place of nulls
            out = np.asarray(values, dtype=np.float64)
            return out, ~np.isnan(out) if out.dtype.kind == "f" else np.ones(len(out), dtype=bool)
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        present = series.notna().to_numpy()
        if col.kind == TIMESTAMP:
            stamps = pd.to_datetime(series, utc=True)
            out = _seconds(stamps)
            default = 0.0 if col.default is None else pd.Timestamp(col.default).timestamp()
        else:
            if series.dtype == object:
                series = pd.to_numeric(series.where(pd.Series(present, index=series.index), np.nan))
            out = series.to_numpy(dtype=np.float64, na_value=np.nan)
            default = 0.0 if col.default is None else float(col.default)
        if not present.all():
            out = np.where(present, out, default)
        return out, present

    def _index(self, col: FeatureColumn, values: Any) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np
        import pandas as pd

        vocabulary = self.vocabularies.get(col.column)
        if vocabulary is None:
            raise RuntimeError(f"no vocabulary for {col.ref}: fit the encoder on training data first")
        default = UNKNOWN if col.default is None else vocabulary.get(str(col.default), UNKNOWN)
        if isinstance(values, list):  # the online path: a dict lookup per value beats building a Categorical
            get = vocabulary.get
            out = np.fromiter((default if v is None else get(v, UNKNOWN) for v in values), dtype=np.int64,
                              count=len(values))
            return out, np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        present = series.notna().to_numpy()
        categories = list(vocabulary)  # sorted, so position + 1 is the index
        codes = pd.Categorical(series.astype(object).where(present, None), categories=categories).codes
        out = codes.astype(np.int64) + 1  # -1 (not in the vocabulary, or null) becomes UNKNOWN
        if not present.all():
            out[~present] = default
        return out, present


def _seconds(stamps: Any) -> Any:
    """UTC timestamps (a pandas Series) as float seconds since the epoch (NaT rows: garbage, masked by callers)."""
    micros = stamps.dt.tz_localize(None).to_numpy("datetime64[us]").astype("int64")
    return micros / 1e6
