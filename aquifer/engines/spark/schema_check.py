"""Check a computed DataFrame against its view's declared schema before anything is written.

Checks run on the plan's schema (no Spark job), so a mismatch fails the view's run with nothing written.
A column whose type the declared type accepts without loss (``aquifer.types.accepts``, e.g. Int32 into
Int64) is cast; anything else is refused, naming the view and the column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aquifer.definitions import AggregationView, FeatureView
from aquifer.definitions.types import ALL_TYPES, FeatureType, Int64, Timestamp, accepts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

from aquifer.stores.offline.layout import CREATED_TS, EVENT_TS

# Spark's simpleString names -> aquifer types
_FROM_SPARK: dict[str, FeatureType] = {t.spark: t for t in ALL_TYPES.values()}
_FROM_SPARK["timestamp_ntz"] = Timestamp


class SchemaMismatch(ValueError):
    """A view's output lacks a declared column or has it with an incompatible type."""


def key_types(view: FeatureView | AggregationView) -> dict[str, FeatureType | None]:
    """Each join key's declared type (None when its entity declares no ``key_types``)."""
    out: dict[str, FeatureType | None] = {}
    for entity in view.entities:
        types = entity.key_types or (None,) * len(entity.join_keys)
        for key, dtype in zip(entity.join_keys, types, strict=True):
            out.setdefault(key, dtype)
    return out


def observed_type(spark_type: str) -> FeatureType | None:
    """The aquifer type of a Spark ``simpleString`` type, or None when aquifer has no such type."""
    return _FROM_SPARK.get(spark_type)


def _check_column(view: FeatureView | AggregationView, dtypes: dict[str, str], column: str,
                  declared: FeatureType | None, what: str) -> None:
    if column not in dtypes:
        raise SchemaMismatch(
            f"view {view.name!r}: {what} column {column!r} is missing from the transform's output "
            f"(it has: {', '.join(dtypes) or 'no columns'})"
        )
    if declared is None:
        return
    observed = observed_type(dtypes[column])
    if observed is None or not accepts(declared, observed):
        raise SchemaMismatch(
            f"view {view.name!r}: column {column!r} is {dtypes[column]} but the schema declares {declared.name}"
        )


def conform(df: DataFrame, view: FeatureView | AggregationView, timestamp_field: str = EVENT_TS) -> DataFrame:
    """Keys, ``event_ts``, ``created_ts`` (when present) and the declared features, cast to their types.

    ``timestamp_field`` names the output's event-time column (renamed to ``event_ts``).
    """
    from pyspark.sql import functions as F

    dtypes = dict(df.dtypes)
    keys = key_types(view)
    for key, dtype in keys.items():
        _check_column(view, dtypes, key, dtype, "join key")
    _check_column(view, dtypes, timestamp_field, Timestamp, "timestamp")
    for field in view.schema:
        _check_column(view, dtypes, field.name, field.dtype, "feature")
    columns = [F.col(k).cast(t.spark).alias(k) if t else F.col(k) for k, t in keys.items()]
    columns.append(F.col(timestamp_field).cast("timestamp").alias(EVENT_TS))
    if CREATED_TS in dtypes:
        columns.append(F.col(CREATED_TS).cast("timestamp").alias(CREATED_TS))
    columns += [F.col(f.name).cast(f.dtype.spark).alias(f.name) for f in view.schema]
    return df.select(*columns)


def store_schema(view: FeatureView | AggregationView) -> StructType:
    """The Spark schema of the view's rows in the offline store."""
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    fields = [StructField(k, _parse_datatype_string((t or Int64).spark)) for k, t in key_types(view).items()]
    fields += [StructField(EVENT_TS, _parse_datatype_string("timestamp")),
               StructField(CREATED_TS, _parse_datatype_string("timestamp"))]
    fields += [StructField(f.name, _parse_datatype_string(f.dtype.spark)) for f in view.schema]
    return StructType(fields)
