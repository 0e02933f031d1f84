"""One place that turns array-likes into clean arrays, or raises an error that says what to do.

Public estimators call these once at their entry; private helpers and numba kernels then assume clean input
(contiguous ``int64`` codes for discrete data, finite ``float64`` for continuous data).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "as_continuous",
    "as_discrete",
    "check_base",
    "check_pmf",
    "check_same_length",
]

#: Tolerance on ``|sum(pmf) - 1|`` and on negative entries of a pmf.
PMF_ATOL = 1e-9


def _as_array(x, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(
            f"{name} must be an array-like of samples, got None; pass an array of shape (n_samples,) or "
            "(n_samples, n_vars)"
        )
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} is a single string; expected an array-like of samples, e.g. a list of labels")
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(
            f"{name} could not be read as a rectangular array ({exc}); give every sample the same number of columns"
        ) from None
    if arr.ndim == 0:
        raise ValueError(f"{name} is a scalar; expected shape (n_samples,) or (n_samples, n_vars)")
    if arr.ndim > 2:
        raise ValueError(
            f"{name} has {arr.ndim} dimensions (shape {arr.shape}); expected (n_samples,) or (n_samples, n_vars). "
            "Reshape it, e.g. x.reshape(len(x), -1), to treat the trailing axes as the joint of several variables"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples); estimators need at least one sample")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has shape {arr.shape}: 0 columns; give at least one variable")
    return arr


def check_same_length(**arrays) -> int:
    """Raise ``ValueError`` unless all arrays have the same number of samples (first axis); return it."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"mismatched numbers of samples ({desc}); every variable needs one value per sample")
    return next(iter(lengths.values())) if lengths else 0


def check_base(base) -> float:
    """Validate the logarithm base (a finite number > 1: 2 for bits, ``math.e`` for nats) and return it as float.

    Bases in (0, 1) would flip the sign of every entropy (``log_0.5 = −log_2``) and are refused.
    """
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base must be a number greater than 1 (2 for bits, math.e for nats), got {base!r}")
    base = float(base)
    if not (base > 1 and math.isfinite(base)):
        raise ValueError(
            f"base must be a finite number greater than 1 (2 for bits, math.e for nats, 10 for dits), got {base!r}"
        )
    return base


def _object_codes(col: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Encode an object column of hashable labels in order of first appearance."""
    table: dict = {}
    codes = np.empty(col.shape[0], dtype=np.int64)
    for i, v in enumerate(col.tolist()):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{name} contains {v!r} (sample {i}); remove or impute missing values first")
        try:
            codes[i] = table.setdefault(v, len(table))
        except TypeError:
            raise TypeError(
                f"{name} contains an unhashable value of type {type(v).__name__} (sample {i}); "
                "labels must be hashable (ints, strings, bools, tuples)"
            ) from None
    return codes, len(table)


def _column_codes(col: np.ndarray, name: str) -> tuple[np.ndarray, int]:
    """Encode one 1-D column of labels to int64 codes ``0..k-1``."""
    from pidlearn import _counting

    kind = col.dtype.kind
    if kind == "b":
        return _counting.encode_integers(col.astype(np.int64))
    if kind in "iu":
        if kind == "u" and col.dtype.itemsize == 8 and col.size and col.max() > np.iinfo(np.int64).max:
            return _counting.factorize(col)
        return _counting.encode_integers(col.astype(np.int64, copy=False))
    if kind == "f":
        bad = ~np.isfinite(col)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name} contains NaN or inf ({int(bad.sum())} values, first at sample {i}); "
                "remove or impute them before estimating"
            )
        if not np.all(col == np.round(col)):
            raise ValueError(
                f"{name} holds non-integer floats, but discrete estimators need labels. Discretise it first with "
                "pidlearn.discretise(x, bins) (pidlearn mi/pid: --bins N), or use the continuous estimators in "
                "pidlearn.continuous"
            )
        if np.abs(col).max() >= 2.0**62:
            return _counting.factorize(col)
        return _counting.encode_integers(col.astype(np.int64))
    if kind == "c":
        raise TypeError(f"{name} is complex-valued; discrete estimators take labels (ints, strings, bools)")
    if kind in "USMm":
        if kind in "Mm" and np.isnat(col).any():
            raise ValueError(f"{name} contains NaT (missing) values; remove them before estimating")
        return _counting.factorize(col)
    if kind == "O":
        return _object_codes(col, name)
    raise TypeError(f"{name} has unsupported dtype {col.dtype}; expected ints, bools, strings or hashable objects")


def as_discrete(x, name: str = "x") -> tuple[np.ndarray, int]:
    """Validate discrete samples and encode them as ``int64`` codes ``0..n_values-1``.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_vars)
        Any hashable labels (ints, integer-valued floats, strings, bools). Several columns form one variable,
        the joint of its columns.
    name : str
        Used in error messages.

    Returns
    -------
    codes : ndarray of int64, shape (n_samples,)
    n_values : int
        Number of distinct (joint) values observed.
    """
    arr = _as_array(x, name)
    if arr.ndim == 1:
        return _column_codes(arr, name)
    from pidlearn import _counting

    cols = [_column_codes(arr[:, j], f"{name}[:, {j}]") for j in range(arr.shape[1])]
    if len(cols) == 1:
        return cols[0]
    return _counting.joint_codes([c for c, _ in cols], [k for _, k in cols])


def as_continuous(x, name: str = "x") -> np.ndarray:
    """Validate continuous samples; return a C-contiguous ``float64`` array of shape (n_samples, n_dims).

    A 1-D input becomes one column. Raises on NaN/inf, empty input, more than 2 dimensions, or non-numeric data.
    """
    arr = _as_array(x, name)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} has dtype {arr.dtype}; continuous estimators need real numbers. "
            "For labels use the discrete estimators in pidlearn.discrete"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(
            f"{name} contains NaN or inf ({int(bad.sum())} values, first at sample {i}); "
            "remove or impute them before estimating"
        )
    return arr


def check_pmf(pmf, name: str = "pmf", atol: float = PMF_ATOL) -> np.ndarray:
    """Validate a joint probability mass function given as an ndarray with one axis per variable.

    Entries must be finite and non-negative and sum to 1 within ``atol``; entries in ``[-atol, 0)`` (rounding) are
    set to 0 and the result is renormalised. Returns a ``float64`` array.
    """
    if pmf is None:
        raise TypeError(f"{name} is None; expected an ndarray with one axis per variable")
    try:
        p = np.array(pmf, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of probabilities (real numbers), one axis per variable") from None
    if p.ndim == 0:
        raise ValueError(f"{name} is a scalar; expected an array with one axis per variable")
    if p.size == 0:
        raise ValueError(f"{name} is empty (shape {p.shape}); every variable needs at least one value")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or inf")
    if p.min() < -atol:
        raise ValueError(f"{name} has negative entries (min {p.min():.3g}); probabilities must be >= 0")
    total = p.sum()
    if abs(total - 1.0) > atol:
        raise ValueError(
            f"{name} sums to {total:.12g}, not 1 (tolerance {atol:g}); normalise it first: pmf / pmf.sum()"
        )
    p[p < 0] = 0.0
    return p / p.sum()
