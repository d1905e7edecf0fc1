"""Column values inside states (``first``, ``last``, ``min_by``…): their total order and their byte encoding.

**Order.** Values of one column have one type in practice, but a stream may mix ``1`` and ``1.5`` (JSON), so
``order_key`` ranks numbers (bool, int, float, compared as numbers) before text before bytes. Nulls never
reach a state (every function ignores them).

**Encoding.** A tag byte, then: float ``<d``; int a zigzag varint; str and bytes a varint length and the
bytes (UTF-8 for str); bools are their tag alone.
"""

from __future__ import annotations

import struct
from typing import Any

from aquifer.aggregations.varint import read_int, read_uint, write_int, write_uint

_F64 = struct.Struct("<d")
_NONE, _FLOAT, _INT, _STR, _TRUE, _FALSE, _BYTES = range(7)


def order_key(value: Any) -> tuple[int, Any]:
    """A sort key giving every value a place: numbers by value, then strings, then bytes."""
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, bytes | bytearray):
        return (2, bytes(value))
    return (0, value)


def plain(value: Any) -> Any:
    """A numpy / pandas scalar as the Python value it holds (Spark's pandas UDFs hand those)."""
    item = getattr(value, "item", None)
    return item() if item is not None and not isinstance(value, bytes | bytearray | str) else value


def write_value(value: Any, out: bytearray) -> None:
    """Append one value (or None)."""
    value = plain(value)
    if value is None:
        out.append(_NONE)
    elif value is True:
        out.append(_TRUE)
    elif value is False:
        out.append(_FALSE)
    elif isinstance(value, int):
        out.append(_INT)
        write_int(out, value)
    elif isinstance(value, float):
        out.append(_FLOAT)
        out += _F64.pack(value)
    elif isinstance(value, str):
        data = value.encode()
        out.append(_STR)
        write_uint(out, len(data))
        out += data
    elif isinstance(value, bytes | bytearray):
        out.append(_BYTES)
        write_uint(out, len(value))
        out += value
    else:
        raise TypeError(f"cannot keep a {type(value).__name__} value in an aggregation state: {value!r}")


def read_value(data: bytes, pos: int) -> tuple[Any, int]:
    """The value ``write_value`` appended at ``pos``, and the position after it."""
    tag = data[pos]
    pos += 1
    if tag == _NONE:
        return None, pos
    if tag == _TRUE:
        return True, pos
    if tag == _FALSE:
        return False, pos
    if tag == _INT:
        return read_int(data, pos)
    if tag == _FLOAT:
        return _F64.unpack_from(data, pos)[0], pos + 8
    if tag in (_STR, _BYTES):
        length, pos = read_uint(data, pos)
        end = pos + length
        if end > len(data):
            raise ValueError("state truncated")
        raw = data[pos:end]
        return (raw.decode() if tag == _STR else bytes(raw)), end
    raise ValueError(f"bad value tag {tag}")
