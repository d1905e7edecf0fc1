"""Sliding windows from tiles: partial aggregates once per hop, merged into each window in constant work.

``Sliding(size, every=step)`` holds ``size / step`` windows per event. Exploding every event into each of them
(``windows.grid_windows`` with ``batch.sliding_windows: explode``) multiplies the rows shuffled by that ratio
(288 times for ``Sliding("1d", every="5m")``). Here instead:

1. **Tiles.** Time is cut into tiles of ``pane = gcd(size, step)`` (the stream layer's panes,
   ``aggregations.panes``): every window boundary is a tile boundary. One group-by gives, per entity and tile,
   each function's partial state: count, sum, min, max, a KLL sketch (``kll_sketch_agg_double``, k = 200, the
   model's sketch), an HLL sketch, the moments ``(n, mean, m2)``, or the least / greatest timed struct.
2. **Which windows.** Per entity, the windows holding events form runs of consecutive grid starts
   (``aggregations.panes.GridGroup.runs``: a tile ``p`` is in the windows starting from
   ``floor((p - size) / step) * step + step`` to ``p - p mod step``). Each tile row, next to its neighbours
   (``lag`` / ``lead``), brings the start rows of the windows it is the first tile of and, when its run ends
   with it, the run's closing row (the empty window after it, as in ``compute_windows``): one ``explode``, so
   the tiles are aggregated once.
3. **Merging without re-reading tiles** (van Herk / Gil-Werman): time is also cut into blocks of ``size``. A
   window ``[s, s + size)`` is the *suffix* of its block from ``s`` merged with the *prefix* of the next block
   up to ``s + size`` (empty when ``s`` starts a block). Suffixes and prefixes are running aggregates over the
   block's tiles (``ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW``, descending and ascending), which Spark
   updates one row at a time; the window's start rows ride in the same sort as markers. So a window costs two
   running updates and one pairwise merge (``least``, ``+``, ``kll_sketch_merge_double``, Chan's formula for
   moments), whatever ``size / step`` is, and no step holds a window's raw values.

Moments are summed around a shift ``c`` (the first tile's mean of the block in the running order), which keeps
``Σ n (mean - c)²`` free of the cancellation of ``Σ x² - n · mean²``.

``last_n`` and ``approx_distinct`` of types without a native sketch have no mergeable Spark form here: they
stay on the exploded plan (``tileable``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import gcd
from typing import TYPE_CHECKING

from aquifer.aggregations import KLL_K, duration_micros
from aquifer.definitions import Aggregation, Sliding
from aquifer.engines.spark.windows import (
    US,
    WE,
    aggregate_column,
    distinct_sketch,
    empty_state,
    input_columns,
    state_columns,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

TILE, START, POS, KIND, BLOCK = "__tile", "__start", "__pos", "__kind", "__block"
_TILE_ROW, _SUFFIX, _PREFIX, _CLOSING = 0, 1, 2, 3  # row kinds: a tile, a window's suffix or prefix, a closing row
_MOMENTS = ("stddev_pop", "stddev_samp", "var_pop", "var_samp")
_SIMPLE = ("count", "sum", "min", "max", "first", "last", "min_by", "max_by")


def tileable(a: Aggregation, types: dict[str, str]) -> bool:
    """Can ``a`` be computed from tiles (see the module docstring)?"""
    if a.last_n is not None:
        return False
    if a.function == "approx_distinct":
        return distinct_sketch(a, types) is not None
    return a.function in (*_SIMPLE, "avg", *_MOMENTS) or a.quantile is not None


@dataclass(frozen=True)
class _Part:
    """One partial state column: its per-tile aggregate, its running merge, its pairwise merge."""

    name: str
    tile: Column
    running: Callable[[Column], Column]
    pair: Callable[[Column, Column], Column]


def _either(merge: Callable[[Column, Column], Column]) -> Callable[[Column, Column], Column]:
    """A pairwise merge where a null side means "no tiles" (the other side wins)."""
    from pyspark.sql import functions as F

    return lambda a, b: F.when(a.isNull(), b).when(b.isNull(), a).otherwise(merge(a, b))


class _Plan:
    """The partial states the aggregations need (shared between them), and how each one finalizes."""

    def __init__(self, aggs: Sequence[Aggregation], types: dict[str, str]) -> None:
        self.parts: dict[str, _Part] = {}
        self.moments: dict[str, str] = {}  # moments part name -> value column
        self.finals: list[Callable[[Callable[[str], Column]], Column]] = []
        for a in aggs:
            self.finals.append(self._add(a, types))

    def _part(self, key: str, tile: Column, running: Callable[[Column], Column],
              pair: Callable[[Column, Column], Column]) -> str:
        self.parts.setdefault(key, _Part(key, tile, running, pair))
        return key

    def _add(self, a: Aggregation, types: dict[str, str]) -> Callable[[Callable[[str], Column]], Column]:
        from pyspark.sql import functions as F

        value, _ = input_columns(a)
        v = F.col(value)
        add = _either(lambda x, y: x + y)
        tag = f"__p_{value}"
        if a.function == "count" or a.function == "avg":
            count = self._part(f"{tag}_count", F.count(v), F.sum, add)
            if a.function == "count":
                return lambda c: F.coalesce(c(count), F.lit(0)).cast("long")
            total = self._part(f"{tag}_sum", F.sum(v), F.sum, add)
            return lambda c: F.when(c(count) > 0, c(total) / c(count))
        if a.function == "sum":
            total = self._part(f"{tag}_sum", F.sum(v), F.sum, add)
            return lambda c: c(total)
        if a.function in ("min", "max"):
            merge = F.least if a.function == "min" else F.greatest
            name = self._part(f"{tag}_{a.function}", getattr(F, a.function)(v), getattr(F, a.function), merge)
            return lambda c: c(name)
        if a.function in ("first", "last", "min_by", "max_by"):
            smallest = a.function in ("first", "min_by")
            key = f"{tag}_{a.function}" + (f"_{a.by}" if a.by else "")
            name = self._part(key, aggregate_column(a, types), F.min if smallest else F.max,
                              F.least if smallest else F.greatest)
            return lambda c: c(name)["v"]
        if a.function == "approx_distinct":
            sketch = distinct_sketch(a, types)
            assert sketch is not None
            name = self._part(f"{tag}_hll", sketch, F.hll_union_agg, _either(F.hll_union))
            return lambda c: F.coalesce(F.hll_sketch_estimate(c(name)), F.lit(0)).cast("long")
        if a.function in _MOMENTS:
            name = f"{tag}_moments"
            self.moments[name] = value
            return lambda c: _moments_value(a.function, c(name))
        assert a.quantile is not None
        q = a.quantile
        name = self._part(f"{tag}_kll", F.kll_sketch_agg_double(v, KLL_K), F.kll_merge_agg_double,
                          _either(F.kll_sketch_merge_double))
        return lambda c: F.when(F.kll_sketch_get_n_double(c(name)) > 0,
                                F.kll_sketch_get_quantile_double(c(name), F.lit(q)))

    def tile_columns(self) -> list[Column]:
        """The per-tile aggregates (the group-by's columns)."""
        from pyspark.sql import functions as F

        columns = [part.tile.alias(part.name) for part in self.parts.values()]
        for name, value in self.moments.items():
            v = F.col(value)
            columns += [F.count(v).alias(f"{name}_n"), F.avg(v).alias(f"{name}_mean"),
                        (F.var_pop(v) * F.count(v)).alias(f"{name}_m2")]
        return columns


def _moments_value(function: str, m: Column) -> Column:
    """``var_pop`` / ``var_samp`` / ``stddev_*`` of a ``struct(n, mean, m2)`` (null below 1 or 2 values)."""
    from pyspark.sql import functions as F

    n, m2 = m["n"], F.greatest(m["m2"], F.lit(0.0))
    variance = F.when(n > 1, m2 / (n - 1)) if function.endswith("samp") else F.when(n > 0, m2 / n)
    return F.sqrt(variance) if function.startswith("stddev") else variance


def _chan(a: Column, b: Column) -> Column:
    """Chan et al.'s merge of two ``struct(n, mean, m2)`` moments (a null or ``n = 0`` side is empty)."""
    from pyspark.sql import functions as F

    na, nb = F.coalesce(a["n"], F.lit(0)), F.coalesce(b["n"], F.lit(0))
    n = na + nb
    delta = b["mean"] - a["mean"]
    merged = F.struct(n.alias("n"), (a["mean"] + delta * nb / n).alias("mean"),
                      (a["m2"] + b["m2"] + delta * delta * na * nb / n).alias("m2"))
    return F.when(na == 0, b).when(nb == 0, a).otherwise(merged)


def _running_moments(name: str, spec: object, suffix: str) -> tuple[list[Column], Column]:
    """Columns for the running moments of ``name`` over ``spec``: a first layer (the shift ``c`` and each
    tile's shifted sums) and the running ``struct(n, mean, m2)`` built from it."""
    from pyspark.sql import functions as F

    c = F.first(F.col(f"{name}_mean"), ignorenulls=True).over(spec)  # type: ignore[arg-type]
    shift = f"{name}_c{suffix}"
    n, mean, m2 = F.col(f"{name}_n"), F.col(f"{name}_mean"), F.col(f"{name}_m2")
    first_layer = [c.alias(shift)]
    d = n * (mean - F.col(shift))
    q = m2 + n * (mean - F.col(shift)) * (mean - F.col(shift))
    total = F.sum(n).over(spec)  # type: ignore[arg-type]
    big_d, big_q = F.sum(d).over(spec), F.sum(q).over(spec)  # type: ignore[arg-type]
    struct = F.when(total > 0, F.struct(total.alias("n"), (F.col(shift) + big_d / total).alias("mean"),
                                        (big_q - big_d * big_d / total).alias("m2")))
    return first_layer, struct


def tiled_windows(events: DataFrame, keys: Sequence[str], window: Sliding, aggs: Sequence[Aggregation],
                  types: dict[str, str]) -> DataFrame:
    """Sliding window rows (with closing rows) from tiles: keys, ``__we`` and one state column per feature,
    the same rows ``grid_windows`` gives by exploding events."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    size, step = duration_micros(window.size), duration_micros(window.every)
    offset, pane = duration_micros(window.offset), gcd(duration_micros(window.size), duration_micros(window.every))

    def lit(x: int) -> Column:
        return F.lit(x).cast("long")

    def floor_to(c: Column, unit: int) -> Column:
        return c - F.pmod(c, lit(unit))

    plan = _Plan(aggs, types)
    u = F.col(US) - lit(offset) if offset else F.col(US)
    tiles = events.withColumn(TILE, floor_to(u, pane)).groupBy(*keys, TILE).agg(*plan.tile_columns())
    tiles = tiles.repartition(*keys)  # every later step is per entity: hash(keys) also clusters (keys, block)

    # Each tile row also brings the start rows of the windows it is the first tile of (a run's windows are
    # consecutive grid starts: ``GridGroup.runs``), and the closing row when the run of windows ends with it.
    tile = F.col(TILE)
    by_tile = Window.partitionBy(*keys).orderBy(TILE)
    low, high = floor_to(tile - lit(size), step) + lit(step), floor_to(tile, step)
    tiles = tiles.select("*", F.lag(high).over(by_tile).alias("__ph"), F.lead(low).over(by_tile).alias("__nl"))
    previous_high, next_low = F.col("__ph"), F.col("__nl")
    first_new = F.when(previous_high.isNull(), low).otherwise(F.greatest(low, previous_high + lit(step)))
    new_starts = F.when(first_new <= high, F.sequence(first_new, high, lit(step))) \
        .otherwise(F.array().cast("array<bigint>"))
    closing = F.when(next_low.isNull() | (next_low > high + lit(step)), F.array(_item(high + lit(step), _CLOSING))) \
        .otherwise(F.array().cast(f"array<{_ITEM}>"))
    items = F.concat(
        F.array(_item(tile, _TILE_ROW)),
        F.transform(new_starts, lambda s: _item(s, _SUFFIX)),
        F.transform(F.filter(new_starts, lambda s: F.pmod(s, lit(size)) != 0), lambda s: _item(s + lit(size), _PREFIX)),
        closing,
    )
    parts = [c for c in tiles.columns if c not in (*keys, TILE, "__ph", "__nl")]
    rows = tiles.select(*keys, *parts, F.explode(items).alias("__item"))
    kind = F.col("__item.kind")
    rows = rows.select(*keys, F.col("__item.pos").alias(POS), kind.alias(KIND),
                       *[F.when(kind == _TILE_ROW, F.col(c)).alias(c) for c in parts])
    rows = rows.withColumn(BLOCK, floor_to(F.col(POS), size))

    # a suffix row at s counts the block's tiles at or after s; a prefix row at s + size those before it
    kind = F.col(KIND)
    running = Window.partitionBy(*keys, BLOCK).rowsBetween(Window.unboundedPreceding, 0)
    specs = {"s": running.orderBy(F.desc(POS), F.asc(KIND)), "p": running.orderBy(F.asc(POS), F.desc(KIND))}
    shifts, values = [], []
    for name in plan.moments:
        built = {}
        for suffix, spec in specs.items():
            first_layer, struct = _running_moments(name, spec, suffix)
            shifts += first_layer
            built[suffix] = struct
        values.append(F.when(kind == _SUFFIX, built["s"]).when(kind == _PREFIX, built["p"]).alias(name))
    for part in plan.parts.values():
        merged = {suffix: part.running(F.col(part.name)).over(spec) for suffix, spec in specs.items()}
        values.append(F.when(kind == _SUFFIX, merged["s"]).when(kind == _PREFIX, merged["p"]).alias(part.name))
    if shifts:
        rows = rows.select("*", *shifts)
    marks = rows.select(*keys, POS, KIND, *values).where(kind != _TILE_ROW)
    start = F.when(kind == _PREFIX, F.col(POS) - lit(size)).otherwise(F.col(POS))
    names = [*plan.moments, *plan.parts]
    halves = marks.groupBy(*keys, start.alias(START)).agg(
        F.max((kind == _CLOSING).cast("int")).alias("__closing"),
        *[F.first(F.when(kind == side, F.col(name)), ignorenulls=True).alias(f"{name}{tag}")
          for name in names for side, tag in ((_SUFFIX, "_s"), (_PREFIX, "_p"))])

    def merged(name: str) -> Column:
        a, b = F.col(f"{name}_s"), F.col(f"{name}_p")
        return _chan(a, b) if name in plan.moments else plan.parts[name].pair(a, b)

    finals = {name: merged(name) for name in names}
    is_closing = F.col("__closing") == 1
    values = [F.when(is_closing, empty_state(a)).otherwise(final(finals.__getitem__))
              for a, final in zip(aggs, plan.finals, strict=True)]
    return state_columns(halves.withColumn(WE, F.col(START) + lit(size + offset)), keys, aggs, values)


_ITEM = "struct<pos:bigint,kind:int>"


def _item(pos: Column, kind: int) -> Column:
    from pyspark.sql import functions as F

    return F.struct(pos.cast("long").alias("pos"), F.lit(kind).alias("kind"))
