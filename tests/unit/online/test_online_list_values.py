"""Float64List features (``last_n(k)``) in the online value blob: row and vectorized encodings agree and
decode to the lists written, next to strings and numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from aquifer import BatchSource, Entity, FeatureView, Field
from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.frames import encode_batch
from aquifer.stores.online.keys import entity_group
from aquifer.types import Float64, Float64List, String

T = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FIELDS = [Field("last_3", Float64List), Field("merchant", String), Field("x", Float64), Field("empty", Float64List)]


def test_lists_round_trip() -> None:
    codec = ViewCodec(FIELDS)
    for values in ([[1.5, -2.0, 1e300], "m1", 3.0, []], [None, None, None, None], [[0.1], None, None, [2.0]]):
        decoded = codec.decode(codec.encode(values, T))
        assert decoded is not None and decoded[2] == values


def test_vectorized_encoding_equals_row_encoding() -> None:
    codec = ViewCodec(FIELDS)
    view = FeatureView("v", entities=[Entity("user", join_keys=["user_id"])], source=BatchSource("s", path="x"),
                       schema=FIELDS)
    ts = pa.array([T, T], pa.timestamp("us", tz="UTC"))
    table = pa.table({"user_id": [1, 2], "event_ts": ts,
                      "last_3": pa.array([[1.0, 2.0, 3.0], None], pa.list_(pa.float64())),
                      "merchant": ["m", None], "x": [1.0, None],
                      "empty": pa.array([[], None], pa.list_(pa.float64()))})
    writes, _ = encode_batch(table, codec, entity_group(view), "p", "v")
    assert writes[0][1][0][1] == codec.encode([[1.0, 2.0, 3.0], "m", 1.0, []], T)
    assert writes[1][1][0][1] == codec.encode([None, None, None, None], T)
