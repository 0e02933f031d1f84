r"""I_ccs, the common change in surprisal of Ince (2017), with pointwise values.

For an antichain with source sets ``A_1..A_k`` (each the joint variable of its sources), I_ccs is evaluated on
``q``, the maximum-entropy distribution of ``(A_1, ..., A_k, T)`` that keeps the joint distribution of the sources
``p(a_1, ..., a_k)`` and every source-target pair ``p(a_i, t)`` (Ince 2017, sec. 3.2). On each outcome ``e`` of
``q`` the pointwise co-information is

.. math::

    c(e) = \sum_{\emptyset \neq S \subseteq \{A_1, \dots, A_k, T\}} (-1)^{|S|} \log_2 q(e_S)

(for ``k = 1`` the pointwise mutual information ``i(a; t)``), and

.. math::

    I_\mathrm{ccs}(T; A_1, \dots, A_k) = \sum_e q(e)\, c(e)\,
        [\operatorname{sign} c(e) = \operatorname{sign} i(a_i; t)\ \forall i
         \ \text{and}\ \operatorname{sign} c(e) = \operatorname{sign} i(a_1 \dots a_k; t)],

i.e. only outcomes where the co-information and every pointwise source-target mutual information agree in sign
count. As in dit's ``PID_CCS`` (which this module reproduces), ``c`` and the pairwise ``i(a_i; t)`` are set to 0
when ``|value| <= 1e-8`` bits before the signs are compared. Defined for any number of sources.

The maximum-entropy distribution is found by iterative proportional fitting (IPF), started from the uniform
distribution on the observed source combinations times the target values, to a marginal deviation below ``1e-14``.
Where the constraints force some cells to zero that the start does not (induced structural zeros, e.g. the
three-bit sum, the AND of three bits), IPF converges only like ``1/iterations``. When IPF has not converged after
``IPF_FAST_ITER`` sweeps, Newton's method on the convex dual (:func:`_maxent_newton`) takes over: the cells that the
constraints force to zero decay geometrically under it, and the marginals reach ``NEWTON_TOL`` (1e-13) in a few dozen
steps. Only if that fails too (once in a sweep of dit's 40 distributions and 200 sparse random pmfs) is the
support of the maximum-entropy distribution (the largest support of any distribution meeting the constraints) found
by a linear program (HiGHS, through ``scipy.optimize.linprog``; one call for all such antichains) and IPF rerun on
that support, where it converges geometrically.

Pointwise values: the local redundancy of a realisation ``(s, t)`` of the data is ``c`` times its indicator at the
corresponding outcome ``(a_1, ..., a_k, t)`` of ``q``. Their average under ``q`` is I_ccs, but ``q`` differs from the
data's distribution for antichains of two or more sets, so the average of the local atoms over the data equals the
atoms only for the top part of the lattice (single-set antichains), not in general.

References
----------
R. A. A. Ince, "Measuring multivariate redundant information with pointwise common change in surprisal",
Entropy 19, 318 (2017).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pidlearn.redundancy._tables import SetTables, antichain_masks

__all__ = ["IPF_MAX_ITER", "IPF_TOL", "fit", "maxent", "redundancies"]

#: Convergence tolerance (largest deviation of a constrained marginal) of iterative proportional fitting.
IPF_TOL = 1e-14
#: Iteration budget of IPF on the full support (beyond it: Newton on the dual, see _maxent_newton).
IPF_FAST_ITER = 100
#: Iteration budget of the dual Newton method that takes over from a stalled IPF.
NEWTON_MAX_ITER = 200
#: Marginal deviation at which the dual Newton method stops (its rounding floor is ~1e-14).
NEWTON_TOL = 1e-13
#: Iteration budget of IPF on the support found by the linear program.
IPF_MAX_ITER = 200_000
_ZERO_BITS = 1e-8  # dit's np.isclose(value, 0.0)


@njit(cache=True)
def _maxent(q, elem, pj, pair, sizes_e, kt, tol, max_iter):
    """Iterative proportional fitting of ``q[j, t]`` to the row sums ``pj`` and the pair tables ``pair[i]``."""
    n_j = q.shape[0]
    k = elem.shape[1]
    width = pair.shape[1]
    marg = np.empty((width, kt))
    for _ in range(max_iter):
        dev = 0.0
        for j in range(n_j):
            s = 0.0
            for v in range(kt):
                s += q[j, v]
            dev = max(dev, abs(s - pj[j]))
            f = pj[j] / s if s > 0 else 0.0
            for v in range(kt):
                q[j, v] *= f
        for i in range(k):
            marg[: sizes_e[i], :] = 0.0
            for j in range(n_j):
                for v in range(kt):
                    marg[elem[j, i], v] += q[j, v]
            for a in range(sizes_e[i]):
                for v in range(kt):
                    dev = max(dev, abs(marg[a, v] - pair[i, a, v]))
            for j in range(n_j):
                a = elem[j, i]
                for v in range(kt):
                    q[j, v] = q[j, v] * pair[i, a, v] / marg[a, v] if marg[a, v] > 0 else 0.0
        if dev < tol:
            return q, True
    return q, False


@njit(cache=True)
def _maxent_newton(elem, pj, pair, sizes_e, kt, tol, max_iter):
    """Maximum-entropy ``q[j, t]`` by Newton's method on the dual, for constraints that IPF converges on slowly.

    ``q_c = exp(Σ_r θ_r)`` over the constraints ``r`` that cell ``c`` enters (its row ``j`` and its pair cells
    ``(a_i, t)``), and ``θ`` minimises the convex dual ``Σ_c q_c(θ) - Σ_r b_r θ_r`` (gradient ``M q - b``, Hessian
    ``M diag(q) Mᵀ``; a ridge of 1e-12 of its largest diagonal entry absorbs the redundant constraints). Where the
    constraints force cells to zero that no pair marginal does (induced structural zeros), ``θ`` runs off to
    infinity along a fixed direction; a damped Newton step advances it by a constant amount, so those cells decay
    geometrically (IPF: like ``1 / iterations``) and the marginals reach ``tol`` in a few dozen steps.
    Cells of a zero pair marginal are 0 from the start. Returns ``(q, converged)``.
    """
    n_j = elem.shape[0]
    k = elem.shape[1]
    offset = np.empty(k + 1, np.int64)
    offset[0] = n_j
    for i in range(k):
        offset[i + 1] = offset[i] + sizes_e[i] * kt
    n_rows = offset[k]
    b = np.empty(n_rows)
    b[:n_j] = pj
    for i in range(k):
        for a in range(sizes_e[i]):
            for v in range(kt):
                b[offset[i] + a * kt + v] = pair[i, a, v]
    # cells that no pair marginal forces to zero, and the constraint rows of each
    rows = np.empty((n_j * kt, k + 1), np.int64)
    cell = np.empty(n_j * kt, np.int64)
    n = 0
    for j in range(n_j):
        for v in range(kt):
            ok = True
            for i in range(k):
                if pair[i, elem[j, i], v] <= 0:
                    ok = False
            if ok:
                rows[n, 0] = j
                for i in range(k):
                    rows[n, i + 1] = offset[i] + elem[j, i] * kt + v
                cell[n] = j * kt + v
                n += 1
    theta = np.zeros(n_rows)
    for r in range(n_rows):
        if b[r] > 0:
            theta[r] = np.log(b[r]) / (k + 1)
    qc = np.empty(n)
    hess = np.empty((n_rows, n_rows))
    grad = np.empty(n_rows)
    converged = False
    for _ in range(max_iter):
        for c in range(n):
            s = 0.0
            for r in range(k + 1):
                s += theta[rows[c, r]]
            qc[c] = np.exp(s)
        grad[:] = -b
        hess[:, :] = 0.0
        for c in range(n):
            for r in range(k + 1):
                grad[rows[c, r]] += qc[c]
                for u in range(k + 1):
                    hess[rows[c, r], rows[c, u]] += qc[c]
        dev = np.abs(grad).max()
        if dev < tol:
            converged = True
            break
        ridge = 1e-12 * np.diag(hess).max()
        for r in range(n_rows):
            hess[r, r] += ridge if hess[r, r] > 0 else 1.0
        step_dir = -np.linalg.solve(hess, grad)
        value = qc.sum() - b @ theta
        slope = grad @ step_dir
        step = 1.0
        while step > 1e-12:
            trial = theta + step * step_dir
            total = 0.0
            for c in range(n):
                s = 0.0
                for r in range(k + 1):
                    s += trial[rows[c, r]]
                total += np.exp(s)
            if total - b @ trial <= value + 0.25 * step * slope:
                break
            step *= 0.5
        theta = theta + step * step_dir
    q = np.zeros((n_j, kt))
    for c in range(n):
        q[cell[c] // kt, cell[c] % kt] = qc[c]
    return q, converged


@njit(cache=True)
def _sign(x):
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


@njit(cache=True)
def fit(codes, sizes, t, kt, probs, sets, tol, max_iter, allowed):
    """Maximum-entropy ``q[j, t]`` of ``(A_1..A_k, T)`` with the marginals ``p(a_1..a_k)`` and every ``p(a_i, t)``.

    ``j`` runs over the observed joint values of the union of the source sets (bitmasks ``sets``); ``rep[j]`` is a
    support row with that value and ``jc`` the ``j`` of every support row. Fitted by IPF from the uniform
    distribution (restricted to ``allowed[j, t]`` when its shape is ``(n_j, kt)``; ``(0, 0)``: everywhere); when
    IPF has not converged within ``max_iter`` sweeps on the unrestricted support, by :func:`_maxent_newton`.

    Returns
    -------
    q, rep, jc, converged
    """
    m = t.shape[0]
    k = sets.shape[0]
    union = 0
    for i in range(k):
        union |= sets[i]
    n_j = sizes[union]
    jc = codes[union]
    rep = np.empty(n_j, np.int64)
    pj = np.zeros(n_j)
    for r in range(m):
        rep[jc[r]] = r
        pj[jc[r]] += probs[r]
    elem = np.empty((n_j, k), np.int64)
    sizes_e = np.empty(k, np.int64)
    width = 0
    for i in range(k):
        sizes_e[i] = sizes[sets[i]]
        width = max(width, sizes_e[i])
        for j in range(n_j):
            elem[j, i] = codes[sets[i], rep[j]]
    pair = np.zeros((k, width, kt))
    for i in range(k):
        for r in range(m):
            pair[i, codes[sets[i], r], t[r]] += probs[r]
    q = np.full((n_j, kt), 1.0 / (n_j * kt))
    if allowed.shape[0] == n_j:
        for j in range(n_j):
            for v in range(kt):
                if not allowed[j, v]:
                    q[j, v] = 0.0
    q, converged = _maxent(q, elem, pj, pair, sizes_e, kt, tol, max_iter)
    if not converged and allowed.shape[0] != n_j:
        q, converged = _maxent_newton(elem, pj, pair, sizes_e, kt, max(tol, NEWTON_TOL), NEWTON_MAX_ITER)
    return q, rep, jc, converged


@njit(cache=True)
def _ccs_antichain(codes, sizes, t, kt, probs, sets, tol, max_iter, zero, allowed):
    """I_ccs (bits) of one antichain given by its source-set bitmasks, the pointwise value of each support row, and
    whether IPF converged. ``allowed[j, t]`` (shape (n_j, kt), or (0, 0) for all) restricts the support of ``q``."""
    m = t.shape[0]
    k = sets.shape[0]
    q, rep, jc, converged = fit(codes, sizes, t, kt, probs, sets, tol, max_iter, allowed)
    n_j = q.shape[0]

    # log2 marginals of q for every non-empty subset S of (A_1..A_k, T); bit k of S is the target
    n_sub = 1 << (k + 1)
    coinfo = np.zeros((n_j, kt))
    logm = np.zeros((n_sub, n_j, kt))
    for s in range(1, n_sub):
        with_t = (s >> k) & 1
        u = 0
        size = 0
        for i in range(k):
            if (s >> i) & 1:
                u |= sets[i]
                size += 1
        size += with_t
        n_u = sizes[u] if u else 1
        cells = np.zeros(n_u * kt if with_t else n_u)
        for j in range(n_j):
            cu = codes[u, rep[j]] if u else 0
            for v in range(kt):
                cells[cu * kt + v if with_t else cu] += q[j, v]
        sign = -1.0 if size % 2 else 1.0
        for j in range(n_j):
            cu = codes[u, rep[j]] if u else 0
            for v in range(kt):
                if q[j, v] > 0:
                    lv = np.log2(cells[cu * kt + v if with_t else cu])
                    logm[s, j, v] = lv
                    coinfo[j, v] += sign * lv
    full = n_sub - 1
    sources_only = full ^ (1 << k)
    t_only = 1 << k
    red = 0.0
    point = np.zeros((n_j, kt))
    for j in range(n_j):
        for v in range(kt):
            if q[j, v] <= 0:
                continue
            c = coinfo[j, v]
            if abs(c) <= zero:
                c = 0.0
            sc = _sign(c)
            agree = sc == _sign(logm[full, j, v] - logm[sources_only, j, v] - logm[t_only, j, v])
            for i in range(k):
                pmi = logm[(1 << i) | t_only, j, v] - logm[1 << i, j, v] - logm[t_only, j, v]
                if abs(pmi) <= zero:
                    pmi = 0.0
                if _sign(pmi) != sc:
                    agree = False
            if agree:
                red += q[j, v] * c
                point[j, v] = c
    local = np.empty(m)
    for r in range(m):
        local[r] = point[jc[r], t[r]]
    return red, local, converged


@njit(cache=True)
def _ccs_all(codes, sizes, t, kt, probs, masks, tol, max_iter, zero):
    n_atoms, width = masks.shape
    avg = np.empty(n_atoms)
    local = np.empty((t.shape[0], n_atoms))
    converged = np.empty(n_atoms, np.bool_)
    everywhere = np.ones((0, 0), np.bool_)
    for a in range(n_atoms):
        k = 0
        while k < width and masks[a, k] != 0:
            k += 1
        red, loc, ok = _ccs_antichain(codes, sizes, t, kt, probs, masks[a, :k].copy(), tol, max_iter, zero, everywhere)
        avg[a] = red
        local[:, a] = loc
        converged[a] = ok
    return avg, local, converged


def _support_program(tables: SetTables, sets: np.ndarray):
    """Constraint blocks ``(A_eq, A_ub, n_cells, shape)`` of the support program of one antichain (see below)."""
    from scipy.sparse import csr_matrix, hstack, identity

    union = int(np.bitwise_or.reduce(sets))
    jc = tables.codes[union]
    n_j, kt = int(tables.sizes[union]), tables.kt
    rep = np.empty(n_j, np.int64)
    rep[jc] = np.arange(jc.shape[0])
    n_cells = n_j * kt
    cell_j = np.repeat(np.arange(n_j), kt)
    cell_t = np.tile(np.arange(kt), n_j)
    rows, rhs, offset = [np.stack([cell_j, np.arange(n_cells)])], [np.bincount(jc, tables.probs, n_j)], n_j
    for g in sets:
        key = tables.codes[g][rep][cell_j] * kt + cell_t
        rows.append(np.stack([offset + key, np.arange(n_cells)]))
        rhs.append(np.bincount(tables.codes[g] * kt + tables.t, tables.probs, int(tables.sizes[g]) * kt))
        offset += int(tables.sizes[g]) * kt
    idx = np.concatenate(rows, axis=1)
    a_mat = csr_matrix((np.ones(idx.shape[1]), (idx[0], idx[1])), shape=(offset, n_cells))
    b = np.concatenate(rhs)
    eye = identity(n_cells, format="csr")
    a_eq = hstack([a_mat, csr_matrix((offset, n_cells)), csr_matrix(-b[:, None])], format="csr")
    a_ub = hstack([-eye, eye, csr_matrix((n_cells, 1))], format="csr")
    return a_eq, a_ub, n_cells, (n_j, kt)


def _maxent_supports(tables: SetTables, antichains: list[np.ndarray]) -> list[np.ndarray]:
    """Cells ``(j, t)`` that some distribution with the constraints of :func:`_ccs_antichain` makes positive.

    One linear program per antichain over ``(x, y, s)``: maximise ``Σ y`` subject to ``A x = b s``,
    ``0 <= y <= x``, ``y <= 1``, ``x, s >= 0``, where ``A x = b`` are the marginal constraints. Any cell in the
    support of a feasible distribution can be made ``y = 1`` by scaling, so the optimum has ``y = 1`` exactly on the
    largest feasible support, which is the support of the maximum-entropy distribution. The programs of all
    antichains are solved as one block-diagonal program (one HiGHS call).
    """
    from scipy.optimize import linprog
    from scipy.sparse import block_diag

    blocks = [_support_program(tables, sets) for sets in antichains]
    a_eq = block_diag([b[0] for b in blocks], format="csr")
    a_ub = block_diag([b[1] for b in blocks], format="csr")
    cost, bounds = [], []
    for _, _, n_cells, _ in blocks:
        cost.append(np.concatenate([np.zeros(n_cells), -np.ones(n_cells), [0.0]]))
        bounds += [(0, None)] * n_cells + [(0, 1)] * n_cells + [(0, None)]
    res = linprog(
        np.concatenate(cost),
        A_ub=a_ub,
        b_ub=np.zeros(a_ub.shape[0]),
        A_eq=a_eq,
        b_eq=np.zeros(a_eq.shape[0]),
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - always feasible (the data's own distribution) and bounded
        raise RuntimeError(f"the support of the maximum-entropy distribution was not found: {res.message}")
    out, at = [], 0
    for _, _, n_cells, shape in blocks:
        out.append((res.x[at + n_cells : at + 2 * n_cells] > 0.5).reshape(shape))
        at += 2 * n_cells + 1
    return out


def maxent(tables: SetTables, sets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-entropy distribution of ``(A_1..A_k, T)`` with ``p(a_1..a_k)`` and every ``p(a_i, t)`` fixed.

    IPF from the uniform start; when it stalls (induced structural zeros), IPF again on the support found by
    :func:`_maxent_supports`.

    Parameters
    ----------
    tables : SetTables
    sets : ndarray of int64
        Bitmasks of the source sets ``A_1..A_k``.

    Returns
    -------
    q : ndarray, shape (n_j, kt)
        ``q[j, t]``, ``j`` the observed joint values of the union of the sets.
    rep, jc : ndarray of int64
        A support row of each ``j``, and the ``j`` of each support row.
    """
    args = (tables.codes, tables.sizes, tables.t, tables.kt, tables.probs)
    sets = np.ascontiguousarray(sets, dtype=np.int64)
    q, rep, jc, ok = fit(*args, sets, IPF_TOL, IPF_FAST_ITER, np.ones((0, 0), np.bool_))
    if not ok:
        allowed = _maxent_supports(tables, [sets])[0]
        q, rep, jc, _ = fit(*args, sets, IPF_TOL, IPF_MAX_ITER, allowed)
    return q, rep, jc


def redundancies(tables: SetTables) -> tuple[np.ndarray, np.ndarray]:
    """I_ccs of every antichain (lattice order) and its pointwise values on the support rows, in nats.

    Parameters
    ----------
    tables : SetTables
        The distribution's per-source-set tables.

    Returns
    -------
    average : ndarray, shape (n_atoms,)
        I_ccs of each antichain (an expectation under that antichain's maximum-entropy distribution).
    pointwise : ndarray, shape (m, n_atoms)
        The counted pointwise co-information at each support row's outcome (0 where the signs disagree).
    """
    masks = antichain_masks(tables.n)
    args = (tables.codes, tables.sizes, tables.t, tables.kt, tables.probs)
    avg, local, converged = _ccs_all(*args, masks, IPF_TOL, IPF_FAST_ITER, _ZERO_BITS)
    stalled = np.flatnonzero(~converged)
    if stalled.size:
        antichains = [masks[a][masks[a] != 0].copy() for a in stalled]
        for a, sets, allowed in zip(stalled, antichains, _maxent_supports(tables, antichains), strict=True):
            avg[a], local[:, a], _ = _ccs_antichain(*args, sets, IPF_TOL, IPF_MAX_ITER, _ZERO_BITS, allowed)
    ln2 = np.log(2.0)
    return avg * ln2, local * ln2
