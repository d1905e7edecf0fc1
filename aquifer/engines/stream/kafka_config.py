"""Client settings from the ``kafka:`` section of ``aquifer.yaml``, for confluent-kafka and quixstreams.

The section is ``{bootstrap_servers: "host:port", conf: {librdkafka key: value, ...}}``. Everything under
``conf`` (SASL, SSL, client ids, tuning) reaches librdkafka untouched: the product works with any Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Role = Literal["consumer", "producer", "admin"]

# Defaults only: a key in `conf` wins. Group joins on the test broker (Tansu) take half of
# session.timeout.ms, and 6000 is also the smallest session Kafka brokers accept by default.
GROUP_DEFAULTS: dict[str, Any] = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
# librdkafka ignores, with a warning, consumer-only properties given to a producer or an admin client...
_CONSUMER_ONLY = frozenset({
    "group.id", "group.instance.id", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
    "auto.offset.reset", "enable.auto.commit", "auto.commit.interval.ms", "enable.auto.offset.store",
    "partition.assignment.strategy", "isolation.level", "fetch.min.bytes", "fetch.wait.max.ms",
    "fetch.max.bytes", "max.partition.fetch.bytes", "fetch.queue.backoff.ms", "group.protocol",
})
# ... and when a consumer or an admin client is given producer-only ones
_PRODUCER_ONLY = frozenset({
    "acks", "request.required.acks", "enable.idempotence", "transactional.id", "transaction.timeout.ms",
    "linger.ms", "queue.buffering.max.ms", "batch.num.messages", "batch.size", "compression.type",
    "compression.codec", "partitioner", "message.timeout.ms", "delivery.timeout.ms", "retries",
    "message.send.max.retries", "queue.buffering.max.messages", "queue.buffering.max.kbytes",
})
_NOT_FOR: dict[str, frozenset[str]] = {
    "consumer": _PRODUCER_ONLY, "producer": _CONSUMER_ONLY, "admin": _CONSUMER_ONLY | _PRODUCER_ONLY,
}


def kafka_client_config(kafka: Mapping[str, Any], role: Role = "consumer") -> dict[str, Any]:
    """A librdkafka configuration dict for one client ``role`` from the ``kafka:`` section.

    ``bootstrap_servers`` becomes ``bootstrap.servers``; every ``conf`` entry passes through as given
    (``conf["bootstrap.servers"]`` included, which then wins). Consumers also get ``GROUP_DEFAULTS`` for any
    key ``conf`` does not set. Keys librdkafka would ignore for the role (consumer-only keys for a producer,
    producer-only keys for a consumer, both for an admin client) are left out, which also keeps its logs quiet.
    """
    conf = dict(kafka.get("conf") or {})
    out: dict[str, Any] = {}
    if kafka.get("bootstrap_servers"):
        out["bootstrap.servers"] = str(kafka["bootstrap_servers"])
    if role == "consumer":
        out.update(GROUP_DEFAULTS)
    out.update({k: v for k, v in conf.items() if k not in _NOT_FOR[role]})
    if "bootstrap.servers" not in out:
        raise ValueError("the kafka: section names no bootstrap_servers (nor conf['bootstrap.servers'])")
    return out


def quix_app_settings(kafka: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``quixstreams.Application`` from the ``kafka:`` section.

    Returns ``broker_address`` (a ``ConnectionConfig`` holding the connection and security keys, so quix's
    admin client gets them too), ``consumer_extra_config`` and ``producer_extra_config`` (everything else).
    """
    from quixstreams.kafka.configuration import ConnectionConfig

    consumer = kafka_client_config(kafka, "consumer")
    producer = kafka_client_config(kafka, "producer")
    connection = ConnectionConfig.from_librdkafka_dict(consumer, ignore_extras=True)
    keys = set(connection.as_librdkafka_dict())
    if "sasl.mechanism" in keys:  # librdkafka's alias, which quix renames
        keys.add("sasl.mechanisms")
    return {
        "broker_address": connection,
        "consumer_extra_config": {k: v for k, v in consumer.items() if k not in keys},
        "producer_extra_config": {k: v for k, v in producer.items() if k not in keys},
    }

