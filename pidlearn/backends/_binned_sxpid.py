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

Per neuron the kernel works on the *occupied* cells of the joint (at most ``2^{n+1} N``): one pass over the samples
scatters ``P`` onto a dense lattice slot index; the marginal table of every subset of the variables is filled from the
occupied cells; ``D``, ``U``, the logs, ``Φ`` and the scatters of ``A``, ``B`` are evaluated once per occupied cell;
and, with a gradient, one more pass over the samples gathers ``Φ`` at their corners. The tables are dense, sized from
the occupied index range of each variable over the neurons (:func:`binned_redundancies` refuses them past the memory
limit), and only their touched entries are reset between neurons.

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

import numba as nb
import numpy as np

from pidlearn.backends._goal_kernels import _matrices_np, _run, _slot_strides
from pidlearn.backends._settings import check_memory

__all__ = [
    "BIN_WIDTH_C",
    "binned_redundancies",
    "check_bin_width",
    "check_method",
    "default_bin_width",
    "lattice_cells",
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


def lattice_cells(x: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowest cell ``⌊min x / h⌋`` per neuron and variable (M, V) int64, and the table extent per variable (V,):
    the occupied index range over the neurons plus the upper corner."""
    lo = np.floor(x.min(axis=-1) * (1.0 / h))  # x · (1/h), as the kernel and the dense path compute u
    hi = np.floor(x.max(axis=-1) * (1.0 / h))
    extent = (hi - lo).max(axis=0) + 2
    return lo.astype(np.int64), extent.astype(np.int64)


@nb.njit(cache=True, nogil=True)
def _prepare(x, inv_h, normalize, sd, lo, hi):
    """In place: ``x`` (M, V, B) divided by its standard deviation over the batch (``ddof=0``, into ``sd``) if
    ``normalize``; ``lo``, ``hi`` the lowest and highest cell ``⌊x / h⌋`` of each neuron and variable."""
    b_n = x.shape[2]
    for m in range(x.shape[0]):
        for v in range(x.shape[1]):
            if normalize:
                mean = 0.0
                for j in range(b_n):
                    mean += x[m, v, j]
                mean /= b_n
                var = 0.0
                for j in range(b_n):
                    var += (x[m, v, j] - mean) ** 2
                sd[m, v] = math.sqrt(var / b_n)
                inv = 1.0 / sd[m, v]
                for j in range(b_n):
                    x[m, v, j] *= inv
            low = x[m, v, 0]
            high = low
            for j in range(b_n):
                low = min(low, x[m, v, j])
                high = max(high, x[m, v, j])
            lo[m, v] = np.int64(np.floor(low * inv_h))
            hi[m, v] = np.int64(np.floor(high * inv_h))


@functools.cache
def _plan(n: int, rows: tuple[int, ...]):
    """The antichains ``rows`` as sparse inclusion–exclusion rows: pointers, source-set masks ``g``, ``κ[α, g]``."""
    c_rows = _matrices_np(n)[0][list(rows)]
    nz = np.nonzero(c_rows)
    ptr = np.searchsorted(nz[0], np.arange(len(rows) + 1)).astype(np.int64)
    return ptr, (nz[1] + 1).astype(np.int64), c_rows[nz].astype(np.float64)


@nb.njit(cache=True, nogil=True, inline="always")
def _corner_slopes(n_var, frac, j, pc, buf, out):
    """``out[v] = ∂/∂f_v`` of the multilinear interpolation ``Σ_q Π_v (f_v or 1 − f_v) pc[q]`` of the corner values
    ``pc`` at sample ``j``'s fractions (bit ``v`` of ``q`` set: the upper cell of ``v``), by reducing one variable at a
    time and carrying the derivatives; ``buf``: scratch (V + 1, 2^V); ``n_var = V``."""
    size = 1 << n_var
    for q in range(size):
        buf[0, q] = pc[q]
    for d in range(n_var - 1, -1, -1):
        half = size >> 1
        f = frac[d, j]
        g = 1.0 - f
        for q in range(half):
            lo = buf[0, q]
            hi = buf[0, q + half]
            buf[0, q] = g * lo + f * hi
            buf[1 + d, q] = hi - lo
            for k in range(d + 1, n_var):
                buf[1 + k, q] = g * buf[1 + k, q] + f * buf[1 + k, q + half]
        size = half
    for v in range(n_var):
        out[v] = buf[1 + v, 0]


@nb.njit(cache=True, nogil=True)
def _scatter_joint(extent, m, x, inv_h, inv_n, lo, stride, coff, o_full, tab, keys, coord, base, frac):
    """Step 1 of :func:`_binned_range` for neuron ``m``: each sample's cells and fractions (``base``: the key of its
    lowest corner, ``frac`` (V, N)), ``P`` added to the joint's table ``tab`` at its corners, and the occupied cells'
    keys in ``keys`` and cell indices in ``coord`` (cells, V), in order of appearance; returns their number."""
    n_var = len(extent)
    n_corner = 1 << n_var
    cw = np.empty(n_corner)
    cell = np.empty(n_var, dtype=np.int64)
    nc = 0
    for j in range(x.shape[2]):
        k = o_full
        for v in range(n_var):
            u = x[m, v, j] * inv_h
            a = np.floor(u)
            frac[v, j] = u - a
            cell[v] = np.int64(a) - lo[m, v]
            k += stride[v] * cell[v]
        base[j] = k
        cw[0] = 1.0
        half = 1
        for v in range(n_var):
            fv = frac[v, j]
            for q in range(half):
                cw[q + half] = cw[q] * fv
                cw[q] *= 1.0 - fv
            half *= 2
        for q in range(n_corner):
            wq = cw[q]
            if wq > 0.0:
                key = k + coff[q]
                if tab[key] == 0.0:
                    keys[nc] = key
                    for v in range(n_var):
                        coord[nc, v] = cell[v] + (q >> v & 1)
                    nc += 1
                tab[key] += wq * inv_n
    return nc


@nb.njit(cache=True, nogil=True)
def _gather_slopes(extent, m, base, coff, o_full, phi, frac, scale, grad):
    """Step 5 of :func:`_binned_range`: ``grad[m, v, j] = scale · ∂/∂f_v`` of ``Φ`` interpolated at each sample's
    corners (``Φ = 0`` at a corner of zero weight that no sample occupies, ``P = 0`` there: the one-sided derivative
    of the empty side)."""
    n_var = len(extent)
    n_corner = 1 << n_var
    pc = np.empty(n_corner)
    buf = np.empty((n_var + 1, n_corner))
    slope = np.empty(n_var)
    for j in range(base.shape[0]):
        k = base[j] - o_full
        for q in range(n_corner):
            pc[q] = phi[k + coff[q]]
        _corner_slopes(n_var, frac, j, pc, buf, slope)
        for v in range(n_var):
            grad[m, v, j] = slope[v] * scale


@nb.njit(cache=True, nogil=True)
def _unstandardise(m, y, sd, grad):
    """``∂G/∂x = (g − ŷ ⟨g y⟩) / σ`` in place of ``g = ∂G/∂y`` for ``y = x / σ``, ``σ² = ⟨(x − ⟨x⟩)²⟩``, ``ŷ = y − ⟨y⟩``
    (means over the batch), for each variable of neuron ``m``."""
    b_n = y.shape[2]
    for v in range(y.shape[1]):
        mean = 0.0
        gy = 0.0
        for j in range(b_n):
            mean += y[m, v, j]
            gy += grad[m, v, j] * y[m, v, j]
        mean /= b_n
        gy /= b_n
        inv = 1.0 / sd[m, v]
        for j in range(b_n):
            grad[m, v, j] = (grad[m, v, j] - (y[m, v, j] - mean) * gy) * inv


@nb.njit(cache=True, nogil=True)
def _binned_range(j0, j1, x, sd, h, lo, extent, strides, offsets, size, ptr, gsets, coef, w, with_grad, red, grad):
    """Redundancies ``red[m, r]`` (nats) and, ``with_grad``, ``grad[m, v, j] = ∂(Σ_r w[m, r] I_r)/∂x[m, v, j]`` of
    neurons ``j0..j1 − 1``, with one set of scratch tables (module docstring).

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
    acc = np.zeros(size)  # the scatters A (subsets with the target) and B (without)
    aux = np.zeros(size)  # Σ_α w_α ln U_α per source cell, (Σ_α w_α) ln P_T per target cell
    phi = np.zeros(n_full if with_grad else 0)  # Φ on the joint lattice, 0 off the occupied cells
    cap = min(b_n * n_corner, n_full)
    mkey = np.empty((n_sub, cap), dtype=np.int64)
    coord = np.empty((cap, n_var), dtype=np.int64)
    srep = np.empty(cap, dtype=np.int64)
    trep = np.empty(cap, dtype=np.int64)
    base = np.empty(b_n, dtype=np.int64)
    frac = np.empty((n_var, b_n))
    coff = np.zeros(n_corner, dtype=np.int64)
    for q in range(n_corner):
        for v in range(n_var):
            if q >> v & 1:
                coff[q] += strides[full, v]
    inv_n = 1.0 / b_n
    inv_h = 1.0 / h
    o_full = offsets[full]
    for m in range(j0, j1):
        # 1. cells and fractions; P on the joint lattice, listing the occupied cells
        nc = _scatter_joint(
            extent, m, x, inv_h, inv_n, lo, strides[full], coff, o_full, tab, mkey[full], coord, base, frac
        )
        # 2. the marginal table of every other subset of the variables, from the occupied cells, listing the
        # occupied source cells (subset ``src``: all sources) and target cells (subset 0) by a representative cell
        ns = 0
        nt = 0
        for i in range(nc):
            p = tab[mkey[full, i]]
            for g in range(full):
                key = offsets[g]
                for v in range(n_var):
                    key += strides[g, v] * coord[i, v]
                mkey[g, i] = key
                if tab[key] == 0.0:
                    if g == src:
                        srep[ns] = i
                        ns += 1
                    elif g == 0:
                        trep[nt] = i
                        nt += 1
                tab[key] += p
        # 3. I_α = Σ_c P(c) ln D_α(c) − Σ_{c_S} P(c_S) ln U_α(c_S) − Σ_t P(t) ln P(t): each log once per occupied
        # cell of its own table; with the gradient, Φ's log parts and the scatters of A (per cell) and B (per source
        # cell)
        w_sum = 0.0
        for r in range(n_rows):
            red[m, r] = 0.0
            if with_grad:
                w_sum += w[m, r]
        for i in range(nc):
            p = tab[mkey[full, i]]
            ph = 0.0
            for r in range(n_rows):
                d = 0.0
                for e in range(ptr[r], ptr[r + 1]):
                    d += coef[e] * tab[mkey[2 * gsets[e], i]]  # subset {T} ∪ g: mask 2g + 1
                d = max(d, p)  # D ≥ P(c) exactly; the max only guards the rounding of the inclusion–exclusion sum
                val = math.log(d)
                red[m, r] += p * val
                if with_grad:
                    wr = w[m, r]
                    if wr != 0.0:
                        ph += wr * val
                        a_part = p * wr / d
                        for e in range(ptr[r], ptr[r + 1]):
                            acc[mkey[2 * gsets[e], i]] += coef[e] * a_part
            if with_grad:
                phi[mkey[full, i] - o_full] = ph
        for k in range(ns):
            i = srep[k]
            p = tab[mkey[src, i]]
            ps = 0.0
            for r in range(n_rows):
                um = 0.0
                for e in range(ptr[r], ptr[r + 1]):
                    um += coef[e] * tab[mkey[2 * gsets[e] - 1, i]]  # subset g: mask 2g
                um = max(um, p)  # U ≥ P(c_S) exactly
                val = math.log(um)
                red[m, r] -= p * val
                if with_grad:
                    wr = w[m, r]
                    if wr != 0.0:
                        ps += wr * val
                        b_part = p * wr / um
                        for e in range(ptr[r], ptr[r + 1]):
                            acc[mkey[2 * gsets[e] - 1, i]] += coef[e] * b_part
            aux[mkey[src, i]] = ps
        for k in range(nt):
            p = tab[mkey[0, trep[k]]]
            val = math.log(p)
            for r in range(n_rows):
                red[m, r] -= p * val
            aux[mkey[0, trep[k]]] = w_sum * val
        if with_grad:
            # 4. Φ(c) = Σ_α w_α [ln D_α − ln U_α − ln P_T](c) + Σ_g A_g − B_g (A on the subsets with the target,
            # B on those without)
            for i in range(nc):
                s_sum = -aux[mkey[src, i]] - aux[mkey[0, i]]
                for g in range(1, n_sub):
                    if g & 1:  # index g odd = mask g + 1 even: no target
                        s_sum -= acc[mkey[g, i]]
                    else:
                        s_sum += acc[mkey[g, i]]
                phi[mkey[full, i] - o_full] += s_sum
            # 5. per sample: the slopes of its multilinear weights against Φ at its corners
            _gather_slopes(extent, m, base, coff, o_full, phi, frac, inv_n / h, grad)
            if sd.shape[0] > 0:
                _unstandardise(m, x, sd, grad)
        # 6. reset the touched entries
        for i in range(nc):
            if with_grad:
                phi[mkey[full, i] - o_full] = 0.0
            for g in range(n_sub):
                tab[mkey[g, i]] = 0.0
                acc[mkey[g, i]] = 0.0
                aux[mkey[g, i]] = 0.0


def binned_redundancies(t, s, h: float, rows, weights=None, threads: int = 1, normalize: bool = False):
    """Linear-binned redundancies ``I_α`` (M, R) in nats and, with ``weights``, the gradient of ``Σ_r w_r I_r``.

    Parameters
    ----------
    t : ndarray (M, B) float64
        Target of each neuron (standardised or not: the lattice is ``hℤ`` of these values).
    s : ndarray (M, n, B) float64
        Sources.
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

    Returns
    -------
    red : ndarray (M, R) float64
    grad_t, grad_s : ndarrays (M, B) and (M, n, B) float64, or None without ``weights``
    """
    m, n_var, b_n = s.shape[0], s.shape[1] + 1, s.shape[2]
    x = np.empty((m, n_var, b_n))  # one C-contiguous float64 layout: one compiled kernel per number of variables
    x[:, 0] = t
    x[:, 1:] = s
    sd = np.ones((m, n_var))
    lo = np.empty((m, n_var), dtype=np.int64)
    hi = np.empty((m, n_var), dtype=np.int64)
    _prepare(x, 1.0 / h, normalize, sd, lo, hi)
    extent = (hi - lo).max(axis=0) + 2
    strides, offsets = _slot_strides(tuple(int(e) for e in extent))
    size = int(offsets[-1])
    threads = max(1, min(int(threads), m))
    n_full = int(np.prod(extent.astype(np.float64)))
    cap = b_n << n_var
    n_bytes = threads * (8 * (3 * size + n_full) + 8 * (1 << n_var) * min(cap, n_full))
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
    _run(_binned_range, m, threads, x, sd, float(h), lo, shape, *tables, ptr, gsets, coef, w, with_grad, red, grad)
    if not with_grad:
        return red, None, None
    return red, grad[:, 0], grad[:, 1:]
