"""A generic webhook: each apply and each run state change POSTed as one JSON object.

Bodies are ``ApplyNotice.to_dict()`` (``{"event": "apply", ...}``) and ``RunNotice.to_dict()``
(``{"event": "run", "state": "START"|"COMPLETE"|"FAIL", ...}``); docs/catalog.md shows both.
"""

from __future__ import annotations

from aquifer.catalog.http import post_json
from aquifer.catalog.notices import ApplyNotice, RunNotice


class WebhookHook:
    """POSTs JSON to ``url`` with optional ``headers``; a non-2xx answer or no answer is a failure."""

    def __init__(self, name: str, url: str, headers: dict[str, str] | None = None, timeout_s: float = 5.0):
        self.name, self.url, self.timeout_s = name, url, float(timeout_s)
        self.headers = {str(k): str(v) for k, v in (headers or {}).items()}

    def on_apply(self, notice: ApplyNotice) -> None:
        """POST the apply."""
        post_json(self.url, notice.to_dict(), headers=self.headers, timeout_s=self.timeout_s)

    def on_run(self, notice: RunNotice) -> None:
        """POST the run's change of state."""
        post_json(self.url, notice.to_dict(), headers=self.headers, timeout_s=self.timeout_s)
