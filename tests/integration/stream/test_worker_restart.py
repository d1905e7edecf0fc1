"""Crash and restart: ``aquifer stream`` killed with SIGKILL mid-stream, restarted on its kept state, then
restarted with its local state wiped (rebuilt from the changelog topics). At-least-once delivery replays what
the last checkpoint had not committed; the online values must still equal the reference's after each part:
nothing lost (windows, timers and watermark come back from state) and nothing counted twice; the events landed
for training are every accepted event exactly once.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_worker import (
    LATENESS,
    MINUTE_MS,
    as_payloads,
    expected_vectors,
    make_events,
    mismatches,
    online_vectors,
    produce,
    spend_view,
    start_ms,
    unique,
)
from test_worker_cli import landed_events, write_repo

N_KEYS = 10
FINAL_KEY = 999


def start(repo: Path, group: str, state: Path) -> subprocess.Popen:
    aquifer = Path(sys.executable).parent / "aquifer"
    return subprocess.Popen([str(aquifer), "stream", "--repo", str(repo), "--group", group, "--state-dir", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(view: Any, redis_url: str, expected: dict, proc: subprocess.Popen, bound_s: float = 60.0) -> list[str]:
    """Poll the online store until it holds ``expected`` (or ``bound_s``); the remaining differences."""
    features = [f.name for f in view.features]
    deadline = time.monotonic() + bound_s
    while True:
        problems = mismatches(expected, online_vectors(view, redis_url, [*range(N_KEYS), FINAL_KEY]), features)
        if not problems or time.monotonic() > deadline or proc.poll() is not None:
            return problems
        time.sleep(0.5)


def expected_after(view: Any, events: list[dict[str, Any]]) -> dict:
    """The reference at the watermark the events leave (one partition)."""
    watermark = max(e["ts"] for e in events) * 1000 - int(LATENESS.total_seconds() * 1_000_000)
    return expected_vectors(view, events, watermark)


@pytest.mark.timeout(300)
def test_kill_9_then_restart_on_kept_and_on_wiped_state(kafka_broker, redis_url, tmp_path):
    topic, group, state = unique("payments"), unique("crash"), tmp_path / "state"
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    repo = tmp_path / "repo"
    write_repo(repo, topic, kafka_broker.kafka_section(), redis_url)
    view = spend_view(topic)
    events = make_events(3, 600, list(range(N_KEYS)), start_ms(), 150 * MINUTE_MS)
    parts = [events[:200], events[200:400], events[400:]]
    final = {"user_id": FINAL_KEY, "ts": max(e["ts"] for e in events) + 20 * MINUTE_MS, "amount": 1.0}
    parts[2] = [*parts[2], final]

    proc = start(repo, group, state)
    try:
        produce(kafka_broker, topic, as_payloads(parts[0]))
        assert not wait_for(view, redis_url, expected_after(view, parts[0]), proc)
        proc.send_signal(signal.SIGKILL)  # state and offsets as of the last checkpoint (or none yet)
        proc.communicate(timeout=30)

        produce(kafka_broker, topic, as_payloads(parts[1]))
        proc = start(repo, group, state)  # kept local state
        assert not wait_for(view, redis_url, expected_after(view, parts[0] + parts[1]), proc, 90)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)

        shutil.rmtree(state)  # rebuilt from the changelog topics
        produce(kafka_broker, topic, as_payloads(parts[2]))
        proc = start(repo, group, state)
        assert not wait_for(view, redis_url, expected_after(view, [*events, final]), proc, 90)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        # the landed events: every accepted one exactly once, though checkpoints were replayed after each kill
        assert landed_events(repo) == sorted((e["user_id"], e["ts"]) for e in [*events, final])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
