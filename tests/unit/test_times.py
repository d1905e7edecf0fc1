"""aquifer.times: the one set of UTC and epoch-microsecond rules, and the modules that re-export it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from aquifer.times import EPOCH, as_utc, from_micros, parse_time, to_micros

PLUS2 = timezone(timedelta(hours=2))
T = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
T_US = 1714566615123456


def test_every_former_duplicate_is_the_shared_function() -> None:
    from aquifer import aggregations, planning
    from aquifer.aggregations import epoch
    from aquifer.planning import times as planning_times
    from aquifer.stores import online
    from aquifer.stores.online import codec

    assert planning.as_utc is planning_times.as_utc is as_utc
    assert planning.parse_time is parse_time
    assert aggregations.to_micros is epoch.to_micros is codec.to_micros is online.to_micros is to_micros
    assert aggregations.from_micros is epoch.from_micros is codec.from_micros is online.from_micros is from_micros
    assert aggregations.EPOCH is planning_times.EPOCH is EPOCH


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 1, 12, 30), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),  # naive means UTC
        (datetime(2024, 5, 1, 14, 30, tzinfo=PLUS2), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (pd.Timestamp("2024-05-01 12:30:00.000000999"), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (pd.Timestamp("2024-05-01 14:30", tz="Europe/Paris"), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_as_utc_gives_plain_utc_datetimes(value: datetime, expected: datetime) -> None:
    got = as_utc(value)
    assert got == expected
    assert type(got) is datetime and got.tzinfo is UTC


@pytest.mark.parametrize(("value", "kind"), [(date(2024, 5, 1), "a date without a time"),
                                              ("2024-05-01", "str"), (T_US, "int")])
def test_as_utc_refuses_what_is_not_a_datetime(value: object, kind: str) -> None:
    with pytest.raises(TypeError, match=f"start must be a datetime, got {kind}"):
        as_utc(value, "start")  # type: ignore[arg-type]


def test_parse_time_reads_text_and_datetimes() -> None:
    assert parse_time(" 2024-05-01T14:30:15.123456+02:00 ") == T
    assert parse_time("2024-05-01T12:30:15.123456Z") == T
    assert parse_time("2024-05-01 12:30:15.123456") == T  # no offset: UTC
    assert parse_time(pd.Timestamp(T)) == T and type(parse_time(pd.Timestamp(T))) is datetime
    with pytest.raises(ValueError, match=r"cannot read batch\.start 'soon'.*without an offset is UTC"):
        parse_time("soon", "batch.start")
    with pytest.raises(TypeError, match="must be ISO 8601 text or a datetime, got int"):
        parse_time(T_US)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (T_US, T_US),  # ints are microseconds already
        (T, T_US),
        (T.replace(tzinfo=None), T_US),  # naive means UTC
        (T.astimezone(PLUS2), T_US),
        (pd.Timestamp(T), T_US),
        (pd.Timestamp(T).tz_convert("Asia/Tokyo"), T_US),
        (pd.Timestamp("2024-05-01 12:30:15.123456999"), T_US),  # nanoseconds are floored
        (pd.Timestamp(-1500, unit="ns"), -2),  # floored before the epoch too
        (np.datetime64("2024-05-01T12:30:15.123456", "us"), T_US),
        (np.datetime64("2024-05-01T12:30:15.123456999", "ns"), T_US),
        (np.datetime64(-1500, "ns"), -2),
        (np.datetime64("2024-05-01", "D"), T_US - (12 * 3600 + 30 * 60 + 15) * 1_000_000 - 123456),
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), -1_000_000),
    ],
    ids=repr,
)
def test_to_micros(value: object, expected: int) -> None:
    assert to_micros(value) == expected


def test_to_micros_refuses_text_and_from_micros_round_trips() -> None:
    with pytest.raises(TypeError, match="cannot read a timestamp from '2024-05-01'"):
        to_micros("2024-05-01")
    assert from_micros(T_US) == T and from_micros(T_US).tzinfo is UTC
    assert from_micros(-1_000_000) == datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert from_micros(0) == EPOCH


def test_importing_times_loads_neither_pandas_nor_numpy() -> None:
    code = "import sys, aquifer.times; print(sorted({'pandas', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
