"""Aggregation hot-path micro-benchmark (prints JSON): ``WindowOperator`` replayed the way the stream worker drives it.

The view is ``bench/stream.py``'s throughput view (tumbling 5 min count, sliding 10/5 min sum, 5 min session
avg, tumbling 10 min p95 over ``amount``), built with the DSL. ``--events`` events over ``--keys`` keys, event
times increasing over an hour with up to 30 s of disorder inside a 1 minute lateness (no event is late), a few
amounts null or missing.

Per event, as ``StreamWorker`` does: ``on_event(state, ts, values, watermark_us=W)`` and ``first_end(ts)`` to
lower the key's timer (W = greatest time seen - lateness). Every ``--round`` events (about one second of the
worker's processing): ``on_watermark(state, W)`` and ``next_emit`` for every key whose timer is at or before W,
then ``to_bytes`` of every key touched since the last round (the checkpoint) and ``from_bytes`` of those bytes
(the load of a key). The worker keeps loaded states in its cache and loads a key only when it is not there, so
the loaded states are dropped and the replay goes on with the cached ones; every 10th is checked to round-trip
(outside the timing).

Each part is timed on its own with ``time.perf_counter`` around its calls (``on_event`` includes ``first_end``,
``on_watermark`` includes ``next_emit``); figures are microseconds per event
(part total / events) and per call, the best of ``--repeat`` runs (the machine is usually shared). Garbage
collection counts where it happens (allocations trigger it), but the bench's own event list is frozen out of
it (``gc.freeze``): the worker does not keep its events, and 100k tracked event objects would make every full
collection, and so the part that triggers it, slower. ``rows_digest``
is a hash of every emitted row (feature, start, end, exact value repr): equal digests before and after a change
mean equal results; ``state_bytes`` is the size of the last round's states.

Usage::

    .venv/bin/python bench/aggregations.py                 # 50k events over 10k keys, best of 3
    .venv/bin/python bench/aggregations.py --events 10000 --keys 2000 --repeat 1
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import sys
import time
from datetime import timedelta
from typing import Any

from aquifer.aggregations import WindowOperator
from aquifer.definitions import Aggregation, AggregationView, Entity, Field, KafkaSource, Session, Sliding, Tumbling
from aquifer.definitions.types import Float64, Int64

UNIT = timedelta(minutes=5)
LATENESS_US = 60_000_000
DISORDER_US = 30_000_000
SPAN_US = 3_600_000_000
START_US = 1_700_000_000_000_000
PARTS = ("on_event", "on_watermark", "to_bytes", "from_bytes")

Event = tuple[int, int, dict[str, Any]]
"""``(key, ts_us, values)``."""


def bench_view() -> AggregationView:
    """The view of ``bench/stream.py`` (throughput kind)."""
    user = Entity("user", join_keys=["user_id"])
    payments = KafkaSource("payments", topic="payments", timestamp_field="ts", timestamp_unit="ms",
                           schema=[Field("user_id", Int64), Field("amount", Float64)])
    return AggregationView("bench_spend", entities=[user], source=payments,
                           allowed_lateness=timedelta(microseconds=LATENESS_US), aggregations=[
        Aggregation("amount", "count", Tumbling(UNIT)),
        Aggregation("amount", "sum", Sliding(2 * UNIT, every=UNIT)),
        Aggregation("amount", "avg", Session(gap=UNIT)),
        Aggregation("amount", "p95", Tumbling(2 * UNIT)),
    ])


def make_events(n: int, keys: int, seed: int = 13) -> list[Event]:
    """``n`` events in arrival order: times increasing over ``SPAN_US``, each up to ``DISORDER_US`` early."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        ts = START_US + i * SPAN_US // n - rng.randrange(DISORDER_US)
        values: dict[str, Any] = {"amount": round(rng.uniform(1, 100), 2)}
        if i % 17 == 0:
            values["amount"] = None
        elif i % 23 == 0:
            del values["amount"]
        events.append((rng.randrange(keys), ts, values))
    return events


def replay(op: WindowOperator, events: list[Event], round_events: int) -> dict[str, Any]:
    """One run: seconds per part, calls per part, the rows' digest and the last round's state bytes."""
    clock = time.perf_counter
    spent = dict.fromkeys(PARTS, 0.0)
    calls = dict.fromkeys(PARTS, 0)
    digest = hashlib.sha256()
    states: dict[int, Any] = {}
    timers: dict[int, int] = {}
    dirty: set[int] = set()
    seen: int | None = None
    watermark: int | None = None
    state_bytes = 0
    rows_emitted = 0

    def checkpoint() -> None:
        nonlocal state_bytes, rows_emitted
        if watermark is not None:
            due = sorted(k for k, t in timers.items() if t <= watermark)
            for key in due:  # each call timed: the rows are digested (and dropped, as the worker does) untimed
                t0 = clock()
                state, rows = op.on_watermark(states[key], watermark)
                next_emit = op.next_emit(state)
                spent["on_watermark"] += clock() - t0
                if next_emit is None:
                    del timers[key]
                else:
                    timers[key] = next_emit
                for row in rows:
                    digest.update(f"{key} {row.feature} {row.start} {row.end} {row.value!r}\n".encode())
                rows_emitted += len(rows)
            calls["on_watermark"] += len(due)
            dirty.update(due)
        keys = sorted(dirty)
        t0 = clock()
        written = [op.to_bytes(states[k]) for k in keys]
        spent["to_bytes"] += clock() - t0
        calls["to_bytes"] += len(keys)
        t0 = clock()
        for data in written:
            op.from_bytes(data)
        spent["from_bytes"] += clock() - t0
        calls["from_bytes"] += len(written)
        for data in written[::10]:
            assert op.to_bytes(op.from_bytes(data)) == data
        state_bytes = sum(map(len, written))
        dirty.clear()

    for i, (key, ts, values) in enumerate(events):
        state = states.get(key)
        if state is None:
            state = states[key] = op.new_state()
        t0 = clock()
        _, late = op.on_event(state, ts, values, watermark_us=watermark)
        end = op.first_end(ts)
        spent["on_event"] += clock() - t0
        assert not late, late
        dirty.add(key)
        timer = timers.get(key)
        if timer is None or end < timer:
            timers[key] = end
        seen = ts if seen is None else max(seen, ts)
        watermark = seen - LATENESS_US
        if (i + 1) % round_events == 0:
            checkpoint()
    calls["on_event"] = len(events)
    checkpoint()
    return {"seconds": spent, "calls": calls, "rows_digest": digest.hexdigest()[:16], "rows": rows_emitted,
            "state_bytes": state_bytes}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--round", type=int, default=9_000, help="events between emit/checkpoint rounds")
    parser.add_argument("--repeat", type=int, default=3, help="runs; each part's best is reported")
    args = parser.parse_args(argv)

    view = bench_view()
    events = make_events(args.events, args.keys)
    gc.collect()
    gc.freeze()
    runs = []
    for r in range(args.repeat):
        gc.collect()
        runs.append(replay(WindowOperator(view.aggregations), events, args.round))
        print(f"[bench/aggregations] run {r + 1}: " + ", ".join(
            f"{p} {runs[-1]['seconds'][p]:.3f}s" for p in PARTS), file=sys.stderr, flush=True)
    digests = {run["rows_digest"] for run in runs}
    assert len(digests) == 1, f"runs disagree: {digests}"
    best = {p: min(run["seconds"][p] for run in runs) for p in PARTS}
    calls = runs[0]["calls"]
    result = {
        "events": args.events, "keys": args.keys, "round": args.round, "repeat": args.repeat,
        "view": [f"{a.function} {a.window!r}" for a in view.aggregations],
        "us_per_event": {p: round(best[p] / args.events * 1e6, 2) for p in PARTS},
        "us_per_event_total": round(sum(best.values()) / args.events * 1e6, 2),
        "us_per_call": {p: round(best[p] / calls[p] * 1e6, 2) if calls[p] else None for p in PARTS},
        "calls": calls,
        "rows": runs[0]["rows"],
        "rows_digest": runs[0]["rows_digest"],
        "state_bytes": runs[0]["state_bytes"],
        "python": sys.version.split()[0],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
