"""``RedisOnlineStore``: pooled connections, pipelined reads and newer-wins pipelined writes.

Every public call is one round trip (one pipeline). Reads and writes pack their RESP commands
themselves (``pack_hmgets``, ``pack_newer_wins``) and send them on one pooled redis-py connection:
a redis-py ``Pipeline`` spends more client CPU per command than Redis spends answering it, and a
100-entity lookup is 3x faster without it. Connections come from one pool per store; socket
and connect timeouts come from ``online_store.timeout_ms``; connection errors and timeouts are retried
with exponential backoff (redis-py ``Retry``). Retrying a write pipeline is safe: writes are newer-wins.

Redis Cluster: keys carry no hash tag, an entity's views share its hash, and the write script takes one
key per call, so every command in a pipeline touches a single slot: a cluster client only has to split a
batch by node (group the packed commands by key slot) to run it. Only ``clean_view``'s SCAN is per node.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

import hiredis
import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from aquifer.stores.online.interface import OnlineStoreUnavailable, Write
from aquifer.stores.online.keys import KEY_PREFIX
from aquifer.stores.online.scripts import NEWER_WINS, NEWER_WINS_COLUMN, NEWER_WINS_COLUMN_SHA, NEWER_WINS_SHA

UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
NEWEST = struct.Struct(">qq")
MULTI_KEY_CALL = 100  # keys per NEWER_WINS_COLUMN call: ~0.5 ms of Redis time, amortizes the script call



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
        self._cluster: bool | None = None  # cluster mode of the server, asked on first keys_per_call()

    @classmethod
    def from_config(cls, online_store: dict[str, Any]) -> RedisOnlineStore:
        """The store named by the ``online_store`` section of ``aquifer.yaml``."""
        return cls(online_store["url"], timeout_ms=int(online_store.get("timeout_ms", 200)))

    def read(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[list[bytes | None]]:
        """One pipeline of ``HMGET key fields...``; the stored blobs (None = absent), per request."""
        if not requests:
            return []
        try:
            return _raise_first(self._roundtrip(pack_hmgets(requests), len(requests)))
        except UNAVAILABLE_ERRORS as exc:
            raise OnlineStoreUnavailable(f"online store {self.url} unreachable: {exc}") from exc

    def write(self, writes: Iterable[Write]) -> int:
        """One pipeline of newer-wins ``EVALSHA`` calls, one per entity key; returns fields written."""
        return self.write_packed(*pack_newer_wins(writes))

    def write_packed(self, payload: bytes, count: int) -> int:
        """Send ``count`` packed newer-wins calls (``pack_newer_wins*``) in one round trip; fields written."""
        if not count:
            return 0
        try:
            try:
                return sum(_raise_first(self._roundtrip(payload, count)))
            except NoScriptError:  # first use on this server, or after SCRIPT FLUSH / a restart
                self.client.script_load(NEWER_WINS)
                self.client.script_load(NEWER_WINS_COLUMN)
                return sum(_raise_first(self._roundtrip(payload, count)))
        except UNAVAILABLE_ERRORS as exc:
            raise OnlineStoreUnavailable(f"online store {self.url} unreachable: {exc}") from exc

    def write_packed_stream(self, batches: Iterable[tuple[bytes, int]]) -> int:
        """``write_packed`` over many batches, overlapping the caller's encoding with Redis's work.

        Batch ``i + 1`` is produced (``batches`` is a lazy encoder) while Redis runs batch ``i``; then
        batch ``i``'s replies are read and batch ``i + 1`` is sent, so one batch at most is on the wire.
        A batch whose send or replies fail (connection lost, script not loaded yet) is written again
        with ``write_packed``, which retries: safe, as writes are newer-wins. Returns fields written.
        """
        written = 0
        in_flight: tuple[bytes, int] | None = None
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            for payload, count in batches:
                if in_flight is not None:
                    written += self._confirm(conn, in_flight)
                    in_flight = None
                if not count:
                    continue
                try:
                    conn.send_packed_command([payload])
                    in_flight = (payload, count)
                except UNAVAILABLE_ERRORS:
                    conn.disconnect()
                    written += self.write_packed(payload, count)
            if in_flight is not None:
                written += self._confirm(conn, in_flight)
        except BaseException:
            conn.disconnect()  # replies may be unread: the connection must not be reused as is
            raise
        finally:
            pool.release(conn)
        return written

    def _confirm(self, conn: Any, batch: tuple[bytes, int]) -> int:
        """Read a sent batch's replies; on a failure write the batch again (see ``write_packed_stream``)."""
        try:
            replies = read_replies(conn, batch[1])
        except UNAVAILABLE_ERRORS:
            conn.disconnect()
            return self.write_packed(*batch)
        if any(isinstance(r, NoScriptError) for r in replies):
            return self.write_packed(*batch)  # loads the scripts, then writes
        return sum(_raise_first(replies))

    def keys_per_call(self, batch: int = MULTI_KEY_CALL) -> int:
        """Entity keys one write-script call may touch: ``batch`` on a single node, 1 on a Redis Cluster.

        A cluster node (``cluster_enabled:1``) refuses a script whose keys hash to different slots, so
        there every key gets its own call (still pipelined); a single node takes ``NEWER_WINS_COLUMN``
        over ``batch`` keys per call, about twice the write throughput. Asked once per store.
        """
        if self._cluster is None:
            try:
                self._cluster = bool(self.client.info("cluster").get("cluster_enabled", 0))
            except UNAVAILABLE_ERRORS as exc:
                raise OnlineStoreUnavailable(f"online store {self.url} unreachable: {exc}") from exc
        return 1 if self._cluster else batch

    def _roundtrip(self, payload: bytes, count: int) -> list[Any]:
        """Send pre-packed commands on one pooled connection, read their ``count`` replies: one round trip.

        What a redis-py pipeline does, minus its per-command Python bookkeeping (packing, callbacks,
        per-reply parsing hooks), which costs ~3x the round trip itself for 100 small ``HMGET``s.
        Connection errors and timeouts are retried on a fresh connection (the pool's ``Retry``); every
        reply is read before returning, error replies included (returned as exceptions), so the
        connection never goes back to the pool with unread replies.
        """
        pool = self.client.connection_pool
        conn = pool.get_connection()

        def once() -> list[Any]:
            conn.send_packed_command([payload])
            return read_replies(conn, count)

        try:
            return conn.retry.call_with_retry(once, lambda _error: conn.disconnect())
        except BaseException:
            conn.disconnect()  # interrupted mid-read: unread replies must not reach the next user
            raise
        finally:
            pool.release(conn)

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


def read_replies(conn: Any, count: int) -> list[Any]:
    """Read ``count`` replies from a redis-py connection; error replies come back as exceptions.

    With hiredis, the replies are parsed straight off the socket by one ``hiredis.Reader`` (~0.3 µs a
    reply); redis-py's ``read_response`` costs ~7 µs a reply in Python bookkeeping, most of a 100-key
    read. Socket failures become redis-py's ``ConnectionError``/``TimeoutError``, which the pool's retry
    handles. Without hiredis (or on an unusual connection class) redis-py reads them.
    """
    sock = getattr(conn, "_sock", None)
    parser = getattr(conn, "_parser", None)
    if sock is None or not hasattr(parser, "parse_error"):
        replies: list[Any] = []
        for _ in range(count):
            try:
                replies.append(conn.read_response())
            except ResponseError as exc:
                replies.append(exc)
        return replies
    reader = hiredis.Reader(replyError=ResponseError)
    buffer = bytearray(1 << 16)
    replies = []
    errors = False
    try:
        while len(replies) < count:
            reply = reader.gets()
            if reply is False:  # hiredis: more bytes needed
                n = sock.recv_into(buffer)
                if n == 0:
                    raise RedisConnectionError("connection closed by the server")
                reader.feed(buffer, 0, n)
                continue
            errors = errors or isinstance(reply, ResponseError)
            replies.append(reply)
    except TimeoutError as exc:
        raise RedisTimeoutError(f"timeout reading from Redis: {exc}") from exc
    except OSError as exc:
        raise RedisConnectionError(f"error reading from Redis: {exc}") from exc
    if errors:  # NOSCRIPT and friends: the exception classes redis-py would have raised
        replies = [parser.parse_error(r.args[0]) if isinstance(r, ResponseError) else r for r in replies]
    return replies


def _raise_first(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def pack_hmgets(requests: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    """RESP bytes of ``HMGET key fields...`` per request (a shared fields tuple is packed once)."""
    packed: dict[int, tuple[bytes, bytes]] = {}
    parts: list[bytes] = []
    for key, fields in requests:
        head_tail = packed.get(id(fields))
        if head_tail is None:
            head_tail = packed[id(fields)] = (
                b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2), b"".join(_bulk(f.encode()) for f in fields)
            )
        k = key.encode()
        parts.append(b"%s$%d\r\n%s\r\n%s" % (head_tail[0], len(k), k, head_tail[1]))
    return b"".join(parts)


_EVALSHA_HEAD = b"$7\r\nEVALSHA\r\n" + _bulk(NEWER_WINS_SHA.encode()) + b"$1\r\n1\r\n"


def pack_newer_wins(writes: Iterable[Write]) -> tuple[bytes, int]:
    """RESP bytes of one newer-wins ``EVALSHA sha 1 key field blob ...`` per entity key, and how many."""
    parts: list[bytes] = []
    count = 0
    for key, fields in writes:
        if not fields:
            continue
        k = key.encode()
        parts.append(b"*%d\r\n%s$%d\r\n%s\r\n" % (4 + 2 * len(fields), _EVALSHA_HEAD, len(k), k))
        for field, blob in fields:
            f = field.encode()
            parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(f), f, len(blob), blob))
        count += 1
    return b"".join(parts), count


def pack_newer_wins_column(
    keys: Sequence[str], field: str, blobs: Sequence[bytes], keys_per_call: int = 1
) -> tuple[bytes, int]:
    """Newer-wins writes of one field per key (a materialization batch: ``keys[i]`` gets ``blobs[i]``).

    ``(RESP payload, number of calls)``: one ``NEWER_WINS`` call per key when ``keys_per_call`` is 1
    (cluster-safe), else ``NEWER_WINS_COLUMN`` calls over up to ``keys_per_call`` keys (single node).
    """
    f = field.encode()
    bulk_f = b"$%d\r\n%s\r\n" % (len(f), f)
    encoded = [k.encode() for k in keys]
    if keys_per_call <= 1:
        head = b"*6\r\n" + _EVALSHA_HEAD
        return b"".join([b"%s$%d\r\n%s\r\n%s$%d\r\n%s\r\n" % (head, len(k), k, bulk_f, len(b), b)
                         for k, b in zip(encoded, blobs, strict=True)]), len(encoded)
    sha = b"$7\r\nEVALSHA\r\n" + _bulk(NEWER_WINS_COLUMN_SHA.encode())
    parts: list[bytes] = []
    for start in range(0, len(encoded), keys_per_call):
        ks, bs = encoded[start:start + keys_per_call], blobs[start:start + keys_per_call]
        parts.append(b"*%d\r\n%s%s" % (4 + 2 * len(ks), sha, _bulk(b"%d" % len(ks))))
        parts.extend([b"$%d\r\n%s\r\n" % (len(k), k) for k in ks])
        parts.append(bulk_f)
        parts.extend([b"$%d\r\n%s\r\n" % (len(b), b) for b in bs])
    return b"".join(parts), -(-len(encoded) // keys_per_call)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
