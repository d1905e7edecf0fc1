"""Per-value serving statuses and the rule that assigns them.

- ``present``: the stored value is served.
- ``stale``: the stored value is older than the view's ``freshness`` SLA (the value is still served, it
  is within TTL) or older than its ``ttl`` (the Field default is served: past TTL the offline
  point-in-time join also gives no value, so training and serving agree).
- ``missing``: no value for this entity (or the stored value is null, or was written under another
  schema): the Field default is served.
- ``unavailable``: the online store could not be reached: the Field default is served.
"""

from __future__ import annotations

from datetime import timedelta

PRESENT = "present"
STALE = "stale"
MISSING = "missing"
UNAVAILABLE = "unavailable"
STATUSES = (PRESENT, STALE, MISSING, UNAVAILABLE)


def micros(value: timedelta | None) -> int | None:
    """A duration in µs (None stays None)."""
    return None if value is None else int(value.total_seconds() * 1_000_000)


def age_status(age_us: int, ttl_us: int | None, freshness_us: int | None) -> tuple[str, bool]:
    """``(status, expired)`` of a value ``age_us`` old; ``expired`` means past TTL (serve the default)."""
    if ttl_us is not None and age_us > ttl_us:
        return STALE, True
    if freshness_us is not None and age_us > freshness_us:
        return STALE, False
    return PRESENT, False
