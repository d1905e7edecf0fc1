"""``TimeSplit``: validation blocks strictly after training rows plus the gap; the default gap from the features."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from aquifer.sdk.sklearn import LabelsError, TimeSplit, feature_gap
from aquifer.sdk.store import FeatureStore


def labels(n: int = 1000, days: int = 30, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame({"event_ts": start + pd.to_timedelta(rng.uniform(0, days * 86400, n), unit="s"),
                         "y": rng.integers(0, 2, n)})


def test_default_gap_is_the_longest_ttl_or_window(quickstart_definitions):
    store = FeatureStore(quickstart_definitions)
    assert feature_gap(store, "fraud_model_v1") == timedelta(days=30)  # user_spend's TTL
    assert feature_gap(store, ["merchant_risk:risk_score"]) == timedelta(days=7)
    assert feature_gap(store, ["user_txn_windows:amount_count_1h"]) == timedelta(days=2)  # TTL 2d > windows (1d)
    assert TimeSplit(3, store=store, features=["merchant_risk:risk_score"]).resolved_gap() == timedelta(days=7)


@pytest.mark.parametrize(("n_splits", "gap"), [(1, "0s"), (3, "2d"), (5, timedelta(hours=12))])
def test_every_fold_validates_after_its_training_rows_and_the_gap(n_splits, gap):
    frame = labels()
    split = TimeSplit(n_splits, gap=gap)
    folds = list(split.split(frame))
    assert len(folds) == split.get_n_splits() == n_splits
    times = frame["event_ts"].to_numpy()
    gap_ns = np.timedelta64(int(pd.Timedelta(gap).value), "ns")
    tested = []
    for train, test in folds:
        assert len(train) and len(test)
        assert times[train].max() < times[test].min() - gap_ns
        # every row older than the cutoff trains: nothing is thrown away but the gap
        assert len(train) == (times < times[test].min() - gap_ns).sum()
        tested.append(test)
    everything = np.concatenate(tested)
    assert len(everything) == len(set(everything.tolist()))  # validation blocks do not overlap
    ordered = np.sort(times)
    assert times[everything].min() == ordered[len(frame) // (n_splits + 1)]  # the first block never validates


def test_max_train_size_keeps_the_newest_rows():
    frame = labels()
    for train, test in TimeSplit(3, gap="1d", max_train_size=50).split(frame):
        times = frame["event_ts"].to_numpy()
        assert len(train) == 50
        assert (times[train].min() >= np.sort(times[times < times[test].min() - np.timedelta64(1, "D")])[-50])


def test_times_as_an_array_and_naive_as_utc():
    naive = labels()["event_ts"].dt.tz_localize(None)
    assert [t.tolist() for t, _ in TimeSplit(2, gap="0s").split(naive.to_numpy())] == \
           [t.tolist() for t, _ in TimeSplit(2, gap="0s").split(labels())]


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match="needs gap= or both store= and features="):
        list(TimeSplit(2).split(labels()))
    with pytest.raises(ValueError, match="at least 4 rows"):
        list(TimeSplit(3, gap="0s").split(labels(3)))
    with pytest.raises(ValueError, match="fold 1: no training row"):
        list(TimeSplit(4, gap="10d").split(labels()))
    with pytest.raises(LabelsError, match="no timestamp column 'ts'"):
        list(TimeSplit(2, gap="0s", timestamp_col="ts").split(labels()))
    with pytest.raises(ValueError, match="must not be negative"):
        list(TimeSplit(2, gap=timedelta(hours=-1)).split(labels()))
