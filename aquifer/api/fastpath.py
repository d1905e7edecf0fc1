"""``OnlineFastPath``: the online lookup served as plain ASGI, in front of FastAPI's routing.

FastAPI's request handling (routing, ``Request`` objects, exception middleware) costs about a third of
a millisecond per call, and more at the tail: on the hot route that is most of what is not Redis
(``bench/online.py``). This middleware answers ``POST /api/v1/online-features`` by calling the same
``lookup`` the FastAPI route calls, so the two cannot drift; every other request goes to FastAPI.
"""

from __future__ import annotations

from typing import Any

from aquifer.api.auth import HEADER
from aquifer.api.online import PATH, lookup

_KEY = HEADER.lower().encode()
_JSON = [(b"content-type", b"application/json")]


class OnlineFastPath:
    """ASGI middleware: the online-features route without FastAPI's per-request machinery."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Answer the online route directly; pass everything else (and other methods) through."""
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        api_key = next((v.decode("latin-1") for k, v in scope["headers"] if k == _KEY), None)
        status, body = lookup(scope["app"].state, b"".join(chunks), api_key)
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
