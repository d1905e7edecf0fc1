"""Definitions as plain JSON-able dicts, split into the part that changes data and the part that does not.

The registry stores these specs (never pickles); fingerprints hash them. ``data_spec`` holds everything
that changes computed rows; ``meta_spec`` holds what only describes or serves them (description, owner,
tags, TTL, freshness, lateness, expectations and quality settings): editing those never triggers recomputation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aquifer.definitions.aggregation import Aggregation
from aquifer.definitions.entity import Entity
from aquifer.definitions.fields import Field
from aquifer.definitions.service import FeatureService
from aquifer.definitions.sources import BatchSource, KafkaSource
from aquifer.definitions.transforms import PythonTransform, SqlTransform
from aquifer.definitions.views import AggregationView, FeatureView
from aquifer.definitions.windows import Lifetime, Session, Sliding, Tumbling, Window


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _field(f: Field) -> dict[str, Any]:
    return {"name": f.name, "dtype": f.dtype.name}


def _field_meta(f: Field) -> dict[str, Any]:
    # a datetime or bytes default is kept as the text fingerprints already hash it as (json default=str)
    default = f.default if isinstance(f.default, str | int | float | bool | None) else str(f.default)
    out: dict[str, Any] = {"name": f.name, "default": default, "description": f.description}
    if f.expect:  # only when declared, so fields without expectations keep their meta fingerprints
        out["expect"] = [e.spec() for e in f.expect]
    return out


def window_spec(window: Window) -> dict[str, Any]:
    """``{"kind": "tumbling", "size": 300.0}`` and friends (seconds; ``offset`` only when set, so windows
    without one keep their fingerprints)."""
    if isinstance(window, Lifetime):
        return {"kind": "lifetime"}
    offset = {"offset": _seconds(window.offset)} if not isinstance(window, Session) and window.offset else {}
    if isinstance(window, Tumbling):
        return {"kind": "tumbling", "size": _seconds(window.size), **offset}
    if isinstance(window, Sliding):
        return {"kind": "sliding", "size": _seconds(window.size), "every": _seconds(window.every), **offset}
    return {"kind": "session", "gap": _seconds(window.gap), "max_duration": _seconds(window.max_duration)}


def _aggregation(a: Aggregation) -> dict[str, Any]:
    out = {"column": a.column, "function": a.function, "window": window_spec(a.window), "name": a.feature_name}
    if a.by is not None:
        out["by"] = a.by
    if a.value_type is not None:
        out["value_type"] = a.value_type.name
    return out


def transform_spec(transform: SqlTransform | PythonTransform | None) -> dict[str, Any] | None:
    """The transform's kind and source text (what the registry keeps instead of code objects)."""
    if isinstance(transform, SqlTransform):
        return {"kind": "sql", "text": transform.text}
    if isinstance(transform, PythonTransform):
        return {
            "kind": "python",
            "module": transform.module,
            "qualname": transform.qualname,
            "params": list(transform.params),
            "source": transform.source,
        }
    return None


def _with_unit(source: BatchSource | KafkaSource, spec: dict[str, Any]) -> dict[str, Any]:
    # only when set, so sources declared before timestamp_unit existed keep their fingerprints
    if source.timestamp_unit is not None:
        spec["timestamp_unit"] = source.timestamp_unit
    return spec


def data_spec(d: Any) -> dict[str, Any]:
    """Everything about ``d`` that changes the rows it produces."""
    if isinstance(d, Entity):
        return {"join_keys": list(d.join_keys), "key_types": [t.name for t in d.key_types]}
    if isinstance(d, BatchSource):
        return _with_unit(d, {
            "path": d.path, "table": d.table, "format": d.format, "timestamp_field": d.timestamp_field,
            "created_timestamp_field": d.created_timestamp_field, "schema": [_field(f) for f in d.schema],
        })
    if isinstance(d, KafkaSource):
        return _with_unit(d, {
            "topic": d.topic, "format": d.format, "timestamp_field": d.timestamp_field,
            "key_field": d.key_field, "batch_source": d.batch_source.name if d.batch_source else None,
            "schema": [_field(f) for f in d.schema],
        })
    if isinstance(d, FeatureView):
        out = {
            "entities": [e.name for e in d.entities], "source": d.source.name if d.source else None,
            "transform": transform_spec(d.transform), "schema": [_field(f) for f in d.schema],
            "timestamp_field": d.timestamp_field,
        }
        if d.reads:  # only when set, so views declared before reads existed keep their fingerprints
            out["reads"] = {name: {"lookback": _seconds(r.duration)} for name, r in d.read_windows.items()}
        return out
    if isinstance(d, AggregationView):
        return {
            "entities": [e.name for e in d.entities], "source": d.source.name if d.source else None,
            "aggregations": [_aggregation(a) for a in d.aggregations],
        }
    if isinstance(d, FeatureService):
        return {"features": [{"view": p.name, "features": list(p.features)} for p in d.features]}
    raise TypeError(f"not a definition: {d!r}")


def meta_spec(d: Any) -> dict[str, Any]:
    """What describes or serves ``d`` without changing its rows."""
    out: dict[str, Any] = {"description": d.description, "owner": d.owner, "tags": dict(d.tags)}
    if isinstance(d, FeatureView | AggregationView):
        out.update(
            ttl=_seconds(d.ttl), freshness=_seconds(d.freshness),
            allowed_lateness=_seconds(d.allowed_lateness), online=d.online,
            fields=[_field_meta(f) for f in d.features],
        )
        if d.quality is not None:
            out["quality"] = d.quality.spec()
    if isinstance(d, BatchSource | KafkaSource):
        out["fields"] = [_field_meta(f) for f in d.schema]
    if isinstance(d, BatchSource) and d.availability_delay is not None:
        # metadata: the delay changes what training and serving may use, never the rows a view computes
        out["availability_delay"] = _seconds(d.availability_delay)
    return out


def to_spec(d: Any) -> dict[str, Any]:
    """The whole definition: kind, name, location, data and metadata parts."""
    return {"kind": d.kind, "name": d.name, "location": d.location, "data": data_spec(d), "meta": meta_spec(d)}
