"""Train/serve drift of one feature: PSI and KS for numbers, PSI and Pearson chi-square for categories.

Pure numpy (no scipy: it is a test-only dependency, used there as the oracle).

**Numeric features** (integers, floats, timestamps as epoch numbers; not booleans):

- *PSI* on bins cut at the **training** quantiles ``1/bins, 2/bins, ...`` (deciles by default; numpy's
  linear interpolation). Duplicate edges collapse (a feature with many equal values gets fewer bins), the
  outer bins are open (``(-inf, e1]`` and ``(e_k, +inf)``), bins are right-closed. With proportions ``t`` and
  ``s`` per bin, ``PSI = sum((s - t) * ln(s / t))``; a proportion of 0 is raised to ``EPSILON`` (1e-4, not
  renormalized) so an empty bin adds a large but finite term instead of ``inf``.
- *KS*: the two-sample Kolmogorov-Smirnov statistic ``D = max |F_train - F_serve|`` (exact, ties handled)
  and its asymptotic p-value ``Q_KS(sqrt(n m / (n + m)) * D)``, with the Kolmogorov distribution's series
  (``kolmogorov_sf``).

**Categorical features** (strings, booleans, bytes): categories are the training's (the ``max_categories``
most frequent; rarer ones pooled into ``"(other)"``); serving values never seen in training are pooled into
``"(unseen)"`` and reported with their counts. PSI over those buckets (same ``EPSILON``) and Pearson's
chi-square test of homogeneity on the 2 x k table of counts (no continuity correction) with its p-value
from the chi-square survival function (``chi2_sf``: regularized upper incomplete gamma).

**Breach rule** (``DriftThresholds``): numeric features breach when ``PSI >= psi`` (0.2) or when the KS test
is both significant and large: ``p < ks_pvalue`` (0.01) **and** ``D >= ks_statistic`` (0.1); categorical ones
when ``PSI >= psi`` or ``p < chi2_pvalue`` (0.01) **and** Cramér's V ``sqrt(chi2 / N) >= chi2_effect`` (0.1).
The effect-size guards keep large samples from flagging shifts too small to matter (with 20k values a
p-value is tiny for a 2% move); ``min_count`` (100) keeps small ones from breaching on PSI's noise (PSI is
still reported, with a note).

Nulls (None, NaN, NaT) are left out of every test and counted apart (``training_nulls``/``serving_nulls``).
Nothing here divides by zero: an empty sample, an all-null feature or a constant feature give a result
whose undefined metrics are None, with a note, and ``breached=False`` unless a defined metric breaches.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

EPSILON = 1e-4
"""Floor of a bin's proportion in PSI (an empty bin would otherwise give ``ln(0)``)."""
UNSEEN = "(unseen)"
"""The bucket of serving categories that training never had."""
OTHER = "(other)"
"""The bucket of training categories beyond ``max_categories``."""
NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class DriftThresholds:
    """When a feature counts as drifted (see the module docstring for the rule)."""

    psi: float = 0.2
    ks_pvalue: float = 0.01
    ks_statistic: float = 0.1
    chi2_pvalue: float = 0.01
    chi2_effect: float = 0.1
    bins: int = 10
    max_categories: int = 50
    min_count: int = 100
    """PSI breaches only when both samples hold at least this many values: with ``n`` serving values PSI's
    expectation under no drift is about ``(bins - 1) / n`` and one empty bin adds ~0.7, so 50 values of an
    unchanged feature often read above 0.2. The KS and chi-square p-values account for sample size already."""

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as a plain dict (stored with each result)."""
        return asdict(self)


@dataclass(frozen=True)
class FeatureDrift:
    """Drift of one feature between a training sample and a serving sample.

    Metrics that do not apply (KS for a categorical feature) or cannot be computed (an empty sample) are
    None, with the reason in ``notes``. ``unseen`` holds the serving categories training never had (up to
    20, most frequent first) and ``unseen_count`` all of their values.
    """

    feature: str
    kind: str
    training_count: int
    serving_count: int
    training_nulls: int = 0
    serving_nulls: int = 0
    psi: float | None = None
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    chi2: float | None = None
    chi2_pvalue: float | None = None
    chi2_dof: int | None = None
    unseen: dict[str, int] = field(default_factory=dict)
    unseen_count: int = 0
    bins: list[float] = field(default_factory=list)
    breached: bool = False
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-friendly values (what ``aq_drift_results.metrics`` holds)."""
        out = asdict(self)
        out["reasons"], out["notes"] = list(self.reasons), list(self.notes)
        return out


# ---- the two distributions --------------------------------------------------------------------------------


def kolmogorov_sf(x: float) -> float:
    """``P(K > x)`` for the Kolmogorov distribution (the limit of ``sqrt(n) * D_n``).

    ``2 * sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2)`` for ``x >= 1``; for small ``x`` that series converges
    slowly, so ``1 - sqrt(2 pi) / x * sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 x^2))`` (the same function, Jacobi's
    theta identity) is used instead. Both are summed until the terms vanish.
    """
    if not math.isfinite(x):
        return 0.0 if x > 0 else 1.0
    if x <= 0.0:
        return 1.0
    if x < 1.0:
        total = 0.0
        for k in range(1, 50):
            term = math.exp(-((2 * k - 1) ** 2) * math.pi ** 2 / (8 * x * x))
            total += term
            if term < 1e-17:
                break
        return min(1.0, max(0.0, 1.0 - math.sqrt(2 * math.pi) / x * total))
    total = 0.0
    for k in range(1, 100):
        term = math.exp(-2 * k * k * x * x)
        total += term if k % 2 else -term
        if term < 1e-17:
            break
    return min(1.0, max(0.0, 2.0 * total))


def _gamma_series(a: float, x: float) -> float:
    """Regularized lower incomplete gamma ``P(a, x)`` by its series (for ``x < a + 1``)."""
    term = total = 1.0 / a
    ap = a
    for _ in range(10_000):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_continued_fraction(a: float, x: float) -> float:
    """Regularized upper incomplete gamma ``Q(a, x)`` by Lentz's continued fraction (for ``x >= a + 1``)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def upper_regularized_gamma(a: float, x: float) -> float:
    """``Q(a, x) = Gamma(a, x) / Gamma(a)`` for ``a > 0``, ``x >= 0``."""
    if a <= 0:
        raise ValueError(f"a must be > 0, got {a}")
    if x <= 0:
        return 1.0
    if not math.isfinite(x):
        return 0.0
    if x < a + 1.0:
        return min(1.0, max(0.0, 1.0 - _gamma_series(a, x)))
    return min(1.0, max(0.0, _gamma_continued_fraction(a, x)))


def chi2_sf(x: float, dof: int) -> float:
    """``P(X > x)`` for a chi-square variable with ``dof`` degrees of freedom: ``Q(dof / 2, x / 2)``."""
    if dof <= 0:
        return 1.0
    return upper_regularized_gamma(dof / 2.0, max(0.0, x) / 2.0)


# ---- statistics --------------------------------------------------------------------------------------------


def quantile_edges(training: np.ndarray, bins: int = 10) -> np.ndarray:
    """Inner bin edges: the training quantiles ``1/bins .. (bins-1)/bins``, duplicates collapsed (sorted)."""
    if training.size == 0 or bins < 2:
        return np.empty(0, dtype=float)
    qs = np.quantile(training.astype(float), np.arange(1, bins) / bins)
    return np.unique(qs)


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin ``(-inf, e1], (e1, e2], ..., (e_k, +inf)``: ``len(edges) + 1`` of them."""
    index = np.searchsorted(edges, values.astype(float), side="left")
    return np.bincount(index, minlength=len(edges) + 1)


def psi_from_counts(training: np.ndarray, serving: np.ndarray, epsilon: float = EPSILON) -> float:
    """PSI of two count vectors over the same buckets (both with at least one count)."""
    t = np.maximum(training / training.sum(), epsilon)
    s = np.maximum(serving / serving.sum(), epsilon)
    return float(np.sum((s - t) * np.log(s / t)))


def ks_statistic(training: np.ndarray, serving: np.ndarray) -> float:
    """The two-sample KS statistic ``max |F_train(x) - F_serve(x)|`` over every observed ``x`` (non-empty)."""
    a, b = np.sort(training.astype(float)), np.sort(serving.astype(float))
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def ks_test(training: np.ndarray, serving: np.ndarray) -> tuple[float, float]:
    """``(D, asymptotic p-value)`` of the two-sample KS test (both samples non-empty)."""
    d = ks_statistic(training, serving)
    n, m = training.size, serving.size
    return d, kolmogorov_sf(math.sqrt(n * m / (n + m)) * d)


def chi2_homogeneity(training: np.ndarray, serving: np.ndarray) -> tuple[float, float, int]:
    """Pearson's chi-square on the 2 x k table ``[training; serving]``: ``(chi2, p-value, dof)``.

    Buckets empty in both rows are dropped first; with one bucket left the test is undefined and gives
    ``(0.0, 1.0, 0)``.
    """
    table = np.vstack([training, serving]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    k = table.shape[1]
    if k < 2:
        return 0.0, 1.0, 0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    chi2 = float(np.sum((table - expected) ** 2 / expected))
    return chi2, chi2_sf(chi2, k - 1), k - 1


# ---- values in, result out ---------------------------------------------------------------------------------


def _is_null(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA (anything not equal to itself, or whose comparison has no truth value)."""
    if value is None:
        return True
    if isinstance(value, str | bytes | bool | int):
        return False
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pandas.NA
        return True


def split_nulls(values: Any) -> tuple[np.ndarray, int]:
    """``(non-null values, number of nulls)``; numbers come back as float64, anything else as objects."""
    if hasattr(values, "to_numpy"):  # pandas / pyarrow columns
        values = values.to_numpy()
    array = values if isinstance(values, np.ndarray) else np.asarray(list(values), dtype=object)
    if array.dtype == object and array.size and all(
            (isinstance(v, float | int) and not isinstance(v, bool)) or v is None for v in array.tolist()):
        array = np.array([np.nan if v is None else v for v in array.tolist()], dtype=float)
    if array.ndim != 1:
        array = array.reshape(-1)
    if array.dtype.kind == "f":
        keep = ~np.isnan(array)
        return array[keep].astype(float), int(array.size - keep.sum())
    if array.dtype.kind in "iu":
        return array.astype(float), 0
    if array.dtype.kind == "M":
        keep = ~np.isnat(array)
        return array[keep].astype("datetime64[us]").astype(np.int64).astype(float), int(array.size - keep.sum())
    if array.dtype.kind == "b":
        return array.astype(object), 0
    kept = [v for v in array.tolist() if not _is_null(v)]
    out = np.empty(len(kept), dtype=object)
    out[:] = kept
    return out, array.size - len(kept)


def as_numbers(values: np.ndarray) -> np.ndarray:
    """Non-null values as float64: numbers as they are, datetimes as epoch microseconds (UTC; naive = UTC)."""
    if values.dtype.kind in "iuf":
        return values.astype(float)
    out = np.empty(values.size, dtype=float)
    for i, value in enumerate(values.tolist()):
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            out[i] = (aware - _EPOCH) // timedelta(microseconds=1)
        elif isinstance(value, np.datetime64):
            out[i] = float(value.astype("datetime64[us]").astype(np.int64))
        else:
            out[i] = float(value)
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def infer_kind(*samples: np.ndarray) -> str:
    """``numeric`` when every non-null value is a number (booleans are not), else ``categorical``."""
    for sample in samples:
        if sample.dtype.kind == "f":
            continue
        for value in sample.tolist():
            if isinstance(value, bool | np.bool_):
                return CATEGORICAL
            if not isinstance(value, int | float | np.integer | np.floating | datetime | np.datetime64):
                return CATEGORICAL
    return NUMERIC


def compare(
    feature: str,
    training: Any,
    serving: Any,
    *,
    kind: str | None = None,
    thresholds: DriftThresholds | None = None,
) -> FeatureDrift:
    """Drift of ``feature`` from its ``training`` values to its ``serving`` values (any 1-d sequences).

    ``kind`` is ``"numeric"`` or ``"categorical"``; None infers it from the values (``infer_kind``).
    """
    limits = thresholds or DriftThresholds()
    train, train_nulls = split_nulls(training)
    serve, serve_nulls = split_nulls(serving)
    if kind is None:
        kind = infer_kind(train, serve)
    if kind not in (NUMERIC, CATEGORICAL):
        raise ValueError(f"kind must be {NUMERIC!r} or {CATEGORICAL!r}, got {kind!r}")
    base = {"feature": feature, "kind": kind, "training_count": int(train.size), "serving_count": int(serve.size),
            "training_nulls": train_nulls, "serving_nulls": serve_nulls, "thresholds": limits}
    notes = []
    if train.size == 0:
        notes.append("no non-null training values" + (" (all null)" if train_nulls else " (empty sample)"))
    if serve.size == 0:
        notes.append("no non-null serving values" + (" (all null)" if serve_nulls else " (empty sample)"))
    if notes:
        return FeatureDrift(**base, notes=tuple(notes))
    if kind == NUMERIC:
        return _numeric(base, as_numbers(train), as_numbers(serve), limits)
    return _categorical(base, train, serve, limits)


def _numeric(base: dict[str, Any], train: np.ndarray, serve: np.ndarray, limits: DriftThresholds) -> FeatureDrift:
    notes = []
    edges = quantile_edges(train, limits.bins)
    if train.min() == train.max():
        notes.append(f"training values are constant ({train.min():g}): two bins, at and above it")
    if serve.min() == serve.max():
        notes.append(f"serving values are constant ({serve.min():g})")
    psi = psi_from_counts(bin_counts(train, edges), bin_counts(serve, edges))
    d, p = ks_test(train, serve)
    reasons = []
    if _psi_judged(psi, train.size, serve.size, limits, notes):
        reasons.append(f"psi {psi:.3f} >= {limits.psi:g}")
    if p < limits.ks_pvalue and d >= limits.ks_statistic:
        reasons.append(f"ks p {p:.2g} < {limits.ks_pvalue:g} and D {d:.3f} >= {limits.ks_statistic:g}")
    return FeatureDrift(**base, psi=psi, ks_statistic=d, ks_pvalue=p, bins=[float(e) for e in edges],
                        breached=bool(reasons), reasons=tuple(reasons), notes=tuple(notes))


def _psi_judged(psi: float, n_train: int, n_serve: int, limits: DriftThresholds, notes: list[str]) -> bool:
    """Whether ``psi`` breaches: at or above the threshold with both samples at least ``min_count`` strong."""
    if psi < limits.psi:
        return False
    if min(n_train, n_serve) < limits.min_count:
        notes.append(f"psi {psi:.3f} not judged: fewer than {limits.min_count} values in a sample")
        return False
    return True


def _label(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _categorical(base: dict[str, Any], train: np.ndarray, serve: np.ndarray, limits: DriftThresholds
                 ) -> FeatureDrift:
    train_counts = Counter(_label(v) for v in train.tolist())
    serve_counts = Counter(_label(v) for v in serve.tolist())
    kept = [c for c, _ in train_counts.most_common(max(1, limits.max_categories))]
    pooled = set(train_counts) - set(kept)
    unseen = Counter({c: n for c, n in serve_counts.items() if c not in train_counts})
    t = np.array([train_counts[c] for c in kept] + ([sum(train_counts[c] for c in pooled)] if pooled else []) + [0])
    s = np.array([serve_counts[c] for c in kept] + ([sum(serve_counts[c] for c in pooled)] if pooled else [])
                 + [sum(unseen.values())])
    notes = []
    if unseen:
        noun = "category" if len(unseen) == 1 else "categories"
        notes.append(f"{sum(unseen.values())} serving values in {len(unseen)} {noun} never seen in training")
    if len(train_counts) == 1:
        notes.append("training has one category")
    if pooled:
        notes.append(f"{len(pooled)} rare training categories pooled into {OTHER!r}")
    keep = (t + s) > 0
    psi = psi_from_counts(t[keep], s[keep])
    chi2, p, dof = chi2_homogeneity(t, s)
    if dof == 0:
        notes.append("one category in both samples: chi-square undefined (p = 1)")
    effect = math.sqrt(chi2 / (t.sum() + s.sum()))
    reasons = []
    if _psi_judged(psi, train.size, serve.size, limits, notes):
        reasons.append(f"psi {psi:.3f} >= {limits.psi:g}")
    if p < limits.chi2_pvalue and effect >= limits.chi2_effect:
        reasons.append(f"chi2 p {p:.2g} < {limits.chi2_pvalue:g} and V {effect:.3f} >= {limits.chi2_effect:g}")
    return FeatureDrift(**base, psi=psi, chi2=chi2, chi2_pvalue=p, chi2_dof=dof,
                        unseen=dict(unseen.most_common(20)), unseen_count=int(sum(unseen.values())),
                        breached=bool(reasons), reasons=tuple(reasons), notes=tuple(notes))


def compare_all(
    training: dict[str, Any], serving: dict[str, Any], *, kinds: dict[str, str] | None = None,
    thresholds: DriftThresholds | None = None, features: Iterable[str] | None = None,
) -> list[FeatureDrift]:
    """``compare`` for every feature in ``features`` (default: those in both mappings), in that order."""
    names = list(features) if features is not None else [f for f in training if f in serving]
    kinds = kinds or {}
    return [compare(f, training.get(f, []), serving.get(f, []), kind=kinds.get(f), thresholds=thresholds)
            for f in names]
