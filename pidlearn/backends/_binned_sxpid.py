"""The linear-binned continuous SxPID estimator's kernel, shared by the torch and NumPy backends (numba, no torch).

Every variable ``v`` of a neuron (``v = 0`` the target, ``1..n`` the sources), already standardised, is read on the
fixed lattice ``hℤ`` (origin 0): sample ``j`` has ``u = x_v(j) / h``, cell ``a = ⌊u⌋`` and fraction ``f = u − a``, and
puts the weight ``1 − f`` on cell ``a`` and ``f`` on ``a + 1`` ("cloud in cell", a hat kernel). Its weight on a corner
``c`` of the ``2^{n+1}`` cells around it is the product ``W_j(c) = Π_v w_v`` and the soft joint is
``P(c) = (1/N) Σ_j W_j(c)``, piecewise multilinear in the samples. The redundancies are the plug-in SxPID of ``P``
(Makkeh et al. 2021): with the inclusion–exclusion coefficients ``κ[α, g]`` of antichain ``α`` over source sets ``g``,

    D_α(c) = Σ_g κ[α,g] P(c_T, c_g),   U_α(c) = Σ_g κ[α,g] P(c_g),
    I_α = Σ_c P(c) [ln D_α(c) − ln U_α(c) − ln P_T(c_T)]                               (nats),

and for the goal ``G = Σ_α w_α I_α`` the adjoint of the table (the ``−1`` of the ``P_T`` term drops: a sample's
weights sum to 1)

    Φ(c) = Σ_α w_α [ln D_α − ln U_α − ln P_T](c) + Σ_g (A_g(c_T, c_g) − B_g(c_g)),
    A_g(t, s_g) = Σ_{c' ∋ (t, s_g)} P(c') Σ_α w_α κ[α,g] / D_α(c'),
    B_g(s_g) = Σ_{c' ∋ s_g} P(c') Σ_α w_α κ[α,g] / U_α(c'),

so that ``∂G/∂x_v(j) = (1/(N h)) Σ_c (±1) Π_{v' ≠ v} w_{v'} Φ(c)`` over the sample's corners (``+`` on the upper
cell of ``v``). Derivation and the consistency with the KSG-type estimator: the guide, "Differentiable continuous
SxPID", section "The binned estimator".

Per neuron the kernel works on the *occupied* cells of the joint (at most ``2^{n+1} N``): a pass over each variable
computes the samples' fractions and the key of each sample's lowest corner, and a pass over the samples scatters ``P``
onto the dense joint table. A scan of that table, row by row (a row: the cells along the last variable), lists the
occupied cells in lattice order with their keys in every subset's table and fills the marginal tables (the subsets
without the last variable take a row's sum at once); a scan of the sources' table lists the occupied source cells.
Then, antichain by antichain, ``D`` (``U``) is gathered for every occupied (source) cell, its logs are taken in one
vectorised pass (:func:`_log`), and ``Φ``'s log parts and the scatters of ``A``, ``B`` follow (``A`` of the joint
itself goes straight into the cell's ``Φ``; along a row the sums into the table of all variables but the last, one
cell per row, are kept in a register). With a gradient, one more pass over the samples gathers the slopes of ``Φ`` at
their corners, for the variables whose gradient is wanted. The tables are dense, sized from the occupied index range
of each variable over the neurons (:func:`binned_redundancies` refuses them past the memory limit); between neurons
only the joint's occupied cells are reset, and the marginal tables whole or at their touched entries, whichever is
cheaper. The standardised copy of the samples is kept per calling thread between calls of the same shape (a fresh
array of a few MB costs a page fault per 4 KB page at every call).

References
----------
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021).
D. A. Ehrlich, K. Schick-Poland, A. Makkeh, F. Lanfermann, P. Wollstadt and M. Wibral, "Partial information
decomposition for continuous variables based on shared exclusions: analytical formulation and estimation",
Phys. Rev. E 110, 014115 (2024).
"""

from __future__ import annotations

import functools
import math
import numbers
import threading

import numba as nb
import numpy as np

from pidlearn.backends._goal_kernels import _matrices_np, _run, _slot_strides
from pidlearn.backends._settings import check_memory
from pidlearn.backends._soft_counts import constant_message

__all__ = [
    "BIN_WIDTH_C",
    "binned_redundancies",
    "check_bin_width",
    "check_method",
    "default_bin_width",
    "lattice_cells",
    "lattice_spacing",
    "scaled_gradients",
]

#: ``h(N) = BIN_WIDTH_C · N^(−1/(n+2))`` in units of the standardised variables, ``n`` sources (chosen by measurement
#: against the KSG-type estimator, guide; ``N h^{n+1} → ∞`` as the estimator's consistency needs).
BIN_WIDTH_C = 2.0

METHODS = ("knn", "binned")


def check_method(method) -> str:
    """``method`` must be ``"knn"`` (soft neighbour counts) or ``"binned"`` (linear-binned plug-in)."""
    if method not in METHODS:
        raise ValueError(
            f"method must be 'knn' (soft neighbour counts) or 'binned' (linear-binned plug-in), got {method!r}"
        )
    return method


def check_bin_width(bin_width, method: str) -> float | None:
    """``None`` (the rule :func:`default_bin_width`) or a finite positive number; only with ``method="binned"``."""
    if bin_width is None:
        return None
    if method != "binned":
        raise ValueError(f"bin_width is a setting of method='binned'; drop it or pass method='binned' (got {method!r})")
    if isinstance(bin_width, bool) or not isinstance(bin_width, numbers.Real) or not math.isfinite(bin_width):
        raise ValueError(f"bin_width must be a finite positive number such as 0.5, got {bin_width!r}")
    if bin_width <= 0:
        raise ValueError(f"bin_width must be a finite positive number such as 0.5, got {bin_width!r}")
    return float(bin_width)


def default_bin_width(n_samples: int, n_sources: int) -> float:
    """The lattice spacing ``h = 2 N^{−1/(n+2)}`` (standardised units) of a batch of ``N`` samples, ``n`` sources
    (0.35 for two sources at ``N = 1024``)."""
    return BIN_WIDTH_C * float(n_samples) ** (-1.0 / (n_sources + 2))


def lattice_spacing(bin_width: float | None, n_samples: int, n_sources: int) -> float:
    """The lattice spacing ``h`` of a call: ``bin_width`` when given (checked by :func:`check_bin_width`), else the
    rule :func:`default_bin_width` for ``N`` samples and ``n`` sources."""
    return default_bin_width(n_samples, n_sources) if bin_width is None else bin_width


def lattice_cells(x: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowest cell ``⌊min x / h⌋`` per neuron and variable (M, V) int64, and the table extent per variable (V,):
    the occupied index range over the neurons plus the upper corner."""
    lo = np.floor(x.min(axis=-1) * (1.0 / h))  # x · (1/h), as the kernel and the dense path compute u
    hi = np.floor(x.max(axis=-1) * (1.0 / h))
    extent = (hi - lo).max(axis=0) + 2
    return lo.astype(np.int64), extent.astype(np.int64)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _row_stats(x, r, c, square, out, low, high):
    """``out[k] = Σ_j (x[r + k, j] − c[k])`` (or its square, ``square``) for ``k < 4`` (rows past the end skipped), the
    samples in order, and without ``square`` the rows' minima and maxima into ``low``, ``high``: four rows at a time
    are independent chains, each summed as one row alone."""
    n_rows = min(4, x.shape[0] - r)
    for k in range(n_rows):
        out[k] = 0.0
        if not square:
            low[k] = x[r + k, 0]
            high[k] = x[r + k, 0]
    if n_rows < 4:
        for k in range(n_rows):
            for j in range(x.shape[1]):
                d = x[r + k, j] - c[k]
                out[k] += d * d if square else d
                if not square:
                    low[k] = min(low[k], x[r + k, j])
                    high[k] = max(high[k], x[r + k, j])
        return
    a0, a1, a2, a3 = 0.0, 0.0, 0.0, 0.0
    l0, l1, l2, l3 = low[0], low[1], low[2], low[3]
    h0, h1, h2, h3 = high[0], high[1], high[2], high[3]
    c0, c1, c2, c3 = c[0], c[1], c[2], c[3]
    for j in range(x.shape[1]):
        x0, x1, x2, x3 = x[r, j], x[r + 1, j], x[r + 2, j], x[r + 3, j]
        d0, d1, d2, d3 = x0 - c0, x1 - c1, x2 - c2, x3 - c3
        if square:
            a0 += d0 * d0
            a1 += d1 * d1
            a2 += d2 * d2
            a3 += d3 * d3
        else:
            a0 += d0
            a1 += d1
            a2 += d2
            a3 += d3
            l0, l1, l2, l3 = min(l0, x0), min(l1, x1), min(l2, x2), min(l3, x3)
            h0, h1, h2, h3 = max(h0, x0), max(h1, x1), max(h2, x2), max(h3, x3)
    out[0], out[1], out[2], out[3] = a0, a1, a2, a3
    low[0], low[1], low[2], low[3] = l0, l1, l2, l3
    high[0], high[1], high[2], high[3] = h0, h1, h2, h3


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _prepare(t, s, inv_h, normalize, x, sd, lo, hi, bad):
    """``x[m] = (t[m], s[0][m], ..., s[n − 1][m])`` (any strides and float dtype; ``s`` a tuple of (M, B) arrays) as
    float64, divided by its standard deviation over the batch (``ddof=0``, into ``sd``) if ``normalize``; ``lo``,
    ``hi`` the lowest and highest cell ``⌊x / h⌋`` of each neuron and variable (of the scaled values: the scaling by
    ``1/σ > 0`` keeps the extremes, rounding included). ``bad[m, v]``: 1 where the variable's sum over the batch is
    not finite (a NaN or an infinity among its values, or values too large to add up), 2 where it is constant, else
    0; the other outputs of such a variable are meaningless."""
    n_m, n_var, b_n = x.shape
    for m in range(n_m):
        for j in range(b_n):
            x[m, 0, j] = t[m, j]
        for v in range(1, n_var):
            sv = s[v - 1]
            for j in range(b_n):
                x[m, v, j] = sv[m, j]
    rows = x.reshape((n_m * n_var, b_n))
    sdr = sd.reshape(n_m * n_var)
    zero = np.zeros(4)
    mean = np.empty(4)
    sq = np.empty(4)
    low = np.empty(4)
    high = np.empty(4)
    for r in range(0, n_m * n_var, 4):
        _row_stats(rows, r, zero, False, mean, low, high)
        for k in range(min(4, n_m * n_var - r)):
            code = 0
            if not math.isfinite(mean[k]):
                code = 1
            elif high[k] == low[k]:
                code = 2
            bad[(r + k) // n_var, (r + k) % n_var] = code
        if normalize:
            for k in range(4):
                mean[k] /= b_n
            _row_stats(rows, r, mean, True, sq, low, high)
        for k in range(min(4, n_m * n_var - r)):
            if normalize:
                sdr[r + k] = math.sqrt(sq[k] / b_n)
                inv = 1.0 / sdr[r + k]
                xr = rows[r + k]
                for j in range(b_n):
                    xr[j] *= inv
                low[k] *= inv
                high[k] *= inv
            lo[(r + k) // n_var, (r + k) % n_var] = np.int64(np.floor(low[k] * inv_h))
            hi[(r + k) // n_var, (r + k) % n_var] = np.int64(np.floor(high[k] * inv_h))


@functools.cache
def _plan(n: int, rows: tuple[int, ...]):
    """The antichains ``rows`` as sparse inclusion–exclusion rows: pointers, source-set masks ``g``, ``κ[α, g]``."""
    c_rows = _matrices_np(n)[0][list(rows)]
    nz = np.nonzero(c_rows)
    ptr = np.searchsorted(nz[0], np.arange(len(rows) + 1)).astype(np.int64)
    return ptr, (nz[1] + 1).astype(np.int64), c_rows[nz].astype(np.float64)


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _scatter_joint(extent, m, x, inv_h, inv_n, lo, coff, o_full, tab, frac, base):
    """Step 1 of :func:`_binned_range` for neuron ``m``: each sample's fractions (``frac`` (V, N)) and the joint key
    ``base`` of its lowest corner (a pass per variable), and ``P`` added to the joint's table ``tab`` at its
    corners."""
    n_var = len(extent)
    n_corner = 1 << n_var
    b_n = x.shape[2]
    for j in range(b_n):
        base[j] = o_full
    for v in range(n_var):
        low = lo[m, v]
        st = coff[1 << v]
        for j in range(b_n):
            u = x[m, v, j] * inv_h
            a = math.floor(u)
            frac[v, j] = u - a
            base[j] += st * (np.int64(a) - low)
    cw = np.empty(n_corner)
    for j in range(b_n):
        k = base[j]
        cw[0] = inv_n  # the corners' weights times 1/N
        half = 1
        for v in range(n_var):
            fv = frac[v, j]
            for q in range(half):
                cw[q + half] = cw[q] * fv
                cw[q] *= 1.0 - fv
            half *= 2
        for q in range(n_corner):
            tab[k + coff[q]] += cw[q]


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _occupied(extent, first, tab, offsets, strides, fill, occ, keys):
    """The occupied cells (``P > 0``) of the table of the variables ``first..V − 1`` (``first`` 0: the joint, 1: the
    sources) in lattice order, the last variable fastest: their keys into ``occ`` and their keys in the tables of
    every subset into ``keys`` (nc, 2^V − 1; the subsets of other variables get the key of cell 0); returns their
    number ``nc``. ``fill``: add each cell's ``P`` to the tables of its subsets (the marginals), a row's sum at once to
    the subsets without the last variable (one key per row)."""
    n_var = len(extent)
    n_sub = (1 << n_var) - 1
    tbl = n_sub - (1 << first)  # index of the scanned table: mask of the variables first..V − 1, minus 1
    lastbit = 1 << (n_var - 1)
    last = extent[n_var - 1]
    n_outer = 1
    for v in range(first, n_var - 1):
        n_outer *= extent[v]
    idx = np.zeros(n_var, dtype=np.int64)  # the cell of the row being scanned (the variables but the last)
    row = np.empty(n_sub, dtype=np.int64)  # every subset's key of the row's cell 0
    nc = 0
    for _ in range(n_outer):
        for g in range(n_sub):
            key = offsets[g]
            for v in range(first, n_var - 1):
                key += strides[g, v] * idx[v]
            row[g] = key
        k = row[tbl]
        row_sum = 0.0
        for i in range(last):
            p = tab[k + i]
            if p > 0.0:
                occ[nc] = k + i
                for g in range(n_sub):
                    keys[nc, g] = row[g] + strides[g, n_var - 1] * i
                if fill:
                    for g in range(lastbit - 1, n_sub):  # masks with the last variable
                        if g != tbl:
                            tab[keys[nc, g]] += p
                    row_sum += p
                nc += 1
        if fill and row_sum > 0.0:
            for g in range(lastbit - 1):  # masks without the last variable: one cell per row
                tab[row[g]] += row_sum
        v = n_var - 2
        while v >= first:
            idx[v] += 1
            if idx[v] < extent[v]:
                break
            idx[v] = 0
            v -= 1
    return nc


_MANTISSA = (1 << 52) - 1
_ONE_BITS = int(np.float64(1.0).view(np.int64))
_SQRT2_BITS = int(np.float64(math.sqrt(2.0)).view(np.int64))
_TWO52_BITS = int(np.float64(2.0**52).view(np.int64))
_LN2 = math.log(2.0)
_TINY = float(np.finfo(np.float64).tiny)  # the smallest normal double
#: ``ln((1 + s)/(1 − s)) = Σ_k 2 s^{2k+1}/(2k + 1)``: ten terms reach double precision for ``|s| ≤ 3 − 2√2``.
_ATANH = tuple(2.0 / (2 * k + 1) for k in range(10))


@nb.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
def _log(x, scratch, out):
    """``out = ln x`` for finite positive ``x`` (1-D), within 2 ulp of ``math.log``, in loops the compiler vectorises
    (a call of the C library's ``log`` per value is not): ``x = 2^e m`` with ``m ∈ [√½, √2)`` read from the bits,
    ``ln x = e ln 2 + ln m`` and ``ln m = ln((1 + s)/(1 − s))``, ``s = (m − 1)/(m + 1)``, by the series
    :data:`_ATANH` (``|s| ≤ 0.172``); subnormal ``x`` (rare here) get ``math.log``. ``scratch``: float64 (holds
    ``2^52 + e + 1023``, exactly)."""
    xb = x.view(np.int64)
    mb = out.view(np.int64)
    eb = scratch.view(np.int64)
    for i in range(x.shape[0]):
        b = xb[i]
        m = (b & _MANTISSA) | _ONE_BITS  # the mantissa as a double in [1, 2)
        big = np.int64(m > _SQRT2_BITS)  # m ≥ √2: halve it, one more in the exponent
        eb[i] = _TWO52_BITS + (b >> 52) + big
        mb[i] = m - (big << 52)
    for i in range(x.shape[0]):
        m = out[i]
        s = (m - 1.0) / (m + 1.0)
        z = s * s
        p = _ATANH[9]
        for k in range(8, -1, -1):
            p = p * z + _ATANH[k]
        out[i] = (scratch[i] - (2.0**52 + 1023.0)) * _LN2 + s * p
    for i in range(x.shape[0]):
        if x[i] < _TINY:  # subnormal: the exponent bits are 0, the bits above do not hold 2^e m
            out[i] = math.log(x[i])


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _antichain(n, cells, keys, pv, e0, e1, gsets, coef, shift, own, run, wr, tab, acc, out, o_out, dv, lv, ef):
    """One antichain's terms ``e0..e1 − 1`` over the ``n`` occupied cells of one table (step 3 of
    :func:`_binned_range`): the joint's (``shift`` 0: subsets ``{T} ∪ g``, index ``2g``; ``own`` the joint's index)
    or the sources' (``shift`` −1: subsets ``g``, index ``2g − 1``; ``own`` −1). ``dv`` ← ``D`` (or ``U``) per cell,
    ``lv`` ← its log (one vectorised pass); returns ``Σ_c P(c) ln D(c)``. With a weight ``wr ≠ 0``:
    ``out[cell − o_out] += wr ln D`` (plus the cell's own ``A`` term), and the scatters ``acc[key_g] += κ_g P wr / D``
    (the sums into subset ``run``, one cell per row of the table, kept in a register along each row)."""
    for i in range(n):
        d = 0.0
        for e in range(e0, e1):
            d += coef[e] * tab[keys[i, 2 * gsets[e] + shift]]
        dv[i] = max(d, pv[i])  # D ≥ P(c) exactly; the max only guards the rounding of the inclusion–exclusion sum
    _log(dv[:n], ef[:n], lv[:n])
    tot = 0.0
    for i in range(n):
        tot += pv[i] * lv[i]
    if wr == 0.0:
        return tot
    run_key = -1
    run_val = 0.0
    for i in range(n):
        part = pv[i] * wr / dv[i]
        ph = wr * lv[i]
        for e in range(e0, e1):
            sub = 2 * gsets[e] + shift
            if sub == own:  # A of the joint itself: this cell's own term
                ph += coef[e] * part
            elif sub == run:
                key = keys[i, run]
                if key != run_key:
                    if run_key >= 0:
                        acc[run_key] += run_val
                    run_key = key
                    run_val = 0.0
                run_val += coef[e] * part
            else:
                acc[keys[i, sub]] += coef[e] * part
        out[cells[i] - o_out] += ph
    if run_key >= 0:
        acc[run_key] += run_val
    return tot


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _gather_slopes(extent, m, base, coff, o_full, phi, frac, scale, need, grad):
    """Step 5 of :func:`_binned_range`: ``grad[m, v, j] = scale · ∂/∂f_v`` of ``Φ`` interpolated at each sample's
    corners, ``Σ_{q: bit v clear} (Φ(q + e_v) − Φ(q)) Π_{u ≠ v} (f_u or 1 − f_u)``, for the variables with
    ``need[v]`` (``Φ = 0`` at a corner of zero weight that no sample occupies, ``P = 0`` there: the one-sided
    derivative of the empty side)."""
    n_var = len(extent)
    n_corner = 1 << n_var
    pc = np.empty(n_corner)
    for j in range(base.shape[0]):
        k = base[j] - o_full
        for q in range(n_corner):
            pc[q] = phi[k + coff[q]]
        for v in range(n_var):
            if not need[v]:
                continue
            bit = 1 << v
            sl = 0.0
            for q in range(n_corner):
                if not q & bit:
                    wgt = 1.0
                    for u in range(n_var):
                        if u != v:
                            fu = frac[u, j]
                            wgt *= fu if q >> u & 1 else 1.0 - fu
                    sl += wgt * (pc[q | bit] - pc[q])
            grad[m, v, j] = sl * scale


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _unstandardise(m, y, sd, need, grad):
    """``∂G/∂x = (g − ŷ ⟨g y⟩) / σ`` in place of ``g = ∂G/∂y`` for ``y = x / σ``, ``σ² = ⟨(x − ⟨x⟩)²⟩``, ``ŷ = y − ⟨y⟩``
    (means over the batch), for each variable ``v`` of neuron ``m`` with ``need[v]`` (two variables' sums side by
    side, each in sample order)."""
    b_n = y.shape[2]
    n_var = y.shape[1]
    for v in range(0, n_var, 2):
        w = min(v + 1, n_var - 1)  # the pair's second variable (the first again for an odd last one)
        m0 = 0.0
        m1 = 0.0
        g0 = 0.0
        g1 = 0.0
        for j in range(b_n):
            m0 += y[m, v, j]
            g0 += grad[m, v, j] * y[m, v, j]
            m1 += y[m, w, j]
            g1 += grad[m, w, j] * y[m, w, j]
        for u in range(v, w + 1):
            if not need[u]:
                continue
            mean = (m0 if u == v else m1) / b_n
            gy = (g0 if u == v else g1) / b_n
            inv = 1.0 / sd[m, u]
            for j in range(b_n):
                grad[m, u, j] = (grad[m, u, j] - (y[m, u, j] - mean) * gy) * inv


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _binned_range(
    j0, j1, x, sd, h, lo, extent, strides, offsets, size, ptr, gsets, coef, w, with_grad, need, red, grad
):
    """Redundancies ``red[m, r]`` (nats) and, ``with_grad``, ``grad[m, v, j] = ∂(Σ_r w[m, r] I_r)/∂x[m, v, j]`` of
    neurons ``j0..j1 − 1`` for the variables ``v`` with ``need[v]`` (the other rows of ``grad`` are left as they
    are), with one set of scratch tables (module docstring).

    ``extent`` is a tuple: its length, the number of variables, is a compile-time constant, so that numba compiles
    one version per number of sources with the loops over variables and corners unrolled. ``x`` holds the
    standardised samples ``y = x_raw / σ`` and ``sd`` the ``σ`` (M, V) to carry the gradient back to ``x_raw`` (none
    to carry: ``sd`` of shape (0, V)).
    """
    n_var = len(extent)
    b_n = x.shape[2]
    n_sub = (1 << n_var) - 1  # subsets of the variables, index = mask − 1; bit 0 = the target
    full = n_sub - 1
    src = n_sub - 2  # all sources, no target: mask 2^V − 2
    n_corner = 1 << n_var
    n_rows = ptr.shape[0] - 1
    n_full = 1
    for v in range(n_var):
        n_full *= extent[v]
    tab = np.zeros(size)  # P of every subset; the joint's table at offsets[full]
    acc = np.zeros(offsets[full])  # the scatters A (subsets with the target) and B (without)
    aux = np.zeros(offsets[full])  # Σ_α w_α ln U_α per source cell, (Σ_α w_α) ln P_T per target cell
    phi = np.zeros(n_full if with_grad else 0)  # Φ on the joint lattice, 0 off the occupied cells
    cap = min(b_n * n_corner, n_full)
    mkey = np.empty((cap, n_sub), dtype=np.int64)  # per occupied cell, its key in every subset's table
    scap = min(offsets[src + 1] - offsets[src], b_n << (n_var - 1))  # occupied source cells at most
    socc = np.empty(scap, dtype=np.int64)  # the occupied source cells' keys, in lattice order
    skey = np.empty((scap, n_sub), dtype=np.int64)  # and their keys in every subset's table
    base = np.empty(b_n, dtype=np.int64)
    frac = np.empty((n_var, b_n))
    occ = np.empty(cap, dtype=np.int64)  # the occupied cells' keys in the joint's table, in lattice order
    pv = np.empty(cap)  # their P
    spv = np.empty(cap)  # the occupied source cells' P
    dv = np.empty(cap)  # D (or U) of an antichain per occupied cell (source cell)
    lv = np.empty(cap)  # and its log
    ef = np.empty(cap)  # scratch of _log
    soff = np.zeros((n_sub, n_corner), dtype=np.int64)  # key offset of corner q from the lowest, per subset
    for g in range(n_sub):
        for q in range(n_corner):
            for v in range(n_var):
                if q >> v & 1:
                    soff[g, q] += strides[g, v]
    inv_n = 1.0 / b_n
    inv_h = 1.0 / h
    o_full = offsets[full]
    run = full - (1 << (n_var - 1))  # index of the subset of all variables but the last (mask 2^(V−1) − 1)
    srun = src - (1 << (n_var - 1)) if n_var > 2 else -1  # of all sources but the last (none for one source)
    for m in range(j0, j1):
        # 1. fractions and lowest corners; P on the joint lattice
        _scatter_joint(extent, m, x, inv_h, inv_n, lo, soff[full], o_full, tab, frac, base)
        # 2. the occupied cells in lattice order with their keys in each subset's table, filling the marginal
        # tables; then the occupied source cells
        nc = _occupied(extent, 0, tab, offsets, strides, True, occ, mkey)
        ns = _occupied(extent, 1, tab, offsets, strides, False, socc, skey)
        # 3. I_α = Σ_c P(c) ln D_α(c) − Σ_{c_S} P(c_S) ln U_α(c_S) − Σ_t P(t) ln P(t): each log once per occupied
        # cell of its own table, antichain by antichain (D or U of all cells, their logs in one pass, the sum); with
        # the gradient, Φ's log parts and the scatters of A (per cell) and B (per source cell)
        for i in range(nc):
            pv[i] = tab[occ[i]]
        for k in range(ns):
            spv[k] = tab[socc[k]]
        w_sum = 0.0
        for r in range(n_rows):
            wr = w[m, r] if with_grad else 0.0
            w_sum += wr
            e0, e1 = ptr[r], ptr[r + 1]
            joint = _antichain(
                nc, occ, mkey, pv, e0, e1, gsets, coef, 0, full, run, wr, tab, acc, phi, o_full, dv, lv, ef
            )
            srcs = _antichain(ns, socc, skey, spv, e0, e1, gsets, coef, -1, -1, srun, wr, tab, acc, aux, 0, dv, lv, ef)
            red[m, r] = joint - srcs
        for key in range(offsets[0], offsets[1]):  # the target's cells
            p = tab[key]
            if p > 0.0:
                val = math.log(p)
                for r in range(n_rows):
                    red[m, r] -= p * val
                aux[key] = w_sum * val
        if with_grad:
            # 4. Φ(c) = Σ_α w_α [ln D_α − ln U_α − ln P_T](c) + Σ_g A_g − B_g (A on the subsets with the target,
            # B on those without)
            for i in range(nc):
                s_sum = -aux[mkey[i, src]] - aux[mkey[i, 0]]
                for g in range(1, full):  # index g odd = mask g + 1 even: no target (B), else A
                    s_sum += (1.0 - 2.0 * (g & 1)) * acc[mkey[i, g]]
                phi[mkey[i, full] - o_full] += s_sum
            # 5. per sample: the slopes of its multilinear weights against Φ at its corners
            _gather_slopes(extent, m, base, soff[full], o_full, phi, frac, inv_n / h, need, grad)
            if sd.shape[0] > 0:
                _unstandardise(m, x, sd, need, grad)
        # 6. reset the touched entries: the joint's occupied cells; the marginal tables whole where that is cheaper
        for i in range(nc):
            tab[occ[i]] = 0.0
            if with_grad:
                phi[occ[i] - o_full] = 0.0
        if o_full <= 8 * full * nc:
            tab[:o_full] = 0.0
            if with_grad:
                acc[:] = 0.0
                aux[:] = 0.0
        else:
            for i in range(nc):
                for g in range(full):
                    tab[mkey[i, g]] = 0.0
                    if with_grad:
                        acc[mkey[i, g]] = 0.0
                        aux[mkey[i, g]] = 0.0


@nb.njit(cache=True, nogil=True, error_model="numpy")
def scaled_gradients(grad_t, grad_s, g, out_t, out_s):
    """``out_t[j, m] = g[m] grad_t[m, j]`` and ``out_s[v, j, m] = g[m] grad_s[m, v, j]``: the gradients of
    :func:`binned_redundancies` times each neuron's incoming gradient, in the (batch, neurons) layout of each input and
    the outputs' dtype in one pass (the product in float64, then rounded to the outputs' dtype); an output with no
    batch rows (shape (0, M) or (n, 0, M)) is skipped and its gradient not read."""
    n_m = g.shape[0]
    n_src = out_s.shape[0]
    for m in range(n_m):
        if out_t.shape[0] > 0:
            for j in range(out_t.shape[0]):
                out_t[j, m] = grad_t[m, j] * g[m]
        if out_s.shape[1] > 0:
            for v in range(n_src):
                for j in range(out_s.shape[1]):
                    out_s[v, j, m] = grad_s[m, v, j] * g[m]


_SCRATCH = threading.local()  # per calling thread: the standardised copy of the last call's samples
#: Largest scratch array kept between calls (bytes); larger ones are allocated per call.
_SCRATCH_BYTES = 1 << 24


def _samples_scratch(shape: tuple[int, int, int]) -> np.ndarray:
    """A float64 (M, V, B) scratch array for the samples, kept per calling thread (up to ``_SCRATCH_BYTES``) and
    reused while the shape stays: a fresh array of a few MB can come from the system zeroed page by page at every
    call (about a thousand page faults for the benchmark's 100 neurons × 1024 samples, ~1 ms)."""
    x = getattr(_SCRATCH, "x", None)
    if x is not None and x.shape == shape:
        return x
    x = np.empty(shape)
    if x.nbytes <= _SCRATCH_BYTES:
        _SCRATCH.x = x
    return x


def _columns(s) -> tuple:
    """The sources as a tuple of (M, B) arrays of one numba type (columns of other types are copied to float64)."""
    cols = tuple(s[:, v] for v in range(s.shape[1])) if isinstance(s, np.ndarray) else tuple(s)
    if len({nb.typeof(c) for c in cols}) > 1:  # the kernel indexes the tuple: its members must share a type
        cols = tuple(np.ascontiguousarray(c, dtype=np.float64) for c in cols)
    return cols


def _check_values(bad, normalize: bool, rows) -> None:
    """The error for the first variable that :func:`_prepare` flagged: NaN or inf (or values too large to add up),
    or constant over the batch where the variables are standardised (the messages of the estimators' input checks);
    ``rows``: the target and the sources as given, each (M, B)."""
    not_finite = sorted(zip(*np.nonzero(bad == 1), strict=True), key=lambda nv: (nv[1] > 0, nv[0]))  # target first
    if not_finite:
        neuron, var = not_finite[0]
        name = "target" if var == 0 else "sources"
        if not np.isfinite(rows[var][neuron]).all():
            raise ValueError(f"{name} contains NaN or inf; drop or impute those samples first")
        big = float(np.abs(rows[var][neuron]).max())
        raise ValueError(f"{name} holds values too large to add up (|x| up to {big:.3g}); rescale them first")
    if normalize:
        neuron, var = (int(i[0]) for i in np.nonzero(bad == 2))
        raise ValueError(constant_message(neuron, var))


def binned_redundancies(
    t, s, h: float, rows, weights=None, threads: int = 1, normalize: bool = False, need_grad=(True, True)
):
    """Linear-binned redundancies ``I_α`` (M, R) in nats and, with ``weights``, the gradient of ``Σ_r w_r I_r``.

    Parameters
    ----------
    t : ndarray (M, B), float32 or float64, any strides
        Target of each neuron (standardised or not: the lattice is ``hℤ`` of these values).
    s : ndarray (M, n, B), or a sequence of n ndarrays (M, B)
        Sources, read where they are (views of other layouts need no copy).
    h : float
        Lattice spacing.
    rows : sequence of int
        Antichains (lattice order).
    weights : ndarray (M, R) or (R,), optional
        Weights of the rows per neuron; with them the gradient is computed in the same pass.
    threads : int
        Neurons are split over this many threads.
    normalize : bool
        Divide every variable of every neuron by its batch standard deviation (``ddof=0``) first; the gradient is
        carried back through it (to ``t`` and ``s`` as given).
    need_grad : (bool, bool)
        Whether the gradient of ``t`` and of ``s`` is wanted (with ``weights``); the other is not computed.

    Returns
    -------
    red : ndarray (M, R) float64
    grad_t, grad_s : ndarrays (M, B) and (M, n, B) float64, or None without ``weights`` or where not wanted
    """
    s = _columns(s)
    m, n_var, b_n = t.shape[0], len(s) + 1, t.shape[1]
    x = _samples_scratch((m, n_var, b_n))  # one C-contiguous float64 layout: one kernel per number of variables
    sd = np.ones((m, n_var))
    lo = np.empty((m, n_var), dtype=np.int64)
    hi = np.empty((m, n_var), dtype=np.int64)
    bad = np.empty((m, n_var), dtype=np.int8)
    _prepare(t, s, 1.0 / h, normalize, x, sd, lo, hi, bad)
    if bad.any():
        _check_values(bad, normalize, (t, *s))
    extent = (hi - lo).max(axis=0) + 2
    strides, offsets = _slot_strides(tuple(int(e) for e in extent))
    size = int(offsets[-1])
    threads = max(1, min(int(threads), m))
    n_full = int(np.prod(extent.astype(np.float64)))
    cap = b_n << n_var
    # per thread: P of every subset, A/B and the log sums off the joint, Φ on it; per occupied-cell slot its keys in
    # every subset's table and five numbers, per occupied source-cell slot its keys
    n_src_cells = int(np.prod(extent[1:].astype(np.float64)))
    slots, src_slots = min(cap, n_full), min(b_n << (n_var - 1), n_src_cells)
    n_bytes = threads * 8 * ((3 * size - n_full) + ((1 << n_var) + 5) * slots + (1 << n_var) * src_slots)
    check_memory(
        n_bytes,
        f"{threads} thread(s) × dense lattice tables of {size} cells (the joint has {' × '.join(map(str, extent))} "
        f"cells of width h = {h:.3g}) and {cap} occupied-cell slots",
        fix="use a larger bin_width, fewer sources or drop outlying samples",
    )
    ptr, gsets, coef = _plan(n_var - 1, tuple(int(r) for r in rows))
    with_grad = weights is not None
    red = np.empty((m, len(rows)))
    if with_grad:
        w = np.empty((m, len(rows)))
        w[:] = np.asarray(weights, dtype=np.float64)
        grad = np.empty((m, n_var, b_n))
    else:
        w = np.zeros((m, len(rows)))
        grad = np.empty((0, n_var, b_n))
    shape = tuple(int(e) for e in extent)  # a tuple: one compiled version per number of variables
    tables = (strides.astype(np.int64), offsets[:-1].astype(np.int64), size)
    sd = sd if with_grad and normalize else np.empty((0, n_var))
    need = np.array([bool(need_grad[0])] + [bool(need_grad[1])] * (n_var - 1))
    args = (x, sd, float(h), lo, shape, *tables, ptr, gsets, coef, w, with_grad, need, red, grad)
    _run(_binned_range, m, threads, *args)
    if not with_grad:
        return red, None, None
    return red, grad[:, 0] if need[0] else None, grad[:, 1:] if need[1] else None
