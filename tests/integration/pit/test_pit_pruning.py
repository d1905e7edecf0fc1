"""Per-entity pruning of feature rows (Spark, before the shuffle) keeps every row a label can match.

One label per entity makes each entity's time range a single instant, so the pruning bounds are as tight
as they get: features exactly at the label's ts, exactly ``ttl`` older, and just outside both.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pit_data import make_store, write_view

from aquifer.engines.spark import pit as spark_pit
from aquifer.training import get_training_frame

pytestmark = pytest.mark.spark

T = pd.Timestamp("2024-03-05 12:00:00", tz="UTC")
US = pd.Timedelta(microseconds=1)
TTL = pd.Timedelta(days=2)  # user_stats' TTL in pit_data


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = make_store(tmp_path_factory.mktemp("pit_prune"))
    rows = [  # (user_id, event_ts, amount): the label of every user is at T
        (1, T, 1.0), (1, T + US, -1.0),  # exactly at ts: available; one µs later: not
        (2, T - TTL, 2.0), (2, T + US, -1.0),  # exactly ttl old: still fresh
        (3, T - TTL - US, -1.0),  # one µs too old: null
        (4, T - pd.Timedelta(hours=1), 4.0),  # an ordinary match
        (5, T - pd.Timedelta(hours=1), -1.0),  # an entity with no label
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "event_ts", "amount"])
    frame["created_ts"], frame["n"], frame["tag"] = frame["event_ts"], 1, "x"
    write_view(store, "user_stats", frame, files_per_day=1)
    return store


@pytest.mark.parametrize("pruned", [True, False])
@pytest.mark.parametrize("method", ["window", "asof"])
def test_bounds_are_inclusive_and_pruning_changes_nothing(spark, store, monkeypatch, pruned, method):
    monkeypatch.setattr(spark_pit, "PRUNE_BROADCAST_ROWS", 10 if pruned else 0)
    labels = pd.DataFrame({"user_id": [1, 2, 3, 4, 6], "event_ts": [T] * 5})
    got = get_training_frame(store, labels, ["user_stats:amount"], engine="spark", spark_method=method)
    assert got["amount"].fillna(-9).tolist() == [1.0, 2.0, -9, 4.0, -9]  # users 3 (too old) and 6 (unknown)
    duck = get_training_frame(store, labels, ["user_stats:amount"], engine="duckdb")
    pd.testing.assert_frame_equal(got, duck)


def test_pruning_keeps_only_rows_some_label_can_match(spark, store):
    from aquifer.definitions.refs import resolve_features
    from aquifer.planning.pit import PitPlan
    from aquifer.training.inputs import plan_views

    views = plan_views(resolve_features(["user_stats:amount"], store.views.values()), store.config.offline_path,
                       "pit")
    labels = spark.createDataFrame(pd.DataFrame({"user_id": [1, 2, 3, 4, 6], "__aq_ts": [T] * 5}))
    plan = PitPlan(views, T.to_pydatetime(), T.to_pydatetime(), label_rows=5)
    rows = spark_pit.read_view_rows(spark, views[0], plan)
    kept = spark_pit.prune_to_labels(rows, labels, views[0]).select("user_id", "event_ts").toPandas()
    kept_ts = kept["event_ts"].dt.tz_localize("UTC")  # the session zone is UTC
    assert sorted(zip(kept["user_id"], kept_ts, strict=True)) == [(1, T), (2, T - TTL), (4, T - pd.Timedelta(hours=1))]
