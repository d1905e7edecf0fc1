"""How long after its event time a view's row can be used: the largest ``availability_delay`` upstream.

A ``BatchSource`` declares its delay; a ``KafkaSource`` has none (its events are served as they arrive; the
delay of its landed ``batch_source`` describes the copy at rest, not the stream); a view inherits the
greatest delay of everything it reads, directly or through other views (a row built from a late-arriving
input is itself late). ``docs/semantics.md``, "Data availability delay".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aquifer.definitions.sources import BatchSource, KafkaSource

NO_DELAY = timedelta(0)


def source_delay(source: BatchSource | KafkaSource) -> timedelta:
    """A source's own delay (zero for a Kafka source and when none is declared)."""
    if isinstance(source, KafkaSource):
        return NO_DELAY
    delay = source.availability_delay
    return delay if isinstance(delay, timedelta) else NO_DELAY


def availability_delay(definition: Any, definitions: Mapping[str, Any] | None = None) -> timedelta:
    """The delay of ``definition``: its own for a source, the greatest of its upstreams' for a view.

    ``definitions`` (name -> definition) resolves upstreams named only by text (SQL placeholders, Python
    parameters); a view's ``source`` object is followed directly. Unknown names and cycles add nothing.
    """
    named = definitions or {}
    best, seen, stack = NO_DELAY, set(), [definition]
    while stack:
        d = stack.pop()
        if d is None or id(d) in seen:
            continue
        seen.add(id(d))
        if isinstance(d, BatchSource | KafkaSource):
            best = max(best, source_delay(d))
            continue
        source = getattr(d, "source", None)
        if source is not None:
            stack.append(source)
        stack.extend(named.get(n) for n in getattr(d, "declared_upstreams", ()))
    return best
