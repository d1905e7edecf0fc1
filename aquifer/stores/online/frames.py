"""Encode a batch of rows (pyarrow) into online-store writes, vectorized with numpy.

Used by materialization (one Arrow batch per Spark partition slice) and by any writer holding frames.
The fixed part of every blob is built as one numpy structured array (big-endian dtypes matching
``ViewCodec``'s struct layout), so a batch costs one ``tobytes()`` plus a slice per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aquifer.definitions.types import accepts, type_by_name
from aquifer.stores.online.codec import VAR_TYPES, ViewCodec, var_payload
from aquifer.stores.online.keys import EntityGroup
from aquifer.stores.online.redis_store import Write, pack_newer_wins_column

_NP = {"Int64": ">i8", "Int32": ">i4", "Float64": ">f8", "Float32": ">f4", "Bool": "?", "Timestamp": ">i8"}
_ARROW = {"Int64": pa.int64(), "Int32": pa.int32(), "Float64": pa.float64(), "Float32": pa.float32(),
          "Bool": pa.bool_(), "Timestamp": pa.int64()}


def _micros(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return column.to_numpy(zero_copy_only=False).astype(np.int64)


class MaterializedTypeError(ValueError):
    """Rows to materialize hold a feature whose stored type does not fit the declared one."""


def _stored_type(arrow_type: pa.DataType) -> str | None:
    """The aquifer type of an Arrow column type (None: no aquifer type holds it)."""
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type):
        return "Int64"
    if pa.types.is_integer(arrow_type) and arrow_type.bit_width <= 32 and not pa.types.is_uint32(arrow_type):
        return "Int32"
    if pa.types.is_float64(arrow_type):
        return "Float64"
    if pa.types.is_floating(arrow_type):
        return "Float32"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "String"
    if pa.types.is_boolean(arrow_type):
        return "Bool"
    if pa.types.is_timestamp(arrow_type):
        return "Timestamp"
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "Bytes"
    if (pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)) and \
            pa.types.is_float64(arrow_type.value_type):
        return "Float64List"
    return None


def check_types(table: pa.Table | pa.RecordBatch, codec: ViewCodec, group: EntityGroup, view: str) -> None:
    """Refuse rows whose feature columns hold another type than declared (widening allowed: Int32 into Int64,
    integers into Float64); the error names the view, the feature and the first such row. Nothing is coerced:
    text read as numbers, numbers written as text or integers as booleans would be silently wrong values."""
    names = table.schema.names
    for name, type_name in zip(codec.names, codec.types, strict=True):
        if name not in names:
            continue
        arrow_type = table.schema.field(name).type
        if pa.types.is_null(arrow_type):
            continue
        stored = _stored_type(arrow_type)
        if stored is not None and accepts(type_by_name(type_name), type_by_name(stored)):
            continue
        column = table.column(name)
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        if not valid.any():
            continue  # only nulls: nothing would be coerced
        row = int(np.argmax(valid))
        keys = ", ".join(f"{k}={table.column(k)[row].as_py()!r}" for k in group.join_keys if k in names)
        when = table.column("event_ts")[row].as_py() if "event_ts" in names else None
        raise MaterializedTypeError(
            f"view {view!r}: feature {name!r} is declared {type_name} but the offline rows hold {arrow_type} "
            f"(first row: {keys}, event_ts={when}, value={column[row].as_py()!r}); nothing was written online "
            "for this batch: recompute the view (aquifer backfill) so its rows match the schema")


def encode_batch(
    table: pa.Table | pa.RecordBatch, codec: ViewCodec, group: EntityGroup, project: str, view: str
) -> tuple[list[Write], int]:
    """``(writes, newest event_ts µs)`` for every row of ``table`` (join keys, event_ts, [created_ts], features).

    Missing feature columns are written as nulls; NaN floats count as null. A feature column of a type the
    declared one does not accept is refused (``check_types``).
    """
    check_types(table, codec, group, view)
    blobs, newest = encode_blobs(table, codec)
    keys = entity_keys(table, group, project)
    return [(k, ((view, b),)) for k, b in zip(keys, blobs, strict=True)], newest


def pack_batch(
    table: pa.Table | pa.RecordBatch, codec: ViewCodec, group: EntityGroup, project: str, view: str,
    keys_per_call: int = 1,
) -> tuple[bytes, int, int]:
    """``encode_batch`` straight to the wire: ``(RESP newer-wins calls, their number, newest µs)``.

    ``keys_per_call`` > 1 packs multi-key calls (single Redis node only: ``RedisOnlineStore.keys_per_call``).

    For ``RedisOnlineStore.write_packed``: no per-row tuples in between (they cost more than the
    encoding, mostly in garbage-collector passes over a 100 000-row batch).
    """
    check_types(table, codec, group, view)
    blobs, newest = encode_blobs(table, codec)
    keys = entity_keys(table, group, project)
    payload, calls = pack_newer_wins_column(keys, view, blobs, keys_per_call)
    return payload, calls, newest


def encode_blobs(table: pa.Table | pa.RecordBatch, codec: ViewCodec) -> tuple[list[bytes], int]:
    """``(one blob per row, newest event_ts µs)`` (see ``encode_batch``)."""
    n = table.num_rows
    if n == 0:
        return [], 0
    names = table.schema.names
    fixed_dtype = [("ts", ">i8"), ("cts", ">i8"), ("layout", ">u4"), ("bitmap", "u1", (codec.bitmap_size,))]
    fixed_dtype += [(f"f{i}", _NP[codec.types[i]]) for i in codec.fixed]
    fixed_dtype += [(f"l{i}", ">u4") for i in codec.var]
    arr = np.zeros(n, dtype=np.dtype(fixed_dtype))
    event = _micros(table.column("event_ts"))
    arr["ts"] = event
    if "created_ts" in names:
        arr["cts"] = _micros(pc.fill_null(table.column("created_ts").cast(pa.timestamp("us", tz="UTC")), 0))
    arr["layout"] = codec.layout_id
    bitmap = arr["bitmap"]
    payloads: list[list[bytes]] = []
    for i, (name, type_name) in enumerate(zip(codec.names, codec.types, strict=True)):
        column = table.column(name) if name in names else pa.nulls(n)
        nulls = column.is_null().to_numpy(zero_copy_only=False)
        if type_name in ("Float64", "Float32") and name in names:
            nulls = nulls | pc.fill_null(pc.is_nan(column.cast(pa.float64())), False).to_numpy(zero_copy_only=False)
        if nulls.any():
            bitmap[nulls, i // 8] |= np.uint8(1 << (i % 8))
        if type_name in VAR_TYPES:
            values = column.to_pylist() if name in names else [None] * n
            raw = [b"" if v is None else var_payload(type_name, v) for v in values]
            arr[f"l{i}"] = [len(r) for r in raw]
            payloads.append(raw)
        else:
            if type_name == "Timestamp" and pa.types.is_timestamp(column.type):
                filled = _micros(pc.fill_null(column.cast(pa.timestamp("us", tz="UTC")), 0))
            else:
                filled = pc.fill_null(column.cast(_ARROW[type_name]), _zero(type_name))
                filled = filled.to_numpy(zero_copy_only=False)
            arr[f"f{i}"] = filled
    buf = arr.tobytes()
    size = arr.dtype.itemsize
    if payloads:
        blobs = [buf[r * size:(r + 1) * size] + b"".join(p[r] for p in payloads) for r in range(n)]
    else:
        blobs = [buf[r * size:(r + 1) * size] for r in range(n)]
    return blobs, int(event.max())


def _zero(type_name: str) -> Any:
    return False if type_name == "Bool" else 0


def entity_keys(table: pa.Table | pa.RecordBatch, group: EntityGroup, project: str) -> list[str]:
    """The Redis key of every row's entity (join-key columns of ``table``)."""
    prefix = group.prefix(project)
    columns = [table.column(k).to_pylist() for k in group.join_keys]
    if len(columns) == 1 and group.key_types[0] in ("Int64", "Int32"):
        return [prefix + str(v) for v in columns[0]]
    return [prefix + group.encode(values) for values in zip(*columns, strict=True)]


__all__ = ["encode_batch", "encode_blobs", "entity_keys", "pack_batch"]
