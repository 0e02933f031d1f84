"""Mixed discrete–continuous MI (Ross 2014, Gao et al. 2017), conditioning on a discrete z, and the continuous
multi-information: scikit-learn equality, naive twins, closed forms, properties, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import digamma

from pidlearn import continuous as pc
from pidlearn import discrete as pd
from pidlearn.continuous import TiesWarning
from pidlearn.continuous import multi_information as multi
from pidlearn.continuous import mutual_information as mi
from tests.test_continuous import _sklearn_preprocess


# --------------------------------------------------------------------------------------------------------------------
# naive twins (brute force, max-norm)
def _cheb(a):
    a = np.asarray(a, dtype=float).reshape(len(a), -1)
    return np.abs(a[:, None, :] - a[None, :, :]).max(axis=2)


def naive_ross(c, labels, k):
    labels = np.asarray(labels)
    vals, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, vals[counts > 1])
    c = np.asarray(c, dtype=float).reshape(len(labels), -1)[keep]
    labels = labels[keep]
    n = len(labels)
    d = _cheb(c)
    radius, kk, nl = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        same = labels == labels[i]
        nl[i] = same.sum()
        kk[i] = min(k, nl[i] - 1)
        dd = np.sort(d[i, same & (np.arange(n) != i)])
        radius[i] = dd[int(kk[i]) - 1]
    m = np.where(radius > 0, (d < radius[:, None]).sum(1), (d <= 0).sum(1))  # itself included
    return digamma(n) - digamma(nl).mean() + digamma(kk).mean() - digamma(m).mean()


def naive_mixed_ksg(x, y, k):
    # Gao et al. (2017) in the convention of the authors' published code: counts include the sample itself, strict
    # radius off a point mass, distance 0 on one, digamma throughout
    dx, dy = _cheb(x), _cheb(y)
    n = len(dx)
    d = np.maximum(dx, dy)
    off = d.copy()
    np.fill_diagonal(off, np.inf)
    rho = np.sort(off, axis=1)[:, k - 1]
    point = rho == 0
    kt = np.where(point, (d == 0).sum(1), k)
    nx = np.where(point, (dx == 0).sum(1), (dx < rho[:, None]).sum(1))
    ny = np.where(point, (dy == 0).sum(1), (dy < rho[:, None]).sum(1))
    return np.mean(digamma(kt) + math.log(n) - digamma(nx) - digamma(ny))


def naive_multi_ksg1(xs, k):
    ds = [_cheb(x) for x in xs]
    n = len(ds[0])
    joint = np.max(ds, axis=0)
    np.fill_diagonal(joint, np.inf)
    eps = np.sort(joint, axis=1)[:, k - 1]
    total = digamma(k) + (len(xs) - 1) * digamma(n)
    for d in ds:
        np.fill_diagonal(d, np.inf)
        total -= digamma((d < eps[:, None]).sum(1) + 1).mean()
    return total


def _labelled(rng, n, n_labels, shift=1.0, d=1):
    labels = rng.integers(0, n_labels, n)
    x = shift * labels[:, None] + rng.standard_normal((n, d))
    return (x[:, 0] if d == 1 else x), labels


# --------------------------------------------------------------------------------------------------------------------
# Ross (continuous vs discrete) = scikit-learn's mutual_info_classif on identical inputs
@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize(("n", "n_labels"), [(100, 3), (500, 2), (3000, 7), (20_000, 4)])
def test_ross_equals_sklearn_classif(n, n_labels, k):
    """Every label with more than 2k samples, so that sklearn uses its KD tree (exact distances), not brute force."""
    fs = pytest.importorskip("sklearn.feature_selection")
    rng = np.random.default_rng(n + n_labels + k)
    x, labels = _labelled(rng, n, n_labels)
    x = np.c_[x, np.exp(x), rng.standard_normal(n)]  # three features, noised together as sklearn does
    labels[:2] = [97, 98]  # two labels that occur once: dropped by both
    expected = fs.mutual_info_classif(x, labels, n_neighbors=k, random_state=11)
    xs, _ = _sklearn_preprocess(x, labels, 11, discrete_target=True)
    for j in range(3):
        ours = mi(xs[:, j], labels, discrete="y", k=k, base=math.e, normalize=False, jitter=0)
        assert abs(max(0.0, ours) - expected[j]) <= 1e-12
        if n <= 3000:
            assert ours == pytest.approx(naive_ross(xs[:, j], labels, k), abs=1e-12)


def test_ross_caps_k_at_label_count_minus_one():
    """A label with ``count <= k`` samples uses ``k = count - 1`` (scikit-learn's rule). sklearn measures such labels
    with brute-force Euclidean distances (``sqrt(a² - 2ab + b²)``, inexact by cancellation), so it is compared to the
    exact naive twin here and to sklearn only loosely."""
    fs = pytest.importorskip("sklearn.feature_selection")
    rng = np.random.default_rng(4)
    x, labels = _labelled(rng, 600, 3)
    labels[:3] = 7  # a label with 3 samples
    labels[3:5] = 8  # and one with 2
    xs, _ = _sklearn_preprocess(x, labels, 0, discrete_target=True)
    for k in (3, 5):
        ours = mi(xs, labels, discrete="y", k=k, base=math.e, normalize=False)
        assert ours == pytest.approx(naive_ross(xs, labels, k), abs=1e-12)
        expected = fs.mutual_info_classif(x[:, None], labels, n_neighbors=k, random_state=0)[0]
        assert ours == pytest.approx(expected, abs=1e-3)


def test_ross_equals_sklearn_with_ties():
    """Kept ties (jitter=0): d_i = 0 for some samples; sklearn counts the samples at distance 0 then."""
    mimod = pytest.importorskip("sklearn.feature_selection._mutual_info")
    rng = np.random.default_rng(1)
    x, labels = _labelled(rng, 600, 3, shift=3.0)
    x = np.round(x, 2)
    for k in (1, 3, 8):
        expected = mimod._compute_mi_cd(x, labels, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TiesWarning)
            ours = mi(x, labels, discrete="y", k=k, base=math.e, normalize=False, jitter=0)
        assert expected > 0.1 and abs(ours - expected) <= 1e-12
        assert ours == pytest.approx(naive_ross(x, labels, k), abs=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_ross_multivariate_matches_naive(d):
    rng = np.random.default_rng(d)
    x, labels = _labelled(rng, 400, 3, d=d)
    for k in (1, 4):
        ours = mi(x, labels, discrete="y", k=k, base=math.e, normalize=False)
        assert ours == pytest.approx(naive_ross(x, labels, k), abs=1e-12)
        assert mi(x, labels, discrete="y", k=k, algorithm="brute") == pytest.approx(mi(x, labels, discrete="y", k=k))


def test_ross_large_n_agrees_with_truth():
    """Two well separated classes: I = H(Y) = ln 2 nats."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 100_000)
    x = 10.0 * labels + rng.standard_normal(100_000)
    assert mi(x, labels, discrete="y", base=math.e) == pytest.approx(math.log(2), abs=0.01)


# --------------------------------------------------------------------------------------------------------------------
# properties
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(12, 300), n_labels=st.integers(1, 6), k=st.integers(1, 5))
def test_ross_symmetric_and_invariant_to_relabelling(seed, n, n_labels, k):
    rng = np.random.default_rng(seed)
    x, labels = _labelled(rng, n, n_labels, d=int(rng.integers(1, 3)))
    labels[: n_labels + 1] = np.arange(n_labels + 1) % max(1, n_labels)  # every label occurs more than once
    labels[-1] = labels[0]
    ref = mi(x, labels, discrete="y", k=k)
    assert mi(labels, x, discrete="x", k=k) == ref
    perm = rng.permutation(10) + 5
    assert mi(x, perm[labels], discrete="y", k=k) == pytest.approx(ref, abs=1e-12)
    words = np.array(["cat", "dog", "eel", "fox", "gnu", "hen"])[labels]
    assert mi(x, words, discrete=["y"], k=k) == pytest.approx(ref, abs=1e-12)
    assert mi(x, labels.astype(float), discrete=("y",), k=k) == pytest.approx(ref, abs=1e-12)


def test_both_discrete_delegates_to_plugin():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 500)
    b = (a + rng.integers(0, 2, 500)) % 4
    c = rng.integers(0, 2, 500)
    assert mi(a, b, discrete=True) == pd.mutual_information(a, b)
    assert mi(a, b, discrete=["x", "y"], estimator="miller_madow") == pd.mutual_information(
        a, b, estimator="miller_madow"
    )
    assert mi(a, b, z=c, discrete=True) == pd.mutual_information(a, b, c)


# --------------------------------------------------------------------------------------------------------------------
# conditioning on a discrete z: sum_z p(z) I(X;Y|Z=z)
@pytest.mark.parametrize("estimator", ["ksg1", "ksg2", "gaussian", "copula"])
def test_discrete_z_is_the_weighted_strata(estimator):
    rng = np.random.default_rng(7)
    n = 900
    z = rng.integers(0, 3, n)
    x = rng.standard_normal(n) + z
    y = (1.0 + z) * x + rng.standard_normal(n)
    got = mi(x, y, z=z, discrete="z", estimator=estimator, normalize=False)
    expected = sum(np.mean(z == v) * mi(x[z == v], y[z == v], estimator=estimator, normalize=False) for v in range(3))
    assert got == pytest.approx(expected, abs=1e-12)


def test_discrete_z_with_discrete_y_uses_ross_per_stratum():
    rng = np.random.default_rng(8)
    n = 1200
    z = rng.integers(0, 2, n)
    labels = rng.integers(0, 3, n)
    x = labels * (1 + z) + rng.standard_normal(n)
    got = mi(x, labels, z=z, discrete=["y", "z"], base=math.e, normalize=False)
    expected = sum(np.mean(z == v) * naive_ross(x[z == v], labels[z == v], 3) for v in range(2))
    assert got == pytest.approx(expected, abs=1e-12)
    assert mi(labels, x, z=z, discrete=["x", "z"], base=math.e, normalize=False) == got


def test_gaussian_cmi_given_discrete_z_truth():
    """Within each stratum a bivariate normal with correlation rho_z: I(X;Y|Z) = mean of -½ ln(1 - rho_z²)."""
    rng = np.random.default_rng(9)
    n = 30_000
    z = rng.integers(0, 2, n)
    rho = np.where(z == 0, 0.3, 0.9)
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n) + 5 * z
    truth = 0.5 * (-0.5 * math.log(1 - 0.09) - 0.5 * math.log(1 - 0.81))
    assert mi(x, y, z=z, discrete="z", base=math.e) == pytest.approx(truth, abs=0.02)


# --------------------------------------------------------------------------------------------------------------------
# mixed KSG (Gao et al. 2017)
@pytest.mark.parametrize("kind", ["continuous", "discrete", "mixture"])
def test_mixed_ksg_matches_naive(kind):
    rng = np.random.default_rng(len(kind))
    n = 300
    if kind == "continuous":
        x = rng.standard_normal(n)
        y = x + rng.standard_normal(n)
    elif kind == "discrete":
        x = rng.integers(0, 4, n).astype(float)
        y = (x + rng.integers(0, 2, n)) % 4
    else:  # half the samples at point masses, half continuous (Gao et al.'s zero-inflated example)
        x = np.where(rng.random(n) < 0.5, 0.0, rng.exponential(size=n))
        y = np.where(x == 0, rng.integers(0, 3, n).astype(float), x + rng.standard_normal(n))
    for k in (1, 3, 7):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no tie warning, no jitter: the point masses are the point
            ours = mi(x, y, estimator="mixed_ksg", k=k, base=math.e, normalize=False)
        assert ours == pytest.approx(naive_mixed_ksg(x, y, k), abs=1e-12)
    assert mi(x, y, estimator="mixed_ksg") == pytest.approx(mi(3 * x, y / 7, estimator="mixed_ksg"), abs=1e-9)


def test_mixed_ksg_agrees_with_ross_on_labels():
    # a continuous variable against 3 shifted labels: mixed KSG (labels as point masses) and Ross estimate the same
    # MI (measured at N = 2000, k = 3: 0.2538 vs 0.2535 nats; the paper's ln(n + 1) form gave -0.008)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 2000)
    x = y + rng.standard_normal(2000)
    ross = mi(x, y, discrete="y", base=math.e)
    assert mi(x, y.astype(float), estimator="mixed_ksg", base=math.e) == pytest.approx(ross, abs=0.01)


def test_mixed_ksg_discrete_data_close_to_plugin():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, 20_000)
    y = (x + (rng.random(20_000) < 0.2)) % 3
    assert mi(x, y, estimator="mixed_ksg") == pytest.approx(pd.mutual_information(x, y), abs=0.01)


# --------------------------------------------------------------------------------------------------------------------
# multi-information
@pytest.mark.parametrize("estimator", ["ksg1", "ksg2", "gaussian", "copula"])
@pytest.mark.parametrize(("dx", "dy"), [(1, 1), (2, 1), (2, 3)])
def test_multi_information_of_two_is_mutual_information(estimator, dx, dy):
    rng = np.random.default_rng(dx * 10 + dy)
    x = rng.standard_normal((700, dx))
    y = x[:, :1] ** 3 + rng.standard_normal((700, dy))
    y[:5] = y[0]  # a few ties: same jitter in both
    for normalize in (True, False):
        assert multi(x, y, estimator=estimator, normalize=normalize) == mi(
            x, y, estimator=estimator, normalize=normalize
        )


def test_multi_information_ksg1_matches_naive():
    rng = np.random.default_rng(12)
    a = rng.standard_normal((250, 1))
    xs = [a + rng.standard_normal((250, 1)), np.hstack([a, rng.standard_normal((250, 1))]), a**2]
    for k in (1, 4):
        ours = multi(*xs, k=k, base=math.e, normalize=False)
        assert ours == pytest.approx(naive_multi_ksg1(xs, k), abs=1e-12)
        for algorithm in ("kdtree", "brute"):
            assert multi(*xs, k=k, algorithm=algorithm) == pytest.approx(multi(*xs, k=k), abs=1e-12)


@pytest.mark.parametrize("m", [3, 4])
def test_multi_information_gaussian_closed_form(m):
    """Correlated Gaussians: TC = -½ ln det R."""
    rng = np.random.default_rng(m)
    r = np.full((m, m), 0.6)
    np.fill_diagonal(r, 1.0)
    data = rng.standard_normal((20_000, m)) @ np.linalg.cholesky(r).T
    truth = -0.5 * np.linalg.slogdet(r)[1]
    cols = [data[:, i] * 10.0**i for i in range(m)]  # different scales: normalize=True handles them
    assert multi(*cols, estimator="gaussian", base=math.e) == pytest.approx(truth, abs=0.02)
    assert multi(*cols, estimator="copula", base=math.e) == pytest.approx(truth, abs=0.02)
    assert multi(*cols, base=math.e) == pytest.approx(truth, abs=0.05)
    assert multi(*cols, estimator="ksg2", base=math.e) == pytest.approx(truth, abs=0.05)


# --------------------------------------------------------------------------------------------------------------------
# bad input: the argument, the problem, the fix
def test_bad_discrete_arguments():
    rng = np.random.default_rng(0)
    x, labels = _labelled(rng, 100, 3)
    with pytest.raises(ValueError, match="discrete must name among 'x', 'y', 'z'"):
        mi(x, labels, discrete="w")
    with pytest.raises(ValueError, match="discrete must name among"):
        mi(x, labels, discrete=[1])
    with pytest.raises(ValueError, match="discrete must name among"):
        mi(x, labels, discrete=3)
    with pytest.raises(ValueError, match="discrete names 'z' but z is None"):
        mi(x, labels, discrete=["y", "z"])
    with pytest.raises(ValueError, match=r"marked discrete .* non-integer floats: remove 'y' from discrete="):
        mi(labels, x, discrete="y")
    with pytest.raises(ValueError, match="discrete x and y given a continuous z"):
        mi(labels, labels, z=x, discrete=["x", "y"])
    with pytest.raises(ValueError, match="estimator is 'ross'"):
        mi(x, labels, discrete="y", estimator="gaussian")
    with pytest.raises(ValueError, match="both discrete: estimator must be one of"):
        mi(labels, labels, discrete=True, estimator="ksg1")
    with pytest.raises(ValueError, match="mixed_ksg' takes every variable as real-valued"):
        mi(x, labels, discrete="y", estimator="mixed_ksg")
    with pytest.raises(ValueError, match=r"mixed_ksg' .* has no conditional form"):
        mi(x, labels, z=x, estimator="mixed_ksg")
    with pytest.raises(ValueError, match="every label of the discrete variable occurs exactly once"):
        mi(x, np.arange(100), discrete="y")
    with pytest.raises(ValueError, match=r"stratum z == z\[.*\] has 2 samples"):
        z = np.zeros(100, dtype=int)
        z[[4, 9]] = 1
        mi(x, x + labels, z=z, discrete="z")
    with pytest.raises(ValueError, match="mismatched numbers of samples"):
        mi(x, labels[:-1], discrete="y")
    with pytest.raises(ValueError, match="estimator must be one of"):
        mi(x, labels, estimator="kde")


def test_bad_multi_information_arguments():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 3))
    with pytest.raises(ValueError, match=r"at least two variables, got 1; .* multi_information\(\*X.T\)"):
        multi(x)
    with pytest.raises(ValueError, match="estimator must be one of"):
        multi(x[:, 0], x[:, 1], estimator="ross")
    with pytest.raises(ValueError, match="mismatched numbers of samples"):
        multi(x[:, 0], x[:-1, 1])
    with pytest.raises(ValueError, match="k must be >= 1"):
        multi(x[:, 0], x[:, 1], k=0)
    assert set(pc.MULTI_INFO_ESTIMATORS) == {"ksg1", "ksg2", "gaussian", "copula"}


def test_label_given_continuous_z_by_the_chain_rule():
    # Z ~ N(0, 1), label Y ~ Bernoulli(1/2) independent of Z, X = Z + 2 Y + noise: I(X;Y|Z) = I(2Y + e; Y), the MI of
    # an equal mixture of N(0, 1) and N(2, 1) with its label; and a label that depends on Z alone has I(X;Y|Z) = 0
    from scipy import integrate, stats

    rng = np.random.default_rng(3)
    n = 4000
    z = rng.standard_normal(n)
    y = rng.integers(0, 2, n)
    x = z + 2 * y + rng.standard_normal(n)
    mix = lambda t: 0.5 * stats.norm.pdf(t) + 0.5 * stats.norm.pdf(t, 2)  # noqa: E731
    h_mix = integrate.quad(lambda t: -mix(t) * np.log(mix(t)), -12, 14)[0]
    truth = h_mix - 0.5 * math.log(2 * math.pi * math.e)  # 0.3466 nats
    got = mi(x, y, z=z, discrete="y", base=math.e)
    assert got == pytest.approx(truth, abs=0.03)
    assert mi(y, x, z=z, discrete="x", base=math.e) == pytest.approx(got, abs=1e-12)  # symmetric
    y_of_z = (z > 0).astype(int)
    assert abs(mi(z + rng.standard_normal(n), y_of_z, z=z, discrete="y", base=math.e)) < 0.03
