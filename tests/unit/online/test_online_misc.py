"""Pure pieces of the online side: materialize ranges, API-key hashing, CLI entity parsing, statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aquifer.api.auth import hash_api_key, key_matches
from aquifer.cli.online_commands import parse_entities
from aquifer.runs.materialize import materialize_range, to_end
from aquifer.serving.status import MISSING, PRESENT, STALE, age_status

END = datetime(2024, 3, 1, tzinfo=UTC)
FLOOR = datetime(2020, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_materialize_range():
    ttl = timedelta(days=30)
    assert materialize_range([], END, ttl=ttl, lateness=H, floor=FLOOR) == (END - ttl, END)
    assert materialize_range([], END, ttl=None, lateness=H, floor=FLOOR) == (FLOOR, END)
    assert materialize_range([(END - ttl, END)], END, ttl=ttl, lateness=H, floor=FLOOR) is None
    later = END + timedelta(days=1)
    assert materialize_range([(END - ttl, END)], later, ttl=ttl, lateness=H, floor=FLOOR) == (END - H, later)
    old = [(END - timedelta(days=90), END - timedelta(days=60))]
    assert materialize_range(old, END, ttl=ttl, lateness=H, floor=FLOOR) == (END - ttl, END)
    capped = materialize_range([], END, ttl=ttl, lateness=H, floor=FLOOR, computed_until=END - H)
    assert capped == (END - H - ttl, END - H)


def test_to_end():
    assert to_end("2024-03-01T00:00:00") == END == to_end("2024-03-01T01:00:00+01:00") == to_end("2024-03-01Z")
    assert to_end(None).tzinfo is not None


def test_api_keys_hashed():
    stored = hash_api_key("s3cret")
    assert stored.startswith("sha256:") and "s3cret" not in stored
    assert key_matches("s3cret", [stored]) and key_matches("s3cret", ["x", stored.removeprefix("sha256:")])
    assert not key_matches("wrong", [stored]) and not key_matches(None, [stored]) and not key_matches("s3cret", [])


def test_parse_entities():
    assert parse_entities(["user_id=1", "user_id=2"]) == [{"user_id": "1"}, {"user_id": "2"}]
    assert parse_entities(["user_id=1", "merchant_id=5", "user_id=2", "merchant_id=6"]) == [
        {"user_id": "1", "merchant_id": "5"}, {"user_id": "2", "merchant_id": "6"}]
    assert parse_entities(["bank=a,no=1"]) == [{"bank": "a", "no": "1"}]
    from aquifer.cli.common import UsageProblem

    with pytest.raises(UsageProblem):
        parse_entities(["user_id"])


def test_age_status():
    assert age_status(5, 10, None) == (PRESENT, False)
    assert age_status(11, 10, None) == (STALE, True)
    assert age_status(6, 10, 5) == (STALE, False)
    assert MISSING == "missing"
