"""API keys: stored as sha256 hashes in ``aquifer.yaml`` (``api.api_keys``), sent in the ``X-API-Key`` header.

``aquifer.yaml`` holds ``sha256:<hex>`` (or the bare 64-char hex) of each key, never the key itself;
``python -m aquifer.api.auth KEY`` prints the line to paste. Write and trigger routes always need a
key (with none configured they are closed); reads need one when ``api.require_key_for_reads`` is true.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from collections.abc import Callable
from typing import Any

from fastapi import Header, HTTPException, Request

HEADER = "X-API-Key"


def hash_api_key(key: str) -> str:
    """The value to store in ``api.api_keys`` for ``key``: ``sha256:<hex digest>``."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str | None, configured: list[str]) -> bool:
    """True when ``key`` hashes to one of the configured hashes (constant-time comparisons)."""
    if not key:
        return False
    digest = hashlib.sha256(key.encode()).hexdigest()
    found = False
    for entry in configured:
        expected = str(entry).removeprefix("sha256:").lower()
        found |= hmac.compare_digest(digest, expected)
    return found


def check_key(api: dict[str, Any], key: str | None, *, write: bool) -> None:
    """Raise 401/403 unless ``key`` may use a ``write`` (or read) route under the ``api`` config section."""
    if not write and not api.get("require_key_for_reads", False):
        return
    configured = list(api.get("api_keys") or [])
    if not configured:
        raise HTTPException(403, "this route needs an API key, and none is configured (api.api_keys in aquifer.yaml)")
    if not key:
        raise HTTPException(401, f"missing API key: send it in the {HEADER} header")
    if not key_matches(key, configured):
        raise HTTPException(403, "invalid API key")


def require_key(*, write: bool) -> Callable[..., Any]:
    """A FastAPI dependency checking ``X-API-Key``: always for ``write`` routes, for reads when configured."""

    async def dependency(request: Request, x_api_key: str | None = Header(default=None)) -> None:
        # async: a plain def would be run in the threadpool, one thread hop per request for a hash
        check_key(request.app.state.api_config, x_api_key, write=write)

    return dependency


if __name__ == "__main__":  # python -m aquifer.api.auth KEY
    print(hash_api_key(sys.argv[1]))
