"""Input checks and the tie/jitter policy shared by the continuous estimators.

Public entry points call :func:`prepare` once; the private helpers and numba kernels then assume finite, C-contiguous
``float64`` arrays of shape (n_samples, n_dims) without constant columns.

Tie policy (documented in every public estimator)
--------------------------------------------------
Nearest-neighbour estimators assume that no two samples share a coordinate value: duplicates give zero distances and
biased counts (``I(X;X)`` diverges). Each column of every variable is checked for duplicated values (one sort per
column). A column with ties receives Gaussian noise of standard deviation
``jitter * max(std(column), mean(|column|))`` drawn from ``numpy.random.default_rng(seed)``; columns without ties
are left untouched, so tie-free data give exactly the noise-free estimate. ``seed=None`` means the fixed seed 0,
so repeated calls agree; pass another integer (or a ``numpy.random.Generator``) to vary the noise. With
``jitter=0`` tied columns are kept as they are and a :class:`TiesWarning` is issued.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from pidlearn._validation import as_continuous, check_same_length

__all__ = [
    "CostWarning",
    "TiesWarning",
    "check_k",
    "check_positive_float",
    "has_ties",
    "make_rng",
    "prepare",
    "scale_columns",
]


class CostWarning(RuntimeWarning):
    """A call is expected to run for a long time (the estimate is in the message)."""


class TiesWarning(RuntimeWarning):
    """Duplicated values were found and kept (``jitter=0``): nearest-neighbour estimates may be biased."""


def check_k(k, n_samples: int) -> int:
    """Validate the number of neighbours: an integer ``1 <= k < n_samples``."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be a positive integer (number of nearest neighbours), got {k!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1 (number of nearest neighbours), got {k}")
    if n_samples <= k:
        raise ValueError(
            f"need more samples than neighbours: n_samples = {n_samples} <= k = {k}; "
            "give more samples or a smaller k (k = 3 to 10 is usual)"
        )
    return k


def check_positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """Validate a finite real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return value


def scale_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Divide each column of a finite (n, d) array by the power of two at or below its largest ``|value|``.

    Returns
    -------
    scaled : ndarray of shape (n, d)
        Values of magnitude below 2 (exact: only exponents change, unless a value is subnormal).
    log_scales : ndarray of shape (d,)
        ``ln`` of the divisors (add ``Σ log_scales`` to a ``½ ln det`` of the scaled covariance to undo it).
    """
    top = np.max(np.abs(x), axis=0) if x.shape[0] else np.zeros(x.shape[1])
    _, e = np.frexp(np.where(top > 0, top, 1.0))
    scales = np.ldexp(1.0, e - 1)
    return x / scales, np.log(scales)


def make_rng(seed) -> np.random.Generator:
    """``numpy.random.Generator`` for the jitter: ``None`` is the fixed seed 0 (deterministic by default)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, an integer or a numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def has_ties(column: np.ndarray) -> bool:
    """True when a 1-D array holds a duplicated value."""
    s = np.sort(column)
    return bool(np.any(s[1:] == s[:-1]))


def _check_not_constant(arr: np.ndarray, name: str) -> None:
    const = np.all(arr == arr[:1], axis=0)
    if const.any():
        j = int(np.flatnonzero(const)[0])
        col = name if arr.shape[1] == 1 else f"{name}[:, {j}]"
        raise ValueError(
            f"{col} is constant (every sample equals {arr[0, j]!r}); a constant carries no information and "
            "breaks nearest-neighbour distances. Drop the column"
        )


#: ``prepare(k=...)`` default: the estimator takes no ``k`` (``None`` itself is an invalid ``k`` and is rejected).
NO_K = object()


def prepare(
    named: dict,
    *,
    k=NO_K,
    jitter: float = 0.0,
    seed=None,
    normalize: bool = False,
    min_samples: int = 2,
    ties_ok: bool = False,
) -> tuple[dict[str, np.ndarray], int]:
    """Validate continuous variables once, apply the tie policy, and return clean copies.

    Parameters
    ----------
    named : dict of name -> array-like (``None`` values are skipped)
    k : int, optional
        Number of neighbours; checked against the number of samples (leave it out for estimators without ``k``).
    jitter : float
        Relative noise for columns with ties (see the module docstring); 0 disables it.
    seed : None, int or numpy.random.Generator
    normalize : bool
        Divide every column by its standard deviation (``ddof=0``) before anything else (computed on the column
        divided by a power of two, :func:`scale_columns`, so that values up to ``1e308`` do not overflow).
    min_samples : int
        Smallest accepted number of samples when ``k`` is not given.
    ties_ok : bool
        Skip the tie policy (estimators that do not use distances).

    Returns
    -------
    arrays : dict of name -> float64 ndarray (n_samples, n_dims), C-contiguous, owned (safe to modify)
    n_samples : int
    """
    arrays = {name: as_continuous(v, name) for name, v in named.items() if v is not None}
    n = check_same_length(**arrays)
    if k is not NO_K:
        k = check_k(k, n)
    elif n < min_samples:
        raise ValueError(f"need at least {min_samples} samples, got {n}")
    jitter = check_positive_float(jitter, "jitter", allow_zero=True)
    if not (seed is None or isinstance(seed, np.random.Generator)):
        make_rng(seed)  # validate now (raises TypeError), even when no column needs noise
    for name, arr in arrays.items():
        _check_not_constant(arr, name)
    rng = None
    out = {}
    for name, arr in arrays.items():
        arr = np.array(arr, dtype=np.float64, order="C", copy=True)
        if normalize:  # std of the exactly rescaled columns: no overflow of the squares of 1e200s, same result
            arr, _ = scale_columns(arr)
            arr /= arr.std(axis=0)
        for j in range(0 if ties_ok else arr.shape[1]):
            col = arr[:, j]
            if not has_ties(col):
                continue
            label = name if arr.shape[1] == 1 else f"{name}[:, {j}]"
            if jitter == 0:
                warnings.warn(
                    f"{label} has duplicated values and jitter=0: nearest-neighbour counts are biased "
                    "(I(X;X) diverges). Pass jitter > 0 (e.g. 1e-10) to break ties with seeded noise",
                    TiesWarning,
                    stacklevel=3,
                )
                continue
            if rng is None:
                rng = make_rng(seed)
            cs, log_s = scale_columns(col[:, None])  # no overflow of the std of 1e200s
            scale = jitter * math.exp(float(log_s[0])) * max(float(cs.std()), float(np.mean(np.abs(cs))))
            arr[:, j] = col + scale * rng.standard_normal(n)
        out[name] = arr
    return out, n
