"""``aquifer.sdk.torch``: values equal the conformance suite's PIT oracle, every row once per epoch (workers,
ranks), the Parquet cache and what invalidates it, online batches in one pipeline, and bad input."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from pit_data import PROJECT, merchant_risk, pair_stats, user_stats, write_view
from pit_oracle import oracle
from sdk_repos import write_pit_repo
from torch.utils.data import DataLoader

from aquifer.definitions.refs import FeatureRefError
from aquifer.sdk.frame_cache import LabelsError
from aquifer.sdk.store import FeatureStore
from aquifer.sdk.torch import STATUS_CODES, FeatureDataset, FeatureIterableDataset, collate

ALL = ["user_stats:amount", "user_stats:n", "user_stats:tag", "merchant_risk:risk", "merchant_risk:flagged",
       "pair_stats:cnt"]
NUMERIC = ["amount", "n", "risk", "flagged", "cnt"]  # the features matrix, in request order
DEFAULTS = {"amount": 0.0, "n": 0, "risk": 0.5, "flagged": False, "cnt": 0}


@pytest.fixture(scope="module")
def store(pit_repo) -> FeatureStore:
    return FeatureStore(pit_repo)


@pytest.fixture(scope="module")
def labels(pit_dataset) -> pd.DataFrame:
    """The conformance labels with ``row``: each row's position, to follow rows through shuffles."""
    return pit_dataset.labels.assign(row=np.arange(len(pit_dataset.labels)))


@pytest.fixture(scope="module")
def expected(pit_dataset, labels) -> dict[str, np.ndarray]:
    """The oracle's frame encoded by the documented mapping, computed here from the oracle's values."""
    frame = oracle(labels, pit_dataset.features, [user_stats, merchant_risk, pair_stats])
    features = np.column_stack([
        frame[c].astype(object).where(frame[c].notna(), DEFAULTS[c]).astype(float).to_numpy() for c in NUMERIC
    ]).astype(np.float32)
    tags = frame["tag"]
    vocabulary = {v: i for i, v in enumerate(sorted(tags.dropna().unique()), start=1)}
    categorical = np.array([[vocabulary[t] if pd.notna(t) else 0] for t in tags], dtype=np.int64)
    mask = np.column_stack([frame[c].notna().to_numpy() for c in [*NUMERIC, "tag"]])
    return {"features": features, "categorical": categorical, "mask": mask, "vocabulary": vocabulary}


@pytest.fixture(scope="module")
def dataset(store, labels) -> FeatureDataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FeatureDataset(store, labels, ALL, label="row", engine="duckdb", mask=True)


def epoch(loader) -> dict[str, np.ndarray]:
    """Every batch of one pass, concatenated."""
    batches = list(loader)
    return {k: np.concatenate([b[k].numpy() for b in batches]) for k in batches[0] if k != "feature_names"}


def test_values_equal_the_pit_oracle(dataset, expected, labels):
    assert dataset.feature_names == (*NUMERIC, "tag")
    assert dataset.vocabularies == {"tag": expected["vocabulary"]}
    got = epoch(DataLoader(dataset, batch_size=256, collate_fn=collate))
    np.testing.assert_array_equal(got["features"], expected["features"])
    np.testing.assert_array_equal(got["categorical"], expected["categorical"])
    np.testing.assert_array_equal(got["mask"], expected["mask"])
    np.testing.assert_array_equal(got["label"], labels["row"].to_numpy())
    assert got["features"].dtype == np.float32 and got["categorical"].dtype == np.int64


def test_items_and_torch_default_collate_agree_with_batches(dataset, expected):
    item = dataset[7]
    np.testing.assert_array_equal(item["features"].numpy(), expected["features"][7])
    assert int(item["label"]) == 7
    plain = next(iter(DataLoader(dataset, batch_size=32)))  # no collate_fn: torch's default_collate
    fast = next(iter(DataLoader(dataset, batch_size=32, collate_fn=collate)))
    assert set(plain) == {"features", "categorical", "mask", "label"}
    for key in plain:
        assert torch.equal(plain[key], fast[key]), key
    assert fast["feature_names"] == dataset.feature_names


def test_float64_dtype(store, labels, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = FeatureDataset(store, labels, ["user_stats:amount"], engine="duckdb", dtype=torch.float64)
    batch = collate(ds.__getitems__([0, 1, 2]))
    assert batch["features"].dtype == torch.float64 and "label" not in batch


def test_shuffled_workers_see_every_row_once_with_its_own_features(dataset, expected):
    loader = DataLoader(dataset, batch_size=100, shuffle=True, num_workers=2, collate_fn=collate)
    got = epoch(loader)
    rows = got["label"]
    assert sorted(rows.tolist()) == list(range(len(dataset)))
    assert not np.array_equal(rows, np.arange(len(dataset)))  # it did shuffle
    np.testing.assert_array_equal(got["features"], expected["features"][rows])
    np.testing.assert_array_equal(got["categorical"], expected["categorical"][rows])


@pytest.fixture(scope="module")
def streamed(store, labels) -> FeatureIterableDataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FeatureIterableDataset.from_labels(store, labels, ALL, label="row", engine="duckdb",
                                                  row_group_rows=97, mask=True)


def test_iterable_streams_row_groups_equal_to_the_oracle(streamed, expected, labels):
    import pyarrow.parquet as pq

    assert pq.ParquetFile(streamed.path).metadata.num_row_groups == -(-len(labels) // 97)
    got = epoch(DataLoader(streamed, batch_size=64, collate_fn=collate))
    np.testing.assert_array_equal(got["label"], labels["row"].to_numpy())
    np.testing.assert_array_equal(got["features"], expected["features"])
    np.testing.assert_array_equal(got["categorical"], expected["categorical"])
    np.testing.assert_array_equal(got["mask"], expected["mask"])


@pytest.mark.parametrize("shuffle", [False, True])
def test_iterable_workers_see_every_row_once(store, streamed, expected, labels, shuffle):
    ds = FeatureIterableDataset(store, streamed.path, ALL, label="row", shuffle=shuffle, seed=5)
    got = epoch(DataLoader(ds, batch_size=64, num_workers=2, collate_fn=collate))
    assert sorted(got["label"].tolist()) == list(range(len(labels)))
    np.testing.assert_array_equal(got["features"], expected["features"][got["label"]])


def test_iterable_two_ranks_with_two_workers_each_see_every_row_once_per_epoch(store, streamed, labels):
    for epoch_number in (0, 1):
        seen = []
        for rank in (0, 1):
            ds = FeatureIterableDataset(store, streamed.path, ALL, label="row", shuffle=True, rank=rank,
                                        world_size=2, batch_size=50)
            ds.set_epoch(epoch_number)
            rank_rows = np.concatenate([b["label"].numpy() for b in DataLoader(ds, batch_size=None, num_workers=2)])
            assert 0 < len(rank_rows) < len(labels)
            seen.append(rank_rows)
        assert not set(seen[0]) & set(seen[1])
        assert sorted(np.concatenate(seen).tolist()) == list(range(len(labels)))


def test_iterable_names_a_missing_column(store, streamed):
    with pytest.raises(LabelsError, match="'no_such_label'"):
        FeatureIterableDataset(store, streamed.path, ALL, label="no_such_label")


# -- the cache --------------------------------------------------------------------------------------------------


def test_cache_is_read_back_and_rebuilt_when_an_input_changes(tmp_path, pit_dataset, labels):
    root = write_pit_repo(tmp_path / "repo", pit_dataset)
    features = ["user_stats:amount", "merchant_risk:risk"]

    def build(store, frame=labels):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return FeatureDataset(store, frame, features, label="label", engine="duckdb")

    store = FeatureStore(root)
    first = build(store)
    assert not first.cache_hit and first.cache_path.exists()
    assert first.cache_path.parent == root / ".aquifer" / "datasets"
    again = build(FeatureStore(root))
    assert again.cache_hit and again.cache_path == first.cache_path
    np.testing.assert_array_equal(again.__getitems__(range(len(labels))).batch["features"].numpy(),
                                  first.__getitems__(range(len(labels))).batch["features"].numpy())
    paths = {first.cache_path}

    # a run the registry records for a requested view
    run = store.registry.start_run(PROJECT, "user_stats", "backfill", None, None)
    store.registry.finish_run(run, status="succeeded", rows_out=1)
    after_run = build(store)
    assert not after_run.cache_hit and after_run.cache_path not in paths
    paths.add(after_run.cache_path)

    # rows written into the offline store with no registry record
    write_view(store, "merchant_risk", pit_dataset.features["merchant_risk"].head(5), files_per_day=1)
    after_write = build(store)
    assert not after_write.cache_hit and after_write.cache_path not in paths
    paths.add(after_write.cache_path)

    # a definition edit that changes the join (user_stats' TTL 2 days -> 1 day) ...
    defs = root / "features" / "defs.py"
    defs.write_text(defs.read_text().replace("ttl=timedelta(days=2)", "ttl=timedelta(days=1)"))
    edited = build(FeatureStore(root))
    assert not edited.cache_hit and edited.cache_path not in paths
    paths.add(edited.cache_path)
    # ... while one that does not (a description) keeps the frame
    defs.write_text(defs.read_text().replace('"user_stats", entities', '"user_stats", description="x", entities'))
    assert build(FeatureStore(root)).cache_hit

    # other labels
    changed = labels.copy()
    changed.loc[0, "label"] = 1 - changed.loc[0, "label"]
    assert not build(FeatureStore(root), changed).cache_hit
    shutil.rmtree(root)


# -- online -----------------------------------------------------------------------------------------------------


pytest_online = pytest.mark.spark

ONLINE = ["user_spend:amount", "user_spend:is_large", "user_spend:country", "merchant_risk:risk_score",
          "user_txn_windows:amount_count_1h"]


@pytest_online
def test_online_batches_are_one_lookup_each_and_equal_get_online_features(materialized, monkeypatch):
    from aquifer.serving.context import context_for

    store = FeatureStore(materialized)
    entities = pd.DataFrame({"user_id": np.arange(1, 301), "merchant_id": np.arange(300) % 50 + 1,
                             "y": np.arange(300) % 2})
    ds = FeatureDataset(store, entities, ONLINE, label="y", source="online", mask=True)
    ctx = context_for(store)
    real, calls = ctx.online.read, []
    monkeypatch.setattr(ctx.online, "read", lambda requests: calls.append(len(requests)) or real(requests))
    batches = list(DataLoader(ds, batch_size=128, collate_fn=collate))
    assert [len(b["label"]) for b in batches] == [128, 128, 44]
    assert len(calls) == 3  # one pipelined lookup per batch, never one per item

    online = store.get_online_features(ONLINE, entities[["user_id", "merchant_id"]].to_dict("records"))
    features = np.concatenate([b["features"].numpy() for b in batches])
    for j, name in enumerate(["amount", "is_large", "risk_score", "amount_count_1h"]):
        np.testing.assert_allclose(features[:, j], np.asarray(online.values[name], dtype=float).astype(np.float32))
    vocabulary = ds.vocabularies["country"]
    categorical = np.concatenate([b["categorical"].numpy() for b in batches])[:, 0]
    assert categorical.tolist() == [vocabulary.get(v, 0) for v in online.values["country"]]
    status = np.concatenate([b["status"].numpy() for b in batches])
    assert status[:, 4].tolist() == [STATUS_CODES[s] for s in online.statuses["country"]]  # categorical last
    # the quickstart has users 1..200: most were materialized, none of 201..300 exists
    assert (status[:200, 0] <= STATUS_CODES["stale"]).mean() > 0.9
    assert (status[200:, 0] == STATUS_CODES["missing"]).all()
    mask = np.concatenate([b["mask"].numpy() for b in batches])
    assert not mask[200:, [0, 1, 3, 4]].any() and mask[200:, 2].all()  # merchants 1..50 exist (column 2)


def test_online_against_a_stopped_redis_gives_unavailable_and_defaults(store, labels):
    ds = FeatureDataset(store, labels.head(500), ALL, label="label", source="online", mask=True,
                        vocabularies={"tag": {"a": 1, "b": 2, "c": 3}})
    batches = list(DataLoader(ds, batch_size=250, num_workers=0, collate_fn=collate))
    for batch in batches:
        assert (batch["status"] == STATUS_CODES["unavailable"]).all()
        assert not batch["mask"].any()
        expected = torch.tensor([[DEFAULTS[c] for c in NUMERIC]], dtype=torch.float32).expand(len(batch["label"]), -1)
        assert torch.equal(batch["features"], expected)
        assert (batch["categorical"] == 0).all()  # tag declares no default: the unknown index


# -- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "error", "match"), [
    (lambda f: f.drop(columns="merchant_id"), LabelsError, "join key column 'merchant_id'.*merchant_risk"),
    (lambda f: f.drop(columns="event_ts"), LabelsError, "timestamp column 'event_ts'"),
    (lambda f: f.drop(columns="label"), LabelsError, "label column 'label'"),
    (lambda f: f.head(0), LabelsError, "empty"),
    (lambda f: f.assign(label=f["label"].astype(float).where(f.index % 100 != 3)), LabelsError,
     r"label column 'label' has \d+ null values \(rows 3, 103"),
])
def test_bad_labels_are_refused_naming_the_column(store, labels, change, error, match):
    with pytest.raises(error, match=match):
        FeatureDataset(store, change(labels), ALL, label="label", engine="duckdb")


def test_an_unknown_feature_is_named(store, labels):
    with pytest.raises(FeatureRefError, match="unknown feature 'nope' in view 'user_stats'"):
        FeatureDataset(store, labels, ["user_stats:nope"], label="label")
    with pytest.raises(FeatureRefError, match="unknown feature view 'no_view'"):
        FeatureDataset(store, labels, ["no_view:x"], label="label", source="online")
    with pytest.raises(ValueError, match="source must be"):
        FeatureDataset(store, labels, ALL, source="nearline")
