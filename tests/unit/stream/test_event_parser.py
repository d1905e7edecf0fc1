"""The stream's payload parser on what producers send: its fast paths (orjson, exact JSON types, integer times
and keys) give the events and refusals the rules in ``events.py`` name, checked against hand-written answers."""

from __future__ import annotations

import pytest

from aquifer.definitions import Aggregation, AggregationView, Entity, Field, KafkaSource, Tumbling
from aquifer.engines.stream.events import BadEvent, EventParser
from aquifer.types import Bool, Float64, Int64, String


def parser(unit: str | None = "ms") -> EventParser:
    source = KafkaSource("tx", topic="tx", timestamp_field="ts", timestamp_unit=unit,
                         schema=[Field("user_id", Int64), Field("amount", Float64), Field("channel", String),
                                 Field("flagged", Bool)])
    view = AggregationView("spend", entities=[Entity("user", join_keys=["user_id"], key_types=[Int64])],
                           source=source, aggregations=[Aggregation("amount", "sum", Tumbling("1h"))])
    return EventParser(view)


@pytest.mark.parametrize(("payload", "key", "ts_us", "amount"), [
    (b'{"user_id": 7, "ts": 1700000000123, "amount": 2}', "7", 1_700_000_000_123_000, 2.0),
    (b'{"user_id": -7, "ts": 1700000000123.5, "amount": 2.5}', "-7", 1_700_000_000_123_500, 2.5),
    (b'{"user_id": 7, "ts": "2023-11-14T22:13:20Z", "amount": null}', "7", 1_700_000_000_000_000, None),
    (b'{"user_id": 7, "ts": 1700000000000, "amount": NaN}', "7", 1_700_000_000_000_000, "nan"),  # stdlib's JSON
    (b'\n  {"user_id": 7, "ts": 1700000000000, "amount": 1e3, "flagged": true, "channel": "web"}  ',
     "7", 1_700_000_000_000_000, 1000.0),
])
def test_events_as_producers_send_them(payload: bytes, key: str, ts_us: int, amount: object) -> None:
    event = parser().parse(payload)
    assert (event.key, event.ts_us) == (key, ts_us)
    got = event.values["amount"]
    assert (got != got) if amount == "nan" else got == amount


@pytest.mark.parametrize(("payload", "kind", "names"), [
    (b'{"user_id": 7, "ts": 17', "malformed", "not JSON"),
    (b'\xff\xfe{"user_id": 7}', "malformed", "not JSON"),
    (b'"just text"', "malformed", "got str"),
    (b'{"user_id": 7, "amount": 1}', "missing_timestamp", "'ts'"),
    (b'{"ts": 1700000000000, "amount": 1}', "missing_key", "'user_id'"),
    (b'{"user_id": true, "ts": 1700000000000}', "wrong_type", "'user_id'"),
    (b'{"user_id": 7.5, "ts": 1700000000000}', "wrong_type", "'user_id'"),
    (b'{"user_id": 7.0, "ts": 1700000000000}', "wrong_type", "'user_id'"),  # the schema says Int64
    (b'{"user_id": "7", "ts": 1700000000000}', "wrong_type", "'user_id'"),
    (b'{"user_id": 7, "ts": 1700000000000, "amount": "12"}', "wrong_type", "'amount'"),
    (b'{"user_id": 7, "ts": 1700000000000, "amount": false}', "wrong_type", "'amount'"),
    (b'{"user_id": 7, "ts": 1700000000000, "flagged": 1}', "wrong_type", "'flagged'"),
    (b'{"user_id": 7, "ts": 1700000000000, "channel": 3}', "wrong_type", "'channel'"),
    (b'{"user_id": 7, "ts": true}', "wrong_type", "'ts'"),
    (b'{"user_id": 7, "ts": -5}', "before_epoch", "'ts'"),
])
def test_refusals_name_the_field_and_reason(payload: bytes, kind: str, names: str) -> None:
    with pytest.raises(BadEvent) as refused:
        parser().parse(payload)
    assert refused.value.kind == kind and names in str(refused.value)


def test_an_integer_time_without_a_unit_is_refused_and_nanoseconds_round_down() -> None:
    with pytest.raises(BadEvent, match="declares no timestamp_unit"):
        parser(None).parse(b'{"user_id": 7, "ts": 1700000000000}')
    assert parser("ns").parse(b'{"user_id": 7, "ts": 1700000000000000999}').ts_us == 1_700_000_000_000_000


def test_a_missing_single_key_comes_from_the_message_key() -> None:
    event = parser().parse(b'{"ts": 1700000000000, "amount": 1}', b"42")
    assert event.key == "42" and event.data["user_id"] == "42"
