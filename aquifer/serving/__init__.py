"""Online serving: lookups with per-value statuses, freshness monitoring, metrics and alerts."""
