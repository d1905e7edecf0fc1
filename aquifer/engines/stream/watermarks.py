"""The per-partition watermark and the timers of keys with windows still to emit.

Both live in the partition's changelogged state under a reserved prefix, so a restarted or rebalanced worker
resumes with them. The watermark is ``max event time seen - allowed_lateness`` and never moves back. Timers are
``{entity key: next_emit}`` spread over ``BUCKETS`` state entries (an event rewrites one small bucket, not the
whole set); a worker keeps them in memory as a heap, reloaded when the partition's ``version`` (bumped by every
change) says another process changed them since.
"""

from __future__ import annotations

import heapq
import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

BUCKETS = 64
_CLOCK = struct.Struct(">qqQ")
_NONE = -(2**63)


@dataclass
class Clock:
    """One partition's event-time progress."""

    max_seen: int | None = None
    watermark: int | None = None
    version: int = 0
    """Bumped by every change of the partition's timers: tells a cached ``Timers`` it is current."""

    def observe(self, ts_us: int, lateness_us: int) -> bool:
        """Take an accepted event time; True when the watermark moved forward."""
        if self.max_seen is None or ts_us > self.max_seen:
            self.max_seen = ts_us
        candidate = self.max_seen - lateness_us
        if self.watermark is None or candidate > self.watermark:
            self.watermark = candidate
            return True
        return False

    def to_bytes(self) -> bytes:
        """Fixed-size encoding (``None`` as the least int64)."""
        return _CLOCK.pack(_NONE if self.max_seen is None else self.max_seen,
                           _NONE if self.watermark is None else self.watermark, self.version)

    @classmethod
    def from_bytes(cls, data: bytes | None) -> Clock:
        """The clock ``to_bytes`` wrote; a fresh one for None."""
        if not data:
            return cls()
        max_seen, watermark, version = _CLOCK.unpack(data)
        return cls(None if max_seen == _NONE else max_seen, None if watermark == _NONE else watermark, version)


def bucket_of(key: str) -> int:
    """The timer bucket of an entity key (stable across processes)."""
    return zlib.crc32(key.encode()) % BUCKETS


@dataclass
class Timers:
    """The keys of one partition with windows still to emit, by the watermark at which they emit."""

    version: int = -1
    due: dict[str, int] = field(default_factory=dict)
    heap: list[tuple[int, str]] = field(default_factory=list)
    buckets: dict[int, dict[str, int]] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, state: Any, version: int) -> Timers:
        """Every bucket read from ``state`` (a quix ``State`` on the reserved prefix)."""
        timers = cls(version)
        for bucket in range(BUCKETS):
            raw = state.get_bytes(f"t{bucket}")
            if raw:
                timers.buckets[bucket] = json.loads(raw)
                timers.due.update(timers.buckets[bucket])
        timers.heap = [(due, key) for key, due in timers.due.items()]
        heapq.heapify(timers.heap)
        return timers

    def set(self, key: str, due: int | None) -> None:
        """Arm (or, with None, disarm) the timer of ``key``."""
        if self.due.get(key) == due:
            return
        bucket = bucket_of(key)
        if due is None:
            del self.due[key]
            del self.buckets[bucket][key]
        else:
            self.due[key] = due
            self.buckets.setdefault(bucket, {})[key] = due
            heapq.heappush(self.heap, (due, key))
        self.dirty.add(bucket)

    def lower(self, key: str, due: int) -> None:
        """Arm the timer of ``key`` at ``due`` unless it is armed earlier already."""
        current = self.due.get(key)
        if current is None or due < current:
            self.set(key, due)

    def pop_due(self, watermark: int) -> list[str]:
        """The keys whose timer is at or before ``watermark``, disarmed; by due time, then key."""
        out: list[str] = []
        while self.heap and self.heap[0][0] <= watermark:
            due, key = heapq.heappop(self.heap)
            if self.due.get(key) == due:  # else a stale heap entry: the timer moved or was disarmed
                self.set(key, None)
                out.append(key)
        return out

    def save(self, state: Any) -> None:
        """Write the changed buckets to ``state``."""
        if not self.dirty:
            return
        for bucket in self.dirty:
            entries = self.buckets.get(bucket)
            if entries:
                state.set_bytes(f"t{bucket}", json.dumps(entries, separators=(",", ":")).encode())
            else:
                state.delete(f"t{bucket}")
        self.dirty.clear()
