"""Feature services: the named set of features a model consumes."""

from __future__ import annotations

from dataclasses import dataclass

from aquifer.definitions.base import DefinitionError, Metadata, as_tuple, object_hint
from aquifer.definitions.views import AggregationView, FeatureView, FeatureViewProjection


@dataclass(frozen=True)
class FeatureService(Metadata):
    """``FeatureService("fraud_v1", features=[user_spend[["amount"]], user_txn_windows])``."""

    name: str
    features: tuple[FeatureViewProjection, ...] = ()

    def __post_init__(self) -> None:
        self._init_metadata()
        raw = as_tuple(self.features, self.who, "features", self.location,
                       (FeatureViewProjection, FeatureView, AggregationView), "views or view[[...]] projections",
                       _ref_hint)
        projections = [p if isinstance(p, FeatureViewProjection) else FeatureViewProjection(p, p.feature_names)
                       for p in raw]
        if not projections:
            raise DefinitionError(f"{self.who} needs at least one feature (features=[...])", self.location)
        object.__setattr__(self, "features", tuple(projections))

    @property
    def feature_refs(self) -> tuple[str, ...]:
        """Every feature as ``"view:feature"``."""
        return tuple(f"{p.name}:{f}" for p in self.features for f in p.features)


def _ref_hint(value: object) -> str:
    if isinstance(value, str) and ":" in value:
        view, _, feature = value.partition(":")
        return f" (write {view}[[{feature!r}]] with the view object)"
    return object_hint("features", value, in_list=True)
