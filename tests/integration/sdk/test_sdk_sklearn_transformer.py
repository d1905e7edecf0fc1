"""``aquifer.sdk.sklearn.FeatureTransformer``: the estimator checks that apply, values equal to the PIT oracle,
set_output / clone / pickle / Pipeline / ColumnTransformer / GridSearchCV with TimeSplit, online = offline at now,
and a stopped Redis."""

from __future__ import annotations

import pickle
import warnings
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import sklearn.utils.estimator_checks as checks
from pit_data import merchant_risk, pair_stats, user_stats
from pit_oracle import oracle
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from aquifer.definitions.refs import FeatureRefError
from aquifer.sdk.sklearn import FeatureTransformer, LabelsError, TimeSplit
from aquifer.sdk.store import FeatureStore

ALL = ["user_stats:amount", "user_stats:n", "user_stats:tag", "merchant_risk:risk", "merchant_risk:flagged",
       "pair_stats:cnt"]
NAMES = ["amount", "n", "tag", "risk", "flagged", "cnt"]
DEFAULTS = {"amount": 0.0, "n": 0, "risk": 0.5, "flagged": False, "cnt": 0}
KEYS = ["user_id", "merchant_id", "event_ts"]

# the checks of sklearn.utils.estimator_checks that apply to a transformer whose input is entity keys (the rest,
# with the reason each cannot apply, are listed in docs/sdk.md)
CLAIMED = [
    "check_no_attributes_set_in_init", "check_estimator_cloneable", "check_estimator_repr",
    "check_get_params_invariance", "check_set_params", "check_do_not_raise_errors_in_init_or_set_params",
    "check_parameters_default_constructible", "check_mixin_order", "check_estimator_tags_renamed",
    "check_valid_tag_types", "check_transformers_unfitted", "check_get_feature_names_out_error", "check_fit1d",
]


@pytest.fixture(scope="module")
def store(pit_repo) -> FeatureStore:
    return FeatureStore(pit_repo)


@pytest.fixture(scope="module")
def labels(pit_dataset) -> pd.DataFrame:
    """The conformance labels under an index of their own (outputs must keep it)."""
    frame = pit_dataset.labels.copy()
    frame.index = frame.index * 10 + 5
    return frame


@pytest.fixture(scope="module")
def expected(pit_dataset, labels) -> np.ndarray:
    """The oracle's values by the documented mapping: defaults for nulls, tag as its sorted-vocabulary index."""
    frame = oracle(labels.reset_index(drop=True), pit_dataset.features, [user_stats, merchant_risk, pair_stats])
    vocabulary = {v: i for i, v in enumerate(sorted(frame["tag"].dropna().unique()), start=1)}
    columns = []
    for name in NAMES:
        col = frame[name]
        if name == "tag":
            columns.append(np.array([vocabulary[t] if pd.notna(t) else 0 for t in col], dtype=float))
        else:
            columns.append(col.astype(object).where(col.notna(), DEFAULTS[name]).astype(float).to_numpy())
    return np.column_stack(columns)


@pytest.fixture(scope="module")
def fitted(store, labels) -> FeatureTransformer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FeatureTransformer(store, ALL, engine="duckdb").fit(labels[KEYS])


@pytest.mark.parametrize("check", CLAIMED)
def test_sklearn_estimator_check(store, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(checks, check)("FeatureTransformer", FeatureTransformer(store, ALL, engine="duckdb"))


def test_transform_equals_the_pit_oracle(fitted, labels, expected):
    np.testing.assert_array_equal(fitted.transform(labels[KEYS]), expected)
    assert list(fitted.get_feature_names_out()) == NAMES


def test_set_output_pandas_keeps_the_index_and_names(fitted, labels, expected):
    out = clone(fitted).set_output(transform="pandas").fit(labels[KEYS]).transform(labels[KEYS])
    assert list(out.columns) == NAMES and out.index.equals(labels.index)
    np.testing.assert_array_equal(out.to_numpy(), expected)


def test_pickle_reconnects_lazily_and_clone_shares_the_store(fitted, labels, expected):
    copy = pickle.loads(pickle.dumps(fitted))
    assert copy.store is not fitted.store and "repo" not in copy.store.__dict__  # nothing loaded yet
    np.testing.assert_array_equal(copy.transform(labels[KEYS].head(50)), expected[:50])
    fresh = clone(fitted)
    assert fresh.store is fitted.store and not hasattr(fresh, "columns_")
    by_path = FeatureTransformer(str(fitted.store.path), ALL, engine="duckdb")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(by_path)).fit_transform(labels[KEYS]), expected)


def test_column_transformer_and_pipeline(store, labels, expected):
    columns = ColumnTransformer([("features", FeatureTransformer(store, ALL, engine="duckdb"), KEYS),
                                 ("note", OneHotEncoder(sparse_output=False), ["note"])])
    out = columns.fit_transform(labels)
    np.testing.assert_array_equal(out[:, :6], expected)
    assert out.shape == (len(labels), 6 + labels["note"].nunique())
    assert list(columns.get_feature_names_out())[:2] == ["features__amount", "features__n"]


def test_grid_search_with_time_split(store, labels):
    model = Pipeline([("features", FeatureTransformer(store, ALL, engine="duckdb")),
                      ("clf", LogisticRegression(max_iter=200))])
    split = TimeSplit(3, store=store, features=ALL)
    X, y = labels[KEYS], labels["label"]
    times = pd.to_datetime(X["event_ts"], utc=True).to_numpy()
    for train, test in split.split(X):  # the gap is user_stats' TTL, the longest among the features
        assert times[train].max() < times[test].min() - np.timedelta64(2, "D")
    search = GridSearchCV(model, {"clf__C": [0.1, 1.0]}, cv=split, scoring="accuracy", error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    assert search.best_params_["clf__C"] in (0.1, 1.0) and len(search.cv_results_["split2_test_score"]) == 2
    assert search.predict(X.head(3)).shape == (3,)


def test_bad_input_is_named(store, labels):
    with pytest.raises(LabelsError, match="join key column 'user_id'"):
        FeatureTransformer(store, ALL).fit(labels.drop(columns="user_id"))
    with pytest.raises(LabelsError, match="timestamp column 'ts'"):
        FeatureTransformer(store, ALL, timestamp_col="ts").fit(labels)
    with pytest.raises(LabelsError, match="empty"):
        FeatureTransformer(store, ALL).fit(labels.head(0))
    with pytest.raises(FeatureRefError, match="unknown feature 'nope'"):
        FeatureTransformer(store, ["merchant_risk:nope"]).fit(labels)
    with pytest.raises(LabelsError, match="must be a pandas DataFrame"):
        FeatureTransformer(store, ALL).fit(np.zeros((3, 3)))


def test_online_against_a_stopped_redis_serves_defaults_marked_unavailable(store, labels):
    online = FeatureTransformer(store, ALL, source="online").fit(labels[KEYS].head(20))
    matrix, statuses = online.transform_with_status(labels[["user_id", "merchant_id"]].head(20))
    assert (statuses == "unavailable").all().all() and statuses.index.equals(labels.index[:20])
    expected = [DEFAULTS["amount"], DEFAULTS["n"], 0, DEFAULTS["risk"], DEFAULTS["flagged"], DEFAULTS["cnt"]]
    np.testing.assert_array_equal(matrix, np.tile(np.asarray(expected, dtype=float), (20, 1)))


@pytest.mark.spark
def test_online_and_offline_agree_at_now(materialized):
    store = FeatureStore(materialized)
    users = np.arange(1, 201)
    X = pd.DataFrame({"user_id": users, "merchant_id": users % 50 + 1,
                      "event_ts": pd.Timestamp(datetime.now(UTC))})
    features = "fraud_model_v1"
    offline = FeatureTransformer(store, features, engine="duckdb").fit(X)
    online = clone(offline).set_params(source="online").fit(X)
    online.vocabularies_ = offline.vocabularies_
    got_online, statuses = online.transform_with_status(X[["user_id", "merchant_id"]])
    got_offline = offline.transform(X)
    assert (statuses != "unavailable").all().all()
    assert (statuses["amount"] != "missing").mean() > 0.9  # the values come from Redis
    np.testing.assert_allclose(got_online, got_offline, rtol=1e-12)
