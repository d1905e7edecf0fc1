"""Sources as users write them: one matrix of writers, each computed by a batch run, read back by training
frames (DuckDB and Spark) and materialization, and checked against a pandas oracle on the original rows.

Then the bad cells: each gives an error naming the source, file and column, at ``plan`` when the footer
already shows it, else at ``run``, and leaves the offline store and the ledger as they were.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_helpers import config_text

pytestmark = [pytest.mark.spark, pytest.mark.slow]

T0 = pd.Timestamp("2026-01-01", tz="UTC")
END = "2026-01-04T00:00:00+00:00"
N_USERS = 5


def original_rows(seed: int = 3) -> pd.DataFrame:
    """Transactions over two days with nanosecond parts (pandas' own precision), unique times per user."""
    rng = np.random.default_rng(seed)
    n = 40
    nanos = np.sort(rng.choice(2 * 86400 * 10**9, n, replace=False))
    ts = T0 + pd.to_timedelta(nanos, unit="ns")
    return pd.DataFrame({
        "user_id": rng.integers(1, N_USERS + 1, n).astype("int64"),
        "amount": np.round(rng.uniform(1, 500, n), 2),
        "country": rng.choice(["US", "GB", "DE"], n),
        "event_ts": ts,
        "ingested_at": ts + pd.to_timedelta(rng.integers(1, 10**9, n), unit="ns"),
    })


def naive(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(event_ts=df.event_ts.dt.tz_localize(None), ingested_at=df.ingested_at.dt.tz_localize(None))


def epoch(df: pd.DataFrame, per_second: int) -> pd.DataFrame:
    """Times as integer epoch numbers (floored), ``per_second`` units a second."""
    def as_number(s: pd.Series) -> pd.Series:
        return s.astype("int64") // (10**9 // per_second)
    return df.assign(event_ts=as_number(df.event_ts), ingested_at=as_number(df.ingested_at))


def write_pandas(df, path):
    df.to_parquet(path)


def write_pandas_naive(df, path):
    naive(df).to_parquet(path)


def write_pandas_shuffled(df, path):  # a non-range index: pandas stores it as __index_level_0__
    df.sample(frac=1.0, random_state=1).to_parquet(path)


def write_pandas_key_index(df, path):  # the key as a named index: pandas stores it as a column
    df.set_index("user_id").to_parquet(path)


def write_pyarrow(df, path):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def write_duckdb(df, path):
    frame = naive(df)  # noqa: F841 (read by DuckDB's replacement scan)
    duckdb.sql(f"COPY (SELECT * FROM frame) TO '{path}' (FORMAT parquet)")


def write_spark(df, path):
    from aquifer.engines.spark.session import get_spark

    spark = get_spark()
    key = "spark.sql.parquet.outputTimestampType"
    before = spark.conf.get(key)
    spark.conf.set(key, "INT96")  # Spark's own default, unlike aquifer's
    try:
        spark.createDataFrame(df.assign(event_ts=df.event_ts.dt.floor("us"), ingested_at=df.ingested_at.dt.floor("us"))
                              ).repartition(2).write.parquet(str(path))
    finally:
        spark.conf.set(key, before)


def write_folder(df, path):
    path.mkdir()
    for i, part in enumerate(df.iloc[i::3] for i in range(3)):
        part.to_parquet(path / f"part-{i}.parquet")


def write_hive(df, path):
    df.to_parquet(path, partition_cols=["country"])


def write_widths(df, path):
    path.mkdir()
    half = len(df) // 2
    df.iloc[:half].astype({"user_id": "int32"}).to_parquet(path / "a.parquet")
    df.iloc[half:].to_parquet(path / "b.parquet")


def write_csv_offsets(df, path):
    df.assign(event_ts=df.event_ts.dt.tz_convert("Asia/Kolkata"),
              ingested_at=df.ingested_at.dt.tz_convert("America/New_York")).to_csv(path, index=False)


def write_csv_naive(df, path):
    naive(df).to_csv(path, index=False)


def write_parquet_text(df, path):  # times kept as ISO 8601 text with offsets, in a typed file
    df.assign(event_ts=df.event_ts.map(lambda t: t.isoformat()),
              ingested_at=df.ingested_at.map(lambda t: t.isoformat())).to_parquet(path)


def write_json_iso(df, path):
    df.to_json(path, orient="records", lines=True, date_format="iso", date_unit="ns")


def write_json_epoch_ms(df, path):
    epoch(df, 1000).to_json(path, orient="records", lines=True)


def write_csv_epoch_s(df, path):
    epoch(df, 1).to_csv(path, index=False)


# name -> (writer, file name, format, timestamp_unit, precision the writer keeps)
CELLS: dict[str, tuple[Callable, str, str, str | None, str]] = {
    "pandas_aware": (write_pandas, "a.parquet", "parquet", None, "us"),
    "pandas_naive": (write_pandas_naive, "a.parquet", "parquet", None, "us"),
    "pandas_shuffled": (write_pandas_shuffled, "a.parquet", "parquet", None, "us"),
    "pandas_key_index": (write_pandas_key_index, "a.parquet", "parquet", None, "us"),
    "pyarrow": (write_pyarrow, "a.parquet", "parquet", None, "us"),
    "duckdb": (write_duckdb, "a.parquet", "parquet", None, "us"),
    "spark": (write_spark, "folder", "parquet", None, "us"),
    "folder": (write_folder, "folder", "parquet", None, "us"),
    "hive": (write_hive, "folder", "parquet", None, "us"),
    "widths": (write_widths, "folder", "parquet", None, "us"),
    "csv_offsets": (write_csv_offsets, "a.csv", "csv", None, "us"),
    "csv_naive": (write_csv_naive, "a.csv", "csv", None, "us"),
    "parquet_text": (write_parquet_text, "a.parquet", "parquet", None, "us"),
    "json_iso": (write_json_iso, "a.jsonl", "json", None, "us"),
    "json_epoch_ms": (write_json_epoch_ms, "a.jsonl", "json", "ms", "ms"),
    "csv_epoch_s": (write_csv_epoch_s, "a.csv", "csv", "s", "s"),
}

HEADER = """
from aquifer import BatchSource, Entity, FeatureView, Field, sql
from aquifer.types import Float64, Int64, String

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
"""


def cell_code(name: str, path: str, fmt: str, unit: str | None) -> str:
    return textwrap.dedent(f"""
        src_{name} = BatchSource("src_{name}", path={path!r}, format={fmt!r}, timestamp_field="event_ts",
                                 created_timestamp_field="ingested_at", timestamp_unit={unit!r})
        v_{name} = FeatureView(
            "v_{name}", entities=[user], source=src_{name},
            transform=sql("SELECT user_id, event_ts, amount, amount * 2 AS doubled, country FROM {{src_{name}}}"),
            schema=[Field("amount", Float64), Field("doubled", Float64), Field("country", String)],
        )
    """)


def make_repo(tmp: Path, cells: dict[str, tuple], rows: pd.DataFrame, extra: str = "", yaml: str = "") -> Path:
    (tmp / "data").mkdir(parents=True, exist_ok=True)
    code = HEADER
    for name, (writer, file, fmt, unit, _) in cells.items():
        target = tmp / "data" / name / file
        target.parent.mkdir(parents=True, exist_ok=True)
        writer(rows, target)
        code += cell_code(name, f"data/{name}/{file}", fmt, unit)
    (tmp / "aquifer.yaml").write_text(config_text(tmp, yaml))
    (tmp / "features.py").write_text(code + extra)
    return tmp


def expected_rows(rows: pd.DataFrame, precision: str) -> pd.DataFrame:
    """The oracle's feature rows: times floored to what the writer kept, then to the store's microseconds."""
    out = rows.copy()
    out["event_ts"] = out["event_ts"].dt.floor(precision).dt.floor("us")
    out["doubled"] = out["amount"] * 2
    return out.sort_values(["user_id", "event_ts"]).reset_index(drop=True)


def labels_for(rows: pd.DataFrame) -> pd.DataFrame:
    """Label rows at, between and after feature times (plus a user with no features), in shuffled order."""
    rng = np.random.default_rng(11)
    times = list(rows["event_ts"].dt.floor("s")) + list(rows["event_ts"] + pd.Timedelta(seconds=1))
    times += [T0 - pd.Timedelta(hours=1), T0 + pd.Timedelta(days=3)]
    users = list(rows["user_id"]) * 2 + [1, N_USERS + 1]
    labels = pd.DataFrame({"user_id": np.array(users, dtype="int64"), "event_ts": pd.DatetimeIndex(times)})
    return labels.sample(frac=1.0, random_state=int(rng.integers(1000))).reset_index(drop=True)


def pit_oracle(labels: pd.DataFrame, feats: pd.DataFrame) -> pd.DataFrame:
    """pandas merge_asof on the original rows (backward, exact matches allowed), in the labels' order."""
    left = labels.reset_index().sort_values("event_ts")
    right = feats[["user_id", "event_ts", "amount", "doubled", "country"]].sort_values("event_ts")
    left["event_ts"] = left["event_ts"].astype("datetime64[ns, UTC]")
    right = right.assign(event_ts=right["event_ts"].astype("datetime64[ns, UTC]"))
    joined = pd.merge_asof(left, right, on="event_ts", by="user_id", direction="backward", allow_exact_matches=True)
    return joined.sort_values("index").reset_index(drop=True)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, spark, redis_server_url):
    """One repo holding every cell, run once (``run``, ``materialize``)."""
    from aquifer.sdk.store import FeatureStore

    tmp = tmp_path_factory.mktemp("matrix")
    rows = original_rows()
    db = f"{redis_server_url}/14" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db=14"
    import redis

    redis.Redis.from_url(db).flushdb()
    make_repo(tmp, CELLS, rows, yaml=f"online_store: {{url: '{db}'}}\n")
    store = FeatureStore(tmp)
    assert not [p for p in store.plan().problems if p.is_error], store.plan().problems
    store.apply()
    summary = store.run(end=END)
    failed = {v.name: v.error for v in summary.views if v.status != "succeeded"}
    assert not failed, failed
    return store, rows


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_every_writer_gives_the_oracle_training_frame(matrix, engine):
    store, rows = matrix
    labels = labels_for(rows)
    features = [f"v_{name}:{f}" for name in CELLS for f in ("amount", "doubled", "country")]
    frame = store.get_training_frame(labels, features, engine=engine, full_names=True)
    assert len(frame) == len(labels)
    for name, (*_, precision) in CELLS.items():
        want = pit_oracle(labels, expected_rows(rows, precision))
        for f in ("amount", "doubled", "country"):
            got = frame[f"v_{name}__{f}"].tolist()
            expected = want[f].tolist()
            same = [(g == e) or (pd.isna(g) and pd.isna(e)) for g, e in zip(got, expected, strict=True)]
            assert all(same), (name, f, [(g, e) for g, e, s in zip(got, expected, same, strict=True) if not s][:5])


def test_every_writer_materializes_the_oracle_latest_values(matrix):
    store, rows = matrix
    store.materialize(end=END)
    users = list(range(1, N_USERS + 1))
    for name, (*_, precision) in CELLS.items():
        latest = expected_rows(rows, precision).groupby("user_id").tail(1).set_index("user_id")
        result = store.get_online_features([f"v_{name}:amount", f"v_{name}:country"],
                                           [{"user_id": u} for u in users])
        values = result.to_pandas()
        for column in ("amount", "country"):
            want = [latest[column].get(u) for u in users]
            assert values[column].tolist() == want, (name, column)
        times = result.event_times[f"v_{name}"]
        assert [pd.Timestamp(t) for t in times] == [latest["event_ts"].get(u) for u in users], name


def test_offline_rows_keep_microseconds_and_every_row(matrix):
    from batch_helpers import offline

    store, rows = matrix
    for name, (*_, precision) in CELLS.items():
        got = offline(store, f"v_{name}")
        want = expected_rows(rows, precision)
        assert len(got) == len(want), name
        assert got["event_ts"].tolist() == want["event_ts"].tolist(), name
        assert got["amount"].tolist() == want["amount"].tolist(), name


# ---- bad cells ---------------------------------------------------------------------------------------------


def offline_digest(store) -> dict[str, str]:
    root = Path(store.config.offline_path)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def ledger(store, view: str) -> list:
    return store.registry.intervals(store.config.project, view, kind="batch")


def plan_errors(store) -> list[str]:
    from aquifer.sdk.store import FeatureStore

    return [str(p) for p in FeatureStore(store.config.root).plan().problems if p.is_error]


BAD = {
    # what is added to the good folder, and words the error must hold (at plan and at run)
    "text_in_time_column": (
        lambda rows, folder: rows.iloc[:3].assign(event_ts="yesterday at noon").to_parquet(folder / "late.parquet"),
        ["late.parquet", "'event_ts'", "string", "timestamp[ns, tz=UTC]", "disagree"],
    ),
    "other_column_set": (
        lambda rows, folder: rows.iloc[:3].drop(columns="country").to_parquet(folder / "late.parquet"),
        ["late.parquet", "different column set", "lacks 'country'"],
    ),
    "numbers_in_time_column": (
        lambda rows, folder: rows.iloc[:3].assign(event_ts=1.5e9).to_parquet(folder / "late.parquet"),
        ["late.parquet", "'event_ts'", "double", "disagree"],
    ),
    "text_in_amount": (
        lambda rows, folder: rows.iloc[:3].assign(amount="12.5 EUR").to_parquet(folder / "late.parquet"),
        ["late.parquet", "'amount'", "string", "double"],
    ),
}


def run_once(tmp_path: Path, cell: str, rows: pd.DataFrame):
    """A repo with one good cell, run up to its second day: the store, its files and its ledger."""
    from aquifer.sdk.store import FeatureStore

    make_repo(tmp_path, {cell: CELLS[cell]}, rows)
    store = FeatureStore(tmp_path)
    store.apply()
    assert store.run(end="2026-01-03T00:00:00+00:00").views[0].status == "succeeded"
    files, done = offline_digest(store), ledger(store, f"v_{cell}")
    assert files and done
    return store, files, done


def failed_run(store, view: str) -> str:
    from aquifer.sdk.store import FeatureStore

    result = FeatureStore(store.config.root).run(end=END).views[0]
    assert result.view == view and result.status == "failed"
    return result.error


@pytest.mark.parametrize("case", list(BAD))
def test_bad_footers_are_named_at_plan_and_run_and_nothing_moves(tmp_path, spark, case):
    add_bad, words = BAD[case]
    rows = original_rows()
    store, files, done = run_once(tmp_path, "folder", rows)
    add_bad(rows, tmp_path / "data" / "folder" / "folder")
    errors = plan_errors(store)
    assert len(errors) == 1 and "src_folder" in errors[0], errors
    assert all(w in errors[0] for w in words), errors[0]
    error = failed_run(store, "v_folder")
    assert "src_folder" in error and all(w in error for w in words), error
    assert offline_digest(store) == files
    assert ledger(store, "v_folder") == done


@pytest.mark.parametrize("cell", ["parquet_text", "csv_naive"])
def test_unreadable_time_text_is_named_at_run_and_nothing_moves(tmp_path, spark, cell):
    rows = original_rows()
    store, files, done = run_once(tmp_path, cell, rows)
    folder = tmp_path / "data" / cell
    bad = rows.iloc[:2].assign(event_ts=["2026-01-02T10:00:00", "31/01/2026 10:00"])
    if cell == "csv_naive":
        path = folder / "a.csv"
        path.write_text(path.read_text() + bad.iloc[1:].to_csv(index=False, header=False))
    else:
        pd.concat([pd.read_parquet(folder / "a.parquet"), bad.astype({"ingested_at": str})]).to_parquet(
            folder / "a.parquet")
    assert plan_errors(store) == []
    error = failed_run(store, f"v_{cell}")
    for word in (f"src_{cell}", "a.", "column 'event_ts'", "31/01/2026 10:00", "ISO 8601"):
        assert word in error, error
    assert offline_digest(store) == files
    assert ledger(store, f"v_{cell}") == done
