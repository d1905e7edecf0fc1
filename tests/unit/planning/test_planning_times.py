"""parse_time: ISO 8601 where a time without an offset is UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aquifer.planning import as_utc, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T12:30", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (" 2024-05-01 12:30:15.5 ", datetime(2024, 5, 1, 12, 30, 15, 500000, tzinfo=UTC)),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T14:30:00+02:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected and parsed.tzinfo is UTC


def test_parse_time_errors_and_datetimes() -> None:
    with pytest.raises(ValueError, match="a time without an offset is UTC"):
        parse_time("yesterday")
    plus2 = timezone(timedelta(hours=2))
    assert parse_time(datetime(2024, 5, 1, 2, tzinfo=plus2)) == datetime(2024, 5, 1, tzinfo=UTC)
    assert as_utc(datetime(2024, 5, 1)).tzinfo is UTC
