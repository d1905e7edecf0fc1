"""Text helpers the templates use as Jinja filters: durations, times, numbers, links to pages."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aquifer.ui.svg import KIND_STYLE, OTHER_STYLE, number

VIEW_KINDS = ("feature_view", "aggregation_view")
SOURCE_KINDS = ("batch_source", "kafka_source")


def duration(seconds: Any) -> str:
    """``5400`` -> ``1 h 30 min``; ``None`` -> ``—``."""
    if seconds is None:
        return "—"
    s = float(seconds)
    if not math.isfinite(s):
        return str(seconds)
    sign, s = ("-" if s < 0 else ""), abs(s)
    if s < 1:
        return f"{sign}{s * 1000:.0f} ms"
    if s < 60:
        return f"{sign}{s:.1f} s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            parts.append(f"{int(s // size)} {unit}")
            s %= size
        if len(parts) == 2:
            break
    return sign + " ".join(parts)


def when(value: datetime | None) -> str:
    """A time in UTC to the second, ``—`` for None."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def day(value: datetime | None) -> str:
    """A time in UTC to the minute (midnight shown as the date alone)."""
    if value is None:
        return "—"
    value = value.astimezone(UTC) if value.tzinfo else value
    return value.strftime("%Y-%m-%d" if (value.hour, value.minute, value.second) == (0, 0, 0) else "%Y-%m-%d %H:%M")


def percent(value: Any) -> str:
    """``0.123`` -> ``12.3%``."""
    return "—" if value is None else f"{float(value):.1%}"


def kind_label(kind: str) -> str:
    """``feature_view`` -> ``feature view``."""
    return KIND_STYLE.get(kind, OTHER_STYLE)[0] if kind in KIND_STYLE else kind.replace("_", " ")


class Links:
    """URLs of the UI's pages under ``prefix`` (names quoted whole)."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def home(self) -> str:
        """The home page."""
        return f"{self.prefix}/"

    def view(self, name: str) -> str:
        """A view's page."""
        return f"{self.prefix}/views/{quote(name, safe='')}"

    def lineage(self, name: str, kind: str | None = None, **params: Any) -> str:
        """A node's lineage page (``kind`` when names of several kinds collide)."""
        query = {"kind": kind, **params}
        text = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items() if v is not None)
        return f"{self.prefix}/lineage/{quote(name, safe='')}" + (f"?{text}" if text else "")

    def entity(self, name: str) -> str:
        """An entity's page."""
        return f"{self.prefix}/entities/{quote(name, safe='')}"

    def source(self, name: str) -> str:
        """A source's page."""
        return f"{self.prefix}/sources/{quote(name, safe='')}"

    def service(self, name: str) -> str:
        """A feature service's page."""
        return f"{self.prefix}/services/{quote(name, safe='')}"

    def node(self, kind: str, name: str) -> str:
        """The page of a definition of any kind (its lineage page when it has no page of its own)."""
        if kind in VIEW_KINDS:
            return self.view(name)
        if kind in SOURCE_KINDS:
            return self.source(name)
        if kind == "entity":
            return self.entity(name)
        if kind == "feature_service":
            return self.service(name)
        return self.lineage(name, kind)

    def static(self, name: str) -> str:
        """A static file (its version is appended by the mount)."""
        return f"{self.prefix}/static/{name}"


def expect(spec: Any) -> str:
    """An expectation or window spec as one line: ``in_range min=0 mostly=0.99`` (unset parameters left out)."""
    if not isinstance(spec, dict):
        return str(spec)
    head = spec.get("kind", "")
    params = " ".join(f"{k}={_param(k, v)}" for k, v in spec.items() if k != "kind" and v is not None)
    return f"{head} {params}".strip()


def _param(key: str, value: Any) -> str:
    if key in ("size", "every", "gap", "slide") and isinstance(value, int | float):
        return duration(value)  # window lengths are seconds
    return number(value) if isinstance(value, float) else str(value)


FILTERS = {"duration": duration, "when": when, "day": day, "percent": percent, "number": number,
           "kind_label": kind_label, "expect": expect}
