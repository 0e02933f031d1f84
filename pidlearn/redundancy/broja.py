r"""I_BROJA, the unique information of Bertschinger, Rauh, Olbrich, Jost & Ay (2014); two sources.

Let ``Δ_P`` be the distributions ``Q`` of ``(S_1, S_2, T)`` with the same source-target marginals as ``P``:
``Q(s_1, t) = P(s_1, t)`` and ``Q(s_2, t) = P(s_2, t)``. Then

.. math::

    U_1 = \min_{Q \in \Delta_P} I_Q(T; S_1 \mid S_2), \qquad
    I_\mathrm{BROJA}^{\cap} = I(T; S_1) - U_1 = \max_{Q \in \Delta_P} \mathrm{CoI}_Q(T; S_1; S_2),

and ``U_2 = I(T; S_2) - I^∩`` is the minimum of ``I_Q(T; S_2 | S_1)`` at the same ``Q``. Since
``I_Q(T; S_1 | S_2) = H_P(T | S_2) - H_Q(T | S_1 S_2)`` and ``H_P(T | S_2)`` is fixed on ``Δ_P``, the optimiser is
the ``Q`` of largest conditional entropy ``H_Q(T | S_1 S_2)``: a convex program (a concave objective on a polytope).
I_BROJA has no pointwise form.

Solver
------
A primal log-barrier interior-point method (Boyd & Vandenberghe, *Convex Optimization*, ch. 11), numba, no
dependency. The variables are ``q(s_1, s_2, t)`` on the cells with ``P(s_1, t) > 0`` and ``P(s_2, t) > 0`` (every
other cell is 0 in all of ``Δ_P``). The start ``q_0 = P(s_1, t) P(s_2, t) / P(t)`` lies in ``Δ_P`` and is positive
on every such cell, so the method needs no phase one. For ``τ = 1, 100, 10⁴, ...`` it minimises
``τ f(q) - Σ log q`` with ``f(q) = -H_Q(T | S_1 S_2) = Σ q log(q / q(s_1, s_2))`` under the linear marginal
constraints by Newton's method in the null space of the constraints (``q + Z y``: for each ``t`` the moves
``e(i,j) - e(i,c_0) - e(r_0,j) + e(r_0,c_0)`` of its grid of cells keep both marginals, so ``q`` stays feasible to
rounding; one dense solve of ``Zᵀ ∇²φ Z`` per step after a Jacobi scaling; backtracking line search inside
``q > 0``), until ``m / τ < 1e-10`` nats (``m`` cells), which bounds the gap to the optimum of ``f`` and so the
error of ``U_1``. Why this and not a general solver: the problem has at most a few hundred variables, Newton's method
reaches the optimum to 1e-10 in a few dozen steps, and the boundary optima that BROJA typically has (many cells at
0) are approached geometrically by the barrier path; conditional gradient converges only like ``1/k`` there, and
cvxpy + an exponential-cone solver (Makkeh, Theis & Vicente 2018) would add dependencies and ~10 ms of modelling
overhead per call.

References
----------
N. Bertschinger, J. Rauh, E. Olbrich, J. Jost and N. Ay, "Quantifying unique information", Entropy 16, 2161 (2014).
A. Makkeh, D. O. Theis and R. Vicente, "BROJA-2PID: A robust estimator for bivariate partial information
decomposition", Entropy 20, 271 (2018).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pidlearn.redundancy._tables import SetTables

__all__ = ["BARRIER_GAP", "optimum", "redundancies"]

#: Duality-gap bound (nats) at which the barrier method stops: ``m / τ`` below it.
BARRIER_GAP = 1e-10
_MU = 100.0  # growth of τ per outer step
_NEWTON_TOL = 1e-6  # half the squared Newton decrement at which centering stops (adds <= 1e-6 / τ to the gap)
_MAX_NEWTON = 200  # Newton steps per centering (typically 5-15)


@njit(cache=True)
def _objective(q, group, n_groups):
    """``f(q) = Σ q log(q / Q_g)`` (``Q_g`` the sum of ``q`` over the cells of group ``g = (s_1, s_2)``)."""
    qg = np.zeros(n_groups)
    for c in range(q.shape[0]):
        qg[group[c]] += q[c]
    f = 0.0
    for c in range(q.shape[0]):
        f += q[c] * np.log(q[c] / qg[group[c]])
    return f, qg


@njit(cache=True)
def _phi(q, tau, group, n_groups):
    if q.min() <= 0.0:
        return np.inf
    f, _ = _objective(q, group, n_groups)
    return tau * f - np.log(q).sum()


@njit(cache=True)
def _solve(q, group, n_groups, z, gap):
    """Minimise ``f`` over ``{q > 0 : A q = A q_0}`` by the barrier method from the strictly feasible ``q``.

    The steps are ``q + Z y`` with ``Z`` a basis of the null space of the constraints (integer entries), so ``q``
    stays feasible to rounding; the reduced Newton system ``Zᵀ ∇²φ Z`` is solved after a symmetric diagonal (Jacobi)
    scaling, which absorbs the barrier's ``1 / q²`` range as cells approach 0. Stops when ``m / τ < gap`` or when a
    Newton step no longer descends (the limit of double precision).
    """
    n = q.shape[0]
    dim = z.shape[1]
    if dim == 0:  # Δ_P is a single point
        return q, 0
    # ∇²f = diag(1/q) - Σ_g 1_g 1_gᵀ / Q_g, so Zᵀ ∇²φ Z = Zᵀ diag(τ/q + 1/q²) Z - τ Σ_g w_g w_gᵀ / Q_g, w_g = Zᵀ 1_g
    w = np.zeros((n_groups, dim))
    for c in range(n):
        w[group[c]] += z[c]
    zt = np.ascontiguousarray(z.T)
    # the columns of Z that each cell enters (at most (rows - 1)(cols - 1) of its target value's block)
    nz_ptr = np.zeros(n + 1, np.int64)
    for c in range(n):
        nz_ptr[c + 1] = nz_ptr[c] + np.count_nonzero(z[c])
    nz_col = np.empty(nz_ptr[n], np.int64)
    for c in range(n):
        nz_col[nz_ptr[c] : nz_ptr[c + 1]] = np.flatnonzero(z[c])
    grad = np.empty(n)
    diag = np.empty(n)
    hy = np.empty((dim, dim))
    wq = np.empty((n_groups, dim))
    tau = 1.0
    steps = 0
    while True:
        stalled = False
        for _ in range(_MAX_NEWTON):
            steps += 1
            _, qg = _objective(q, group, n_groups)
            for c in range(n):
                grad[c] = tau * np.log(q[c] / qg[group[c]]) - 1.0 / q[c]
                diag[c] = tau / q[c] + 1.0 / (q[c] * q[c])
            for g in range(n_groups):
                wq[g] = w[g] * (tau / qg[g])
            gy = zt @ grad
            hy[:, :] = -(w.T @ wq)
            for c in range(n):  # + Zᵀ diag Z, summed over the few columns each cell enters
                for u in range(nz_ptr[c], nz_ptr[c + 1]):
                    ku = nz_col[u]
                    zu = z[c, ku] * diag[c]
                    for v in range(nz_ptr[c], nz_ptr[c + 1]):
                        hy[ku, nz_col[v]] += zu * z[c, nz_col[v]]
            scale = 1.0 / np.sqrt(np.diag(hy))
            hs = hy * np.outer(scale, scale)
            dy = -np.linalg.solve(hs, gy * scale) * scale
            decrement = -(gy @ dy)
            if not decrement > 2.0 * _NEWTON_TOL:
                stalled = not decrement >= 0.0
                break
            dx = z @ dy
            step = 1.0
            for c in range(n):
                if dx[c] < 0:
                    step = min(step, -0.99 * q[c] / dx[c])
            phi0 = _phi(q, tau, group, n_groups)
            while step > 1e-14:
                if _phi(q + step * dx, tau, group, n_groups) <= phi0 - 0.25 * step * decrement:
                    break
                step *= 0.5
            if step <= 1e-14:
                stalled = True
                break
            q = q + step * dx
        if stalled or n / tau < gap:
            return q, steps
        tau *= _MU


@njit(cache=True)
def _setup(a, b, t, ka, kb, kt, probs):
    """Cells ``(s_1, s_2, t)`` allowed in ``Δ_P``, the start ``q_0``, the groups ``(s_1, s_2)`` and a basis ``Z`` of
    the directions that keep the marginals."""
    pat = np.zeros((ka, kt))
    pbt = np.zeros((kb, kt))
    pt = np.zeros(kt)
    for r in range(t.shape[0]):
        pat[a[r], t[r]] += probs[r]
        pbt[b[r], t[r]] += probs[r]
        pt[t[r]] += probs[r]
    n = 0
    for x in range(ka):
        for y in range(kb):
            for v in range(kt):
                if pat[x, v] > 0 and pbt[y, v] > 0:
                    n += 1
    ca = np.empty(n, np.int64)
    cb = np.empty(n, np.int64)
    cv = np.empty(n, np.int64)
    q = np.empty(n)
    group = np.empty(n, np.int64)
    gid = np.full((ka, kb), -1, np.int64)
    n_groups = 0
    c = 0
    for x in range(ka):
        for y in range(kb):
            for v in range(kt):
                if pat[x, v] > 0 and pbt[y, v] > 0:
                    ca[c], cb[c], cv[c] = x, y, v
                    q[c] = pat[x, v] * pbt[y, v] / pt[v]
                    if gid[x, y] < 0:
                        gid[x, y] = n_groups
                        n_groups += 1
                    group[c] = gid[x, y]
                    c += 1
    # null space of the marginal constraints: for each t the cells form the grid rows x cols (every combination is
    # allowed); the moves e(i,j) - e(i,c0) - e(r0,j) + e(r0,c0) keep every row and column sum
    idx = np.full((ka, kb, kt), -1, np.int64)
    for c in range(n):
        idx[ca[c], cb[c], cv[c]] = c
    dim = 0
    for v in range(kt):
        rows = 0
        cols = 0
        for x in range(ka):
            rows += pat[x, v] > 0
        for y in range(kb):
            cols += pbt[y, v] > 0
        if rows and cols:
            dim += (rows - 1) * (cols - 1)
    z = np.zeros((n, dim))
    k = 0
    for v in range(kt):
        r0 = -1
        c0 = -1
        for x in range(ka):
            if pat[x, v] > 0:
                r0 = x
        for y in range(kb):
            if pbt[y, v] > 0:
                c0 = y
        if r0 < 0 or c0 < 0:
            continue
        for x in range(ka):
            if pat[x, v] <= 0 or x == r0:
                continue
            for y in range(kb):
                if pbt[y, v] <= 0 or y == c0:
                    continue
                z[idx[x, y, v], k] += 1.0
                z[idx[x, c0, v], k] -= 1.0
                z[idx[r0, y, v], k] -= 1.0
                z[idx[r0, c0, v], k] += 1.0
                k += 1
    return q, ca, cb, cv, group, n_groups, z


@njit(cache=True)
def _conditional_mi(q, ca, cb, cv, group, n_groups, kb, kt):
    """``I_Q(T; S_1 | S_2) = Σ q log[q(s_1 s_2 t) q(s_2) / (q(s_1 s_2) q(s_2 t))]`` (nats)."""
    qg = np.zeros(n_groups)
    qb = np.zeros(kb)
    qbt = np.zeros((kb, kt))
    for c in range(q.shape[0]):
        qg[group[c]] += q[c]
        qb[cb[c]] += q[c]
        qbt[cb[c], cv[c]] += q[c]
    out = 0.0
    for c in range(q.shape[0]):
        if q[c] > 0:
            out += q[c] * np.log(q[c] * qb[cb[c]] / (qg[group[c]] * qbt[cb[c], cv[c]]))
    return out


def optimum(tables: SetTables) -> tuple[np.ndarray, float]:
    """The BROJA optimiser ``Q`` on its cells and ``U_1 = I_Q(T; S_1 | S_2)`` (nats) of a two-source distribution.

    Returns
    -------
    q : ndarray, shape (n_cells, 4)
        Columns ``(s_1, s_2, t, Q(s_1, s_2, t))`` (codes of :class:`SetTables`).
    unique_1 : float
    """
    kb, kt = int(tables.sizes[2]), tables.kt
    q, ca, cb, cv, group, n_groups, z = _setup(
        tables.codes[1], tables.codes[2], tables.t, int(tables.sizes[1]), kb, kt, tables.probs
    )
    q, _ = _solve(q, group, n_groups, z, BARRIER_GAP)
    u1 = _conditional_mi(q, ca, cb, cv, group, n_groups, kb, kt)
    return np.column_stack([ca, cb, cv, q]), u1


def redundancies(tables: SetTables) -> tuple[np.ndarray, None]:
    """I_BROJA redundancies of the two-source lattice ``{1}{2}, {1}, {2}, {12}`` in nats, and None (no pointwise form).

    Parameters
    ----------
    tables : SetTables
        Tables of a two-source distribution.

    Returns
    -------
    average : ndarray, shape (4,)
        ``(I(T; S_1) - U_1, I(T; S_1), I(T; S_2), I(T; S_1 S_2))``.
    pointwise : None
    """
    mi = tables.mutual_information
    _, u1 = optimum(tables)
    return np.array([mi[1] - u1, mi[1], mi[2], mi[3]]), None
