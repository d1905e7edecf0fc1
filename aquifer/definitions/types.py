"""Feature value types: one small closed set, mapped to Arrow, Spark and Python."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureType:
    """A feature's value type. Compare by name; map to other systems with the helpers below."""

    name: str
    python: type
    arrow: str  # pyarrow type name, resolved lazily so definitions never import pyarrow
    spark: str  # Spark SQL type name

    def __repr__(self) -> str:
        return self.name


Int64 = FeatureType("Int64", int, "int64", "bigint")
Int32 = FeatureType("Int32", int, "int32", "int")
Float64 = FeatureType("Float64", float, "float64", "double")
Float32 = FeatureType("Float32", float, "float32", "float")
String = FeatureType("String", str, "string", "string")
Bool = FeatureType("Bool", bool, "bool", "boolean")
Timestamp = FeatureType("Timestamp", object, "timestamp[us, tz=UTC]", "timestamp")
Bytes = FeatureType("Bytes", bytes, "binary", "binary")
Float64List = FeatureType("Float64List", list, "list<double>", "array<double>")
"""A list of floats (``last_n(k)``); Arrow ``list<double>`` (not a ``pa.type_for_alias`` name: see
``arrow_type``)."""

ALL_TYPES: dict[str, FeatureType] = {
    t.name: t for t in (Int64, Int32, Float64, Float32, String, Bool, Timestamp, Bytes, Float64List)
}

# Which declared types accept which observed types without a clash (widening only).
_COMPATIBLE: dict[str, frozenset[str]] = {
    "Int64": frozenset({"Int64", "Int32"}),
    "Int32": frozenset({"Int32"}),
    "Float64": frozenset({"Float64", "Float32", "Int64", "Int32"}),
    "Float32": frozenset({"Float32", "Int32"}),
    "String": frozenset({"String"}),
    "Bool": frozenset({"Bool"}),
    "Timestamp": frozenset({"Timestamp"}),
    "Bytes": frozenset({"Bytes"}),
    "Float64List": frozenset({"Float64List"}),
}


def accepts(declared: FeatureType, observed: FeatureType) -> bool:
    """True when a column of type ``observed`` can be stored under ``declared`` without loss."""
    return observed.name in _COMPATIBLE[declared.name]


def type_by_name(name: str) -> FeatureType:
    """Look a type up by its name (``"Float64"``); raises ``KeyError`` naming the known ones."""
    try:
        return ALL_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown feature type {name!r}; known: {', '.join(ALL_TYPES)}") from None
