"""Mid-swap, both engines read each day once: from its parked copy under ``_swap/`` when the live folder is
gone, never from a write still staged under ``_staging/``."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pit_data import make_store, user_stats, write_view
from pit_oracle import assert_matches, oracle

from aquifer.stores.offline.layout import view_path
from aquifer.stores.offline.partitions import STAGING, SWAP
from aquifer.training import get_training_frame

pytestmark = pytest.mark.spark
FEATURES = ["user_stats:amount", "user_stats:n", "user_stats:tag"]


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_a_parked_day_is_read(spark, tmp_path, dataset, engine):
    store = make_store(tmp_path)
    rows = dataset.features["user_stats"]
    write_view(store, "user_stats", rows)
    root = view_path(store.config.offline_path, "pit", "user_stats")
    days = sorted(p.name for p in root.iterdir() if p.name.startswith("event_date="))
    parked = root / SWAP / "w1"
    parked.mkdir(parents=True)
    for day in days[2:4]:
        (root / day).rename(parked / day)
    staged = root / STAGING / "w2" / days[5]  # a write in progress: a different answer, not yet swapped in
    staged.mkdir(parents=True)
    for part in (root / days[5]).iterdir():
        table = pq.read_table(part)
        pq.write_table(table.set_column(table.schema.get_field_index("amount"), "amount",
                                        pa.array([1e9] * table.num_rows)), staged / part.name)
    labels = dataset.labels[["user_id", "event_ts", "label"]]
    got = get_training_frame(store, labels, FEATURES, engine=engine)
    expected = oracle(labels, {"user_stats": rows}, [user_stats])
    assert_matches(got, expected)
    # the parked days matter: without them the answer differs
    without = rows[~rows["event_ts"].dt.strftime("event_date=%Y-%m-%d").isin(days[2:4])]
    assert not oracle(labels, {"user_stats": without}, [user_stats]).equals(expected)


def test_duckdb_lists_again_when_a_swap_removes_a_listed_file(tmp_path, dataset, stale_listing):
    store, calls = stale_listing
    labels = dataset.labels[["user_id", "event_ts", "label"]]
    got = get_training_frame(store, labels, FEATURES, engine="duckdb")
    assert len(calls) == 2
    assert_matches(got, oracle(labels, {"user_stats": dataset.features["user_stats"]}, [user_stats]))
