"""``get_training_frame``: point-in-time correct training data from the offline store.

For each label row and each requested view: the view's feature row of the same entity with the
greatest ``event_ts <= ts`` (ties: greatest ``created_ts``), or nulls when there is none or it is older
than the view's TTL (declared defaults instead with ``fill_defaults=True``, which replaces every null of
a feature with its default). Every label row comes back exactly once, in the caller's order, with its
other columns untouched (pandas: same index too) and the feature columns appended.

Timestamps: naive label timestamps are UTC; tz-aware ones are converted to UTC (``inputs``).
Engine choice: explicit ``engine=`` > ``offline_engine`` in aquifer.yaml; ``auto`` rule in ``engine``.
Both engines return identical frames (``tests/integration/pit``). ``batches.iter_training_batches``
streams the same frame in Arrow record batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aquifer.planning.pit import LABEL_TS, ROW_ID, PitPlan, PitView
from aquifer.training.inputs import TrainingInputError
from aquifer.training.labels import is_spark_frame, pandas_key_table, spark_key_frame, spark_labels
from aquifer.training.request import prepare

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["TrainingInputError", "get_training_frame"]


def get_training_frame(
    store: Any,
    labels: Any,
    features: Any,
    *,
    timestamp_col: str = "event_ts",
    as_spark: bool = False,
    engine: str | None = None,
    full_names: bool = False,
    fill_defaults: bool = False,
    spark_method: str | None = None,
) -> Any:
    """Labels (pandas or Spark) plus PIT-correct feature columns; pandas unless ``as_spark=True``.

    ``features`` is a FeatureService, its name, or a list of ``"view:feature"`` refs / views /
    projections. ``spark_method`` picks the Spark join (``"window"``, the default, ``"asof"``, or
    ``"salted"``: the window split by time bucket, for a few very hot entities).
    """
    request = prepare(store, labels, features, timestamp_col=timestamp_col, full_names=full_names, engine=engine,
                      as_spark=as_spark)
    config = store.config
    keys = list(request.keys)
    if request.engine == "duckdb":
        result = _run_duckdb(labels, timestamp_col, keys, request.views, fill_defaults)
        return spark_of(config).createDataFrame(result) if as_spark else result
    return _run_spark(config, labels, timestamp_col, keys, request.views, fill_defaults, as_spark, spark_method)


def _run_duckdb(labels: Any, timestamp_col: str, keys: list[str], views: tuple[PitView, ...],
                fill_defaults: bool) -> pd.DataFrame:
    from aquifer.engines.duckdb import duckdb_pit_join

    if is_spark_frame(labels):
        labels = labels.toPandas()
    table, (low, high) = pandas_key_table(labels, timestamp_col, keys)
    plan = PitPlan(views, low, high, fill_defaults, len(labels))
    return attach(labels, duckdb_pit_join(table, plan), plan)


def _run_spark(config: Any, labels: Any, timestamp_col: str, keys: list[str], views: tuple[PitView, ...],
               fill_defaults: bool, as_spark: bool, method: str | None) -> Any:
    from aquifer.engines.spark.pit import DEFAULT_METHOD, spark_pit_join

    spark = spark_of(config)
    if is_spark_frame(labels) or as_spark:
        frame = labels if is_spark_frame(labels) else spark.createDataFrame(labels)
        frame, (low, high), count = spark_labels(frame, timestamp_col)
        plan = PitPlan(views, low, high, fill_defaults, count)
        out = spark_pit_join(spark, frame, plan, method or DEFAULT_METHOD).orderBy(ROW_ID).drop(ROW_ID, LABEL_TS)
        return out if as_spark else out.toPandas()
    # pandas in, pandas out: only (row id, ts, keys) travel to the JVM; the labels stay in pandas, and
    # the result is not sorted by Spark (``attach`` sorts it by row id)
    table, (low, high) = pandas_key_table(labels, timestamp_col, keys)
    plan = PitPlan(views, low, high, fill_defaults, len(labels))
    with spark_key_frame(spark, table) as frame:
        out = spark_pit_join(spark, frame, plan, method or DEFAULT_METHOD)
        result = out.select(ROW_ID, *plan.output_columns).toArrow()
    return attach(labels, result, plan)


def attach(labels: pd.DataFrame, features: pa.Table, plan: PitPlan) -> pd.DataFrame:
    """Put engine output back in label order, cast it to the declared types and append it to the labels.

    Row ids are a permutation of ``0..n-1``, so the order is restored by scattering (O(n)), not sorting.
    """
    import numpy as np
    import pandas as pd

    n = len(labels)
    order = np.full(n, -1, dtype=np.int64)
    row_ids = features[ROW_ID].to_numpy()
    if features.num_rows != n or row_ids.min(initial=0) < 0 or row_ids.max(initial=-1) >= n:
        raise RuntimeError(f"PIT join returned {features.num_rows} rows for {n} labels")  # engine bug
    order[row_ids] = np.arange(n)
    if (order < 0).any():
        raise RuntimeError("PIT join returned a label row twice and lost another")  # engine bug
    frame = features.select(plan.output_columns).cast(feature_schema(plan)).to_pandas().take(order)
    frame.index = labels.index
    return pd.concat([labels.copy(), frame], axis=1, copy=False)


def feature_schema(plan: PitPlan) -> pa.Schema:
    """The feature output columns with their declared Arrow types (timestamps: microseconds, UTC)."""
    import pyarrow as pa

    return pa.schema([(f.column, _arrow_type(f.arrow_type)) for v in plan.views for f in v.features])


def _arrow_type(name: str) -> pa.DataType:
    import pyarrow as pa

    if name.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC")
    return pa.type_for_alias(name)


def spark_of(config: Any) -> Any:
    """The Spark session ``config`` names (started on first use)."""
    from aquifer.engines.spark.session import spark_for

    return spark_for(config)
