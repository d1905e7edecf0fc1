"""Fixtures of the web UI's tests: the repo (``ui_support.build``) built once per test module and the server
that shows it (uvicorn in a thread on a free loopback port)."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator

import pytest
from ui_support import Built, build, free_port, make_app


@pytest.fixture(scope="module")
def ui_redis_url(request, redis_server_url) -> str:
    """A Redis db owned by this test module (1..15 by its name), emptied first; never FLUSHALL."""
    import redis

    db = 1 + zlib.crc32(request.module.__name__.encode()) % 15
    url = f"{redis_server_url}/{db}" if redis_server_url.startswith("redis://") else f"{redis_server_url}?db={db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(scope="module")
def built(tmp_path_factory, ui_redis_url) -> Iterator[Built]:
    """The repo of this module, built once."""
    result = build(tmp_path_factory.mktemp("ui") / "repo", ui_redis_url)
    yield result
    result.store.close()


@pytest.fixture(scope="module")
def server(built) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free loopback port: its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(built.store), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
