"""aquifer: an ML feature store. Declare features once; compute, serve and train on them correctly.

Importing ``aquifer`` loads only the definitions; engines, stores and servers load on first use.
"""

from typing import TYPE_CHECKING, Any

from aquifer.definitions import (
    Aggregation,
    AggregationView,
    BatchSource,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    InRange,
    InSet,
    KafkaSource,
    Lifetime,
    Lookback,
    Matches,
    MeanBetween,
    NotNull,
    Quality,
    QuantileBetween,
    Session,
    Sliding,
    StddevBetween,
    Tumbling,
    feature_view,
    sql,
)

if TYPE_CHECKING:
    from aquifer.sdk.store import FeatureStore

__version__ = "0.1.0"

__all__ = [
    "Aggregation",
    "AggregationView",
    "BatchSource",
    "Entity",
    "FeatureService",
    "FeatureStore",
    "FeatureView",
    "Field",
    "InRange",
    "InSet",
    "KafkaSource",
    "Lifetime",
    "Lookback",
    "Matches",
    "MeanBetween",
    "NotNull",
    "Quality",
    "QuantileBetween",
    "Session",
    "Sliding",
    "StddevBetween",
    "Tumbling",
    "feature_view",
    "sql",
]


def __getattr__(name: str) -> Any:
    if name == "FeatureStore":
        from aquifer.sdk.store import FeatureStore

        return FeatureStore
    raise AttributeError(f"module 'aquifer' has no attribute {name!r}")
