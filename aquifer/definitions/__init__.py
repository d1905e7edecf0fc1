"""Frozen definition values. Imports nothing heavy: a feature repo loads in milliseconds, with no JVM."""

from aquifer.definitions.aggregation import Aggregation, is_known_function, percentile_of
from aquifer.definitions.base import DefinitionError, FrozenDict
from aquifer.definitions.durations import format_duration, parse_duration
from aquifer.definitions.entity import Entity
from aquifer.definitions.fields import Field
from aquifer.definitions.quality import (
    POLICIES,
    Expectation,
    InRange,
    InSet,
    Matches,
    MeanBetween,
    NotNull,
    Quality,
    QuantileBetween,
    StddevBetween,
    expectation_from_spec,
)
from aquifer.definitions.reads import Lookback
from aquifer.definitions.service import FeatureService
from aquifer.definitions.sources import BatchSource, KafkaSource
from aquifer.definitions.transforms import PythonTransform, SqlTransform, sql
from aquifer.definitions.views import (
    AggregationView,
    FeatureView,
    FeatureViewProjection,
    View,
    feature_view,
)
from aquifer.definitions.windows import Lifetime, Session, Sliding, Tumbling, Window, window_problems

Definition = Entity | BatchSource | KafkaSource | FeatureView | AggregationView | FeatureService
DEFINITION_TYPES = (Entity, BatchSource, KafkaSource, FeatureView, AggregationView, FeatureService)

__all__ = [
    "DEFINITION_TYPES",
    "POLICIES",
    "Aggregation",
    "AggregationView",
    "BatchSource",
    "Definition",
    "DefinitionError",
    "Entity",
    "Expectation",
    "FeatureService",
    "FeatureView",
    "FeatureViewProjection",
    "Field",
    "FrozenDict",
    "InRange",
    "InSet",
    "KafkaSource",
    "Lifetime",
    "Lookback",
    "Matches",
    "MeanBetween",
    "NotNull",
    "PythonTransform",
    "Quality",
    "QuantileBetween",
    "Session",
    "Sliding",
    "SqlTransform",
    "StddevBetween",
    "Tumbling",
    "View",
    "Window",
    "expectation_from_spec",
    "feature_view",
    "format_duration",
    "is_known_function",
    "parse_duration",
    "percentile_of",
    "sql",
    "window_problems",
]
