"""One conformance suite, both engines: each must equal an independent pandas oracle, and each other."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pandas as pd
import pytest
from pit_data import merchant_risk, pair_stats, user_stats
from pit_oracle import assert_matches, brute_force_row, oracle

from aquifer.training import get_training_frame

pytestmark = pytest.mark.spark

ENGINES = ["spark", "duckdb"]
ALL_FEATURES = ["user_stats:amount", "user_stats:n", "user_stats:tag", "merchant_risk:risk",
                "merchant_risk:flagged", "pair_stats:cnt"]
VIEWS = [user_stats, merchant_risk, pair_stats]


@pytest.fixture(scope="module")
def frames(spark, pit_store, dataset):
    """Each engine's answer (and the Spark window method's) to the full request, computed once."""
    out = {}
    for engine in ENGINES:
        out[engine] = get_training_frame(pit_store, dataset.labels, ALL_FEATURES, engine=engine)
    for method in ("window", "salted"):
        out[f"spark-{method}"] = get_training_frame(pit_store, dataset.labels, ALL_FEATURES, engine="spark",
                                                    spark_method=method)
    return out


@pytest.mark.parametrize("engine", [*ENGINES, "spark-window", "spark-salted"])
def test_matches_oracle(frames, dataset, engine):
    assert_matches(frames[engine], oracle(dataset.labels, dataset.features, VIEWS))


@pytest.mark.parametrize("engine", [*ENGINES, "spark-window", "spark-salted"])
def test_matches_brute_force_on_a_sample(frames, dataset, engine):
    frame = frames[engine]
    for i in dataset.labels.sample(n=60, random_state=11).index:
        for view in VIEWS:
            expected = brute_force_row(dataset.labels.loc[i], dataset.features[view.name], view)
            for name, value in expected.items():
                got = frame.loc[i, name]
                missing = value is None or pd.isna(value)
                assert (pd.isna(got) and missing) or got == value, (i, view.name, name, got, value)


def test_engines_return_identical_frames(frames):
    pd.testing.assert_frame_equal(frames["spark"], frames["duckdb"], check_exact=True)
    pd.testing.assert_frame_equal(frames["spark"], frames["spark-window"], check_exact=True)
    pd.testing.assert_frame_equal(frames["spark"], frames["spark-salted"], check_exact=True)


def test_salted_window_with_tiny_buckets_still_matches(spark, pit_store, dataset, monkeypatch):
    """Thousands of buckets: most labels' answers come from carried rows of earlier buckets."""
    from aquifer.engines.spark import pit_salted

    monkeypatch.setattr(pit_salted, "SALT_BUCKETS", 5000)
    got = get_training_frame(pit_store, dataset.labels, ALL_FEATURES, engine="spark", spark_method="salted")
    assert_matches(got, oracle(dataset.labels, dataset.features, VIEWS))


def test_every_label_row_once_in_order_with_columns_untouched(frames, dataset):
    for frame in frames.values():
        assert len(frame) == len(dataset.labels)
        pd.testing.assert_frame_equal(frame[dataset.labels.columns], dataset.labels)


def test_the_data_exercises_every_edge_case(frames, dataset):
    """Guards the suite itself: the seeded data must really contain the cases it claims to cover."""
    labels, frame, us = dataset.labels, frames["duckdb"], dataset.features["user_stats"]
    assert us.duplicated(["user_id", "event_ts"]).sum() > 50  # ties on event_ts
    assert (labels["note"] == "tie").sum() > 50 and (labels["note"] == "exact").sum() > 50
    assert labels.duplicated().sum() >= 40  # duplicate label rows
    assert (~labels["user_id"].isin(us["user_id"])).sum() > 20  # entities with no features
    assert (labels["event_ts"] < us["event_ts"].min()).sum() > 20  # labels before the first feature
    exact = frame[labels["note"] == "exact"]
    assert exact["cnt"].notna().all()  # a feature at exactly ts is available
    won_with_null = frame["n"].notna() & frame["amount"].isna()
    assert won_with_null.sum() > 10  # rows whose winning feature row holds a null: carried whole


@pytest.mark.parametrize("engine", ENGINES)
def test_fill_defaults_and_full_names(spark, pit_store, dataset, engine):
    labels = dataset.labels.head(300)
    got = get_training_frame(pit_store, labels, VIEWS, engine=engine, fill_defaults=True, full_names=True)
    assert_matches(got, oracle(labels, dataset.features, VIEWS, fill_defaults=True, full_names=True))
    assert got["user_stats__amount"].notna().all() and got["pair_stats__cnt"].notna().all()


@pytest.mark.parametrize("engine", ENGINES)
def test_negative_control_a_leaky_join_fails_the_comparison(frames, pit_store, dataset, engine):
    """Proof the comparison can catch a leak: answers that let future rows in must not pass it."""
    expected = oracle(dataset.labels, dataset.features, VIEWS)
    shifted = dataset.labels.assign(event_ts=dataset.labels["event_ts"] + pd.Timedelta(seconds=1))
    leaky = get_training_frame(pit_store, shifted, ALL_FEATURES, engine=engine)  # event_ts <= ts + 1s
    leaky["event_ts"] = dataset.labels["event_ts"]
    with pytest.raises(AssertionError):
        assert_matches(leaky, expected)
    latest = oracle(dataset.labels, dataset.features, VIEWS, leak=timedelta(days=3650))  # latest row, any ts
    with pytest.raises(AssertionError):
        assert_matches(latest, expected)
    assert_matches(frames[engine], expected)  # the same comparison passes the honest join


@pytest.mark.parametrize("engine", ENGINES)
def test_view_without_offline_data_is_null_with_a_warning(spark, pit_store, dataset, engine):
    labels = dataset.labels.head(50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = get_training_frame(pit_store, labels, ["not_yet_run:score", "user_stats:n"], engine=engine)
    assert any("not_yet_run" in str(w.message) for w in caught)
    assert got["score"].isna().all() and len(got) == 50
