"""``EventLanding``: where and how a stream worker's accepted events land (no Spark, no broker)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aquifer.analysis.source_files import data_files, inspect_files
from aquifer.analysis.source_schema import source_errors
from aquifer.definitions import Aggregation, AggregationView, BatchSource, Entity, Field, KafkaSource, Tumbling
from aquifer.definitions.types import Float64, Int64, String
from aquifer.engines.stream.landing import EventLanding, LandingError, file_prefix

T = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs


def view_over(batch: BatchSource | None, schema=(Field("user_id", Int64), Field("amount", Float64)),
              topic: str = "payments") -> AggregationView:
    user = Entity("user", join_keys=["user_id"])
    source = KafkaSource("payments", topic=topic, timestamp_field="ts", timestamp_unit="ms", batch_source=batch,
                         schema=list(schema))
    return AggregationView("spend", entities=[user], source=source,
                           aggregations=[Aggregation("amount", "sum", Tumbling("1h"))])


def landed(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas().sort_values(["ts", "user_id"]).reset_index(drop=True)


def test_a_source_without_batch_source_lands_nowhere_and_other_sources_are_refused(tmp_path):
    assert EventLanding.for_view(view_over(None), tmp_path) is None
    plain = AggregationView("v", entities=[Entity("user", join_keys=["user_id"])],
                            source=BatchSource("b", path="x"), aggregations=[Aggregation("a", "sum", Tumbling("1h"))])
    with pytest.raises(ValueError, match="not a KafkaSource"):
        EventLanding.for_view(plain, tmp_path)


@pytest.mark.parametrize(("batch", "message"), [
    (BatchSource("landed", path="data/events.csv", format="csv", timestamp_field="ts"), "format 'csv'"),
    (BatchSource("landed", table="db.events", timestamp_field="ts"), "is the table 'db.events'"),
    (BatchSource("landed", path="data/*.parquet", timestamp_field="ts"), "is a glob"),
])
def test_batch_sources_that_cannot_take_landed_files_are_refused_by_name(tmp_path, batch, message):
    with pytest.raises(ValueError, match=message) as err:
        EventLanding.for_view(view_over(batch), tmp_path)
    assert "'landed'" in str(err.value)


def test_a_single_existing_file_is_refused_and_left_alone(tmp_path):
    single = tmp_path / "data" / "transactions.parquet"
    single.parent.mkdir()
    pd.DataFrame({"user_id": [1], "amount": [1.0], "ts": [pd.Timestamp("2026-01-01")]}).to_parquet(single)
    before = single.read_bytes()
    batch = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="ts")
    with pytest.raises(ValueError, match="is one Parquet file") as err:
        EventLanding.for_view(view_over(batch), tmp_path)
    assert "'transactions'" in str(err.value) and "mkdir" in str(err.value)
    assert single.read_bytes() == before and list(single.parent.iterdir()) == [single]


def test_land_writes_typed_columns_the_batch_reader_accepts(tmp_path):
    batch = BatchSource("landed", path="data/events.parquet", timestamp_field="ts", created_timestamp_field="landed_at")
    schema = (Field("user_id", Int64), Field("amount", Float64), Field("country", String))
    landing = EventLanding.for_view(view_over(batch, schema), tmp_path)
    assert landing is not None and landing.folder == tmp_path / "data" / "events.parquet"
    before = time.time_ns() // 1000
    events = [(T + 5, {"user_id": "7", "amount": 3, "country": "FR", "extra": [1]}),
              (T + 1, {"user_id": 2, "amount": None}),
              (T + 3, {"user_id": 2, "amount": float("nan"), "country": "DE"})]
    assert landing.land(0, 10, 14, events) == 3
    (path,) = data_files(landing.folder)
    assert path.name == "payments-p0-00000000000000000010-00000000000000000014.parquet"
    table = pq.read_table(path)
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("landed_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("user_id").type == pa.int64() and table.schema.field("amount").type == pa.float64()
    assert table.column_names == ["user_id", "ts", "landed_at", "amount", "country"]
    rows = table.to_pylist()
    assert [r["user_id"] for r in rows] == [2, 2, 7]  # sorted by time
    assert [r["amount"] for r in rows] == [None, None, 3.0]  # NaN lands as null, as the batch run reads it
    assert [r["country"] for r in rows] == [None, "DE", "FR"]
    assert all(before <= int(r["landed_at"].timestamp() * 1_000_000) <= time.time_ns() // 1000 for r in rows)
    files = inspect_files(landing.folder, "parquet")
    assert not files.problems and not source_errors(landing.source, files)
    assert not list(landing.folder.glob(".*"))  # no temporary file left behind


def test_a_replay_of_an_uncommitted_checkpoint_replaces_its_file_without_duplicates(tmp_path):
    landing = EventLanding.for_view(view_over(BatchSource("landed", path="landed", timestamp_field="ts")), tmp_path)
    assert landing is not None
    first = [(T + i, {"user_id": i % 3, "amount": float(i)}) for i in range(10)]
    second = [(T + i, {"user_id": i % 3, "amount": float(i)}) for i in range(10, 20)]
    landing.land(0, 0, 9, first)
    landing.land(1, 0, 4, second[:2])  # another partition: untouched by partition 0's replays
    landing.land(0, 10, 19, second)
    # the checkpoint from offset 10 was not committed: replayed with other boundaries
    landing.land(0, 10, 14, second[:5])
    landing.land(0, 15, 22, [*second[5:], (T + 99, {"user_id": 1, "amount": 99.0})])
    names = [(f.partition, f.first_offset, f.last_offset) for f in landing.landed_files()]
    assert names == [(0, 0, 9), (0, 10, 14), (0, 15, 22), (1, 0, 4)]
    frame = pd.concat([pq.read_table(f.path).to_pandas() for f in landing.landed_files(0)])
    assert sorted(frame.amount) == [float(i) for i in range(20)] + [99.0]
    # a checkpoint whose events were all dead letters: stale files from its first offset go, nothing is written
    assert landing.land(0, 15, 30, []) == 0
    assert [(f.first_offset, f.last_offset) for f in landing.landed_files(0)] == [(0, 9), (10, 14)]


def test_a_file_straddling_the_first_offset_is_refused_not_doubled(tmp_path):
    landing = EventLanding.for_view(view_over(BatchSource("landed", path="landed", timestamp_field="ts")), tmp_path)
    assert landing is not None
    landing.land(0, 0, 9, [(T, {"user_id": 1, "amount": 1.0})])
    with pytest.raises(LandingError, match=r"holds offsets 0\.\.9 of partition 0"):
        landing.land(0, 5, 12, [(T, {"user_id": 1, "amount": 1.0})])
    assert len(landing.landed_files()) == 1


def test_an_event_without_its_join_key_is_a_landing_error_naming_it(tmp_path):
    landing = EventLanding.for_view(view_over(BatchSource("landed", path="landed", timestamp_field="ts")), tmp_path)
    assert landing is not None
    with pytest.raises(LandingError, match="column 'user_id'"):
        landing.land(3, 0, 0, [(T, {"amount": 1.0})])
    assert not landing.landed_files() and not list(landing.folder.glob(".*"))


def test_stale_temporaries_of_the_partition_are_removed(tmp_path):
    landing = EventLanding.for_view(view_over(BatchSource("landed", path="landed", timestamp_field="ts")), tmp_path)
    assert landing is not None
    landing.folder.mkdir()
    old = landing.folder / ".payments-p0-00000000000000000000-00000000000000000009.parquet.abc.tmp"
    fresh = landing.folder / ".payments-p0-00000000000000000010-00000000000000000019.parquet.def.tmp"
    for path in (old, fresh):
        path.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    landing.land(0, 20, 29, [(T, {"user_id": 1, "amount": 1.0})])
    assert not old.exists() and fresh.exists()  # a fresh one may belong to a worker still writing


def test_files_already_in_the_folder_shape_the_landed_columns(tmp_path):
    folder = tmp_path / "landed"
    folder.mkdir()
    # a pandas user's file: nanosecond timestamps, an index, a column the Kafka schema does not declare
    pd.DataFrame({"user_id": [1], "amount": [5.0], "channel": ["web"],
                  "ts": [pd.Timestamp("2025-12-31T23:00:00")]}).to_parquet(folder / "history.parquet")
    landing = EventLanding.for_view(view_over(BatchSource("landed", path=str(folder), timestamp_field="ts")), tmp_path)
    assert landing is not None and landing.columns["channel"] == String
    landing.land(0, 0, 1, [(T, {"user_id": 1, "amount": 1.0, "channel": "app"}), (T + 1, {"user_id": 2})])
    files = inspect_files(folder, "parquet")
    assert not files.problems and not source_errors(landing.source, files)
    assert pq.read_table(landing.landed_files()[0].path).column("channel").to_pylist() == ["app", None]


def test_files_whose_types_clash_are_refused_up_front(tmp_path):
    folder = tmp_path / "landed"
    folder.mkdir()
    pd.DataFrame({"user_id": ["u1"], "amount": [5.0], "ts": [pd.Timestamp("2026-01-01")]}).to_parquet(
        folder / "history.parquet")
    with pytest.raises(ValueError, match=r"column 'user_id' is string in .*history\.parquet, but the landed "
                                         r"events hold Int64"):
        EventLanding.for_view(view_over(BatchSource("landed", path=str(folder), timestamp_field="ts")), tmp_path)


def test_numeric_time_columns_land_as_epoch_numbers_in_the_batch_unit(tmp_path):
    batch = BatchSource("landed", path="landed", timestamp_field="ts", timestamp_unit="ms")
    schema = (Field("user_id", Int64), Field("amount", Float64), Field("ts", Int64))
    landing = EventLanding.for_view(view_over(batch, schema), tmp_path)
    assert landing is not None
    landing.land(0, 0, 0, [(T + 1999, {"user_id": 1, "amount": 1.0, "ts": "ignored: the parsed time is used"})])
    assert pq.read_table(landing.landed_files()[0].path).column("ts").to_pylist() == [(T + 1999) // 1000]
    without_unit = BatchSource("landed", path="landed", timestamp_field="ts")
    with pytest.raises(ValueError, match="declares no timestamp_unit"):
        EventLanding.for_view(view_over(without_unit, schema), tmp_path)


def test_file_names_never_start_like_hidden_files():
    assert file_prefix("_internal") == "topic_internal" and file_prefix(".x") == "topic.x"
    assert file_prefix("payments.v2-eu") == "payments.v2-eu"
