"""Online lookups against a real Redis: values, statuses, defaults, keys and request errors."""

from __future__ import annotations

import pytest
from online_repo import HOUR_US, now_us

from aquifer.definitions.refs import FeatureRefError
from aquifer.sdk.store import FeatureStore
from aquifer.serving.retrieval import TooManyEntities
from aquifer.stores.online.keys import EntityKeyError

pytestmark = pytest.mark.redis


def test_present_stale_missing_and_defaults(store, put):
    now = now_us()
    put("user_stats", {"user_id": 1}, [3, 12.5, "FR", True], now - 60_000_000)
    put("user_stats", {"user_id": 2}, [4, 7.0, "DE", False], now - 3 * HOUR_US)  # past freshness (2h)
    put("user_stats", {"user_id": 3}, [5, 1.0, "US", False], now - 31 * 24 * HOUR_US)  # past TTL (30d)
    put("user_stats", {"user_id": 4}, [6, None, None, True], now - 60_000_000)  # nulls inside a vector
    result = store.get_online_features(
        ["user_stats:amount", "user_stats:country", "user_stats:txn_count"],
        [{"user_id": i} for i in (1, 2, 3, 4, 5)],
    )
    assert result.to_dict() == {
        "user_id": [1, 2, 3, 4, 5],
        "amount": [12.5, 7.0, 0.0, 0.0, 0.0],
        "country": ["FR", "DE", "unknown", "unknown", "unknown"],
        "txn_count": [3, 4, 0, 6, 0],
    }
    assert result.statuses == {
        "amount": ["present", "stale", "stale", "missing", "missing"],
        "country": ["present", "stale", "stale", "missing", "missing"],
        "txn_count": ["present", "stale", "stale", "present", "missing"],
    }
    ages = result.ages["user_stats"]
    assert 59 < ages[0] < 120 and ages[4] is None
    assert result.event_times_us["user_stats"][1] == now - 3 * HOUR_US
    frame = result.to_pandas()
    assert list(frame.columns) == ["user_id", "amount", "country", "txn_count"] and len(frame) == 5


def test_service_across_entity_groups_one_round_trip(store, put, monkeypatch):
    now = now_us()
    put("user_stats", {"user_id": 1}, [3, 12.5, "FR", True], now - 1_000_000)
    put("merchant_risk", {"merchant_id": 9}, [0.9, "gambling"], now - 1_000_000)
    from aquifer.stores.online.redis_store import RedisOnlineStore

    calls = []
    original = RedisOnlineStore.read
    monkeypatch.setattr(RedisOnlineStore, "read", lambda self, reqs: calls.append(len(reqs)) or original(self, reqs))
    result = store.get_online_features("scoring", {"user_id": [1, 2], "merchant_id": [9, 9]})
    assert calls == [4]  # one pipeline: 2 entities x 2 entity groups
    assert result.to_dict() == {
        "user_id": [1, 2], "merchant_id": [9, 9], "amount": [12.5, 0.0], "country": ["FR", "unknown"],
        "risk": [0.9, 0.9], "category": ["gambling", "gambling"],
    }
    assert result.statuses["risk"] == ["present", "present"]
    assert result.statuses["amount"] == ["present", "missing"]


def test_all_types_composite_keys_and_full_names(store, put):
    from datetime import UTC, datetime

    now = now_us()
    signup = datetime(2021, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    put("user_profile", {"user_id": 7}, [41, 0.25, signup, b"\x00\xff"], now - 5 * 24 * HOUR_US)
    put("account_balance", {"bank": "a|b", "account_no": 1}, [10.0], now)
    put("account_balance", {"bank": "a", "account_no": 1}, [20.0], now)
    result = store.get_online_features(
        ["user_profile:age", "user_profile:score", "user_profile:signup_ts", "user_profile:avatar",
         "account_balance:balance"],
        [{"user_id": 7, "bank": "a|b", "account_no": "1"}, {"user_id": "7", "bank": "a", "account_no": 1}],
        full_names=True,
    )
    d = result.to_dict()
    assert d["user_profile__age"] == [41, 41] and d["user_profile__score"] == [0.25, 0.25]
    assert d["user_profile__signup_ts"] == [signup, signup] and d["user_profile__avatar"] == [b"\x00\xff"] * 2
    assert d["account_balance__balance"] == [10.0, 20.0]  # "a|b" and "a" are different accounts
    assert result.statuses["user_profile__age"] == ["present", "present"]  # no ttl, no freshness


def test_request_errors_name_the_problem(store):
    with pytest.raises(FeatureRefError, match="nope"):
        store.get_online_features(["user_stats:nope"], [{"user_id": 1}])
    with pytest.raises(FeatureRefError, match="no_such_service"):
        store.get_online_features("no_such_service", [{"user_id": 1}])
    with pytest.raises(EntityKeyError, match="merchant_id"):
        store.get_online_features("scoring", [{"user_id": 1}])
    with pytest.raises(EntityKeyError, match="user_id"):
        store.get_online_features(["user_stats:amount"], [{"user_id": "abc"}])
    with pytest.raises(TooManyEntities):
        store.get_online_features(["user_stats:amount"], {"user_id": list(range(301))})


def test_unreachable_redis_serves_defaults(tmp_path):
    from online_repo import write_repo

    store = FeatureStore(write_repo(tmp_path / "r", "redis://127.0.0.1:1/0"))
    result = store.get_online_features("scoring", [{"user_id": 1, "merchant_id": 2}])
    assert result.to_dict()["amount"] == [0.0] and result.to_dict()["risk"] == [0.5]
    assert {s for col in result.statuses.values() for s in col} == {"unavailable"}
