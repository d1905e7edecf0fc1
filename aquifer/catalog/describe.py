"""What a hook says about a view or a source: names, fields, upstreams and column lineage, from the analysis.

Hook-neutral: each emitter maps these to its own naming (OpenLineage namespaces, DataHub URNs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aquifer.analysis import Analysis, ColumnEdge
from aquifer.config import Config
from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource, SqlTransform


@dataclass(frozen=True)
class FieldInfo:
    """One column: ``role`` is ``key`` (a join key), ``timestamp`` or ``feature`` (``column`` for sources)."""

    name: str
    type: str
    description: str = ""
    role: str = "feature"


@dataclass(frozen=True)
class DatasetRef:
    """A source or a view as a dataset: ``kind`` is the definition's kind; ``location`` a file path (absolute),
    a table name or a Kafka topic (``location_kind``: ``file``, ``table``, ``topic`` or ``view``)."""

    name: str
    kind: str
    location: str
    location_kind: str
    fields: tuple[FieldInfo, ...] = ()


@dataclass(frozen=True)
class ViewDescription:
    """A feature or aggregation view: its metadata, fields, upstream datasets and the column edges into it."""

    name: str
    kind: str
    description: str
    owner: str
    tags: dict[str, str]
    join_keys: tuple[str, ...]
    entities: tuple[str, ...]
    timestamp_field: str
    fields: tuple[FieldInfo, ...]
    inputs: tuple[DatasetRef, ...]
    column_edges: tuple[ColumnEdge, ...]
    online: bool
    transform: str | None = None
    """``sql`` or ``python`` (None: a pass-through of its source)."""

    @property
    def features(self) -> tuple[FieldInfo, ...]:
        """The fields that are features (not keys or the timestamp)."""
        return tuple(f for f in self.fields if f.role == "feature")


class Describer:
    """Describes the views and sources of one analysed repo (``analysis``) under ``config``."""

    def __init__(self, analysis: Analysis, config: Config):
        self.analysis, self.config = analysis, config
        self.project = config.project
        self._views: dict[str, ViewDescription] = {}

    def views(self) -> list[str]:
        """Every view's name, upstream first where the analysis knows the order."""
        names = [n for n, d in self.analysis.definitions.items() if isinstance(d, FeatureView | AggregationView)]
        order = [n for n in self.analysis.order if n in names]
        return order + [n for n in names if n not in order]

    def view(self, name: str) -> ViewDescription:
        """The description of view ``name`` (``KeyError`` when the repo has no such view)."""
        if name not in self._views:
            self._views[name] = self._describe(name)
        return self._views[name]

    def dataset(self, name: str) -> DatasetRef:
        """A source or view as a dataset (``KeyError`` when unknown)."""
        d = self.analysis.definitions[name]
        if isinstance(d, FeatureView | AggregationView):
            return DatasetRef(name, d.kind, name, "view", self.view(name).fields)
        known = self.analysis.columns.get(name) or {}
        fields = tuple(FieldInfo(c, _type(t), role="column") for c, t in known.items())
        if isinstance(d, BatchSource):
            if d.path:
                return DatasetRef(name, d.kind, str(_absolute(self.config.root, d.path)), "file", fields)
            return DatasetRef(name, d.kind, str(d.table), "table", fields)
        if isinstance(d, KafkaSource):
            return DatasetRef(name, d.kind, d.topic, "topic", fields)
        return DatasetRef(name, d.kind, name, "other", fields)

    def _describe(self, name: str) -> ViewDescription:
        d = self.analysis.definitions[name]
        if not isinstance(d, FeatureView | AggregationView):
            raise KeyError(name)
        keys = d.join_keys
        key_types = {k: t.name for e in d.entities for k, t in zip(e.join_keys, e.key_types, strict=False)}
        known = self.analysis.columns.get(name) or {}
        fields = [FieldInfo(k, key_types.get(k) or _type(known.get(k)) or "Int64", role="key") for k in keys]
        fields.append(FieldInfo(d.timestamp_field, "Timestamp", role="timestamp"))
        fields += [FieldInfo(f.name, f.dtype.name, f.description) for f in d.features]
        inputs = tuple(self.dataset(up) for up in self.analysis.upstreams.get(name, ())
                       if up in self.analysis.definitions)
        edges = tuple(e for e in self.analysis.column_edges if e.to_node == name)
        transform = getattr(d, "transform", None)
        kind = None if transform is None else ("sql" if isinstance(transform, SqlTransform) else "python")
        return ViewDescription(
            name=name, kind=d.kind, description=d.description, owner=d.owner, tags=dict(d.tags), join_keys=keys,
            entities=tuple(e.name for e in d.entities), timestamp_field=d.timestamp_field, fields=tuple(fields),
            inputs=inputs, column_edges=edges, online=d.online, transform=kind,
        )


def _type(t: Any) -> str:
    return "" if t is None else str(getattr(t, "name", t))


def _absolute(root: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else (root / p).resolve()
