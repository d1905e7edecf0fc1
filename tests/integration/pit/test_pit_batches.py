"""``iter_training_batches``: the training frame streamed as Arrow batches, on both engines, against the oracle.

Batches are smaller than the frame, so several come back; concatenated they must equal the independent
pandas oracle and ``get_training_frame``'s frame: every label row once, in the labels' order.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from pit_data import merchant_risk, pair_stats, user_stats
from pit_oracle import assert_matches, oracle

from aquifer.training import TrainingInputError, get_training_frame, iter_training_batches

pytestmark = pytest.mark.spark

ENGINES = ["spark", "duckdb"]
ALL_FEATURES = ["user_stats:amount", "user_stats:n", "user_stats:tag", "merchant_risk:risk",
                "merchant_risk:flagged", "pair_stats:cnt"]
VIEWS = [user_stats, merchant_risk, pair_stats]
BATCH_ROWS = 250


@pytest.fixture(scope="module")
def streamed(spark, pit_store, dataset):
    """Each engine's batches for the full request, read once."""
    return {engine: list(iter_training_batches(pit_store, dataset.labels, ALL_FEATURES, engine=engine,
                                               batch_rows=BATCH_ROWS))
            for engine in ENGINES}


def _frame(batches: list[pa.RecordBatch]) -> pd.DataFrame:
    return pa.Table.from_batches(batches).to_pandas()


@pytest.mark.parametrize("engine", ENGINES)
def test_batches_concatenate_to_the_oracle(streamed, dataset, engine):
    batches = streamed[engine]
    assert len(batches) >= -(-len(dataset.labels) // BATCH_ROWS) > 1  # several batches, none too big
    assert all(0 < b.num_rows <= BATCH_ROWS for b in batches)
    assert len({b.schema for b in batches}) == 1
    assert_matches(_frame(batches), oracle(dataset.labels, dataset.features, VIEWS))


@pytest.mark.parametrize("engine", ENGINES)
def test_same_rows_columns_and_values_as_the_frame(streamed, pit_store, dataset, engine):
    expected = get_training_frame(pit_store, dataset.labels, ALL_FEATURES, engine=engine)
    pd.testing.assert_frame_equal(_frame(streamed[engine]), expected.reset_index(drop=True), check_exact=True)


def test_engines_stream_identical_batches(streamed):
    assert pa.Table.from_batches(streamed["spark"]).equals(pa.Table.from_batches(streamed["duckdb"]))


@pytest.mark.parametrize("engine", ENGINES)
def test_fill_defaults_and_full_names(spark, pit_store, dataset, engine):
    labels = dataset.labels.head(300)
    batches = list(iter_training_batches(pit_store, labels, VIEWS, engine=engine, batch_rows=64, fill_defaults=True,
                                         full_names=True))
    assert len(batches) == 5
    assert_matches(_frame(batches), oracle(labels, dataset.features, VIEWS, fill_defaults=True, full_names=True))


def test_spark_labels_stream_in_their_order(spark, pit_store, dataset):
    labels = dataset.labels.head(600)
    batches = list(iter_training_batches(pit_store, spark.createDataFrame(labels).repartition(1), ALL_FEATURES,
                                         engine="spark", batch_rows=BATCH_ROWS))
    assert len(batches) == 3
    assert_matches(_frame(batches), oracle(labels, dataset.features, VIEWS))


@pytest.mark.parametrize("engine", ENGINES)
def test_no_labels_no_batches(spark, pit_store, dataset, engine):
    assert list(iter_training_batches(pit_store, dataset.labels.head(0), ALL_FEATURES, engine=engine)) == []


def test_a_bad_request_raises_at_the_call_not_at_the_first_batch(pit_store, dataset):
    with pytest.raises(TrainingInputError, match="user_id"):
        iter_training_batches(pit_store, dataset.labels.drop(columns=["user_id"]), ALL_FEATURES, engine="duckdb")
    with pytest.raises(TrainingInputError, match="batch_rows"):
        iter_training_batches(pit_store, dataset.labels, ALL_FEATURES, engine="duckdb", batch_rows=0)


def test_duckdb_lists_again_when_a_swap_removes_a_listed_file(tmp_path, dataset, stale_listing):
    store, calls = stale_listing
    labels = dataset.labels[["user_id", "event_ts", "label"]]
    features = ["user_stats:amount", "user_stats:n", "user_stats:tag"]
    batches = list(iter_training_batches(store, labels, features, engine="duckdb", batch_rows=BATCH_ROWS))
    assert len(calls) == 2 and len(batches) > 1
    assert_matches(_frame(batches), oracle(labels, {"user_stats": dataset.features["user_stats"]}, [user_stats]))
