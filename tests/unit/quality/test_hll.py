"""Registers computed in numpy equal DataSketches' own per-value updates, bit for bit."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from datasketches import hll_sketch, hll_union, tgt_hll_type

from aquifer.quality import hll
from aquifer.quality.statistics import StatisticsSketch

LG_K = 12


def registers_of(sketch: hll_sketch) -> np.ndarray:
    """A sketch's registers, read from DataSketches' serialized HLL_8 image (header of 40 bytes)."""
    union = hll_union(LG_K)
    union.update(sketch)
    image = union.get_result(tgt_hll_type.HLL_8).serialize_updatable()
    assert len(image) == 40 + (1 << LG_K), "the sketch is not in HLL mode"
    return np.frombuffer(image[40:], dtype=np.uint8)


def one_by_one(values: list) -> hll_sketch:
    sketch = hll_sketch(LG_K)
    for value in values:
        sketch.update(value)
    return sketch


def test_int64_registers_equal_per_value_updates() -> None:
    values = np.random.default_rng(3).integers(-2**63, 2**63 - 1, 50_000, dtype=np.int64)
    values[:3] = [0, -1, 2**63 - 1]
    mine = hll.registers(*hll.murmur3_int64(values), LG_K)
    assert np.array_equal(mine, registers_of(one_by_one(values.tolist())))


def test_string_registers_equal_per_value_updates_at_every_length() -> None:
    rng = np.random.default_rng(4)
    words = ["a", "héllo", "x" * 15, "y" * 16, "z" * 17, "w" * 31, "q" * 32, "p" * 33, "日本語" * 5]
    words += [f"R{i:07d}" for i in range(20_000)]
    words += ["".join(rng.choice(list("abcdefgh"), rng.integers(1, 64))) for _ in range(5_000)]
    padded, lengths = hll.padded_utf8(pa.array(words))
    mine = hll.registers(*hll.murmur3_bytes(padded, lengths), LG_K)
    assert np.array_equal(mine, registers_of(one_by_one(words)))


def test_a_sliced_array_hashes_its_own_values_only() -> None:
    words = [f"item-{i}" for i in range(6_000)]
    padded, lengths = hll.padded_utf8(pa.array(words).slice(1_000, 3_000))
    mine = hll.registers(*hll.murmur3_bytes(padded, lengths), LG_K)
    assert np.array_equal(mine, registers_of(one_by_one(words[1_000:4_000])))


def test_long_strings_are_left_to_per_value_updates() -> None:
    assert hll.padded_utf8(pa.array(["short", "x" * 65])) is None


@pytest.mark.parametrize("n", [5_000, 200_000])
def test_the_image_reads_back_as_a_datasketches_sketch_that_unions(n: int) -> None:
    values = np.arange(n, dtype=np.int64) * 7919
    image = hll.sketch_of_registers(hll.registers(*hll.murmur3_int64(values), LG_K), LG_K)
    assert image.get_estimate() == pytest.approx(n, rel=0.05)
    # the union with a per-value sketch of the same values is the same registers, so the same estimate
    union = hll_union(LG_K)
    union.update(image)
    union.update(one_by_one(values.tolist()))
    assert union.get_estimate() == pytest.approx(image.get_estimate())
    assert np.array_equal(registers_of(image), registers_of(union.get_result()))


def test_statistics_distinct_counts_match_per_value_sketches() -> None:
    """Large batches go through registers, small ones through per-value updates; both count the same."""
    rng = np.random.default_rng(5)
    floats = rng.normal(0, 1, 100_000)
    ints = rng.integers(0, 50_000, 100_000)
    few = rng.integers(18, 91, 100_000)  # 73 values: per-value updates keep DataSketches' near-exact count
    texts = [f"r{i:06d}" for i in rng.integers(0, 30_000, 100_000)]
    for dtype, values, expected in [("Float64", floats, len(np.unique(floats))), ("Int64", ints, len(np.unique(ints))),
                                    ("Int64", few, 73), ("String", texts, len(set(texts)))]:
        sketch = StatisticsSketch("f", dtype)
        for part in range(4):  # four batches, then a merge with a second sketch of the same values
            sketch.update(pa.array(values[part::4] if dtype != "String" else texts[part::4]))
        assert sketch.summary().distinct == pytest.approx(expected, rel=0.04), dtype
        again = StatisticsSketch("f", dtype).update(pa.array(values if dtype != "String" else texts))
        assert again.merge(sketch).summary().distinct == pytest.approx(sketch.summary().distinct), dtype
    small = StatisticsSketch("f", "Int64").update(pa.array(few))
    assert small.summary().distinct == pytest.approx(73, abs=0.01)
