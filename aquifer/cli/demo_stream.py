"""The demo's streaming act: transactions replayed into Kafka, ``aquifer stream`` computing windows, values online.

``StreamAct`` holds what the act's steps share: the broker (the one ``aquifer.yaml`` names when it answers,
else a Tansu ``LocalBroker`` on a free loopback port, whose client settings are written into the demo repo's
``aquifer.yaml`` for the act and taken out again at its end), the ``aquifer stream`` subprocess and what was
produced. Its steps, in order:

1. ``broker``: pick or start the broker; create the view's topic and its dead-letter topic when missing;
2. ``start_worker``: ``aquifer stream VIEW`` in the background (SIGTERM stops it cleanly);
3. ``wave_one``: transactions of three users the example data has never seen over the two hours before the last
   full hour (``hour_before``), plus one malformed payload; wait until the worker has committed past them;
   ``aquifer get``;
4. ``wave_two``: transactions up to the last minute, plus one event too late for its (closed) hour; wait;
   ``aquifer get``; what changed (the closed hours' counts are 2, 3, 4 after wave 1 and 6, 7, 8 after wave 2);
5. ``stop``: SIGTERM the worker (its summary line), count the dead-letter topic's records by reason.

``close()`` (always called) kills a worker still running, stops an own broker and restores ``aquifer.yaml``.
The worker is used only through its command line: the act waits on the consumer group's committed offsets
(a committed offset means the windows it closed were written online first).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aquifer.cli.common import CommandFailed, console

VIEW = "user_txn_windows"
USERS = 3
WAIT_S = 60.0
"""How long a wave may take to be consumed before the demo gives up (it takes a few seconds)."""


def _aquifer_command() -> list[str]:
    """How to run ``aquifer`` in a subprocess: the console script next to this Python, else on PATH."""
    script = Path(sys.executable).with_name("aquifer")
    if script.is_file():
        return [str(script)]
    found = shutil.which("aquifer")
    return [found] if found else [sys.executable, "-c", "from aquifer.cli import main; main()"]


def _answers(section: dict[str, Any], timeout: float = 5.0) -> bool:
    """True when the ``kafka:`` section's first bootstrap server accepts TCP and answers a metadata request."""
    from aquifer.engines.stream import kafka_client_config
    from aquifer.stream_broker import Broker, BrokerError

    first = str(section.get("bootstrap_servers") or "").split(",")[0].strip()
    host, _, port = first.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.5).close()
    except (OSError, ValueError):
        return False
    try:
        Broker(first, admin_conf=kafka_client_config(section, "admin")).wait_ready(timeout)
    except BrokerError:
        return False
    return True


def transactions(spans: Sequence[tuple[int, datetime, datetime, int]], rng: random.Random) -> list[dict[str, Any]]:
    """For each ``(user, start, end, n)``, ``n`` card transactions at random times in ``[start, end)``; all of
    them in time order, as JSON events (amounts, merchants and countries as the quickstart's ``generate_data.py``).
    """
    events = [
        {"user_id": user, "merchant_id": rng.randint(1, 50), "amount": round(rng.lognormvariate(3.5, 1.2), 2),
         "country": rng.choice(["US", "US", "US", "GB", "DE", "BR"]),
         "event_ts": start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))}
        for user, start, end, n in spans for _ in range(n)
    ]
    events.sort(key=lambda e: e["event_ts"])
    return [{**e, "event_ts": e["event_ts"].isoformat(timespec="seconds")} for e in events]


def hour_before(now: datetime) -> datetime:
    """The act's pivot: the last full hour at least 11 minutes before ``now``.

    The watermark is 10 minutes (the view's allowed lateness) behind the newest event. Wave 1 ends 20 minutes
    before the pivot: the hour before it closes, the pivot's own hour does not. Wave 2 ends in the last minute,
    10 minutes or more after the pivot: the pivot's hour closes too, and the watermark still lags the newest
    window end by at most about 25 minutes (fresh: the view's freshness is 30 minutes).
    """
    return (now - timedelta(minutes=11)).replace(minute=0, second=0, microsecond=0)


class _Worker:
    """An ``aquifer stream`` subprocess whose output lines are collected by reader threads."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=_wide_env())
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def group(self, timeout: float = WAIT_S) -> str:
        """The consumer group the worker printed (``streaming VIEW (group NAME); ...``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"\(group\s+(\S+?)\)", " ".join(self.out))
            if found:
                return found.group(1)
            self.check()
            time.sleep(0.05)
        raise CommandFailed(f"'aquifer stream' named no consumer group within {timeout:.0f}s{self.tail()}")

    def check(self) -> None:
        """``CommandFailed`` with the worker's output when it has exited."""
        if self.process.poll() is not None:
            for reader in self._readers:
                reader.join(5)
            raise CommandFailed(f"'aquifer stream' exited with code {self.process.returncode}{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        """The last lines of the worker's output, for an error message."""
        shown = (self.out + self.err)[-lines:]
        return (":\n" + "\n".join(shown)) if shown else ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait (SIGKILL after ``timeout`` seconds); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return int(self.process.returncode)


def _shown(value: Any) -> str:
    """A value as the change lines print it: floats to two decimals."""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _wide_env() -> dict[str, str]:
    """This process's environment with a wide terminal, so the worker's lines are not wrapped."""
    return {**os.environ, "COLUMNS": "240"}


class StreamAct:
    """The streaming act of ``aquifer demo`` (see the module docstring); ``invoke`` runs an aquifer command."""

    def __init__(self, directory: Path, invoke: Callable[[list[str]], None]) -> None:
        self.directory = directory
        self.repo = str(directory)
        self.invoke = invoke
        self.ready = False
        """True once the broker is there: the later steps run only then."""
        self.section: dict[str, Any] = {}
        self.topic = ""
        self.dead_topic = ""
        self.local: Any = None  # the LocalBroker this act started, if any
        self.worker: _Worker | None = None
        self.group = ""
        self.users: list[int] = []
        self.ends: dict[int, int] = {}
        self.dead_start: dict[int, int] = {}
        self.values: dict[int, dict[str, Any]] = {}
        self.changed: dict[int, list[str]] = {}
        self.dead_letters: Counter[str] = Counter()
        self.summary = ""
        self._config_text: str | None = None
        self._consumer: Any = None
        self._rng = random.Random(13)
        self.pivot = datetime.now(UTC)
        self._started = time.perf_counter()

    # -- step 1 -------------------------------------------------------------------------------------------
    def broker(self, _directory: Path) -> None:
        """The configured broker when it answers, else a Tansu one; the view's topics; ``ready`` when done."""
        from aquifer.definitions import AggregationView, KafkaSource
        from aquifer.engines.stream import kafka_client_config
        from aquifer.sdk.store import FeatureStore
        from aquifer.stream_broker import PACKAGE, Broker, BrokerError, LocalBroker, tansu_binary

        self._started = time.perf_counter()
        store = FeatureStore(self.directory)
        view = store.views[VIEW]
        if not isinstance(view, AggregationView) or not isinstance(view.source, KafkaSource):
            raise CommandFailed(f"the demo repo's {VIEW!r} is not an aggregation view over a KafkaSource")
        self.topic, self.dead_topic = view.source.topic, f"{view.source.topic}.dead-letter"
        configured = dict(store.config.kafka)
        if _answers(configured):
            console.print(f"using the Kafka broker aquifer.yaml names: {configured['bootstrap_servers']}")
            self.section = configured
            broker = Broker(str(configured["bootstrap_servers"]), admin_conf=kafka_client_config(configured, "admin"))
        else:
            try:
                tansu_binary()
            except BrokerError as exc:
                console.print(f"[yellow]skipping the streaming act:[/yellow] no Kafka answers at "
                              f"{configured.get('bootstrap_servers')} and {PACKAGE} (the local Tansu broker) is "
                              f"not installed ({exc})")
                return
            self.local = broker = LocalBroker().start()
            self.section = broker.kafka_section()
            console.print(f"no Kafka at {configured.get('bootstrap_servers')}: started a local Tansu broker on "
                          f"{broker.bootstrap_servers} (in memory) in {time.perf_counter() - self._started:.1f}s",
                          highlight=False)
            self._use_kafka(self.section)
        existing = broker.admin().list_topics(timeout=15).topics
        for name in (self.topic, self.dead_topic):
            if name in existing:
                console.print(f"topic {name} is there")
            else:
                broker.create_topic(name)
                console.print(f"created topic {name}")
        self.dead_start = self._ends(self.dead_topic)
        self.ready = True

    def _use_kafka(self, section: dict[str, Any]) -> None:
        """Point the demo repo's ``aquifer.yaml`` at ``section`` (as one JSON-flow line) until ``close()``."""
        config = self.directory / "aquifer.yaml"
        self._config_text = text = config.read_text()
        line = f"kafka: {json.dumps(section)}"
        lines = [x for x in text.splitlines() if not x.startswith("kafka:")]
        config.write_text("\n".join([*lines, line]) + "\n")
        console.print(f"aquifer.yaml, for this act: {line}", highlight=False, markup=False)

    # -- step 2 -------------------------------------------------------------------------------------------
    def start_worker(self, _directory: Path) -> None:
        """``aquifer stream VIEW`` in the background, until ``stop``."""
        args = ["stream", VIEW, "-r", self.repo]
        console.print(f"[dim]$ aquifer {' '.join(args)} &[/dim]")
        self.worker = _Worker([*_aquifer_command(), *args])
        self.group = self.worker.group()
        for line in self.worker.out:
            console.print(f"  {line}", highlight=False, markup=False)

    # -- steps 3 and 4 ------------------------------------------------------------------------------------
    def wave_one(self, _directory: Path) -> None:
        """Transactions over the two hours before the pivot hour (up to 20 minutes before it), one malformed."""
        users = self._new_users()
        self.pivot = hour_before(datetime.now(UTC))
        spans = [span for i, user in enumerate(users)  # 2, 3, 4 in the hour that closes; 2 each after it
                 for span in ((user, self._at(-120), self._at(-60), 2 + i), (user, self._at(-50), self._at(-20), 2))]
        broken = b'{"user_id": %d, "amount": 12.5, "event_ts": "' % users[0]  # cut off mid-message
        self._replay(transactions(spans, self._rng), [(str(users[0]).encode(), broken,
                                                       "a malformed payload (cut-off JSON)")])
        self._lookup("after wave 1")

    def wave_two(self, _directory: Path) -> None:
        """Transactions up to the last minute (the pivot hour closes), and one event too late for its window."""
        # the pivot hour now holds 6, 7, 8; then one each in the last minute, at least 10 minutes after the pivot
        # (its hour closes) and before the next hour's end is within 10 minutes (that one stays open)
        last = min(datetime.now(UTC) - timedelta(seconds=30), self._at(69.5))
        spans = [span for i, user in enumerate(self.users)
                 for span in ((user, self._at(-15), self._at(0), 4 + i),
                              (user, max(self._at(10), last - timedelta(minutes=1)), last, 1))]
        late = {"user_id": self.users[0], "merchant_id": 7, "amount": 999.0, "country": "US",
                "event_ts": self._at(-90).isoformat(timespec="seconds")}
        self._replay(transactions(spans, self._rng), [
            (str(late["user_id"]).encode(), json.dumps(late).encode(),
             f"a late event at {late['event_ts']} (its hour closed in wave 1)")])
        before = self.values
        self._lookup("after wave 2")
        for user in self.users:
            self.changed[user] = [
                f"{name} {_shown(before[user][name])} → {_shown(value)}" for name, value in self.values[user].items()
                if before.get(user, {}).get(name) != value
            ]
            console.print(f"user {user}: " + ("; ".join(self.changed[user]) or "no change"), highlight=False)
        moved = sum(1 for user in self.users if self.changed[user])
        console.print(f"[bold]values changed for {moved} of {len(self.users)} users[/bold]")
        waiting = [name for name in self.values[self.users[0]] if all(self.values[u][name] is None for u in self.users)]
        if waiting:
            console.print(f"still missing: {', '.join(waiting)} (the stream writes a window's value when the window "
                          "closes; none of theirs has yet)", highlight=False)

    def _at(self, minutes: float) -> datetime:
        """``minutes`` after the pivot hour."""
        return self.pivot + timedelta(minutes=minutes)

    def _new_users(self) -> list[int]:
        """``USERS`` user ids after the example data's largest (so every value they get comes from the stream)."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        ids = pq.read_table(self.directory / "data" / "transactions.parquet", columns=["user_id"])["user_id"]
        first = int(pc.max(ids).as_py() or 0) + 1
        self.users = list(range(first, first + USERS))
        return self.users

    def _replay(self, events: list[dict[str, Any]], extra: list[tuple[bytes, bytes, str]]) -> None:
        """Produce ``events`` (keyed by user) then ``extra`` payloads; wait until the worker committed past them."""
        from confluent_kafka import Producer

        from aquifer.engines.stream import kafka_client_config

        assert self.worker is not None
        producer = Producer(kafka_client_config(self.section, "producer"))
        errors: list[str] = []

        def delivered(err: Any, msg: Any) -> None:
            if err:
                errors.append(str(err))
            else:
                self.ends[msg.partition()] = max(self.ends.get(msg.partition(), 0), msg.offset() + 1)

        payloads = [(str(e["user_id"]).encode(), json.dumps(e).encode()) for e in events]
        payloads += [(key, value) for key, value, _ in extra]
        started = time.perf_counter()
        for key, value in payloads:
            producer.produce(self.topic, key=key, value=value, on_delivery=delivered)
            producer.poll(0)
        if producer.flush(30) or errors:
            raise CommandFailed(f"could not produce to {self.topic}: {errors or 'still queued after 30s'}")
        first, last = events[0]["event_ts"], events[-1]["event_ts"]
        console.print(f"produced {len(events)} transactions of users {', '.join(map(str, self.users))} "
                      f"({first} .. {last}) to {self.topic}", highlight=False)
        console.print(f"  e.g. {payloads[0][1].decode()}", highlight=False, markup=False)
        for _, _, what in extra:
            console.print(f"  and {what}", highlight=False, markup=False)
        self._wait_committed()
        console.print(f"the worker committed past them {time.perf_counter() - started:.1f}s after the first "
                      "was sent", highlight=False)

    def _wait_committed(self) -> None:
        """Return once the worker's group has committed every partition up to what was produced."""
        from confluent_kafka import Consumer, KafkaException, TopicPartition

        from aquifer.engines.stream import kafka_client_config

        assert self.worker is not None
        if self._consumer is None:
            self._consumer = Consumer({**kafka_client_config(self.section, "consumer"), "group.id": self.group,
                                       "enable.auto.commit": False})
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            self.worker.check()
            try:
                committed = self._consumer.committed([TopicPartition(self.topic, p) for p in self.ends], timeout=5)
            except KafkaException:
                committed = []
            if committed and all(tp.offset >= self.ends[tp.partition] for tp in committed):
                return
            time.sleep(0.2)
        raise CommandFailed(f"the worker did not consume the replay within {WAIT_S:.0f}s{self.worker.tail()}")

    def _lookup(self, when: str) -> None:
        """``aquifer get`` of the view for the act's users, and their values kept for the comparison."""
        from aquifer.sdk.store import FeatureStore

        store = FeatureStore(self.directory)
        refs = [f"{VIEW}:{name}" for name in store.views[VIEW].feature_names]
        entities = [arg for user in self.users for arg in ("--entity", f"user_id={user}")]
        args = ["get", ",".join(refs), "-r", self.repo, *entities]
        console.print(f"[dim]$ aquifer {' '.join(args)}[/dim]  [bold]({when})[/bold]")
        self.invoke(args)
        result = store.get_online_features(refs, [{"user_id": user} for user in self.users])
        self.values = {user: {name: result.values[name][i] for name in result.values}
                       for i, user in enumerate(self.users)}

    # -- step 5 -------------------------------------------------------------------------------------------
    def stop(self, _directory: Path) -> None:
        """SIGTERM the worker (it finishes, flushes and commits), show its summary and the dead letters."""
        assert self.worker is not None
        worker, self.worker = self.worker, None
        console.print(f"[dim]$ kill -TERM {worker.process.pid}   # the aquifer stream above[/dim]")
        code = worker.stop()
        for line in worker.out[1:]:
            console.print(f"  {line}", highlight=False, markup=False)
        self.summary = next((line for line in worker.out if line.startswith("stopped:")), "")
        if code != 0 or not self.summary:
            raise CommandFailed(f"'aquifer stream' did not stop cleanly (exit {code}){worker.tail()}")
        letters = self._read_dead_letters()
        self.dead_letters = Counter(letter.get("reason", "?") for letter in letters)
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.dead_letters.items()))
        console.print(f"[bold]dead letters in {self.dead_topic} by reason: {reasons or 'none'}[/bold]")
        for letter in letters:
            detail = str(letter.get("detail"))
            detail = detail if len(detail) <= 110 else detail[:109] + "…"
            console.print(f"  {letter.get('reason')} (offset {letter.get('offset')}): {detail}", highlight=False,
                          markup=False)
        self.close()
        console.print(f"the streaming act took {time.perf_counter() - self._started:.1f}s")

    def _ends(self, topic: str) -> dict[int, int]:
        """Each partition's end offset of ``topic`` right now."""
        from confluent_kafka import Consumer, TopicPartition

        from aquifer.engines.stream import kafka_client_config

        consumer = Consumer({**kafka_client_config(self.section, "consumer"), "group.id": "aquifer-demo-reader",
                             "enable.auto.commit": False})
        try:
            partitions = consumer.list_topics(topic, timeout=15).topics[topic].partitions
            return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        finally:
            consumer.close()

    def _read_dead_letters(self, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The dead-letter topic's records written since the act started, decoded."""
        from confluent_kafka import Consumer, TopicPartition

        from aquifer.engines.stream import kafka_client_config

        ends = self._ends(self.dead_topic)
        todo = {p: end for p, end in ends.items() if end > self.dead_start.get(p, 0)}
        if not todo:
            return []
        consumer = Consumer({**kafka_client_config(self.section, "consumer"), "group.id": "aquifer-demo-reader",
                             "enable.auto.commit": False})
        letters: list[dict[str, Any]] = []
        try:
            consumer.assign([TopicPartition(self.dead_topic, p, self.dead_start.get(p, 0)) for p in todo])
            deadline = time.monotonic() + timeout
            while todo and time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None or msg.error():
                    continue
                with contextlib.suppress(ValueError):
                    letters.append(json.loads(msg.value()))
                if msg.offset() + 1 >= todo.get(msg.partition(), 0):
                    todo.pop(msg.partition(), None)
        finally:
            consumer.close()
        return letters

    # -- always -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Kill a worker still running, stop an own broker, restore ``aquifer.yaml`` (safe to call twice)."""
        if self.worker is not None:
            worker, self.worker = self.worker, None
            worker.stop(10)
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            consumer.close()
        if self.local is not None:
            local, self.local = self.local, None
            local.stop()
            console.print(f"stopped the local broker {local.bootstrap_servers}")
        if self._config_text is not None:
            (self.directory / "aquifer.yaml").write_text(self._config_text)
            self._config_text = None
            console.print("aquifer.yaml: the kafka line is taken out again (that broker is gone)")
