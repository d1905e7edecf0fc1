"""``OnlineResult``: what an online lookup returns (column-major, one row per requested entity)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aquifer.stores.online.codec import from_micros


@dataclass
class OnlineResult:
    """Values, statuses and event times of an online lookup, column-major.

    - ``entities``: join-key columns as requested; ``values``: one list per feature column (request order).
    - ``statuses``: same shape as ``values`` (``present``/``stale``/``missing``/``unavailable``).
    - ``event_times_us``: per view, each entity's value event time (µs since epoch; None when none served).
    - ``served_at_us``: the time the ages are measured from.
    """

    entities: dict[str, list[Any]]
    values: dict[str, list[Any]]
    statuses: dict[str, list[str]]
    event_times_us: dict[str, list[int | None]]
    column_views: dict[str, str]
    served_at_us: int

    def __len__(self) -> int:
        return len(next(iter(self.entities.values()), []))

    def to_dict(self) -> dict[str, list[Any]]:
        """Join-key columns then feature columns, each a list with one item per entity."""
        return {**self.entities, **self.values}

    def to_pandas(self) -> Any:
        """One row per entity: join-key columns then feature columns."""
        import pandas as pd

        return pd.DataFrame(self.to_dict())

    def statuses_frame(self) -> Any:
        """``statuses`` as a pandas DataFrame (join-key columns, then one status column per feature)."""
        import pandas as pd

        return pd.DataFrame({**self.entities, **self.statuses})

    @property
    def event_times(self) -> dict[str, list[datetime | None]]:
        """Per view, the served values' event times (UTC datetimes; None when nothing was served)."""
        return {v: [None if t is None else from_micros(t) for t in ts] for v, ts in self.event_times_us.items()}

    @property
    def ages(self) -> dict[str, list[float | None]]:
        """Per view, seconds between each served value's event time and ``served_at_us``."""
        now = self.served_at_us
        return {v: [None if t is None else (now - t) / 1e6 for t in ts] for v, ts in self.event_times_us.items()}

    def status_counts(self) -> dict[tuple[str, str], int]:
        """``{(view, status): number of values}``, for metrics."""
        counts: dict[tuple[str, str], int] = {}
        previous: tuple[str, list[str], Counter[str]] | None = None
        for column, statuses in self.statuses.items():
            view = self.column_views[column]
            # a view's columns nearly always share their statuses: count once, compare the rest (C-speed)
            if previous is not None and previous[0] == view and previous[1] == statuses:
                counted = previous[2]
            else:
                counted = Counter(statuses)
                previous = (view, statuses, counted)
            for status, count in counted.items():
                counts[(view, status)] = counts.get((view, status), 0) + count
        return counts
