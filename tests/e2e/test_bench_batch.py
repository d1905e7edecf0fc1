"""``bench/batch.py --quick`` runs, prints every figure its docstring describes, and its floors are honest: they
produce the product's rows, and the aggregation floor (the oracle) the product's values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "batch.py"
EVENTS, SLIDING_EVENTS = 50_000, 5_000
PHASES = {"plan_s", "compute_s", "check_s", "write_s", "record_s", "inside"}
INSIDE = {"transform_and_count_s", "events_and_count_s", "statistics_s", "write_spark_s", "swap_s"}
WINDOWS = ["amount_count_1h", "amount_sum_1h", "amount_avg_1h_every_15m", "amount_max_1h_every_15m",
           "amount_sum_session_30m", "amount_count_session_30m", "amount_p95_1d"]


def _product(folder: Path) -> pd.DataFrame:
    """A view's rows as the offline store holds them (day partitions), sorted by (user, time)."""
    frame = pd.read_parquet(folder).drop(columns=["event_date"], errors="ignore")
    return frame.sort_values(["user_id", "event_ts"], ignore_index=True)


def test_quick_run_prints_every_figure_and_floors_match(tmp_path: Path) -> None:
    keep = tmp_path / "outputs"
    # smaller than ``--quick``'s own sizes: the suite pays this run's time, mostly the JVM's fixed costs
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--sizes", str(EVENTS), "--sliding-events",
                             str(SLIDING_EVENTS), "--actions", "--keep", str(keep)],
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    doc = json.loads(result.stdout)
    assert doc["benchmark"] == "batch" and doc["quick"] is True
    for key in ("cpus", "spark_cores", "spark", "load_average_start", "load_average_end", "total_s"):
        assert key in doc, key
    assert len(doc["load_average_start"]) == len(doc["load_average_end"]) == 3

    [size] = doc["results"]
    assert size["events"] == EVENTS and size["users"] == EVENTS // 200
    for view in ("spend", "windows"):
        run = size[view]
        assert run["rows_in"] == EVENTS and run["rows_out"] > 0 and run["seconds"] > 0, view
        assert set(run["phases"]) == PHASES and set(run["phases"]["inside"]) == INSIDE, view
        # the statistics are sketched inside the write's tasks; what is left on the driver is merging them (ms)
        assert run["phases"]["inside"]["write_spark_s"] > 0 and run["phases"]["inside"]["statistics_s"] >= 0, view
        actions = run["spark_actions"]
        assert any(a["action"] == "collect" and a["at"].startswith("stores/offline/writer.py") for a in actions)
    assert size["spend"]["phases"]["inside"]["transform_and_count_s"] > 0
    assert size["windows"]["phases"]["inside"]["events_and_count_s"] > 0
    for floor in ("floor_sql", "floor_sql_by_day", "floor_sql_same_work", "floor_aggregations"):
        assert size[floor]["seconds"] > 0 and size[floor]["rows_per_s"] > 0, floor
    for floor in ("floor_sql", "floor_sql_by_day", "floor_sql_same_work"):  # no duplicates: the same rows
        assert size[floor]["rows_out"] == size["spend"]["rows_out"] == EVENTS, floor
    assert size["ratio_sql_vs_same_work"] == pytest.approx(
        size["spend"]["seconds"] / size["floor_sql_same_work"]["seconds"], abs=0.01)
    assert size["ratio_sql"] == pytest.approx(size["spend"]["seconds"] / size["floor_sql"]["seconds"], abs=0.01)
    assert size["ratio_aggregations"] == pytest.approx(
        size["windows"]["seconds"] / size["floor_aggregations"]["seconds"], abs=0.01)
    assert size["target_ratio_sql"] == 1.5 and size["target_ratio_aggregations"] == 2.0

    # an honest floor computes the same thing: as many rows, and (aggregations) the same values
    assert size["floor_sql"]["rows_out"] == size["spend"]["rows_out"] == EVENTS  # no duplicates in the data
    assert size["floor_aggregations"]["rows_out"] == size["windows"]["rows_out"]
    check = size["check_aggregations"]
    assert check["rows_compared"] == check["rows_left"] == check["rows_right"] == size["windows"]["rows_out"]
    assert check["mismatches"] == dict.fromkeys(WINDOWS, 0)

    # and again outside Spark, from the kept outputs: tumbling count and sum equal, the others close
    product = _product(keep / str(EVENTS) / "windows")
    floor = pd.read_parquet(keep / str(EVENTS) / "floor_aggregations").sort_values(["user_id", "event_ts"],
                                                                                ignore_index=True)
    assert len(product) == len(floor)
    assert (product["user_id"].to_numpy() == floor["user_id"].to_numpy()).all()
    assert (product["event_ts"].to_numpy() == floor["event_ts"].to_numpy()).all()
    for column in ("amount_count_1h", "amount_count_session_30m"):
        assert product[column].astype("Int64").equals(floor[column].astype("Int64")), column
    for column in ("amount_sum_1h", "amount_sum_session_30m", "amount_avg_1h_every_15m", "amount_max_1h_every_15m",
                   "amount_p95_1d"):
        pd.testing.assert_series_equal(product[column].astype("float64"), floor[column].astype("float64"),
                                       check_names=False, rtol=1e-9, atol=1e-9, obj=column)
    assert product["amount_count_1h"].sum() > 0 and (product["amount_count_1h"] == 0).any()  # closing rows
    spend = _product(keep / str(EVENTS) / "spend")
    floor_sql = pd.read_parquet(keep / str(EVENTS) / "floor_sql").sort_values(["user_id", "event_ts"],
                                                                           ignore_index=True)
    assert len(spend) == len(floor_sql) == EVENTS
    assert (spend["amount_log"].to_numpy() == floor_sql["amount_log"].to_numpy()).all()

    sliding = doc["sliding"]
    assert sliding["events"] == SLIDING_EVENTS and sliding["users"] == 100 and len(sliding["aggregations"]) == 7
    for plan in ("explode", "tiles"):
        run = sliding[plan]
        assert run["rows_in"] == SLIDING_EVENTS and run["rows_out"] > 0 and set(run["phases"]) == PHASES, plan
    assert sliding["ratio_explode_vs_tiles"] == pytest.approx(
        sliding["explode"]["seconds"] / sliding["tiles"]["seconds"], abs=0.01)
    assert sliding["same_rows"] is True and sliding["target_ratio"] == 10.0
    plans = sliding["check_plans"]
    assert plans["rows_left"] == plans["rows_right"] == plans["rows_compared"] == sliding["explode"]["rows_out"]
    assert set(plans["mismatches"].values()) == {0}, plans
