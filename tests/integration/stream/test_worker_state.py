"""State behind the watermark is evicted: a worker fed forty hours of events in four waves keeps about as much
window state after the last wave as after the first (without eviction it would hold four times as much), and
the online values still equal the reference's.
"""

from __future__ import annotations

import threading
import time
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
    run_until,
    settings,
    spend_view,
    start_ms,
    unique,
)

from aquifer.engines.stream.worker import StreamWorker

N_KEYS = 30
WAVE_MS = 10 * 60 * MINUTE_MS


def state_size(worker: StreamWorker) -> tuple[int, int]:
    """``(bytes of live window state, armed timers)`` of the worker's one partition, as last flushed."""
    stream = worker.streams[0]
    cache = stream.caches[0]
    live = sum(len(stream.operator.to_bytes(s)) for s in cache.states.values() if not stream.operator.is_idle(s))
    return live, len(cache.timers.due)


@pytest.mark.timeout(240)
def test_window_state_stays_flat_as_event_time_advances(kafka_broker, redis_url, tmp_path):
    topic = unique("payments")
    kafka_broker.create_topic(topic)
    kafka_broker.create_topic(f"{topic}.dead-letter")
    view = spend_view(topic)
    base = start_ms() - 40 * 60 * MINUTE_MS
    worker = StreamWorker([view], settings(kafka_broker, redis_url, tmp_path, unique("state")))
    produced: list[dict[str, Any]] = []
    sizes: list[tuple[int, int]] = []
    done = threading.Event()

    def waves() -> None:  # the worker must run on the main thread (quix sets signal handlers)
        try:
            for wave in range(4):
                events = make_events(40 + wave, 600, list(range(N_KEYS)), base + wave * WAVE_MS, WAVE_MS)
                produce(kafka_broker, topic, as_payloads(events))
                produced.extend(events)
                deadline = time.monotonic() + 60
                while worker.counts["events"] < len(produced) and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(1.5)  # a checkpoint after the wave's last event: the cache holds what was flushed
                sizes.append(state_size(worker))
        finally:
            done.set()
            worker.stop()  # quix's stop only sets a flag, read by its poll loop

    thread = threading.Thread(target=waves, daemon=True)
    thread.start()
    run_until(worker, lambda _: done.is_set(), bound_s=200)
    thread.join(10)
    assert worker.counts["accepted"] == len(produced) == 2400, dict(worker.counts)
    first, last = sizes[0], sizes[-1]
    print("state after each wave (bytes, timers):", sizes)
    assert 0 < last[0] <= 1.5 * first[0], sizes  # bytes: flat, not four times the first wave's
    assert last[1] <= N_KEYS, sizes  # at most one timer per key

    watermark = max(e["ts"] for e in produced) * 1000 - int(LATENESS.total_seconds() * 1_000_000)
    expected = expected_vectors(view, produced, watermark)
    got = online_vectors(view, redis_url, list(range(N_KEYS)))
    assert not mismatches(expected, got, [f.name for f in view.features])
