"""``bench/quality.py --quick`` runs and prints the JSON document its docstring describes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "quality.py"
ROWS = 50_000
PHASES = {"plan_s", "compute_s", "check_s", "write_s", "record_s", "inside"}
INSIDE = {"statistics_s", "merge_checks_s", "count_rows_s", "check_rows_s", "sample_rows_s", "gx_aggregates_s"}


def test_quick_run_prints_every_figure() -> None:
    # smaller than ``--quick``'s own sizes: the suite pays this run's time
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--rows", str(ROWS), "--drift-values", str(ROWS)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    doc = json.loads(result.stdout)
    assert doc["benchmark"] == "quality" and doc["quick"] is True
    for key in ("cpus", "spark_cores", "load_average_start", "load_average_end", "total_s"):
        assert key in doc, key

    backfill = doc["backfill"]
    assert backfill["rows"] == ROWS and backfill["features"] == 20 and backfill["repeat"] == 1
    for mode in ("off", "statistics", "quality"):
        run = backfill[mode]
        assert run["rows_in"] == run["rows_out"] == ROWS, mode
        assert run["seconds"] > 0 and len(run["runs_s"]) == 1, mode
        assert set(run["phases"]) == PHASES and set(run["phases"]["inside"]) == INSIDE, mode
    # each mode did what it says: no statistics when off, one row per feature otherwise, a passing validation
    assert backfill["off"]["statistics_rows"] == 0 and backfill["off"]["phases"]["inside"]["statistics_s"] == 0
    assert backfill["statistics"]["statistics_rows"] == backfill["quality"]["statistics_rows"] == 20
    assert "validation" not in backfill["off"] and "validation" not in backfill["statistics"]
    validation = backfill["quality"]["validation"]
    assert validation["success"] and validation["failed"] == 0 and validation["expectations"] > 40
    assert validation["suite_version"] == 1 and validation["rows"] == ROWS
    inside = backfill["quality"]["phases"]["inside"]  # counted and sampled by the writing tasks: no pass of its own
    assert inside["count_rows_s"] == inside["sample_rows_s"] == 0
    for key in ("overhead_statistics", "overhead_quality", "overhead_statistics_cpu", "overhead_quality_cpu",
                "overhead_statistics_paired", "overhead_quality_paired"):
        assert isinstance(backfill[key], float), key
    for mode in ("off", "statistics", "quality"):  # CPU of the process and the JVM: more than the driver's alone
        assert backfill[mode]["cpu_s"] > 0 and backfill["cpu_s"][mode] == backfill[mode]["cpu_s"], mode

    drift = doc["drift"]
    assert drift["values"] == ROWS
    numeric, categorical = drift["numeric"], drift["categorical"]
    for key in ("seconds_lists", "seconds_arrays", "floor_sort_searchsorted_s", "ratio_lists_vs_floor",
                "ratio_arrays_vs_floor", "psi", "ks_statistic"):
        assert key in numeric, key
    for key in ("seconds_lists", "floor_value_counts_s", "ratio_vs_floor", "ratio_vs_numeric_floor", "psi",
                "chi2_pvalue", "unseen"):
        assert key in categorical, key
    assert categorical["unseen"] == ROWS // 1000  # one served value in a thousand is a category training never had
