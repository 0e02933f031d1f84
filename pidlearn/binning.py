"""Discretisation of real-valued samples into bins, so that the discrete estimators can take them.

:func:`discretise` turns each column of real data into ``int64`` bin codes ``0..bins-1``, by equal-width
(``"uniform"``) or equal-frequency (``"quantile"``) bins.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["STRATEGIES", "discretise"]

#: Values accepted by ``discretise(strategy=...)``.
STRATEGIES = ("quantile", "uniform")
#: Largest number of bins per column (the edges are materialised: ``bins + 1`` floats).
MAX_BINS = 10**7


def _check_bins_value(b, what: str) -> int:
    if isinstance(b, bool) or not isinstance(b, numbers.Integral):
        raise TypeError(f"{what} must be an integer >= 2 (the number of bins), got {b!r}")
    if b < 2:
        raise ValueError(f"{what} must be >= 2 (one bin carries no information), got {b!r}")
    if b > MAX_BINS:
        raise ValueError(
            f"{what} must be at most {MAX_BINS:,} (each bin needs an edge in memory, and more bins than samples only "
            f"makes empty bins), got {b!r}"
        )
    return int(b)


def _check_bins(bins, n_cols: int, ndim: int) -> list[int]:
    if isinstance(bins, (numbers.Integral, bool)) or np.ndim(bins) == 0:
        return [_check_bins_value(bins, "bins")] * n_cols
    if isinstance(bins, (str, bytes)):
        raise TypeError(f"bins must be an integer >= 2 or a sequence of them (one per column), got {bins!r}")
    seq = list(bins)
    if ndim == 1 and len(seq) != 1:
        raise ValueError(
            f"bins has {len(seq)} entries, but x is 1-D (one column); give one integer number of bins, e.g. bins=8"
        )
    if len(seq) != n_cols:
        raise ValueError(f"bins has {len(seq)} entries, but x has {n_cols} columns; give one number of bins per column")
    return [_check_bins_value(b, f"bins[{j}]") for j, b in enumerate(seq)]


def _as_real(x, name: str) -> np.ndarray:
    if x is None:
        raise TypeError(f"{name} is None; expected real-valued samples of shape (n_samples,) or (n_samples, n_cols)")
    if isinstance(x, (str, bytes)):
        raise TypeError(
            f"{name} is a string; expected real-valued samples of shape (n_samples,) or (n_samples, n_cols)"
        )
    try:
        arr = np.asarray(x)
    except ValueError as exc:
        raise ValueError(f"{name} could not be read as a rectangular array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} has dtype {arr.dtype}; discretise takes real numbers. Labels (strings, categories) are already "
            "discrete: give them to the discrete estimators as they are"
        )
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} has shape {arr.shape}; expected (n_samples,) or (n_samples, n_cols)")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has shape {arr.shape}: 0 columns")
    return arr.astype(np.float64, copy=False)


def _edges(col: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    lo, hi = col.min(), col.max()
    if lo == hi:
        return np.array([lo, hi])
    if strategy == "uniform":
        with np.errstate(over="ignore"):
            span_ok = np.isfinite(hi - lo)
        if span_ok:
            return np.linspace(lo, hi, bins + 1)
        edges = np.linspace(lo / bins, hi / bins, bins + 1) * bins  # hi - lo overflows float64: scale first
        edges[0], edges[-1] = lo, hi
        return edges
    return np.unique(np.quantile(col, np.linspace(0.0, 1.0, bins + 1)))


def discretise(x, bins, *, strategy: str = "quantile", name: str = "x") -> np.ndarray:
    """Discretise real-valued samples into bins: each column to ``int64`` codes ``0..bins-1``.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_cols)
        Real numbers (floats, ints or bools); each column is binned on its own.
    bins : int or sequence of int
        Number of bins, ``2 <= bins <= MAX_BINS`` (10⁷); a sequence gives one number per column of a 2-D ``x``.
    strategy : {"quantile", "uniform"}, default "quantile"
        ``"quantile"``: equal-frequency bins; the edges are the empirical quantiles
        ``numpy.quantile(column, linspace(0, 1, bins + 1))`` (linear interpolation), so on data without ties each
        bin holds ``n_samples / bins`` samples up to one. ``"uniform"``: equal-width bins,
        ``numpy.linspace(min, max, bins + 1)``.
    name : str, default "x"
        Name of ``x`` in error messages (columns of a 2-D ``x`` are called ``name[:, j]``).

    Returns
    -------
    ndarray of int64, same shape as ``x``
        Bin codes. A value ``v`` gets the code ``i`` with ``edge[i] <= v < edge[i + 1]``; the maximum of a column
        goes into the last bin (the last bin is closed). Codes are monotone in the values: ``x_i <= x_j`` implies
        ``code_i <= code_j`` within a column, and equal values always share a code.

    Raises
    ------
    TypeError
        ``x`` is not real-valued (e.g. strings), or ``bins`` is not an integer.
    ValueError
        NaN or inf in ``x`` (the column and the first sample are named), ``bins < 2``, a ``bins`` sequence of the
        wrong length, an unknown ``strategy``, an empty ``x`` or one with more than 2 dimensions.

    Notes
    -----
    Fewer distinct codes than ``bins`` can result:

    * ``"quantile"`` with ties: equal values always share a bin, so when one value fills more than a bin's share
      several quantiles coincide. Coinciding edges are merged (as scikit-learn's ``KBinsDiscretizer`` removes
      bins of zero width), so the codes lie in ``0..m-1``, with ``m <= bins`` the number of distinct edges minus one.
    * A bin can hold no sample (``"uniform"`` with gaps in the data; ``"quantile"`` with fewer samples than bins,
      when two interpolated edges fall between the same two samples); its code then does not occur.
    * A constant column becomes a single bin: every code is 0.

    The codes are labels for the discrete estimators (:mod:`pidlearn.discrete`, :func:`pidlearn.sxpid`); MI of binned
    data depends on the number of bins, and the plug-in estimate grows with it for a fixed sample size.

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn import discretise
    >>> discretise([0.0, 1.0, 2.0, 3.0, 4.0], 2, strategy="uniform").tolist()
    [0, 0, 1, 1, 1]
    >>> discretise([5.0, 1.0, 3.0, 2.0], 2).tolist()  # quantile: two samples per bin
    [1, 0, 1, 0]
    >>> discretise(np.array([[0.0, 10.0], [1.0, 30.0], [2.0, 20.0]]), [3, 2], strategy="uniform").tolist()
    [[0, 0], [1, 1], [2, 1]]
    """
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(repr(s) for s in STRATEGIES)}, got {strategy!r}")
    arr = _as_real(x, name)
    cols = arr[:, None] if arr.ndim == 1 else arr
    n_bins = _check_bins(bins, cols.shape[1], arr.ndim)
    bad = ~np.isfinite(cols)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        i = int(np.flatnonzero(bad[:, j])[0])
        col = name if arr.ndim == 1 else f"{name}[:, {j}]"
        raise ValueError(
            f"{col} contains NaN or inf ({int(bad[:, j].sum())} values, first at sample {i}: {cols[i, j]!r}); "
            "remove or impute them before discretising"
        )
    out = np.empty(cols.shape, dtype=np.int64)
    for j in range(cols.shape[1]):
        col = cols[:, j]
        edges = _edges(col, n_bins[j], strategy)
        codes = np.searchsorted(edges[1:-1], col, side="right")
        out[:, j] = np.minimum(codes, len(edges) - 2)
    return out[:, 0] if arr.ndim == 1 else out
