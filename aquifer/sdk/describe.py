"""What the repo defines, described and listed with filters: ``FeatureStore.describe`` and ``list_*``.

The examples run as tests against the quickstart template (``tests/unit/sdk/test_sdk_describe_doctests.py``,
``store = FeatureStore(<a fresh quickstart repo>)``):

>>> store.list_views(tag="domain=payments")
['user_spend', 'user_spend_shape', 'user_txn_windows']
>>> store.list_views(owner="RISK@acme.example", text="velocity")
['user_txn_windows']
>>> store.list_features(text="score")
['merchant_risk:risk_score']
>>> store.list_features(view="user_spend", text="amount")
['user_spend:amount']
>>> store.list_entities(owner="merchants@acme.example")
['merchant']
>>> store.list_services(text="fraud")
['fraud_model_v1']
>>> print(store.describe("merchant_risk:risk_score"))
feature merchant_risk:risk_score
  tags: domain=merchants
  type: Float64
  default: 0.5
  view: merchant_risk (entities: merchant; ttl: 1w)
>>> store.describe("user_spend").details["entities"]
{'user': ['user_id']}
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aquifer.definitions import AggregationView, BatchSource, Entity, FeatureService, FeatureView, KafkaSource
from aquifer.definitions.durations import format_duration

TagFilter = str | Mapping[str, str] | None


@dataclass(frozen=True)
class Description:
    """One definition described: its kind, name, metadata and a ``details`` dict particular to its kind."""

    kind: str
    name: str
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.kind.replace('_', ' ')} {self.name}"]
        for label, value in (("description", self.description), ("owner", self.owner)):
            if value:
                lines.append(f"  {label}: {value}")
        if self.tags:
            lines.append("  tags: " + ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items())))
        for key, value in self.details.items():
            if isinstance(value, list | tuple) and value and isinstance(value[0], dict):
                lines.append(f"  {key}:")
                lines += ["    " + ", ".join(f"{k}={v}" for k, v in item.items()) for item in value]
            elif value not in (None, "", [], {}):
                lines.append(f"  {key}: {_text(value)}")
        return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(map(_text, value))
    return str(value)


# -- filters -------------------------------------------------------------------------------------------------


def _tag_matches(tags: Mapping[str, str], wanted: TagFilter) -> bool:
    """``"key"``: the tag is set; ``"key=value"`` or ``{"key": "value"}``: it has that value."""
    if wanted is None:
        return True
    pairs = wanted.items() if isinstance(wanted, Mapping) else [tuple(wanted.split("=", 1))]
    for pair in pairs:
        if len(pair) == 1:
            if pair[0] not in tags:
                return False
        elif tags.get(pair[0]) != pair[1]:
            return False
    return True


def _matches(d: Any, owner: str | None, tag: TagFilter, text: str | None, extra: Iterable[str] = ()) -> bool:
    if owner is not None and d.owner.casefold() != owner.casefold():
        return False
    if not _tag_matches(d.tags, tag):
        return False
    if text:
        haystack = " ".join([d.name, d.description, *extra]).casefold()
        return text.casefold() in haystack
    return True


def _of(store: Any, kinds: tuple[type, ...]) -> list[Any]:
    return sorted((d for d in store.repo.definitions if isinstance(d, kinds)), key=lambda d: d.name)


def list_views(store: Any, *, owner: str | None = None, tag: TagFilter = None, text: str | None = None) -> list[str]:
    """Names of feature and aggregation views, sorted; ``text`` also searches their feature names."""
    return [v.name for v in _of(store, (FeatureView, AggregationView))
            if _matches(v, owner, tag, text, [f.name for f in v.features])]


def list_features(store: Any, *, owner: str | None = None, tag: TagFilter = None, text: str | None = None,
                  view: str | None = None) -> list[str]:
    """``"view:feature"`` refs; ``owner``/``tag`` filter on the view, ``text`` on the feature's name and
    description (or the view's name)."""
    out = []
    for v in _of(store, (FeatureView, AggregationView)):
        if (view is not None and v.name != view) or not _matches(v, owner, tag, None):
            continue
        for f in v.features:
            if not text or text.casefold() in f"{v.name}:{f.name} {f.description}".casefold():
                out.append(f"{v.name}:{f.name}")
    return out


def list_entities(store: Any, *, owner: str | None = None, tag: TagFilter = None,
                  text: str | None = None) -> list[str]:
    """Entity names, sorted; ``text`` also searches join keys."""
    return [e.name for e in _of(store, (Entity,)) if _matches(e, owner, tag, text, e.join_keys)]


def list_services(store: Any, *, owner: str | None = None, tag: TagFilter = None,
                  text: str | None = None) -> list[str]:
    """Feature service names, sorted; ``text`` also searches their feature refs."""
    return [s.name for s in _of(store, (FeatureService,)) if _matches(s, owner, tag, text, s.feature_refs)]


# -- describe ------------------------------------------------------------------------------------------------


def describe(store: Any, name: str) -> Description:
    """A view, entity, source, service, or a ``"view:feature"``; ``KeyError`` naming close matches."""
    if ":" in name:
        return _feature(store, *name.split(":", 1))
    for d in store.repo.definitions:
        if d.name != name:
            continue
        if isinstance(d, FeatureView | AggregationView):
            return _view(store, d)
        if isinstance(d, Entity):
            return _entity(store, d)
        if isinstance(d, BatchSource | KafkaSource):
            return _source(store, d)
        if isinstance(d, FeatureService):
            return _service(d)
    names = [d.name for d in store.repo.definitions]
    close = difflib.get_close_matches(name, names, n=3)
    raise KeyError(f"nothing called {name!r} in the repo" + (f" (did you mean {', '.join(close)}?)" if close else ""))


def _meta(d: Any, kind: str, details: dict[str, Any]) -> Description:
    return Description(kind, d.name, d.description, d.owner, dict(d.tags), details)


def _duration(value: Any) -> str | None:
    return None if value is None else format_duration(value)


def _field(f: Any) -> dict[str, Any]:
    return {"name": f.name, "type": f.dtype.name, "default": f.default, **({"description": f.description}
                                                                          if f.description else {})}


def _view(store: Any, v: Any) -> Description:
    analysis = store.analysis
    fingerprint = analysis.fingerprints.get((v.kind, v.name))
    details: dict[str, Any] = {
        "entities": {e.name: list(e.join_keys) for e in v.entities},
        "source": v.source.name if v.source is not None else None,
        "features": [_field(f) for f in v.features],
        "ttl": _duration(v.ttl), "freshness": _duration(v.freshness), "online": v.online,
        "upstreams": list(analysis.upstreams.get(v.name, ())),
        "downstreams": list(analysis.downstreams.get(v.name, ())),
        "services": [s.name for s in store.services.values() if v.name in {p.name for p in s.features}],
        "data_fingerprint": fingerprint.data if fingerprint else None,
    }
    if isinstance(v, AggregationView):
        details["aggregations"] = [{"feature": a.feature_name, "function": a.function, "column": a.column,
                                    "window": a.window.label} for a in v.aggregations]
    return _meta(v, v.kind, details)


def _feature(store: Any, view_name: str, feature: str) -> Description:
    view = store.views.get(view_name)
    if view is None:
        close = difflib.get_close_matches(view_name, list(store.views), n=3)
        raise KeyError(f"no view {view_name!r} in the repo" + (f" (did you mean {', '.join(close)}?)" if close else ""))
    fields = {f.name: f for f in view.features}
    if feature not in fields:
        raise KeyError(f"view {view_name!r} has no feature {feature!r} (it has: {', '.join(fields)})")
    f = fields[feature]
    entities = ", ".join(e.name for e in view.entities)
    ttl = f"; ttl: {format_duration(view.ttl)}" if view.ttl is not None else ""
    return Description("feature", f"{view_name}:{feature}", f.description, view.owner, dict(view.tags),
                       {"type": f.dtype.name, "default": f.default, "view": f"{view_name} (entities: {entities}{ttl})"})


def _entity(store: Any, e: Entity) -> Description:
    types = [t.name for t in e.key_types] or ["Int64"] * len(e.join_keys)
    return _meta(e, "entity", {"join_keys": dict(zip(e.join_keys, types, strict=False)),
                               "views": sorted(v.name for v in store.views.values()
                                               if e.name in {x.name for x in v.entities})})


def _source(store: Any, s: Any) -> Description:
    details: dict[str, Any] = {"timestamp_field": s.timestamp_field}
    if isinstance(s, BatchSource):
        details["path"] = s.path or s.table
    else:
        details["topic"] = s.topic
    details["downstreams"] = list(store.analysis.downstreams.get(s.name, ()))
    return _meta(s, s.kind, details)


def _service(s: FeatureService) -> Description:
    return _meta(s, "feature_service", {"features": list(s.feature_refs),
                                        "views": [p.name for p in s.features]})
