"""Bad and unusual inputs to ``get_training_frame``: clear errors, UTC rules, engine choice, Spark frames."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from pit_data import T0

from aquifer.training import TrainingInputError, get_training_frame
from aquifer.training.engine import choose_engine

pytestmark = pytest.mark.spark

FEATURES = ["user_stats:amount", "user_stats:n"]


def _labels(dataset, n=30):
    return dataset.labels.head(n)


@pytest.mark.parametrize("missing", ["user_id", "event_ts"])
def test_missing_column_names_it_and_the_view(pit_store, dataset, missing):
    labels = _labels(dataset).drop(columns=[missing])
    with pytest.raises(TrainingInputError, match=missing) as info:
        get_training_frame(pit_store, labels, FEATURES, engine="duckdb")
    assert "user_stats" in str(info.value)


def test_key_type_mismatch_is_an_error_not_an_empty_join(pit_store, dataset):
    labels = _labels(dataset).assign(user_id=lambda d: d["user_id"].astype(str))
    with pytest.raises(TrainingInputError, match=r"'user_id' is string .* integer .* 'user_stats'"):
        get_training_frame(pit_store, labels, FEATURES, engine="duckdb")


def test_feature_column_clashing_with_a_label_column(pit_store, dataset):
    with pytest.raises(TrainingInputError, match="amount"):
        get_training_frame(pit_store, _labels(dataset).assign(amount=1.0), FEATURES, engine="duckdb")


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_naive_is_utc_and_aware_is_converted(spark, pit_store, dataset, engine):
    labels = _labels(dataset, 200)
    expected = get_training_frame(pit_store, labels, FEATURES, engine=engine)
    naive = labels.assign(event_ts=labels["event_ts"].dt.tz_localize(None))
    berlin_ts = labels["event_ts"].dt.tz_convert("Europe/Berlin").astype("datetime64[ns, Europe/Berlin]")
    berlin = labels.assign(event_ts=berlin_ts)
    for variant in (naive, berlin):
        got = get_training_frame(pit_store, variant, FEATURES, engine=engine)
        pd.testing.assert_frame_equal(got[FEATURES_OUT], expected[FEATURES_OUT])
        pd.testing.assert_series_equal(got["event_ts"], variant["event_ts"])  # passed through untouched


FEATURES_OUT = ["amount", "n"]


def test_spark_labels_in_and_spark_frame_out(spark, pit_store, dataset):
    labels = _labels(dataset, 200)
    expected = get_training_frame(pit_store, labels, FEATURES, engine="duckdb")
    sdf = spark.createDataFrame(labels).repartition(1)
    got = get_training_frame(pit_store, sdf, FEATURES, engine="spark", as_spark=True)
    assert got.columns == [*labels.columns, *FEATURES_OUT]
    local = got.toPandas()
    pd.testing.assert_frame_equal(local[FEATURES_OUT], expected[FEATURES_OUT], check_dtype=False)
    assert local["user_id"].tolist() == labels["user_id"].tolist()  # order kept


def test_labels_with_an_index_keep_it(pit_store, dataset):
    labels = _labels(dataset, 20).set_index(pd.Index([5] * 20, name="dup"))
    got = get_training_frame(pit_store, labels, FEATURES, engine="duckdb")
    assert got.index.equals(labels.index) and len(got) == 20


def test_auto_engine_rule(pit_store, dataset, monkeypatch):
    from aquifer.definitions.refs import resolve_features
    from aquifer.planning import engine_choice
    from aquifer.training import engine as training_engine
    from aquifer.training.inputs import plan_views

    config = pit_store.config
    views = plan_views(resolve_features(FEATURES, pit_store.views.values()), config.offline_path, "pit")
    labels = _labels(dataset)
    assert 0 < training_engine.estimate_bytes(labels, views) < 10_000_000
    assert choose_engine(config, None, labels, views, as_spark=False) == "duckdb"
    assert choose_engine(config, None, labels, views, as_spark=True) == "spark"
    assert choose_engine(config, "spark", labels, views, as_spark=False) == "spark"
    remote = replace(config, spark={"master": "spark://cluster:7077"})
    assert choose_engine(remote, None, labels, views, as_spark=False) == "spark"
    assert choose_engine(replace(config, offline_engine="spark"), None, labels, views, False) == "spark"
    with pytest.raises(TrainingInputError, match="unknown engine"):
        choose_engine(config, "polars", labels, views, False)
    monkeypatch.setattr(engine_choice, "available_memory", lambda: 1000)  # inputs no longer fit
    assert choose_engine(config, None, labels, views, as_spark=False) == "spark"


def test_labels_before_all_data_and_empty_time_range(pit_store):
    labels = pd.DataFrame({"user_id": [1, 2], "event_ts": [T0 - pd.Timedelta(days=30)] * 2})
    got = get_training_frame(pit_store, labels, FEATURES, engine="duckdb", fill_defaults=True)
    assert got["amount"].tolist() == [0.0, 0.0] and got["n"].tolist() == [0, 0]
