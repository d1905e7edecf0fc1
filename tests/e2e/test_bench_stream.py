"""``bench/stream.py --quick`` runs on its own broker and prints the figures its docstring describes: the floors,
one worker (with its diagnostics), two workers in one group, where the time goes, and the targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "stream.py"
QUICK_EVENTS = 20_000  # what --quick sets
RATE = {"events", "seconds", "events_per_s", "cpu_s", "cpu_per_wall", "events_per_cpu_s"}
DIAGNOSTICS = {"user_s", "system_s", "minor_faults", "major_faults", "voluntary_switches", "involuntary_switches",
               "checkpoints", "gc0_collections", "gc1_collections", "gc2_collections"}


def test_quick_run_prints_every_figure(redis_server_url: str) -> None:
    if not redis_server_url.startswith("redis://127.0.0.1:6379"):
        pytest.skip("bench/stream.py writes to the Redis server on 127.0.0.1:6379")
    # the latency runs are left out: they are timed (2 x 5 s of steady production) and add nothing to the shape
    result = subprocess.run([sys.executable, str(BENCH), "--quick", "--skip", "latency", "--redis-db", "13"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    doc = json.loads(result.stdout)
    assert doc["config"]["events"] == QUICK_EVENTS

    for floor in ("raw_confluent_kafka_json", "quix_decode_count"):
        figures = doc["floors"][floor]
        assert set(figures) >= RATE and figures["events"] == QUICK_EVENTS, floor

    one = doc["one_worker"]
    assert set(one) >= RATE and one["events"] == QUICK_EVENTS
    # every event accepted (none is late or malformed in the bench's data) and windows reached the online store
    assert one["counts"]["events"] == one["counts"]["accepted"] == QUICK_EVENTS
    assert one["counts"]["windows_emitted"] > 0 and one["counts"]["values_written"] > 0
    assert set(one["diagnostics"]) == DIAGNOSTICS
    # the final flush at least: the checkpoint that writes what the run closed
    assert one["diagnostics"]["checkpoints"] >= 1 and one["diagnostics"]["user_s"] > 0
    assert one["ratio_to_quix_floor"] == pytest.approx(
        one["events_per_s"] / doc["floors"]["quix_decode_count"]["events_per_s"], abs=0.01)

    two = doc["two_workers"]
    assert two["events"] == QUICK_EVENTS and len(two["per_worker"]) == 2
    # each worker held one of the two partitions: both counted events, and together every event
    assert all(worker["events"] > 0 for worker in two["per_worker"])
    assert sum(worker["accepted"] for worker in two["per_worker"]) >= QUICK_EVENTS
    assert all(set(worker["diagnostics"]) == DIAGNOSTICS for worker in two["per_worker"])

    per_event = doc["where_time_goes"]["per_event_us"]
    assert per_event["worker_total"] == pytest.approx(
        per_event["kafka_consume_and_json"] + per_event["quix_application_over_raw"]
        + per_event["aquifer_step_state_and_sink_over_quix"], abs=0.05)
    assert set(doc["targets_met"]) == {"one_worker_ge_25pct_of_quix_floor", "two_workers_ge_1.6x_one_worker"}
    assert "latency" not in doc
