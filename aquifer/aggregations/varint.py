"""LEB128 varints: unsigned integers in 7-bit groups, low first; signed ones zigzagged first (0, -1, 1, -2 …).

Small values (pane gaps, counts, lengths) are one byte, so each function tries that case first.
"""

from __future__ import annotations


def write_uint(out: bytearray, value: int) -> None:
    """Append a non-negative integer as an LEB128 varint."""
    if value < 0x80:
        out.append(value)  # ValueError for a negative value, as the loop's last append would give
        return
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def read_uint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """An LEB128 varint at ``pos`` and the position after it."""
    byte = data[pos]
    if byte < 0x80:
        return byte, pos + 1
    value, shift = byte & 0x7F, 7
    while True:
        pos += 1
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + 1
        shift += 7


def write_int(out: bytearray, value: int) -> None:
    """Append a signed integer (zigzag, then varint)."""
    write_uint(out, value * 2 if value >= 0 else -value * 2 - 1)


def read_int(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """A signed integer written by ``write_int``."""
    raw, pos = read_uint(data, pos)
    return (raw >> 1) if not raw & 1 else -((raw + 1) >> 1), pos
