"""Materialized rows whose stored types do not fit the declared schema are refused, never coerced (#14 part 4).

Before the check, pyarrow's casts silently turned text into numbers ("12" -> 12), integers into booleans and
into text (``bytes(5)``: five zero bytes), and integral doubles into integers.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from aquifer import BatchSource, Entity, FeatureView, Field
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.frames import MaterializedTypeError, encode_batch, pack_batch
from aquifer.stores.online.keys import entity_group
from aquifer.types import Bool, Float64, Int32, Int64, String

T = datetime(2026, 1, 2, tzinfo=UTC)


def rows(**features: pa.Array) -> pa.Table:
    n = len(next(iter(features.values())))
    ts = pa.array([T] * n, pa.timestamp("us", tz="UTC"))
    return pa.table({"user_id": list(range(1, n + 1)), "event_ts": ts, "created_ts": ts, **features})


def view(field: Field) -> FeatureView:
    return FeatureView("spend", entities=[Entity("user", join_keys=["user_id"])],
                       source=BatchSource("s", path="x.parquet"), schema=[field])


@pytest.mark.parametrize(("field", "column", "stored"), [
    (Field("amount", Float64), pa.array([None, "12.5", "abc"]), "string"),
    (Field("count", Int64), pa.array([None, 2.0, 3.5]), "double"),
    (Field("country", String), pa.array([None, 5, 7]), "int64"),
    (Field("flag", Bool), pa.array([None, 1, 0]), "int64"),
    (Field("small", Int32), pa.array([None, 2**40, 1]), "int64"),
])
def test_a_stored_type_the_schema_does_not_accept_is_a_clear_error(field, column, stored):
    v = view(field)
    table = rows(**{field.name: column})
    for encode in (encode_batch, pack_batch):
        with pytest.raises(MaterializedTypeError) as info:
            encode(table, ViewCodec(v.features), entity_group(v), "p", "spend")
        message = str(info.value)
        assert f"view 'spend': feature {field.name!r} is declared {field.dtype.name}" in message
        assert f"hold {stored}" in message and "user_id=2" in message  # the first non-null row


@pytest.mark.parametrize(("field", "column"), [
    (Field("amount", Float64), pa.array([1, 2], pa.int64())),  # widening is fine
    (Field("amount", Float64), pa.array([1.5, 2.5], pa.float32())),
    (Field("count", Int64), pa.array([1, 2], pa.int32())),
    (Field("country", String), pa.array([None, None], pa.null())),  # only nulls
])
def test_widening_and_all_null_columns_pass(field, column):
    v = view(field)
    writes, _ = encode_batch(rows(**{field.name: column}), ViewCodec(v.features), entity_group(v), "p", "spend")
    assert len(writes) == 2
