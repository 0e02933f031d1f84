"""Fused CPU kernel of the sample-based SxPID redundancies, the goal and its gradient in θ (numba), per neuron.

The soft joint of a neuron is ``P(s, t) = Σ_{b: cell(b) = s} p_bt`` with ``p_b1 = θ_b / B``, ``p_b0 = (1 − θ_b) / B``.
Every quantity of the sample-based SxPID of :mod:`pidlearn.backends.torch.functional` depends on a sample only
through its joint cell, so the kernel works on the *occupied* cells (a few dozen for trained neurons, never more than
``B``) instead of on every sample and source set as the torch path does:

1. each sample's cell, the occupied cells, ``P(c, t)`` and the counts (one pass over the batch);
2. the marginal table of every source set ``g`` from the occupied cells, ``P(T = t, S_g = s_g)``;
3. per cell and antichain ``α``: ``D_t^α(c) = Σ_g C_αg P(T = t, S_g = s_g(c))`` (inclusion–exclusion),

       I_sx(α) = [Σ_{c,t} P(c, t) ln D_t^α(c) − Σ_c (n_c / B) ln P(∨α)(c) − Σ_t P(t) ln P(t)] / ln 2,

   with ``P(∨α)(c) = D_0^α(c) + D_1^α(c)`` a count over ``B`` (its log read from a table of ``ln k``);
4. for the goal ``G = Σ_α w_α I_sx(α)``: ``u_g(c, t) = Σ_α C_αg w_α P(c, t) / D_t^α(c)``, its sums over the cells
   of each marginal cell, and

       ∂G/∂θ_b = [Σ_α w_α (ln D_1^α − ln D_0^α)(c) + Σ_g (Σu_g(·, 1) − Σu_g(·, 0))(s_g(c)) − (Σ_α w_α) ln(P(1)/P(0))]
                 / (B ln 2),   c = cell(b),

   the expression of :func:`pidlearn.backends.torch.functional._theta_gradient` (derivation there) summed per cell.

Sums accumulate in float64; the tables and logs are in θ's dtype. Neurons are split over Python threads (the
kernels release the GIL), so no numba threading layer runs beside torch's. Both backends use it: the torch
backend through an autograd Function, the NumPy backend's local rule directly.

References
----------
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021).
"""

from __future__ import annotations

import concurrent.futures
import functools
import math

import numba as nb
import numpy as np

from pidlearn.lattice import lattice

__all__ = ["redundancies"]


@functools.cache
def _matrices_np(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusion–exclusion matrix ``C`` (n_atoms, 2^n − 1) and dense Möbius matrix ``M`` (n_atoms, n_atoms)."""
    lat = lattice(n)
    c = np.zeros((lat.n_atoms, (1 << n) - 1))
    for j, name in enumerate(lat.names):
        masks = lat.source_masks(name)
        k = len(masks)
        for sel in range(1, 1 << k):
            union = 0
            for i in range(k):
                if sel >> i & 1:
                    union |= masks[i]
            c[j, union - 1] += 1.0 if sel.bit_count() % 2 == 1 else -1.0
    return c, lat.mobius.toarray()


def _slot_strides(n_bins: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Row-major strides (2^n − 1, n) of each source set's table and the tables' offsets (2^n entries, last = size)."""
    n = len(n_bins)
    strides = np.zeros(((1 << n) - 1, n))
    offsets = np.zeros(1 << n)
    for g in range(1, 1 << n):
        members = [i for i in range(n) if g >> i & 1]
        step = 1
        for i in reversed(members):
            strides[g - 1, i] = step
            step *= n_bins[i]
        offsets[g] = offsets[g - 1] + step
    return strides, offsets


@nb.njit(cache=True, nogil=True)
def _neuron(j, theta, cols, n_bins, strides, offsets, ptr, sets, coef, w, ln_count, ws, grad, red, with_grad):
    """``red[j, r] = I_sx(α_r)`` (bits) and, ``with_grad``, ``grad[j, b] = ∂(Σ_r w_r I_sx(α_r))/∂θ_b`` of neuron ``j``.

    ``ws``: zeroed scratch, left zeroed.
    """
    hist, cnt, table, cell_of, cells, index_of, ckeys, u, gcell, src = ws
    b_n = theta.shape[1]
    n_src = len(cols)
    n_sets = strides.shape[0]
    n_rows = w.shape[0]
    dt = hist.dtype.type
    inv_b = dt(1.0 / b_n)
    # 1. each sample's full cell, the occupied cells in order of appearance, P(cell, t) and the counts
    n_cells = 0
    p0_sum = 0.0  # Σ (1 − θ), not B − Σ θ: P(T = 0) of a neuron that almost always fires keeps its digits
    p1_sum = 0.0
    for b in range(b_n):
        f = 0
        for i in range(n_src):
            f = f * n_bins[i] + cols[i][j, b]
        cell_of[b] = f
        th = dt(theta[j, b])
        p0_sum += 1.0 - np.float64(theta[j, b])  # exact for float32 θ too
        p1_sum += th
        if cnt[f] == 0:
            index_of[f] = n_cells
            cells[n_cells] = f
            for i in range(n_src):
                src[n_cells, i] = cols[i][j, b]
            n_cells += 1
        cnt[f] += 1
        hist[f, 0] += (dt(1.0) - th) * inv_b
        hist[f, 1] += th * inv_b
    # 2. the marginal tables of every source set, from the occupied cells
    for c in range(n_cells):
        f = cells[c]
        for g in range(n_sets):
            k = offsets[g]
            for i in range(n_src):
                k += strides[g, i] * src[c, i]
            ckeys[g, c] = k
            table[k, 0] += hist[f, 0]
            table[k, 1] += hist[f, 1]
    # 3. D_t^α per cell, I_sx and u_g = Σ_α C_αg w_α P(c, t) / D_t^α(c)
    ln_b = math.log(b_n)
    pt1 = p1_sum / b_n
    pt0 = p0_sum / b_n
    h_part = pt0 * math.log(pt0) + pt1 * math.log(pt1)
    for r in range(n_rows):
        red[j, r] = -h_part
    for c in range(n_cells):
        f = cells[c]
        q_0 = hist[f, 0]
        q_1 = hist[f, 1]
        gl = 0.0
        for r in range(n_rows):
            d0 = dt(0.0)
            d1 = dt(0.0)
            for e in range(ptr[r], ptr[r + 1]):
                k = ckeys[sets[e], c]
                d0 += dt(coef[e]) * table[k, 0]
                d1 += dt(coef[e]) * table[k, 1]
            l0 = np.log(d0)
            l1 = np.log(d1)
            count = int(np.rint((d0 + d1) * b_n))
            red[j, r] += q_0 * l0 + q_1 * l1 - cnt[f] * (ln_count[count] - ln_b) / b_n
            if not with_grad:
                continue
            wr = w[r]
            gl += wr * (l1 - l0)
            v0 = dt(wr) * q_0 / d0
            v1 = dt(wr) * q_1 / d1
            for e in range(ptr[r], ptr[r + 1]):
                u[sets[e], c, 0] += dt(coef[e]) * v0
                u[sets[e], c, 1] += dt(coef[e]) * v1
        gcell[c] = gl
    for r in range(n_rows):
        red[j, r] /= math.log(2.0)
    if with_grad:
        _gradient(j, n_cells, ptr, w, b_n, pt0, pt1, ws, grad)
    # 5. leave the scratch zeroed for the next neuron (only the touched entries)
    for c in range(n_cells):
        f = cells[c]
        hist[f, 0] = 0
        hist[f, 1] = 0
        cnt[f] = 0
        for g in range(n_sets):
            k = ckeys[g, c]
            table[k, 0] = 0
            table[k, 1] = 0
            u[g, c, 0] = 0
            u[g, c, 1] = 0


@nb.njit(cache=True, nogil=True)
def _gradient(j, n_cells, ptr, w, b_n, pt0, pt1, ws, grad):
    """Step 4 of :func:`_neuron`: cell sums of ``u`` per source set, then ``∂G/∂θ`` per cell and per sample."""
    table, cell_of, index_of, ckeys, u, gcell = ws[2], ws[3], ws[5], ws[6], ws[7], ws[8]
    n_sets = ckeys.shape[0]
    w_sum = 0.0
    for r in range(w.shape[0]):
        w_sum += w[r]
    for c in range(n_cells):
        for g in range(n_sets):
            k = ckeys[g, c]
            table[k, 0] = 0
            table[k, 1] = 0
    for c in range(n_cells):
        for g in range(n_sets):
            k = ckeys[g, c]
            table[k, 0] += u[g, c, 0]
            table[k, 1] += u[g, c, 1]
    shift = w_sum * (math.log(pt1) - math.log(pt0))
    scale = 1.0 / (b_n * math.log(2.0))
    for c in range(n_cells):
        s = 0.0
        for g in range(n_sets):
            k = ckeys[g, c]
            s += table[k, 1] - table[k, 0]
        gcell[c] = (gcell[c] + s - shift) * scale
    for b in range(b_n):
        grad[j, b] = gcell[index_of[cell_of[b]]]


@nb.njit(cache=True, nogil=True)
def _goal_range(
    j0, j1, theta, cols, n_bins, strides, offsets, size, ptr, sets, coef, w, ln_count, grad, red, with_grad
):
    """Neurons ``j0..j1 − 1`` with one set of scratch tables."""
    b_n = theta.shape[1]
    n_cells = 1
    for k in n_bins:
        n_cells *= k
    dtype = grad.dtype
    ws = (
        np.zeros((n_cells, 2), dtype=dtype),
        np.zeros(n_cells, dtype=np.int32),
        np.zeros((size, 2), dtype=dtype),
        np.empty(b_n, dtype=np.int64),
        np.empty(b_n, dtype=np.int64),
        np.empty(n_cells, dtype=np.int32),
        np.empty((strides.shape[0], b_n), dtype=np.int64),
        np.zeros((strides.shape[0], b_n, 2), dtype=dtype),
        np.empty(b_n, dtype=np.float64),
        np.empty((b_n, len(n_bins)), dtype=np.int64),
    )
    for j in range(j0, j1):
        _neuron(j, theta, cols, n_bins, strides, offsets, ptr, sets, coef, w, ln_count, ws, grad, red, with_grad)


_POOL: dict = {}  # threads -> ThreadPoolExecutor


def _run(kernel, n_neurons: int, threads: int, *args) -> None:
    """``kernel(j0, j1, *args)`` over the neurons, split into ``threads`` ranges run by Python threads (the kernels
    release the GIL; no numba threading layer beside torch's OpenMP pool)."""
    if threads <= 1:
        kernel(0, n_neurons, *args)
        return
    pool = _POOL.get(threads)
    if pool is None:
        pool = _POOL[threads] = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="pidlearn-goal")
    cuts = [c * n_neurons // threads for c in range(threads + 1)]
    jobs = [pool.submit(kernel, cuts[c], cuts[c + 1], *args) for c in range(threads)]
    for job in jobs:
        job.result()


@functools.cache
def _plan(n_bins: tuple[int, ...], rows: tuple[int, ...]):
    """Table layout and the goal's inclusion–exclusion rows as sparse arrays, once per shape (no per-step rebuild)."""
    strides, offsets = _slot_strides(n_bins)
    c_rows = _matrices_np(len(n_bins))[0][list(rows)]
    nz = np.nonzero(c_rows)
    ptr = np.searchsorted(nz[0], np.arange(len(rows) + 1)).astype(np.int64)
    return (
        strides.astype(np.int64),
        offsets[:-1].astype(np.int64),
        int(offsets[-1]),
        ptr,
        nz[1].astype(np.int64),
        c_rows[nz].astype(np.float64),
    )


@functools.cache
def _ln_counts(batch: int) -> np.ndarray:
    """``ln k`` for k = 0..batch (entry 0 unused)."""
    return np.log(np.maximum(np.arange(batch + 1, dtype=np.float64), 1.0))


def redundancies(theta, cols, n_bins, rows, weights=None, threads: int = 1):
    """``I_sx`` (N, R) float64 in bits of the antichains ``rows`` and, with ``weights`` (R,), the gradient (N, B) in
    θ's dtype of ``Σ_r w_r I_sx(α_r)`` with respect to θ (else None).

    Parameters
    ----------
    theta : ndarray (N, B) float32 or float64, in (0, 1)
    cols : tuple of n ndarrays (N, B) int32
        Bin indices per source, C-contiguous.
    n_bins : tuple of int
        Bins per source.
    rows : tuple of int
        Antichains (lattice order).
    weights : sequence of float, optional
    threads : int
        Neurons are split over this many threads.
    """
    n_neurons, b_n = theta.shape
    strides, offsets, size, ptr, sets, coef = _plan(tuple(n_bins), tuple(rows))
    with_grad = weights is not None
    grad = np.empty((n_neurons, b_n) if with_grad else (0, 0), dtype=theta.dtype)
    red = np.empty((n_neurons, len(rows)), dtype=np.float64)
    w = np.asarray(weights if with_grad else np.zeros(len(rows)), dtype=np.float64)
    k = np.asarray(n_bins, dtype=np.int64)
    args = (theta, cols, k, strides, offsets, size, ptr, sets, coef, w, _ln_counts(b_n), grad, red, with_grad)
    _run(_goal_range, n_neurons, max(1, min(threads, n_neurons)), *args)
    return red, (grad if with_grad else None)
