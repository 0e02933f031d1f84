"""Discrete information measures from samples or from a joint pmf.

Every estimate is built from entropies of joints of variables, and every entropy from the counts of the shared
counting core (:mod:`pidlearn._counting`)::

    I(X;Y)   = H(X) + H(Y) - H(X,Y)
    I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)
    TC(X_1..X_n) = sum_i H(X_i) - H(X_1..X_n)

Bias corrections act on each entropy (``estimator=``):

* ``"plugin"`` — maximum likelihood, ``H = log N - (1/N) sum_i n_i log n_i``.
* ``"miller_madow"`` — ``H_plugin + (m - 1) / (2N)`` nats, ``m`` non-empty cells (Miller 1955).
* ``"grassberger"`` — ``H = log N - (1/N) sum_i n_i G(n_i)``,
  ``G(n) = psi(n) + (-1)^n / 2 * (psi((n+1)/2) - psi(n/2))`` (Grassberger 2003, arXiv:physics/0307138).
* ``"chao_shen"`` — coverage-adjusted Horvitz-Thompson estimator (Chao & Shen 2003, Environ. Ecol. Stat. 10:429).

All functions return bits by default; ``base=math.e`` gives nats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from pidlearn import _counting
from pidlearn._validation import as_discrete, check_base, check_pmf, check_same_length
from pidlearn.results import PermutationTestResult
from pidlearn.significance import (
    _shuffle_within,
    check_n_permutations,
    p_values,
    permutation_seeds,
    strata,
    warn_if_undersampled,
)

__all__ = [
    "ESTIMATORS",
    "PermutationTestResult",
    "conditional_entropy",
    "conditional_entropy_from_pmf",
    "entropy",
    "entropy_from_pmf",
    "joint_entropy",
    "multi_information",
    "multi_information_from_pmf",
    "mutual_information",
    "mutual_information_from_pmf",
    "permutation_test",
]

#: Names accepted by ``estimator=``.
ESTIMATORS = ("plugin", "miller_madow", "grassberger", "chao_shen")
_PLUGIN, _MILLER_MADOW, _GRASSBERGER, _CHAO_SHEN = range(4)


# --------------------------------------------------------------------------------------------------------------------
# numba kernels: counts -> entropy (nats)
# --------------------------------------------------------------------------------------------------------------------
@njit(cache=True)
def _digamma(x):
    """psi(x) for x > 0: recurrence up to x >= 10, then the asymptotic series (error < 1e-14)."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))))
    return acc + math.log(x) - 0.5 / x - series


@njit(cache=True)
def _entropy_nats(counts, estimator):
    """Entropy (nats) of the distribution behind non-zero ``counts`` with the chosen bias correction."""
    n = 0
    for c in counts:
        n += c
    nf = float(n)
    m = counts.shape[0]
    if estimator == _CHAO_SHEN:
        f1 = 0
        for c in counts:
            if c == 1:
                f1 += 1
        if f1 == n:
            f1 = n - 1
        coverage = 1.0 - f1 / nf
        h = 0.0
        for c in counts:
            pa = coverage * c / nf
            h -= pa * math.log(pa) / (1.0 - (1.0 - pa) ** nf)
        return h
    s = 0.0
    if estimator == _GRASSBERGER:
        for c in counts:
            sign = -1.0 if c % 2 else 1.0
            g = _digamma(float(c)) + 0.5 * sign * (_digamma((c + 1.0) / 2.0) - _digamma(c / 2.0))
            s += c * g
        return math.log(nf) - s / nf
    for c in counts:
        s += c * math.log(c)
    h = math.log(nf) - s / nf
    if estimator == _MILLER_MADOW:
        h += (m - 1) / (2.0 * nf)
    return h


# --------------------------------------------------------------------------------------------------------------------
# helpers on validated codes
# --------------------------------------------------------------------------------------------------------------------
def _estimator_code(estimator: str) -> int:
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    return ESTIMATORS.index(estimator)


def _encode_all(**named) -> dict[str, tuple[np.ndarray, int]]:
    """Validate and encode every named variable; check they have the same number of samples.

    Only ``z`` (the optional conditioning variable) may be None; any other None is refused by ``as_discrete``.
    """
    coded = {name: as_discrete(x, name) for name, x in named.items() if x is not None or name != "z"}
    check_same_length(**{name: c for name, (c, _) in coded.items()})
    return coded


def _h(variables: Sequence[tuple[np.ndarray, int]], est: int) -> float:
    """Joint entropy (nats) of coded variables."""
    counts = _counting.joint_counts([c for c, _ in variables], [k for _, k in variables])
    return float(_entropy_nats(counts, est))


def _mi_nats(x, y, z, est: int, joint_cells: list | None = None) -> float:
    """(Conditional) MI in nats; appends the number of occupied cells of the full joint to ``joint_cells``."""
    full = [x, y] if z is None else [x, y, z]
    counts = _counting.joint_counts([c for c, _ in full], [k for _, k in full])
    h_full = float(_entropy_nats(counts, est))
    if joint_cells is not None:
        joint_cells.append(int(counts.shape[0]))
    if z is None:
        return _h([x], est) + _h([y], est) - h_full
    return _h([x, z], est) + _h([y, z], est) - h_full - _h([z], est)


# --------------------------------------------------------------------------------------------------------------------
# public API: samples
# --------------------------------------------------------------------------------------------------------------------
def entropy(x, *, base: float = 2, estimator: str = "plugin") -> float:
    """Shannon entropy ``H(X) = -sum_x p(x) log p(x)`` estimated from samples.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_vars)
        Hashable labels; several columns form one joint variable.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen"}
        Bias correction, see the module docstring.

    Returns
    -------
    float
    """
    est, b = _estimator_code(estimator), check_base(base)
    return _h([as_discrete(x, "x")], est) / math.log(b)


def joint_entropy(*xs, base: float = 2, estimator: str = "plugin") -> float:
    """Joint entropy ``H(X_1, ..., X_n)`` of several variables given as separate arrays of equal length."""
    if not xs:
        raise ValueError("joint_entropy needs at least one variable")
    est, b = _estimator_code(estimator), check_base(base)
    coded = _encode_all(**{f"xs[{i}]": x for i, x in enumerate(xs)})
    return _h(list(coded.values()), est) / math.log(b)


def conditional_entropy(x, y, *, base: float = 2, estimator: str = "plugin") -> float:
    """Conditional entropy ``H(X|Y) = H(X,Y) - H(Y)``."""
    est, b = _estimator_code(estimator), check_base(base)
    c = _encode_all(x=x, y=y)
    return (_h([c["x"], c["y"]], est) - _h([c["y"]], est)) / math.log(b)


def mutual_information(x, y, z=None, *, base: float = 2, estimator: str = "plugin") -> float:
    """Mutual information ``I(X;Y)``, or conditional ``I(X;Y|Z)`` when ``z`` is given.

    ``I(X;Y) = H(X) + H(Y) - H(X,Y)`` and ``I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)``, each entropy with the
    same ``estimator`` (Cover & Thomas 2006, ch. 2). The plug-in estimate is >= 0; bias-corrected ones can be
    slightly negative and are returned as they are.

    The plug-in estimate issues a :class:`pidlearn.significance.BiasWarning` when there are fewer than 5 samples per
    occupied cell of the joint ``(x, y[, z])`` (:data:`pidlearn.significance.MIN_SAMPLES_PER_CELL`): it is then
    dominated by its upward bias (Miller 1955); the message quotes the numbers and the remedies.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_vars)
    z : array-like of shape (n_samples,) or (n_samples, n_vars), optional
        Conditioning variable.
    base : float, default 2
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen"}

    Returns
    -------
    float

    Examples
    --------
    >>> from pidlearn.discrete import mutual_information
    >>> mutual_information([0, 0, 1, 1], [0, 0, 1, 1])
    1.0
    """
    est, b = _estimator_code(estimator), check_base(base)
    c = _encode_all(x=x, y=y, z=z)
    cells: list[int] = []
    value = _mi_nats(c["x"], c["y"], c.get("z"), est, cells) / math.log(b)
    if est == _PLUGIN:
        possible = math.prod(k for _, k in c.values())
        what = "I(X;Y)" if z is None else "I(X;Y|Z)"
        warn_if_undersampled(len(c["x"][0]), cells[0], possible, value * math.log2(b), what=what)
    return value


def multi_information(*xs, base: float = 2, estimator: str = "plugin") -> float:
    """Multi-information (total correlation) ``TC = sum_i H(X_i) - H(X_1, ..., X_n)`` (Watanabe 1960)."""
    if len(xs) < 2:
        raise ValueError(f"multi_information needs at least two variables, got {len(xs)}")
    est, b = _estimator_code(estimator), check_base(base)
    coded = list(_encode_all(**{f"xs[{i}]": x for i, x in enumerate(xs)}).values())
    return (sum(_h([v], est) for v in coded) - _h(coded, est)) / math.log(b)


# --------------------------------------------------------------------------------------------------------------------
# permutation test
# --------------------------------------------------------------------------------------------------------------------
@njit(parallel=True, cache=True)
def _null_joint_entropies(x, w, kw, order, starts, seeds, estimator, dense_cells):
    """H(X_perm, W) (nats) for each seed; X permuted within the groups, W fixed."""
    out = np.empty(seeds.shape[0])
    for p in prange(seeds.shape[0]):
        key = _shuffle_within(x, order, starts, seeds[p]) * kw + w
        if dense_cells > 0:
            counts = _counting._bincount(key, dense_cells)
            counts = counts[counts > 0]
        else:
            counts = _counting._run_lengths(np.sort(key))
        out[p] = _entropy_nats(counts, estimator)
    return out


def permutation_test(
    x,
    y,
    z=None,
    *,
    n_permutations: int = 1000,
    seed: int | None = None,
    base: float = 2,
    estimator: str = "plugin",
) -> PermutationTestResult:
    """Permutation test of ``I(X;Y) = 0`` (or ``I(X;Y|Z) = 0``), numba-parallel over permutations.

    ``x`` is shuffled (within each value of ``z`` when given, which keeps ``p(x|z)``), the statistic recomputed,
    and ``p = (1 + #{I_perm >= I}) / (1 + n_permutations)`` (Phipson & Smyth 2010). Each permutation draws from
    its own SplitMix64 stream seeded from ``numpy.random.SeedSequence(seed)``, so the result is identical for a
    seed whatever the number of threads. ``seed=None`` draws fresh entropy.

    Returns
    -------
    PermutationTestResult
    """
    n_permutations = check_n_permutations(n_permutations)
    est, b = _estimator_code(estimator), check_base(base)
    c = _encode_all(x=x, y=y, z=z)
    (xc, kx), yv, zv = c["x"], c["y"], c.get("z")
    observed = _mi_nats(c["x"], yv, zv, est)
    order, starts = strata(None if zv is None else zv[0], xc.shape[0])
    if zv is None:
        w, kw = yv
        constant = _h([c["x"]], est) + _h([yv], est)
    else:
        w, kw = _counting.joint_codes([yv[0], zv[0]], [yv[1], zv[1]])
        constant = _h([c["x"], zv], est) + _h([yv, zv], est) - _h([zv], est)
    cells = kx * kw
    dense_cells = cells if cells <= _counting.DENSE_MAX_CELLS and cells <= 8 * len(xc) + 65536 else 0
    seeds = permutation_seeds(seed, n_permutations)
    null = constant - _null_joint_entropies(xc, w, kw, order, starts, seeds, est, dense_cells)
    p_value = p_values(null, observed)
    scale = math.log(b)
    return PermutationTestResult(observed / scale, float(p_value), null / scale)


# --------------------------------------------------------------------------------------------------------------------
# public API: joint pmf
# --------------------------------------------------------------------------------------------------------------------
def _axes(axes, ndim: int, name: str) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{name} must be ints or sequences of ints, got {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{name} contains axis {a}, but the pmf has {ndim} axes")
        out.append(int(a) % ndim)
    if not out:
        raise ValueError(f"{name} is empty; name at least one axis of the pmf")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} repeats an axis: {tuple(axes)}")
    return tuple(sorted(out))


def _h_pmf(p: np.ndarray, axes: tuple[int, ...]) -> float:
    """Entropy (nats) of the marginal of ``p`` on ``axes``."""
    drop = tuple(a for a in range(p.ndim) if a not in axes)
    q = p.sum(axis=drop) if drop else p
    q = q[q > 0]
    return float(-(q * np.log(q)).sum())


def _disjoint(**named) -> None:
    seen: dict[int, str] = {}
    for name, axes in named.items():
        for a in axes or ():
            if a in seen:
                raise ValueError(f"axis {a} is in both {seen[a]} and {name}; the variables must be disjoint")
            seen[a] = name


def entropy_from_pmf(pmf, axes=None, *, base: float = 2) -> float:
    """Entropy of a joint pmf (one axis per variable), or of its marginal on ``axes``."""
    p, b = check_pmf(pmf), check_base(base)
    return _h_pmf(p, _axes(axes, p.ndim, "axes")) / math.log(b)


def conditional_entropy_from_pmf(pmf, x_axes=0, y_axes=1, *, base: float = 2) -> float:
    """``H(X|Y) = H(X,Y) - H(Y)`` of a joint pmf; X and Y are given by their axes."""
    p, b = check_pmf(pmf), check_base(base)
    xa, ya = _axes(x_axes, p.ndim, "x_axes"), _axes(y_axes, p.ndim, "y_axes")
    _disjoint(x_axes=xa, y_axes=ya)
    return (_h_pmf(p, xa + ya) - _h_pmf(p, ya)) / math.log(b)


def mutual_information_from_pmf(pmf, x_axes=0, y_axes=1, z_axes=None, *, base: float = 2) -> float:
    """``I(X;Y)`` or ``I(X;Y|Z)`` of a joint pmf; each variable is given by its axes (several axes = joint)."""
    p, b = check_pmf(pmf), check_base(base)
    xa, ya = _axes(x_axes, p.ndim, "x_axes"), _axes(y_axes, p.ndim, "y_axes")
    za = () if z_axes is None else _axes(z_axes, p.ndim, "z_axes")
    _disjoint(x_axes=xa, y_axes=ya, z_axes=za)
    h = _h_pmf
    if not za:
        mi = h(p, xa) + h(p, ya) - h(p, xa + ya)
    else:
        mi = h(p, xa + za) + h(p, ya + za) - h(p, xa + ya + za) - h(p, za)
    return mi / math.log(b)


def multi_information_from_pmf(pmf, axes=None, *, base: float = 2) -> float:
    """Total correlation ``sum_i H(X_i) - H(X_1..X_n)`` of a pmf, one variable per axis in ``axes``."""
    p, b = check_pmf(pmf), check_base(base)
    ax = _axes(axes, p.ndim, "axes")
    if len(ax) < 2:
        raise ValueError("multi_information_from_pmf needs at least two axes (variables)")
    return (sum(_h_pmf(p, (a,)) for a in ax) - _h_pmf(p, ax)) / math.log(b)
