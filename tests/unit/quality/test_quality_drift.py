"""Drift math against independent oracles: scipy (KS, Kolmogorov, chi-square) and a numpy PSI written here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from aquifer.quality.drift import (
    EPSILON,
    DriftThresholds,
    chi2_homogeneity,
    chi2_sf,
    compare,
    kolmogorov_sf,
    ks_test,
)


def oracle_psi(train: np.ndarray, serve: np.ndarray, bins: int = 10) -> float:
    """PSI written from the definition: decile cut points of the training values, open outer bins."""
    cuts = sorted(set(np.percentile(train, [100 * i / bins for i in range(1, bins)]).tolist()))

    def shares(x: np.ndarray) -> np.ndarray:
        counts = np.zeros(len(cuts) + 1)
        for v in x:
            counts[sum(1 for c in cuts if v > c)] += 1  # bins right-closed: v <= c stays below c
        return np.clip(counts / len(x), EPSILON, None)
    t, s = shares(train), shares(serve)
    return float(np.sum((s - t) * np.log(s / t)))


def oracle_categorical_psi(train: list[str], serve: list[str]) -> float:
    cats = sorted(set(train) | set(serve))
    t = np.clip(np.array([train.count(c) for c in cats]) / len(train), EPSILON, None)
    s = np.clip(np.array([serve.count(c) for c in cats]) / len(serve), EPSILON, None)
    return float(np.sum((s - t) * np.log(s / t)))


@pytest.mark.parametrize("x", [0.05, 0.2, 0.5, 0.8, 0.99, 1.0, 1.2, 1.8, 2.5, 4.0])
def test_kolmogorov_series_equals_scipy(x):
    assert kolmogorov_sf(x) == pytest.approx(stats.kstwobign.sf(x), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("x", "dof"), [(0.0, 1), (0.1, 1), (3.84, 1), (10, 3), (2.0, 7), (50, 30), (900, 1000),
                                         (1200, 1000), (1e-8, 4), (400, 5)])
def test_chi2_survival_equals_scipy(x, dof):
    assert chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ks_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=700 + seed * 100), rng.normal(0.15, 1.1, size=500)
    b[:20] = a[:20]  # ties across samples
    d, p = ks_test(a, b)
    ref = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    en = len(a) * len(b) / (len(a) + len(b))
    assert p == pytest.approx(stats.kstwobign.sf(math.sqrt(en) * d), rel=1e-9)  # the Kolmogorov limit
    assert p == pytest.approx(ref.pvalue, rel=0.25)  # scipy's asymp uses a finite-n correction


@pytest.mark.parametrize("seed", [4, 5])
def test_chi2_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(5, 200, size=6)
    s = rng.integers(5, 200, size=6)
    chi2, p, dof = chi2_homogeneity(t, s)
    ref = stats.chi2_contingency(np.vstack([t, s]), correction=False)
    assert (chi2, p, dof) == (pytest.approx(ref.statistic, rel=1e-12), pytest.approx(ref.pvalue, rel=1e-9), ref.dof)
    # the same statistic as a goodness of fit of the serving counts on the pooled expectation (scipy.chisquare)
    expected = np.vstack([t, s]).sum(axis=0) / (t.sum() + s.sum())
    gof_t = stats.chisquare(t, expected * t.sum()).statistic
    gof_s = stats.chisquare(s, expected * s.sum()).statistic
    assert chi2 == pytest.approx(gof_t + gof_s, rel=1e-12)


def test_numeric_psi_equals_numpy_oracle():
    rng = np.random.default_rng(11)
    train, serve = rng.gamma(2.0, 3.0, size=4000), rng.gamma(2.2, 3.0, size=3000)
    result = compare("amount", train, serve)
    assert result.kind == "numeric"
    assert result.psi == pytest.approx(oracle_psi(train, serve), rel=1e-12)
    ints, more = rng.integers(0, 4, size=2000), rng.integers(0, 6, size=1000)  # many equal values
    result = compare("n", ints, more)
    assert len(result.bins) < 9  # duplicate cut points collapsed
    assert result.psi == pytest.approx(oracle_psi(ints.astype(float), more.astype(float)), rel=1e-12)


def test_categorical_psi_equals_oracle_and_unseen_are_pooled():
    train = ["FR"] * 50 + ["DE"] * 30 + ["US"] * 20
    serve = ["FR"] * 40 + ["DE"] * 30 + ["US"] * 10 + ["BR"] * 15 + ["JP"] * 5
    result = compare("country", train, serve)
    assert result.kind == "categorical"
    assert result.unseen == {"BR": 15, "JP": 5} and result.unseen_count == 20
    assert any("never seen in training" in n for n in result.notes)
    pooled = [v if v in ("FR", "DE", "US") else "(unseen)" for v in serve]
    assert result.psi == pytest.approx(oracle_categorical_psi(train, pooled), rel=1e-12)
    t = [50, 30, 20, 0]
    s = [40, 30, 10, 20]
    ref = stats.chi2_contingency(np.array([t, s]), correction=False)
    assert result.chi2 == pytest.approx(ref.statistic) and result.chi2_pvalue == pytest.approx(ref.pvalue)
    assert result.breached


def test_booleans_are_categorical():
    result = compare("is_vip", [True] * 80 + [False] * 20, [True] * 78 + [False] * 22)
    assert result.kind == "categorical" and result.ks_statistic is None and not result.breached


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_shifted_sample_drifts_and_unshifted_does_not(seed):
    rng = np.random.default_rng(seed)
    train = rng.normal(50, 10, size=20_000)
    same = rng.normal(50, 10, size=5_000)
    shifted = rng.normal(56, 10, size=5_000)
    calm, moved = compare("x", train, same), compare("x", train, shifted)
    assert not calm.breached and calm.psi < 0.05 and calm.ks_pvalue > 0.001
    assert moved.breached and moved.psi > 0.2 and moved.ks_pvalue < 1e-10
    cats = np.array(["a", "b", "c"])
    ct = rng.choice(cats, size=10_000, p=[0.5, 0.3, 0.2])
    assert not compare("c", ct, rng.choice(cats, size=3_000, p=[0.5, 0.3, 0.2])).breached
    assert compare("c", ct, rng.choice(cats, size=3_000, p=[0.2, 0.3, 0.5])).breached


def test_thresholds_are_configurable():
    rng = np.random.default_rng(3)
    train, serve = rng.normal(size=5000), rng.normal(0.35, size=5000)
    assert compare("x", train, serve).breached  # KS significant and D >= 0.1
    lax = DriftThresholds(psi=10, ks_statistic=0.5)
    assert not compare("x", train, serve, thresholds=lax).breached


def _finite(result) -> None:
    for name in ("psi", "ks_statistic", "ks_pvalue", "chi2", "chi2_pvalue"):
        value = getattr(result, name)
        assert value is None or math.isfinite(value), (name, value)


def test_constant_features_never_divide_by_zero():
    both = compare("k", [3.0] * 100, [3.0] * 50)
    _finite(both)
    assert both.psi == 0 and both.ks_statistic == 0 and both.ks_pvalue == 1 and not both.breached
    assert any("constant" in n for n in both.notes)
    moved = compare("k", [3.0] * 100, [4.0] * 50)
    _finite(moved)
    assert moved.breached and moved.ks_statistic == 1
    train_only = compare("k", [3.0] * 100, np.random.default_rng(1).normal(3, 1, 100))
    _finite(train_only)
    assert train_only.breached  # half of the serving values are above the one training value
    serve_only = compare("k", np.random.default_rng(1).normal(3, 1, 100), [3.0] * 40)
    _finite(serve_only)
    one_category = compare("c", ["x"] * 10, ["x"] * 5)
    _finite(one_category)
    assert one_category.chi2_pvalue == 1 and one_category.psi == 0 and not one_category.breached


def test_empty_and_all_null_samples_give_notes_not_errors():
    for train, serve in [([], []), ([], [1.0]), ([1.0, 2.0], []), ([None, None], [1.0]), ([float("nan")] * 3, [2.0]),
                         (np.array([np.nan, np.nan]), np.array([1.0, np.nan]))]:
        result = compare("f", train, serve)
        _finite(result)
        assert result.psi is None and not result.breached and result.notes, (train, serve)
    nulls = compare("f", [None, None, None], [None], kind="categorical")
    assert nulls.training_nulls == 3 and nulls.serving_nulls == 1 and "all null" in nulls.notes[0]
    mixed = compare("f", [1.0, None, 2.0, float("nan")], [1.5, None])
    assert (mixed.training_count, mixed.training_nulls, mixed.serving_count, mixed.serving_nulls) == (2, 2, 1, 1)
    assert mixed.to_dict()["feature"] == "f"


def test_timestamps_are_numeric_in_microseconds():
    from datetime import UTC, datetime, timedelta

    base = datetime(2024, 3, 1, tzinfo=UTC)
    train = [base + timedelta(hours=i) for i in range(200)] + [None]
    same = [base + timedelta(hours=i, minutes=30) for i in range(200)]
    later = [base + timedelta(days=30, hours=i) for i in range(200)]
    calm, moved = compare("signup_ts", train, same), compare("signup_ts", train, later)
    assert calm.kind == moved.kind == "numeric" and calm.training_nulls == 1
    assert not calm.breached and moved.breached and moved.ks_statistic == 1
    micros = [(t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) for t in train[:-1]]
    assert calm.bins == compare("x", micros, [float(m) for m in micros]).bins
    naive = compare("ts", [t.replace(tzinfo=None) for t in train[:-1]], same)
    assert naive.psi == pytest.approx(calm.psi)


def test_small_samples_do_not_breach_on_psi_noise_alone():
    """50 serving values of an unchanged feature: PSI is often above 0.2 (an empty decile alone adds ~0.7), so
    below ``min_count`` it is reported with a note and only KS can breach; a real shift still breaches."""
    rng = np.random.default_rng(3)
    train = rng.lognormal(3.5, 1.2, 1400)
    noisy = next(s for s in (rng.lognormal(3.5, 1.2, 50) for _ in range(200)) if oracle_psi(train, s) >= 0.2)
    result = compare("amount", train, noisy)
    assert result.psi == pytest.approx(oracle_psi(train, noisy), rel=1e-9) and result.psi >= 0.2
    assert stats.ks_2samp(train, noisy).pvalue > 0.01  # the oracle agrees nothing moved
    assert not result.breached
    assert any("not judged" in note for note in result.notes)
    shifted = compare("amount", train, rng.lognormal(5.0, 1.2, 50))  # KS sees a real shift in 50 values
    assert shifted.breached and any(r.startswith("ks") for r in shifted.reasons)
    assert compare("amount", train, noisy, thresholds=DriftThresholds(min_count=10)).breached  # the old rule
