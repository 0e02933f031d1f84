"""The counting core: encode labels as codes, and count joint occurrences of several coded variables.

Every discrete quantity in pidlearn starts here. Codes are ``int64`` in ``0..k-1``. Several variables are combined
into one joint code by mixed-radix folding; the counts of a joint code come from a dense table when the product of
alphabet sizes is small, and from the observed combinations only (sort and run-length) when it is not, so memory
stays O(n_samples) whatever the alphabets.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "DENSE_MAX_CELLS",
    "counts_of",
    "encode_integers",
    "factorize",
    "joint_codes",
    "joint_counts",
    "joint_support",
]

#: Largest dense count table (cells) the core allocates; beyond it counting uses the sparse (sorted) path.
DENSE_MAX_CELLS = 1 << 22
#: Folding stops and re-factorises before the mixed-radix key would exceed this.
_KEY_LIMIT = 1 << 62


@njit(cache=True)
def _minmax(x):
    mn = x[0]
    mx = x[0]
    for v in x:
        if v < mn:
            mn = v
        elif v > mx:
            mx = v
    return mn, mx


@njit(cache=True)
def _encode_range(x, mn, span):
    """Codes of integers in ``[mn, mn + span)``, numbered in increasing order of value."""
    table = np.zeros(span, np.int64)
    for v in x:
        table[v - mn] = 1
    k = 0
    for i in range(span):
        if table[i]:
            table[i] = k
            k += 1
    codes = np.empty(x.shape[0], np.int64)
    for i in range(x.shape[0]):
        codes[i] = table[x[i] - mn]
    return codes, k


@njit(cache=True)
def _bincount(codes, n_cells):
    """Dense counts of codes in ``0..n_cells-1`` (the one counting loop of the dense path)."""
    counts = np.zeros(n_cells, np.int64)
    for c in codes:
        counts[c] += 1
    return counts


@njit(cache=True)
def _run_lengths(sorted_keys):
    """Lengths of runs of equal values in a sorted array (the counts of the sparse path)."""
    n = sorted_keys.shape[0]
    out = np.empty(n, np.int64)
    m = 0
    run = 1
    for i in range(1, n):
        if sorted_keys[i] == sorted_keys[i - 1]:
            run += 1
        else:
            out[m] = run
            m += 1
            run = 1
    out[m] = run
    return out[: m + 1]


def counts_of(keys: np.ndarray, n_cells: int) -> np.ndarray:
    """Counts of the observed values of ``keys`` (int64 in ``0..n_cells-1``), zero cells dropped.

    Dense table when ``n_cells`` is small compared with memory and the sample size, sorted run lengths otherwise.
    """
    n = keys.shape[0]
    if n_cells <= DENSE_MAX_CELLS and n_cells <= 8 * n + 65536:
        counts = _bincount(keys, n_cells)
        return counts[counts > 0]
    return _run_lengths(np.sort(keys))


def factorize(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes ``0..k-1`` of any sortable 1-D array, in sorted order of value."""
    uniq, inverse = np.unique(values, return_inverse=True)
    return np.ascontiguousarray(inverse.reshape(-1), dtype=np.int64), int(uniq.shape[0])


def encode_integers(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes ``0..k-1`` of an int64 array, numbered in increasing order of value.

    O(n) through a lookup table when the value range is at most a few times the sample size, O(n log n) sort
    otherwise.
    """
    x = np.ascontiguousarray(x, dtype=np.int64)
    mn, mx = _minmax(x)
    span = int(mx) - int(mn) + 1
    if span <= max(4 * x.shape[0], 1 << 16) and span <= DENSE_MAX_CELLS:
        codes, k = _encode_range(x, mn, span)
        return codes, int(k)
    return factorize(x)


def _fold(codes_list, sizes) -> tuple[np.ndarray, int]:
    """Mixed-radix key of several code columns: ``key = ((c0 * k1) + c1) * k2 + c2 ...``.

    Re-factorises the partial key whenever the next product would overflow, so the key always fits in int64.
    """
    key = np.ascontiguousarray(codes_list[0], dtype=np.int64)
    span = int(sizes[0])
    for c, k in zip(codes_list[1:], sizes[1:], strict=True):
        k = int(k)
        if span * k >= _KEY_LIMIT:
            key, span = factorize(key)
        key = key * k + c
        span *= k
    return key, span


def joint_codes(codes_list, sizes) -> tuple[np.ndarray, int]:
    """Codes ``0..k-1`` of the joint of several coded variables, and the number k of observed joint values."""
    if len(codes_list) == 1:
        return np.ascontiguousarray(codes_list[0], dtype=np.int64), int(sizes[0])
    key, span = _fold(codes_list, sizes)
    if span <= DENSE_MAX_CELLS and span <= 8 * key.shape[0] + 65536:
        return encode_integers(key)
    return factorize(key)


def joint_counts(codes_list, sizes) -> np.ndarray:
    """Non-zero counts of the joint of several coded variables (dense or sparse path, chosen by size)."""
    key, span = _fold(codes_list, sizes)
    return counts_of(key, span)


def joint_support(codes_list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed combinations of several code columns.

    Returns
    -------
    support : ndarray of int64, shape (m, n_vars)
        The distinct observed rows, in lexicographic order.
    counts : ndarray of int64, shape (m,)
    inverse : ndarray of int64, shape (n_samples,)
        Row of ``support`` that each sample falls in.
    """
    cols = [np.ascontiguousarray(c, dtype=np.int64) for c in codes_list]
    sizes = [int(c.max()) + 1 for c in cols]
    key, _ = _fold(cols, sizes)
    inverse, m = encode_integers(key)  # increasing key = lexicographic order of rows
    counts = _bincount(inverse, m)
    representative = np.empty(m, dtype=np.int64)
    representative[inverse] = np.arange(len(inverse))  # any sample of a row will do: they are equal
    support = np.stack([c[representative] for c in cols], axis=1)
    return support, counts, inverse
