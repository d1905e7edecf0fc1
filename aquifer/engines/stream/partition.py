"""The live state of one view on one topic partition, cached in memory between checkpoints.

Reading and writing a key's window state through the quix transaction on every event costs a decode and an
encode per event; the cache keeps decoded ``KeyState``s, the online vectors, the clock and the timers of the
partition in memory and writes only what changed into the checkpoint's transaction, once, when the checkpoint
flushes (``flush``), before quix commits offsets and state.

A cache is valid only while its contents are what the committed state holds. Every flush writes a fresh random
``token`` into the partition's clock; when the partition's next transaction starts, the stored token must be
the cache's own, or the cache is dropped and read again from the store: another worker owned the partition
meanwhile (rebalance), or the checkpoint holding the cache's last flush was not committed (backpressure,
crash), so the store went back to an earlier state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from aquifer.aggregations import KeyState, WindowOperator
from aquifer.aggregations.states import read_uint, write_uint
from aquifer.engines.stream.watermarks import Clock, Timers

RESERVED = b"\x00aquifer"  # state prefix of the partition's clock and timers: no encoded entity key starts so
CLOCK = "clock"
ENTRY = "k"
"""A key's one state entry: its online vector (length-prefixed, empty when none) then its window state."""
MAX_CLEAN_KEYS = 200_000
"""After a flush, a cache holding more keys than this forgets them (they are read again when needed)."""


class StateMismatch(ValueError):
    """A key's stored window state was written for other aggregations."""


@dataclass
class PartitionCache:
    """One partition's clock, timers, key states and online vectors, and what changed since the last flush."""

    operator: WindowOperator
    partition: int
    tx: Any = None
    token: int | None = None
    clock: Clock = field(default_factory=Clock)
    timers: Timers = field(default_factory=Timers)
    states: dict[str, KeyState] = field(default_factory=dict)
    vectors: dict[str, bytes | None] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    """Keys whose window state or vector changed since the last flush."""
    evicted_vectors: set[str] = field(default_factory=set)
    online: dict[str, bytes] = field(default_factory=dict)
    """``{encoded key: vector}`` to write to the online store at the flush."""
    landed: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Accepted events ``(ts_us, payload)`` since the last flush (for landing)."""
    first_offset: int | None = None
    last_offset: int | None = None
    committed_offset: int | None = None
    """The last offset flushed (committed with the checkpoint unless it was dropped)."""

    def bind(self, tx: Any, offset: int) -> None:
        """Use ``tx`` (the partition's transaction of the current checkpoint) for the message at ``offset``."""
        if tx is not self.tx:
            stored = Clock.from_bytes(tx.get_bytes(CLOCK, prefix=RESERVED))
            if self.token is None or stored.version != self.token:
                self.reset()
                self.clock = stored
                self.timers = Timers.load(_Reserved(tx), stored.version)
                self.token = stored.version
            self.tx = tx
        if self.first_offset is None:
            self.first_offset = offset
        self.last_offset = offset

    def reset(self) -> None:
        """Forget everything (read again from the store at the next ``bind``)."""
        self.tx = None
        self.token = None
        self.clock = Clock()
        self.timers = Timers()
        self.states.clear()
        self.vectors.clear()
        self.dirty.clear()
        self.evicted_vectors.clear()
        self.online.clear()
        self.landed.clear()
        self.first_offset = self.last_offset = None

    def state(self, key: str) -> KeyState:
        """The key's window state (a new one when it has none)."""
        state = self.states.get(key)
        if state is None:
            self._load(key)
            state = self.states[key]
        return state

    def vector(self, key: str) -> bytes | None:
        """The key's last online vector, if any."""
        if key not in self.vectors:
            self._load(key)
        return self.vectors[key]

    def _load(self, key: str) -> None:
        raw = self.tx.get_bytes(ENTRY, prefix=key.encode())
        vector, windows = split_entry(raw)
        if key not in self.vectors:
            self.vectors[key] = vector
        if key not in self.states:
            try:
                self.states[key] = self.operator.from_bytes(windows) if windows else self.operator.new_state()
            except ValueError as exc:
                raise StateMismatch(str(exc)) from None

    def set_vector(self, key: str, vector: bytes) -> None:
        """A new online vector for the key, written to the store at the flush."""
        self.vectors[key] = vector
        self.online[key] = vector
        self.evicted_vectors.discard(key)
        self.dirty.add(key)

    def evict_vector(self, key: str) -> None:
        """Forget the key's vector (its online value outlived the view's ttl)."""
        self.vectors[key] = None
        self.evicted_vectors.add(key)
        self.dirty.add(key)

    def flush(self) -> int:
        """Write the changed keys' entries, the timers and the clock into the transaction; returns keys written.

        A key whose state holds no windows (``is_idle``) keeps only its vector (the eviction of state behind the
        watermark); a key with neither has its entry deleted.
        """
        if self.tx is None:
            return 0
        tx, op = self.tx, self.operator
        for key in self.dirty:
            state = self.states.get(key)
            if state is not None and op.is_idle(state):
                del self.states[key]
                state = None
            if key in self.evicted_vectors:
                self.vectors.pop(key, None)
            vector = self.vectors.get(key)  # a dirty key's state and vector were both loaded
            entry = join_entry(vector, None if state is None else op.to_bytes(state))
            if entry is None:
                tx.delete(ENTRY, prefix=key.encode())
            else:
                tx.set_bytes(ENTRY, entry, prefix=key.encode())
        written = len(self.dirty)
        self.token = random.getrandbits(63)
        self.clock.version = self.timers.version = self.token
        self.timers.save(_Reserved(tx))
        tx.set_bytes(CLOCK, self.clock.to_bytes(), prefix=RESERVED)
        self.dirty.clear()
        self.evicted_vectors.clear()
        self.online.clear()
        self.landed.clear()
        if self.last_offset is not None:
            self.committed_offset = self.last_offset
        self.first_offset = self.last_offset = None
        if len(self.states) + len(self.vectors) > MAX_CLEAN_KEYS:
            self.states.clear()
            self.vectors.clear()
        return written


def join_entry(vector: bytes | None, windows: bytes | None) -> bytes | None:
    """A key's state entry; None when it keeps nothing (the entry is deleted)."""
    if vector is None and windows is None:
        return None
    out = bytearray()
    write_uint(out, len(vector or b""))
    out += vector or b""
    out += windows or b""
    return bytes(out)


def split_entry(raw: bytes | None) -> tuple[bytes | None, bytes | None]:
    """``(vector, window state)`` of an entry ``join_entry`` wrote (None for a missing part)."""
    if not raw:
        return None, None
    length, pos = read_uint(raw, 0)
    vector = raw[pos:pos + length] or None
    windows = raw[pos + length:] or None
    return vector, windows


@dataclass
class _Reserved:
    """The reserved prefix of a transaction, in the ``State`` shape ``Timers`` reads and writes."""

    tx: Any

    def get_bytes(self, key: str) -> bytes | None:
        return self.tx.get_bytes(key, prefix=RESERVED)

    def set_bytes(self, key: str, value: bytes) -> None:
        self.tx.set_bytes(key, value, prefix=RESERVED)

    def delete(self, key: str) -> None:
        self.tx.delete(key, prefix=RESERVED)
