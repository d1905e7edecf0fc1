"""Check and normalise what a training request was given; build the engine-neutral ``PitView`` of each view.

Timestamp rule: label timestamps are compared in UTC. A tz-aware timestamp is converted to UTC; a
naive one IS UTC (it is never read as local time). Both engines truncate to microseconds, the offline
store's precision. Spark label frames are read in the session time zone, which aquifer sets to UTC.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aquifer.definitions.availability import availability_delay
from aquifer.definitions.refs import ResolvedFeatures
from aquifer.planning.pit import PitFeature, PitView
from aquifer.stores.offline.layout import view_path


class TrainingInputError(ValueError):
    """The labels or the request cannot be joined as given; the message names the column and view."""


class NoOfflineDataWarning(UserWarning):
    """A requested view has no rows in the offline store yet; its features come back null."""


def plan_views(resolved: ResolvedFeatures, offline_root: Path, project: str,
               definitions: Mapping[str, Any] | None = None) -> tuple[PitView, ...]:
    """One ``PitView`` per requested view, with output names, declared types, defaults and availability delay.

    ``definitions`` (name -> definition) resolves upstreams a view names only by text, for the delay.
    """
    columns = {(v, f): col for v, f, col in resolved.columns()}
    views = []
    for projection in resolved.projections:
        view = projection.view
        fields = {f.name: f for f in view.features}
        feats = tuple(
            PitFeature(name, columns[(view.name, name)], fields[name].dtype.arrow, fields[name].dtype.spark,
                       fields[name].default)
            for name in projection.features
        )
        path = view_path(offline_root, project, view.name)
        has_data = first_parquet(path) is not None
        if not has_data:
            warnings.warn(
                f"view {view.name!r} has no offline data under {path} yet; its features are null",
                NoOfflineDataWarning, stacklevel=5,
            )
        views.append(PitView(view.name, tuple(view.join_keys), feats, path, view.ttl, has_data,
                             availability_delay(view, definitions)))
    return tuple(views)


def first_parquet(path: Path) -> Path | None:
    """Any one Parquet file below ``path`` (None when there is none)."""
    if not path.is_dir():
        return None
    return next(iter(sorted(path.rglob("*.parquet"))), None)


def check_columns(label_columns: Sequence[str], timestamp_col: str, views: Sequence[PitView]) -> None:
    """Refuse labels without the timestamp or a needed join key, and outputs that clash with label columns."""
    present = set(label_columns)
    if timestamp_col not in present:
        names = ", ".join(v.name for v in views)
        raise TrainingInputError(
            f"labels have no timestamp column {timestamp_col!r} (needed by {names}); "
            f"pass timestamp_col= to name it (label columns: {', '.join(map(str, label_columns))})"
        )
    for view in views:
        for key in view.keys:
            if key not in present:
                raise TrainingInputError(f"labels lack join key column {key!r}, which view {view.name!r} needs")
        for feature in view.features:
            if feature.column in present:
                raise TrainingInputError(
                    f"label column {feature.column!r} clashes with feature {view.name}:{feature.name}; "
                    "rename it or pass full_names=True"
                )


def check_key_types(label_kinds: dict[str, str], views: Sequence[PitView]) -> None:
    """Refuse a join key whose kind (string/integer/float/bool) differs between labels and feature rows."""
    import pyarrow.parquet as pq

    for view in views:
        file = first_parquet(view.path) if view.has_data else None
        if file is None:
            continue
        schema = pq.read_schema(file)
        for key in view.keys:
            if key not in schema.names:
                raise TrainingInputError(f"view {view.name!r} offline data has no join key column {key!r} ({file})")
            stored = arrow_kind(schema.field(key).type)
            given = label_kinds.get(key, "unknown")
            if not _compatible(given, stored):
                raise TrainingInputError(
                    f"join key {key!r} is {given} in the labels but {stored} ({schema.field(key).type}) in view "
                    f"{view.name!r}; cast the labels' {key!r} column so the keys can match"
                )


def _compatible(given: str, stored: str) -> bool:
    numeric = {"integer", "float"}
    if "unknown" in (given, stored) or given == "empty":
        return True
    return given == stored or (given in numeric and stored in numeric)


def arrow_kind(dtype: Any) -> str:
    """``string`` / ``integer`` / ``float`` / ``bool`` / ``unknown`` for an Arrow type."""
    import pyarrow as pa

    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "float"
    if pa.types.is_boolean(dtype):
        return "bool"
    return "unknown"


def pandas_kind(column: Any) -> str:
    """The kind of a pandas column, looking inside object columns."""
    import pandas as pd

    inferred = pd.api.types.infer_dtype(column.head(10_000), skipna=True)
    if inferred in ("string", "unicode"):
        return "string"
    if inferred in ("integer",):
        return "integer"
    if inferred in ("floating", "mixed-integer-float", "decimal"):
        return "float"
    if inferred == "boolean":
        return "bool"
    return "empty" if inferred == "empty" else "unknown"


def spark_kind(dtype: Any) -> str:
    """The kind of a Spark SQL type."""
    from pyspark.sql import types as T

    if isinstance(dtype, T.StringType):
        return "string"
    if isinstance(dtype, T.IntegralType):
        return "integer"
    if isinstance(dtype, T.FractionalType):
        return "float"
    if isinstance(dtype, T.BooleanType):
        return "bool"
    return "unknown"
