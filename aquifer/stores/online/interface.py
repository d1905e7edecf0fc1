"""The online store's interface: what engines, serving and stream sinks need from it, nothing more.

Redis (``RedisOnlineStore``) is the implementation today; a second one implements this protocol and runs
the same conformance tests (tests/integration/online). Values are blobs per (entity key, view field),
written newer-wins: a write never replaces a value whose ``(event_ts, created_ts)`` is newer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

Write = tuple[str, Sequence[tuple[str, bytes]]]  # (entity key, [(view field, blob), ...])


class OnlineStoreUnavailable(RuntimeError):
    """The online store could not be reached (after retries)."""


@runtime_checkable
class OnlineStore(Protocol):
    """Reads by entity key, newer-wins batch writes, newest-value bookkeeping, and close."""

    def read(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[list[bytes | None]]:
        """For each ``(entity key, [view fields])``: the blobs stored (None where none), in one round trip."""

    def write(self, writes: Iterable[Write]) -> int:
        """Write a batch newer-wins; returns how many values were written (not refused as older)."""

    def write_packed_stream(self, batches: Iterable[tuple[bytes, int]]) -> int:
        """Write pre-encoded newer-wins batches (``frames.pack_batch``), pipelined; values written."""

    def keys_per_call(self) -> int:
        """How many entity keys one packed write call may carry on this deployment."""

    def record_newest(self, project: str, newest: dict[str, int]) -> None:
        """Remember each view's newest event time (µs) written, for freshness monitoring."""

    def newest(self, project: str, views: Sequence[str]) -> dict[str, int | None]:
        """Each view's newest recorded event time (µs; None when never written)."""

    def clean_view(self, project: str, view: str, *, group: str | None = None, batch: int = 1000) -> int:
        """Remove a view's values; returns how many entity keys held one."""

    def ping(self) -> bool:
        """Whether the store answers."""

    def close(self) -> None:
        """Release connections."""


WRITER_TIMEOUT_MS = 2000  # a write batch may take longer than a lookup's budget


def open_online_store(online_store: dict[str, Any], *, writer: bool = False) -> OnlineStore:
    """The online store named by ``aquifer.yaml``'s ``online_store`` section (Redis URLs today).

    ``writer=True`` gives batch writers a timeout of at least ``WRITER_TIMEOUT_MS``.
    """
    from aquifer.stores.online.redis_store import RedisOnlineStore

    if writer:
        online_store = {**online_store, "timeout_ms": max(WRITER_TIMEOUT_MS, int(online_store.get("timeout_ms", 200)))}
    return RedisOnlineStore.from_config(online_store)
