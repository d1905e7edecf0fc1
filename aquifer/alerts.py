"""Alerts and where they go: a tiny ``AlertSink`` protocol shared by freshness, run, drift and quality checks.

A sink gets an ``Alert`` and delivers it somewhere; a sink that fails must not break the caller, so
``send_all`` logs and swallows sink errors. Sinks: ``LogSink`` (Python logging), ``WebhookSink`` (POST
JSON), ``SlackWebhookSink`` (POST a Slack-compatible ``{"text", "blocks"}`` payload), ``RegistrySink``
(``registry.add_alert``, so alerts show in the catalog and API).

``AlertGate`` de-duplicates: checks call ``gate.update(alert, firing)`` on every evaluation, and the gate
sends only on a change of state — ``alert`` itself when ``(project, kind, subject)`` goes ok → firing, a
recovery (severity ``info``, message starting ``recovered:``) when it goes firing → ok, nothing while it
stays. States live in an ``AlertStateStore``: ``MemoryAlertStates`` (one process) or ``RegistryAlertStates``
(the registry's ``aq_alert_states``, shared by processes and kept across restarts). This module imports
nothing from aquifer: the registry is passed in and only its ``alert_state``/``set_alert_state`` are used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger("aquifer.alerts")


@dataclass(frozen=True)
class Alert:
    """One alert: ``kind`` (``staleness``, ``quality``, ...), the ``subject`` it is about (a view), and why."""

    project: str
    kind: str
    subject: str
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class AlertSink(Protocol):
    """Anything that can deliver an alert."""

    def send(self, alert: Alert) -> None:
        """Deliver one alert (may raise; ``send_all`` contains the failure)."""


class LogSink:
    """Writes alerts to the ``aquifer.alerts`` logger (warning, or error for ``critical``)."""

    def send(self, alert: Alert) -> None:
        """Log the alert."""
        level = logging.ERROR if alert.severity == "critical" else logging.WARNING
        log.log(level, "[%s] %s %s: %s", alert.project, alert.kind, alert.subject, alert.message)


class WebhookSink:
    """POSTs each alert as JSON to ``url`` (Slack/Teams-style incoming webhooks, PagerDuty bridges...)."""

    def __init__(self, url: str, *, timeout_s: float = 2.0, headers: dict[str, str] | None = None):
        self.url = url
        self.timeout_s = timeout_s
        self.headers = headers or {}

    def send(self, alert: Alert) -> None:
        """POST the alert; raises on a non-2xx answer."""
        import httpx

        response = httpx.post(self.url, json=asdict(alert), timeout=self.timeout_s, headers=self.headers)
        response.raise_for_status()


SEVERITY_EMOJI = {"info": ":white_check_mark:", "warning": ":warning:", "error": ":x:", "critical": ":rotating_light:"}


def slack_payload(alert: Alert) -> dict[str, Any]:
    """The Slack incoming-webhook body of ``alert``: ``text`` (the fallback line) and ``blocks``.

    Blocks: a header-like section with severity, kind and subject, the message, and a context line with the
    project and up to eight details (``key: value``).
    """
    icon = SEVERITY_EMOJI.get(alert.severity, ":bell:")
    title = f"{icon} *{alert.severity.upper()}* {alert.kind} `{alert.subject}`"
    text = f"[{alert.project}] {alert.severity} {alert.kind} {alert.subject}: {alert.message}"
    facts = [f"project: {alert.project}"] + [f"{k}: {v}" for k, v in list(alert.details.items())[:8]]
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": title}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:2900]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(facts)[:2900]}]},
        ],
    }


class SlackWebhookSink:
    """POSTs each alert to a Slack (or Mattermost, Rocket.Chat...) incoming webhook as ``slack_payload``."""

    def __init__(self, url: str, *, timeout_s: float = 2.0):
        self.url = url
        self.timeout_s = timeout_s

    def send(self, alert: Alert) -> None:
        """POST the payload; raises on a non-2xx answer."""
        import httpx

        response = httpx.post(self.url, json=slack_payload(alert), timeout=self.timeout_s)
        response.raise_for_status()


class RegistrySink:
    """Records alerts in the registry (``add_alert``), where the API and UI list them."""

    def __init__(self, registry: Any):
        self.registry = registry

    def send(self, alert: Alert) -> None:
        """Append the alert to the registry."""
        self.registry.add_alert(
            alert.project, alert.kind, alert.subject, alert.severity, alert.message, details=alert.details
        )


def send_all(sinks: Iterable[AlertSink], alert: Alert) -> None:
    """Deliver ``alert`` to every sink; one failing sink is logged and does not stop the others."""
    for sink in sinks:
        try:
            sink.send(alert)
        except Exception as exc:  # a broken sink must never break serving or a run
            log.error("alert sink %s failed: %s", type(sink).__name__, exc)


# ---- de-duplication: one alert per change of state ------------------------------------------------------

FIRING = "firing"
OK = "ok"


@runtime_checkable
class AlertStateStore(Protocol):
    """Where ``AlertGate`` keeps the last state (``firing`` / ``ok``) of each ``(project, kind, subject)``."""

    def get(self, project: str, kind: str, subject: str) -> str | None:
        """The last state recorded, or None when never recorded."""

    def set(self, project: str, kind: str, subject: str, state: str, details: dict[str, Any] | None = None) -> None:
        """Record ``state`` (with the alert's details)."""


class MemoryAlertStates:
    """Alert states in this process only (lost at exit: a restarted process alerts once more)."""

    def __init__(self) -> None:
        self._states: dict[tuple[str, str, str], str] = {}

    def get(self, project: str, kind: str, subject: str) -> str | None:
        """The last state recorded in this process."""
        return self._states.get((project, kind, subject))

    def set(self, project: str, kind: str, subject: str, state: str, details: dict[str, Any] | None = None) -> None:
        """Record the state."""
        self._states[(project, kind, subject)] = state


class RegistryAlertStates:
    """Alert states in the registry's ``aq_alert_states`` (shared by every process using that registry).

    ``registry`` is an ``aquifer.registry.Registry`` (anything with ``alert_state(project, kind, subject)``
    and ``set_alert_state(project, kind, subject, state, details)``).
    """

    def __init__(self, registry: Any):
        self.registry = registry

    def get(self, project: str, kind: str, subject: str) -> str | None:
        """The stored state."""
        return self.registry.alert_state(project, kind, subject)

    def set(self, project: str, kind: str, subject: str, state: str, details: dict[str, Any] | None = None) -> None:
        """Store the state."""
        self.registry.set_alert_state(project, kind, subject, state, details)


class AlertGate:
    """Sends an alert once per change of state (see the module docstring); thread-safe within a process.

    Every check that alerts routes through one: freshness (``staleness``), run failures (``run_failed``), drift
    (``drift``) and validation (``validation``: call ``gate.update(Alert(project, "validation", view, "error",
    message, details), firing=not success)`` after each validation of ``view``).
    """

    def __init__(self, sinks: Iterable[AlertSink], store: AlertStateStore | None = None):
        self.sinks = list(sinks)
        self.store: AlertStateStore = store if store is not None else MemoryAlertStates()
        self._lock = threading.Lock()

    def update(self, alert: Alert, firing: bool) -> Alert | None:
        """Record this evaluation of ``alert``'s ``(project, kind, subject)``; returns what was sent, if anything.

        ``firing`` True and the last state not ``firing``: ``alert`` is sent. ``firing`` False and the last
        state ``firing``: a recovery alert is sent (``recovery_alert``). Otherwise nothing is sent. A state
        store that fails is logged and the alert is sent anyway (better twice than never).
        """
        key = (alert.project, alert.kind, alert.subject)
        with self._lock:
            try:
                previous = self.store.get(*key)
            except Exception as exc:
                log.error("alert state store %s failed: %s", type(self.store).__name__, exc)
                previous = None
            new = FIRING if firing else OK
            if previous == new or (previous is None and not firing):
                if previous is None:
                    self._set(key, new, alert.details)
                return None
            sent = alert if firing else recovery_alert(alert)
            self._set(key, new, alert.details)
        send_all(self.sinks, sent)
        return sent

    def state(self, project: str, kind: str, subject: str) -> str | None:
        """The last recorded state of one key."""
        return self.store.get(project, kind, subject)

    def _set(self, key: tuple[str, str, str], state: str, details: dict[str, Any]) -> None:
        try:
            self.store.set(*key, state, details)
        except Exception as exc:
            log.error("alert state store %s failed: %s", type(self.store).__name__, exc)


def recovery_alert(alert: Alert) -> Alert:
    """The ``info`` alert saying ``alert``'s subject recovered (``message``: ``recovered: ...``)."""
    return Alert(alert.project, alert.kind, alert.subject, "info",
                 f"recovered: {alert.kind} {alert.subject!r} is back to normal", {**alert.details, "recovered": True})


def alert_on_change(gate: AlertGate, alert: Alert, firing: bool) -> Alert | None:
    """``gate.update(alert, firing)``: send ``alert`` on ok → firing, a recovery on firing → ok, else nothing."""
    return gate.update(alert, firing)
