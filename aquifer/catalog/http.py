"""One JSON POST with a timeout: what the webhook and DataHub's REST emitter send."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class HookHttpError(RuntimeError):
    """The endpoint answered with an error status, or could not be reached; the message names the URL."""


def post_json(url: str, body: Any, *, headers: dict[str, str] | None = None, timeout_s: float = 5.0) -> int:
    """POST ``body`` as JSON to ``url``; the status (2xx), else ``HookHttpError`` naming the URL and status."""
    data = json.dumps(body, default=str).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise HookHttpError(f"POST {url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HookHttpError(f"POST {url} failed: {reason}") from None
