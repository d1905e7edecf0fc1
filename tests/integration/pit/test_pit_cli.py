"""``aquifer train-frame`` end to end on a real (tiny) feature repo, DuckDB engine."""

from __future__ import annotations

import pandas as pd
from pit_data import T0, write_view
from typer.testing import CliRunner

from aquifer.cli import _register, app
from aquifer.config import load_config

DEFS = '''
from datetime import timedelta
from aquifer.definitions import BatchSource, Entity, FeatureView, Field, FeatureService
from aquifer.types import Float64

user = Entity("user", join_keys=["user_id"])
src = BatchSource("txns", path="data/txns.parquet", timestamp_field="event_ts")
user_stats = FeatureView("user_stats", entities=[user], source=src, ttl=timedelta(days=1),
                         schema=[Field("amount", Float64, default=0.0)])
model = FeatureService("model", features=[user_stats])
'''


def make_repo(tmp_path) -> None:
    """A repo whose user_stats view holds three rows in the offline store."""
    (tmp_path / "aquifer.yaml").write_text("project: pit\noffline_store: {path: offline}\n")
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "defs.py").write_text(DEFS)
    rows = pd.DataFrame({"user_id": [1, 1, 2], "event_ts": [T0, T0 + pd.Timedelta(hours=2), T0],
                         "created_ts": [T0] * 3, "amount": [1.0, 2.0, 3.0]})
    write_view(type("S", (), {"config": load_config(tmp_path)})(), "user_stats", rows, files_per_day=1)


def test_train_frame_command(tmp_path):
    make_repo(tmp_path)
    labels = pd.DataFrame({"user_id": [1, 1, 2, 3], "event_ts": [T0 + pd.Timedelta(hours=h) for h in (1, 3, 30, 1)],
                           "y": [0, 1, 0, 1]})
    labels.to_parquet(tmp_path / "labels.parquet")
    _register()
    runner = CliRunner()
    for features in ("model", "user_stats:amount"):
        result = runner.invoke(app, ["train-frame", str(tmp_path / "labels.parquet"), str(tmp_path / "out.parquet"),
                                     "--features", features, "--engine", "duckdb", "-r", str(tmp_path)])
        assert result.exit_code == 0, result.output
        out = pd.read_parquet(tmp_path / "out.parquet")
        assert out["amount"].tolist()[:2] == [1.0, 2.0] and out["amount"].isna().tolist()[2:] == [True, True]
    bad = runner.invoke(app, ["train-frame", str(tmp_path / "labels.parquet"), str(tmp_path / "o.parquet"),
                              "--features", "nope", "-r", str(tmp_path)])
    assert bad.exit_code == 1 and "nope" in bad.output


def test_train_frame_reads_label_files_by_extension(tmp_path):
    """CSV (ISO 8601 text with and without offsets), JSON lines and epoch numbers give the Parquet answer."""
    make_repo(tmp_path)
    times = [T0 + pd.Timedelta(minutes=m) for m in (119, 120, 30 * 60, 60)]
    labels = pd.DataFrame({"user_id": [1, 1, 2, 3], "event_ts": times, "y": [0, 1, 0, 1]})
    labels.to_parquet(tmp_path / "labels.parquet")
    text = labels.assign(event_ts=[t.tz_convert("Asia/Tokyo").isoformat() if i % 2 else
                                   t.tz_localize(None).isoformat(sep=" ") for i, t in enumerate(times)])
    text.to_csv(tmp_path / "labels.csv", index=False)
    text.to_json(tmp_path / "labels.jsonl", orient="records", lines=True)
    labels.assign(event_ts=[t.value // 10**6 for t in times]).to_csv(tmp_path / "epoch.csv", index=False)
    _register()
    runner = CliRunner()

    def frame(name: str, *extra: str) -> pd.DataFrame:
        out = tmp_path / f"out-{name}.parquet"
        result = runner.invoke(app, ["train-frame", str(tmp_path / name), str(out), "--features", "model",
                                     "--engine", "duckdb", "-r", str(tmp_path), *extra])
        assert result.exit_code == 0, result.output
        return pd.read_parquet(out)

    want = frame("labels.parquet")
    assert want["amount"].tolist()[:2] == [1.0, 2.0]
    for name, extra in (("labels.csv", ()), ("labels.jsonl", ()), ("epoch.csv", ("--timestamp-unit", "ms"))):
        got = frame(name, *extra)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=name)

    bad = runner.invoke(app, ["train-frame", str(tmp_path / "epoch.csv"), str(tmp_path / "o.parquet"),
                              "--features", "model", "--engine", "duckdb", "-r", str(tmp_path)])
    said = " ".join(bad.output.split())
    assert bad.exit_code == 1 and "epoch.csv" in said and "'1709258340000'" in said and "timestamp unit" in said, said
    (tmp_path / "labels.txt").write_text("x")
    bad = runner.invoke(app, ["train-frame", str(tmp_path / "labels.txt"), str(tmp_path / "o.parquet"),
                              "--features", "model", "-r", str(tmp_path)])
    assert bad.exit_code == 1 and "unknown extension '.txt'" in " ".join(bad.output.split()), bad.output
