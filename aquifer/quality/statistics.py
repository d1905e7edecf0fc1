"""Per-feature statistics of written rows: a mergeable sketch per feature and the summary read from it.

``FeatureStatistics`` is the summary every consumer reads (profiles, suites, ``aquifer stats``, drift);
how it is measured and merged lives beside it in this module.
"""

from __future__ import annotations

import base64
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from aquifer.aggregations.sketch import new_sketch
from aquifer.quality.hll import SET_COUPONS, murmur3_bytes, murmur3_int64, padded_utf8, registers, sketch_of_registers

QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""The quantiles every summary reports (from the KLL sketch)."""


@dataclass(frozen=True)
class FeatureStatistics:
    """What one feature's values looked like over some rows.

    ``count`` counts rows (nulls included); ``nulls`` the null ones (NaN counts as null for floats).
    ``distinct`` is an HLL estimate of distinct non-null values. ``min``/``max`` are numbers for numeric and
    timestamp (epoch microseconds) features, strings for strings, None otherwise or when all are null.
    ``mean``/``stddev`` (sample standard deviation, ddof=1, like pandas) only for numeric features.
    ``quantiles`` maps each of ``QUANTILES`` (as text, e.g. ``"0.5"``) to the KLL sketch's value.
    ``histogram``: ``{"edges": [...], "counts": [...]}``, fixed equal-width bins over ``[min, max]``.
    ``top_values``: the most frequent values with counts, for strings and booleans.
    """

    feature: str
    dtype: str
    count: int
    nulls: int
    distinct: float | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    stddev: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    histogram: dict[str, list[float]] | None = None
    top_values: list[tuple[Any, int]] | None = None

    @property
    def null_fraction(self) -> float:
        """Share of null values (0.0 for no rows)."""
        return self.nulls / self.count if self.count else 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureStatistics:
        """A summary from its stored form (``dataclasses.asdict`` or ``to_dict``).

        ``top_values`` pairs come back as tuples, non-finite numbers stored as text (``"inf"``, ``"nan"``)
        as floats, and keys this version does not know are ignored (newer writers may add some).
        """
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        numeric = values.get("dtype") not in _TEXT_DTYPES
        for name in ("min", "max", "mean", "stddev"):
            if numeric and isinstance(values.get(name), str):
                values[name] = float(values[name])
        if values.get("quantiles"):
            values["quantiles"] = {str(q): _from_json_number(v) for q, v in values["quantiles"].items()}
        else:
            values["quantiles"] = {}
        if values.get("histogram"):
            hist = values["histogram"]
            values["histogram"] = {"edges": [_from_json_number(e) for e in hist.get("edges", [])],
                                   "counts": list(hist.get("counts", []))}
        if values.get("top_values") is not None:
            values["top_values"] = [tuple(pair) for pair in values["top_values"]]
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` made JSON-safe: non-finite numbers as text (JSONB refuses NaN and inf)."""
        out = asdict(self)
        if self.dtype not in _TEXT_DTYPES:
            for name in ("min", "max", "mean", "stddev"):
                out[name] = _to_json_number(out[name])
        out["quantiles"] = {q: _to_json_number(v) for q, v in self.quantiles.items()}
        if self.histogram is not None:
            out["histogram"] = {"edges": [_to_json_number(e) for e in self.histogram["edges"]],
                                "counts": list(self.histogram["counts"])}
        if self.top_values is not None:
            out["top_values"] = [list(pair) for pair in self.top_values]
        return out


# ---- measuring ------------------------------------------------------------------------------------------

HLL_LG_K = 12
"""HyperLogLog ``lg_k`` of the distinct estimate: relative standard error ≈ 1.04 / sqrt(2^12) ≈ 1.6%."""
FREQUENT_LG_MAX_MAP = 10
"""``frequent_strings_sketch`` map size 2^10: up to 768 distinct values are counted exactly."""
TOP_VALUES = 10
"""How many of the most frequent values a summary lists."""
HISTOGRAM_BINS = 20
"""Equal-width bins over ``[min, max]`` in a summary's histogram."""
SKETCH_VERSION = 1

DAY_US = 86_400_000_000

_TEXT_DTYPES = frozenset({"String", "string", "large_string", "Bool", "bool", "Bytes", "binary"})
_KINDS = {
    "Int64": "integer", "Int32": "integer", "int64": "integer", "int32": "integer", "int16": "integer",
    "int8": "integer",
    "Float64": "float", "Float32": "float", "float64": "float", "float32": "float", "double": "float",
    "float": "float",
    "String": "string", "string": "string", "large_string": "string",
    "Bool": "boolean", "bool": "boolean",
    "Timestamp": "timestamp",
}


def kind_of(dtype: str) -> str:
    """How a feature of type ``dtype`` (an aquifer type name, or an Arrow one) is measured.

    ``integer``/``float``: every statistic; ``timestamp`` (epoch µs): all but mean and stddev; ``string``:
    distinct, min/max (lexicographic), top values; ``boolean``: distinct and top values; ``other``: counts only.
    """
    if dtype.startswith("timestamp"):
        return "timestamp"
    return _KINDS.get(dtype, "other")


def _to_json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # "inf", "-inf", "nan"
    return value


def _from_json_number(value: Any) -> Any:
    return float(value) if isinstance(value, str) else value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


class StatisticsSketch:
    """The mergeable state behind one feature's ``FeatureStatistics``.

    Exact parts: ``count``, ``nulls`` (None, and NaN for floats), ``min``/``max``, and the moments ``n``
    (non-null values), ``mean``, ``m2`` (sum of squared deviations), merged with Chan et al.'s parallel
    formula. Sketched parts (Apache DataSketches): ``hll_sketch`` (lg_k 12) for distinct values (integers and
    timestamps hashed as int64, strings and booleans as UTF-8 text, floats as ``float_hash_keys``), a KLL
    sketch (``aquifer.aggregations.sketch``, k = 200) for quantiles and the histogram of numbers and times,
    and ``frequent_strings_sketch`` for the top values of strings and booleans. Updates take whole Arrow
    arrays. The distinct count is kept as pending HLL registers computed in numpy (``aquifer.quality.hll``),
    folded into the DataSketches sketch when it is read; the only per-value Python loops run over the
    *distinct* values of strings (frequent items take one item per call) and of batches too small for registers.
    """

    def __init__(self, feature: str, dtype: str):
        self.feature, self.dtype, self.kind = feature, dtype, kind_of(dtype)
        self.count = 0
        self.nulls = 0
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min: Any = None
        self.max: Any = None
        self._hll: Any = None
        self._registers: Any = None  # HLL registers of array updates, not yet folded into _hll (see _settled_hll)
        self._kll: Any = None
        self._freq: Any = None

    # -- parts, created on first use ---------------------------------------------------------------------

    @property
    def hll(self) -> Any:
        """The distinct-count sketch (None for ``other`` features)."""
        if self._hll is None and self.kind != "other":
            from datasketches import hll_sketch

            self._hll = hll_sketch(HLL_LG_K)
        return self._hll

    @property
    def kll(self) -> Any:
        """The quantile sketch of numbers and times (None otherwise)."""
        if self._kll is None and self.kind in ("integer", "float", "timestamp"):
            self._kll = new_sketch()
        return self._kll

    @property
    def frequent(self) -> Any:
        """The frequent-items sketch of strings and booleans (None otherwise)."""
        if self._freq is None and self.kind in ("string", "boolean"):
            from datasketches import frequent_strings_sketch

            self._freq = frequent_strings_sketch(FREQUENT_LG_MAX_MAP)
        return self._freq

    # -- updating ----------------------------------------------------------------------------------------

    def update(self, values: Any) -> StatisticsSketch:
        """Add the values of an Arrow array (or chunked array, or anything ``pa.array`` takes)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(values, pa.ChunkedArray):
            for chunk in values.chunks:
                self.update(chunk)
            return self
        if not isinstance(values, pa.Array):
            values = pa.array(values)
        self.count += len(values)
        present = pc.drop_null(values) if values.null_count else values
        self.nulls += len(values) - len(present)
        if self.kind in ("integer", "float", "timestamp"):
            self._update_numbers(present)
        elif self.kind in ("string", "boolean"):
            self._update_items(present)
        return self

    def _update_numbers(self, present: Any) -> None:
        import numpy as np
        import pyarrow as pa

        if self.kind == "timestamp":
            if pa.types.is_date(present.type):
                present = present.cast(pa.timestamp("us"))
            # nanoseconds (pandas) are truncated to the offline store's microseconds
            exact = present.cast(pa.timestamp("us", tz=getattr(present.type, "tz", None)), safe=False).cast(pa.int64())
            exact_np = exact.to_numpy(zero_copy_only=False)
            x = exact_np.astype(np.float64)
        elif self.kind == "integer":
            exact_np = present.cast(pa.int64()).to_numpy(zero_copy_only=False)
            x = exact_np.astype(np.float64)
        else:
            x = present.cast(pa.float64()).to_numpy(zero_copy_only=False)
            keep = ~np.isnan(x)
            if not keep.all():
                self.nulls += int(len(x) - keep.sum())
                x = x[keep]
            exact_np = x
        if len(x) == 0:
            return
        lo, hi = exact_np.min().item(), exact_np.max().item()
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)
        if self.kind != "timestamp":
            n_b = len(x)
            mean_b = float(x.mean())
            with np.errstate(invalid="ignore", over="ignore"):  # infinities make mean and m2 inf / nan
                m2_b = float(np.square(x - mean_b).sum())
            self._combine_moments(n_b, mean_b, m2_b)
        else:
            self.n += len(x)
        self.kll.update(x if x.flags.writeable else x.copy())  # the binding refuses read-only arrays
        # floats are hashed as Spark's xxhash64 of the double (see float_hash_keys)
        keys = float_hash_keys(exact_np) if self.kind == "float" else exact_np
        self._count_distinct(murmur3_int64(keys), lambda: np.unique(keys).tolist())

    def _count_distinct(self, hashes: tuple[Any, Any], distinct: Callable[[], Iterable[Any]]) -> None:
        """Add values to the distinct count by their DataSketches hashes; ``distinct`` gives the values themselves,
        for the per-value updates of a batch with too few of them for registers (``hll.SET_COUPONS``)."""
        import numpy as np

        found = registers(*hashes, HLL_LG_K)
        if np.count_nonzero(found) < SET_COUPONS:
            deque(map(self.hll.update, distinct()), maxlen=0)  # map() keeps the loop in C
        elif self._registers is None:
            self._registers = found
        else:
            np.maximum(self._registers, found, out=self._registers)

    def _settled_hll(self) -> Any:
        """The distinct-count sketch with the pending registers folded in (None when nothing was counted)."""
        if self._registers is not None:
            batch = sketch_of_registers(self._registers, HLL_LG_K)
            self._registers = None
            self._hll = batch if self._hll is None or self._hll.is_empty() else _hll_union(self._hll, batch)
        return self._hll

    def _update_items(self, present: Any) -> None:
        import pyarrow.compute as pc

        if len(present) == 0:
            return
        if self.kind == "string":
            bounds = pc.min_max(present)
            lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
            self.min = lo if self.min is None else min(self.min, lo)
            self.max = hi if self.max is None else max(self.max, hi)
        self.n += len(present)
        counted = pc.value_counts(present)
        values = counted.field("values")
        if self.kind == "boolean":
            values = pc.if_else(values, "true", "false")
        texts = values.to_pylist()
        padded = padded_utf8(values)
        if padded is None:  # a value too long for the padded matrix: per-value updates
            deque(map(self.hll.update, texts), maxlen=0)
        else:
            rows, lengths = padded
            filled = lengths > 0  # DataSketches skips empty strings
            self._count_distinct(murmur3_bytes(rows[filled], lengths[filled]), lambda: texts)
        deque(map(self.frequent.update, texts, counted.field("counts").to_pylist()), maxlen=0)

    def _combine_moments(self, n_b: int, mean_b: float, m2_b: float) -> None:
        """Chan, Golub & LeVeque's pairwise update: stable for large and unequal parts."""
        n_a = self.n
        if n_b == 0:
            return
        if n_a == 0:
            self.n, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        n = n_a + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * n_b / n
        self.m2 = self.m2 + m2_b + delta * delta * n_a * n_b / n
        self.n = n

    @classmethod
    def from_parts(cls, feature: str, dtype: str, *, count: int, nulls: int, n: int = 0, mean: float | None = None,
                   m2: float | None = None, minimum: Any = None, maximum: Any = None, hll: bytes | None = None,
                   kll: bytes | None = None, top: Iterable[tuple[str, int]] = (),
                   frequent: bytes | None = None) -> StatisticsSketch:
        """A sketch from parts measured elsewhere (e.g. by Spark's aggregates), as ``update`` would have built it.

        ``n`` counts the non-null values, ``mean`` and ``m2`` (sum of squared deviations) are their moments
        (integers and floats only; None as for no values), ``minimum``/``maximum`` as ``update`` keeps them. ``hll`` and
        ``kll`` are serialized DataSketches sketches over the values ``update`` feeds them (see
        ``float_hash_keys`` for floats), ``top`` the most frequent values as their ``update`` text (``"true"`` /
        ``"false"`` for booleans) with their counts, fed to the frequent-items sketch with those weights: exact
        while at most ``FREQUENT_EXACT`` values are given. ``frequent`` is a serialized frequent-items sketch of
        the strings (any DataSketches language, e.g. Spark's ``approx_top_k_accumulate``), merged with ``top``.
        """
        out = cls(feature, dtype)
        out.count, out.nulls, out.n = int(count), int(nulls), int(n)
        if out.kind in ("integer", "float") and out.n:
            out.mean = float(mean) if mean is not None else 0.0
            out.m2 = float(m2) if m2 is not None else 0.0
        if out.kind in ("integer", "float", "timestamp", "string") and out.n:
            out.min, out.max = minimum, maximum
        if hll is not None and out.kind != "other":
            from datasketches import hll_sketch

            sketch = hll_sketch.deserialize(bytes(hll))
            out._hll = None if sketch.is_empty() else sketch
        if kll is not None and out.kind in ("integer", "float", "timestamp"):
            from datasketches import kll_doubles_sketch

            sketch = kll_doubles_sketch.deserialize(bytes(kll))
            out._kll = None if sketch.is_empty() else sketch
        if out.kind in ("string", "boolean"):
            items = None
            if frequent is not None:
                from datasketches import frequent_strings_sketch

                items = frequent_strings_sketch.deserialize(bytes(frequent))
                items = None if items.is_empty() else items
            out._freq = items
            for item, weight in top:
                if weight > 0:
                    out.frequent.update(item, int(weight))
        return out

    # -- merging -----------------------------------------------------------------------------------------

    def merge(self, other: StatisticsSketch) -> StatisticsSketch:
        """Add ``other``'s values to this sketch (in place; returns it). Both must describe one feature type."""
        if other.kind != self.kind:
            raise ValueError(f"cannot merge statistics of {self.feature!r}: {self.dtype} with {other.dtype}")
        self.count += other.count
        self.nulls += other.nulls
        if other.min is not None:
            self.min = other.min if self.min is None else min(self.min, other.min)
            self.max = other.max if self.max is None else max(self.max, other.max)
        if self.kind in ("integer", "float"):
            self._combine_moments(other.n, other.mean, other.m2)
        else:
            self.n += other.n
        if other._kll is not None and not other._kll.is_empty():
            self.kll.merge(other._kll)
        if other._registers is not None:  # pending registers merge as registers
            if self._registers is None:
                self._registers = other._registers.copy()
            else:
                import numpy as np

                np.maximum(self._registers, other._registers, out=self._registers)
        if other._hll is not None and not other._hll.is_empty():
            self._hll = _hll_union(self.hll, other._hll)
        if other._freq is not None and not other._freq.is_empty():
            self.frequent.merge(other._freq)
        return self

    # -- storing -----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (binary sketches in base64); ``from_dict`` reads it back."""
        def blob(sketch: Any, compact: bool = False) -> str | None:
            if sketch is None or sketch.is_empty():
                return None
            return _b64(sketch.serialize_compact() if compact else sketch.serialize())

        return {
            "version": SKETCH_VERSION, "feature": self.feature, "dtype": self.dtype, "count": self.count,
            "nulls": self.nulls, "n": self.n, "mean": _to_json_number(self.mean), "m2": _to_json_number(self.m2),
            "min": _to_json_number(self.min), "max": _to_json_number(self.max),
            "hll": blob(self._settled_hll(), compact=True), "kll": blob(self._kll), "frequent": blob(self._freq),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatisticsSketch:
        """The sketch ``to_dict`` stored."""
        if data.get("version") != SKETCH_VERSION:
            raise ValueError(f"statistics sketch version {data.get('version')!r} is not {SKETCH_VERSION}")
        out = cls(data["feature"], data["dtype"])
        out.count, out.nulls, out.n = int(data["count"]), int(data["nulls"]), int(data["n"])
        out.mean, out.m2 = float(data["mean"]), float(data["m2"])
        numeric = out.kind not in ("string", "boolean")
        out.min = _from_json_number(data["min"]) if numeric else data["min"]
        out.max = _from_json_number(data["max"]) if numeric else data["max"]
        if data.get("hll"):
            from datasketches import hll_sketch

            out._hll = hll_sketch.deserialize(_unb64(data["hll"]))
        if data.get("kll"):
            from datasketches import kll_doubles_sketch

            out._kll = kll_doubles_sketch.deserialize(_unb64(data["kll"]))
        if data.get("frequent"):
            from datasketches import frequent_strings_sketch

            out._freq = frequent_strings_sketch.deserialize(_unb64(data["frequent"]))
        return out

    # -- reading -----------------------------------------------------------------------------------------

    def summary(self) -> FeatureStatistics:
        """What the values looked like (see ``FeatureStatistics``)."""
        present = self.count - self.nulls
        hll = self._settled_hll()
        distinct = None if self.kind == "other" else (float(hll.get_estimate()) if hll else 0.0)
        mean = stddev = None
        if self.kind in ("integer", "float") and self.n:
            mean = self.mean
            stddev = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None
        quantiles: dict[str, float] = {}
        histogram = None
        if self._kll is not None and not self._kll.is_empty():
            quantiles = {str(q): float(self._kll.get_quantile(q, True)) for q in QUANTILES}
            histogram = self._histogram(present)
        top = None
        if self.kind in ("string", "boolean"):
            top = self._top_values()
        return FeatureStatistics(
            feature=self.feature, dtype=self.dtype, count=self.count, nulls=self.nulls, distinct=distinct,
            min=self.min, max=self.max, mean=mean, stddev=stddev, quantiles=quantiles, histogram=histogram,
            top_values=top,
        )

    def _histogram(self, present: int) -> dict[str, list[float]]:
        """``HISTOGRAM_BINS`` equal-width bins over ``[min, max]``, counted from the KLL sketch's CDF.

        Bins are ``[e_i, e_i+1)``, the last one closed (``numpy.histogram``'s rule), so the counts are exact
        while the sketch holds every value and within the KLL rank error times n beyond. Counts are whole
        numbers summing to the non-null count (cumulative fractions rounded, then differenced).
        """
        import numpy as np

        lo, hi = float(self.min), float(self.max)
        if lo == hi or not math.isfinite(hi - lo):  # constant, or infinite values: one bin
            return {"edges": [lo, hi], "counts": [present]}
        edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
        inner = edges[1:-1]
        if not np.all(np.diff(edges) > 0):  # a span too narrow for 20 distinct float edges
            return {"edges": [lo, hi], "counts": [present]}
        cdf = np.asarray(self._kll.get_cdf(inner.tolist(), False), dtype=np.float64)
        cumulative = np.rint(cdf * present).astype(np.int64)
        cumulative[-1] = present
        cumulative = np.maximum.accumulate(cumulative)
        counts = np.diff(np.concatenate([[0], cumulative]))
        return {"edges": edges.tolist(), "counts": counts.tolist()}

    def _top_values(self) -> list[tuple[Any, int]]:
        """The most frequent values, most frequent first (ties by value): exact while at most 768 distinct."""
        if self._freq is None or self._freq.is_empty():
            return []
        from datasketches import frequent_items_error_type

        items = self._freq.get_frequent_items(frequent_items_error_type.NO_FALSE_POSITIVES)
        ranked = sorted(((item, int(estimate)) for item, estimate, _, _ in items), key=lambda p: (-p[1], p[0]))
        convert = (lambda text: text == "true") if self.kind == "boolean" else (lambda text: text)
        return [(convert(item), n) for item, n in ranked[:TOP_VALUES]]


FREQUENT_EXACT = 3 * 2 ** FREQUENT_LG_MAX_MAP // 4
"""The frequent-items sketch counts this many distinct values (768) exactly before it starts to purge."""

_XXH_PRIMES = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
XXHASH_SEED = 42
"""The seed of Spark's ``xxhash64``."""


def _hll_union(a: Any, b: Any) -> Any:
    """One distinct-count sketch of both sketches' values."""
    from datasketches import hll_union

    union = hll_union(HLL_LG_K)
    union.update(a)
    union.update(b)
    return union.get_result()


def float_hash_keys(values: Any) -> Any:
    """What the distinct-count sketch is fed for float values: XXH64 (seed 42) of each double's IEEE bits.

    This is exactly Spark's ``xxhash64(double)`` (-0.0 as 0.0), so sketches built here (materialization, the
    DuckDB path) and by Spark's ``hll_sketch_agg(xxhash64(x))`` (batch runs) hash one domain and union without
    counting a value twice; Spark has no cheap way to reach the double's bits themselves. XXH64 of one 8-byte
    word is a bijection of 64-bit words, so distinct doubles stay distinct. ``values``: a float64 numpy array
    (no NaN); returns an int64 array of the same length.
    """
    import numpy as np

    p1, p2, p3, p4 = (np.uint64(p) for p in _XXH_PRIMES[:4])

    def rotl(x: Any, r: int) -> Any:
        return (x << np.uint64(r)) | (x >> np.uint64(64 - r))

    x = (np.asarray(values, dtype=np.float64) + 0.0).view(np.uint64)  # + 0.0: -0.0 becomes 0.0
    with np.errstate(over="ignore"):  # 64-bit wraparound is the algorithm
        h = np.uint64((XXHASH_SEED + _XXH_PRIMES[4] + 8) & 0xFFFFFFFFFFFFFFFF)
        h = h ^ (rotl(x * p2, 31) * p1)
        h = rotl(h, 27) * p1 + p4
        h = h ^ (h >> np.uint64(33))
        h = h * p2
        h = h ^ (h >> np.uint64(29))
        h = h * p3
        h = h ^ (h >> np.uint64(32))
    return h.view(np.int64)


# ---- per view and per day -------------------------------------------------------------------------------


class ViewSketches:
    """One ``StatisticsSketch`` per feature of a view, updated from Arrow record batches.

    ``features`` are ``(name, dtype)`` pairs (an aquifer type name such as ``"Float64"``); a batch missing a
    feature's column counts its rows as nulls of that feature.
    """

    def __init__(self, features: Iterable[tuple[str, str]]):
        self.sketches = {name: StatisticsSketch(name, dtype) for name, dtype in features}

    def update(self, batch: Any) -> ViewSketches:
        """Add a ``pa.RecordBatch`` or ``pa.Table``."""
        import pyarrow as pa

        names = set(batch.schema.names)
        for name, sketch in self.sketches.items():
            if name in names:
                sketch.update(batch.column(name))
            else:
                sketch.update(pa.nulls(batch.num_rows))
        return self

    def merge(self, other: ViewSketches) -> ViewSketches:
        """Add ``other``'s sketches, feature by feature (in place)."""
        for name, sketch in other.sketches.items():
            mine = self.sketches.get(name)
            if mine is None:
                self.sketches[name] = sketch
            else:
                mine.merge(sketch)
        return self

    def summaries(self) -> dict[str, FeatureStatistics]:
        """Each feature's summary."""
        return {name: sketch.summary() for name, sketch in self.sketches.items()}


def day_key(day: int) -> str:
    """``YYYY-MM-DD`` of a UTC day given as days since 1970-01-01 (the keys of ``DailyStatistics.days``)."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat()


class DailyStatistics:
    """Per-feature sketches of rows, kept per UTC day of their event time.

    Writes replace whole event days, so the day is the unit that merging on read can count exactly once
    (``merge_stored``). ``update`` splits each batch by the day of ``time_column`` (vectorised: one
    ``take`` per day present in the batch).
    """

    def __init__(self, features: Iterable[tuple[str, str]], time_column: str = "event_ts"):
        self.features = tuple(features)
        self.time_column = time_column
        self.days: dict[str, ViewSketches] = {}

    def _day(self, key: str) -> ViewSketches:
        if key not in self.days:
            self.days[key] = ViewSketches(self.features)
        return self.days[key]

    def update(self, batch: Any) -> DailyStatistics:
        """Add a ``pa.RecordBatch`` or ``pa.Table`` holding ``time_column`` and the features."""
        import numpy as np
        import pyarrow as pa

        if batch.num_rows == 0:
            return self
        times = batch.column(self.time_column)
        if isinstance(times, pa.ChunkedArray):
            times = times.combine_chunks()
        micros = times.cast(pa.timestamp("us", tz=getattr(times.type, "tz", None)), safe=False).cast(pa.int64())
        micros = micros.fill_null(0).to_numpy(zero_copy_only=False)  # null times are dropped before writes
        day = micros // DAY_US
        first = day[0]
        if (day == first).all():
            self._day(day_key(int(first))).update(batch)
            return self
        found, inverse = np.unique(day, return_inverse=True)
        for i, value in enumerate(found.tolist()):
            self._day(day_key(value)).update(batch.take(pa.array(np.nonzero(inverse == i)[0])))
        return self

    def merge(self, other: DailyStatistics) -> DailyStatistics:
        """Add ``other``'s days (in place)."""
        for key, sketches in other.days.items():
            if key in self.days:
                self.days[key].merge(sketches)
            else:
                self.days[key] = sketches
        return self

    def to_bytes(self) -> bytes:
        """Compact transport form (JSON of every day's sketches), e.g. from a Spark task to the driver."""
        return json.dumps({
            "features": [list(f) for f in self.features], "time_column": self.time_column,
            "days": {k: {n: s.to_dict() for n, s in v.sketches.items()} for k, v in self.days.items()},
        }, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> DailyStatistics:
        """What ``to_bytes`` wrote."""
        raw = json.loads(data)
        out = cls([tuple(f) for f in raw["features"]], raw["time_column"])
        for key, per_feature in raw["days"].items():
            sketches = ViewSketches(())
            sketches.sketches = {n: StatisticsSketch.from_dict(d) for n, d in per_feature.items()}
            out.days[key] = sketches
        return out

    def stored(self) -> dict[str, dict[str, Any]]:
        """Per feature, the registry row's ``stats``: ``{"summary": ..., "sketch": {"version", "days"}}``.

        ``summary`` covers every day (``FeatureStatistics.to_dict``); ``sketch["days"]`` maps each UTC day
        (``YYYY-MM-DD``) that held rows to that day's ``StatisticsSketch.to_dict``.
        """
        out: dict[str, dict[str, Any]] = {}
        for name, dtype in self.features:
            total = StatisticsSketch(name, dtype)
            days: dict[str, Any] = {}
            for key in sorted(self.days):
                sketch = self.days[key].sketches[name]
                total.merge(sketch)
                days[key] = sketch.to_dict()
            out[name] = {"summary": total.summary().to_dict(),
                         "sketch": {"version": SKETCH_VERSION, "days": days}}
        return out


def view_statistics(features: Iterable[tuple[str, str]], batches: Iterable[Any],
                    time_column: str = "event_ts") -> DailyStatistics:
    """Statistics of every feature of a view from a stream of Arrow record batches (one pass)."""
    out = DailyStatistics(features, time_column)
    for batch in batches:
        out.update(batch)
    return out


def feature_types(view: Any) -> list[tuple[str, str]]:
    """``(name, dtype name)`` of a view's features, as ``DailyStatistics`` takes them."""
    return [(f.name, f.dtype.name) for f in view.features]


# ---- merging on read ------------------------------------------------------------------------------------


def _days_of(start: datetime, end: datetime) -> list[str]:
    first = start.astimezone(UTC).date()
    last = end.astimezone(UTC)
    keys = []
    day = first
    while datetime(day.year, day.month, day.day, tzinfo=UTC) < last:
        keys.append(day.isoformat())
        day += timedelta(days=1)
    return keys


def merge_stored(rows: Sequence[Any], start: datetime | None = None, end: datetime | None = None
                 ) -> dict[str, FeatureStatistics]:
    """Per feature, the statistics of stored rows merged over ``[start, end)`` (None: unbounded).

    ``rows`` are registry statistics rows (``feature``, ``stats``, ``range_start``, ``range_end``, ordered
    newest first, as ``Registry.statistics_between`` returns them). **Rule**: sketches are kept per UTC
    event day and ``[start, end)`` is widened to the whole days it touches. A row covers every day its range
    touches (writes replace whole days), and for each day only the *newest* row covering it counts — the
    day's sketch from that row, or nothing when that row saw no rows that day. So a recomputed range (a
    backfill, an incremental run's lookback) replaces the older numbers instead of adding to them, and
    overlapping ranges are never counted twice. Rows without a range or sketch are skipped.
    """
    lo = start.astimezone(UTC).date().isoformat() if start is not None else None
    hi = end.astimezone(UTC) if end is not None else None
    merged: dict[str, StatisticsSketch] = {}
    taken: dict[str, set[str]] = {}
    for row in rows:
        stats = row.stats or {}
        sketch = stats.get("sketch") or {}
        if row.range_start is None or row.range_end is None or sketch.get("version") != SKETCH_VERSION:
            continue
        feature = row.feature
        seen = taken.setdefault(feature, set())
        days = sketch.get("days", {})
        for key in _days_of(row.range_start, row.range_end):
            if key in seen or (lo is not None and key < lo) or (hi is not None and _midnight(key) >= hi):
                continue
            seen.add(key)
            if key in days:
                part = StatisticsSketch.from_dict(days[key])
                if feature in merged:
                    merged[feature].merge(part)
                else:
                    merged[feature] = part
        if feature not in merged and seen:
            dtype = (stats.get("summary") or {}).get("dtype", "")
            merged[feature] = StatisticsSketch(feature, dtype)
    return {name: merged[name].summary() for name in sorted(merged)}


def _midnight(key: str) -> datetime:
    return datetime.fromisoformat(key).replace(tzinfo=UTC)
