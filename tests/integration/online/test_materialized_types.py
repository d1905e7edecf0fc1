"""Materialization refuses offline rows whose stored types do not fit the declared schema (both engines).

A day of ``user_stats`` written with ``amount`` as text (a file put there by hand, or rows older than a
schema change) must not reach Redis as numbers parsed from text: the run fails naming the view, the feature
and a row, nothing of the batch is written online and the materialize ledger does not move.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aquifer.runs.materialize import materialize
from aquifer.stores.offline.layout import view_path
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore

pytestmark = [pytest.mark.redis, pytest.mark.spark]
END = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_text_under_a_float_feature_is_refused(spark, store, engine):
    rows = pd.DataFrame({
        "user_id": [1, 2, 3], "event_ts": pd.to_datetime(["2024-02-28 01:00"] * 3, utc=True),
        "created_ts": pd.to_datetime(["2024-02-28 01:00"] * 3, utc=True),
        "txn_count": [1, 2, 3], "amount": ["12.5", "7", "abc"], "country": ["FR", "DE", "US"],
        "is_vip": [True, False, True],
    })
    folder = view_path(store.config.offline_path, store.config.project, "user_stats") / "event_date=2024-02-28"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), folder / "part-0.parquet",
                   coerce_timestamps="us")
    with pytest.raises(Exception) as info:
        materialize(store, ["user_stats"], end=END, progress=False, engine=engine)
    message = str(info.value)
    assert "view 'user_stats': feature 'amount' is declared Float64 but the offline rows hold string" in message
    assert "user_id=" in message
    assert store.registry.intervals(store.config.project, "user_stats", kind="materialize") == []
    online = RedisOnlineStore.from_config(store.config.online_store)
    prefix = entity_group(store.views["user_stats"]).prefix(store.config.project)
    assert online.read([(prefix + str(u), ["user_stats"]) for u in (1, 2, 3)]) == [[None]] * 3
    online.close()
