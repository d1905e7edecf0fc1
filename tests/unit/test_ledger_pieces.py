"""The registry ledger's piece algebra is planning's interval algebra per fingerprint (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aquifer.registry.ledger import coalesce, normalize, subtract

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(hour: int) -> datetime:
    return T0 + timedelta(hours=hour)


def test_coalesce_merges_touching_and_overlapping_and_drops_empty():
    ranges = [(at(5), at(6)), (at(0), at(2)), (at(2), at(3)), (at(1), at(2)), (at(4), at(4)), (at(7), at(6))]
    assert coalesce(ranges) == [(at(0), at(3)), (at(5), at(6))]


def test_normalize_coalesces_per_fingerprint_and_sorts_by_start():
    pieces = [("b", at(2), at(4)), ("a", at(0), at(2)), ("a", at(2), at(3)), ("b", at(0), at(1))]
    assert normalize(pieces) == [("a", at(0), at(3)), ("b", at(0), at(1)), ("b", at(2), at(4))]


def test_subtract_splits_straddling_pieces_of_every_fingerprint():
    pieces = [("a", at(0), at(10)), ("b", at(12), at(14)), ("a", at(20), at(22))]
    assert sorted(subtract(pieces, at(2), at(13))) == [
        ("a", at(0), at(2)), ("a", at(20), at(22)), ("b", at(13), at(14)),
    ]


def test_subtract_with_unbounded_sides():
    pieces = [("a", at(0), at(10)), ("b", at(12), at(14))]
    assert sorted(subtract(pieces, None, at(5))) == [("a", at(5), at(10)), ("b", at(12), at(14))]
    assert sorted(subtract(pieces, at(13), None)) == [("a", at(0), at(10)), ("b", at(12), at(13))]
    assert subtract(pieces, None, None) == []
