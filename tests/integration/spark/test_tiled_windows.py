"""Sliding windows merged from tiles (``engines.spark.tiles``) against brute force over the same pandas events:
every row time and every feature as of it, for steps that divide the size and steps that do not (tiles of
``gcd``), offsets, windows of 72 steps crossing block boundaries, nulls, equal times, empty windows, and
percentiles over more values than the sketch keeps (within its rank error). The exploded plan
(``batch.sliding_windows: explode``) must give the same rows."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest
from aggregation_oracle import agree, empty, grid_rows, null
from aggregation_oracle import oracle as brute_force
from batch_helpers import HEADER, T0, config_text, offline, write_parquet

from aquifer.aggregations.sketch import KLL_RANK_ERROR

pytestmark = pytest.mark.spark

CODE = """
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts")
slid = AggregationView("slid", entities=[user], source=transactions, aggregations=[
    Aggregation("amount", "count", Sliding("1h", every="25m")),
    Aggregation("amount", "sum", Sliding("1h", every="25m")),
    Aggregation("amount", "avg", Sliding("2h", every="30m", offset="10m")),
    Aggregation("amount", "min", Sliding("2h", every="30m", offset="10m")),
    Aggregation("amount", "max", Sliding("6h", every="5m")),
    Aggregation("amount", "p50", Sliding("6h", every="5m")),
    Aggregation("amount", "percentile(0.9)", Sliding("2h", every="30m", offset="10m")),
    Aggregation("amount", "stddev_pop", Sliding("6h", every="5m")),
    Aggregation("amount", "var_samp", Sliding("1h", every="25m")),
    Aggregation("amount", "approx_distinct", Sliding("6h", every="5m")),
    Aggregation("merchant", "approx_distinct", Sliding("1h", every="25m")),
    Aggregation("amount", "first", Sliding("2h", every="30m", offset="10m")),
    Aggregation("merchant", "last", Sliding("6h", every="5m"), value_type=String),
    Aggregation("merchant", "min_by", Sliding("1h", every="25m"), by="amount", value_type=String),
    Aggregation("merchant", "max_by", Sliding("6h", every="5m"), by="amount", value_type=String),
    Aggregation("amount", "last_n(2)", Sliding("1h", every="25m")),
])
"""
END = T0 + pd.Timedelta(days=2)


def _events() -> pd.DataFrame:
    rng = np.random.default_rng(29)
    rows = []
    for user_id in (1, 2, 3):
        t = T0 + pd.Timedelta(minutes=int(rng.integers(0, 60)))
        while t < END - pd.Timedelta(hours=3):
            for _ in range(int(rng.integers(1, 6))):
                amount = float(rng.integers(1, 40)) * 1.25  # repeats: ties in by and in percentiles
                rows.append((user_id, amount, str(rng.choice(["m1", "m2", "m3", "m4", "m5"])), t))
                t += pd.Timedelta(minutes=int(rng.choice([0, 0, 2, 7])))
            t += pd.Timedelta(minutes=int(rng.integers(20, 420)))  # quiet hours: runs end, closing rows
    burst = T0 + pd.Timedelta(hours=30)  # user 4: 900 values in 3 hours, beyond what the sketch keeps
    for i in range(900):
        rows.append((4, float(rng.lognormal(3, 1)), "m1", burst + pd.Timedelta(seconds=12 * i)))
    frame = pd.DataFrame(rows, columns=["user_id", "amount", "merchant", "event_ts"])
    frame.loc[frame.index % 11 == 3, "amount"] = np.nan
    frame.loc[frame.index % 13 == 4, "merchant"] = None
    return frame.sort_values("user_id", kind="stable").reset_index(drop=True)


def _function_value(function: str, events) -> object:
    if function not in ("avg", "min", "max", "p50", "percentile(0.9)"):
        return brute_force(function, events)
    values = [float(v) for _, v, _ in events if not null(v)]
    if function == "avg":
        return sum(values) / len(values) if values else None
    if function in ("min", "max"):
        return (min if function == "min" else max)(values) if values else None
    return sorted(values) or None  # percentiles: compared by rank (``_percentile_agrees``)


def _percentile_agrees(q: float, got: object, values: list[float] | None) -> bool:
    if values is None or got is None:
        return values is None and got is None
    n = len(values)
    if n <= 200:  # the sketch keeps every value: the exact nearest-rank percentile
        return got == values[min(max(math.ceil(q * n), 1), n) - 1]
    below, at_most = sum(v < got for v in values) / n, sum(v <= got for v in values) / n
    return below - KLL_RANK_ERROR <= q <= at_most + KLL_RANK_ERROR


def expected(events: pd.DataFrame, view) -> list[dict[str, object]]:
    out = []
    end_us = int(END.value // 1000)
    for user_id, group in events.groupby("user_id"):
        ts = [int(t.value // 1000) for t in group.event_ts]
        per_feature = {}
        for a in view.aggregations:
            by = group[a.by].tolist() if a.by else [None] * len(ts)
            evs = [(t, None if null(v) else v, None if null(b) else b)
                   for t, v, b in zip(ts, group[a.column].tolist(), by, strict=True)]
            function = a.function if a.quantile is None else ("p50" if a.quantile == 0.5 else "percentile(0.9)")
            function = f"last_n({a.last_n})" if a.last_n else function
            rows = []
            for s, e, _ in grid_rows(a.window, "count", evs):  # the windows; a closing window holds no events
                inside = [x for x in evs if s <= x[0] < e]
                rows.append((s, e, _function_value(function, inside) if inside else empty(function)))
            per_feature[a.feature_name] = rows
        times = sorted({e for rows in per_feature.values() for _, e, _ in rows if e < end_us})
        for t in times:
            row: dict[str, object] = {"user_id": user_id, "t": t}
            for name, rows in per_feature.items():
                visible = [(e, v) for s, e, v in rows if e <= t]
                row[name] = max(visible, key=lambda x: x[0])[1] if visible else None
            out.append(row)
    return out


def _value(x: object) -> object:
    if isinstance(x, np.ndarray):
        return [float(v) for v in x]
    if isinstance(x, np.integer | np.floating):
        x = x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


@pytest.fixture(scope="module", params=["tiles", "explode"])
def computed(request, tmp_path_factory, spark, redis_server_url):
    import redis

    from aquifer.sdk.store import FeatureStore

    plan = request.param
    tmp = tmp_path_factory.mktemp(f"tiled_{plan}")
    db = 1 + zlib.crc32(f"{__name__}{plan}".encode()) % 15
    url = f"{redis_server_url}/{db}" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db={db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    config = config_text(tmp, f"online_store: {{url: '{url}'}}\n")
    config = config.replace("default_lateness: 1h}", f"default_lateness: 1h, sliding_windows: {plan}}}")
    (tmp / "aquifer.yaml").write_text(config)
    (tmp / "features.py").write_text(HEADER + CODE)
    events = _events()
    write_parquet(events, tmp / "data" / "transactions.parquet")
    store = FeatureStore(tmp)
    summary = store.run(end=END.strftime("%Y-%m-%d"))
    assert summary.ok, summary["slid"].error
    yield store, events
    store.close()


def test_every_sliding_window_matches_brute_force(computed):
    store, events = computed
    view = store.views["slid"]
    got = offline(store, "slid")
    want = expected(events, view)
    assert len(got) == len(want)
    for i, (row, expect) in enumerate(zip(got.to_dict("records"), want, strict=True)):
        assert row["user_id"] == expect["user_id"] and int(row["event_ts"].value // 1000) == expect["t"], i
        for a in view.aggregations:
            value, w = _value(row[a.feature_name]), expect[a.feature_name]
            if a.quantile is not None:
                assert _percentile_agrees(a.quantile, value, w), (a.feature_name, i, value)
                continue
            function = f"last_n({a.last_n})" if a.last_n else a.function
            if function in ("avg", "min", "max"):
                function = "sum"  # floats, compared with a relative tolerance
            if a.function in ("count", "approx_distinct") and value is not None:
                value = int(value)
            assert agree(function, value, w), (a.feature_name, i, value, w)


def test_the_burst_went_beyond_the_sketch(computed):
    store, events = computed
    got = offline(store, "slid")
    counts = got.loc[got.user_id == 4, "amount_max_6h_every_5m"].notna().sum()
    assert counts > 0 and int((events.user_id == 4).sum()) > 4 * 200
