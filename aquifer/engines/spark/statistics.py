"""Per-feature statistics of the rows a batch range writes, computed by Spark's own aggregates in the JVM.

The range's rows are already computed and cached (``job.compute_range``); ``write_computed`` has this
aggregate the rows it writes (in range, with keys: before the dedupe, while the write runs; again over the
deduplicated rows when duplicates were dropped), never the sources again, and no row crosses into Python.
One ``groupBy(UTC event day).agg(...)`` computing per feature and day: rows, non-null values (NaN is null
for floats), min, max, mean and ``var_pop`` (so ``m2 = var_pop * n`` for Chan's merge), ``hll_sketch_agg``
(lg_k 12) and ``kll_sketch_agg_double`` (k = ``KLL_K``) over the same values the Python path
(``quality.statistics.StatisticsSketch.update``) feeds its sketches: integers and timestamps (epoch µs) as
int64 for HLL and as doubles for KLL, strings and booleans (``"true"``/``"false"``) as text, floats as
``xxhash64`` of the double (``quality.statistics.float_hash_keys`` computes the same in numpy), so sketches
of both paths union without counting a value twice,
and, for strings, ``approx_top_k_accumulate`` (``FREQUENT_EXACT`` items): DataSketches' frequent-items sketch,
the same kind and size (``FREQUENT_LG_MAX_MAP``) the Python path keeps, read there as is (exact while a day
holds at most 768 distinct values, estimates with DataSketches' error bounds beyond); booleans' top values
are their two counts.

One job, one read of the rows: a separate ``groupBy(day, feature, value)`` for the top values (a shuffle of
every distinct value) cost as much again as the sketches of three string features (``bench/quality.py``).
The driver builds the same ``DailyStatistics`` (``StatisticsSketch.from_parts``) the Python path builds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aquifer.aggregations.sketch import KLL_K
from aquifer.quality.statistics import (
    DAY_US,
    FREQUENT_EXACT,
    HLL_LG_K,
    DailyStatistics,
    StatisticsSketch,
    ViewSketches,
    day_key,
    feature_types,
    kind_of,
)
from aquifer.stores.offline.layout import EVENT_TS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

log = logging.getLogger("aquifer.batch")

_DAY = "__day"


def _column(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


def _feature_aggregates(frame: DataFrame, name: str, dtype: str, index: int) -> list[Column]:
    """The aggregates of one feature, named ``__<index>_<part>``."""
    from pyspark.sql import functions as F

    kind = kind_of(dtype)
    p = f"__{index}_"
    if name not in frame.columns:  # not in the frame: every row is a null of it
        return []
    col = _column(name)
    out: list[Column] = []
    if kind == "float":
        # count, min and max of floats come from the KLL sketch, which keeps the exact n, min and max of the
        # doubles it is fed: three aggregates fewer per float feature
        value = F.nanvl(col.cast("double"), F.lit(None).cast("double"))  # NaN is null, as in Python
        hashed = F.when(value.isNotNull(), F.xxhash64(value))  # xxhash64(null) is not null
        out += [F.sum(value).alias(p + "sum"), F.var_pop(value).alias(p + "var"),
                F.hll_sketch_agg(hashed, HLL_LG_K).alias(p + "hll"),
                F.kll_sketch_agg_double(value, KLL_K).alias(p + "kll")]
    elif kind in ("integer", "timestamp"):
        # exact int64 min and max (a double holds integers exactly only up to 2^53)
        exact = col.cast("long") if kind == "integer" else F.unix_micros(col.cast("timestamp"))
        value = exact.cast("double")
        out += [F.count(exact).alias(p + "n"), F.min(exact).alias(p + "min"), F.max(exact).alias(p + "max"),
                F.hll_sketch_agg(exact, HLL_LG_K).alias(p + "hll"),
                F.kll_sketch_agg_double(value, KLL_K).alias(p + "kll")]
        if kind == "integer":
            out += [F.sum(value).alias(p + "sum"), F.var_pop(value).alias(p + "var")]
    elif kind == "string":
        out += [F.count(col).alias(p + "n"), F.min(col).alias(p + "min"), F.max(col).alias(p + "max"),
                F.hll_sketch_agg(col, HLL_LG_K).alias(p + "hll"),
                F.call_function("approx_top_k_accumulate", col.cast("string"), F.lit(FREQUENT_EXACT)).alias(p + "top")]
    elif kind == "boolean":  # its top values are its two counts
        out += [F.count(col).alias(p + "n"), F.count_if(col).alias(p + "true"),
                F.hll_sketch_agg(col.cast("string"), HLL_LG_K).alias(p + "hll")]
    else:
        out += [F.count(col).alias(p + "present")]
    return out


def frame_statistics(frame: DataFrame, view: Any) -> DailyStatistics:
    """Sketches of every feature of ``view`` over ``frame``'s rows, per UTC event day (Spark aggregates)."""
    from pyspark.sql import functions as F

    features = feature_types(view)
    day = F.floor(F.unix_micros(F.col(EVENT_TS)) / F.lit(float(DAY_US))).cast("long")
    frame = frame.withColumn(_DAY, day)
    aggregates = [F.count(F.lit(1)).alias("__rows")]
    for index, (name, dtype) in enumerate(features):
        aggregates += _feature_aggregates(frame, name, dtype, index)
    rows = frame.groupBy(_DAY).agg(*aggregates).collect()
    out = DailyStatistics(features, EVENT_TS)
    for row in rows:
        values = row.asDict()
        sketches = ViewSketches(())
        total = int(values["__rows"])
        for index, (name, dtype) in enumerate(features):
            sketches.sketches[name] = _sketch(values, index, name, dtype, total)
        out.days[day_key(int(values[_DAY]))] = sketches
    return out


def _sketch(values: dict[str, Any], index: int, name: str, dtype: str, total: int) -> StatisticsSketch:
    """One feature's sketch of one day from that day's aggregate row."""
    p = f"__{index}_"
    if p + "present" in values:  # counts only
        return StatisticsSketch.from_parts(name, dtype, count=total, nulls=total - int(values[p + "present"] or 0))
    if p + "hll" not in values:  # the column is missing: all nulls
        return StatisticsSketch.from_parts(name, dtype, count=total, nulls=total)
    kll = values.get(p + "kll")
    if p + "n" in values:
        n, minimum, maximum = int(values[p + "n"] or 0), values.get(p + "min"), values.get(p + "max")
    else:  # floats: from the KLL sketch
        from datasketches import kll_doubles_sketch

        sketch = kll_doubles_sketch.deserialize(bytes(kll))
        n = int(sketch.n)
        minimum, maximum = (None, None) if sketch.is_empty() else (sketch.get_min_value(), sketch.get_max_value())
    top: list[tuple[str, int]] = []
    if p + "true" in values:
        true = int(values[p + "true"] or 0)
        top = [("true", true), ("false", n - true)]
    frequent = values.get(p + "top")
    total_sum, variance = values.get(p + "sum"), values.get(p + "var")
    return StatisticsSketch.from_parts(
        name, dtype, count=total, nulls=total - n, n=n, mean=None if not n or total_sum is None else total_sum / n,
        m2=None if variance is None else float(variance) * n, minimum=minimum, maximum=maximum,
        hll=values.get(p + "hll"), kll=kll, top=top,
        frequent=None if frequent is None else frequent["sketch"],
    )


def stored_statistics(frame: DataFrame, view: Any) -> dict[str, dict[str, Any]] | None:
    """Per feature, the registry row's ``stats`` of ``frame``'s rows; None (logged) when they cannot be had.

    Statistics never fail a run: any error here is a warning and the range is written without them.
    """
    try:
        return frame_statistics(frame, view).stored()
    except Exception as exc:  # statistics are an observation of the run, not a condition of it
        log.warning("view %s: statistics not computed: %s", view.name, str(exc).strip().splitlines()[0] if str(exc)
                    else type(exc).__name__)
        return None
