"""Feature services: the named set of features a model consumes."""

from __future__ import annotations

from dataclasses import dataclass

from aquifer.definitions.base import DefinitionError, Metadata, as_tuple
from aquifer.definitions.views import AggregationView, FeatureView, FeatureViewProjection


@dataclass(frozen=True)
class FeatureService(Metadata):
    """``FeatureService("fraud_v1", features=[user_spend[["amount"]], user_txn_windows])``."""

    name: str
    features: tuple[FeatureViewProjection, ...] = ()

    def __post_init__(self) -> None:
        raw = as_tuple(self.features, f"FeatureService {self.name!r} features")
        self._init_metadata()
        projections = []
        for item in raw:
            if isinstance(item, FeatureViewProjection):
                projections.append(item)
            elif isinstance(item, FeatureView | AggregationView):
                projections.append(FeatureViewProjection(item, item.feature_names))
            else:
                raise DefinitionError(
                    f"FeatureService {self.name!r} features must be views or view[[...]] projections, "
                    f"got {item!r}",
                    self.location,
                )
        if not projections:
            raise DefinitionError(f"FeatureService {self.name!r} needs at least one feature", self.location)
        object.__setattr__(self, "features", tuple(projections))

    @property
    def feature_refs(self) -> tuple[str, ...]:
        """Every feature as ``"view:feature"``."""
        return tuple(f"{p.name}:{f}" for p in self.features for f in p.features)
