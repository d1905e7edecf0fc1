"""The ``kafka:`` section of ``aquifer.yaml`` reaching confluent-kafka and quixstreams (no broker needed)."""

from __future__ import annotations

import pytest

from aquifer.engines.stream import GROUP_DEFAULTS, kafka_client_config, quix_app_settings

SECURE = {
    "bootstrap_servers": "kafka-1.internal:9093,kafka-2.internal:9093",
    "conf": {
        "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "aquifer",
        "sasl.password": "s3cret", "ssl.ca.location": "/etc/ssl/ca.pem", "client.id": "aquifer-stream",
        "session.timeout.ms": 45000, "batch.num.messages": 1,
    },
}


@pytest.mark.timeout(10)
def test_security_keys_pass_through_untouched_to_every_role():
    for role in ("consumer", "producer", "admin"):
        conf = kafka_client_config(SECURE, role)
        assert conf["bootstrap.servers"] == SECURE["bootstrap_servers"]
        for key in ("security.protocol", "sasl.mechanisms", "sasl.username", "sasl.password", "ssl.ca.location",
                    "client.id"):
            assert conf[key] == SECURE["conf"][key], (role, key)


@pytest.mark.timeout(10)
def test_group_timing_is_a_default_and_keys_stay_with_their_role():
    plain = kafka_client_config({"bootstrap_servers": "127.0.0.1:9092"})
    assert plain == {"bootstrap.servers": "127.0.0.1:9092", **GROUP_DEFAULTS}
    consumer = kafka_client_config(SECURE, "consumer")
    assert consumer["session.timeout.ms"] == 45000  # conf wins over the default
    assert consumer["heartbeat.interval.ms"] == GROUP_DEFAULTS["heartbeat.interval.ms"]
    assert "batch.num.messages" not in consumer
    producer = kafka_client_config(SECURE, "producer")
    assert producer["batch.num.messages"] == 1
    assert not set(GROUP_DEFAULTS) & set(producer)
    admin = kafka_client_config(SECURE, "admin")
    assert "batch.num.messages" not in admin and not set(GROUP_DEFAULTS) & set(admin)


@pytest.mark.timeout(10)
def test_no_bootstrap_servers_is_refused():
    with pytest.raises(ValueError, match="bootstrap_servers"):
        kafka_client_config({"bootstrap_servers": "", "conf": {}})
    assert kafka_client_config({"conf": {"bootstrap.servers": "b:9092"}}, "producer") == {"bootstrap.servers": "b:9092"}


@pytest.mark.timeout(30)
def test_quix_gets_the_connection_and_the_rest_as_extra_config():
    settings = quix_app_settings(SECURE)
    connection = settings["broker_address"].as_librdkafka_dict()
    assert connection["bootstrap.servers"] == SECURE["bootstrap_servers"]
    assert connection["security.protocol"] == "sasl_ssl" and connection["sasl.mechanism"] == "SCRAM-SHA-512"
    assert connection["sasl.username"] == "aquifer" and connection["sasl.password"] == "s3cret"
    assert connection["ssl.ca.location"] == "/etc/ssl/ca.pem"
    assert settings["consumer_extra_config"]["session.timeout.ms"] == 45000
    assert settings["consumer_extra_config"]["heartbeat.interval.ms"] == GROUP_DEFAULTS["heartbeat.interval.ms"]
    assert settings["producer_extra_config"] == {"batch.num.messages": 1}
    assert "sasl.password" not in settings["consumer_extra_config"]
