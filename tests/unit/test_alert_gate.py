"""The alert gate: one alert per change of state, a recovery message, states kept in memory or in the registry
(surviving a new process), and the Slack-compatible webhook payload received by a real local HTTP server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from aquifer.alerts import (
    Alert,
    AlertGate,
    MemoryAlertStates,
    RegistryAlertStates,
    SlackWebhookSink,
    WebhookSink,
    alert_on_change,
    send_all,
)
from aquifer.registry import Registry


class ListSink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


def breach(subject: str = "user_stats:amount") -> Alert:
    return Alert("p", "drift", subject, "warning", f"{subject} drifted", {"psi": 0.4})


def test_alerts_once_per_change_with_a_recovery():
    sink = ListSink()
    gate = AlertGate([sink])
    assert gate.update(breach(), False) is None  # first look, fine: nothing
    assert gate.update(breach(), True) == breach()
    for _ in range(3):
        assert gate.update(breach(), True) is None  # still firing: nothing
    recovery = gate.update(breach(), False)
    assert recovery is not None and recovery.severity == "info" and recovery.message.startswith("recovered")
    assert (recovery.project, recovery.kind, recovery.subject) == ("p", "drift", "user_stats:amount")
    assert gate.update(breach(), False) is None
    assert alert_on_change(gate, breach(), True) is not None  # fires again after recovering
    assert [a.severity for a in sink.alerts] == ["warning", "info", "warning"]
    assert gate.state("p", "drift", "user_stats:amount") == "firing"


def test_keys_are_independent():
    sink = ListSink()
    gate = AlertGate([sink], MemoryAlertStates())
    gate.update(breach("a"), True)
    gate.update(breach("b"), True)
    gate.update(Alert("p", "staleness", "a", "warning", "old"), True)
    gate.update(Alert("q", "drift", "a", "warning", "other project"), True)
    assert len(sink.alerts) == 4
    gate.update(breach("a"), True)
    assert len(sink.alerts) == 4


def test_a_broken_sink_or_store_does_not_break_the_caller():
    class Broken:
        def send(self, alert: Alert) -> None:
            raise RuntimeError("down")

        def get(self, *key: str) -> str:
            raise RuntimeError("store down")

        def set(self, *args: object) -> None:
            raise RuntimeError("store down")

    sink = ListSink()
    gate = AlertGate([Broken(), sink], Broken())  # type: ignore[arg-type]
    assert gate.update(breach(), True) is not None  # sent anyway (better twice than never)
    assert len(sink.alerts) == 1


GATE_SCRIPT = """
import json, sys
from aquifer.alerts import Alert, AlertGate, RegistryAlertStates
from aquifer.registry import Registry

class Sink:
    sent = []
    def send(self, alert):
        self.sent.append(alert.severity)

registry = Registry(sys.argv[1])
sink = Sink()
gate = AlertGate([sink], RegistryAlertStates(registry))
for firing in json.loads(sys.argv[2]):
    gate.update(Alert("p", "drift", "v:f", "warning", "drifted"), firing)
print(json.dumps(sink.sent))
"""


def run_gate(url: str, states: list[bool]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", GATE_SCRIPT, url, json.dumps(states)], capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_registry_state_survives_a_new_process(tmp_path):
    url = f"sqlite:///{tmp_path}/registry.db"
    assert run_gate(url, [True, True]) == ["warning"]
    assert run_gate(url, [True]) == []  # a new process: still firing, no second alert
    assert run_gate(url, [False, False]) == ["info"]  # recovery once
    assert run_gate(url, [False]) == []
    with Registry(url) as registry:
        assert registry.alert_state("p", "drift", "v:f") == "ok"
        assert registry.alert_states("p") == {("drift", "v:f"): "ok"}
        with pytest.raises(ValueError):
            registry.set_alert_state("p", "drift", "v:f", "maybe")


@pytest.mark.postgres
def test_registry_states_on_postgres(postgres_url):
    import uuid

    schema = f"gate_{uuid.uuid4().hex[:8]}"
    registry = Registry(postgres_url, schema=schema)
    try:
        sink = ListSink()
        gate = AlertGate([sink], RegistryAlertStates(registry))
        gate.update(breach(), True)
        other = AlertGate([sink], RegistryAlertStates(Registry(postgres_url, schema=schema)))  # another handle
        assert other.update(breach(), True) is None
        assert other.update(breach(), False) is not None
        assert [a.severity for a in sink.alerts] == ["warning", "info"]
    finally:
        from sqlalchemy import text

        with registry.db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        registry.close()


class Receiver:
    """A real HTTP server on a loopback port recording each POST's JSON body."""

    def __init__(self) -> None:
        bodies: list[dict] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                bodies.append({"path": self.path, "type": self.headers["Content-Type"],
                               "json": json.loads(self.rfile.read(length))})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_slack_payload_reaches_a_real_server():
    with Receiver() as receiver:
        gate = AlertGate([SlackWebhookSink(receiver.url + "/slack"), WebhookSink(receiver.url + "/generic")])
        gate.update(breach(), True)
        gate.update(breach(), True)
        gate.update(breach(), False)
    slack = [b["json"] for b in receiver.bodies if b["path"] == "/slack"]
    generic = [b["json"] for b in receiver.bodies if b["path"] == "/generic"]
    assert len(slack) == 2 and len(generic) == 2  # breach + recovery, once each
    first, recovered = slack
    assert set(first) == {"text", "blocks"}
    assert "drift" in first["text"] and "user_stats:amount" in first["text"] and "drifted" in first["text"]
    assert all(block["type"] in ("section", "context") for block in first["blocks"])
    assert first["blocks"][0]["text"]["type"] == "mrkdwn" and "WARNING" in first["blocks"][0]["text"]["text"]
    assert first["blocks"][1]["text"]["text"] == "user_stats:amount drifted"
    assert "psi: 0.4" in first["blocks"][2]["elements"][0]["text"]
    assert "INFO" in recovered["blocks"][0]["text"]["text"] and "recovered" in recovered["text"]
    assert generic[0]["severity"] == "warning" and generic[1]["severity"] == "info"
    assert all(b["type"] == "application/json" for b in receiver.bodies)


def test_a_refusing_webhook_is_contained():
    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sink = ListSink()
        send_all([SlackWebhookSink(f"http://127.0.0.1:{server.server_address[1]}"), sink], breach())
        assert len(sink.alerts) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_run_failures_alert_once_until_a_range_is_recorded():
    from datetime import UTC, datetime

    from aquifer.engines.results import RangeResult
    from aquifer.runs.alerting import AlertListener
    from aquifer.runs.events import RangeFailed, RangeRecorded

    sink = ListSink()
    listener = AlertListener("p", [sink])
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    for _ in range(3):  # three runs failing the same way
        listener.on_event(RangeFailed("raw", "batch", start, end, "disk gone"))
    assert [(a.kind, a.subject, a.severity, a.message) for a in sink.alerts] == \
        [("run_failed", "raw", "error", "disk gone")]
    listener.on_event(RangeRecorded("raw", "batch", RangeResult(start, end)))
    listener.on_event(RangeRecorded("raw", "batch", RangeResult(start, end)))
    assert [a.severity for a in sink.alerts] == ["error", "info"] and "recovered" in sink.alerts[1].message
    listener.on_event(RangeFailed("other", "batch", start, end, "bad"))
    assert len(sink.alerts) == 3


def test_validation_results_through_the_gate():
    from aquifer.runs.alerting import alert_validation

    sink = ListSink()
    gate = AlertGate([sink])
    assert alert_validation(gate, "p", "v", True, "ok") is None
    sent = alert_validation(gate, "p", "v", False, "2 expectations failed", {"failed": ["a", "b"]})
    assert sent is not None and (sent.kind, sent.subject, sent.severity) == ("validation", "v", "error")
    assert alert_validation(gate, "p", "v", False, "2 expectations failed") is None
    assert alert_validation(gate, "p", "v", True, "passes").severity == "info"
    assert len(sink.alerts) == 2
