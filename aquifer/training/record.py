"""What a training frame returned, recorded for drift: an id, its features, and a sample of their values.

``record_training_frame`` is called by ``FeatureStore.get_training_frame`` on every frame it returns: it draws
a uniform sample of at most ``aquifer.quality.samples.SAMPLE_ROWS`` rows, writes the feature columns as Parquet
(``quality.samples.sample_path``) and adds a row to the registry's ``aq_training_frames`` (``details``: the
sample's path, its row count, each feature's output column, declared type and drift kind). The id (a uuid4
hex) goes back on the frame (``frame.attrs["aquifer_training_id"]`` for pandas) and on the store
(``FeatureStore.last_training_id``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aquifer.definitions.refs import resolve_features
from aquifer.quality.samples import SAMPLE_ROWS, sample_indices, sample_path, write_sample

ATTR = "aquifer_training_id"
"""The pandas ``DataFrame.attrs`` key holding a training frame's id."""
CATEGORICAL_TYPES = ("String", "Bool", "Bytes")


@dataclass(frozen=True)
class RecordedFrame:
    """A recorded training frame: its id, ``view:feature`` refs, row count and registry ``details``."""

    id: str
    features: list[str]
    rows: int
    details: dict[str, Any] = field(default_factory=dict)


def drift_kind(type_name: str) -> str:
    """``categorical`` for strings, booleans and bytes; ``numeric`` otherwise (numbers, timestamps)."""
    return "categorical" if type_name in CATEGORICAL_TYPES else "numeric"


def record_training_frame(store: Any, frame: Any, features: Any, *, full_names: bool = False,
                          seed: int | None = None, limit: int = SAMPLE_ROWS) -> RecordedFrame:
    """Sample ``frame`` (pandas or Spark), write the sample and register it; returns the record.

    ``store`` is a ``FeatureStore`` (its config and registry are used).
    """
    resolved = resolve_features(features, store.views.values(), store.services.values(), full_names)
    refs: list[str] = []
    columns: dict[str, str] = {}
    types: dict[str, str] = {}
    arrow: dict[str, str] = {}
    for projection in resolved.projections:
        view = projection.view
        declared = {f.name: f.dtype for f in view.features}
        for name in projection.features:
            ref = f"{view.name}:{name}"
            refs.append(ref)
            columns[ref] = f"{projection.name}__{name}" if full_names else name
            types[ref] = declared[name].name
            arrow[ref] = declared[name].arrow
    training_id = uuid.uuid4().hex
    if hasattr(frame, "toPandas"):  # Spark: count, then a fraction that keeps about `limit` rows
        rows = int(frame.count())
        chosen = frame.select(*[columns[r] for r in refs])
        if rows > limit:
            chosen = chosen.sample(False, min(1.0, 1.2 * limit / rows), seed).limit(limit)
        sample = chosen.toPandas()
    else:
        rows = len(frame)
        sample = frame[[columns[r] for r in refs]].iloc[sample_indices(rows, limit, seed)]
    path = sample_path(store.config.offline_path, store.config.project, training_id)
    write_sample(path, {ref: sample[columns[ref]] for ref in refs}, arrow)
    details = {
        "sample_path": str(path), "sample_rows": len(sample), "columns": columns, "types": types,
        "kinds": {ref: drift_kind(t) for ref, t in types.items()},
    }
    store.registry.add_training_frame(training_id, store.config.project, refs, rows, details)
    return RecordedFrame(training_id, refs, rows, details)
