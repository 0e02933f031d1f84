"""Higher-order information of a data matrix: total correlation, dual total correlation, O- and S-information.

For a multiplet ``X = (X_1, ..., X_n)`` of ``n`` variables (columns of an ``(n_samples, n_variables)`` matrix), with
``X_{-i}`` the multiplet without ``X_i`` (Rosas et al. 2019):

* total correlation ``TC(X) = Σ_i H(X_i) − H(X)`` (Watanabe 1960, redundancy-dominated dependence);
* dual total correlation ``DTC(X) = H(X) − Σ_i H(X_i | X_{-i}) = Σ_i H(X_{-i}) − (n − 1) H(X)`` (Han 1978);
* O-information ``Ω(X) = TC(X) − DTC(X)``: ``Ω > 0`` redundancy-dominated, ``Ω < 0`` synergy-dominated;
* S-information ``S(X) = TC(X) + DTC(X) = Σ_i I(X_i; X_{-i})``;
* gradients of the O-information ``∂_i Ω(X) = Ω(X) − Ω(X_{-i})`` (Scagliarini et al. 2023), with ``Ω = 0`` for
  fewer than three variables;
* co-information ``I(X_1; ...; X_n) = Σ_{∅≠T⊆X} (−1)^{|T|+1} H(T)`` (Bell 2003). Sign convention: it equals the
  mutual information for ``n = 2`` and the O-information for ``n = 3`` (``I(X;Y;Z) = I(X;Y) − I(X;Y|Z)``, positive
  for redundancy, −1 bit for XOR).

Estimators (``estimator=``):

* discrete: ``"plugin"``, ``"miller_madow"``, ``"grassberger"``, ``"chao_shen"`` — every entropy from the counts of
  :mod:`pidlearn._counting` with the bias correction of :mod:`pidlearn.discrete`;
* ``"gaussian"`` — ``H(V) = ½ ln((2πe)^d det Σ_V)`` with the sample covariance (``ddof = 1``); then
  ``TC = ½ (Σ_i ln Σ_ii − ln det Σ)`` and, from ``H(X_i | X_{-i}) = ½ ln(2πe / (Σ⁻¹)_ii)``,
  ``DTC = ½ (ln det Σ + Σ_i ln (Σ⁻¹)_ii)``: one Cholesky factor per multiplet gives both;
* ``"copula"`` — the same after the Gaussian-copula transform of every column
  (:func:`pidlearn.continuous.gaussian.copula_normalize`, Ince et al. 2017);
* ``bias_correction=True`` (Gaussian and copula) subtracts from each ``d``-dimensional entropy the bias ``b_d`` of
  Ince et al. (2017) (:func:`pidlearn.continuous.gaussian.entropy_bias`), so ``TC ← TC + b_n − n b_1`` and
  ``DTC ← DTC + (n − 1) b_n − n b_{n−1}``;
* ``"ksg"`` — nearest-neighbour (Kraskov et al. 2004): ``TC`` is :func:`pidlearn.continuous.multi_information`
  (KSG-1) and ``S = Σ_i I(X_i; X_{-i})`` sums KSG-1 mutual informations; ``DTC = S − TC`` and ``Ω = 2 TC − S``.
  Mutual informations rather than Kozachenko–Leonenko entropies of different dimensions (whose biases do not cancel),
  but the two kinds of KSG terms still carry different biases: slow and biased; use it on a few multiplets.

:func:`multiplets` evaluates one measure on every multiplet of sizes ``k_min..k_max`` (or on a given list) in numba:
combinations are enumerated in lexicographic order by rank, the Gaussian path reuses the Cholesky rows of the shared
prefix of consecutive multiplets, and the discrete path counts each joint once. Results are identical (bit for bit)
between the serial run, a Dask run and the one-multiplet functions.

All values are in bits by default (``base=2``).

References
----------
F. E. Rosas, P. A. M. Mediano, M. Gastpar and H. J. Jensen, "Quantifying high-order interdependencies via
multivariate extensions of the mutual information", Phys. Rev. E 100, 032305 (2019).
T. Scagliarini, D. Nuzzi, Y. Antonacci, L. Faes, F. E. Rosas, D. Marinazzo and S. Stramaglia, "Gradients of
O-information: low-order descriptors of high-order dependencies", Phys. Rev. Research 5, 013025 (2023).
R. A. A. Ince, B. L. Giordano, C. Kayser, G. A. Rousselet, J. Gross and P. G. Schyns, "A statistical framework for
neuroimaging data analysis based on mutual information estimated via a Gaussian copula", Hum. Brain Mapp. 38,
1541–1573 (2017).
A. J. Bell, "The co-information lattice", Proc. ICA 2003, 921–926 (2003).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from pidlearn import _counting
from pidlearn.discrete import ESTIMATORS as DISCRETE_ESTIMATORS
from pidlearn.discrete import _entropy_nats

__all__ = [
    "DEFAULT_MAX_MULTIPLETS",
    "ESTIMATORS",
    "MEASURES",
    "MultipletResult",
    "co_information",
    "dual_total_correlation",
    "multiplets",
    "n_multiplets",
    "o_information",
    "o_information_gradients",
    "s_information",
    "total_correlation",
]

#: Measures of :func:`multiplets` (and names of the one-multiplet functions).
MEASURES = ("total_correlation", "dual_total_correlation", "o_information", "s_information")
#: Names accepted by ``estimator=``.
ESTIMATORS = (*DISCRETE_ESTIMATORS, "gaussian", "copula", "ksg")
#: :func:`multiplets` refuses searches of more multiplets than this (8 bytes each: 400 MB of values); raise it with
#: ``max_multiplets=``.
DEFAULT_MAX_MULTIPLETS = 50_000_000
#: Largest multiplet of :func:`co_information` (it sums ``2^n − 1`` joint entropies).
MAX_CO_INFORMATION_SIZE = 16
#: Largest number of multiplets :func:`multiplets` evaluates with ``estimator="ksg"`` (a Python loop of KSG calls).
MAX_KSG_MULTIPLETS = 10_000

_MODE = {m: i for i, m in enumerate(MEASURES)}
_GAUSSIAN = ("gaussian", "copula")
_PIVOT_MIN = 1e-12  # a Cholesky pivot below this fraction of its variance: singular (collinear) block
_BLOCK = 2048  # multiplets per enumeration block (one unrank, then next-combination steps)


# --------------------------------------------------------------------------------------------------------------------
# numba: combinations by lexicographic rank
# --------------------------------------------------------------------------------------------------------------------
def _binomial_table(p: int, k: int) -> np.ndarray:
    """``table[a, b] = C(a, b)`` for ``0 <= a <= p``, ``0 <= b <= k`` (int64)."""
    t = np.zeros((p + 1, k + 1), dtype=np.int64)
    for a in range(p + 1):
        for b in range(min(a, k) + 1):
            t[a, b] = math.comb(a, b)
    return t


@njit(cache=True)
def _unrank(rank, p, k, binom, idx):
    """The combination of rank ``rank`` (lexicographic order) of ``k`` out of ``0..p-1`` into ``idx[:k]``."""
    c = 0
    for i in range(k):
        while True:
            cnt = binom[p - 1 - c, k - 1 - i]
            if rank < cnt:
                break
            rank -= cnt
            c += 1
        idx[i] = c
        c += 1


@njit(cache=True)
def _next_combination(idx, p, k):
    """Advance ``idx[:k]`` to the next combination; return the first position that changed (k when exhausted)."""
    i = k - 1
    while i >= 0 and idx[i] == p - k + i:
        i -= 1
    if i < 0:
        return k
    idx[i] += 1
    for j in range(i + 1, k):
        idx[j] = idx[j - 1] + 1
    return i


@njit(cache=True)
def _unrank_all(p, k, binom, start, stop, out, col0):
    """Combinations of ranks ``start..stop-1`` into rows of ``out`` (columns ``col0..col0+k-1``)."""
    idx = np.empty(k, np.int64)
    _unrank(start, p, k, binom, idx)
    for r in range(stop - start):
        for j in range(k):
            out[r, col0 + j] = idx[j]
        _next_combination(idx, p, k)


# --------------------------------------------------------------------------------------------------------------------
# numba: Gaussian TC and DTC of one multiplet from the covariance
# --------------------------------------------------------------------------------------------------------------------
@njit(cache=True)
def _combine(mode, tc, dtc):
    if mode == 0:
        return tc
    if mode == 1:
        return dtc
    if mode == 2:
        return tc - dtc
    return tc + dtc


@njit(cache=True)
def _gauss_tc_dtc(cov, idx, n, first, chol, inv, acc, hl, hd):
    """``(TC, DTC)`` in nats of the multiplet ``idx[:n]``, no bias correction; NaN when its block is singular.

    ``chol`` (Cholesky factor ``L``), ``inv`` (``L⁻¹``), ``acc[r, i] = Σ_{m=i..r} (L⁻¹)_{mi}²`` and the cumulative
    sums ``hl`` (``Σ ln L_ii``) and ``hd`` (``½ Σ ln Σ_ii``) are scratch arrays whose rows ``< first`` still hold the
    values of a multiplet with the same first ``first`` variables (row ``r`` depends on ``idx[:r+1]`` only), so only
    rows ``first..n-1`` are computed. The arithmetic of every row is the same whatever ``first``.
    """
    for i in range(first, n):
        ii = idx[i]
        for j in range(i + 1):
            s = cov[ii, idx[j]]
            for m in range(j):
                s -= chol[i, m] * chol[j, m]
            if i == j:
                if not s > _PIVOT_MIN * cov[ii, ii]:  # 1 − R² of X_i on the previous variables below 1e-12
                    return np.nan, np.nan
                chol[i, i] = math.sqrt(s)
            else:
                chol[i, j] = s / chol[j, j]
        inv[i, i] = 1.0 / chol[i, i]
        for j in range(i):
            s = 0.0
            for m in range(j, i):
                s += chol[i, m] * inv[m, j]
            inv[i, j] = -s / chol[i, i]
        for j in range(i + 1):
            prev = acc[i - 1, j] if (i > 0 and j < i) else 0.0
            acc[i, j] = prev + inv[i, j] * inv[i, j]
        prev_l = hl[i - 1] if i > 0 else 0.0
        prev_d = hd[i - 1] if i > 0 else 0.0
        hl[i] = prev_l + math.log(chol[i, i])
        hd[i] = prev_d + 0.5 * math.log(cov[ii, ii])
    half_logdet = hl[n - 1]
    # Σ_j ½ ln (Σ⁻¹)_jj = ½ ln Π_j (Σ⁻¹)_jj Σ_jj − Σ_j ½ ln Σ_jj: one logarithm instead of n (each factor is
    # 1 / (1 − R_j²) >= 1, scale-free); the sum of logarithms when the product would leave the float range.
    prod = 1.0
    for j in range(n):
        prod *= acc[n - 1, j] * cov[idx[j], idx[j]]
    if 1e-300 < prod < 1e300:
        s_prec = 0.5 * math.log(prod) - hd[n - 1]
    else:
        s_prec = 0.0
        for j in range(n):
            s_prec += 0.5 * math.log(acc[n - 1, j])
    return hd[n - 1] - half_logdet, half_logdet + s_prec


@njit(cache=True)
def _gauss_enum_block(cov, p, k, binom, r0, r1, mode, b_tc, b_dtc, scale, out, out0):
    """Measure of the size-``k`` multiplets of ranks ``r0..r1-1`` into ``out[r0-out0 .. r1-out0-1]``."""
    idx = np.empty(k, np.int64)
    chol = np.zeros((k, k))
    inv = np.zeros((k, k))
    acc = np.zeros((k, k))
    hl = np.zeros(k)
    hd = np.zeros(k)
    _unrank(r0, p, k, binom, idx)
    first = 0
    for r in range(r0, r1):
        tc, dtc = _gauss_tc_dtc(cov, idx, k, first, chol, inv, acc, hl, hd)
        out[r - out0] = _combine(mode, tc + b_tc, dtc + b_dtc) * scale
        first = _next_combination(idx, p, k)
        if tc != tc:  # singular block: its rows are garbage, recompute the next multiplet from scratch
            first = 0


@njit(parallel=True, cache=True)
def _gauss_enum_par(cov, p, k, binom, start, stop, mode, b_tc, b_dtc, scale, out):
    n_blocks = (stop - start + _BLOCK - 1) // _BLOCK
    for b in prange(n_blocks):
        r0 = start + b * _BLOCK
        _gauss_enum_block(cov, p, k, binom, r0, min(r0 + _BLOCK, stop), mode, b_tc, b_dtc, scale, out, start)


@njit(cache=True)
def _gauss_enum_ser(cov, p, k, binom, start, stop, mode, b_tc, b_dtc, scale, out):
    n_blocks = (stop - start + _BLOCK - 1) // _BLOCK
    for b in range(n_blocks):
        r0 = start + b * _BLOCK
        _gauss_enum_block(cov, p, k, binom, r0, min(r0 + _BLOCK, stop), mode, b_tc, b_dtc, scale, out, start)


@njit(cache=True)
def _gauss_list_one(cov, mults, sizes, m, b_tc, b_dtc):
    n = sizes[m]
    chol = np.zeros((n, n))
    inv = np.zeros((n, n))
    acc = np.zeros((n, n))
    hl = np.zeros(n)
    hd = np.zeros(n)
    tc, dtc = _gauss_tc_dtc(cov, mults[m], n, 0, chol, inv, acc, hl, hd)
    return tc + b_tc[n], dtc + b_dtc[n]


@njit(parallel=True, cache=True)
def _gauss_list_par(cov, mults, sizes, mode, b_tc, b_dtc, scale, out):
    for m in prange(mults.shape[0]):
        tc, dtc = _gauss_list_one(cov, mults, sizes, m, b_tc, b_dtc)
        out[m] = _combine(mode, tc, dtc) * scale


@njit(cache=True)
def _gauss_list_ser(cov, mults, sizes, mode, b_tc, b_dtc, scale, out):
    for m in range(mults.shape[0]):
        tc, dtc = _gauss_list_one(cov, mults, sizes, m, b_tc, b_dtc)
        out[m] = _combine(mode, tc, dtc) * scale


# --------------------------------------------------------------------------------------------------------------------
# numba: discrete joint entropies through the shared counting kernels
# --------------------------------------------------------------------------------------------------------------------
_KEY_LIMIT = 1 << 62


@njit(cache=True)
def _refactor(key):
    """Codes ``0..u-1`` of ``key`` in increasing order of value (in place); returns ``u``."""
    order = np.argsort(key)
    out = np.empty_like(key)
    u = 0
    for t in range(order.shape[0]):
        if t > 0 and key[order[t]] != key[order[t - 1]]:
            u += 1
        out[order[t]] = u
    key[:] = out
    return u + 1


@njit(cache=True)
def _joint_entropy(codes, card, idx, n, skip, est, key):
    """Entropy (nats) of the joint of variables ``idx[:n]`` except position ``skip`` (-1: none).

    Mixed-radix key (re-coded before it could overflow), then the counts of :mod:`pidlearn._counting`: a dense table
    for small spans, sorted run lengths otherwise, and the estimator of :func:`pidlearn.discrete._entropy_nats`.
    """
    n_samples = codes.shape[1]
    key[:] = 0
    span = 1
    for i in range(n):
        if i == skip:
            continue
        j = idx[i]
        kj = card[j]
        if span > _KEY_LIMIT // kj:
            span = _refactor(key)
        for t in range(n_samples):
            key[t] = key[t] * kj + codes[j, t]
        span *= kj
    if span <= _counting.DENSE_MAX_CELLS and span <= 8 * n_samples + 65536:
        dense = _counting._bincount(key, span)
        counts = dense[dense > 0]
    else:
        counts = _counting._run_lengths(np.sort(key))
    return _entropy_nats(counts, est)


@njit(cache=True)
def _disc_tc_dtc(codes, card, h1, idx, n, est, key):
    h_all = _joint_entropy(codes, card, idx, n, -1, est, key)
    s1 = 0.0
    s_minus = 0.0
    for i in range(n):
        s1 += h1[idx[i]]
        s_minus += _joint_entropy(codes, card, idx, n, i, est, key)
    return s1 - h_all, s_minus - (n - 1) * h_all


@njit(cache=True)
def _disc_enum_block(codes, card, h1, est, p, k, binom, r0, r1, mode, scale, out, out0):
    idx = np.empty(k, np.int64)
    key = np.empty(codes.shape[1], np.int64)
    _unrank(r0, p, k, binom, idx)
    for r in range(r0, r1):
        tc, dtc = _disc_tc_dtc(codes, card, h1, idx, k, est, key)
        out[r - out0] = _combine(mode, tc, dtc) * scale
        _next_combination(idx, p, k)


@njit(parallel=True, cache=True)
def _disc_enum_par(codes, card, h1, est, p, k, binom, start, stop, mode, scale, out):
    n_blocks = (stop - start + 255) // 256
    for b in prange(n_blocks):
        r0 = start + b * 256
        _disc_enum_block(codes, card, h1, est, p, k, binom, r0, min(r0 + 256, stop), mode, scale, out, start)


@njit(cache=True)
def _disc_enum_ser(codes, card, h1, est, p, k, binom, start, stop, mode, scale, out):
    n_blocks = (stop - start + 255) // 256
    for b in range(n_blocks):
        r0 = start + b * 256
        _disc_enum_block(codes, card, h1, est, p, k, binom, r0, min(r0 + 256, stop), mode, scale, out, start)


@njit(parallel=True, cache=True)
def _disc_list_par(codes, card, h1, est, mults, sizes, mode, scale, out):
    for m in prange(mults.shape[0]):
        key = np.empty(codes.shape[1], np.int64)
        tc, dtc = _disc_tc_dtc(codes, card, h1, mults[m], sizes[m], est, key)
        out[m] = _combine(mode, tc, dtc) * scale


@njit(cache=True)
def _disc_list_ser(codes, card, h1, est, mults, sizes, mode, scale, out):
    key = np.empty(codes.shape[1], np.int64)
    for m in range(mults.shape[0]):
        tc, dtc = _disc_tc_dtc(codes, card, h1, mults[m], sizes[m], est, key)
        out[m] = _combine(mode, tc, dtc) * scale


@njit(cache=True)
def _disc_entropy_one(codes, card, idx, est):
    key = np.empty(codes.shape[1], np.int64)
    return _joint_entropy(codes, card, idx, idx.shape[0], -1, est, key)


# --------------------------------------------------------------------------------------------------------------------
# validation and the prepared data
# --------------------------------------------------------------------------------------------------------------------
def _check_estimator(estimator) -> str:
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    return estimator


def _as_matrix(X, name: str = "X") -> np.ndarray:
    from pidlearn._validation import _as_array

    arr = _as_array(X, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_variables), got shape {arr.shape}; one column per variable"
        )
    return arr


class _Prepared:
    """A validated data matrix, ready for the kernels: covariance (Gaussian/copula), codes (discrete) or columns (KSG).

    Everything per multiplet reads it: the one-multiplet functions and :func:`multiplets` share the kernels, so their
    values are identical.
    """

    def __init__(self, X, estimator, *, base, bias_correction=False, k=3, seed=None, min_vars=2, max_size=None):
        from pidlearn._validation import as_continuous, as_discrete, check_base

        self.estimator = _check_estimator(estimator)
        self.base = check_base(base)
        self.scale = 1.0 / math.log(self.base)
        if not isinstance(bias_correction, (bool, np.bool_)):
            raise TypeError(f"bias_correction must be True or False, got {bias_correction!r}")
        self.bias_correction = bool(bias_correction)
        if self.bias_correction and estimator not in _GAUSSIAN:
            raise ValueError(
                f"bias_correction applies to the gaussian and copula estimators only, not {estimator!r} (the discrete "
                "estimators carry their own: miller_madow, grassberger, chao_shen)"
            )
        arr = _as_matrix(X)
        self.n_samples, self.p = arr.shape
        if self.p < min_vars:
            raise ValueError(f"X has {self.p} variable(s) (columns); this measure needs at least {min_vars}")
        max_size = self.p if max_size is None else max_size
        self.k, self.seed = k, seed
        if estimator in DISCRETE_ESTIMATORS:
            self.kind = "discrete"
            codes = np.empty((self.p, self.n_samples), dtype=np.int64)
            card = np.empty(self.p, dtype=np.int64)
            for j in range(self.p):
                codes[j], card[j] = as_discrete(arr[:, j], f"X[:, {j}]")
            self.codes, self.card = codes, card
            self.est_code = DISCRETE_ESTIMATORS.index(estimator)
            self.h1 = np.array([_disc_entropy_one(codes, card, np.array([j]), self.est_code) for j in range(self.p)])
            return
        data = as_continuous(arr, "X")
        const = np.all(data == data[:1], axis=0)
        if const.any():
            j = int(np.flatnonzero(const)[0])
            raise ValueError(
                f"X[:, {j}] is constant (every sample equals {data[0, j]!r}); a constant column has no "
                f"{'covariance' if estimator in _GAUSSIAN else 'neighbours'} to speak of and carries no information. "
                "Drop it"
            )
        if estimator == "ksg":
            self.kind = "ksg"
            self.data = data
            return
        self.kind = "gaussian"
        if self.n_samples <= max_size + 1:
            raise ValueError(
                f"the {estimator} estimator needs more samples than the multiplet size + 1: n_samples = "
                f"{self.n_samples}, largest multiplet = {max_size}"
            )
        if estimator == "copula":
            from pidlearn.continuous.gaussian import copula_normalize

            data = copula_normalize(data)
        from pidlearn.bench.batch import single_threaded_blas

        with single_threaded_blas():  # a 30-column covariance: threads only contend; and the same bits everywhere
            self.cov = np.ascontiguousarray(np.cov(data, rowvar=False, ddof=1).reshape(self.p, self.p))
        b = self.bias_table(max_size)
        n_ = np.arange(max_size + 1)
        self.b_tc = np.zeros(max_size + 1)
        self.b_dtc = np.zeros(max_size + 1)
        if self.bias_correction:  # corrected H_d = H_d − b_d
            self.b_tc[1:] = b[1:] - n_[1:] * b[1]
            self.b_dtc[2:] = (n_[2:] - 1) * b[2:] - n_[2:] * b[1:-1]

    def bias_table(self, max_size: int) -> np.ndarray:
        """``b[d]``: Ince et al. (2017) bias of a ``d``-dimensional Gaussian entropy (nats), ``b[0] = 0``."""
        from pidlearn.continuous.gaussian import entropy_bias

        return np.array([0.0] + [entropy_bias(d, self.n_samples) for d in range(1, max_size + 1)])

    # ---- one multiplet (nats) ----------------------------------------------------------------------------------
    def tc_dtc(self, cols) -> tuple[float, float]:
        """``(TC, DTC)`` in nats of the columns ``cols``."""
        cols = np.asarray(cols, dtype=np.int64)
        n = cols.size
        if self.kind == "ksg":
            return self._ksg_tc_dtc(cols)
        mults, sizes = cols[None, :], np.array([n], dtype=np.int64)
        tc = np.empty(1)
        dtc = np.empty(1)
        if self.kind == "gaussian":
            _gauss_list_ser(self.cov, mults, sizes, 0, self.b_tc, self.b_dtc, 1.0, tc)
            _gauss_list_ser(self.cov, mults, sizes, 1, self.b_tc, self.b_dtc, 1.0, dtc)
            if tc[0] != tc[0]:
                raise _singular(cols)
        else:
            _disc_list_ser(self.codes, self.card, self.h1, self.est_code, mults, sizes, 0, 1.0, tc)
            _disc_list_ser(self.codes, self.card, self.h1, self.est_code, mults, sizes, 1, 1.0, dtc)
        return float(tc[0]), float(dtc[0])

    def _ksg_tc_dtc(self, cols) -> tuple[float, float]:
        from pidlearn.continuous import multi_information, mutual_information

        kw = {"k": self.k, "seed": self.seed, "base": math.e}
        parts = [self.data[:, j] for j in cols]
        tc = multi_information(*parts, estimator="ksg1", **kw)
        s = 0.0
        for i in range(cols.size):
            rest = self.data[:, np.delete(cols, i)]
            s += mutual_information(parts[i], rest, estimator="ksg1", **kw)
        return tc, s - tc

    def entropy(self, cols) -> float:
        """Joint entropy (nats) of ``cols``; Gaussian without the constant ``d/2 ln(2πe)`` (it cancels in sums)."""
        cols = np.asarray(cols, dtype=np.int64)
        if self.kind == "discrete":
            return float(_disc_entropy_one(self.codes, self.card, cols, self.est_code))
        sub = self.cov[np.ix_(cols, cols)]
        try:
            chol = np.linalg.cholesky(sub)
        except np.linalg.LinAlgError:
            raise _singular(cols) from None
        h = float(np.sum(np.log(np.diag(chol))))
        if self.bias_correction:
            h -= self.bias_table(cols.size)[cols.size]
        return h

    def measure(self, cols, mode: int) -> float:
        tc, dtc = self.tc_dtc(cols)
        return (tc, dtc, tc - dtc, tc + dtc)[mode] * self.scale


def _singular(cols) -> ValueError:
    return ValueError(
        f"the covariance of the variables {tuple(int(c) for c in cols)} is singular (collinear columns, e.g. a copy "
        "or a linear combination of others); drop the redundant columns"
    )


def _prepare_all(X, estimator, base, bias_correction, k, seed, min_vars):
    return _Prepared(X, estimator, base=base, bias_correction=bias_correction, k=k, seed=seed, min_vars=min_vars)


# --------------------------------------------------------------------------------------------------------------------
# one multiplet: the functional API
# --------------------------------------------------------------------------------------------------------------------
def _measure(X, mode, estimator, base, bias_correction, k, seed, min_vars=2) -> float:
    prep = _prepare_all(X, estimator, base, bias_correction, k, seed, min_vars)
    return prep.measure(np.arange(prep.p), mode)


def total_correlation(X, *, estimator: str = "copula", base: float = 2, bias_correction: bool = False, k=3, seed=None):
    """Total correlation ``TC(X) = Σ_i H(X_i) − H(X)`` of the columns of ``X`` (Watanabe 1960).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables)
        One column per variable: labels for the discrete estimators, real numbers otherwise.
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen", "gaussian", "copula", "ksg"}, default "copula"
        See the module docstring.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    bias_correction : bool, default False
        Gaussian and copula only: the entropy bias correction of Ince et al. (2017).
    k, seed : int, optional
        KSG only: neighbours, and the seed of the jitter that breaks ties (:func:`pidlearn.continuous.entropy`).

    Returns
    -------
    float
        ``>= 0`` for the plug-in estimate; Gaussian: ``½ (Σ_i ln Σ_ii − ln det Σ)``.

    References
    ----------
    F. E. Rosas et al., Phys. Rev. E 100, 032305 (2019).

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.higher_order import total_correlation
    >>> bit = np.tile([0, 1], 500)
    >>> round(total_correlation(np.column_stack([bit, bit, bit]), estimator="plugin"), 3)  # 3 H(X) − H(X) = 2 bits
    2.0
    """
    return _measure(X, 0, estimator, base, bias_correction, k, seed)


def dual_total_correlation(
    X, *, estimator: str = "copula", base: float = 2, bias_correction: bool = False, k=3, seed=None
):
    """Dual total correlation ``DTC(X) = H(X) − Σ_i H(X_i | X_{-i}) = Σ_i H(X_{-i}) − (n − 1) H(X)`` (Han 1978).

    Gaussian: ``½ (ln det Σ + Σ_i ln (Σ⁻¹)_ii)`` since ``H(X_i | X_{-i}) = ½ ln(2πe / (Σ⁻¹)_ii)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables)
        One column per variable: labels for the discrete estimators, real numbers otherwise.
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen", "gaussian", "copula", "ksg"}, default "copula"
        See the module docstring.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    bias_correction : bool, default False
        Gaussian and copula only: the entropy bias correction of Ince et al. (2017).
    k, seed : int, optional
        KSG only: neighbours, and the seed of the jitter that breaks ties (:func:`pidlearn.continuous.entropy`).

    Returns
    -------
    float

    References
    ----------
    F. E. Rosas et al., Phys. Rev. E 100, 032305 (2019).
    """
    return _measure(X, 1, estimator, base, bias_correction, k, seed)


def o_information(X, *, estimator: str = "copula", base: float = 2, bias_correction: bool = False, k=3, seed=None):
    """O-information ``Ω(X) = TC(X) − DTC(X) = (n − 2) H(X) + Σ_i [H(X_i) − H(X_{-i})]`` (Rosas et al. 2019).

    ``Ω > 0``: redundancy-dominated; ``Ω < 0``: synergy-dominated. Three copies of one fair bit: ``+1`` bit; XOR of
    two fair bits with the bits: ``−1`` bit. For three variables it equals :func:`co_information`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables)
        One column per variable: labels for the discrete estimators, real numbers otherwise.
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen", "gaussian", "copula", "ksg"}, default "copula"
        See the module docstring.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    bias_correction : bool, default False
        Gaussian and copula only: the entropy bias correction of Ince et al. (2017).
    k, seed : int, optional
        KSG only: neighbours, and the seed of the jitter that breaks ties (:func:`pidlearn.continuous.entropy`).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than three variables (``Ω`` of two variables is 0).

    References
    ----------
    F. E. Rosas, P. A. M. Mediano, M. Gastpar and H. J. Jensen, Phys. Rev. E 100, 032305 (2019).

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.higher_order import o_information
    >>> a, b = np.random.default_rng(0).integers(0, 2, (2, 4000))
    >>> round(o_information(np.column_stack([a, b, a ^ b]), estimator="plugin"), 2)
    -1.0
    """
    return _measure(X, 2, estimator, base, bias_correction, k, seed, min_vars=3)


def s_information(X, *, estimator: str = "copula", base: float = 2, bias_correction: bool = False, k=3, seed=None):
    """S-information ``S(X) = TC(X) + DTC(X) = Σ_i I(X_i; X_{-i})`` (Rosas et al. 2019).

    ``S >= |Ω|`` (TC, DTC ``>= 0``): the overall strength of the dependencies.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables)
        One column per variable: labels for the discrete estimators, real numbers otherwise.
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen", "gaussian", "copula", "ksg"}, default "copula"
        See the module docstring.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    bias_correction : bool, default False
        Gaussian and copula only: the entropy bias correction of Ince et al. (2017).
    k, seed : int, optional
        KSG only: neighbours, and the seed of the jitter that breaks ties (:func:`pidlearn.continuous.entropy`).

    Returns
    -------
    float

    References
    ----------
    F. E. Rosas et al., Phys. Rev. E 100, 032305 (2019).
    """
    return _measure(X, 3, estimator, base, bias_correction, k, seed)


def o_information_gradients(
    X, *, estimator: str = "copula", base: float = 2, bias_correction: bool = False, k=3, seed=None
) -> np.ndarray:
    """First-order gradients of the O-information ``∂_i Ω(X) = Ω(X) − Ω(X_{-i})`` (Scagliarini et al. 2023).

    ``∂_i Ω < 0``: variable ``i`` takes part in synergy-dominated dependencies; ``> 0``: redundancy-dominated.
    ``Ω`` of fewer than three variables is 0, so for three variables ``∂_i Ω = Ω(X)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables)
        One column per variable: labels for the discrete estimators, real numbers otherwise.
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen", "gaussian", "copula", "ksg"}, default "copula"
        See the module docstring.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    bias_correction : bool, default False
        Gaussian and copula only: the entropy bias correction of Ince et al. (2017).
    k, seed : int, optional
        KSG only: neighbours, and the seed of the jitter that breaks ties (:func:`pidlearn.continuous.entropy`).

    Returns
    -------
    ndarray of shape (n_variables,)

    References
    ----------
    T. Scagliarini, D. Nuzzi, Y. Antonacci, L. Faes, F. E. Rosas, D. Marinazzo and S. Stramaglia, Phys. Rev. Research
    5, 013025 (2023).
    """
    prep = _prepare_all(X, estimator, base, bias_correction, k, seed, 3)
    cols = np.arange(prep.p)
    full = prep.measure(cols, 2)
    out = np.empty(prep.p)
    for i in range(prep.p):
        rest = np.delete(cols, i)
        out[i] = full - (prep.measure(rest, 2) if rest.size >= 3 else 0.0)
    return out


def co_information(X, *, estimator: str = "copula", base: float = 2, bias_correction: bool = False, k=3, seed=None):
    """Co-information ``I(X_1; ...; X_n) = Σ_{∅≠T⊆X} (−1)^{|T|+1} H(T)`` (Bell 2003).

    Sign convention: the mutual information for ``n = 2``; ``I(X;Y) − I(X;Y|Z)`` for ``n = 3``, which equals the
    O-information (positive for redundancy; XOR: −1 bit). McGill's "interaction information" has the opposite sign
    for odd ``n`` in some texts (Jakulin & Bratko 2003).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables)
        One column per variable: labels for the discrete estimators, real numbers otherwise.
    estimator : {"plugin", "miller_madow", "grassberger", "chao_shen", "gaussian", "copula", "ksg"}, default "copula"
        See the module docstring.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    bias_correction : bool, default False
        Gaussian and copula only: the entropy bias correction of Ince et al. (2017).
    k, seed : int, optional
        KSG only: neighbours, and the seed of the jitter that breaks ties (:func:`pidlearn.continuous.entropy`).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than 2 or more than :data:`MAX_CO_INFORMATION_SIZE` variables (``2^n − 1`` entropies), or
        ``estimator="ksg"`` with other than 3 variables (its KSG form is the O-information's).

    References
    ----------
    A. J. Bell, "The co-information lattice", Proc. ICA 2003, 921–926 (2003).
    """
    prep = _prepare_all(X, estimator, base, bias_correction, k, seed, 2)
    n = prep.p
    if n > MAX_CO_INFORMATION_SIZE:
        raise ValueError(
            f"co_information sums 2^n − 1 joint entropies; X has {n} variables, the limit is {MAX_CO_INFORMATION_SIZE}"
        )
    if prep.kind == "ksg":
        if n != 3:
            raise ValueError("co_information with estimator='ksg' is available for 3 variables (it equals Ω there)")
        return prep.measure(np.arange(3), 2)
    total = 0.0
    for size in range(1, n + 1):
        sign = 1.0 if size % 2 else -1.0
        for sub in itertools.combinations(range(n), size):
            total += sign * prep.entropy(sub)
    return total * prep.scale


# --------------------------------------------------------------------------------------------------------------------
# the search over multiplets
# --------------------------------------------------------------------------------------------------------------------
def n_multiplets(n_variables: int, sizes) -> int:
    """Number of multiplets of sizes ``k_min..k_max`` (``sizes = (k_min, k_max)`` or one int) of ``n_variables``."""
    lo, hi = (sizes, sizes) if isinstance(sizes, numbers.Integral) else sizes
    return sum(math.comb(int(n_variables), k) for k in range(int(lo), int(hi) + 1))


def _parse_sizes(sizes, p: int, min_size: int):
    """``("range", k_min, k_max)`` or ``("list", mults (M, k_max) int64 padded with -1, sizes (M,))``."""
    if isinstance(sizes, (bool, np.bool_)):
        raise TypeError(f"sizes must be an int, a pair (k_min, k_max) or a list of multiplets, got {sizes!r}")
    if isinstance(sizes, numbers.Integral):
        sizes = (int(sizes), int(sizes))
    if isinstance(sizes, np.ndarray) and sizes.ndim == 2:
        sizes = sizes.tolist()
    if not isinstance(sizes, (Sequence, np.ndarray)) or len(sizes) == 0:
        raise TypeError(f"sizes must be an int, a pair (k_min, k_max) or a non-empty list of multiplets, got {sizes!r}")
    if all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes):
        if len(sizes) != 2:
            raise ValueError(
                f"sizes must be (k_min, k_max), got {tuple(sizes)}; for explicit multiplets give a list of tuples"
            )
        lo, hi = int(sizes[0]), int(sizes[1])
        if not min_size <= lo <= hi <= p:
            raise ValueError(f"sizes ({lo}, {hi}) out of range: need {min_size} <= k_min <= k_max <= n_variables = {p}")
        return ("range", lo, hi)
    rows = []
    for i, m in enumerate(sizes):
        try:
            tup = tuple(int(v) for v in m)
        except (TypeError, ValueError):
            raise TypeError(f"multiplet {i} ({m!r}) is not a sequence of column indices") from None
        if len(tup) < min_size:
            raise ValueError(f"multiplet {i} {tup} has {len(tup)} variables; this measure needs at least {min_size}")
        bad = [v for v in tup if not 0 <= v < p]
        if bad:
            raise ValueError(f"multiplet {i} {tup}: column(s) {bad} out of range for data with {p} columns")
        if len(set(tup)) != len(tup):
            raise ValueError(f"multiplet {i} {tup} repeats a column")
        rows.append(tup)
    kmax = max(len(t) for t in rows)
    mults = np.full((len(rows), kmax), -1, dtype=np.int64)
    for i, t in enumerate(rows):
        mults[i, : len(t)] = t
    return ("list", mults, np.array([len(t) for t in rows], dtype=np.int64))


class MultipletResult:
    """Values of one measure on many multiplets, from :func:`multiplets`.

    Attributes
    ----------
    values : ndarray of float64, shape (n_multiplets,)
        In the order of :attr:`indices`: by size, then lexicographic (enumerated searches), or as given.
    sizes : ndarray of int, shape (n_multiplets,)
    indices : ndarray of int, shape (n_multiplets, k_max)
        Column indices of each multiplet, padded with -1 (built on first access for enumerated searches).
    measure, estimator, base, bias_correction, n_samples, n_variables, names, top_n
    """

    def __init__(
        self,
        values,
        *,
        measure,
        estimator,
        base,
        bias_correction,
        n_samples,
        n_variables,
        blocks=None,
        mults=None,
        names=None,
        top_n=10,
    ):
        self.values = values
        self.measure = measure
        self.estimator = estimator
        self.base = base
        self.bias_correction = bias_correction
        self.n_samples = n_samples
        self.n_variables = n_variables
        self.names = None if names is None else [str(n) for n in names]
        self.top_n = top_n
        self._blocks = blocks  # [(k, offset, count)] of an enumerated search
        self._mults = mults
        if blocks is not None:
            self.sizes = np.concatenate([np.full(c, k, dtype=np.int64) for k, _, c in blocks])
        else:
            self.sizes = (mults >= 0).sum(axis=1)

    def __len__(self) -> int:
        return self.values.shape[0]

    def __repr__(self) -> str:
        return (
            f"MultipletResult({self.measure}, estimator={self.estimator!r}, {len(self)} multiplets of sizes "
            f"{int(self.sizes.min())}..{int(self.sizes.max())} of {self.n_variables} variables)"
        )

    @property
    def indices(self) -> np.ndarray:
        if self._mults is None:
            kmax = max(k for k, _, _ in self._blocks)
            out = np.full((len(self), kmax), -1, dtype=np.int64)
            binom = _binomial_table(self.n_variables, kmax)
            for k, off, cnt in self._blocks:
                _unrank_all(self.n_variables, k, binom, 0, cnt, out[off : off + cnt], 0)
            self._mults = out
        return self._mults

    def multiplet(self, i: int) -> tuple[int, ...]:
        """Column indices of multiplet ``i``."""
        i = int(i)
        if self._mults is not None:
            row = self._mults[i]
            return tuple(int(v) for v in row[row >= 0])
        for k, off, cnt in self._blocks:
            if off <= i < off + cnt:
                idx = np.empty(k, dtype=np.int64)
                _unrank(i - off, self.n_variables, k, _binomial_table(self.n_variables, k), idx)
                return tuple(int(v) for v in idx)
        raise IndexError(f"multiplet {i} out of range (0..{len(self) - 1})")

    def _top(self, n, largest: bool) -> list[tuple[tuple[int, ...], float]]:
        n = min(int(n), len(self))
        if n <= 0:
            return []
        v = -self.values if largest else self.values
        part = np.argpartition(v, n - 1)[:n] if n < len(self) else np.arange(len(self))
        order = part[np.lexsort((part, v[part]))]  # value, then position: deterministic ties
        return [(self.multiplet(i), float(self.values[i])) for i in order]

    def top_synergistic(self, n: int | None = None) -> list[tuple[tuple[int, ...], float]]:
        """The ``n`` multiplets of lowest value (most synergistic for Ω), lowest first: ``[(indices, value), ...]``."""
        return self._top(self.top_n if n is None else n, largest=False)

    def top_redundant(self, n: int | None = None) -> list[tuple[tuple[int, ...], float]]:
        """The ``n`` multiplets of highest value (most redundant for Ω), highest first."""
        return self._top(self.top_n if n is None else n, largest=True)

    def label(self, mult) -> str:
        names = self.names
        return "(" + ", ".join(names[i] if names else str(i) for i in mult) + ")"

    def to_dict(self, *, values: bool = False) -> dict:
        """Plain-Python summary: settings, per-size statistics, the top multiplets; every value with ``values=True``."""
        per_size = {}
        for k in np.unique(self.sizes):
            v = self.values[self.sizes == k]
            per_size[str(int(k))] = {
                "n": int(v.size),
                "min": float(v.min()),
                "mean": float(v.mean()),
                "max": float(v.max()),
            }
        out = {
            "measure": self.measure,
            "estimator": self.estimator,
            "base": self.base,
            "bias_correction": self.bias_correction,
            "n_samples": self.n_samples,
            "n_variables": self.n_variables,
            "names": self.names,
            "n_multiplets": len(self),
            "per_size": per_size,
            "top_synergistic": [{"multiplet": list(m), "value": v} for m, v in self.top_synergistic()],
            "top_redundant": [{"multiplet": list(m), "value": v} for m, v in self.top_redundant()],
        }
        if values:
            out["multiplets"] = [[int(i) for i in row[row >= 0]] for row in self.indices]
            out["values"] = self.values.tolist()
        return out

    def table(self, n: int | None = None) -> str:
        """Text table of the top ``n`` synergistic and redundant multiplets."""
        unit = {2.0: "bits", math.e: "nats"}.get(float(self.base), f"log{self.base:g}")
        lines = [f"{self.measure} [{self.estimator}] of {len(self)} multiplets ({unit})"]
        for title, rows in (("most synergistic", self.top_synergistic(n)), ("most redundant", self.top_redundant(n))):
            lines.append(f"{title}:")
            lines += [f"  {v:+.6f}  {self.label(m)}" for m, v in rows]
        return "\n".join(lines)

    def plot(self, n: int | None = None, ax=None):
        """Histogram of the values by multiplet size, and the top ``n`` synergistic and redundant multiplets.

        Needs matplotlib (imported here).

        Parameters
        ----------
        n : int, optional
            Multiplets in each top list (default :attr:`top_n`).
        ax : sequence of two matplotlib Axes, optional
            Where to draw the histogram and the top lists (two Axes of one figure); a new figure when omitted.

        Returns
        -------
        fig : matplotlib.figure.Figure
        axes : tuple of two matplotlib.axes.Axes
            The histogram, then the top multiplets.
        """
        from pidlearn.plotting import _axes_list, _pyplot

        if ax is None:
            fig, (ax_h, ax_t) = _pyplot().subplots(1, 2, figsize=(11, 4.5), layout="constrained")
        else:
            ax_h, ax_t = _axes_list(ax, 2, "the histogram, the top multiplets")
            fig = ax_h.figure
        for k in np.unique(self.sizes):
            ax_h.hist(self.values[self.sizes == k], bins=60, histtype="step", label=f"size {int(k)}")
        ax_h.axvline(0.0, color="k", lw=0.8)
        ax_h.set_xlabel(f"{self.measure} ({self.estimator})")
        ax_h.set_ylabel("multiplets")
        ax_h.legend(fontsize=8)
        syn = self.top_synergistic(n)
        shown = {m for m, _ in syn}  # with fewer than 2n multiplets the two lists overlap: each is drawn once
        rows = syn + [(m, v) for m, v in self.top_redundant(n)[::-1] if m not in shown]
        ax_t.barh(
            range(len(rows)),
            [v for _, v in rows],
            color=["tab:blue" if v < 0 else "tab:red" for _, v in rows],
        )
        ax_t.set_yticks(range(len(rows)))
        ax_t.set_yticklabels([self.label(m) for m, _ in rows], fontsize=7)
        ax_t.axvline(0.0, color="k", lw=0.8)
        ax_t.set_title("most synergistic (blue) and redundant (red)")
        return fig, (ax_h, ax_t)


def _chunks(total: int, size: int):
    return [(s, min(s + size, total)) for s in range(0, total, size)]


def _task_range(prep_payload, k, start, stop, mode, scale):
    """One Dask task: values of the size-``k`` multiplets of ranks ``start..stop-1`` (serial kernels)."""
    kind, arrays, p = prep_payload
    out = np.empty(stop - start)
    binom = _binomial_table(p, k)
    if kind == "gaussian":
        cov, b_tc, b_dtc = arrays
        _gauss_enum_ser(cov, p, k, binom, start, stop, mode, b_tc[k], b_dtc[k], scale, out)
    else:
        codes, card, h1, est = arrays
        _disc_enum_ser(codes, card, h1, est, p, k, binom, start, stop, mode, scale, out)
    return out


def _task_list(prep_payload, mults, sizes, mode, scale):
    kind, arrays, _ = prep_payload
    out = np.empty(mults.shape[0])
    if kind == "gaussian":
        cov, b_tc, b_dtc = arrays
        _gauss_list_ser(cov, mults, sizes, mode, b_tc, b_dtc, scale, out)
    else:
        codes, card, h1, est = arrays
        _disc_list_ser(codes, card, h1, est, mults, sizes, mode, scale, out)
    return out


def _run_dask(tasks, client, scheduler):
    """Run ``[(fn, args), ...]`` on a Dask ``client`` or with ``dask.compute(scheduler=...)``; results in order."""
    if client is not None:
        payload = tasks[0][1][0]
        [shared] = client.scatter([payload], broadcast=True)  # one object (a bare tuple would scatter per item)
        futures = [client.submit(fn, shared, *args[1:], pure=False) for fn, args in tasks]
        return client.gather(futures)
    try:
        import dask
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError('scheduler= needs dask: pip install "pidlearn[dask]"') from exc
    delayed = [dask.delayed(fn, pure=False)(*args) for fn, args in tasks]
    return list(dask.compute(*delayed, scheduler=scheduler))


def multiplets(
    X,
    sizes=(3, 3),
    *,
    measure: str = "o_information",
    estimator: str = "copula",
    base: float = 2,
    bias_correction: bool = False,
    top: int = 10,
    names=None,
    max_multiplets: int = DEFAULT_MAX_MULTIPLETS,
    client=None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    k: int = 3,
    seed=None,
) -> MultipletResult:
    """One higher-order measure on every multiplet of sizes ``k_min..k_max`` of the columns of ``X``, or on a list.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_variables)
    sizes : int, (k_min, k_max) or list of sequences of int, default (3, 3)
        Every multiplet (combination of columns) of ``k_min <= size <= k_max``, or the given multiplets.
    measure : {"o_information", "total_correlation", "dual_total_correlation", "s_information"}
    estimator : str, default "copula"
        As for :func:`o_information`. Gaussian and copula: the covariance is computed once, then each multiplet costs
        one Cholesky factor (its rows shared with the previous multiplet's common prefix) and the diagonal of its
        inverse. Discrete: the columns are encoded once, each multiplet counts its joint and its ``n`` leave-one-out
        joints. ``"ksg"``: a Python loop of KSG estimates, at most :data:`MAX_KSG_MULTIPLETS` multiplets.
    base : float, default 2
    bias_correction : bool, default False
        Gaussian and copula: Ince et al. (2017).
    top : int, default 10
        Default ``n`` of :meth:`MultipletResult.top_synergistic` / ``top_redundant`` and of ``to_dict``.
    names : sequence of str, optional
        Variable names for tables and plots.
    max_multiplets : int, default :data:`DEFAULT_MAX_MULTIPLETS` (50 million, 400 MB of values)
        Refuse larger searches (the message gives the count and memory).
    client : dask.distributed.Client, optional
        Run chunks of the multiplet range on this cluster (the prepared covariance or codes are scattered once).
    scheduler : str, optional
        Or run the chunks with ``dask.compute(scheduler=...)`` (``"threads"``, ``"processes"``, ``"synchronous"``).
        Both Dask paths return values equal, bit for bit, to the serial run's.
    chunk_size : int, optional
        Multiplets per Dask task (default: about 4 tasks per worker or thread, at least 10,000).
    k, seed : KSG only.

    Returns
    -------
    MultipletResult

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.higher_order import multiplets
    >>> rng = np.random.default_rng(0)
    >>> a, b, c, d = rng.standard_normal((4, 2000))
    >>> X = np.column_stack([a, a + 0.3 * b, a + 0.3 * c, b + c, d])
    >>> res = multiplets(X, (3, 4))
    >>> len(res), res.top_redundant(1)[0][0], res.top_synergistic(1)[0][0]
    (15, (0, 1, 2), (0, 1, 2, 3))
    """
    if not isinstance(measure, str) or measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    mode = _MODE[measure]
    min_size = 3 if measure == "o_information" else 2
    if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 0:
        raise ValueError(f"top must be a non-negative integer, got {top!r}")
    if isinstance(max_multiplets, bool) or not isinstance(max_multiplets, numbers.Integral) or max_multiplets < 1:
        raise ValueError(f"max_multiplets must be a positive integer, got {max_multiplets!r}")
    if client is not None and scheduler is not None:
        raise ValueError("give at most one of client (a dask.distributed Client) and scheduler (a dask scheduler name)")
    arr = _as_matrix(X)
    p = arr.shape[1]
    if p < min_size:
        raise ValueError(f"X has {p} variable(s) (columns); {measure} needs at least {min_size}")
    spec = _parse_sizes(sizes, p, min_size)
    if spec[0] == "range":
        _, lo, hi = spec
        count, kmax = n_multiplets(p, (lo, hi)), hi
    else:
        count, kmax = spec[1].shape[0], spec[1].shape[1]
    if count > max_multiplets:
        raise ValueError(
            f"{count:,} multiplets ({count * 8 / 1e6:,.0f} MB of float64 values) exceed max_multiplets = "
            f"{max_multiplets:,}; narrow sizes, give a list of multiplets, or raise max_multiplets"
        )
    if names is not None and len(names) != p:
        raise ValueError(f"names has {len(names)} entries for {p} variables")
    prep = _Prepared(arr, estimator, base=base, bias_correction=bias_correction, k=k, seed=seed, max_size=kmax)
    meta = {
        "measure": measure,
        "estimator": estimator,
        "base": prep.base,
        "bias_correction": prep.bias_correction,
        "n_samples": prep.n_samples,
        "n_variables": p,
        "names": names,
        "top_n": int(top),
    }
    if prep.kind == "ksg":
        if count > MAX_KSG_MULTIPLETS:
            raise ValueError(
                f"estimator='ksg' evaluates multiplets one by one in Python; {count:,} exceed its limit of "
                f"{MAX_KSG_MULTIPLETS:,}: use the copula estimator, or fewer multiplets"
            )
        if spec[0] == "range":
            mults = np.full((count, kmax), -1, dtype=np.int64)
            rows = [c for kk in range(lo, hi + 1) for c in itertools.combinations(range(p), kk)]
            for i, c in enumerate(rows):
                mults[i, : len(c)] = c
            spec = ("list", mults, np.array([len(c) for c in rows], dtype=np.int64))
        values = np.array([prep.measure(row[row >= 0], mode) for row in spec[1]])
        return MultipletResult(values, mults=spec[1], **meta)

    if prep.kind == "gaussian":
        payload = ("gaussian", (prep.cov, prep.b_tc, prep.b_dtc), p)
    else:
        payload = ("discrete", (prep.codes, prep.card, prep.h1, prep.est_code), p)
    use_dask = client is not None or scheduler is not None
    if use_dask and chunk_size is None:
        if client is not None:
            workers = max(1, len(client.scheduler_info().get("workers", {})))
        else:
            import os

            workers = os.cpu_count() or 1
        chunk_size = max(10_000, math.ceil(count / (4 * workers)))
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")

    values = np.empty(count)
    if spec[0] == "list":
        _, mults, msizes = spec
        if use_dask:
            tasks = [
                (_task_list, (payload, mults[a:b], msizes[a:b], mode, prep.scale))
                for a, b in _chunks(count, int(chunk_size))
            ]
            values[:] = np.concatenate(_run_dask(tasks, client, scheduler))
        elif prep.kind == "gaussian":
            _gauss_list_par(prep.cov, mults, msizes, mode, prep.b_tc, prep.b_dtc, prep.scale, values)
        else:
            _disc_list_par(prep.codes, prep.card, prep.h1, prep.est_code, mults, msizes, mode, prep.scale, values)
        result = MultipletResult(values, mults=mults, **meta)
    else:
        blocks, off = [], 0
        for kk in range(lo, hi + 1):
            cnt = math.comb(p, kk)
            blocks.append((kk, off, cnt))
            off += cnt
        if use_dask:
            tasks, where = [], []
            for kk, off, cnt in blocks:
                for a, b in _chunks(cnt, int(chunk_size)):
                    tasks.append((_task_range, (payload, kk, a, b, mode, prep.scale)))
                    where.append(off + a)
            for start, part in zip(where, _run_dask(tasks, client, scheduler), strict=True):
                values[start : start + part.shape[0]] = part
        else:
            binom = _binomial_table(p, kmax)
            for kk, off, cnt in blocks:
                out = values[off : off + cnt]
                if prep.kind == "gaussian":
                    args = (prep.cov, p, kk, binom, 0, cnt, mode, prep.b_tc[kk], prep.b_dtc[kk], prep.scale, out)
                    _gauss_enum_par(*args)
                else:
                    _disc_enum_par(
                        prep.codes, prep.card, prep.h1, prep.est_code, p, kk, binom, 0, cnt, mode, prep.scale, out
                    )
        result = MultipletResult(values, blocks=blocks, **meta)
    bad = np.flatnonzero(np.isnan(values))
    if bad.size:
        raise _singular(result.multiplet(int(bad[0])))
    return result
