"""Alerts and where they go: a tiny ``AlertSink`` protocol shared by freshness (and, later, quality) checks.

A sink gets an ``Alert`` and delivers it somewhere; a sink that fails must not break the caller, so
``send_all`` logs and swallows sink errors. Sinks: ``LogSink`` (Python logging), ``WebhookSink`` (POST
JSON), ``RegistrySink`` (``registry.add_alert``, so alerts show in the catalog and API).
"""

from __future__ import annotations

import logging
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
