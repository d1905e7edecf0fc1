"""Value blobs and entity keys: round trips for every type, nulls, layouts and composite keys."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from aquifer import BatchSource, Entity, FeatureView, Field
from aquifer.stores.online.codec import ViewCodec, event_time_of, from_micros, to_micros
from aquifer.stores.online.frames import encode_batch
from aquifer.stores.online.keys import EntityKeyError, entity_group, split_key
from aquifer.types import Bool, Bytes, Float32, Float64, Int32, Int64, String, Timestamp

T = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
FIELDS = [Field("i64", Int64), Field("i32", Int32), Field("f64", Float64), Field("f32", Float32),
          Field("s", String), Field("b", Bool), Field("ts", Timestamp), Field("raw", Bytes), Field("s2", String)]
VALUES = [-(2**63), 2**31 - 1, 1e-300, 0.5, "héllo|\\:", True, T, b"\x00\xff", ""]


def test_round_trip_every_type():
    codec = ViewCodec(FIELDS)
    blob = codec.encode(VALUES, T, 7)
    assert codec.decode(blob) == (to_micros(T), 7, VALUES)
    assert event_time_of(blob) == to_micros(T) and blob[:8] == struct.pack(">q", to_micros(T))


@pytest.mark.parametrize("null", range(len(FIELDS)))
def test_each_null(null):
    codec = ViewCodec(FIELDS)
    values = list(VALUES)
    values[null] = None
    assert codec.decode(codec.encode(values, 0))[2] == values


def test_nan_is_null_and_layout_change_is_missing():
    codec = ViewCodec([Field("x", Float64), Field("y", Int64)])
    blob = codec.encode([float("nan"), 3], -1)
    assert codec.decode(blob) == (-1, 0, [None, 3])
    assert ViewCodec([Field("x", Float64), Field("y", Float64)]).decode(blob) is None
    assert codec.decode(b"short") is None


def test_many_features_bitmap():
    fields = [Field(f"f{i}", Int64) for i in range(70)]
    values = [None if i % 3 == 0 else i for i in range(70)]
    assert ViewCodec(fields).decode(ViewCodec(fields).encode(values, 1))[2] == values


def test_time_conversions():
    import numpy as np
    import pandas as pd

    us = to_micros(T)
    assert to_micros(pd.Timestamp(T)) == us == to_micros(np.datetime64(T.replace(tzinfo=None), "us"))
    assert to_micros(T.replace(tzinfo=None)) == us and from_micros(us) == T
    assert to_micros(datetime(1960, 1, 1, tzinfo=UTC)) < 0


def test_vectorized_encoding_equals_row_encoding():
    codec = ViewCodec(FIELDS)
    view = _view([Entity("user", join_keys=["user_id"])], FIELDS)
    ts = pa.array([T, T], pa.timestamp("us", tz="UTC"))
    columns = {f.name: [v, None] for f, v in zip(FIELDS, VALUES, strict=True)}
    columns["ts"] = pa.array([T, None], pa.timestamp("us", tz="UTC"))
    columns["f32"] = pa.array([0.5, None], pa.float32())
    columns["i32"] = pa.array([2**31 - 1, None], pa.int32())
    table = pa.table({"user_id": [1, 2], "event_ts": ts, "created_ts": ts, **columns})
    writes, newest = encode_batch(table, codec, entity_group(view), "p", "v")
    assert newest == to_micros(T)
    assert writes[0] == ("aq:p:user:1", (("v", codec.encode(VALUES, T, T)),))
    assert writes[1][1][0][1] == codec.encode([None] * len(FIELDS), T, T)


def _view(entities, fields) -> FeatureView:
    return FeatureView("v", entities=entities, source=BatchSource("s", path="x.parquet"), schema=fields)


def test_composite_keys_are_unambiguous():
    account = Entity("account", join_keys=["bank", "no"], key_types=[String, Int64])
    group = entity_group(_view([account], [Field("x", Int64)]))
    a = group.key_of("p", {"bank": "a|b", "no": 1})
    b = group.key_of("p", {"bank": "a", "no": 1})
    c = group.key_of("p", {"bank": "a\\", "no": "1"})
    assert len({a, b, c}) == 3 and a == "aq:p:account:a\\|b|1"
    assert split_key(a.removeprefix("aq:p:account:")) == ["a|b", "1"]
    assert split_key(c.removeprefix("aq:p:account:")) == ["a\\", "1"]
    with pytest.raises(EntityKeyError, match="no"):
        group.key_of("p", {"bank": "a"})
    with pytest.raises(EntityKeyError, match="must be Int64"):
        group.key_of("p", {"bank": "a", "no": "x"})


def test_entity_group_sorted_and_shared():
    user, merchant = Entity("user", join_keys=["user_id"]), Entity("merchant", join_keys=["merchant_id"])
    g1 = entity_group(_view([user, merchant], [Field("x", Int64)]))
    g2 = entity_group(_view([merchant, user], [Field("x", Int64)]))
    assert g1 == g2 and g1.name == "merchant+user" and g1.join_keys == ("merchant_id", "user_id")
    assert g1.key_of("p", {"user_id": 1, "merchant_id": 2.0}) == "aq:p:merchant+user:2|1"
    b = entity_group(_view([Entity("flag", join_keys=["k"], key_types=[Bool])], [Field("x", Int64)]))
    assert b.encode([True]) == "true"
    with pytest.raises(EntityKeyError):
        g1.encode([True, 1])


@pytest.mark.parametrize("fields", [[Field("x", Float64), Field("n", Int64), Field("ok", Bool)], FIELDS],
                         ids=["numeric", "mixed"])
def test_decode_many_equals_decode_one_by_one(fields):
    import random

    codec, other = ViewCodec(fields), ViewCodec([*fields, Field("extra", Int32)])
    rng = random.Random(7)
    base = VALUES if fields is FIELDS else [1.5, -3, True]
    blobs: list[bytes | None] = []
    for k in range(300):
        values = list(base)
        for i in range(len(values)):
            if rng.random() < 0.2:
                values[i] = None
        blob = codec.encode(values, k, k % 7)
        kind = rng.random()
        if kind < 0.1:
            blob = None
        elif kind < 0.15:
            blob = other.encode([*values, 1], k)  # another layout: missing
        elif kind < 0.2:
            blob = blob[:5]  # damaged: missing
        elif kind < 0.25:
            blob = blob + b"junk"  # longer than the layout
        blobs.append(blob)
    many = codec.decode_many(blobs)
    assert [None if d is None else (d[0], d[1], list(d[2])) for d in many] == [
        None if b is None else codec.decode(b) for b in blobs]
