"""SQL, Python and passthrough views against pandas oracles; schema checks; null keys; duplicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from batch_helpers import T0, offline, transactions

from aquifer.stores.offline.partitions import unique_times

pytestmark = pytest.mark.spark

END = "2026-01-04T00:00:00Z"

# shape is declared before spend, the view it reads: runs must follow dependencies, not declaration order
VIEWS = """
@feature_view(entities=[user], schema=[Field("amount_log", Float64), Field("is_foreign", Bool)])
def shape(spend):
    from pyspark.sql import functions as F
    return spend.select("user_id", "event_ts", F.log1p("amount").alias("amount_log"),
                        (F.col("country") != "US").alias("is_foreign"))

transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
spend = FeatureView("spend", entities=[user], source=transactions,
    transform=sql("SELECT user_id, event_ts, amount, amount > 1000 AS is_large, country FROM {transactions}"),
    schema=[Field("amount", Float64), Field("is_large", Bool), Field("country", String)])
raw = FeatureView("raw", entities=[user], source=transactions, schema=[Field("amount", Float64)])
"""


def test_sql_python_and_passthrough_views_match_pandas(make_store):
    txns = transactions()
    store = make_store(VIEWS, transactions=txns)
    summary = store.run(end=END)
    assert summary.ok, [(v.view, v.error) for v in summary]
    ran = [v.view for v in summary]
    assert sorted(ran) == ["raw", "shape", "spend"] and ran.index("spend") < ran.index("shape")  # upstream first

    expected = txns.sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    spend = offline(store, "spend")
    assert list(spend.columns) == ["user_id", "event_ts", "created_ts", "amount", "is_large", "country"]
    pd.testing.assert_series_equal(spend["amount"], expected["amount"], check_names=False)
    assert (spend["is_large"] == (expected["amount"] > 1000)).all()
    assert (spend["event_ts"] == expected["event_ts"]).all()
    assert str(spend["event_ts"].dtype) == "datetime64[us, UTC]"

    raw = offline(store, "raw")  # passthrough keeps the source's created timestamp
    assert (raw["created_ts"] == expected["ingested_at"]).all()
    assert list(raw.columns) == ["user_id", "event_ts", "created_ts", "amount"]

    shape = offline(store, "shape")
    assert np.allclose(shape["amount_log"], np.log1p(expected["amount"]))
    assert (shape["is_foreign"] == (expected["country"] != "US")).all()
    assert summary["spend"].rows_in == len(txns) and summary["spend"].rows_out == len(txns)

    runs = store.registry.runs("t", view="spend")
    assert runs[0].status == "succeeded" and runs[0].rows_out == len(txns)


def test_placeholders_in_comments_and_strings_are_text(make_store):
    code = VIEWS + '''
noted = FeatureView("noted", entities=[user], transform=sql("""
    -- reads {ghost} no more
    SELECT user_id, event_ts, /* {ghost} */ amount, '{ghost}' AS note FROM {transactions}"""),
    schema=[Field("amount", Float64), Field("note", String)])
'''
    txns = transactions()
    store = make_store(code, transactions=txns)
    summary = store.run(["noted"], end=END)
    assert summary.ok, [(v.view, v.error) for v in summary]
    noted = offline(store, "noted")
    assert len(noted) == len(txns) and set(noted["note"]) == {"{ghost}"}


def test_schema_mismatch_fails_the_view_naming_the_column(make_store):
    code = VIEWS.replace('Field("country", String)', 'Field("country", Int64)')
    store = make_store(code, transactions=transactions())
    summary = store.run(["spend", "raw"], end=END)
    spend = summary["spend"]
    assert spend.status == "failed"
    assert "'spend'" in spend.error and "'country'" in spend.error
    assert summary["raw"].status == "succeeded"
    assert offline(store, "spend").empty
    assert store.registry.intervals("t", "spend") == []

    missing = make_store(VIEWS.replace("amount > 1000 AS is_large, ", ""), transactions=transactions())
    result = missing.run(["spend"], end=END)["spend"]
    assert result.status == "failed" and "'is_large'" in result.error and "missing" in result.error


def test_null_keys_and_timestamps_are_counted_and_dropped(make_store):
    txns = transactions()
    txns["user_id"] = txns["user_id"].astype("Int64")
    txns.loc[[0, 5], "user_id"] = pd.NA
    store = make_store(VIEWS, transactions=txns)
    summary = store.run(["spend"], end=END)
    assert summary.ok
    assert len(offline(store, "spend")) == len(txns) - 2
    assert summary["spend"].ranges[0].details["dropped_null_keys"] == 2
    assert store.registry.runs("t", view="spend")[0].details["dropped_null_keys"] == 2


def test_python_view_returning_null_timestamps_counts_them(make_store):
    code = VIEWS + """
@feature_view(entities=[user], schema=[Field("amount", Float64)])
def holes(spend):
    from pyspark.sql import functions as F
    return spend.select("user_id", F.when(F.col("amount") > 1500, None).otherwise(F.col("event_ts"))
                        .alias("event_ts"), "amount")
"""
    txns = transactions()
    store = make_store(code, transactions=txns)
    summary = store.run(["spend", "holes"], end=END)
    assert summary.ok
    n_null = int((txns["amount"] > 1500).sum())
    assert n_null > 0
    assert summary["holes"].ranges[0].details["dropped_null_keys"] == n_null
    assert len(offline(store, "holes")) == len(txns) - n_null


def test_duplicates_resolved_by_greatest_created_ts(make_store):
    txns = transactions()
    dup = txns.iloc[[3, 7]].copy()
    dup["amount"] = [-1.0, -2.0]
    dup["ingested_at"] = dup["ingested_at"] + pd.Timedelta(hours=1)  # later: wins
    older = txns.iloc[[3]].copy()
    older["amount"] = -9.0
    older["ingested_at"] = older["ingested_at"] - pd.Timedelta(hours=1)  # earlier: loses
    store = make_store(VIEWS, transactions=pd.concat([txns, dup, older], ignore_index=True))
    summary = store.run(["raw"], end=END)
    raw = offline(store, "raw")
    assert len(raw) == len(txns)
    assert summary["raw"].ranges[0].details["dropped_duplicates"] == 3
    for i, amount in zip([3, 7], [-1.0, -2.0], strict=True):
        row = raw[(raw.user_id == txns.user_id[i]) & (raw.event_ts == txns.event_ts[i])]
        assert row["amount"].tolist() == [amount]

    # every day written says it holds no ties, so a PIT join skips the created_ts tie-break and still
    # finds the winners
    assert unique_times(store.config.offline_path / "t" / "raw")
    labels = pd.DataFrame({"user_id": txns.user_id[[3, 7]].to_numpy(), "event_ts": txns.event_ts[[3, 7]].to_numpy()})
    assert store.get_training_frame(labels, ["raw:amount"], engine="duckdb")["amount"].tolist() == [-1.0, -2.0]



def test_one_pass_reads_dedupes_and_writes_with_one_exchange_and_one_sort(make_store, monkeypatch):
    """Nothing asks for a FeatureView's range before the write (no quality suite): the range is read,
    transformed, counted, deduped and written in one Spark job, whose plan has one exchange (by day) and one
    sort (the day file's, which puts the newest of each (keys, event_ts) first, for the tasks that read the day
    files back to keep), and no cache or window; the newest row still wins, and the duplicates dropped are counted
    from the rows the job saw."""
    from aquifer.stores.offline import writer

    txns = transactions()
    later = txns.iloc[[2, 5]].copy()
    later["amount"] = [-1.0, -2.0]
    later["ingested_at"] = later["ingested_at"] + pd.Timedelta(hours=1)
    store = make_store(VIEWS, transactions=pd.concat([txns, later], ignore_index=True))
    plans = []
    real = writer._write_then_read_back

    def spy(out, *args, **kwargs):
        plans.append(out._jdf.queryExecution().executedPlan().toString())
        return real(out, *args, **kwargs)

    monkeypatch.setattr(writer, "_write_then_read_back", spy)
    summary = store.run(["raw"], end=END)
    [plan] = plans
    assert plan.count("Exchange") == 1 and plan.count("Sort [") == 1, plan
    assert "InMemoryTableScan" not in plan and "Window" not in plan and "CollectMetrics" in plan, plan
    [result] = summary["raw"].ranges
    assert (result.rows_in, result.rows_out) == (len(txns) + 2, len(txns))
    assert result.details["dropped_duplicates"] == 2 and result.details["dropped_null_keys"] == 0
    got = offline(store, "raw").sort_values(["user_id", "event_ts"]).reset_index(drop=True)
    oracle = (pd.concat([txns, later], ignore_index=True).sort_values("ingested_at")
              .drop_duplicates(["user_id", "event_ts"], keep="last").sort_values(["user_id", "event_ts"]))
    assert got["amount"].tolist() == oracle["amount"].tolist()
    assert -1.0 in got["amount"].tolist() and -2.0 in got["amount"].tolist()


def test_time_range_reads_only_the_range(make_store):
    txns = transactions(days=5)
    store = make_store(VIEWS, transactions=txns)
    store.run(["raw"], end="2026-01-03")
    raw = offline(store, "raw")
    assert raw["event_ts"].max() < T0 + pd.Timedelta(days=2)
    assert len(raw) == int((txns["event_ts"] < T0 + pd.Timedelta(days=2)).sum())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_csv_and_json_sources(make_store, tmp_path, fmt):
    txns = transactions().drop(columns=["ingested_at"])
    code = f"""
src = BatchSource("src", path="data/t.{fmt}", format="{fmt}", timestamp_field="event_ts")
v = FeatureView("v", entities=[user], source=src, schema=[Field("amount", Float64)])
"""
    store = make_store(code)
    (tmp_path / "data").mkdir(exist_ok=True)
    out = txns.assign(event_ts=txns["event_ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if fmt == "csv":
        out.to_csv(tmp_path / "data" / "t.csv", index=False)
    else:
        out.to_json(tmp_path / "data" / "t.json", orient="records", lines=True)
    assert store.run(end=END).ok
    got = offline(store, "v")
    assert len(got) == len(txns)
    assert np.allclose(sorted(got["amount"]), sorted(txns["amount"]))
