"""Training frames cached as Parquet under the repo, keyed by the labels and the features' data versions.

A frame is stored at ``<repo>/.aquifer/datasets/<fingerprint>.parquet``. The fingerprint is a hash of

- the labels: their join-key, timestamp and label columns (names, dtypes and every value);
- the request: the feature references in order, their output columns, the timestamp and label column names;
- each requested view's **data version**:
  - its data fingerprint (``store.analysis``): changes when the view's transform, schema, source or anything
    upstream of it changes (a description edit does not); and what the join reads from the metadata part: the
    view's TTL and its source's availability delay;
  - its batch ledger in the registry: every ``[start, end)`` interval and the fingerprint it was computed with
    (a run that fills a new range moves it);
  - the id of its newest batch, backfill or stream run in the registry (a backfill that rewrites a range the
    ledger already held still makes a new run);
  - the listing of its offline files (path, size, modification time): catches rows written with no registry
    record at all (a stream worker landing events mid-run, files copied in by hand).

A second construction with the same inputs reads the cached file; any change above builds a new one. Old
files are left in place (delete ``.aquifer/datasets`` to reclaim the space).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aquifer.sdk.encoding import FeatureColumn
from aquifer.stores.offline.layout import view_path

if TYPE_CHECKING:
    import pandas as pd

FORMAT = 1  # bump when the cached file's layout changes
WRITING_KINDS = ("batch", "backfill", "stream")


class LabelsError(ValueError):
    """The labels frame cannot be used as given; the message names the column at fault."""


def join_keys(store: Any, columns: Sequence[FeatureColumn]) -> dict[str, list[str]]:
    """The join keys the requested features' views need (request order), each with the views needing it."""
    keys: dict[str, list[str]] = {}
    for view in dict.fromkeys(c.view for c in columns):
        for key in store.views[view].join_keys:
            keys.setdefault(key, []).append(view)
    return keys


def check_labels(labels: Any, keys: Mapping[str, Sequence[str]], *, timestamp_col: str | None,
                 label: str | None) -> None:
    """Refuse a labels frame that is empty, lacks a join key / the timestamp / the label, or has null labels.

    ``keys``: each join key and the views needing it (``join_keys``).
    """
    if not hasattr(labels, "columns") or not hasattr(labels, "iloc"):
        raise LabelsError(f"labels must be a pandas DataFrame, got {type(labels).__name__}")
    present = set(map(str, labels.columns))
    listed = ", ".join(map(str, labels.columns)) or "none"
    for key, views in keys.items():
        if key not in present:
            raise LabelsError(f"labels lack join key column {key!r}, which {', '.join(views)} needs "
                              f"(label columns: {listed})")
    if timestamp_col is not None and timestamp_col not in present:
        raise LabelsError(f"labels have no timestamp column {timestamp_col!r}; pass timestamp_col= to name it "
                          f"(label columns: {listed})")
    if label is not None:
        if label not in present:
            raise LabelsError(f"labels have no label column {label!r} (label columns: {listed})")
        nulls = labels[label].isna().to_numpy()
        if nulls.any():
            rows = ", ".join(map(str, labels.index[nulls][:5].tolist()))
            more = ", ..." if nulls.sum() > 5 else ""
            raise LabelsError(f"label column {label!r} has {int(nulls.sum())} null values (rows {rows}{more}); "
                              "drop or fill them first")
    if len(labels) == 0:
        raise LabelsError("the labels frame is empty: there is nothing to join features to")


def data_version(store: Any, view: str) -> dict[str, Any]:
    """What identifies the rows ``view`` holds now (see the module docstring)."""
    definition = store.views[view]
    fingerprint = store.analysis.fingerprints.get((definition.kind, view))
    project = store.config.project
    registry = store.registry
    ledger = registry.ledger(project, view, "batch")
    runs = [r.id for r in registry.runs(project, view=view, limit=50) if r.kind in WRITING_KINDS]
    folder = view_path(store.config.offline_path, project, view)
    files = []
    if folder.is_dir():
        for path in sorted(folder.rglob("*.parquet")):
            stat = path.stat()
            files.append((str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    source = definition.source
    if source is not None and getattr(source, "batch_source", None) is not None:
        source = source.batch_source
    delay = getattr(source, "availability_delay", None)
    return {
        "fingerprint": fingerprint.data if fingerprint is not None else None,
        "ttl": None if definition.ttl is None else definition.ttl.total_seconds(),
        "availability_delay": None if delay is None else delay.total_seconds(),
        "ledger": [(i.data_fingerprint, i.start.isoformat(), i.end.isoformat()) for i in ledger.intervals],
        "last_run": max(runs, default=None),
        "files": _digest(files),
    }


def labels_digest(labels: pd.DataFrame, columns: Sequence[str]) -> str:
    """A hash of ``columns`` of ``labels``: names, dtypes and every value, in row order (the index is ignored)."""
    import pandas as pd

    part = labels[list(columns)]
    h = hashlib.sha256(json.dumps([(c, str(part[c].dtype)) for c in columns]).encode())
    h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class CachedFrame:
    """A training frame and where it is cached; ``hit`` is True when it was read rather than built."""

    frame: pd.DataFrame
    path: Path
    hit: bool


def cache_path(store: Any, fingerprint: str) -> Path:
    """Where the frame of ``fingerprint`` lives."""
    return Path(store.config.root) / ".aquifer" / "datasets" / f"{fingerprint[:32]}.parquet"


def frame_fingerprint(store: Any, labels: pd.DataFrame, columns: Sequence[FeatureColumn], label_columns: Sequence[str],
                      *, timestamp_col: str, label: str | None) -> str:
    """The cache key of a training frame (see the module docstring)."""
    views = list(dict.fromkeys(c.view for c in columns))
    return _digest({
        "format": FORMAT,
        "labels": labels_digest(labels, label_columns),
        "features": [(c.ref, c.column) for c in columns],
        "timestamp_col": timestamp_col,
        "label": label,
        "views": {v: data_version(store, v) for v in views},
    })


def cached_training_frame(store: Any, labels: pd.DataFrame, features: Any, columns: Sequence[FeatureColumn], *,
                          timestamp_col: str, label: str | None, engine: str | None,
                          full_names: bool) -> CachedFrame:
    """The point-in-time frame of ``labels`` (keys, timestamp and label columns only) and ``features``.

    Read from the cache when its fingerprint is there; otherwise built with ``store.get_training_frame`` (the
    frame is recorded for drift as any training frame is) and written to the cache (atomically: a temporary
    file renamed into place, so concurrent builders never read half a file).
    """
    import pandas as pd

    keys = join_keys(store, columns)
    used = list(dict.fromkeys([*keys, timestamp_col, *([label] if label else [])]))
    fingerprint = frame_fingerprint(store, labels, columns, used, timestamp_col=timestamp_col, label=label)
    path = cache_path(store, fingerprint)
    if path.exists():
        return CachedFrame(pd.read_parquet(path), path, True)
    subset = labels[used].reset_index(drop=True)
    frame = store.get_training_frame(subset, features, timestamp_col=timestamp_col, engine=engine,
                                     full_names=full_names)
    frame.attrs.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return CachedFrame(frame, path, False)
