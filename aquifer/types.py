"""Public home of the feature value types: ``from aquifer.types import Float64, Int64, String, Bool``."""

from aquifer.definitions.types import (
    ALL_TYPES,
    Bool,
    Bytes,
    FeatureType,
    Float32,
    Float64,
    Float64List,
    Int32,
    Int64,
    String,
    Timestamp,
    accepts,
    type_by_name,
)

__all__ = [
    "ALL_TYPES",
    "Bool",
    "Bytes",
    "FeatureType",
    "Float32",
    "Float64",
    "Float64List",
    "Int32",
    "Int64",
    "String",
    "Timestamp",
    "accepts",
    "type_by_name",
]
