"""The stream path of the newer functions without Kafka: JSON payloads through ``EventParser`` (text values
and ``by`` columns kept, numbers checked), ``WindowOperator`` and the sink's vector encoding (``OnlineSink.vector``,
which writes nothing) decode to the brute-force values of ``aggregation_oracle``."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from aggregation_oracle import agree, grid_rows, lifetime_as_of

from aquifer.aggregations import WindowOperator, to_micros
from aquifer.definitions import Aggregation, AggregationView, Entity, KafkaSource, Lifetime, Tumbling
from aquifer.engines.stream.events import BadEvent, EventParser
from aquifer.engines.stream.sink import OnlineSink
from aquifer.types import Int64, String

HOUR = 3_600_000_000
WINDOW = Tumbling("1h", offset="15m")
AGGS = [
    Aggregation("merchant", "max_by", WINDOW, by="amount", value_type=String),
    Aggregation("merchant", "last", Lifetime(), value_type=String),
    Aggregation("merchant", "approx_distinct", WINDOW),
    Aggregation("amount", "last_n(3)", Lifetime()),
    Aggregation("amount", "stddev_samp", WINDOW),
    Aggregation("amount", "sum", WINDOW),
]
VIEW = AggregationView("spend", entities=[Entity("user", join_keys=["user_id"], key_types=[Int64])],
                       source=KafkaSource("tx", topic="tx", timestamp_field="ts"), aggregations=AGGS)


def test_json_events_to_online_vectors() -> None:
    rng = random.Random(5)
    parser = EventParser(VIEW)
    op = WindowOperator(VIEW.aggregations)
    sink = OnlineSink(None, "p", VIEW)  # type: ignore[arg-type]  # vector() builds bytes; nothing is written
    t0 = to_micros(datetime(2026, 1, 1, tzinfo=UTC))
    payloads = []
    for i in range(60):
        seconds = (t0 + i * HOUR // 7) // 1_000_000 + rng.choice([0, 0, 1])  # equal times now and then
        amount = rng.choice([None, 1, 2.5, 2.5, 7])
        merchant = rng.choice([None, "m1", "m2", "m3"])
        ts = datetime.fromtimestamp(seconds, tz=UTC).isoformat()
        payloads.append({"user_id": 1, "ts": ts, "amount": amount, "merchant": merchant})
    events = []
    state, vector = op.new_state(), None
    watermark = None
    for payload in payloads:
        event = parser.parse(json.dumps(payload).encode())
        assert event.values["merchant"] == payload["merchant"]  # text kept
        events.append((event.ts_us, event.values))
        state, late = op.on_event(state, event.ts_us, event.values, watermark_us=watermark)
        assert not late
        watermark = event.ts_us
        state, rows = op.on_watermark(state, watermark)
        vector = sink.vector(vector, rows)
    end = watermark + 2 * HOUR
    state, rows = op.on_watermark(state, end)
    vector = sink.vector(vector, rows)
    decoded = sink.codec.decode(vector)
    assert decoded is not None and decoded[0] == end
    for a, value in zip(AGGS, decoded[2], strict=True):
        column = [(ts, values.get(a.column), values.get(a.by) if a.by else None) for ts, values in events]
        if isinstance(a.window, Lifetime):
            want = lifetime_as_of(a.function, column, end)
        else:
            rows_ = [r for r in grid_rows(a.window, a.function, column) if r[1] <= end]
            want = max(rows_, key=lambda r: r[1])[2]
        assert agree(a.function, value, want), (a.feature_name, value, want)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("amount", "12", "field 'amount' must be a number"),
    ("merchant", ["m1"], "field 'merchant' must be text, a number or true/false"),
])
def test_wrong_types_refused(field: str, value: object, message: str) -> None:
    payload = {"user_id": 1, "ts": "2026-01-01T00:00:00Z", "amount": 1.0, "merchant": "m1", field: value}
    with pytest.raises(BadEvent, match=message):
        EventParser(VIEW).parse(json.dumps(payload).encode())
