"""The slice of the repo graph a batch run needs: view order, upstream names, data fingerprints.

Taken from ``aquifer.analysis`` (``store.analysis``); the small fallbacks here only keep the engine usable
on a repo whose analysis is unavailable (same rules: parameter and ``{name}`` upstreams, upstream-first order).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource

View = FeatureView | AggregationView


def upstream_names(view: View) -> tuple[str, ...]:
    """Names of the sources and views a view reads (``source``, ``{name}`` placeholders, parameters)."""
    return view.declared_upstreams


def resolve(name: str, definitions: Mapping[str, Any]) -> BatchSource | KafkaSource | View:
    """The source or view called ``name``; ``KeyError`` naming it when unknown."""
    found = definitions.get(name)
    if not isinstance(found, BatchSource | KafkaSource | FeatureView | AggregationView):
        raise KeyError(f"{name!r} is not a source or view of this repo")
    return found


def view_order(views: Mapping[str, View], analysis: Any = None) -> list[str]:
    """View names upstream-first (the analysis's order when it has one)."""
    order = list(getattr(analysis, "order", None) or [])
    if order:
        return [n for n in order if n in views] + [n for n in views if n not in order]
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path or name not in views:
            return
        for up in upstream_names(views[name]):
            visit(up, (*path, name))
        done.append(name)

    for name in views:
        visit(name, ())
    return done


def data_fingerprint(view: View, definitions: Mapping[str, Any], analysis: Any = None) -> str:
    """The view's data fingerprint, covering everything upstream of it."""
    fingerprints = getattr(analysis, "fingerprints", None) or {}
    found = fingerprints.get((view.kind, view.name))
    if found is not None and getattr(found, "data", ""):
        return found.data
    return _fallback_fingerprint(view, definitions, set())


def _fallback_fingerprint(d: Any, definitions: Mapping[str, Any], seen: set[str]) -> str:
    from aquifer.definitions.spec import data_spec

    ups = []
    if isinstance(d, FeatureView | AggregationView) and d.name not in seen:
        for name in upstream_names(d):
            if name in definitions:
                ups.append(_fallback_fingerprint(definitions[name], definitions, seen | {d.name}))
    if isinstance(d, KafkaSource) and d.batch_source is not None:
        ups.append(_fallback_fingerprint(d.batch_source, definitions, seen))
    text = json.dumps({"spec": data_spec(d), "up": ups}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
