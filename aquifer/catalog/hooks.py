"""The hook interface and ``Hooks``, which calls every configured hook and contains their failures.

A hook is any object with ``name``, ``on_apply(ApplyNotice)`` and ``on_run(RunNotice)``. ``Hooks`` calls
each in turn; an exception is logged (with the hook's name and the event) and counted in
``Hooks.failures`` and the Prometheus counter ``aquifer_catalog_hook_failures_total`` — never raised, so a
catalog that is down cannot fail a run or an apply.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from aquifer.catalog.notices import ApplyNotice, RunNotice

log = logging.getLogger("aquifer.catalog")


@runtime_checkable
class CatalogHook(Protocol):
    """Told of every apply and of each view's run start, completion and failure."""

    name: str

    def on_apply(self, notice: ApplyNotice) -> None:
        """The registry now holds ``notice.version`` of the project."""

    def on_run(self, notice: RunNotice) -> None:
        """A view's run changed state (``notice.state``: START, COMPLETE or FAIL)."""


def _prometheus_counter() -> Any:
    try:
        from prometheus_client import REGISTRY
        from prometheus_client import Counter as PromCounter
    except ImportError:  # pragma: no cover - prometheus_client is a dependency of the server
        return None
    existing = REGISTRY._names_to_collectors.get("aquifer_catalog_hook_failures")
    if existing is not None:
        return existing
    return PromCounter("aquifer_catalog_hook_failures", "Catalog hook calls that failed (logged, never raised)",
                       ["hook", "event"])


_FAILURES = _prometheus_counter()


class Hooks:
    """Every configured hook, called in order; failures are logged and counted, never raised."""

    def __init__(self, hooks: Iterable[CatalogHook] = ()):
        self.hooks = list(hooks)
        self.failures: Counter[tuple[str, str]] = Counter()
        """``(hook name, event)`` -> failed calls in this process (``event``: ``apply`` or ``run``)."""
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def applied(self, notice: ApplyNotice) -> None:
        """Tell every hook of an apply."""
        for hook in self.hooks:
            self._call(hook, "apply", hook.on_apply, notice)

    def run(self, notice: RunNotice) -> None:
        """Tell every hook of a run's change of state."""
        for hook in self.hooks:
            self._call(hook, "run", hook.on_run, notice)

    def _call(self, hook: CatalogHook, event: str, method: Any, notice: Any) -> None:
        try:
            method(notice)
        except Exception as exc:  # a catalog's failure is reported, never the run's
            with self._lock:
                self.failures[(hook.name, event)] += 1
            if _FAILURES is not None:
                _FAILURES.labels(hook.name, event).inc()
            log.warning("catalog hook %s failed on %s (%s): %s", hook.name, event, _what(notice),
                        f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Close hooks that hold resources (open clients)."""
        for hook in self.hooks:
            close = getattr(hook, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:  # closing is best effort
                    log.warning("catalog hook %s failed to close: %s", hook.name, exc)


def _what(notice: Any) -> str:
    if isinstance(notice, RunNotice):
        return f"{notice.state} of {notice.kind} run of {notice.view!r}"
    return f"version {getattr(notice, 'version', '?')}"


def build_hooks(catalog: dict[str, Any], *, root: Any = None) -> Hooks:
    """The hooks of ``aquifer.yaml``'s ``catalog`` section (validated by ``aquifer.config``); relative file paths
    are taken relative to ``root`` (the repo)."""
    from pathlib import Path

    built: list[CatalogHook] = []
    for i, spec in enumerate(catalog.get("hooks") or []):
        spec = dict(spec)
        kind = spec.pop("type")
        name = str(spec.pop("name", f"{kind}#{i}"))
        if spec.get("path") and root is not None and not Path(spec["path"]).is_absolute():
            spec["path"] = str(Path(root) / spec["path"])
        if kind == "openlineage":
            from aquifer.catalog.openlineage import OpenLineageHook

            built.append(OpenLineageHook(name, **spec))
        elif kind == "datahub":
            from aquifer.catalog.datahub import DataHubHook

            built.append(DataHubHook(name, **spec))
        elif kind == "webhook":
            from aquifer.catalog.webhook import WebhookHook

            built.append(WebhookHook(name, **spec))
        else:
            raise ValueError(f"catalog.hooks[{i}]: unknown hook type {kind!r} (openlineage, datahub, webhook)")
    return Hooks(built)
