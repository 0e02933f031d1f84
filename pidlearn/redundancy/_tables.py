"""Joint codes of every source set and the specific information each carries about each target value.

Shared by the native redundancy functions (:mod:`pidlearn.redundancy`). A distribution is given on its support:
``support`` has one row per realisation with non-zero probability, columns ``(s_1, ..., s_n, t)`` coded
``0..k-1``, and ``probs`` the probability of each row. A *source set* is a bitmask ``g`` over the sources (bit
``i - 1`` for source ``i``), as in :mod:`pidlearn.lattice`.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from pidlearn.lattice import lattice

__all__ = ["SetTables", "antichain_masks", "set_tables"]


@njit(cache=True)
def _compact(key):
    """Codes ``0..K-1`` of an int64 array (in increasing order of value) and K."""
    m = key.shape[0]
    order = np.argsort(key, kind="mergesort")
    out = np.empty(m, np.int64)
    k = -1
    prev = 0
    for r in range(m):
        v = key[order[r]]
        if r == 0 or v != prev:
            k += 1
            prev = v
        out[order[r]] = k
    return out, k + 1


@njit(cache=True)
def _set_codes(support, n):
    """Joint code of the sources of every source set ``g = 1..2^n - 1`` on every row: ``codes[g, row]``."""
    m = support.shape[0]
    codes = np.zeros(((1 << n), m), np.int64)
    sizes = np.zeros(1 << n, np.int64)
    for g in range(1, 1 << n):
        hi = 0
        while g >> (hi + 1):
            hi += 1
        rest = g & ~(1 << hi)
        col = support[:, hi]
        if rest == 0:
            c, k = _compact(col.copy())
        else:
            width = col.max() + 1
            c, k = _compact(codes[rest] * width + col)
        codes[g] = c
        sizes[g] = k
    return codes, sizes


@njit(cache=True)
def _specific_information(codes, sizes, t, kt, probs):
    """``spec[g, t] = I(T = t; S_g) = Σ_a p(a | t) ln[p(t | a) / p(t)]`` (nats) and ``p(t)``."""
    n_sets = codes.shape[0]
    m = t.shape[0]
    pt = np.zeros(kt)
    for r in range(m):
        pt[t[r]] += probs[r]
    spec = np.zeros((n_sets, kt))
    for g in range(1, n_sets):
        pa = np.zeros(sizes[g])
        for r in range(m):
            pa[codes[g, r]] += probs[r]
        idx, k = _compact(codes[g] * kt + t)
        pat = np.zeros(k)
        a_of = np.empty(k, np.int64)
        t_of = np.empty(k, np.int64)
        for r in range(m):
            pat[idx[r]] += probs[r]
            a_of[idx[r]] = codes[g, r]
            t_of[idx[r]] = t[r]
        for j in range(k):
            if pat[j] > 0:
                spec[g, t_of[j]] += pat[j] * np.log(pat[j] / (pa[a_of[j]] * pt[t_of[j]]))
        for v in range(kt):
            if pt[v] > 0:
                spec[g, v] /= pt[v]
    return spec, pt


class SetTables:
    """Per-source-set quantities of one distribution, computed once and shared by every antichain.

    Attributes
    ----------
    n : int
        Number of sources.
    codes : ndarray of int64, shape (2^n, m)
        ``codes[g]``: joint code of the sources in bitmask ``g`` on each support row (row 0 unused).
    sizes : ndarray of int64, shape (2^n,)
        Number of distinct joint values of each source set.
    t : ndarray of int64, shape (m,)
        Target code of each row; ``kt`` values.
    probs : ndarray of float64, shape (m,)
    spec : ndarray of float64, shape (2^n, kt)
        Specific information ``I(T = t; S_g)`` in nats.
    p_target : ndarray of float64, shape (kt,)
    """

    def __init__(self, support: np.ndarray, probs: np.ndarray, n: int):
        support = np.ascontiguousarray(support, dtype=np.int64)
        self.n = n
        self.probs = np.ascontiguousarray(probs, dtype=np.float64)
        self.t = np.ascontiguousarray(support[:, n])
        self.kt = int(self.t.max()) + 1
        self.codes, self.sizes = _set_codes(support, n)
        self.spec, self.p_target = _specific_information(self.codes, self.sizes, self.t, self.kt, self.probs)

    @functools.cached_property
    def mutual_information(self) -> np.ndarray:
        """``I(T; S_g)`` in nats for every source set ``g`` (index 0 unused)."""
        return self.spec @ self.p_target

    @functools.cached_property
    def entropy_target(self) -> float:
        """``H(T)`` in nats."""
        q = self.p_target[self.p_target > 0]
        return float(-(q * np.log(q)).sum())


def set_tables(support: np.ndarray, probs: np.ndarray, n: int) -> SetTables:
    """:class:`SetTables` of a distribution given on its support (rows ``(s_1..s_n, t)``, probabilities)."""
    return SetTables(support, probs, n)


@functools.cache
def antichain_masks(n: int) -> np.ndarray:
    """Source sets of every antichain of the ``n``-source lattice as bitmasks, lattice order, padded with 0.

    Returns
    -------
    ndarray of int64, shape (n_atoms, max_sets)
        Row ``j`` lists the bitmasks of the source sets of ``lattice(n).antichains[j]``, then zeros.
    """
    lat = lattice(n)
    width = max(len(a) for a in lat.antichains)
    out = np.zeros((lat.n_atoms, width), dtype=np.int64)
    for j, antichain in enumerate(lat.antichains):
        for k, s in enumerate(antichain):
            out[j, k] = sum(1 << (i - 1) for i in s)
    out.setflags(write=False)
    return out
