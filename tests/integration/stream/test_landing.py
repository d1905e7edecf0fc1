"""Landed stream events feed a real batch backfill: the view's offline rows equal a pandas oracle over the events.

The events are landed as a worker lands them (``EventLanding.land`` per checkpoint and partition, one checkpoint
replayed with other boundaries after a "crash"), then ``FeatureStore.backfill`` runs the view in Spark over its
``batch_source`` folder and writes it through the offline store. The oracle is written here in pandas (windows by
arithmetic on the epoch grid, sessions by ``cumsum`` of gaps, nearest-rank percentiles, ``merge_asof``), not
taken from ``aquifer.aggregations``.
"""

from __future__ import annotations

import itertools
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aquifer.engines.stream.landing import EventLanding

pytestmark = pytest.mark.spark

MIN_US = 60_000_000
DAY0 = pd.Timestamp("2026-01-01", tz="UTC")
T0 = int(DAY0.value // 1000)
FEATURES = """
from datetime import timedelta

from aquifer import Aggregation, AggregationView, BatchSource, Entity, Field, KafkaSource, Session, Sliding, Tumbling
from aquifer.types import Float64, Int64, String

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
landed = BatchSource("landed", path="data/payments", timestamp_field="ts", created_timestamp_field="landed_at")
payments = KafkaSource("payments", topic="payments", timestamp_field="ts", timestamp_unit="ms", batch_source=landed,
                       schema=[Field("user_id", Int64), Field("amount", Float64), Field("country", String)])
spend = AggregationView("spend", entities=[user], source=payments, allowed_lateness=timedelta(minutes=5),
                        aggregations=[
    Aggregation("amount", "count", Tumbling("10m")),
    Aggregation("amount", "sum", Sliding("30m", every="10m")),
    Aggregation("amount", "max", Session(gap="7m")),
    Aggregation("amount", "p50", Tumbling("1h")),
])
"""
WINDOWS = {  # feature -> (kind, size or gap in µs, step in µs, function)
    "amount_count_10m": ("grid", 10 * MIN_US, 10 * MIN_US, "count"),
    "amount_sum_30m_every_10m": ("grid", 30 * MIN_US, 10 * MIN_US, "sum"),
    "amount_max_session_7m": ("session", 7 * MIN_US, 0, "max"),
    "amount_p50_1h": ("grid", 60 * MIN_US, 60 * MIN_US, "p50"),
}


def write_repo(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "aquifer.yaml").write_text(json.dumps({  # JSON is YAML
        "project": "landing", "registry": f"sqlite:///{root}/registry.db", "offline_store": {"path": f"{root}/offline"},
        "batch": {"start": "2025-12-01T00:00:00+00:00", "default_lateness": "1h"},
    }))
    (root / "features.py").write_text(textwrap.dedent(FEATURES))


def make_events(seed: int, n: int) -> list[tuple[int, dict]]:
    """``(ts µs, payload)`` in arrival order over two days: bursts, equal times, nulls, a missing amount."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ts = T0 + int(rng.integers(0, 40)) * 72 * MIN_US + int(rng.integers(0, 30 * MIN_US)) // 1000 * 1000
        payload: dict = {"user_id": int(rng.integers(1, 6)), "ts": ts // 1000,
                         "amount": round(float(rng.uniform(1, 99)), 2), "country": str(rng.choice(["FR", "DE"]))}
        if i % 11 == 0:
            payload["amount"] = None
        elif i % 19 == 0:
            del payload["amount"]
        if i % 7 == 0 and out:
            ts = out[-1][0]  # an equal time
        out.append((ts, payload))
    return out


def nearest_rank(values: pd.Series, q: float) -> float:
    data = np.sort(values.dropna().to_numpy())
    if len(data) == 0:
        return np.nan
    return float(data[min(max(math.ceil(q * len(data)), 1), len(data)) - 1])


def aggregate(groups, function: str) -> pd.Series:
    if function == "count":
        return groups.count()
    if function == "sum":
        return groups.sum(min_count=1)
    if function == "max":
        return groups.max()
    return groups.apply(lambda s: nearest_rank(s, 0.5))


def window_rows(events: pd.DataFrame, kind: str, size: int, step: int, function: str) -> pd.DataFrame:
    """``user_id, start, end, value``: every non-empty window, plus grid windows' closing rows (empty value)."""
    if kind == "session":
        ordered = events.sort_values(["user_id", "us"])
        gap_before = ordered.groupby("user_id")["us"].diff()
        ordered = ordered.assign(session=(gap_before.isna() | (gap_before >= size)).cumsum())
        groups = ordered.groupby(["user_id", "session"])
        rows = pd.DataFrame({"start": groups["us"].min(), "end": groups["us"].max() + size,
                             "value": aggregate(groups["amount"], function)}).reset_index()
        return rows[["user_id", "start", "end", "value"]]
    per_event = []
    for back in range(size // step):
        first = events["us"] - events["us"] % step - back * step
        per_event.append(events.assign(start=first))
    exploded = pd.concat(per_event)
    groups = exploded.groupby(["user_id", "start"])["amount"]
    rows = aggregate(groups, function).rename("value").reset_index()
    starts = set(zip(rows.user_id, rows.start, strict=True))
    closing = [(u, s + step) for u, s in starts if (u, s + step) not in starts]
    empty = 0 if function == "count" else np.nan
    rows = pd.concat([rows, pd.DataFrame(closing, columns=["user_id", "start"]).assign(value=empty)])
    return rows.assign(end=rows.start + size)[["user_id", "start", "end", "value"]]


def oracle(events: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """One row per user and window end in ``[start, end)`` of any feature; each feature's value as of it."""
    rows = {name: window_rows(events, *spec) for name, spec in WINDOWS.items()}
    times = pd.concat([r[["user_id", "end"]] for r in rows.values()]).drop_duplicates()
    out = times[(times.end >= start) & (times.end < end)].sort_values("end")
    for name, r in rows.items():
        r = r.sort_values(["end", "start"]).drop_duplicates(["user_id", "end"], keep="last")
        out = pd.merge_asof(out, r[["user_id", "end", "value"]].rename(columns={"value": name}),
                            on="end", by="user_id", direction="backward")
    return out.sort_values(["user_id", "end"]).reset_index(drop=True)


@pytest.mark.timeout(600)
def test_landed_events_backfill_to_the_oracles_rows_with_no_duplicate_from_a_replay(tmp_path, spark):
    from aquifer.sdk.store import FeatureStore
    from aquifer.stores.offline.reader import read_view_pandas

    root = tmp_path / "repo"
    write_repo(root)
    store = FeatureStore(root)
    view = store.views["spend"]
    landing = EventLanding.for_view(view, store.config.root)
    assert landing is not None and landing.folder == root / "data" / "payments"

    events = make_events(4, 500)
    partitions = {0: events[0::2], 1: events[1::2]}  # offsets: positions in each partition
    for partition, mine in partitions.items():
        bounds = [0, 60, 130, 200, len(mine)]
        for first, after in itertools.pairwise(bounds):
            landing.land(partition, first, after - 1, mine[first:after])
    # partition 0 crashed after landing the checkpoint from 200 without committing it: replayed in two others
    mine = partitions[0]
    landing.land(0, 200, 219, mine[200:220])
    landing.land(0, 220, len(mine) - 1, mine[220:])
    assert [(f.first_offset, f.last_offset) for f in landing.landed_files(0)] == [
        (0, 59), (60, 129), (130, 199), (200, 219), (220, len(mine) - 1)]
    landed = pd.read_parquet(landing.folder)
    assert len(landed) == len(events)
    assert sorted(landed["ts"].dt.as_unit("us").astype("int64")) == sorted(ts for ts, _ in events)

    frame = pd.DataFrame([{"user_id": p["user_id"], "us": ts, "amount": p.get("amount")} for ts, p in events])
    frame["amount"] = frame["amount"].astype("float64")
    start, end = DAY0, DAY0 + pd.Timedelta(days=3)
    summary = store.backfill("spend", start.isoformat(), end.isoformat())
    assert summary.ok, summary["spend"].error
    got = read_view_pandas(store.config.offline_path, "landing", "spend")
    got = got.sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    want = oracle(frame, int(start.value // 1000), int(end.value // 1000))
    assert len(got) == len(want) > 100
    assert (got.user_id.to_numpy() == want.user_id.to_numpy()).all()
    assert (got.event_ts.dt.as_unit("us").astype("int64").to_numpy() == want.end.to_numpy()).all()
    for name in WINDOWS:
        for i, (a, b) in enumerate(zip(got[name], want[name], strict=True)):
            a_null, b_null = pd.isna(a), pd.isna(b)
            assert a_null == b_null, (name, i, a, b)
            if not a_null:
                assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9), (name, i, a, b)
