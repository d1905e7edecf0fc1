"""The examples in ``aquifer.sdk.describe`` run against the quickstart template; and what describe refuses."""

from __future__ import annotations

import doctest

import pytest

import aquifer.sdk.describe as describe_module
from aquifer.sdk.store import FeatureStore


def test_docstring_examples_run(quickstart_definitions):
    store = FeatureStore(quickstart_definitions)
    result = doctest.testmod(describe_module, extraglobs={"store": store}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


def test_filters_against_the_definitions(quickstart_definitions):
    store = FeatureStore(quickstart_definitions)
    views = store.views.values()
    # an independent reading of the filters: owner (case-insensitive), tag key / key=value, text in name/description
    risk = sorted(v.name for v in views if v.owner == "risk@acme.example")
    assert store.list_views(owner="Risk@ACME.example") == risk
    assert store.list_views(tag="domain") == sorted(v.name for v in views if "domain" in v.tags)
    assert store.list_views(tag={"domain": "merchants"}) == ["merchant_risk"]
    assert store.list_views(text="SPEND") == ["user_spend", "user_spend_shape", "user_txn_windows"]  # "spending"
    assert store.list_views(text="per-transaction") == ["user_spend"]  # the description
    assert store.list_views(owner="nobody") == []
    assert store.list_features(view="merchant_risk") == ["merchant_risk:category", "merchant_risk:risk_score"]
    assert len(store.list_features()) == sum(len(v.features) for v in views)
    assert store.list_entities() == ["merchant", "user"]
    assert store.list_entities(text="user_id") == ["user"]
    assert store.list_services(owner="risk@acme.example", tag="team") == []


def test_describe_every_kind_and_unknown_names(quickstart_definitions):
    store = FeatureStore(quickstart_definitions)
    view = store.describe("user_txn_windows")
    assert view.kind == "aggregation_view" and view.details["ttl"] == "2d"
    assert [a["window"] for a in view.details["aggregations"]] == ["1h", "1h_every_15m", "session_30m", "1d"]
    assert store.describe("user").details["join_keys"] == {"user_id": "Int64"}
    assert store.describe("transactions").details["path"] == "data/transactions.parquet"
    assert store.describe("fraud_model_v1").details["views"] == ["user_spend", "user_spend_shape",
                                                                "user_txn_windows", "merchant_risk"]
    assert "feature_view user_spend" not in str(store.describe("user_spend"))
    assert str(store.describe("user_spend")).startswith("feature view user_spend\n  description: Per-transaction")
    with pytest.raises(KeyError, match="did you mean user_spend"):
        store.describe("user_spnd")
    with pytest.raises(KeyError, match="no feature 'nope'"):
        store.describe("user_spend:nope")
