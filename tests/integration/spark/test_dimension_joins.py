"""Dimension and as-of joins in SQL views, end to end on Spark, against pandas oracles.

A view joins transactions (pandas Parquet, nanosecond times) to a time-versioned users table (CSV text,
versions from long before the run's range, a duplicated version resolved by ``updated_at``) with
``ASOF LEFT JOIN``, and to a snapshot (``timestamp_field=None``) of segments. The oracle is
``pandas.merge_asof`` by key on the original frames; then a changed snapshot makes every done range stale.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_helpers import offline

pytestmark = [pytest.mark.spark, pytest.mark.slow]

T0 = pd.Timestamp("2026-01-01", tz="UTC")
END = "2026-01-03T00:00:00+00:00"
BATCH_START = pd.Timestamp("2025-12-01", tz="UTC")  # batch_helpers.config_text
VIEWS = ("enriched", "recent", "tiers", "via_view")
N_USERS = 6

CODE = """
transactions = BatchSource("transactions", path="data/transactions.parquet")
users = BatchSource("users", path="data/users.csv", format="csv", created_timestamp_field="updated_at")
segments = BatchSource("segments", path="data/segments.parquet", timestamp_field=None)

enriched = FeatureView(
    "enriched", entities=[user],
    transform=sql('''
        SELECT t.user_id, t.event_ts, t.amount, u.tier, u.event_ts AS tier_since, s.segment
        FROM {transactions} t
        ASOF LEFT JOIN {users} u ON u.user_id = t.user_id AND u.event_ts <= t.event_ts
        LEFT JOIN {segments} s ON s.user_id = t.user_id
    '''),
    schema=[Field("amount", Float64), Field("tier", String), Field("tier_since", Timestamp),
            Field("segment", String)],
)
recent = FeatureView(  # the same join, seeing only tier changes of the 30 days before each transaction
    "recent", entities=[user], transform=enriched.transform, schema=enriched.schema,
    reads={"users": Lookback("30d")},
)
tiers = FeatureView("tiers", entities=[user], source=users, schema=[Field("tier", String)])
via_view = FeatureView(  # as of another view: it holds the versions its runs computed (from batch.start on)
    "via_view", entities=[user], schema=[Field("tier", String)],
    transform=sql('''SELECT t.user_id, t.event_ts, v.tier FROM {transactions} t
                     ASOF LEFT JOIN {tiers} v ON v.user_id = t.user_id AND v.event_ts <= t.event_ts'''),
)
"""


def transactions() -> pd.DataFrame:
    """Two days of transactions with nanosecond parts; one of them at exactly a tier change."""
    rng = np.random.default_rng(7)
    n = 60
    nanos = np.sort(rng.choice(2 * 86400 * 10**9, n, replace=False))
    frame = pd.DataFrame({
        "user_id": rng.integers(1, N_USERS + 1, n).astype("int64"),
        "amount": np.round(rng.uniform(1, 500, n), 2),
        "event_ts": T0 + pd.to_timedelta(nanos, unit="ns"),
    })
    frame.loc[0, ["user_id", "event_ts"]] = [2, T0 + pd.Timedelta(hours=12)]  # the version's own time: valid
    return frame.sort_values("event_ts").reset_index(drop=True)


def user_versions() -> pd.DataFrame:
    """Tier changes: most from months before the range, some inside it; user 6 has none before 2026-01-02."""
    rows = [
        (1, "2025-03-01T00:00:00Z", "bronze", "2025-03-01T00:00:00Z"),
        (1, "2026-01-01T18:30:00Z", "gold", "2026-01-01T18:31:00Z"),
        (2, "2025-07-15T08:00:00", "silver", "2025-07-15T08:00:00"),  # no offset: UTC
        (2, "2026-01-01T12:00:00Z", "gold", "2026-01-01T12:00:00Z"),
        (3, "2025-01-01T00:00:00Z", "bronze", "2025-01-01T00:00:00Z"),
        (3, "2025-01-01T00:00:00Z", "platinum", "2025-01-02T00:00:00Z"),  # same version twice: latest wins
        (4, "2025-11-30T23:59:59.999999Z", "silver", "2025-12-01T00:00:00Z"),
        (5, "2026-01-02T06:00:00Z", "gold", "2026-01-02T06:00:00Z"),
        (6, "2026-01-02T00:00:00Z", "bronze", "2026-01-02T00:00:00Z"),
    ]
    return pd.DataFrame(rows, columns=["user_id", "event_ts", "tier", "updated_at"])


def segments(version: int) -> pd.DataFrame:
    return pd.DataFrame({"user_id": np.arange(1, N_USERS), "segment": [f"s{version}-{i}" for i in range(1, N_USERS)]})


def oracle(events: pd.DataFrame, versions: pd.DataFrame, snapshot: pd.DataFrame, within: str | None = None
           ) -> pd.DataFrame:
    """merge_asof by user on the original frames; duplicates of a version resolved by the latest updated_at;
    ``within``: only versions at most that long before the event (``Lookback``)."""
    dim = versions.assign(event_ts=pd.to_datetime(versions.event_ts, utc=True, format="ISO8601"),
                          updated_at=pd.to_datetime(versions.updated_at, utc=True, format="ISO8601"))
    dim = dim.sort_values("updated_at").drop_duplicates(["user_id", "event_ts"], keep="last")
    dim = dim.rename(columns={"event_ts": "tier_since"})[["user_id", "tier_since", "tier"]]
    ev = events.assign(event_ts=events.event_ts.dt.floor("us"))  # the store keeps microseconds
    joined = pd.merge_asof(ev.sort_values("event_ts"), dim.sort_values("tier_since"), left_on="event_ts",
                           right_on="tier_since", by="user_id", direction="backward", allow_exact_matches=True,
                           tolerance=pd.Timedelta(within) if within else None)
    joined = joined.merge(snapshot, on="user_id", how="left")
    return joined.sort_values(["user_id", "event_ts"]).reset_index(drop=True)


def compare(store, expected: pd.DataFrame, view: str = "enriched") -> None:
    got = offline(store, view)
    assert len(got) == len(expected)
    for column in ("user_id", "amount", "tier", "segment"):
        assert got[column].tolist() == expected[column].where(expected[column].notna(), None).tolist(), column
    assert (got.event_ts.dt.tz_convert("UTC") == expected.event_ts).all()
    assert got.tier_since.isna().tolist() == expected.tier_since.isna().tolist()
    have = got.tier_since.notna()
    assert (got.tier_since[have].dt.tz_convert("UTC") == expected.tier_since[have]).all()


@pytest.fixture(scope="module")
def store_and_data(tmp_path_factory, spark):
    from batch_helpers import HEADER, config_text

    from aquifer.sdk.store import FeatureStore

    root = tmp_path_factory.mktemp("dims")
    (root / "data").mkdir()
    (root / "aquifer.yaml").write_text(config_text(root))
    header = HEADER.replace("Int64, String", "Int64, String, Timestamp")
    header = header.replace("KafkaSource,", "KafkaSource, Lookback,")
    (root / "features.py").write_text(header + CODE)
    events, versions = transactions(), user_versions()
    events.to_parquet(root / "data" / "transactions.parquet")
    versions.to_csv(root / "data" / "users.csv", index=False)
    segments(1).to_parquet(root / "data" / "segments.parquet")
    store = FeatureStore(root)
    plan = store.plan()
    return store, events, versions, plan, store.run(end=END)


def test_asof_and_snapshot_join_match_merge_asof(store_and_data):
    store, events, versions, plan, summary = store_and_data
    assert not plan.problems, plan.problems
    assert sorted(p.name for p in plan.warnings) == ["enriched", "recent"]  # a view is deduplicated already
    warning = str(plan.warnings[0])
    assert "enriched" in warning and "'users'" in warning and "user_id=3" in warning and "'updated_at' wins" in warning
    assert {v.view: v.status for v in summary.views} == dict.fromkeys(VIEWS, "succeeded"), summary
    compare(store, oracle(events, versions, segments(1)))
    recent = oracle(events, versions, segments(1), within="30d")
    compare(store, recent, "recent")
    assert recent.tier.isna().sum() > oracle(events, versions, segments(1)).tier.isna().sum()  # the bound bites
    computed = versions[pd.to_datetime(versions.event_ts, utc=True, format="ISO8601") >= BATCH_START]
    expected = oracle(events, computed, segments(1))
    got = offline(store, "via_view")
    assert got.user_id.tolist() == expected.user_id.tolist()
    assert got.tier.tolist() == expected.tier.where(expected.tier.notna(), None).tolist()


def test_lineage_goes_through_the_joins(store_and_data):
    store = store_and_data[0]
    edges = {(e.from_node, e.from_column, e.to_column) for e in store.analysis.column_edges if e.to_node == "enriched"}
    assert {("users", "tier", "tier"), ("users", "event_ts", "tier_since"), ("segments", "segment", "segment"),
            ("transactions", "amount", "amount"), ("transactions", "user_id", "user_id")} <= edges


def test_a_changed_snapshot_makes_every_done_range_stale(store_and_data):
    from aquifer.runs.batch import plan_batch
    from aquifer.sdk.store import FeatureStore

    store, events, versions = store_and_data[:3]
    before = FeatureStore(store.config.root)
    up_to_date = plan_batch(before, end=END).views[0]
    assert all(start > T0 for start, _ in up_to_date.ranges)  # done: only the lateness lookback is planned
    path: Path = store.config.root / "data" / "segments.parquet"
    segments(2).to_parquet(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    after = FeatureStore(store.config.root)
    assert after.analysis.fingerprints[("feature_view", "enriched")] != before.analysis.fingerprints[
        ("feature_view", "enriched")]
    stale = plan_batch(after, end=END).views[0]
    assert stale.ranges[0][0] == T0  # every range again: none was computed with this snapshot
    rerun = {v.view: v.status for v in after.run(end=END).views}
    assert rerun["enriched"] == rerun["recent"] == "succeeded", rerun
    compare(after, oracle(events, versions, segments(2)))
    compare(after, oracle(events, versions, segments(2), within="30d"), "recent")


def test_duplicate_dimension_keys_without_a_created_time_fail_the_run_naming_them(spark):
    from aquifer.analysis.dimensions import DimensionJoin
    from aquifer.engines.spark.dimensions import one_row_per_key

    frame = spark.createDataFrame(pd.DataFrame({"user_id": [1, 2, 2], "segment": ["a", "b", "c"]}))
    with pytest.raises(Exception, match="view 'v': dimension 'segments' has more than one row for user_id=2"):
        one_row_per_key(frame, DimensionJoin("segments", "s", ("user_id",)), None, "v").collect()
