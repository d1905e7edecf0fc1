"""Declared defaults reach Spark SQL as literals that read back as the same Python values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from aquifer.engines.spark.pit import _literal

pytestmark = pytest.mark.spark

VALUES = [True, False, 0, -(2**62), 0.5, -1e-300, "it's a \\ path", "", b"\x00\xffab",
          datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_literal_round_trips(spark, value):
    got = spark.sql(f"SELECT {_literal(value)} AS x").first()["x"]
    if isinstance(value, datetime):
        got = got.replace(tzinfo=UTC) if got.tzinfo is None else got
        assert got == value
    elif isinstance(value, bytes):
        assert bytes(got) == value
    else:
        assert got == value and type(got) is type(value)


def test_special_floats_and_time_zones(spark):
    row = spark.sql(f"SELECT {_literal(float('nan'))} AS n, {_literal(float('-inf'))} AS i, "
                    f"unix_micros({_literal(datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))}) AS a, "
                    f"unix_micros({_literal(datetime(2024, 1, 1))}) AS b").first()
    assert math.isnan(row["n"]) and row["i"] == float("-inf")
    assert row["a"] == row["b"] == int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)  # naive = UTC
