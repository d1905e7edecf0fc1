"""Frozen definition values. Imports nothing heavy: a feature repo loads in milliseconds, with no JVM."""

from aquifer.definitions.aggregation import Aggregation, is_known_function, percentile_of
from aquifer.definitions.base import DefinitionError, FrozenDict
from aquifer.definitions.durations import format_duration, parse_duration
from aquifer.definitions.entity import Entity
from aquifer.definitions.fields import Field
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
from aquifer.definitions.windows import Session, Sliding, Tumbling, Window, window_problems

Definition = Entity | BatchSource | KafkaSource | FeatureView | AggregationView | FeatureService
DEFINITION_TYPES = (Entity, BatchSource, KafkaSource, FeatureView, AggregationView, FeatureService)

__all__ = [
    "DEFINITION_TYPES",
    "Aggregation",
    "AggregationView",
    "BatchSource",
    "Definition",
    "DefinitionError",
    "Entity",
    "FeatureService",
    "FeatureView",
    "FeatureViewProjection",
    "Field",
    "FrozenDict",
    "KafkaSource",
    "PythonTransform",
    "Session",
    "Sliding",
    "SqlTransform",
    "Tumbling",
    "View",
    "Window",
    "feature_view",
    "format_duration",
    "is_known_function",
    "parse_duration",
    "percentile_of",
    "sql",
    "window_problems",
]
