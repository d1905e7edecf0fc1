"""``iter_training_batches``: the training frame as a stream of Arrow record batches, for frames past memory.

The same join as ``get_training_frame`` (same checks, engine choice and rules), read a batch at a time
instead of collected: DuckDB runs the same ASOF query ordered by label row and streams it through its
Arrow record-batch reader; Spark sorts the same plan's result by label row and brings it over a
partition at a time (``engines/spark/pit_stream``). Batches come in the labels' order, each label row
exactly once. A batch holds the labels' columns (pandas labels: the matching slice of the caller's
frame, without its index) and then the feature columns in their declared types; concatenated, the
batches hold the values ``get_training_frame`` returns. Labels with no rows yield no batch.

The labels themselves stay where the caller keeps them (a pandas frame in memory, or a Spark frame);
it is the joined result that is never held whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aquifer.planning.pit import LABEL_TS, ROW_ID, PitPlan
from aquifer.training.frame import feature_schema, spark_of
from aquifer.training.inputs import TrainingInputError
from aquifer.training.labels import is_spark_frame, pandas_key_table, spark_key_frame, spark_labels
from aquifer.training.request import prepare

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import SparkSession

BATCH_ROWS = 65_536


def iter_training_batches(
    store: Any,
    labels: Any,
    features: Any,
    *,
    batch_rows: int = BATCH_ROWS,
    engine: str | None = None,
    timestamp_col: str = "event_ts",
    full_names: bool = False,
    fill_defaults: bool = False,
    spark_method: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """``get_training_frame(store, labels, features, ...)`` as ``pyarrow.RecordBatch``s of ``<= batch_rows`` rows.

    The request is checked (and the engine chosen) now, so a bad request raises here rather than at the
    first batch; the join runs when the first batch is asked for. ``batch.to_pandas()`` gives a pandas chunk.
    """
    if batch_rows < 1:
        raise TrainingInputError(f"batch_rows must be at least 1, got {batch_rows}")
    request = prepare(store, labels, features, timestamp_col=timestamp_col, full_names=full_names, engine=engine,
                      as_spark=False)
    keys = list(request.keys)
    if request.engine == "duckdb":
        from aquifer.engines.duckdb.pit import duckdb_pit_batches

        if is_spark_frame(labels):
            labels = labels.toPandas()
        table, (low, high) = pandas_key_table(labels, timestamp_col, keys)
        plan = PitPlan(request.views, low, high, fill_defaults, len(labels))
        return with_labels(labels, duckdb_pit_batches(table, plan, batch_rows), plan)
    from aquifer.engines.spark.pit import DEFAULT_METHOD

    spark, method = spark_of(store.config), spark_method or DEFAULT_METHOD
    if is_spark_frame(labels):
        frame, (low, high), count = spark_labels(labels, timestamp_col)
        plan = PitPlan(request.views, low, high, fill_defaults, count)
        return _spark_frame_batches(spark, frame, plan, method, batch_rows)
    table, (low, high) = pandas_key_table(labels, timestamp_col, keys)
    plan = PitPlan(request.views, low, high, fill_defaults, len(labels))
    return with_labels(labels, _spark_key_batches(spark, table, plan, method, batch_rows), plan)


def with_labels(labels: pd.DataFrame, batches: Iterator[pa.RecordBatch], plan: PitPlan) -> Iterator[pa.RecordBatch]:
    """Each engine batch (``ROW_ID`` + features, in row id order) behind the label rows it belongs to.

    Row ids must run ``0, 1, ..., n-1`` across the batches: anything else is an engine bug, raised.
    """
    import numpy as np
    import pyarrow as pa

    label_schema = pa.Schema.from_pandas(labels, preserve_index=False).remove_metadata()
    features = feature_schema(plan)
    schema = pa.schema([*label_schema, *features])
    done = 0
    for batch in batches:
        n = batch.num_rows
        if not np.array_equal(batch.column(ROW_ID).to_numpy(), np.arange(done, done + n)):
            raise RuntimeError(f"PIT join returned label rows out of order, twice or not at all after row {done}")
        part = pa.RecordBatch.from_pandas(labels.iloc[done:done + n], schema=label_schema, preserve_index=False)
        values = [batch.column(f.name).cast(f.type) for f in features]
        yield pa.RecordBatch.from_arrays([*part.columns, *values], schema=schema)
        done += n
    if done != len(labels):
        raise RuntimeError(f"PIT join returned {done} rows for {len(labels)} labels")  # engine bug


def _spark_key_batches(spark: SparkSession, table: pa.Table, plan: PitPlan, method: str,
                       batch_rows: int) -> Iterator[pa.RecordBatch]:
    """``ROW_ID`` + features of pandas labels' key table, joined on Spark, in row id order."""
    from aquifer.engines.spark.pit import spark_pit_join
    from aquifer.engines.spark.pit_stream import local_arrow_batches

    with spark_key_frame(spark, table) as frame:  # open until the last batch: Spark reads it lazily
        out = spark_pit_join(spark, frame, plan, method).select(ROW_ID, *plan.output_columns).orderBy(ROW_ID)
        yield from local_arrow_batches(out, batch_rows)


def _spark_frame_batches(spark: SparkSession, frame: Any, plan: PitPlan, method: str,
                         batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Spark labels with their features, in the labels' order, feature columns cast to the declared types."""
    import pyarrow as pa

    from aquifer.engines.spark.pit import spark_pit_join
    from aquifer.engines.spark.pit_stream import local_arrow_batches

    out = spark_pit_join(spark, frame, plan, method).orderBy(ROW_ID).drop(ROW_ID, LABEL_TS)
    features = feature_schema(plan)
    for batch in local_arrow_batches(out, batch_rows):
        labels = [batch.column(name) for name in batch.schema.names if name not in features.names]
        schema = pa.schema([*(f for f in batch.schema if f.name not in features.names), *features])
        values = [batch.column(f.name).cast(f.type) for f in features]
        yield pa.RecordBatch.from_arrays([*labels, *values], schema=schema)
