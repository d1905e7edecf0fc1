"""A Spark training frame is recorded for drift too: a bounded sample of its rows, the id on the store."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aquifer.config import load_config
from aquifer.definitions import BatchSource, Entity, FeatureView, Field
from aquifer.quality.samples import read_sample
from aquifer.registry import Registry
from aquifer.training.record import record_training_frame
from aquifer.types import Float64, String

pytestmark = pytest.mark.spark

user = Entity("user", join_keys=["user_id"])
stats = FeatureView("stats", entities=[user], source=BatchSource("e", path="x.parquet", timestamp_field="ts"),
                    schema=[Field("amount", Float64), Field("country", String)])


def test_spark_frame_sample_is_bounded(spark, tmp_path):
    (tmp_path / "aquifer.yaml").write_text("project: sp\noffline_store: {path: offline}\n")
    store = SimpleNamespace(config=load_config(tmp_path), views={"stats": stats}, services={},
                            registry=Registry(f"sqlite:///{tmp_path}/registry.db"))
    frame = spark.range(5000).selectExpr("id AS user_id", "CAST(id AS DOUBLE) AS amount",
                                         "IF(id % 2 = 0, 'FR', 'DE') AS country")
    recorded = record_training_frame(store, frame, ["stats:amount", "stats:country"], seed=1, limit=500)
    row = store.registry.training_frame(recorded.id)
    assert row.rows == 5000 and 0 < row.details["sample_rows"] <= 500
    sample = read_sample(tmp_path / "offline" / "_training_frames" / "sp" / f"{recorded.id}.parquet")
    amounts = sample["stats:amount"]
    assert len(set(amounts)) == len(amounts) and max(amounts) > 2500  # distinct rows from the whole frame
    assert set(sample["stats:country"]) == {"FR", "DE"}
