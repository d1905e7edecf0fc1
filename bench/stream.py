"""Stream worker benchmark (prints JSON): a ``StreamWorker`` beside two floors measured in the same run.

The view (defined below with the DSL) is an ``AggregationView`` over a ``KafkaSource`` of JSON payments with a
tumbling count, a sliding sum, a session average and a tumbling p95. The figures, in order:

- ``floors``: on the same 1-partition topic of ``--events`` JSON events over ``--keys`` keys (event times
  roughly increasing, disordered within the lateness), (a) a raw confluent-kafka consumer + ``json.loads`` and
  (b) a quixstreams ``Application`` that only decodes (JSON deserializer) and counts (a stateless ``apply``).
- ``one_worker``: one ``StreamWorker`` consuming all of that topic; its ratio to each floor.
- ``two_workers``: two worker processes in one consumer group on a 2-partition topic (one partition each, checked
  before the events are produced); their aggregate rate and its ratio to one worker.
- ``latency``: a producer at a steady ``--rate`` for ``--seconds`` with event time = wall clock (1 s windows);
  per commit interval (``--commit-intervals``), the delay from the watermark passing a window's end to that
  window's value being readable in Redis (definition in ``measure_latency``), beside its floor: the produce to
  consume delay of a plain consumer tailing the same topic.
- ``where_time_goes``: microseconds per event (wall and CPU) split by the floors: Kafka + JSON, what quix adds,
  what the worker's step adds; with ``--profile``, cProfile of one worker over 50k events: top functions and
  own time by area (package or aquifer module).

The machine is usually shared: each rate comes with the CPU its process got (``cpu_per_wall``, events per CPU
second) and each phase with the cores busy machine-wide and the broker's share, to tell a slow worker from a
busy machine. Each worker also reports ``diagnostics`` from its first measured message to its return: user and
system CPU, page faults, context switches, garbage collections per generation and checkpoints, to tell one run
of the same events from another (one run in seven on 2026-12-07 spent 60% more CPU per event than the others).

Every rate is events per second from the first message a consumer handed to user code to the last one (group
join, state recovery and shutdown excluded: a Tansu group join alone takes half of ``session.timeout.ms``).
A worker's last checkpoint (its flush at stop) falls after its last message, so one worker also gets
``events_per_s_to_last_write``: from the first message to the last change of ``counts["values_written"]`` (the
online writes of that final flush included); the two differ most in short runs (``--quick``). Two workers get
no such figure: they stop on the parent's flag, seen only when their idle consumer poll returns (up to 1 s).
Consumers run in their own processes (``multiprocessing`` spawn), so two workers really use two cores. Workers
produce (changelogs, dead letters) batched even on Tansu, where ``LocalBroker`` asks for one record per batch:
every worker here starts cold, which that setting is not needed for (``Bench.kafka``); ``--one-record-batches``
measures with it.

Usage::

    .venv/bin/python bench/stream.py                  # 200k events over 10k keys (3 to 5 minutes)
    .venv/bin/python bench/stream.py --quick          # smoke run: 20k events over 2k keys, 5 s latency runs
    .venv/bin/python bench/stream.py --profile        # also where one worker's time goes
    .venv/bin/python bench/stream.py --bootstrap host:9092 --redis-db 12

It starts its own Tansu broker (``aquifer.stream_broker.LocalBroker``) unless ``--bootstrap`` names a running
Kafka (its topics are deleted at the end). Redis is 127.0.0.1:6379, db ``--redis-db`` (default 13): the run
writes only ``aq:bench_stream_<run>_<n>:*`` keys (a throw-away project per worker group, so no phase reads
another's vectors) and deletes them at the end (no FLUSHDB).
Progress goes to stderr, the JSON document to stdout.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import cProfile
import json
import multiprocessing
import os
import pstats
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from aquifer.definitions import Aggregation, AggregationView, Entity, Field, KafkaSource, Session, Sliding, Tumbling
from aquifer.definitions.types import Float64, Int64
from aquifer.engines.stream.kafka_config import kafka_client_config, quix_app_settings
from aquifer.stream_broker import Broker, LocalBroker

VIEW = "bench_spend"
# Throughput data: event times spread over an hour two days ago (the worker refuses events from the future),
# 5 minute windows, up to 30 s of disorder inside a 1 minute lateness: no event is late.
SPAN_MS = 3_600_000
THROUGHPUT_UNIT = timedelta(minutes=5)
THROUGHPUT_LATENESS = timedelta(minutes=1)
THROUGHPUT_DISORDER_MS = 30_000
# Latency data: event time = wall clock minus up to 200 ms of disorder, 1 s windows, 500 ms lateness.
LATENCY_UNIT = timedelta(seconds=1)
LATENCY_LATENESS = timedelta(milliseconds=500)
LATENCY_DISORDER_MS = 200
WARMUP_USER = 10**9  # the gate events' key: never among the measured keys
# The bench's own data producers batch: LocalBroker's client settings produce one record per batch (a Tansu
# high-watermark quirk that only matters to quix changelogs, see aquifer.stream_broker), about 8k records/s.
BULK_PRODUCER: dict[str, Any] = {"batch.num.messages": 10_000, "linger.ms": 20}
STEADY_PRODUCER: dict[str, Any] = {"batch.num.messages": 1_000, "linger.ms": 5}
PROFILE_EVENTS = 50_000
# latency, "steady": windows the watermark passed from STEADY_AFTER_S after the producer started until
# commit_interval + STEADY_TAIL_S before it stopped. The first seconds are the worker's start at the log's tail;
# at the end the stream stops, and a worker with no message to process commits its checkpoint (and writes its
# windows) only when the consumer poll returns: up to quix's consumer_poll_timeout (1 s) later.
STEADY_AFTER_S = 2.0
STEADY_TAIL_S = 0.5
CHILD_BOUND_S = 600.0
# per-worker slot shared with the parent (doubles): events counted, events before the measured data, wall time
# of the first measured message, wall time of the latest message, and the process's CPU time at both
EVENTS, BASE, FIRST, LAST, CPU_FIRST, CPU_LAST = range(6)
STOP, RELEASE = range(2)  # flags the parent raises for all workers of a group
CPU_EVERY = 1024  # a worker reads its CPU time (a system call) every this many messages, not after each
# How often a worker's watcher thread looks at the stop flag and the online writes: each wake-up takes the GIL
# from the worker, and at every 10 ms the watcher cost the worker about 10-15% of its rate (the floors have no
# such thread); 100 ms still times the last write well within a run's second.
WATCH_S = 0.1


def log(message: str) -> None:
    print(f"[bench/stream {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_view(topic: str, kind: str) -> AggregationView:
    """The benchmarked view: ``kind`` ``throughput`` (5 minute windows) or ``latency`` (1 s windows)."""
    unit, lateness = ((THROUGHPUT_UNIT, THROUGHPUT_LATENESS) if kind == "throughput"
                      else (LATENCY_UNIT, LATENCY_LATENESS))
    user = Entity("user", join_keys=["user_id"])
    payments = KafkaSource("payments", topic=topic, timestamp_field="ts", timestamp_unit="ms",
                           schema=[Field("user_id", Int64), Field("amount", Float64)])
    return AggregationView(VIEW, entities=[user], source=payments, allowed_lateness=lateness, aggregations=[
        Aggregation("amount", "count", Tumbling(unit)),
        Aggregation("amount", "sum", Sliding(2 * unit, every=unit)),
        Aggregation("amount", "avg", Session(gap=unit)),
        Aggregation("amount", "p95", Tumbling(2 * unit)),
    ])


# --------------------------------------------------------------------------------------------- data


Record = tuple[int, bytes, bytes]  # (user id, message key, JSON value)


def make_records(n: int, keys: int, seed: int = 13) -> tuple[list[Record], int]:
    """``n`` events over ``keys`` users, times increasing over ``SPAN_MS`` minus up to the disorder; and the
    first event time (ms)."""
    rng = random.Random(seed)
    now = int(time.time() * 1000) - 2 * 86_400_000
    base = now - now % 3_600_000
    step = SPAN_MS / n
    records = []
    for i in range(n):
        user = rng.randrange(keys)
        ts = base + int(i * step) - rng.randrange(THROUGHPUT_DISORDER_MS + 1)
        value = json.dumps({"user_id": user, "ts": ts, "amount": round(rng.uniform(1, 500), 2)})
        records.append((user, str(user).encode(), value.encode()))
    return records, base - THROUGHPUT_DISORDER_MS


def produce(broker: Broker, topic: str, records: Sequence[Record], partitions: int = 1) -> float:
    """Produce ``records`` (to partition ``user % partitions``) and wait for every delivery; seconds taken."""
    from confluent_kafka import Producer

    producer = Producer({**kafka_client_config(broker.kafka_section(), "producer"), **BULK_PRODUCER})
    errors: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    began = time.perf_counter()
    for user, key, value in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value, partition=user % partitions, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60) or errors:
        raise RuntimeError(f"producing to {topic}: {len(errors)} failed deliveries {errors[:3]}")
    return time.perf_counter() - began


def warmup_record(partition: int, ts_ms: int) -> Record:
    value = json.dumps({"user_id": WARMUP_USER + partition, "ts": ts_ms, "amount": 1.0}).encode()
    return WARMUP_USER + partition, str(WARMUP_USER + partition).encode(), value


# ----------------------------------------------------------------------------------- child processes


def worker_process(spec: dict[str, Any], slot: Any, flags: Any, results: Any) -> None:
    """One ``StreamWorker`` (public surface only) in its own process; progress in ``slot``, a summary in
    ``results``. It stops once ``spec["target"]`` events were counted or when the parent raises ``STOP``.

    The first message after ``slot[BASE]`` events waits in ``stop_when`` until the parent raises ``RELEASE``: the
    parent produces the measured events meanwhile, so the workers read a backlog rather than the log's tail (on
    Tansu a consumer at the tail waits up to ``fetch.wait.max.ms`` per fetch, its high watermark lagging)."""
    from aquifer.engines.stream.worker import StreamSettings, StreamWorker

    view = bench_view(spec["topic"], spec["kind"])
    settings = StreamSettings(kafka=spec["kafka"], online_store={"url": spec["redis_url"]}, project=spec["project"],
                              state_dir=Path(spec["state_dir"]), consumer_group=spec["group"],
                              commit_interval=spec["commit_interval"])
    worker = StreamWorker([view], settings)
    target = spec["target"]

    started = [False]  # the first measured message was seen (its gate passed, FIRST set)
    at_first: dict[str, Any] = {}
    checkpoints = Checkpoints()
    worker.listeners.append(checkpoints)

    def stop_when(w: StreamWorker) -> bool:
        n = w.events
        now = time.time()
        if not started[0] and n > slot[BASE]:
            while not flags[RELEASE] and not flags[STOP]:
                time.sleep(0.0005)
            now = time.time()
            slot[FIRST], slot[CPU_FIRST] = now, time.process_time()
            at_first.update(process_figures(checkpoints))
            started[0] = True
        slot[LAST], slot[EVENTS] = now, n
        if not n % CPU_EVERY or n >= target:
            slot[CPU_LAST] = time.process_time()
        return bool(n >= target)

    done = threading.Event()
    began = time.time()
    last_write = {"value": 0, "at": 0.0}

    def watch() -> None:
        """The parent's stop flag, or the bound: stop() also when no message arrives any more; and the time
        of the last online write (``values_written`` changes after each checkpoint's Redis write)."""
        while not done.wait(WATCH_S):
            if flags[STOP] or time.time() - began > spec["bound_s"]:
                worker.stop()
            with contextlib.suppress(RuntimeError):  # the counters may grow a key meanwhile
                written = worker.counts["values_written"]
                if written != last_write["value"]:
                    last_write.update(value=written, at=time.time())

    threading.Thread(target=watch, daemon=True).start()
    profiler = cProfile.Profile() if spec.get("profile") else None
    try:
        if profiler is not None:
            profiler.runcall(worker.run, stop_when=stop_when)
        else:
            worker.run(stop_when=stop_when)
    finally:
        done.set()
    diagnostics = {k: round(v - at_first.get(k, 0), 3) for k, v in process_figures(checkpoints).items()}
    out: dict[str, Any] = {"index": spec["index"], "counts": dict(worker.counts), "returned": time.time(),
                           "diagnostics": diagnostics,
                           "last_write": last_write["at"] if last_write["value"] == worker.counts["values_written"]
                           else time.time(),
                           "timed_out": time.time() - began > spec["bound_s"]}
    if profiler is not None:
        out["profile"] = profile_summary(profiler)
    results.put(out)


class Checkpoints:
    """A ``StreamListener`` counting the worker's checkpoints."""

    def __init__(self) -> None:
        self.count = 0

    def stream_started(self, worker: Any) -> None:
        pass

    def stream_checkpoint(self, worker: Any) -> None:
        self.count += 1

    def stream_stopped(self, worker: Any, error: str | None) -> None:
        pass


def process_figures(checkpoints: Checkpoints) -> dict[str, float]:
    """What tells one run of a worker from another on the same events: user and system CPU seconds, page faults,
    context switches, garbage collections per generation, checkpoints (``diagnostics``, from the first measured
    message to the return of ``run``)."""
    import gc
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {"user_s": usage.ru_utime, "system_s": usage.ru_stime, "minor_faults": usage.ru_minflt,
               "major_faults": usage.ru_majflt, "voluntary_switches": usage.ru_nvcsw,
               "involuntary_switches": usage.ru_nivcsw, "checkpoints": checkpoints.count}
    for generation, stats in enumerate(gc.get_stats()):
        figures[f"gc{generation}_collections"] = stats["collections"]
    return figures


def raw_floor_process(spec: dict[str, Any], results: Any) -> None:
    """Floor (a): confluent-kafka ``Consumer`` assigned the partition from its start (no group join), reading
    ``spec["n"]`` messages in batches of 1000 and ``json.loads``-ing each value."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**kafka_client_config(spec["kafka"], "consumer"), "group.id": spec["group"],
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(spec["topic"], 0, OFFSET_BEGINNING)])
    n, first, cpu_first, total, deadline = 0, 0.0, 0.0, spec["n"], time.monotonic() + spec["bound_s"]
    checksum = 0
    while n < total and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=1000, timeout=0.5):
            if msg.error() is not None:
                raise RuntimeError(str(msg.error()))
            if not first:
                first, cpu_first = time.time(), time.process_time()
            checksum += len(json.loads(msg.value()))
            n += 1
    last, cpu = time.time(), time.process_time() - cpu_first
    consumer.close()
    results.put({"events": n, "first": first, "last": last, "cpu": cpu, "fields": checksum})


def quix_floor_process(spec: dict[str, Any], results: Any) -> None:
    """Floor (b): a quixstreams ``Application`` with a JSON value deserializer and a stateless ``apply`` that
    counts, stopping at the ``spec["n"]``-th message; same client settings as the workers."""
    from quixstreams import Application

    app = Application(consumer_group=spec["group"], auto_offset_reset="earliest", state_dir=spec["state_dir"],
                      commit_interval=5.0, loglevel="WARNING", **quix_app_settings(spec["kafka"]))
    topic = app.topic(spec["topic"], value_deserializer="json", key_deserializer="bytes")
    seen = {"n": 0, "first": 0.0, "last": 0.0, "cpu_first": 0.0, "cpu_last": 0.0}
    total = spec["n"]

    def count(value: Any) -> Any:
        seen["n"] += 1
        if seen["n"] == 1:
            seen["first"], seen["cpu_first"] = time.time(), time.process_time()
        if seen["n"] >= total:
            seen["last"], seen["cpu_last"] = time.time(), time.process_time()
            app.stop()
        return value

    sdf = app.dataframe(topic)
    sdf = sdf.apply(count)
    timer = threading.Timer(spec["bound_s"], app.stop)
    timer.daemon = True
    timer.start()
    app.run()
    timer.cancel()
    results.put({"events": seen["n"], "first": seen["first"], "last": seen["last"] or time.time(),
                 "cpu": seen["cpu_last"] - seen["cpu_first"]})


def tail_floor_process(spec: dict[str, Any], flags: Any, results: Any) -> None:
    """The latency floor: a confluent-kafka consumer (the workers' settings) tailing the latency topic, noting
    for each event the time from its ``sent`` field (the producer's wall clock) to its arrival, until ``STOP``."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({**kafka_client_config(spec["kafka"], "consumer"), "group.id": spec["group"],
                         "enable.auto.commit": False, "fetch.queue.backoff.ms": 100})  # as quix sets it
    consumer.assign([TopicPartition(spec["topic"], 0, OFFSET_BEGINNING)])
    delays = []
    while not flags[STOP]:
        messages = consumer.consume(num_messages=1000, timeout=0.1)
        flags[RELEASE] = 1  # ready: fetching
        for msg in messages:
            if msg.error() is None:
                sent = json.loads(msg.value()).get("sent")
                if sent is not None:
                    delays.append(time.time() - sent)
    consumer.close()
    results.put(pct(delays))


def profile_summary(profiler: cProfile.Profile, top: int = 15) -> dict[str, Any]:
    """The top functions by cumulative and by own time, and own time summed by area (package)."""
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, name), (_cc, calls, own, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((_function_label(file, line, name), calls, own, cumulative, _area(file, name)))
    total = float(stats.total_tt)  # type: ignore[attr-defined]

    def table(key: int, only: str = "") -> list[dict[str, Any]]:
        return [{"function": label, "calls": calls, "own_s": round(own, 3), "cumulative_s": round(cum, 3)}
                for label, calls, own, cum, _ in sorted(rows, key=lambda r: -r[key]) if label.startswith(only)
                ][:top]

    areas: dict[str, float] = {}
    for *_, own, _cum, area in rows:
        areas[area] = areas.get(area, 0.0) + own
    return {"profiled_s": round(total, 2), "top_cumulative": table(3), "top_own": table(2),
            "top_aquifer_cumulative": table(3, "aquifer/"),
            "own_time_by_area": {area: {"s": round(s, 2), "share": round(s / total, 3)}
                                 for area, s in sorted(areas.items(), key=lambda kv: -kv[1])}}


def _function_label(file: str, line: int, name: str) -> str:
    if file == "~":
        return name
    for marker in ("site-packages/", "/aquifer/"):
        if marker in file:
            file = ("aquifer/" if marker == "/aquifer/" else "") + file.rsplit(marker, 1)[1]
            break
    else:
        file = os.path.basename(file)
    return f"{file}:{line}({name})"


def _area(file: str, name: str) -> str:
    text = f"{file} {name}"
    if "/aquifer/" in file:
        part = file.rsplit("/aquifer/", 1)[1].split("/")
        return "aquifer." + ".".join(p.removesuffix(".py") for p in part[:2])
    for needle, area in (("quixstreams", "quixstreams"), ("rocksdict", "rocksdict (state store)"),
                         ("cimpl", "confluent_kafka (librdkafka)"), ("confluent_kafka", "confluent_kafka (librdkafka)"),
                         ("redis", "redis client"), ("json", "json"), ("pydantic", "pydantic")):
        if needle in text:
            return area
    return "other (stdlib, builtins)"


# ------------------------------------------------------------------------------------------ runner


class MachineCPU:
    """CPU use over a span (Linux ``/proc``): the share of all cores that was busy (every process, other users'
    included) and the cores the broker process used. ``start()`` then ``stop()`` gives the figures."""

    def __init__(self, broker_pid: int | None) -> None:
        self.broker_pid = broker_pid
        self._start: tuple[float, int, int, int | None] | None = None

    def _sample(self) -> tuple[float, int, int, int | None]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        broker = None
        if self.broker_pid is not None:
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{self.broker_pid}/stat").read_text().rsplit(")", 1)[1].split()
                broker = int(stat[11]) + int(stat[12])  # utime + stime
        return time.monotonic(), sum(fields), idle, broker

    def start(self) -> None:
        with contextlib.suppress(OSError):
            self._start = self._sample()

    def stop(self) -> dict[str, Any]:
        if self._start is None:
            return {}
        try:
            end = self._sample()
        except OSError:
            return {}
        wall = max(end[0] - self._start[0], 1e-9)
        total = max(end[1] - self._start[1], 1)
        out: dict[str, Any] = {"machine_cores_busy": round((os.cpu_count() or 1) * (1 - (end[2] - self._start[2])
                                                                                      / total), 2)}
        if end[3] is not None and self._start[3] is not None:
            out["broker_cores"] = round((end[3] - self._start[3]) / os.sysconf("SC_CLK_TCK") / wall, 2)
        return out


class Bench:
    """One run: the broker, Redis db, temp state dir, a run tag naming every topic and group."""

    def __init__(self, broker: Broker, redis_url: str, root: Path, own_broker: bool,
                 one_record_batches: bool = False) -> None:
        self.broker = broker
        self.one_record_batches = one_record_batches
        self.redis_url = redis_url
        self.root = root
        self.own_broker = own_broker
        self.tag = f"aqbench-{uuid.uuid4().hex[:8]}"
        self.project = f"bench_stream_{self.tag.split('-')[1]}"  # + "_<n>": one project per worker group
        self.ctx = multiprocessing.get_context("spawn")
        process = getattr(broker, "process", None)
        self.broker_pid: int | None = process.pid if process is not None else None
        self._names = 0

    @property
    def kafka(self) -> dict[str, Any]:
        """The consumers' ``kafka:`` section: the broker's, but producing batched unless ``one_record_batches``.

        ``LocalBroker`` makes every client produce one record per batch (Tansu reports a wrong high watermark
        otherwise, and quix then refuses to reopen a *warm* state store). Every worker here starts cold (new
        group, empty state dir), so batching is safe; one-record batches would cap the workers' changelog
        producing at Tansu's rate for single records (about 8k/s on 2 cores), which a real Kafka does not have.
        """
        section = self.broker.kafka_section()
        if not self.one_record_batches:
            section["conf"] = {k: v for k, v in section.get("conf", {}).items() if k != "batch.num.messages"}
        return section

    def phase_project(self) -> str:
        self._names += 1
        return f"{self.project}_{self._names}"

    def name(self, what: str) -> str:
        self._names += 1
        return f"{self.tag}-{what}-{self._names}"

    def topic(self, what: str, partitions: int = 1) -> str:
        topic = self.name(what)
        self.broker.create_topic(topic, partitions=partitions)
        self.broker.create_topic(f"{topic}.dead-letter")
        return topic

    def run_child(self, target: Callable[..., None], spec: dict[str, Any]) -> dict[str, Any]:
        """Run a floor in a child process; its result."""
        results = self.ctx.Queue()
        proc = self.ctx.Process(target=target, args=(spec, results))
        proc.start()
        try:
            return results.get(timeout=CHILD_BOUND_S + 60)
        finally:
            proc.join(30)
            if proc.is_alive():
                proc.kill()

    @contextlib.contextmanager
    def workers(self, topic: str, kind: str, count: int, target: float = float("inf"), commit_interval: float = 5.0,
                profile: bool = False, gated: bool = False, project: str | None = None
                ) -> Iterator[tuple[list[Any], Callable[[], list[dict[str, Any]]], Callable[[], None]]]:
        """``count`` worker processes in one new group on ``topic``: yields their slots, ``finish()`` (raises
        ``STOP``, returns their summaries) and ``release()``. ``gated``: nothing is measured until the parent sets
        each slot's ``BASE`` (events before the measured ones), and the first measured message waits for
        ``release()``. ``project`` (default: a new one) names the Redis keys they write."""
        group = self.name("group")
        project = project or self.phase_project()
        flags = self.ctx.RawArray("i", 2)
        flags[RELEASE] = 0 if gated else 1
        results = self.ctx.Queue()
        slots, procs = [], []
        for i in range(count):
            slot = self.ctx.RawArray("d", 6)
            slot[BASE] = float("inf") if gated else 0.0
            spec = {"topic": topic, "kind": kind, "kafka": self.kafka, "redis_url": self.redis_url,
                    "project": project, "state_dir": str(self.root / f"{group}-{i}"), "group": group,
                    "commit_interval": commit_interval, "target": target, "profile": profile,
                    "bound_s": CHILD_BOUND_S, "index": i}
            proc = self.ctx.Process(target=worker_process, args=(spec, slot, flags, results))
            proc.start()
            slots.append(slot)
            procs.append(proc)
        summaries: list[dict[str, Any]] = []

        def release() -> None:
            flags[RELEASE] = 1

        def finish() -> list[dict[str, Any]]:
            flags[STOP] = 1
            while len(summaries) < count:
                summaries.append(results.get(timeout=120))
            return sorted(summaries, key=lambda s: s["index"])

        try:
            yield slots, finish, release
        finally:
            flags[STOP] = 1
            for proc in procs:
                proc.join(60)
                if proc.is_alive():
                    proc.kill()
                    proc.join(10)
                if proc.exitcode not in (0, None):
                    log(f"a worker process exited with {proc.exitcode}")

    # ---------------------------------------------------------------------------- measurements

    def floors(self, topic: str, n: int) -> dict[str, Any]:
        out = {}
        log("floor (a): raw confluent-kafka consume + json.loads")
        raw = self.run_child(raw_floor_process, {"kafka": self.kafka, "topic": topic, "n": n,
                                                 "group": self.name("raw"), "bound_s": CHILD_BOUND_S})
        out["raw_confluent_kafka_json"] = _rate(raw["events"], raw["first"], raw["last"], n, raw["cpu"])
        log(f"  {out['raw_confluent_kafka_json']}")
        log("floor (b): quixstreams Application, JSON deserializer + stateless counting apply")
        quix = self.run_child(quix_floor_process, {"kafka": self.kafka, "topic": topic, "n": n,
                                                   "group": self.name("quix"), "bound_s": CHILD_BOUND_S,
                                                   "state_dir": str(self.root / "quix-floor")})
        out["quix_decode_count"] = _rate(quix["events"], quix["first"], quix["last"], n, quix["cpu"])
        log(f"  {out['quix_decode_count']}")
        return out

    def one_worker(self, topic: str, n: int, profile: bool = False) -> dict[str, Any]:
        with self.workers(topic, "throughput", 1, target=n, profile=profile) as (slots, finish, _):
            slot = slots[0]
            cpu = MachineCPU(self.broker_pid)
            wait_until(lambda: slot[FIRST] > 0, CHILD_BOUND_S, every=0.05)
            cpu.start()
            if not wait_until(lambda: slot[EVENTS] >= n, CHILD_BOUND_S, every=0.05):
                log(f"  the worker consumed {int(slot[EVENTS]):,} of {n:,} events in {CHILD_BOUND_S:.0f} s")
            machine = cpu.stop()
            summary = finish()[0]
        out = _rate(int(slot[EVENTS]), slot[FIRST], slot[LAST], n, slot[CPU_LAST] - slot[CPU_FIRST])
        out.update(machine)
        # first -> last message leaves out the checkpoint at stop (its flush); to the last write has it
        out["events_per_s_to_last_write"] = round(n / max(summary["last_write"] - slot[FIRST], 1e-9))
        out["first_message_to_run_returned_s"] = round(summary["returned"] - slot[FIRST], 2)
        out["counts"] = summary["counts"]
        out["diagnostics"] = summary["diagnostics"]
        if profile:
            out["profile"] = summary["profile"]
        return out

    def two_workers(self, records: Sequence[Record], base_ms: int, one: dict[str, Any]) -> dict[str, Any]:
        """Two processes, one group, a 2-partition topic. Gate: warm-up events (older than the data) go to
        both partitions until each worker has counted one, i.e. each holds a partition; then the data is
        produced (the workers hold at their first data message meanwhile) and released: the aggregate rate
        runs from the first data message either worker took after the release to the last."""
        topic = self.topic("pair", partitions=2)
        n = len(records)
        with self.workers(topic, "throughput", 2, gated=True) as (slots, finish, release):
            log("  waiting until each worker holds one partition (Tansu: a join and a rebalance, ~3 s each)")
            deadline = time.monotonic() + 120
            rounds = 0
            while not all(slot[EVENTS] >= 1 for slot in slots):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the two workers did not split the partitions: {[s[EVENTS] for s in slots]}")
                rounds += 1
                produce(self.broker, topic, [warmup_record(p, base_ms - 3_600_000) for p in (0, 1)], partitions=2)
                wait_until(lambda: all(slot[EVENTS] >= 1 for slot in slots), 1.5)
            time.sleep(1.0)  # a warm-up still in flight is counted before the base is taken
            for slot in slots:
                slot[BASE] = slot[EVENTS]
            log(f"  split after {rounds} warm-up round(s); producing {n:,} events to 2 partitions")
            produce_s = produce(self.broker, topic, records, partitions=2)
            cpu = MachineCPU(self.broker_pid)
            cpu.start()
            release()
            if not wait_until(lambda: sum(s[EVENTS] - s[BASE] for s in slots) >= n, CHILD_BOUND_S):
                log("  the two workers did not consume every event in time")
            machine = cpu.stop()
            summaries = finish()
        per = []
        for slot, summary in zip(slots, summaries, strict=True):
            events = int(slot[EVENTS] - slot[BASE])
            per.append({**_rate(events, slot[FIRST], slot[LAST], events, slot[CPU_LAST] - slot[CPU_FIRST]),
                        "accepted": summary["counts"].get("accepted"), "diagnostics": summary["diagnostics"]})
        consumed = sum(p["events"] for p in per)
        first = min(s[FIRST] for s in slots)
        last = max(s[LAST] for s in slots)
        out = _rate(consumed, first, last, n)
        out.update(machine)
        cpu_s = sum(s[CPU_LAST] - s[CPU_FIRST] for s in slots)
        out["worker_cores"] = round(cpu_s / out["seconds"], 2)  # below 2: the machine did not give them two cores
        out["ratio_to_one_worker"] = round(out["events_per_s"] / one["events_per_s"], 2)
        if cpu_s > 0 and "events_per_cpu_s" in one:  # the same per CPU second: linear given two free cores
            out["events_per_cpu_s_ratio_to_one_worker"] = round(consumed / cpu_s / one["events_per_cpu_s"], 2)
        out["produce_s"] = round(produce_s, 2)
        out["per_worker"] = per
        return out

    def cleanup(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        removed = 0
        for key in client.scan_iter(match=f"aq:{self.project}_*", count=5000):
            removed += client.unlink(key)
        client.close()
        log(f"deleted {removed:,} Redis keys aq:{self.project}_*")
        if not self.own_broker:  # an external broker keeps what it is given: delete this run's topics
            with contextlib.suppress(Exception):
                admin = self.broker.admin()
                mine = [t for t in admin.list_topics(timeout=10).topics if self.tag in t]
                if mine:
                    for future in admin.delete_topics(mine, operation_timeout=30).values():
                        future.result(60)
                    log(f"deleted {len(mine)} topics of this run")


def code_version() -> dict[str, Any]:
    """Which aquifer ran: its folder, and when it is a git checkout, the commit and whether the stream engine
    had uncommitted changes."""
    import subprocess

    import aquifer

    root = Path(aquifer.__file__).resolve().parent.parent
    out: dict[str, Any] = {"aquifer": str(root)}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "aquifer/engines/stream"],
                                     capture_output=True, text=True, timeout=10).stdout
            out.update({"commit": commit.stdout.strip(), "stream_engine_uncommitted_changes": bool(changed.strip())})
    return out


def wait_until(done: Callable[[], bool], timeout: float, every: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def _rate(events: int, first: float, last: float, expected: int, cpu: float | None = None) -> dict[str, Any]:
    """Events per second between the first and the last message; with the consumer process's CPU seconds in
    that span, also the cores it got (``cpu_per_wall``: below 1 on a busy machine) and events per CPU second."""
    seconds = max(last - first, 1e-9)
    out: dict[str, Any] = {"events": events, "seconds": round(seconds, 3), "events_per_s": round(events / seconds)}
    if cpu is not None and cpu > 0:
        out.update({"cpu_s": round(cpu, 2), "cpu_per_wall": round(cpu / seconds, 2),
                    "events_per_cpu_s": round(events / cpu)})
    if events < expected:
        out["incomplete"] = f"{events} of {expected} events"
    return out


def pct(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"samples": 0}
    a = np.asarray(values) * 1000
    return {"samples": len(values), **{f"p{q}_ms": round(float(np.percentile(a, q)), 1) for q in (50, 95, 99)},
            "max_ms": round(float(a.max()), 1)}


def measure_latency(bench: Bench, commit_interval: float, rate: float, seconds: float, keys: int, sample: int,
                    poll_s: float) -> dict[str, Any]:
    """Watermark-to-readable latency of one worker at a steady produce rate.

    A producer thread sends ``rate`` events/s for ``seconds`` over ``keys`` users, each with event time = its
    produce wall-clock time minus up to ``LATENCY_DISORDER_MS``. A poller thread reads ``sample`` users' vectors
    from Redis every ``poll_s`` (one pipelined HGET each) and notes when a vector's ``event_ts`` (the newest
    window end it holds) changes to ``E``, at the midpoint of that poll.

    Definition: the worker's watermark is its partition's greatest event time minus the lateness ``L``, so it
    reaches ``E`` with the first event whose time is ``>= E + L`` (the running maximum of produced event times
    is non-decreasing: a bisection finds it). Latency = observed time - the wall-clock time that event was
    handed to the producer. It therefore includes producer batching (``linger.ms`` 5), the broker, consumer lag,
    the worker's step, the wait for the next checkpoint (the online writes are flushed at each checkpoint, every
    ``commit_interval``), the Redis write, and up to one poll interval.
    """
    from confluent_kafka import Producer

    from aquifer.stores.online.codec import event_time_of
    from aquifer.stores.online.keys import entity_group

    topic = bench.topic("latency")
    view = bench_view(topic, "latency")
    lateness_ms = LATENCY_LATENESS.total_seconds() * 1000
    project = bench.phase_project()
    prefix = entity_group(view).prefix(project)
    rng = random.Random(7)
    sampled = [prefix + str(k) for k in rng.sample(range(keys), min(sample, keys))]
    produced_at: list[float] = []
    event_ms: list[int] = []
    observations: list[tuple[int, float]] = []
    poll_durations: list[float] = []
    stop_polling = threading.Event()

    def produce_steadily() -> None:
        producer = Producer({**kafka_client_config(bench.broker.kafka_section(), "producer"), **STEADY_PRODUCER})
        total = int(rate * seconds)
        began = time.time()
        i = 0
        while i < total:
            due = min(total, int((time.time() - began) * rate) + 1)
            while i < due:
                user = rng.randrange(keys)
                now = time.time()
                ts = int(now * 1000) - rng.randrange(LATENCY_DISORDER_MS + 1)
                value = json.dumps({"user_id": user, "ts": ts, "amount": round(rng.uniform(1, 500), 2),
                                    "sent": now}).encode()
                producer.produce(topic, key=str(user).encode(), value=value)
                produced_at.append(now)
                event_ms.append(ts)
                i += 1
            producer.poll(0)
            time.sleep(0.001)
        producer.flush(30)

    def poll() -> None:
        import redis

        client = redis.Redis.from_url(bench.redis_url)
        last: dict[str, int] = {}
        field = view.name
        while not stop_polling.is_set():
            t0 = time.time()
            pipe = client.pipeline(transaction=False)
            for key in sampled:
                pipe.hget(key, field)
            blobs = pipe.execute()
            t1 = time.time()
            poll_durations.append(t1 - t0)
            for key, blob in zip(sampled, blobs, strict=True):
                if blob is None:
                    continue
                end = event_time_of(blob)
                if last.get(key) != end:
                    last[key] = end
                    observations.append((end, (t0 + t1) / 2))
            stop_polling.wait(max(0.0, poll_s - (time.time() - t0)))
        client.close()

    with bench.workers(topic, "latency", 1, commit_interval=commit_interval, gated=True, project=project
                       ) as (slots, finish, release):
        slot = slots[0]
        deadline = time.monotonic() + 90
        while slot[EVENTS] < 1:  # the gate: the worker has joined its group and consumes
            if time.monotonic() > deadline:
                raise RuntimeError("the latency worker consumed nothing within 90 s")
            produce(bench.broker, topic, [warmup_record(0, int(time.time() * 1000) - 5000)])
            wait_until(lambda: slot[EVENTS] >= 1, 1.0)
        slot[BASE] = slot[EVENTS]
        release()  # no hold here: the latency is measured at the log's tail
        tail_flags = bench.ctx.RawArray("i", 2)
        tail_results = bench.ctx.Queue()
        tail = bench.ctx.Process(target=tail_floor_process, args=(
            {"kafka": bench.kafka, "topic": topic, "group": bench.name("tail")}, tail_flags, tail_results))
        tail.start()
        if not wait_until(lambda: bool(tail_flags[RELEASE]), 60):
            log("  the tail consumer did not start within 60 s")
        time.sleep(0.5)  # its warm-ups read
        poller = threading.Thread(target=poll, daemon=True)
        producer = threading.Thread(target=produce_steadily, daemon=True)
        poller.start()
        cpu = MachineCPU(bench.broker_pid)
        cpu.start()
        worker_cpu = slot[CPU_LAST]
        began = time.time()
        producer.start()
        producer.join()
        produce_s = time.time() - began
        machine = {"worker_cores": round((slot[CPU_LAST] - worker_cpu) / produce_s, 2), **cpu.stop()}
        lag_at_end = len(produced_at) - int(slot[EVENTS] - slot[BASE])
        caught_up = wait_until(lambda: slot[EVENTS] - slot[BASE] >= len(produced_at), 120)
        drain_s = time.time() - began - produce_s
        time.sleep(commit_interval + 1.0)  # the last checkpoint's writes
        stop_polling.set()
        poller.join(10)
        tail_flags[STOP] = 1
        transit = tail_results.get(timeout=60)
        tail.join(30)
        summary = finish()[0]

    running_max = list(np.maximum.accumulate(np.asarray(event_ms, dtype=np.int64)).tolist())
    latencies: list[float] = []
    steady: list[float] = []  # windows the watermark passed while the stream was steady (see STEADY_AFTER_S)
    steady_until = produce_s - commit_interval - STEADY_TAIL_S
    worst: dict[int, float] = {}  # per window end: the last sampled key to show it
    for end_us, seen in observations:
        i = bisect.bisect_left(running_max, end_us / 1000 + lateness_ms)
        if 0 < i < len(running_max):  # else: passed before this run's events (warm-up) or never passed
            latencies.append(seen - produced_at[i])
            worst[end_us] = max(worst.get(end_us, 0.0), latencies[-1])
            if STEADY_AFTER_S <= produced_at[i] - began <= steady_until:
                steady.append(latencies[-1])
    slowest = sorted(worst.items(), key=lambda kv: -kv[1])[:3]
    log("  slowest window ends: " + ", ".join(
        f"{delay * 1000:.0f} ms at {bisect_time(running_max, produced_at, end_us, lateness_ms) - began:.1f} s"
        for end_us, delay in slowest))
    counts = summary["counts"]
    return {
        "commit_interval_s": commit_interval,
        "produced": len(produced_at), "produced_per_s": round(len(produced_at) / produce_s),
        "watermark_to_readable": pct(latencies),
        "watermark_to_readable_steady": {"from_s": STEADY_AFTER_S, "until_s": round(steady_until, 1),
                                         **pct(steady)},
        "floor_kafka_produce_to_consume": transit,
        # every key's window ending at E closes at one watermark and is written at one checkpoint, so the
        # samples above come in clusters, one per window end: the worst key per end is the figure to trust
        "window_ends": len(worst), "worst_key_per_window_end": pct(list(worst.values())),
        "consumer_lag_at_end_of_producing": lag_at_end, "while_producing": machine,
        "caught_up_s_after_producing": round(drain_s, 2) if caught_up else None,
        "poll": {"keys": len(sampled), "interval_ms": round(poll_s * 1000), **{
            f"{k}_duration": v for k, v in pct(poll_durations).items() if k != "samples"}},
        "late_or_dead": counts.get("dead_letters", 0), "windows_emitted": counts.get("windows_emitted", 0),
        "values_written": counts.get("values_written", 0),
    }


def bisect_time(running_max: Sequence[int], produced_at: Sequence[float], end_us: int, lateness_ms: float) -> float:
    """When the watermark passed ``end_us``: the produce time of the first event at or after end + lateness."""
    i = bisect.bisect_left(running_max, end_us / 1000 + lateness_ms)
    return produced_at[min(i, len(produced_at) - 1)]


def where_time_goes(raw: dict[str, Any], quix: dict[str, Any], worker: dict[str, Any]) -> dict[str, Any]:
    """Per-event microseconds, split by the floors: Kafka + JSON, what quix adds, what the worker's step adds."""
    out = {}
    for label, key in (("per_event_us", "events_per_s"), ("per_event_cpu_us", "events_per_cpu_s")):
        if not all(key in figures for figures in (raw, quix, worker)):
            continue
        raw_us, quix_us, worker_us = (1e6 / figures[key] for figures in (raw, quix, worker))
        out[label] = {"kafka_consume_and_json": round(raw_us, 2),
                      "quix_application_over_raw": round(quix_us - raw_us, 2),
                      "aquifer_step_state_and_sink_over_quix": round(worker_us - quix_us, 2),
                      "worker_total": round(worker_us, 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=5000.0, help="latency: steady events/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency: seconds of steady production")
    parser.add_argument("--latency-keys", type=int, default=1000, help="latency: users (5 events/s each at 5k/s)")
    parser.add_argument("--sample", type=int, default=200, help="latency: users polled in Redis")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="latency: Redis poll interval")
    parser.add_argument("--commit-intervals", default="5.0,1.0", help="latency: worker commit intervals (s)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20k events, 2k keys, 5 s latency runs")
    parser.add_argument("--profile", action="store_true", help=f"cProfile one worker over {PROFILE_EVENTS:,} events")
    parser.add_argument("--skip", default="", help="comma list of phases to skip: pair, latency")
    parser.add_argument("--one-record-batches", action="store_true",
                        help="workers produce (changelogs) with LocalBroker's one-record batches (Tansu-safe, slow)")
    parser.add_argument("--bootstrap", help="host:port of a running Kafka (default: start a Tansu LocalBroker)")
    parser.add_argument("--redis-db", type=int, default=13)
    args = parser.parse_args()
    if args.quick:
        args.events, args.keys, args.seconds = 20_000, 2_000, 5.0
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    intervals = [float(c) for c in args.commit_intervals.split(",") if c.strip()]
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    began = time.monotonic()

    with contextlib.ExitStack() as stack:
        if args.bootstrap:
            broker: Broker = Broker(args.bootstrap)
            broker.wait_ready()
        else:
            log("starting a Tansu broker")
            broker = stack.enter_context(LocalBroker())
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aquifer-bench-stream-")))
        bench = Bench(broker, redis_url, root, own_broker=not args.bootstrap,
                      one_record_batches=args.one_record_batches)
        stack.callback(bench.cleanup)

        records, base_ms = make_records(args.events, args.keys)
        topic = bench.topic("events")
        log(f"producing {args.events:,} events over {args.keys:,} keys to {topic}")
        produce_s = produce(broker, topic, records)
        results: dict[str, Any] = {"config": {
            "events": args.events, "keys": args.keys, "broker": "external" if args.bootstrap else "tansu (LocalBroker)",
            "cpu_cores": os.cpu_count(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
            "view": {"aggregations": [f"{a.function} {type(a.window).__name__}" for a in
                                      bench_view(topic, "throughput").aggregations],
                     "throughput_unit": "5m", "latency_unit": "1s"},
            "produce_s": round(produce_s, 2),
            "worker_kafka_conf": bench.kafka.get("conf", {}), "code": code_version(),
        }}
        results["floors"] = bench.floors(topic, args.events)
        raw, quix = results["floors"]["raw_confluent_kafka_json"], results["floors"]["quix_decode_count"]

        log(f"one worker over {args.events:,} events")
        one = bench.one_worker(topic, args.events)
        one["ratio_to_quix_floor"] = round(one["events_per_s"] / quix["events_per_s"], 3)
        one["ratio_to_raw_floor"] = round(one["events_per_s"] / raw["events_per_s"], 3)
        if "events_per_cpu_s" in one and "events_per_cpu_s" in quix:
            one["ratio_to_quix_floor_per_cpu_s"] = round(one["events_per_cpu_s"] / quix["events_per_cpu_s"], 3)
        results["one_worker"] = one
        log(f"  {one['events_per_s']:,} events/s, {one['ratio_to_quix_floor']:.0%} of the quix floor")
        results["where_time_goes"] = where_time_goes(raw, quix, one)

        if "pair" not in skip:
            log("two workers, one group, two partitions")
            results["two_workers"] = bench.two_workers(records, base_ms, one)
            log(f"  {results['two_workers']['events_per_s']:,} events/s, "
                f"x{results['two_workers']['ratio_to_one_worker']} one worker")

        if "latency" not in skip:
            results["latency"] = {"definition": (
                "wall-clock time from the watermark passing a window end E (the produce time of the first event "
                "with event time >= E + allowed_lateness) to a poll seeing E as a sampled key's vector event_ts "
                "in Redis; one worker, event time = wall clock, 1 s windows, 500 ms lateness. The worker writes "
                "online vectors at its checkpoints, so it is about consumer lag + a wait of 0..commit_interval "
                "for the next checkpoint + the write; samples cluster by window end (worst_key_per_window_end). "
                "steady: windows passed from 2 s after the start to commit_interval + 0.5 s before the producer "
                "stopped (once the stream stops, the last windows also wait for quix's 1 s consumer poll)")}
            for interval in intervals:
                log(f"latency at {args.rate:,.0f} events/s for {args.seconds:.0f} s, commit_interval {interval} s")
                figures = measure_latency(bench, interval, args.rate, args.seconds, args.latency_keys, args.sample,
                                          args.poll_ms / 1000)
                results["latency"][f"commit_interval_{interval}s"] = figures
                log(f"  {figures['watermark_to_readable']}")

        if args.profile:
            n = min(PROFILE_EVENTS, args.events)
            log(f"profiling one worker over {n:,} events")
            profiled = bench.one_worker(topic, n, profile=True)
            results["where_time_goes"]["profile"] = {"events": n, "events_per_s_under_cprofile": profiled[
                "events_per_s"], **profiled["profile"]}

        targets: dict[str, Any] = {"one_worker_ge_25pct_of_quix_floor": one["ratio_to_quix_floor"] >= 0.25}
        if "two_workers" in results:
            targets["two_workers_ge_1.6x_one_worker"] = results["two_workers"]["ratio_to_one_worker"] >= 1.6
        for key, figures in results.get("latency", {}).items():
            if key.startswith("commit_interval_") and "p99_ms" in figures["watermark_to_readable_steady"]:
                targets[f"latency_p99_le_1s_steady_{key}"] = figures["watermark_to_readable_steady"]["p99_ms"] <= 1000
        results["targets_met"] = targets
        results["config"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        results["config"]["bench_s"] = round(time.monotonic() - began)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
