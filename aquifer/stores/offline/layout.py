"""Where the offline store keeps a view's rows, and what their columns are called.

``<offline root>/<project>/<view>/event_date=YYYY-MM-DD/part-*.parquet``; every row holds the view's
join keys, ``event_ts`` and ``created_ts`` (timestamps in microseconds, UTC) and its features. For an
aggregation view ``event_ts`` is the window end (when the value became visible).
"""

from __future__ import annotations

from pathlib import Path

EVENT_TS = "event_ts"
CREATED_TS = "created_ts"
DATE_PARTITION = "event_date"


def view_path(offline_root: str | Path, project: str, view: str) -> Path:
    """The folder holding one view's history."""
    return Path(offline_root) / project / view
