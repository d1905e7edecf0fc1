"""Compile a ``FeatureView``'s transform into a Spark DataFrame over its upstreams' DataFrames.

- SQL: each ``{name}`` placeholder (``definitions.transforms.find_placeholders``: not inside comments or
  string literals) is bound to a temporary view of that upstream's DataFrame (unique per call, so
  concurrent compilations never see each other's tables) and the text runs as Spark SQL.
- Python: the function is called with one DataFrame per parameter, matched by name.
- No transform: the source's join keys, timestamp, created timestamp and declared columns pass through.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from aquifer.analysis.dimensions import JoinPlan, spark_sql
from aquifer.definitions import BatchSource, FeatureView, KafkaSource, PythonTransform, SqlTransform
from aquifer.definitions.transforms import render_sql  # noqa: F401 - the one placeholder rule (spark_sql uses it)
from aquifer.stores.offline.layout import CREATED_TS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class TransformError(RuntimeError):
    """A transform could not be compiled or raised; the message names the view."""


def compile_view(spark: SparkSession, view: FeatureView, inputs: Mapping[str, DataFrame],
                 joins: JoinPlan | None = None) -> DataFrame:
    """The view's rows (before schema checks) from ``inputs`` (upstream name → DataFrame).

    ``joins`` (``analysis.dimensions.view_join_plan``) rewrites a SQL transform's ``ASOF`` joins for Spark.

    The output's event-time column is ``view.timestamp_field`` for transforms; a passthrough view keeps the
    source's timestamp column name. Callers conform the output with ``schema_check.conform``.
    """
    transform = view.transform
    if isinstance(transform, SqlTransform):
        return _run_sql(spark, view, transform, inputs, joins or JoinPlan())
    if isinstance(transform, PythonTransform):
        return _run_python(view, transform, inputs)
    return _passthrough(view, inputs)


def output_timestamp(view: FeatureView) -> str:
    """The column holding a view's event time in its transform's output."""
    if view.transform is None and isinstance(view.source, BatchSource | KafkaSource):
        return view.source.timestamp_field
    return view.timestamp_field


def _run_sql(spark: SparkSession, view: FeatureView, transform: SqlTransform, inputs: Mapping[str, DataFrame],
             joins: JoinPlan) -> DataFrame:
    suffix = uuid.uuid4().hex[:8]
    tables = {}
    for name in transform.placeholders:
        if name not in inputs:
            raise TransformError(f"view {view.name!r}: SQL reads {{{name}}}, which is not a source or view")
        tables[name] = f"__aq_{name}_{suffix}"
        inputs[name].createOrReplaceTempView(tables[name])
    try:
        return spark.sql(spark_sql(transform.text, tables, joins))
    except Exception as exc:
        raise TransformError(f"view {view.name!r}: SQL transform failed: {_first_line(exc)}") from exc


def _function(transform: PythonTransform) -> Callable:
    if transform.function is not None:
        return transform.function
    target: object = importlib.import_module(transform.module)
    for part in transform.qualname.split("."):
        target = getattr(target, part)
    return getattr(target, "transform", target)  # type: ignore[return-value]


def _run_python(view: FeatureView, transform: PythonTransform, inputs: Mapping[str, DataFrame]) -> DataFrame:
    missing = [p for p in transform.params if p not in inputs]
    if missing:
        raise TransformError(f"view {view.name!r}: parameter(s) {', '.join(missing)} name no source or view")
    try:
        out = _function(transform)(**{p: inputs[p] for p in transform.params})
    except Exception as exc:
        raise TransformError(f"view {view.name!r}: Python transform raised {type(exc).__name__}: {exc}") from exc
    if not hasattr(out, "schema") or not hasattr(out, "select"):
        raise TransformError(f"view {view.name!r}: Python transform returned {type(out).__name__}, not a DataFrame")
    return out


def _passthrough(view: FeatureView, inputs: Mapping[str, DataFrame]) -> DataFrame:
    source = view.source
    assert source is not None
    df = inputs[source.name]
    ts = output_timestamp(view)
    created = getattr(source, "created_timestamp_field", None)
    wanted = [*view.join_keys, ts, *(f.name for f in view.schema)]
    columns = [c for c in dict.fromkeys(wanted) if c in df.columns]
    if created and created in df.columns:
        return df.select(*columns, df[created].alias(CREATED_TS))
    if CREATED_TS in df.columns:
        columns.append(CREATED_TS)
    return df.select(*columns)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
