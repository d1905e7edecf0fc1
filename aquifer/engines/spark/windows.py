"""Window assignment and per-window aggregates in Spark, following ``aquifer.aggregations`` exactly.

Times are epoch microseconds (``__us``); windows are half-open ``[__ws, __we)``.

- Tumbling / sliding: epoch-aligned grid windows (``pmod`` floors like Python's ``%``). ``grid_windows``
  explodes a sliding event into each window containing it; by default sliding windows are instead merged
  from tiles (``engines.spark.tiles``), and only functions tiles cannot merge, or every function with
  ``batch.sliding_windows: explode``, come here. After every run of non-empty windows comes one **closing
  row** (the next grid window, empty: count 0, others null), as in ``aggregations.reference.compute_windows``.
- Sessions: ``lag`` over the entity's events marks a new session when ``t >= previous + gap``; a running
  sum of the marks is the session id; the window is ``[first, last + gap)``. With ``max_duration`` the
  split depends on where each session began, so those are assigned by the shared pure function
  ``aggregations.assign_sessions`` per entity (``applyInPandas``).
- Aggregates: native ``count`` / ``sum`` / ``avg`` / ``min`` / ``max`` / ``stddev_*`` / ``var_*`` over values whose
  NaNs were made null (the model's null rule, which then equals SQL's); percentiles read Spark's native KLL sketch
  (``kll_sketch_agg_double``, DataSketches Java, k = 200: the model's sketch, the same bytes Python's ``datasketches``
  reads, and the same quantile rule), so no step holds a window's values. ``approx_distinct`` is Spark's native
  ``hll_sketch_agg`` (DataSketches Java, lg_k 12), which hashes as the model does: strings and 64-bit integers alike,
  and a double as the long of its IEEE bits; so a double column is split, integral values hashed as longs (the model's
  rule) and the others as their bits, and the two sketches unioned. Columns of other types collect their distinct
  values into the model's sketch in a pandas UDF. ``first`` / ``last`` are the least / greatest ``struct(time,
  value)`` (the model's tie rule: Spark orders structs field by field), ``min_by`` / ``max_by`` the least ``struct(by,
  -time, value)`` / greatest ``struct(by, time, value)``, ``last_n(k)`` the ``k`` greatest ``struct(time, value)`` of
  the window (``max_by(…, k)``: a heap of ``k``), oldest first.
- Offsets shift the grid: a window starts at ``t - pmod(t - offset, step)``.
- ``Lifetime``: the model itself (``reference.compute_windows``) per entity over its time-sorted events
  (``applyInPandas``): one row per distinct event time at ``time + 1 µs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aquifer.aggregations import HLL_LG_K, KLL_K, duration_micros
from aquifer.definitions import Aggregation, Lifetime, Session, Sliding, Tumbling
from aquifer.definitions.aggregation import VALUE_FUNCTIONS

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column, DataFrame

US, WS, WE = "__us", "__ws", "__we"


def value_column(column: str) -> str:
    """The internal name of an aggregated column's cleaned (NaN → null, double) values."""
    return f"__v_{column}"


def raw_column(column: str) -> str:
    """The internal name of a column as read (NaN → null for floats), for functions returning or hashing its
    values (``first``, ``last``, ``min_by``, ``max_by``, ``approx_distinct``) and for ``by`` columns."""
    return f"__r_{column}"


def state_column(feature: str) -> str:
    """The internal name of a feature's ``struct(v)`` column (null struct = this row does not set it)."""
    return f"__s_{feature}"


def reads_raw(a: Aggregation) -> bool:
    """Does the aggregation read the column as it is (not as a double)?"""
    return a.function in (*VALUE_FUNCTIONS, "approx_distinct")


def input_columns(a: Aggregation) -> tuple[str, str | None]:
    """The event columns an aggregation reads: its value column, and its ``by`` column (or None)."""
    value = raw_column(a.column) if reads_raw(a) else value_column(a.column)
    return value, None if a.by is None else raw_column(a.by)


def _distinct_udf() -> Callable[[Column], Column]:
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    def distinct(values):  # type: ignore[no-untyped-def]
        from aquifer.aggregations.lookup import aggregator_for

        hll = aggregator_for("approx_distinct")
        out = []
        for array in values:
            state = hll.init()
            for value in [] if array is None else array:
                state = hll.update(state, value)
            out.append(hll.finalize(state))
        return pd.Series(out, dtype="int64")

    distinct.__annotations__ = {"values": pd.Series, "return": pd.Series}
    return pandas_udf("long")(distinct)


_NATIVE = ("sum", "avg", "min", "max", "stddev_pop", "stddev_samp", "var_pop", "var_samp")


def _hashed_longs(column: str) -> tuple[str, str]:
    """The internal names of a double column's values hashed as longs: integral values, and the IEEE bits of
    the others (``distinct_inputs``)."""
    return f"__hi_{column}", f"__hb_{column}"


def distinct_inputs(column: str, spark_type: str) -> list[Column]:
    """Event columns ``approx_distinct`` of a double ``column`` reads (none for other types): its integral
    values as longs and the others' IEEE bits as longs (``reflect`` is not allowed inside an aggregate)."""
    from pyspark.sql import functions as F

    if spark_type not in ("double", "float"):
        return []
    integral_name, bits_name = _hashed_longs(column)
    d = F.col(raw_column(column)).cast("double")
    # the model's rule (``distinct.hll_value``): integral and -2^63 <= d < 2^63; no floor (it overflows)
    integral = (d >= F.lit(-(2.0**63))) & (d < F.lit(2.0**63)) & (d % F.lit(1.0) == 0)
    bits = F.expr(f"cast(reflect('java.lang.Double', 'doubleToLongBits', cast(`{raw_column(column)}` as double)) "
                  "as bigint)")
    return [F.when(integral, d.cast("bigint")).alias(integral_name),
            F.when(d.isNotNull() & ~integral, bits).alias(bits_name)]


_INTEGERS = ("bigint", "int", "smallint", "tinyint", "boolean")


def distinct_sketch(a: Aggregation, types: dict[str, str]) -> Column | None:
    """The native HLL sketch of a column's non-null values hashed as the model does (None: no native way)."""
    from pyspark.sql import functions as F

    name = raw_column(a.column)
    spark_type = types.get(name)
    if spark_type == "string":
        return F.hll_sketch_agg(F.col(name), HLL_LG_K)
    if spark_type in _INTEGERS:
        return F.hll_sketch_agg(F.col(name).cast("bigint"), HLL_LG_K)
    integral, bits = _hashed_longs(a.column)
    if spark_type in ("double", "float") and integral in types and bits in types:
        return F.hll_union(F.hll_sketch_agg(F.col(integral), HLL_LG_K), F.hll_sketch_agg(F.col(bits), HLL_LG_K))
    return None


def aggregate_column(a: Aggregation, types: dict[str, str]) -> Column:
    from pyspark.sql import functions as F

    name, by_name = input_columns(a)
    v, t = F.col(name), F.col(US)
    if a.function == "count":
        return F.count(v).cast("long")
    if a.function in _NATIVE:
        return getattr(F, a.function)(v).cast("double")
    if a.function == "approx_distinct":
        sketch = distinct_sketch(a, types)
        # finalized after the group-by: the sketch's estimate, or the model's sketch over the distinct values
        return F.collect_set(v) if sketch is None else sketch
    if a.function in ("first", "last"):
        timed = F.when(v.isNotNull(), F.struct(t.alias("t"), v.alias("v")))
        return (F.min if a.function == "first" else F.max)(timed)
    if a.function in ("min_by", "max_by"):
        by = F.col(by_name)  # type: ignore[arg-type]
        time = -t if a.function == "min_by" else t  # ties in by: the latest event for both
        picked = F.when(v.isNotNull() & by.isNotNull(), F.struct(by.alias("b"), time.alias("t"), v.alias("v")))
        return (F.min if a.function == "min_by" else F.max)(picked)
    if a.last_n is not None:  # a k-heap (Spark 4.2+), not the window's values: newest first
        timed = F.when(v.isNotNull(), F.struct(t.alias("t"), v.alias("v")))
        return F.max_by(timed, timed, a.last_n)
    return F.kll_sketch_agg_double(v, KLL_K)  # percentiles: the model's sketch, read after the group-by


def _finalize(a: Aggregation, column: Column, types: dict[str, str]) -> Column:
    from pyspark.sql import functions as F

    if a.function in ("first", "last", "min_by", "max_by"):
        return column["v"]
    if a.function == "approx_distinct":
        if distinct_sketch(a, types) is None:
            return _distinct_udf()(column)
        return F.hll_sketch_estimate(column)
    if a.last_n is not None:
        return F.when(F.size(column) > 0, F.transform(F.reverse(column), lambda x: x["v"]))
    if a.quantile is None:
        return column
    return F.when(F.kll_sketch_get_n_double(column) > 0, F.kll_sketch_get_quantile_double(column, F.lit(a.quantile)))


def empty_state(a: Aggregation) -> Column:
    from pyspark.sql import functions as F

    if a.function in ("count", "approx_distinct"):
        return F.lit(0).cast("long")
    return F.lit(None).cast(a.dtype.spark)


def state_columns(df: DataFrame, keys: Sequence[str], aggs: Sequence[Aggregation], values: Sequence[Column]
                  ) -> DataFrame:
    """``df``'s keys and ``__we`` with one ``struct(v)`` state column per aggregation (``state_column``)."""
    from pyspark.sql import functions as F

    return df.select(*keys, WE, *[F.struct(v.alias("v")).alias(state_column(a.feature_name))
                                  for a, v in zip(aggs, values, strict=True)])


def grid_windows(events: DataFrame, keys: Sequence[str], window: Tumbling | Sliding,
                 aggs: Sequence[Aggregation]) -> DataFrame:
    """Tumbling or sliding window rows (with closing rows): keys, ``__we`` and one state column per feature."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    size = duration_micros(window.size)
    step = size if isinstance(window, Tumbling) else duration_micros(window.every)
    offset = duration_micros(window.offset)
    shifted = F.col(US) - F.lit(offset).cast("long") if offset else F.col(US)
    base = F.col(US) - F.pmod(shifted, F.lit(step).cast("long"))
    if isinstance(window, Tumbling):
        assigned = events.withColumn(WS, base)
    else:
        count = -(-size // step)
        ks = F.sequence(F.lit(0).cast("long"), F.lit(count - 1).cast("long"))
        assigned = events.withColumn("__k", F.explode(ks))
        assigned = assigned.withColumn(WS, base - F.col("__k") * F.lit(step).cast("long"))
        assigned = assigned.where(F.col(WS) + F.lit(size).cast("long") > F.col(US))
    types = dict(events.dtypes)
    grouped = assigned.groupBy(*keys, WS).agg(*[aggregate_column(a, types).alias(f"__a{i}")
                                                for i, a in enumerate(aggs)])
    grouped = grouped.withColumn(WE, F.col(WS) + F.lit(size).cast("long"))
    full = state_columns(grouped, keys, aggs, [_finalize(a, F.col(f"__a{i}"), types) for i, a in enumerate(aggs)])
    nxt = F.lead(WS).over(Window.partitionBy(*keys).orderBy(WS))
    closing = grouped.select(*keys, WS, nxt.alias("__next")) \
        .where(F.col("__next").isNull() | (F.col("__next") != F.col(WS) + F.lit(step).cast("long"))) \
        .select(*keys, (F.col(WS) + F.lit(step + size).cast("long")).alias(WE))
    return full.unionByName(state_columns(closing, keys, aggs, [empty_state(a) for a in aggs]))


def session_windows(events: DataFrame, keys: Sequence[str], window: Session, aggs: Sequence[Aggregation]
                    ) -> DataFrame:
    """Session window rows: keys, ``__we`` and one state column per feature (sessions have no closing rows)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    gap = duration_micros(window.gap)
    types = dict(events.dtypes)
    if window.max_duration is None:
        by_time = Window.partitionBy(*keys).orderBy(US)
        prev = F.lag(US).over(by_time)
        new = prev.isNull() | (F.col(US) >= prev + F.lit(gap).cast("long"))
        marked = events.withColumn("__new", new.cast("long"))
        sessions = marked.withColumn("__sid", F.sum("__new").over(by_time.rowsBetween(Window.unboundedPreceding, 0)))
    else:
        sessions = _sessions_with_max(events, keys, window)
    grouped = sessions.groupBy(*keys, "__sid").agg(
        F.min(US).alias("__first"), F.max(US).alias("__last"),
        *[aggregate_column(a, types).alias(f"__a{i}") for i, a in enumerate(aggs)],
    )
    end = F.col("__last") + F.lit(gap).cast("long")
    if window.max_duration is not None:
        end = F.least(end, F.col("__first") + F.lit(duration_micros(window.max_duration)).cast("long"))
    grouped = grouped.withColumn(WE, end)
    return state_columns(grouped, keys, aggs, [_finalize(a, F.col(f"__a{i}"), types) for i, a in enumerate(aggs)])


def _sessions_with_max(events: DataFrame, keys: Sequence[str], window: Session) -> DataFrame:
    from pyspark.sql.types import LongType, StructField, StructType

    gap, max_duration = duration_micros(window.gap), duration_micros(window.max_duration)

    def assign(frame: pd.DataFrame) -> pd.DataFrame:
        from aquifer.aggregations import assign_sessions

        frame = frame.sort_values(US, kind="stable").reset_index(drop=True)
        sid = [0] * len(frame)
        for number, (_, _, members) in enumerate(assign_sessions(frame[US].tolist(), gap, max_duration)):
            for i in members:
                sid[i] = number
        return frame.assign(__sid=sid)

    schema = StructType([*events.schema.fields, StructField("__sid", LongType())])
    return events.groupBy(*keys).applyInPandas(assign, schema)


def lifetime_windows(events: DataFrame, keys: Sequence[str], window: Lifetime, aggs: Sequence[Aggregation]
                     ) -> DataFrame:
    """Lifetime rows: per entity, one row per distinct event time ``t`` at ``__we = t + 1`` with every
    feature's value over the events up to ``t`` (the model's ``compute_windows``, run per entity)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StructField, StructType, _parse_datatype_string

    inputs = [input_columns(a) for a in aggs]
    outputs = [f"__a{i}" for i in range(len(aggs))]

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        from aquifer.aggregations import compute_windows

        times = frame[US].tolist()
        out: dict[str, list[object]] = {}
        ends: list[int] = []
        for (value, by), name, a in zip(inputs, outputs, aggs, strict=True):
            values = frame[value].tolist()
            if by is None:
                events = list(zip(times, values, strict=True))
            else:
                events = list(zip(times, values, frame[by].tolist(), strict=True))
            computed = compute_windows(events, a)
            ends = [row.end for row in computed]
            out[name] = [row.value for row in computed]
        result = pd.DataFrame({WE: pd.Series(ends, dtype="int64"), **{k: pd.Series(v, dtype=object)
                                                                       for k, v in out.items()}})
        for key in keys:
            result[key] = frame[key].iloc[0]
        return result[[*keys, WE, *outputs]]

    schema = StructType([*[events.schema[key] for key in keys], StructField(WE, LongType()),
                         *[StructField(name, _parse_datatype_string(a.dtype.spark))
                           for name, a in zip(outputs, aggs, strict=True)]])
    picked = events.select(*keys, US, *dict.fromkeys(c for pair in inputs for c in pair if c is not None))
    computed = picked.groupBy(*keys).applyInPandas(rows, schema)
    return state_columns(computed, keys, aggs, [F.col(name) for name in outputs])

