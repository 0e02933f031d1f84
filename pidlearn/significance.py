"""Significance and bias of plug-in information estimates: permutation machinery and the bias warning.

Permutation tests
-----------------
Every permutation test in pidlearn (:func:`pidlearn.discrete.permutation_test`,
:func:`pidlearn.continuous.permutation_test`, the atom p-values of :func:`pidlearn.sxpid` and
:func:`pidlearn.continuous.permutation_test_pid`) draws its permutations here:

* Permutation ``p`` uses its own SplitMix64 stream (Steele, Lea & Flood 2014) seeded by the ``p``-th word of
  ``numpy.random.SeedSequence(seed).generate_state(n_permutations)``, so a seed gives the same null distribution
  whatever the number of threads or the order in which permutations run; ``seed=None`` draws fresh entropy.
* Free shuffles are Fisher–Yates shuffles, within groups (strata of a discrete conditioning variable ``Z``) when
  given, which keeps ``p(x | z)`` and tests ``I(X;Y|Z) = 0``.
* For a continuous ``Z`` the *local permutation* of Runge (2018): every sample may only take the ``x`` of one of its
  ``k_perm`` nearest neighbours in ``Z`` (max-norm), drawn without replacement where possible.
* The p-value is ``(1 + #{null >= observed}) / (1 + n_permutations)`` (Phipson & Smyth 2010): never 0, exact
  (valid) under exchangeability, one-sided (large values are evidence against the null).

Bias warning
------------
:class:`BiasWarning` is issued by the plug-in estimators (:func:`pidlearn.discrete.mutual_information` with
``estimator="plugin"`` and :func:`pidlearn.sxpid`) when there are fewer than :data:`MIN_SAMPLES_PER_CELL` samples
per occupied cell of the joint distribution that is estimated. There the plug-in mutual information is dominated by
its upward bias: with as many cells as samples every variable "explains" every other (``I(T;S) -> H(T)``).

References
----------
B. Phipson and G. K. Smyth, "Permutation p-values should never be zero: calculating exact p-values when
permutations are randomly drawn", Stat. Appl. Genet. Mol. Biol. 9, 39 (2010).
J. Runge, "Conditional independence testing based on a nearest-neighbor estimator of conditional mutual
information", Proc. AISTATS 2018, PMLR 84:938–947.
G. A. Miller, "Note on the bias of information estimates", in Information Theory in Psychology (1955), 95–100.
G. L. Steele, D. Lea and C. H. Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from numba import njit

__all__ = [
    "MAX_NULL_BYTES",
    "MIN_SAMPLES_PER_CELL",
    "BiasWarning",
    "check_n_permutations",
    "local_neighbours",
    "local_permutation",
    "p_values",
    "permutation_seeds",
    "permuted_index",
    "strata",
    "warn_if_undersampled",
]

#: Largest null distribution (``n_permutations x n_statistics x 8`` bytes) a permutation test will hold: 1 GiB.
MAX_NULL_BYTES = 1 << 30
#: :class:`BiasWarning` below this many samples per occupied joint cell.
MIN_SAMPLES_PER_CELL = 5


# --------------------------------------------------------------------------------------------------------------------
# bias warning
# --------------------------------------------------------------------------------------------------------------------
class BiasWarning(RuntimeWarning):
    """A plug-in information estimate is dominated by its bias (too few samples for the joint support)."""


def warn_if_undersampled(
    n_samples: int, occupied: int, possible: int, estimate_bits: float, *, what: str, stacklevel: int = 3
) -> bool:
    """Issue a :class:`BiasWarning` when ``n_samples < MIN_SAMPLES_PER_CELL * occupied``; return whether it did.

    A zero estimate (e.g. a constant variable) is not warned about: bias pushes plug-in estimates up, not down.

    Parameters
    ----------
    n_samples : int
    occupied : int
        Occupied cells of the joint distribution that is estimated (``(x, y[, z])``, or ``(sources..., target)``).
    possible : int
        Product of the observed alphabet sizes (the cells the joint could occupy).
    estimate_bits : float
        The estimate, in bits, quoted in the message.
    what : str
        Name of the estimate, e.g. ``"I(X;Y)"``.

    Notes
    -----
    The message quotes the Miller–Madow bias of the joint plug-in entropy, ``(m - 1) / (2 N ln 2)`` bits for ``m``
    occupied cells (Miller 1955) — the size of the first-order correction, itself an underestimate when the data are
    this sparse.
    """
    if occupied <= 1 or n_samples >= MIN_SAMPLES_PER_CELL * occupied or not estimate_bits > 1e-12:
        return False
    mm = (occupied - 1) / (2.0 * n_samples * math.log(2.0))
    warnings.warn(
        f"{what} = {estimate_bits:.4g} bits is a plug-in estimate from {n_samples} samples over {occupied} occupied "
        f"joint cells (of {possible} possible): {n_samples / occupied:.2f} samples per cell, fewer than "
        f"{MIN_SAMPLES_PER_CELL}, so the estimate is dominated by its upward bias (Miller-Madow bias of the joint "
        f"entropy alone: (cells - 1)/(2N ln 2) = {mm:.3g} bits). Use a bias-corrected estimator "
        '(estimator="grassberger" or "miller_madow"), fewer bins (pidlearn.discretise) or fewer variables, and a '
        "permutation test (pidlearn.discrete.permutation_test, or n_permutations= in pidlearn.sxpid) to judge it",
        BiasWarning,
        stacklevel=stacklevel,
    )
    return True


# --------------------------------------------------------------------------------------------------------------------
# validation and p-values
# --------------------------------------------------------------------------------------------------------------------
def check_n_permutations(n_permutations, *, allow_zero: bool = False, n_statistics: int = 1) -> int:
    """Validate ``n_permutations`` (an int >= 1, or >= 0 with ``allow_zero``) and the memory of its null.

    Raises
    ------
    TypeError
        Not an int.
    ValueError
        Negative (or 0 without ``allow_zero``), or a null distribution of
        ``n_permutations * n_statistics * 8`` bytes above :data:`MAX_NULL_BYTES`.
    """
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, numbers.Integral):
        raise TypeError(f"n_permutations must be an int, got {n_permutations!r}")
    n = int(n_permutations)
    low = 0 if allow_zero else 1
    if n < low:
        hint = " (0 = no permutation test)" if allow_zero else ""
        raise ValueError(f"n_permutations must be >= {low}{hint}, got {n}")
    need = n * max(1, int(n_statistics)) * 8
    if need > MAX_NULL_BYTES:
        raise ValueError(
            f"n_permutations={n} with {n_statistics} statistic(s) needs {need / 2**30:.1f} GiB for the null "
            f"distribution, above the limit of {MAX_NULL_BYTES / 2**30:.0f} GiB "
            "(pidlearn.significance.MAX_NULL_BYTES); 1000 to 10000 permutations resolve p-values down to 1e-3..1e-4"
        )
    return n


def p_values(null: np.ndarray, observed) -> np.ndarray | float:
    """``(1 + #{null >= observed}) / (1 + n)`` per statistic (Phipson & Smyth 2010), one-sided upper.

    ``null`` has shape (n_permutations,) or (n_permutations, n_statistics); ties within a relative ``1e-12`` of the
    observed value count as ``>=`` (the same value computed on a permuted copy may differ in the last bits).
    """
    null = np.asarray(null, dtype=np.float64)
    obs = np.asarray(observed, dtype=np.float64)
    tol = 1e-12 * np.maximum(1.0, np.abs(obs))
    count = np.count_nonzero(null >= obs - tol, axis=0)
    p = (1.0 + count) / (1.0 + null.shape[0])
    return float(p) if np.ndim(p) == 0 else p


# --------------------------------------------------------------------------------------------------------------------
# random streams and shuffles
# --------------------------------------------------------------------------------------------------------------------
def permutation_seeds(seed, n_permutations: int) -> np.ndarray:
    """One uint64 seed per permutation from ``numpy.random.SeedSequence(seed)`` (``None``: fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**63))
    elif seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be None, an int or a numpy.random.Generator, got {seed!r}")
    return np.random.SeedSequence(seed).generate_state(n_permutations, dtype=np.uint64)


@njit(cache=True)
def _splitmix64(state):
    """One step of SplitMix64 (Steele, Lea & Flood 2014): returns (new state, 64 random bits)."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True)
def _shuffle_within(x, order, starts, seed):
    """Copy of ``x`` with values permuted (Fisher-Yates) within each group ``order[starts[g]:starts[g+1]]``."""
    out = x.copy()
    state = seed
    for g in range(starts.shape[0] - 1):
        a = starts[g]
        for i in range(starts[g + 1] - 1, a, -1):
            state, r = _splitmix64(state)
            j = a + np.int64(r % np.uint64(i - a + 1))
            pi = order[i]
            pj = order[j]
            out[pi], out[pj] = out[pj], out[pi]
    return out


def strata(codes: np.ndarray | None, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, starts)`` for :func:`permuted_index`: samples grouped by their value of ``codes`` (None: one group)."""
    if codes is None:
        return np.arange(n_samples, dtype=np.int64), np.array([0, n_samples], dtype=np.int64)
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    order = np.argsort(codes, kind="stable").astype(np.int64)
    starts = np.searchsorted(codes[order], np.arange(int(codes.max()) + 2)).astype(np.int64)
    return order, starts


def permuted_index(order: np.ndarray, starts: np.ndarray, seed) -> np.ndarray:
    """Index array ``perm`` (``x[perm]`` is the permuted copy) shuffling within the groups of :func:`strata`."""
    return _shuffle_within(np.arange(order.shape[0], dtype=np.int64), order, starts, np.uint64(seed))


def local_neighbours(z: np.ndarray, k_perm: int) -> np.ndarray:
    """Indices of the ``k_perm`` nearest neighbours (max-norm, the sample itself included) of every row of ``z``."""
    from scipy.spatial import cKDTree

    z = np.asarray(z, dtype=np.float64).reshape(z.shape[0], -1)
    _, idx = cKDTree(z).query(z, k=k_perm, p=np.inf)
    return np.ascontiguousarray(np.asarray(idx).reshape(z.shape[0], k_perm), dtype=np.int64)


@njit(cache=True)
def _local_permutation(neighbours, seed):
    n, kp = neighbours.shape
    state = seed
    visit = np.arange(n)
    for i in range(n - 1, 0, -1):
        state, r = _splitmix64(state)
        j = np.int64(r % np.uint64(i + 1))
        visit[i], visit[j] = visit[j], visit[i]
    used = np.zeros(n, dtype=np.bool_)
    cand = np.empty(kp, dtype=np.int64)
    perm = np.empty(n, dtype=np.int64)
    for v in range(n):
        i = visit[v]
        for m in range(kp):
            cand[m] = neighbours[i, m]
        for m in range(kp - 1, 0, -1):
            state, r = _splitmix64(state)
            j = np.int64(r % np.uint64(m + 1))
            cand[m], cand[j] = cand[j], cand[m]
        pick = cand[0]
        for m in range(kp):
            if not used[cand[m]]:
                pick = cand[m]
                break
        perm[i] = pick
        used[pick] = True
    return perm


def local_permutation(neighbours: np.ndarray, seed) -> np.ndarray:
    """Runge's (2018, Algorithm 1) local permutation: index array ``perm`` with ``perm[i]`` among ``i``'s neighbours.

    Samples are visited in random order; each takes a random not-yet-used neighbour in ``Z``, or a random neighbour
    when all are used (then ``perm`` repeats an index: a draw with few replacements, as in the original).
    """
    return _local_permutation(neighbours, np.uint64(seed))
