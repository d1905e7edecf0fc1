"""Per-feature statistics of the rows a batch range writes, computed by Spark from the range's cached rows.

The range's rows are already computed and cached (``job.compute_range``); this runs one extra Spark job over
exactly the rows ``write_computed`` writes (in range, with keys, deduplicated), never over the sources again.
Each partition feeds its Arrow batches (``mapInArrow``, event time and features only) to a
``quality.statistics.DailyStatistics`` and returns one row: its serialized sketches. The driver merges those
partials (sketch merges are exact for counts and moments, within the sketches' error for the rest).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aquifer.quality.statistics import DailyStatistics, feature_types
from aquifer.stores.offline.layout import EVENT_TS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger("aquifer.batch")


class _PartialStatistics:
    """``mapInArrow`` function: a partition's batches in, one row holding its serialized sketches out."""

    def __init__(self, features: list[tuple[str, str]]):
        self.features = features

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        partial = DailyStatistics(self.features, EVENT_TS)
        for batch in batches:
            partial.update(batch)
        if partial.days:
            yield pa.RecordBatch.from_pydict({"sketch": [partial.to_bytes()]},
                                             schema=pa.schema([("sketch", pa.binary())]))


def frame_statistics(frame: DataFrame, view: Any) -> DailyStatistics:
    """Sketches of every feature of ``view`` over ``frame``'s rows (one Spark job, partials merged here)."""
    features = feature_types(view)
    present = set(frame.columns)
    columns = [EVENT_TS, *(name for name, _ in features if name in present)]
    merged = DailyStatistics(features, EVENT_TS)
    rows = frame.select(*columns).mapInArrow(_PartialStatistics(features), "sketch binary").collect()
    for row in rows:
        merged.merge(DailyStatistics.from_bytes(bytes(row["sketch"])))
    return merged


def stored_statistics(frame: DataFrame, view: Any) -> dict[str, dict[str, Any]] | None:
    """Per feature, the registry row's ``stats`` of ``frame``'s rows; None (logged) when they cannot be had.

    Statistics never fail a run: any error here is a warning and the range is written without them.
    """
    try:
        return frame_statistics(frame, view).stored()
    except Exception as exc:  # statistics are an observation of the run, not a condition of it
        log.warning("view %s: statistics not computed: %s", view.name, str(exc).strip().splitlines()[0] if str(exc)
                    else type(exc).__name__)
        return None
