"""Durations parse from short strings and format back into feature-name labels."""

from datetime import timedelta

import pytest

from aquifer.definitions import format_duration, parse_duration
from aquifer.definitions.durations import DurationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(minutes=90)),
        (" 1W ", timedelta(weeks=1)),
        (30, timedelta(seconds=30)),
        (timedelta(hours=1), timedelta(hours=1)),
    ],
)
def test_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m5", "5 minutes", "1h-", True, None])
def test_parse_refuses(text):
    with pytest.raises(DurationError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "label"),
    [(timedelta(minutes=5), "5m"), (timedelta(minutes=90), "90m"), (timedelta(days=7), "1w"),
     (timedelta(hours=1), "1h"), (timedelta(milliseconds=1500), "1500ms")],
)
def test_format(value, label):
    assert format_duration(value) == label
    assert parse_duration(label) == value
