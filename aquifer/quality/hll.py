"""Distinct-count sketches of whole arrays: DataSketches HLL registers computed in numpy.

DataSketches' ``hll_sketch`` takes one value per call, about 100 to 150 ns each from Python or from Spark's
``hll_sketch_agg``; the statistics of every written value paid that per value and feature. This module computes
the same thing for a whole array at once:

- each value's hash is DataSketches' own: MurmurHash3 x64 128 (seed 9001) of the int64's 8 little-endian bytes,
  or of a string's UTF-8 bytes (empty strings are skipped, as DataSketches skips them);
- a value's coupon is the slot (the first hash word's low ``lg_k`` bits) and the rank (leading zeros of the second
  word, plus one, at most 63);
- a register keeps a slot's highest rank, and the registers are handed to DataSketches as a serialized
  ``HLL_8`` sketch in its own format, marked out of order: its estimate is the composite one any union gives.

The registers equal those of per-value updates bit for bit (``tests/unit/quality/test_hll.py``), so these sketches
union with the ones Spark and the Python binding build. Below ``SET_COUPONS`` occupied slots a batch goes through
per-value updates of its distinct values instead: DataSketches keeps so few values as a list of coupons, whose
estimate is all but exact, and a register image would give the HLL estimate (within about 1%) instead.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

SEED = 9001
"""DataSketches' default hash seed (``DEFAULT_SEED`` / ``DEFAULT_UPDATE_SEED``)."""

SET_COUPONS = 384
"""Fewer occupied slots than this: per-value updates (DataSketches promotes a set of coupons to HLL near here)."""

_C1, _C2 = np.uint64(0x87C37B91114253D5), np.uint64(0x4CF5AD432745937F)
_F1, _F2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_HLL_8_HLL_MODE = (2 << 2) | 2  # target type HLL_8, current mode HLL
_OUT_OF_ORDER = 16


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _fmix(k: np.ndarray) -> np.ndarray:
    k = k ^ (k >> np.uint64(33))
    k = k * _F1
    k = k ^ (k >> np.uint64(33))
    k = k * _F2
    return k ^ (k >> np.uint64(33))


def _mix_k1(k1: np.ndarray) -> np.ndarray:
    return _rotl(k1 * _C1, 31) * _C2


def _mix_k2(k2: np.ndarray) -> np.ndarray:
    return _rotl(k2 * _C2, 33) * _C1


def murmur3_int64(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """MurmurHash3 x64 128 (seed 9001) of each int64's 8 little-endian bytes: the two hash words, uint64."""
    with np.errstate(over="ignore"):  # 64-bit wraparound is the algorithm
        key = np.ascontiguousarray(values, dtype=np.int64).view(np.uint64)
        h1 = np.uint64(SEED) ^ _mix_k1(key)  # one 8-byte tail word
        return _finish(h1, np.full(len(h1), SEED, dtype=np.uint64), np.uint64(8))


def _finish(h1: np.ndarray, h2: np.ndarray, length: Any) -> tuple[np.ndarray, np.ndarray]:
    """MurmurHash3's finalization: the length mixed in, then both words avalanched (inside ``errstate``)."""
    h1 = h1 ^ length
    h2 = h2 ^ length
    h1 = h1 + h2
    h2 = h2 + h1
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = h1 + h2
    return h1, h2 + h1


def murmur3_bytes(padded: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MurmurHash3 x64 128 (seed 9001) of byte strings given as rows of ``padded`` (uint8, zero padded to a
    multiple of 16 columns) with their ``lengths``.

    The zero padding makes the tail exact: the tail words read from it are the ones MurmurHash3 assembles byte by
    byte, and mixing a zero word changes nothing, so every row takes the same steps, masked by its length.
    """
    n, width = padded.shape
    words = np.ascontiguousarray(padded).view("<u8").reshape(n, width // 8).astype(np.uint64)
    lengths = np.asarray(lengths, dtype=np.int64)
    full = lengths // 16
    h1 = np.full(n, SEED, dtype=np.uint64)
    h2 = np.full(n, SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for block in range(width // 16):
            k1, k2 = words[:, 2 * block], words[:, 2 * block + 1]
            whole = full > block
            tail = full == block
            b1 = _rotl(h1 ^ _mix_k1(k1), 27)
            b1 = (b1 + h2) * np.uint64(5) + np.uint64(0x52DCE729)
            b2 = _rotl(h2 ^ _mix_k2(k2), 31)
            b2 = (b2 + b1) * np.uint64(5) + np.uint64(0x38495AB5)
            t2 = h2 ^ _mix_k2(k2)
            t1 = h1 ^ _mix_k1(k1)
            h1 = np.where(whole, b1, np.where(tail, t1, h1))
            h2 = np.where(whole, b2, np.where(tail, t2, h2))
        return _finish(h1, h2, lengths.astype(np.uint64))


def _ranks(h2: np.ndarray) -> np.ndarray:
    """Leading zeros of each word, plus one, at most 63 (DataSketches' coupon value)."""
    top = (h2 >> np.uint64(11)).astype(np.float64)  # the top 53 bits: exact in a double
    zeros = 53 - np.frexp(top)[1]
    rare = top == 0  # the top 53 bits all zero (probability 2^-53): count into the low 11
    if rare.any():
        low = (h2[rare] & np.uint64(0x7FF)).astype(np.float64)
        zeros[rare] = 53 + 11 - np.frexp(low)[1]
    return (np.minimum(zeros, 62) + 1).astype(np.uint8)


def registers(h1: np.ndarray, h2: np.ndarray, lg_k: int) -> np.ndarray:
    """The ``2^lg_k`` HLL registers (uint8) of the hashes: per slot, the highest rank."""
    out = np.zeros(1 << lg_k, dtype=np.uint8)
    slots = (h1 & np.uint64((1 << lg_k) - 1)).astype(np.intp)
    np.maximum.at(out, slots, _ranks(h2))
    return out


def sketch_of_registers(regs: np.ndarray, lg_k: int) -> Any:
    """A DataSketches ``hll_sketch`` (``HLL_8``, HLL mode, out of order) holding ``regs``."""
    from datasketches import hll_sketch

    inverse = np.ldexp(1.0, -regs.astype(np.int64))
    kxq0, kxq1 = float(inverse[regs < 32].sum()), float(inverse[regs >= 32].sum())
    at_min = int(np.count_nonzero(regs == 0))  # HLL_8 keeps its current minimum at 0
    head = struct.pack("<8B", 10, 1, 7, lg_k, 0, _OUT_OF_ORDER, 0, _HLL_8_HLL_MODE)
    head += struct.pack("<3d2i", 0.0, kxq0, kxq1, at_min, 0)
    return hll_sketch.deserialize(head + regs.tobytes())


def padded_utf8(strings: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A pyarrow string array without nulls as (zero-padded uint8 rows, byte lengths); None when a value is
    longer than 64 bytes (the padded matrix would be wasteful; callers update per value)."""
    import pyarrow as pa

    if pa.types.is_large_string(strings.type) or pa.types.is_string_view(strings.type):
        strings = strings.cast(pa.string())
    offsets_buf, data_buf = strings.buffers()[1], strings.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[strings.offset: strings.offset + len(strings) + 1]
    lengths = np.diff(offsets).astype(np.int64)
    longest = int(lengths.max()) if len(lengths) else 0
    if longest > 64:
        return None
    width = max(16, -(-longest // 16) * 16)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    column = np.arange(width)
    inside = column[None, :] < lengths[:, None]
    index = np.where(inside, offsets[:-1, None].astype(np.int64) + column[None, :], 0)
    padded = np.where(inside, data[index] if len(data) else 0, 0).astype(np.uint8)
    return padded, lengths
