"""The value blob: one view's whole feature vector for one entity, in one hash field.

Layout (all integers big-endian)::

    event_ts    int64   µs since the Unix epoch (UTC)   ─┐ the Lua write script compares these two,
    created_ts  int64   µs since the Unix epoch (UTC)   ─┘ as (event_ts, created_ts), newer wins
    layout_id   uint32  crc32 of the view's feature names and types: a blob written under another schema
                        decodes as missing (re-materialize after a schema change) instead of as garbage
    null bitmap ceil(n/8) bytes, little-endian bit order: bit i set ⇔ feature i is null
    fixed part  one slot per fixed-width feature in declaration order (Int64/Timestamp ``q``,
                Int32 ``i``, Float64 ``d``, Float32 ``f``, Bool ``?``; zero when null)
    var lengths one uint32 per String/Bytes/Float64List feature, in declaration order
    var data    the String (UTF-8) / Bytes / Float64List (big-endian doubles, ``8 * len`` bytes) payloads,
                concatenated in declaration order

Why this and not msgpack/JSON/per-feature fields: the header+fixed part is one precompiled
``struct.unpack_from`` per blob (no per-value type tags to parse, no pickle), floats and ints keep their
exact binary values, a 10-feature numeric vector is ~100 bytes, and the event time sits at a fixed
offset where the Lua script can read it. A NaN float is stored as null (pandas uses NaN for null).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from typing import Any

from aquifer.definitions import AggregationView, FeatureView, Field
from aquifer.times import from_micros, to_micros

HEADER = struct.Struct(">qqI")
HEADER_SIZE = HEADER.size
FIXED_CODES = {"Int64": "q", "Int32": "i", "Float64": "d", "Float32": "f", "Bool": "?", "Timestamp": "q"}
VAR_TYPES = ("String", "Bytes", "Float64List")


def var_payload(type_name: str, value: Any) -> bytes:
    """The bytes of one variable-width value (not null)."""
    if type_name == "Float64List":
        return struct.pack(f">{len(value)}d", *value)
    return value.encode() if isinstance(value, str) else bytes(value)


def var_value(type_name: str, raw: bytes) -> Any:
    """The value of a variable-width payload."""
    if type_name == "String":
        return raw.decode()
    if type_name == "Float64List":
        return list(struct.unpack(f">{len(raw) // 8}d", raw))
    return bytes(raw)


class ViewCodec:
    """Encodes and decodes one view's feature vectors (see the module docstring for the layout)."""

    def __init__(self, fields: Sequence[Field]):
        self.fields = tuple(fields)
        self.names = tuple(f.name for f in self.fields)
        self.types = tuple(f.dtype.name for f in self.fields)
        n = len(self.fields)
        self.bitmap_size = (n + 7) // 8
        self.fixed = [i for i, t in enumerate(self.types) if t not in VAR_TYPES]
        self.var = [i for i, t in enumerate(self.types) if t in VAR_TYPES]
        self.timestamps = [i for i, t in enumerate(self.types) if t == "Timestamp"]
        fmt = ">qqI" + f"{self.bitmap_size}s" + "".join(FIXED_CODES[self.types[i]] for i in self.fixed)
        fmt += "I" * len(self.var)
        self.struct = struct.Struct(fmt)
        signature = ",".join(f"{name}:{t}" for name, t in zip(self.names, self.types, strict=True))
        self.layout_id = zlib.crc32(signature.encode())
        # where feature i sits in the unpacked tuple (fixed slots start after the 4 header values)
        self._slot = {i: 4 + k for k, i in enumerate(self.fixed)}
        self._simple = not self.var and not self.timestamps  # unpacked fixed part == values, in order
        self._convert = [_CONVERTERS[self.types[i]] for i in self.fixed]

    @classmethod
    def for_view(cls, view: FeatureView | AggregationView) -> ViewCodec:
        """The codec of a view's declared features."""
        return cls(view.features)

    def encode(self, values: Sequence[Any], event_ts: Any, created_ts: Any = 0) -> bytes:
        """One blob from the feature values (declaration order; None = null) and the row's times."""
        if len(values) != len(self.fields):
            raise ValueError(f"expected {len(self.fields)} values ({', '.join(self.names)}), got {len(values)}")
        bitmap = 0
        fixed: list[Any] = []
        for i, convert in zip(self.fixed, self._convert, strict=True):
            v = values[i]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                bitmap |= 1 << i
                fixed.append(0)
            else:
                fixed.append(convert(v))
        payloads: list[bytes] = []
        for i in self.var:
            v = values[i]
            if v is None:
                bitmap |= 1 << i
                payloads.append(b"")
            else:
                payloads.append(var_payload(self.types[i], v))
        head = self.struct.pack(
            to_micros(event_ts), to_micros(created_ts), self.layout_id,
            bitmap.to_bytes(self.bitmap_size, "little"), *fixed, *(len(p) for p in payloads),
        )
        return head + b"".join(payloads) if payloads else head

    def decode(self, blob: bytes) -> tuple[int, int, list[Any]] | None:
        """``(event_ts µs, created_ts µs, values)``; None when the blob was written under another layout."""
        try:
            unpacked = self.struct.unpack_from(blob)
        except struct.error:  # truncated or foreign value: treat as absent
            return None
        if unpacked[2] != self.layout_id:
            return None
        bitmap = int.from_bytes(unpacked[3], "little")
        if self._simple:
            values = list(unpacked[4:])
        else:
            values = [None] * len(self.fields)
            for i, slot in self._slot.items():
                values[i] = unpacked[slot]
            pos = self.struct.size
            base = 4 + len(self.fixed)
            for k, i in enumerate(self.var):
                size = unpacked[base + k]
                raw = blob[pos:pos + size]
                values[i] = var_value(self.types[i], raw)
                pos += size
            for i in self.timestamps:
                values[i] = from_micros(values[i])
        if bitmap:
            for i in range(len(self.fields)):
                if bitmap >> i & 1:
                    values[i] = None
        return unpacked[0], unpacked[1], values


    def decode_many(self, blobs: Sequence[bytes | None]) -> list[tuple[int, int, Sequence[Any]] | None]:
        """``decode`` of each blob (None stays None), in one ``iter_unpack`` pass for numeric-only views.

        A numeric-only view's blobs all have the struct's size, so their concatenation unpacks in one C
        call; per blob that leaves a layout check and a slice, a quarter of a ``decode`` call.
        """
        if not self._simple:
            return [None if b is None else self.decode(b) for b in blobs]
        size, layout, clean = self.struct.size, self.layout_id, bytes(self.bitmap_size)
        out: list[tuple[int, int, Sequence[Any]] | None] = [None] * len(blobs)
        whole = [i for i, b in enumerate(blobs) if b is not None and len(b) == size]
        if len(whole) != len(blobs) - blobs.count(None):  # odd sizes (foreign or damaged): the slow way
            for i, b in enumerate(blobs):
                if b is not None and len(b) != size:
                    out[i] = self.decode(b)
        rows = self.struct.iter_unpack(b"".join([blobs[i] for i in whole]))  # type: ignore[misc]
        for i, row in zip(whole, rows, strict=True):
            if row[2] != layout:
                continue  # written under another schema: missing
            if row[3] == clean:
                out[i] = (row[0], row[1], row[4:])
            else:
                bitmap = int.from_bytes(row[3], "little")
                values = [None if bitmap >> k & 1 else v for k, v in enumerate(row[4:])]
                out[i] = (row[0], row[1], values)
        return out


_CONVERTERS = {"Int64": int, "Int32": int, "Float64": float, "Float32": float, "Bool": bool, "Timestamp": to_micros}


def event_time_of(blob: bytes) -> int:
    """The event time (µs) a blob carries, without decoding the rest."""
    return HEADER.unpack_from(blob)[0]
