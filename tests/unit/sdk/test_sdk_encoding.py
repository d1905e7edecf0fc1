"""The documented type mapping of ``aquifer.sdk.encoding``, value by value."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from aquifer.definitions.refs import FeatureRefError
from aquifer.sdk.encoding import UNKNOWN, FeatureColumn, FeatureEncoder, feature_columns
from aquifer.sdk.store import FeatureStore

COLUMNS = (
    FeatureColumn("amount", "v:amount", "v", "numeric", 1.5),
    FeatureColumn("count", "v:count", "v", "numeric", None),
    FeatureColumn("flag", "v:flag", "v", "bool", True),
    FeatureColumn("seen", "v:seen", "v", "timestamp", None),
    FeatureColumn("country", "v:country", "v", "string", "unknown"),
    FeatureColumn("tag", "v:tag", "v", "string", None),
)


def test_mapping_defaults_mask_and_vocabulary():
    train = pd.DataFrame({"country": ["US", "GB", None, "US"], "tag": ["b", "a", "a", None]})
    encoder = FeatureEncoder(COLUMNS, np.float32).fit(train)
    assert encoder.vocabularies == {"country": {"GB": 1, "US": 2, "unknown": 3}, "tag": {"a": 1, "b": 2}}
    assert encoder.feature_names == ["amount", "count", "flag", "seen"]
    assert encoder.categorical_names == ["country", "tag"]
    moment = datetime(2024, 3, 1, 12, tzinfo=UTC)
    rows = {
        "amount": [2.0, None, np.nan], "count": pd.array([7, None, 0], dtype="Int64"),
        "flag": [False, None, True], "seen": [moment, None, pd.NaT],
        "country": ["DE", None, "GB"], "tag": [None, "b", "zzz"],
    }
    encoded = encoder.encode(rows)
    assert encoded.features.dtype == np.float32 and encoded.categorical.dtype == np.int64
    np.testing.assert_array_equal(encoded.features, np.array([
        [2.0, 7.0, 0.0, moment.timestamp()],
        [1.5, 0.0, 1.0, 0.0],  # declared defaults; none declared: 0
        [1.5, 0.0, 1.0, 0.0],
    ], dtype=np.float32))
    # DE and zzz are not in the vocabulary: UNKNOWN; a missing country takes its default's index
    np.testing.assert_array_equal(encoded.categorical, [[UNKNOWN, UNKNOWN], [3, 2], [1, UNKNOWN]])
    np.testing.assert_array_equal(encoded.mask, [
        [True, True, True, True, True, False],
        [False, False, False, False, False, True],
        [False, True, True, False, True, True],
    ])


def test_encoding_needs_a_vocabulary():
    with pytest.raises(RuntimeError, match="fit the encoder"):
        FeatureEncoder(COLUMNS).encode({c.column: [None] for c in COLUMNS})


def test_feature_columns_of_a_service(quickstart_definitions):
    store = FeatureStore(quickstart_definitions)
    columns = feature_columns(store, ["user_spend:amount", "user_spend:country", "user_spend:is_large"])
    assert [(c.column, c.kind, c.default) for c in columns] == [
        ("amount", "numeric", 0.0), ("country", "string", "unknown"), ("is_large", "bool", False)]
    assert [c.column for c in feature_columns(store, "fraud_model_v1", full_names=True)][:2] == [
        "user_spend__amount", "user_spend__is_large"]
    with pytest.raises(FeatureRefError, match="unknown feature 'nope' in view 'user_spend'"):
        feature_columns(store, ["user_spend:nope"])
