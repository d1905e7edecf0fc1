"""Statistics recorded by batch runs, backfills and materialization, against pandas over the rows written."""

from __future__ import annotations

import json
import math
import textwrap
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from batch_helpers import HEADER, T0, config_text, offline, write_parquet
from typer.testing import CliRunner

from aquifer.aggregations.sketch import KLL_RANK_ERROR
from aquifer.quality.statistics import QUANTILES, merge_stored
from aquifer.runs.batch import backfill, run

pytestmark = [pytest.mark.spark, pytest.mark.redis]

VIEWS = """
from aquifer.types import Timestamp
transactions = BatchSource("transactions", path="data/transactions.parquet", timestamp_field="event_ts",
                           created_timestamp_field="ingested_at")
raw = FeatureView("raw", entities=[user], source=transactions,
    schema=[Field("amount", Float64), Field("country", String), Field("qty", Int64), Field("flag", Bool),
            Field("seen_at", Timestamp)])
"""


def rows(days: int, per_day: int = 400, seed: int = 5) -> pd.DataFrame:
    """User-shaped transactions (pandas Parquet defaults): NaN amounts, missing countries, duplicates."""
    rng = np.random.default_rng(seed)
    n = days * per_day
    ts = T0 + pd.to_timedelta(np.sort(rng.integers(0, days * 86400, n)), unit="s")
    amount = np.round(rng.lognormal(3, 1, n), 2)
    amount[rng.random(n) < 0.05] = np.nan
    country = rng.choice(np.array(["US", "GB", "DE", "FR", None], dtype=object), n, p=[0.4, 0.2, 0.2, 0.1, 0.1])
    frame = pd.DataFrame({
        "user_id": rng.integers(1, 60, n).astype("int64"), "amount": amount, "country": country,
        "qty": rng.integers(-5, 50, n).astype("int64"), "flag": rng.random(n) < 0.3,
        "event_ts": ts, "ingested_at": ts + pd.Timedelta(minutes=5),
        "seen_at": ts - pd.to_timedelta(rng.integers(0, 10**9, n), unit="us"),  # sub-second, nanosecond Parquet
    })
    return pd.concat([frame, frame.iloc[:10]], ignore_index=True)  # exact duplicates are deduplicated


@pytest.fixture
def store(tmp_path, spark, redis_url):
    from aquifer.sdk.store import FeatureStore

    def make(frame: pd.DataFrame, extra: str = "") -> FeatureStore:
        online = f"online_store: {{url: '{redis_url}'}}\n" + extra
        (tmp_path / "aquifer.yaml").write_text(config_text(tmp_path, online))
        (tmp_path / "features.py").write_text(HEADER + textwrap.dedent(VIEWS))
        write_parquet(frame, tmp_path / "data" / "transactions.parquet")
        return FeatureStore(tmp_path)

    return make


def day(d: str) -> datetime:
    return datetime.fromisoformat(d).replace(tzinfo=UTC)


def expect_equal(stats, frame: pd.DataFrame) -> None:
    """Each feature's merged statistics equal pandas over ``frame`` (sketched parts within their error)."""
    assert set(stats) == {"amount", "country", "qty", "flag", "seen_at"}
    seen, micros = stats["seen_at"], frame["seen_at"].dropna().astype("datetime64[us, UTC]").astype("int64")
    assert (seen.count, seen.nulls, seen.min, seen.max) == (len(frame), 0, micros.min(), micros.max())
    assert abs(seen.distinct - micros.nunique()) <= 0.035 * micros.nunique() + 1
    for name in ("amount", "qty"):
        s, values = stats[name], frame[name]
        present = values.dropna().astype("float64")
        assert (s.count, s.nulls) == (len(values), int(values.isna().sum())), name
        assert (s.min, s.max) == (present.min(), present.max()), name
        assert math.isclose(s.mean, present.mean(), rel_tol=1e-9), name
        assert math.isclose(s.stddev, present.std(), rel_tol=1e-9), name
        assert abs(s.distinct - present.nunique()) <= 0.035 * present.nunique() + 1, name
        ordered = np.sort(present.to_numpy())
        for q in QUANTILES:
            v = s.quantiles[str(q)]
            lo, hi = np.searchsorted(ordered, v, "left") / len(ordered), np.searchsorted(ordered, v, "right") / len(
                ordered)
            assert lo - KLL_RANK_ERROR <= q <= hi + KLL_RANK_ERROR, (name, q)
        assert sum(s.histogram["counts"]) == len(present)
    country = stats["country"]
    counts = frame["country"].value_counts()
    assert (country.count, country.nulls) == (len(frame), int(frame["country"].isna().sum()))
    assert country.top_values == sorted(((k, int(v)) for k, v in counts.items()), key=lambda p: (-p[1], p[0]))
    assert (country.min, country.max) == (min(counts.index), max(counts.index))
    flag = stats["flag"]
    assert flag.top_values == sorted(((bool(k), int(v)) for k, v in frame["flag"].value_counts().items()),
                                     key=lambda p: (-p[1], p[0]))


def merged(store, start=None, end=None, kinds=("batch", "backfill")):
    return merge_stored(store.registry.statistics_between("t", "raw", start, end, run_kinds=kinds), start, end)


def between(frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    times = frame["event_ts"]
    return frame[(times >= pd.Timestamp(start, tz="UTC")) & (times < pd.Timestamp(end, tz="UTC"))]


def test_a_batch_run_records_statistics_of_the_rows_it_wrote(store):
    fs = store(rows(3))
    assert run(fs, end="2026-01-03").ok
    recorded = fs.registry.statistics_between("t", "raw")
    assert {r.feature for r in recorded} == {"amount", "country", "qty", "flag", "seen_at"}
    (record,) = fs.registry.runs("t", view="raw")
    assert {(r.run_kind, r.run_id, r.range_start, r.range_end) for r in recorded} == {
        ("batch", record.id, day("2026-01-01"), day("2026-01-03"))}
    assert "statistics" not in (record.details or {})  # not in run records
    written = offline(fs, "raw")
    assert len(written) == record.rows_out
    expect_equal(merged(fs), written)
    from aquifer.quality.statistics import FeatureStatistics

    by_row = {r.feature: FeatureStatistics.from_dict(r.stats["summary"]) for r in recorded}
    whole = merged(fs)["qty"]  # one row: its summary describes the same rows as the merge of its days
    assert (by_row["qty"].count, by_row["qty"].min, by_row["qty"].max) == (whole.count, whole.min, whole.max)
    assert math.isclose(by_row["qty"].mean, whole.mean, rel_tol=1e-9)


def test_ranges_merge_on_read_and_a_recomputed_range_counts_once(store):
    fs = store(rows(4))
    assert run(fs, end="2026-01-03").ok  # [01-01, 01-03)
    assert run(fs, end="2026-01-05").ok  # the lookback recomputes 01-02: [01-02, 01-05)
    assert backfill(fs, "raw", "2026-01-01", "2026-01-02").ok  # 01-01 again
    assert len({(r.range_start, r.range_end) for r in fs.registry.statistics_between("t", "raw")}) == 3
    written = offline(fs, "raw")
    expect_equal(merged(fs), written)
    expect_equal(merged(fs, day("2026-01-02"), day("2026-01-04")), between(written, "2026-01-02", "2026-01-04"))
    via_sdk = fs.statistics("raw", "2026-01-02", "2026-01-04")
    expect_equal(via_sdk, between(written, "2026-01-02", "2026-01-04"))


def test_materialization_records_statistics_of_the_rows_pushed(store):
    from aquifer.runs.materialize import materialize

    fs = store(rows(2))
    assert run(fs, end="2026-01-03").ok
    (report,) = materialize(fs, ["raw"], end="2026-01-03", engine="spark", progress=False)
    pushed = fs.registry.statistics_between("t", "raw", run_kinds=("materialize",))
    assert {r.feature for r in pushed} == {"amount", "country", "qty", "flag", "seen_at"}
    record = next(r for r in fs.registry.runs("t", view="raw") if r.kind == "materialize")
    assert {(r.run_id, r.range_start, r.range_end) for r in pushed} == {(record.id, report.start, report.end)}
    written = offline(fs, "raw")
    latest = written.sort_values(["event_ts", "created_ts"]).groupby("user_id").tail(1)  # what was pushed
    stats = merged(fs, kinds=("materialize",))
    assert stats["qty"].count == len(latest) == report.entities
    assert math.isclose(stats["qty"].mean, latest["qty"].mean(), rel_tol=1e-9)
    assert stats["amount"].nulls == int(latest["amount"].isna().sum())


def test_statistics_can_be_turned_off(store):
    """``quality: {statistics: false}``: runs and pushes write the same rows and record no statistics."""
    from aquifer.runs.materialize import materialize

    fs = store(rows(2), "quality: {statistics: false}\n")
    assert run(fs, end="2026-01-03").ok
    (report,) = materialize(fs, ["raw"], end="2026-01-03", engine="duckdb", progress=False)
    assert report.entities > 0 and len(offline(fs, "raw")) > 0
    assert fs.registry.statistics_between("t", "raw", run_kinds=("batch", "backfill", "materialize")) == []


def table_values(text: str) -> dict[str, str]:
    """``statistic -> value`` from a printed two-column table."""
    cells = [[c.strip() for c in line.strip("│ ").split("│")] for line in text.splitlines() if line.startswith("│")]
    return {c[0]: c[1] for c in cells if len(c) == 2}


def test_stats_command(store):
    from aquifer.cli import _register, app

    _register()
    fs = store(rows(2))
    runner = CliRunner()
    missing = runner.invoke(app, ["stats", "raw", "--repo", str(fs.config.root)])
    assert missing.exit_code == 1 and "no statistics recorded for raw in" in missing.output
    unknown = runner.invoke(app, ["stats", "nope", "--repo", str(fs.config.root)])
    assert unknown.exit_code == 2 and "no view 'nope'" in unknown.output
    assert run(fs, end="2026-01-03").ok
    shown = runner.invoke(app, ["stats", "raw", "--start", "2026-01-01", "--end", "2026-01-02", "--repo",
                                str(fs.config.root)])
    assert shown.exit_code == 0, shown.output
    first_day = between(offline(fs, "raw"), "2026-01-01", "2026-01-02")
    qty = table_values(shown.output[shown.output.index("qty (Int64)"):shown.output.index("flag (Bool)")])
    assert (qty["count"], qty["min"], qty["max"]) == (f"{len(first_day):,}", f"{first_day['qty'].min():,}",
                                                      f"{first_day['qty'].max():,}")
    assert float(qty["mean"]) == pytest.approx(first_day["qty"].mean(), rel=1e-5)
    top = first_day["country"].value_counts()
    assert f"{top.index[0]} ({top.iloc[0]:,})" in shown.output
    as_json = runner.invoke(app, ["stats", "raw", "--end", "2026-01-02", "--json", "--repo", str(fs.config.root)])
    assert as_json.exit_code == 0, as_json.output
    qty_json = json.loads(as_json.output)["qty"]
    assert (qty_json["count"], qty_json["min"], qty_json["max"]) == (len(first_day), first_day["qty"].min(),
                                                                     first_day["qty"].max())
    later = runner.invoke(app, ["stats", "raw", "--start", "2026-02-01", "--repo", str(fs.config.root)])
    assert later.exit_code == 1 and "no statistics recorded for raw in [2026-02-01" in later.output


def test_statistics_never_fail_a_run(store, monkeypatch, caplog):
    from functools import partial

    import aquifer.engines.spark.statistics as spark_statistics
    from aquifer.quality.statistics import DailyStatistics
    from aquifer.runs.materialize import materialize

    def broken(*args, **kwargs):
        raise RuntimeError("sketches exploded")

    fs = store(rows(2))
    # the writing tasks' sketches fail (they look for a time column the rows do not have): the rows are written
    monkeypatch.setattr(spark_statistics, "observer",
                        lambda view: partial(DailyStatistics, [("amount", "Float64")], "no_such_column"))
    assert run(fs, end="2026-01-03").ok
    assert len(offline(fs, "raw")) > 0 and fs.registry.statistics_between("t", "raw") == []
    assert "statistics not computed: KeyError" in caplog.text and "no_such_column" in caplog.text
    monkeypatch.undo()
    monkeypatch.setattr(DailyStatistics, "merge", broken)  # the driver's merge of the tasks' sketches fails
    assert backfill(fs, "raw", "2026-01-01", "2026-01-02").ok
    assert "statistics not computed: sketches exploded" in caplog.text
    monkeypatch.undo()
    monkeypatch.setattr(DailyStatistics, "update", broken)  # the DuckDB push sketches in this process
    (report,) = materialize(fs, ["raw"], end="2026-01-03", engine="duckdb", progress=False)
    assert report.entities > 0 and fs.registry.statistics_between("t", "raw", run_kinds=("materialize",)) == []
    monkeypatch.undo()
    monkeypatch.setattr(fs.registry, "add_statistics", broken)  # recording fails: the run still succeeds
    assert backfill(fs, "raw", "2026-01-01", "2026-01-02").ok
    assert "not recorded: sketches exploded" in caplog.text


def test_duckdb_materialization_records_the_same_statistics_as_spark(store):
    from aquifer.runs.materialize import materialize

    fs = store(rows(2))
    assert run(fs, end="2026-01-03").ok
    materialize(fs, ["raw"], end="2026-01-03", engine="spark", progress=False)
    spark_stats = merged(fs, kinds=("materialize",))
    materialize(fs, ["raw"], end="2026-01-03", engine="duckdb", progress=False, full=True)
    duck_stats = merged(fs, kinds=("materialize",))  # the newest push replaces the older one's days
    for name in ("amount", "qty", "country", "flag", "seen_at"):
        a, b = spark_stats[name], duck_stats[name]
        assert (a.count, a.nulls, a.min, a.max, a.top_values) == (b.count, b.nulls, b.min, b.max, b.top_values)
        assert a.mean is None or math.isclose(a.mean, b.mean, rel_tol=1e-9)


def test_statistics_describe_the_rows_written_when_duplicates_were_dropped(store):
    """The tasks that write the deduplicated rows sketch them: with or without duplicates in the source, the
    statistics equal pandas over the rows written."""
    unique = rows(2).iloc[:-10]  # without the appended duplicates
    fs = store(unique)
    assert run(fs, end="2026-01-03").ok
    expect_equal(merged(fs), offline(fs, "raw"))
    duplicated = pd.concat([unique, unique.iloc[:7].assign(ingested_at=unique["ingested_at"].iloc[:7]
                                                           - pd.Timedelta(minutes=1))], ignore_index=True)
    write_parquet(duplicated, fs.config.root / "data" / "transactions.parquet")
    assert backfill(fs, "raw", "2026-01-01", "2026-01-03").ok
    written = offline(fs, "raw")
    assert len(written) == len(unique)
    expect_equal(merged(fs), written)
