"""stddev/variance, approx_distinct, first/last, last_n, min_by/max_by, window offsets and Lifetime computed by
Spark (``aquifer run``) against brute force over the same pandas events (``aggregation_oracle``): every row
time, every feature as of it, with null and NaN values, null ``by``s, equal times and empty windows."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
import pytest
from aggregation_oracle import agree, grid_rows, lifetime_rows, null, session_rows
from batch_helpers import T0, offline

from aquifer.definitions import Lifetime, Session

pytestmark = pytest.mark.spark

CODE = """
from aquifer import Lifetime
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts")
more = AggregationView("more", entities=[user], source=transactions, aggregations=[
    Aggregation("amount", "stddev_pop", Tumbling("1h", offset="15m")),
    Aggregation("amount", "stddev_samp", Sliding("1h", every="20m", offset="5m")),
    Aggregation("amount", "var_pop", Session(gap="30m")),
    Aggregation("amount", "var_samp", Tumbling("1h", offset="15m")),
    Aggregation("merchant", "approx_distinct", Tumbling("1h", offset="15m")),
    Aggregation("amount", "approx_distinct", Lifetime()),
    Aggregation("amount", "approx_distinct", Sliding("1h", every="20m", offset="5m")),
    Aggregation("user_id", "approx_distinct", Session(gap="30m")),
    Aggregation("amount", "first", Sliding("1h", every="20m", offset="5m")),
    Aggregation("merchant", "last", Tumbling("1h", offset="15m"), value_type=String),
    Aggregation("amount", "last_n(3)", Session(gap="30m")),
    Aggregation("amount", "last_n(2)", Lifetime()),
    Aggregation("merchant", "min_by", Tumbling("1h", offset="15m"), by="amount", value_type=String),
    Aggregation("merchant", "max_by", Lifetime(), by="amount", value_type=String),
    Aggregation("amount", "count", Lifetime()),
])
"""


def _events() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for user_id in (1, 2, 3):
        t = T0 + pd.Timedelta(minutes=int(rng.integers(0, 60)))
        while t < T0 + pd.Timedelta(days=1):
            for _ in range(int(rng.integers(1, 6))):
                amount = float(rng.integers(1, 8)) * 2.5  # repeated amounts: ties in by
                rows.append((user_id, amount, str(rng.choice(["m1", "m2", "m3", "m4"])), t))
                t += pd.Timedelta(minutes=int(rng.choice([0, 0, 4, 13])))  # equal times
            t += pd.Timedelta(minutes=int(rng.integers(40, 240)))  # quiet hours: empty windows
    frame = pd.DataFrame(rows, columns=["user_id", "amount", "merchant", "event_ts"])
    frame.loc[frame.index % 11 == 3, "amount"] = np.nan
    frame.loc[frame.index % 13 == 4, "merchant"] = None
    return frame


def _feature_rows(view, events: list[tuple[int, object, object]], by_events, a):
    if isinstance(a.window, Lifetime):
        return lifetime_rows(a.function, by_events if a.by else events)
    if isinstance(a.window, Session):
        return session_rows(a.window, a.function, by_events if a.by else events)
    return grid_rows(a.window, a.function, by_events if a.by else events)


def expected(events: pd.DataFrame, view, end: pd.Timestamp) -> list[dict[str, object]]:
    """Per user: rows at every window end of any feature before ``end``, each feature as of that time."""
    out = []
    end_us = int(end.value // 1000)
    for user_id, group in events.groupby("user_id"):
        ts = [int(t.value // 1000) for t in group.event_ts]
        per_feature = {}
        for a in view.aggregations:
            values = group[a.column].tolist()
            plain = [(t, None if null(v) else v, None) for t, v in zip(ts, values, strict=True)]
            by_events = None
            if a.by:
                by_events = [(t, None if null(v) else v, None if null(b) else b)
                             for t, v, b in zip(ts, values, group[a.by].tolist(), strict=True)]
            per_feature[a.feature_name] = _feature_rows(view, plain, by_events, a)
        times = sorted({e for rows in per_feature.values() for _, e, _ in rows if e < end_us})
        for t in times:
            row: dict[str, object] = {"user_id": user_id, "t": t}
            for name, rows in per_feature.items():
                visible = [(e, s, v) for s, e, v in rows if e <= t]
                row[name] = max(visible, key=lambda x: (x[0], x[1]))[2] if visible else None
            out.append(row)
    return out


@pytest.fixture(scope="module")
def computed(tmp_path_factory, spark, redis_server_url):
    import redis
    from batch_helpers import HEADER, config_text, write_parquet

    from aquifer.sdk.store import FeatureStore

    tmp = tmp_path_factory.mktemp("more_aggregations")
    db = 1 + zlib.crc32(__name__.encode()) % 15
    url = f"{redis_server_url}/{db}" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db={db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    (tmp / "aquifer.yaml").write_text(config_text(tmp, f"online_store: {{url: '{url}'}}\n"))
    (tmp / "features.py").write_text(HEADER + CODE)
    events = _events()
    write_parquet(events, tmp / "data" / "transactions.parquet")
    store = FeatureStore(tmp)
    summary = store.run(end="2026-01-02")
    assert summary.ok, summary["more"].error
    yield store, events
    store.close()


def _value(x: object) -> object:
    if isinstance(x, np.ndarray):
        return [float(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def test_every_new_function_matches_brute_force(computed):
    store, events = computed
    view = store.views["more"]
    got = offline(store, "more")
    want = expected(events, view, T0 + pd.Timedelta(days=1))
    assert len(got) == len(want)
    for i, (row, expect) in enumerate(zip(got.to_dict("records"), want, strict=True)):
        assert row["user_id"] == expect["user_id"] and int(row["event_ts"].value // 1000) == expect["t"], i
        for a in view.aggregations:
            value, w = _value(row[a.feature_name]), expect[a.feature_name]
            if a.function == "count" and w is None:
                w = None
            assert agree(a.function, value if a.function not in ("count", "approx_distinct") or value is None
                         else int(value), w), (a.feature_name, i, value, w)


def test_feature_types(computed):
    store, _ = computed
    got = offline(store, "more")
    assert got["merchant_last_1h_offset_15m"].dropna().map(type).eq(str).all()
    assert got["amount_last_2_lifetime"].dropna().map(len).le(2).all()
    assert got["amount_count_lifetime"].dropna().map(lambda v: float(v).is_integer()).all()


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_materialized_vectors_hold_lists_and_text(computed, engine):
    """The online vector of each user is its latest offline row: lists (last_n) and text (last, min_by) too."""
    from aquifer.runs.materialize import clean_view
    from aquifer.stores.online.codec import ViewCodec
    from aquifer.stores.online.keys import entity_group
    from aquifer.stores.online.redis_store import RedisOnlineStore

    store, _ = computed
    clean_view(store, "more")
    store.materialize(["more"], end="2026-01-02", engine=engine, progress=False)
    view = store.views["more"]
    codec, group = ViewCodec.for_view(view), entity_group(view)
    online = RedisOnlineStore.from_config(store.config.online_store)
    latest = offline(store, "more").groupby("user_id").tail(1)
    blobs = online.read([(group.prefix("t") + str(u), ["more"]) for u in latest.user_id])
    online.close()
    for (_, row), blob in zip(latest.iterrows(), blobs, strict=True):
        decoded = codec.decode(blob[0])
        assert decoded is not None
        for a, value in zip(view.aggregations, decoded[2], strict=True):
            want = _value(row[a.feature_name])
            assert value == want or (isinstance(want, float) and math.isclose(value, want)), (a.feature_name, value)
        assert any(isinstance(v, list) for v in decoded[2]) and any(isinstance(v, str) for v in decoded[2])


def test_an_offset_not_below_the_step_is_refused_at_plan(tmp_path):
    import textwrap

    from batch_helpers import HEADER, config_text, write_parquet

    from aquifer.sdk.store import FeatureStore

    (tmp_path / "aquifer.yaml").write_text(config_text(tmp_path))
    code = CODE.replace('Tumbling("1h", offset="15m")', 'Tumbling("1h", offset="75m")')
    (tmp_path / "features.py").write_text(HEADER + textwrap.dedent(code))
    write_parquet(_events(), tmp_path / "data" / "transactions.parquet")
    result = FeatureStore(tmp_path).plan()
    assert not result.ok
    text = "\n".join(map(str, result.problems))
    assert "more: aggregation of 'amount': tumbling window offset 75m must be smaller than its size 1h" in text, text


def test_spark_hll_sketches_hash_values_as_the_model(spark):
    """Spark's native sketch of doubles, ints and text (as ``approx_distinct`` builds it) merged with the
    model's sketch of the same values still counts each value once: the hashes agree (a mismatch would
    count every value twice)."""
    from datasketches import hll_sketch
    from pyspark.sql import functions as F

    from aquifer.aggregations import HLL_REL_ERROR
    from aquifer.aggregations.lookup import aggregator_for
    from aquifer.engines.spark.windows import distinct_inputs, raw_column

    hll = aggregator_for("approx_distinct")
    cases = {
        "double": [i * 0.37 for i in range(3000)] + [float(i) for i in range(1000)] + [-0.0, 1e300, -2.0**63,
                                                                                      float("inf")],
        "bigint": list(range(-1500, 2500)),
        "string": [f"merchant {i} é" for i in range(3000)],
    }
    for spark_type, values in cases.items():
        frame = spark.createDataFrame([(v,) for v in values], f"`{raw_column('x')}` {spark_type}")
        if spark_type == "double":
            hashed = frame.select(*distinct_inputs("x", "double"))
            integral, bits = hashed.columns
            sketch = hashed.agg(F.hll_union(F.hll_sketch_agg(integral, 12), F.hll_sketch_agg(bits, 12))).first()[0]
        else:
            sketch = frame.agg(F.hll_sketch_agg(raw_column("x"), 12)).first()[0]
        mine = hll.init()
        for v in values:
            mine = hll.update(mine, v)
        exact = len(set(values))
        merged = hll.finalize(hll.merge(hll_sketch.deserialize(bytes(sketch)), mine))
        assert abs(merged - exact) <= HLL_REL_ERROR * exact, (spark_type, merged, exact)
