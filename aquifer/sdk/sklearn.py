"""scikit-learn pieces (the only module of aquifer importing scikit-learn): a transformer whose input is entity
keys and whose output is their features, and a leak-free cross-validation splitter on label time.

``FeatureTransformer(store, features)`` takes a frame of join keys (and, offline, label times) and returns the
feature matrix: offline, each row's features as of its time (the point-in-time join, DuckDB or Spark as
``offline_engine`` says); online, the latest values (one pipelined lookup, defaults where nothing is served).
Values follow ``sdk.encoding``: numbers, booleans (0/1), timestamps (epoch seconds) and strings (vocabulary
indices, 0 = unknown; the vocabulary is fitted on the training rows) as float64, missing values as their
declared default. It works in ``Pipeline``, ``ColumnTransformer`` and ``GridSearchCV``; ``clone`` and pickling
keep the store, which reconnects lazily where it is unpickled::

    model = Pipeline([("features", FeatureTransformer(store, "fraud_model_v1")),
                      ("clf", LogisticRegression(max_iter=1000))])
    split = TimeSplit(2, gap="6h")  # TimeSplit(2, store=store, features=...): the features' longest TTL/window
    search = GridSearchCV(model, {"clf__C": [0.1, 1.0]}, cv=split)
    search.fit(labels[["user_id", "merchant_id", "event_ts"]], labels["is_fraud"])

``TimeSplit`` orders rows by label time and validates on later blocks only, leaving a ``gap`` before each
validation block that defaults to the longest TTL or aggregation window among the requested features: no
validation row's feature window reaches back over a training row's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils.validation import check_is_fitted

from aquifer.sdk.encoding import FeatureColumn, FeatureEncoder, feature_columns
from aquifer.sdk.frame_cache import LabelsError, check_labels, join_keys
from aquifer.sdk.online_rows import encode_online, lookup

__all__ = ["FeatureTransformer", "LabelsError", "TimeSplit", "feature_gap"]

SOURCES = ("offline", "online")


@lru_cache(maxsize=16)
def _store_at(path: str) -> Any:
    from aquifer.sdk.store import FeatureStore

    return FeatureStore(path)


def _resolve_store(store: Any) -> Any:
    """A ``FeatureStore`` from a store or a repo path (one store per path and process)."""
    if isinstance(store, str | Path):
        return _store_at(str(Path(store).resolve()))
    return store


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Entity keys (and label times) in, feature matrix out.

    - ``store``: a ``FeatureStore`` or a repo path; ``features``: a service name or ``"view:feature"`` refs.
    - ``timestamp_col``: the input's label-time column (offline); ``source``: ``"offline"`` or ``"online"``.
    - ``engine`` (offline): ``duckdb`` | ``spark`` | ``auto`` (default: ``offline_engine``); ``full_names``:
      ``view__feature`` output names.

    ``fit`` reads the training rows' features once to build the string vocabularies; ``transform`` joins (or
    looks up) the rows it is given. Training frames the transformer builds are not recorded for drift (one per
    fit and fold would flood the registry): record one with ``FeatureStore.get_training_frame``.
    """

    def __init__(self, store: Any = None, features: Any = None, timestamp_col: str = "event_ts",
                 source: str = "offline", engine: str | None = None, full_names: bool = False):
        self.store = store
        self.features = features
        self.timestamp_col = timestamp_col
        self.source = source
        self.engine = engine
        self.full_names = full_names

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # entity keys, not numbers
        tags.input_tags.string = True
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = []
        return tags

    # -- fitting ------------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> FeatureTransformer:
        """Check the request and ``X``'s columns; build the string vocabularies from ``X``'s features."""
        if self.source not in SOURCES:
            raise ValueError(f"source must be 'offline' or 'online', got {self.source!r}")
        if self.store is None or self.features is None:
            raise ValueError("FeatureTransformer needs a store and features (FeatureTransformer(store, features))")
        columns = feature_columns(_resolve_store(self.store), self.features, self.full_names)
        keys = self._check(X, columns)
        encoder = FeatureEncoder(columns, np.float64)
        encoder.fit(self._values(X, columns, keys, log=False))
        self.columns_: tuple[FeatureColumn, ...] = columns
        self.join_keys_: list[str] = list(keys)
        self.vocabularies_: dict[str, dict[str, int]] = encoder.vocabularies
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(X.columns)
        return self

    def _check(self, X: Any, columns: tuple[FeatureColumn, ...]) -> dict[str, list[str]]:
        keys = join_keys(_resolve_store(self.store), columns)
        check_labels(X, keys, timestamp_col=self.timestamp_col if self.source == "offline" else None, label=None)
        return keys

    def _values(self, X: Any, columns: tuple[FeatureColumn, ...], keys: Any, log: bool = True) -> Any:
        """The features of ``X``'s rows (a frame of output columns, or online the lookup's value columns; ``log``:
        record the lookup in the serving log, for answers a model is served)."""
        store = _resolve_store(self.store)
        if self.source == "online":
            return lookup(store, self.features, {k: X[k].tolist() for k in keys}, full_names=self.full_names,
                          log=log).values
        from aquifer.training import get_training_frame

        used = list(dict.fromkeys([*keys, self.timestamp_col]))
        return get_training_frame(store, X[used].reset_index(drop=True), self.features,
                                  timestamp_col=self.timestamp_col, engine=self.engine, full_names=self.full_names)

    # -- transforming -------------------------------------------------------------------------------------

    def transform(self, X: Any) -> np.ndarray:
        """The feature matrix ``[len(X), n_features]`` (float64), columns as ``get_feature_names_out()``."""
        return self.transform_with_status(X)[0]

    def transform_with_status(self, X: Any) -> tuple[np.ndarray, Any]:
        """``(transform(X), statuses)``: online, a frame of per-value statuses (present / stale / missing /
        unavailable: a default was served for the last two and for stale values past TTL); offline, None."""
        import pandas as pd

        check_is_fitted(self, "columns_")
        keys = self._check(X, self.columns_)
        encoder = FeatureEncoder(self.columns_, np.float64, self.vocabularies_)
        statuses = None
        if self.source == "online":
            store = _resolve_store(self.store)
            result = lookup(store, self.features, {k: X[k].tolist() for k in keys}, full_names=self.full_names,
                            log=True)
            encoded = encode_online(result, encoder, store.views).encoded
            statuses = pd.DataFrame(result.statuses, index=X.index)
        else:
            frame = self._values(X, self.columns_, keys)
            encoded = encoder.encode(frame, len(frame))
        return _in_request_order(encoder, encoded), statuses

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The output columns: the requested features' names (``view__feature`` with ``full_names``), in order."""
        check_is_fitted(self, "columns_")
        return np.asarray([c.column for c in self.columns_], dtype=object)


def _in_request_order(encoder: FeatureEncoder, encoded: Any) -> np.ndarray:
    numeric = {name: j for j, name in enumerate(encoder.feature_names)}
    strings = {name: j for j, name in enumerate(encoder.categorical_names)}
    out = np.empty((encoded.features.shape[0], len(encoder.columns)), dtype=np.float64)
    for i, col in enumerate(encoder.columns):
        if col.column in numeric:
            out[:, i] = encoded.features[:, numeric[col.column]]
        else:
            out[:, i] = encoded.categorical[:, strings[col.column]]
    return out


# -- leak-free splits ------------------------------------------------------------------------------------------


def feature_gap(store: Any, features: Any) -> timedelta:
    """The longest TTL or aggregation window (tumbling/sliding size; a session's ``max_duration``, else its gap)
    among the views serving ``features``: how far back a feature value can reach from its label time."""
    from aquifer.definitions import AggregationView
    from aquifer.definitions.windows import Lifetime, Session

    store = _resolve_store(store)
    longest = timedelta(0)
    for view in dict.fromkeys(c.view for c in feature_columns(store, features)):
        definition = store.views[view]
        spans = [definition.ttl] if definition.ttl is not None else []
        if isinstance(definition, AggregationView):
            for agg in definition.aggregations:
                window = agg.window
                if isinstance(window, Lifetime):
                    raise ValueError(f"feature {agg.feature_name!r} of view {view!r} aggregates over a Lifetime "
                                     "window: every earlier event reaches its value, so no default gap keeps "
                                     "training and validation apart; give TimeSplit a gap explicitly")
                if isinstance(window, Session):
                    spans.append(window.max_duration or window.gap)
                else:
                    spans.append(window.size)
        longest = max([longest, *spans])
    return longest


class TimeSplit(BaseCrossValidator):
    """Cross-validation on label time: fold ``k`` validates on the ``k``-th of ``n_splits + 1`` time-ordered
    blocks and trains on rows at least ``gap`` older than the block's first time.

    ``gap`` (a timedelta or ``"2d"``-style text) defaults to ``feature_gap(store, features)``: with it no validation
    row's features come from a window reaching back over a training row's time. Give ``gap`` or both ``store``
    and ``features``. ``X`` is a frame with ``timestamp_col`` (or the times themselves, array-like);
    ``max_train_size`` keeps only the newest training rows.
    """

    def __init__(self, n_splits: int = 5, *, gap: Any = None, store: Any = None, features: Any = None,
                 timestamp_col: str = "event_ts", max_train_size: int | None = None):
        self.n_splits = n_splits
        self.gap = gap
        self.store = store
        self.features = features
        self.timestamp_col = timestamp_col
        self.max_train_size = max_train_size

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of folds."""
        return self.n_splits

    def resolved_gap(self) -> timedelta:
        """``gap`` as a timedelta (from the features when not given)."""
        if self.gap is not None:
            from aquifer.definitions.durations import parse_duration

            gap = parse_duration(self.gap)
            if gap < timedelta(0):
                raise ValueError(f"TimeSplit gap must not be negative, got {self.gap!r}")
            return gap
        if self.store is None or self.features is None:
            raise ValueError("TimeSplit needs gap= or both store= and features= (the gap then defaults to the "
                             "longest TTL / window among the features)")
        return feature_gap(self.store, self.features)

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(train indices, validation indices)`` per fold, positions into ``X``."""
        if not isinstance(self.n_splits, int) or self.n_splits < 1:
            raise ValueError(f"TimeSplit n_splits must be a positive integer, got {self.n_splits!r}")
        times = _times(X, self.timestamp_col)
        n = len(times)
        if n < self.n_splits + 1:
            raise ValueError(f"TimeSplit with n_splits={self.n_splits} needs at least {self.n_splits + 1} rows, "
                             f"got {n}")
        gap_us = int(self.resolved_gap() / timedelta(microseconds=1))
        order = np.argsort(times, kind="stable")
        ordered = times[order]
        size = n // (self.n_splits + 1)
        for k in range(1, self.n_splits + 1):
            lo = k * size
            hi = n if k == self.n_splits else (k + 1) * size
            test = np.sort(order[lo:hi])
            cutoff = ordered[lo] - gap_us  # training rows are strictly older than this
            train_end = int(np.searchsorted(ordered, cutoff, side="left"))
            train_start = 0 if self.max_train_size is None else max(0, train_end - self.max_train_size)
            train = np.sort(order[train_start:train_end])
            if not len(train):
                raise ValueError(
                    f"TimeSplit fold {k}: no training row is older than the validation block's start minus the gap "
                    f"({timedelta(microseconds=gap_us)}); use fewer splits, a smaller gap, or labels over a longer span"
                )
            yield train, test


def _times(X: Any, timestamp_col: str) -> np.ndarray:
    """Label times as int64 microseconds since the epoch (UTC; naive = UTC)."""
    import pandas as pd

    if hasattr(X, "columns"):
        if timestamp_col not in X.columns:
            raise LabelsError(f"TimeSplit: X has no timestamp column {timestamp_col!r} "
                              f"(columns: {', '.join(map(str, X.columns))}); pass timestamp_col=")
        values = X[timestamp_col]
    else:
        values = pd.Series(np.asarray(X).ravel())
    stamps = pd.to_datetime(values, utc=True)
    if stamps.isna().any():
        raise LabelsError(f"TimeSplit: {int(stamps.isna().sum())} label times are missing in {timestamp_col!r}")
    return stamps.dt.tz_localize(None).to_numpy("datetime64[us]").astype(np.int64)
