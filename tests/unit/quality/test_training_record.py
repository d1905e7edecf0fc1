"""Training frames recorded for drift: a bounded uniform sample as Parquet, the registry row, the SDK's id."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from aquifer.config import load_config
from aquifer.definitions import BatchSource, Entity, FeatureView, Field
from aquifer.quality.samples import SAMPLE_ROWS, read_sample, sample_indices
from aquifer.registry import Registry
from aquifer.training.record import ATTR, record_training_frame
from aquifer.types import Bool, Float64, String

user = Entity("user", join_keys=["user_id"])
source = BatchSource("events", path="unused.parquet", timestamp_field="event_ts")
stats = FeatureView("stats", entities=[user], source=source,
                    schema=[Field("amount", Float64), Field("country", String), Field("vip", Bool)])


def fake_store(tmp_path):
    (tmp_path / "aquifer.yaml").write_text("project: rec\noffline_store: {path: offline}\n")
    return SimpleNamespace(config=load_config(tmp_path), views={"stats": stats}, services={},
                           registry=Registry(f"sqlite:///{tmp_path}/registry.db"))


def test_sample_indices_are_bounded_uniform_and_distinct():
    assert list(sample_indices(5, 10)) == [0, 1, 2, 3, 4]
    picked = sample_indices(1_000_000, SAMPLE_ROWS, seed=1)
    assert len(picked) == SAMPLE_ROWS == len(set(picked.tolist())) and list(picked) == sorted(picked)
    assert abs(picked.mean() - 500_000) < 5 * 1_000_000 / np.sqrt(12 * SAMPLE_ROWS)


def test_large_frame_records_a_bounded_sample(tmp_path):
    store = fake_store(tmp_path)
    n = 50_000
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"user_id": np.arange(n), "stats__amount": rng.normal(size=n),
                          "stats__country": rng.choice(["FR", "DE"], n), "stats__vip": rng.random(n) < 0.1})
    frame.loc[::7, "stats__amount"] = np.nan
    recorded = record_training_frame(store, frame, ["stats:amount", "stats:country", "stats:vip"], full_names=True,
                                     seed=4)
    row = store.registry.training_frame(recorded.id)
    assert row.rows == n and row.features == ["stats:amount", "stats:country", "stats:vip"]
    assert row.details["sample_rows"] == SAMPLE_ROWS
    assert row.details["columns"]["stats:amount"] == "stats__amount"
    assert row.details["kinds"] == {"stats:amount": "numeric", "stats:country": "categorical",
                                    "stats:vip": "categorical"}
    sample = read_sample(tmp_path / "offline" / "_training_frames" / "rec" / f"{recorded.id}.parquet")
    assert set(sample) == {"stats:amount", "stats:country", "stats:vip"}
    assert all(len(v) == SAMPLE_ROWS for v in sample.values())
    nulls = sum(v is None for v in sample["stats:amount"]) / SAMPLE_ROWS
    assert abs(nulls - 1 / 7) < 0.015  # NaN kept as null, about one in seven rows
    assert all(isinstance(v, bool) for v in sample["stats:vip"])


def test_the_sdk_returns_the_id_and_survives_a_failed_record(tmp_path, monkeypatch):
    from aquifer.sdk.store import FeatureStore
    from aquifer.training import record

    (tmp_path / "aquifer.yaml").write_text("project: rec\n")
    store = FeatureStore(tmp_path)
    frame = pd.DataFrame({"amount": [1.0, 2.0]})
    monkeypatch.setattr(record, "record_training_frame", lambda *a, **k: record.RecordedFrame("abc", [], 2))
    assert store._record_training_frame(frame, ["stats:amount"], False) == "abc" and frame.attrs[ATTR] == "abc"

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(record, "record_training_frame", broken)
    assert store._record_training_frame(pd.DataFrame(), ["stats:amount"], False) is None
