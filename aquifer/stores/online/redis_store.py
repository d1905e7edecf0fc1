"""``RedisOnlineStore``: pooled connections, pipelined reads and newer-wins pipelined writes.

Every public call is one round trip (one pipeline). Connections come from one pool per store; socket
and connect timeouts come from ``online_store.timeout_ms``; connection errors and timeouts are retried
with exponential backoff (redis-py ``Retry``). Retrying a write pipeline is safe: writes are newer-wins.

Redis Cluster: keys carry no hash tag, an entity's views share its hash, and the write script takes one
key per call, so every command in a pipeline touches a single slot; a cluster client (``RedisCluster``)
can run the same pipelines (it splits them per node). Only ``clean_view``'s SCAN is per node there.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from aquifer.stores.online.keys import KEY_PREFIX
from aquifer.stores.online.scripts import NEWER_WINS, NEWER_WINS_SHA

UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
NEWEST = struct.Struct(">qq")

Write = tuple[str, Sequence[tuple[str, bytes]]]  # (entity key, [(view field, blob), ...])


class OnlineStoreUnavailable(RuntimeError):
    """Redis could not be reached (after retries)."""


class RedisOnlineStore:
    """The Redis online store of one URL (``redis://host:port/db`` or ``unix://path?db=n``)."""

    def __init__(self, url: str, *, timeout_ms: int = 200, retries: int = 2, max_connections: int = 64):
        self.url = url
        self.timeout_ms = timeout_ms
        seconds = timeout_ms / 1000
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=seconds,
            socket_connect_timeout=seconds,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.005), retries),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            max_connections=max_connections,
            health_check_interval=30,
        )

    @classmethod
    def from_config(cls, online_store: dict[str, Any]) -> RedisOnlineStore:
        """The store named by the ``online_store`` section of ``aquifer.yaml``."""
        return cls(online_store["url"], timeout_ms=int(online_store.get("timeout_ms", 200)))

    def read(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[list[bytes | None]]:
        """One pipeline of ``HMGET key fields...``; the stored blobs (None = absent), per request."""
        try:
            pipe = self.client.pipeline(transaction=False)
            for key, fields in requests:
                pipe.hmget(key, fields)
            return pipe.execute()
        except UNAVAILABLE_ERRORS as exc:
            raise OnlineStoreUnavailable(f"online store {self.url} unreachable: {exc}") from exc

    def write(self, writes: Iterable[Write]) -> int:
        """One pipeline of newer-wins ``EVALSHA`` calls, one per entity key; returns fields written."""
        commands = [(key, [x for pair in fields for x in pair]) for key, fields in writes]
        if not commands:
            return 0
        try:
            return self._write(commands)
        except NoScriptError:  # first use on this server, or after SCRIPT FLUSH / a restart
            self.client.script_load(NEWER_WINS)
            return self._write(commands)
        except UNAVAILABLE_ERRORS as exc:
            raise OnlineStoreUnavailable(f"online store {self.url} unreachable: {exc}") from exc

    def _write(self, commands: list[tuple[str, list[Any]]]) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key, args in commands:
            pipe.execute_command("EVALSHA", NEWER_WINS_SHA, 1, key, *args)
        return sum(pipe.execute())

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.client.ping())
        except UNAVAILABLE_ERRORS:
            return False

    # --- per-view newest value time (freshness), kept in ``aq:<project>:__views__`` ---------------

    @staticmethod
    def views_key(project: str) -> str:
        """The hash holding, per view, the (event_ts, created_ts) of the newest value written."""
        return f"{KEY_PREFIX}:{project}:__views__"

    def record_newest(self, project: str, newest: dict[str, int]) -> None:
        """Remember each view's newest event time (µs) written; newer-wins like the values."""
        if newest:
            fields = [(view, NEWEST.pack(ts, 0)) for view, ts in newest.items()]
            self.write([(self.views_key(project), fields)])

    def newest(self, project: str, views: Sequence[str]) -> dict[str, int | None]:
        """Each view's newest event time (µs) written so far, None when nothing was written."""
        if not views:
            return {}
        (blobs,) = self.read([(self.views_key(project), list(views))])
        return {v: (NEWEST.unpack_from(b)[0] if b else None) for v, b in zip(views, blobs, strict=True)}

    # --- removing a view -------------------------------------------------------------------------

    def clean_view(self, project: str, view: str, *, group: str | None = None, batch: int = 1000) -> int:
        """HDEL one view's field from every entity hash (of ``group``, else of every group); SCANs in batches.

        Non-blocking (SCAN, not KEYS); returns how many hashes held the field. Safe to rerun; stop the
        view's writers first.
        """
        removed = 0
        pattern = f"{KEY_PREFIX}:{project}:{'*' if group is None else _glob_escape(group) + ':'}*"
        try:
            cursor = 0
            while True:
                cursor, keys = self.client.scan(cursor, match=pattern, count=batch)
                if keys:
                    pipe = self.client.pipeline(transaction=False)
                    for key in keys:
                        pipe.hdel(key, view)
                    removed += sum(pipe.execute())
                if cursor == 0:
                    break
            self.client.hdel(self.views_key(project), view)
        except UNAVAILABLE_ERRORS as exc:
            raise OnlineStoreUnavailable(f"online store {self.url} unreachable: {exc}") from exc
        return removed

    def close(self) -> None:
        """Release the pool's connections."""
        self.client.close()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
