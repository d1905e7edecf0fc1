"""API keys with roles, sent in the ``X-API-Key`` header; ``aquifer.yaml``'s ``api.api_keys`` maps them.

Each entry is either a bare ``sha256:<hex>`` (an ``admin`` key, the original form) or a mapping::

    api:
      api_keys:
        - {name: ci, role: writer, key_env: AQ_CI_KEY}      # the key is in the server's environment
        - {name: dashboards, role: reader, sha256: 9f86d0...} # or only its hash is in the yaml
      require_key_for_reads: false

Roles nest: ``reader`` may read, ``writer`` may also trigger runs, materializations, pushes and drift
computations, ``admin`` may also apply definitions. The yaml never needs the key itself (``python -m
aquifer.api.auth KEY`` prints its hash). Answers: no key → 401; an unknown key, or a key whose role is below
the route's → 403 (naming the role needed). Write routes always need a key (with none configured they are
closed: 403); reads need one only when ``api.require_key_for_reads`` is true.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Header, HTTPException, Request

HEADER = "X-API-Key"
ROLES = ("reader", "writer", "admin")


@dataclass(frozen=True)
class KeyEntry:
    """One configured key: its name, role and sha256 hex digest (None: its environment variable is unset)."""

    name: str
    role: str
    digest: str | None


def hash_api_key(key: str) -> str:
    """The value to store in ``api.api_keys`` for ``key``: ``sha256:<hex digest>``."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def entries(configured: list[Any]) -> list[KeyEntry]:
    """The ``api.api_keys`` entries as ``KeyEntry``s (``key_env`` read from the environment now)."""
    out = []
    for i, entry in enumerate(configured):
        if isinstance(entry, dict):
            name, role = str(entry.get("name") or f"key#{i}"), str(entry.get("role", "reader"))
            if entry.get("key_env"):
                value = os.environ.get(str(entry["key_env"]))
                digest = hashlib.sha256(value.encode()).hexdigest() if value else None
            else:
                digest = str(entry.get("sha256", "")).removeprefix("sha256:").lower()
            out.append(KeyEntry(name, role, digest))
        else:
            out.append(KeyEntry(f"key#{i}", "admin", str(entry).strip().removeprefix("sha256:").lower()))
    return out


def role_of(key: str | None, configured: list[Any]) -> KeyEntry | None:
    """The entry ``key`` hashes to (constant-time comparisons over every entry), or None."""
    if not key:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    found = None
    for entry in entries(configured):
        if entry.digest is not None and hmac.compare_digest(digest, entry.digest) and found is None:
            found = entry
    return found


def key_matches(key: str | None, configured: list[str]) -> bool:
    """True when ``key`` hashes to one of the configured entries (any role)."""
    return role_of(key, configured) is not None


def check_key(api: dict[str, Any], key: str | None, *, write: bool = False, role: str | None = None) -> None:
    """Raise 401/403 unless ``key`` holds ``role`` (default: ``writer`` for a ``write`` route, else ``reader``)
    under the ``api`` config section; reads pass with no key unless ``require_key_for_reads``."""
    needed = role or ("writer" if write else "reader")
    if needed == "reader" and not api.get("require_key_for_reads", False):
        return
    configured = list(api.get("api_keys") or [])
    if not configured:
        raise HTTPException(403, "this route needs an API key, and none is configured (api.api_keys in aquifer.yaml)")
    if not key:
        raise HTTPException(401, f"missing API key: send it in the {HEADER} header")
    entry = role_of(key, configured)
    if entry is None:
        raise HTTPException(403, "invalid API key")
    if ROLES.index(entry.role) < ROLES.index(needed):
        raise HTTPException(403, f"this route needs the {needed} role; key {entry.name!r} has {entry.role}")


def require_key(*, write: bool = False, role: str | None = None) -> Callable[..., Any]:
    """A FastAPI dependency checking ``X-API-Key`` for ``role`` (``writer`` for ``write`` routes, else reader)."""

    async def dependency(request: Request, x_api_key: str | None = Header(default=None)) -> None:
        # async: a plain def would be run in the threadpool, one thread hop per request for a hash
        check_key(request.app.state.api_config, x_api_key, write=write, role=role)

    return dependency


if __name__ == "__main__":  # python -m aquifer.api.auth KEY
    print(hash_api_key(sys.argv[1]))
