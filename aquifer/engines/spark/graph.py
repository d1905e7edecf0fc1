"""The slice of the repo graph a batch run needs: view order and data fingerprints, from the repo's analysis.

``aquifer.analysis`` is the one place these are computed (``store.analysis``); nothing here recomputes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aquifer.definitions import AggregationView, BatchSource, FeatureView, KafkaSource

if TYPE_CHECKING:
    from aquifer.analysis import Analysis

View = FeatureView | AggregationView


def resolve(name: str, definitions: Mapping[str, Any]) -> BatchSource | KafkaSource | View:
    """The source or view called ``name``; ``KeyError`` naming it when unknown."""
    found = definitions.get(name)
    if not isinstance(found, BatchSource | KafkaSource | FeatureView | AggregationView):
        raise KeyError(f"{name!r} is not a source or view of this repo")
    return found


def view_order(views: Mapping[str, View], analysis: Analysis) -> list[str]:
    """View names upstream-first, in the analysis's order; views it does not order (on a cycle) come last."""
    order = analysis.order
    return [n for n in order if n in views] + [n for n in views if n not in order]


def data_fingerprint(view: View, analysis: Analysis) -> str:
    """The view's data fingerprint (covering everything upstream of it) as the analysis computed it."""
    found = analysis.fingerprints.get((view.kind, view.name))
    if found is None or not found.data:
        raise KeyError(f"the repo's analysis has no data fingerprint for {view.kind} {view.name!r}")
    return found.data
