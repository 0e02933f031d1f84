"""The analytic local learning rule: SxPID goal of each neuron and its exact derivative, in numba (no autograd).

Each neuron ``j`` sees a batch of ``B`` samples: bin indices ``s_b`` of its ``n`` input classes and its firing
probability ``θ_b = P(Y = 1)``. Its soft joint is ``P(s, y) = (1/B) Σ_b θ_b(y) 1[s_b = s]`` with ``θ_b(1) = θ_b``,
``θ_b(0) = 1 − θ_b``, and its goal ``G = Σ_α γ_α Π(α) + γ_res H_res`` (see :mod:`pidlearn.goals`).

The derivative in closed form
-----------------------------
Write ``D_β(s, y) = P(y, ∨_{a∈β} 𝔞(s))`` and ``D_β(s) = P(∨_{a∈β} 𝔞(s))``. The average redundancies are
``I_β = Σ_{s,y} P(s, y) [log D_β(s, y) − log P(y) − log D_β(s)]`` (bits). With ``Π = M I`` (Möbius matrix of
:mod:`pidlearn.lattice`) and ``H_res = H(Y) − Σ_α Π(α)`` the goal is

    G = Σ_β w_β I_β + γ_res H(Y),        w = Mᵀ (γ − γ_res 1).

The source marginal ``P(s) = (1/B) #{b : s_b = s}`` does not depend on θ, so ``D_β(s)`` is a constant and

    ∂G/∂P(u, y) = (1/ln 2) [ Σ_β w_β ( log D_β(u, y) + A_β(u, y) ) − W (log P(y) + 1) ],
    A_β(u, y)  = Σ_s P(s, y) 1[s ∈ E_β(u)] / D_β(s, y),     W = Σ_β w_β + γ_res,

where ``E_β(u)`` is the set of cells that agree with ``u`` on some source set of ``β`` (agreement is symmetric:
``s ∈ E_β(u) ⇔ u ∈ E_β(s)``, which turns the derivative of ``D_β(s, y)`` into ``A_β``). Finally
``∂P(u, y)/∂θ_b = ±(1/B) 1[u = s_b]`` (``+`` for ``y = 1``), so

    ∂G/∂θ_b = (1/B) [∂G/∂P(s_b, 1) − ∂G/∂P(s_b, 0)]                       (the constants cancel).

Evaluation on the batch (never on the ``K^n × 2`` joint)
---------------------------------------------------------
``D_β`` depends only on the cell, so everything runs per neuron on its *occupied cells* (at most ``B``), weighted
by their masses ``P(s, y)``: the marginal masses ``P(S_h = s_h, y)`` of all source sets ``h`` are read from small
scatter tables; the superset Möbius transform of the estimator core (``pidlearn.sxpid._superset_moebius``) turns
them into the masses ``W_y[g]`` of cells that agree with ``s`` on exactly the sources in ``g``; ``D_β = Σ_{g ∈ ↑β}
W[g]`` is summed down the lattice's spanning tree of covers (``Lattice._cover_parent`` / ``_cover_added``, as the
core does). ``Σ_β w_β A_β`` is the adjoint of the same three linear maps, applied in reverse: up the cover tree, the
transposed (subset) Möbius transform — the core's superset kernel on complemented set indices — and a scatter of
each cell's adjoint masses into the same tables, read back at every cell. Cost per neuron:
``O(cells · (2^n · n + n_atoms))`` plus the tables' size.

References
----------
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021).
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numba
import numpy as np
from numba import njit, prange

from pidlearn.backends._settings import check_memory, table_size
from pidlearn.goals import goal_vector
from pidlearn.lattice import lattice
from pidlearn.sxpid import _superset_moebius

__all__ = ["GoalGradient", "atom_names", "goal_weights", "sxpid_goal_gradient"]

_LOG2 = math.log(2.0)


class GoalGradient(NamedTuple):
    """Goal, atoms and the analytic ``∂G/∂θ`` of each neuron on one batch.

    Attributes
    ----------
    goal : ndarray (neurons,)
        ``G_j = Σ_α γ_α Π_j(α) + γ_res H_res,j`` in bits.
    atoms : ndarray (neurons, n_atoms)
        SxPID atoms ``Π_j(α)`` in bits, lattice order (:func:`atom_names`).
    residual_entropy : ndarray (neurons,)
        ``H_res = H(Y) − I(Y; S)`` in bits.
    dtheta : ndarray (batch, neurons)
        ``∂G_j / ∂θ_{b,j}``.
    """

    goal: np.ndarray
    atoms: np.ndarray
    residual_entropy: np.ndarray
    dtheta: np.ndarray


def atom_names(n_sources: int) -> tuple[str, ...]:
    """Names of the atoms for ``n_sources`` sources, in the order of every atom vector (``{1}{2}, {1}, {2}, {12}``)."""
    return lattice(n_sources).names


@functools.cache
def _mobius_dense(n: int) -> np.ndarray:
    m = lattice(n).mobius.toarray()
    m.setflags(write=False)
    return m


def goal_weights(goal, n_sources: int) -> tuple[np.ndarray, float, np.ndarray, float]:
    """γ (lattice order), γ_res, and the redundancy weights ``w = Mᵀ(γ − γ_res 1)`` with ``W = Σ w + γ_res``.

    Raises the :func:`pidlearn.goals.goal_vector` errors (unknown atom names, presets for another number of sources).
    """
    gamma, gamma_res = goal_vector(goal, n_sources)
    gamma = np.asarray(gamma, dtype=np.float64)
    w = _mobius_dense(n_sources).T @ (gamma - gamma_res)
    return gamma, float(gamma_res), np.ascontiguousarray(w), float(w.sum() + gamma_res)


# --------------------------------------------------------------------------------------------------------------------
# numba kernels (clean inputs: theta (B, N) float64 in (0, 1), bins (B, N, n) int64 in range)
# --------------------------------------------------------------------------------------------------------------------
@njit(cache=True)
def _neuron(theta, bins, j, radix, offsets, parent, added, w, w_total, active, buf, grad, red_t, red_s):
    """Goal gradient of neuron ``j`` into ``grad[:, j]``; ``Σ_{s,y} P(s,y) log D_β(s,y)`` and ``Σ_s P(s) log D_β(s)``
    into ``red_t`` / ``red_s`` for the antichains with ``active``. Returns ``P(Y = 0), P(Y = 1)``.

    ``D_β`` depends on the cell only, so the logs and adjoints are evaluated once per occupied cell, weighted by the
    cell's mass ``P(s, y)``. ``buf`` = (table, adj, cell_id, keys, rep, cell_of, g_cell) scratch arrays, all zero /
    -1 on entry and left so on exit.
    """
    table, adj, cell_id, keys, rep, cell_of, g_cell = buf
    b_count, _, n = bins.shape
    n_masks = 1 << n
    full = n_masks - 1
    n_atoms = parent.shape[0]
    inv_b = 1.0 / b_count
    # flat index of each sample's cell in the concatenated marginal tables of the source sets h = 1 .. 2^n - 1
    for b in range(b_count):
        for h in range(1, n_masks):
            k = 0
            for i in range(n):
                if h >> i & 1:
                    k = k * radix[i] + bins[b, j, i]
            keys[b, h] = offsets[h] + k
    p0_tot = 0.0
    p1_tot = 0.0
    n_cells = 0
    for b in range(b_count):
        p1 = theta[b, j] * inv_b
        p0 = (1.0 - theta[b, j]) * inv_b
        p0_tot += p0
        p1_tot += p1
        for h in range(1, n_masks):
            table[keys[b, h], 0] += p0
            table[keys[b, h], 1] += p1
        cell = keys[b, full] - offsets[full]
        if cell_id[cell] < 0:
            cell_id[cell] = n_cells
            rep[n_cells] = b
            n_cells += 1
        cell_of[b] = cell_id[cell]
    log_ratio = math.log(p1_tot) - math.log(p0_tot)
    mass = np.empty((2, n_masks))
    disj = np.empty((2, n_atoms))
    back = np.empty((2, n_atoms))
    for c in range(n_cells):
        b = rep[c]
        for y in range(2):
            mass[y, 0] = p0_tot if y == 0 else p1_tot
            for h in range(1, n_masks):
                mass[y, h] = table[keys[b, h], y]
        pc0 = mass[0, full]  # P(s, y) of this cell
        pc1 = mass[1, full]
        _superset_moebius(mass)  # -> mass of cells agreeing with s on exactly the sources in g
        for y in range(2):
            for g in range(n_masks):
                if mass[y, g] < 0.0:  # rounding below zero
                    mass[y, g] = 0.0
            for a in range(n_atoms - 1, -1, -1):  # D_β = Σ_{g ∈ ↑β} W[g], down the cover tree
                par = parent[a]
                disj[y, a] = mass[y, added[a]] + (disj[y, par] if par >= 0 else 0.0)
        acc = 0.0
        for a in range(n_atoms):
            if active[a]:
                l0 = math.log(disj[0, a])
                l1 = math.log(disj[1, a])
                red_t[a] += pc0 * l0 + pc1 * l1
                red_s[a] += (pc0 + pc1) * math.log(disj[0, a] + disj[1, a])
                acc += w[a] * (l1 - l0)
            back[0, a] = w[a] * pc0 / disj[0, a]
            back[1, a] = w[a] * pc1 / disj[1, a]
        g_cell[c] = acc - w_total * log_ratio
        # adjoint of D_β = Σ_{g ∈ ↑β} W[g]: up the cover tree (children come before their parents)
        for y in range(2):
            for g in range(n_masks):
                mass[y, g] = 0.0
            for a in range(n_atoms):
                mass[y, full ^ added[a]] += back[y, a]  # complemented index, see below
                if parent[a] >= 0:
                    back[y, parent[a]] += back[y, a]
        # adjoint of the superset transform = the subset transform A[h] = Σ_{g⊆h} (−1)^{|h∖g|} C[g]; on complemented
        # indices (x = full ^ g) it is the superset transform again, so the core's kernel serves both directions
        _superset_moebius(mass)
        for h in range(1, n_masks):
            adj[keys[b, h], 0] += mass[0, full ^ h]
            adj[keys[b, h], 1] += mass[1, full ^ h]
    scale = inv_b / _LOG2
    for c in range(n_cells):
        b = rep[c]
        a_term = 0.0
        for h in range(1, n_masks):
            a_term += adj[keys[b, h], 1] - adj[keys[b, h], 0]
        g_cell[c] = (g_cell[c] + a_term) * scale
    for b in range(b_count):
        grad[b, j] = g_cell[cell_of[b]]
    for b in range(b_count):  # leave the scratch tables clean for the next neuron
        for h in range(1, n_masks):
            table[keys[b, h], 0] = 0.0
            table[keys[b, h], 1] = 0.0
            adj[keys[b, h], 0] = 0.0
            adj[keys[b, h], 1] = 0.0
        cell_id[keys[b, full] - offsets[full]] = -1
    return p0_tot, p1_tot


@njit(parallel=True, cache=True)
def _goal_gradient_kernel(
    theta, bins, radix, offsets, table_size, n_cells, parent, added, w, w_total, active, n_chunks
):
    b_count, n_neurons, n = bins.shape
    n_atoms = parent.shape[0]
    grad = np.empty((b_count, n_neurons))
    red_t = np.zeros((n_neurons, n_atoms))
    red_s = np.zeros((n_neurons, n_atoms))
    p_y = np.empty((n_neurons, 2))
    for t in prange(n_chunks):  # one set of scratch tables per chunk of neurons
        buf = (
            np.zeros((table_size, 2)),
            np.zeros((table_size, 2)),
            np.full(n_cells, -1, dtype=np.int64),
            np.empty((b_count, 1 << n), dtype=np.int64),
            np.empty(b_count, dtype=np.int64),
            np.empty(b_count, dtype=np.int64),
            np.empty(b_count),
        )
        for j in range(t * n_neurons // n_chunks, (t + 1) * n_neurons // n_chunks):
            p0, p1 = _neuron(theta, bins, j, radix, offsets, parent, added, w, w_total, active, buf, grad, red_t[j],
                             red_s[j])  # fmt: skip
            p_y[j, 0] = p0
            p_y[j, 1] = p1
    return grad, red_t, red_s, p_y


# --------------------------------------------------------------------------------------------------------------------
# public entry
# --------------------------------------------------------------------------------------------------------------------
def check_n_bins(n_bins, n_sources: int) -> tuple[int, ...]:
    """Bins per source as a tuple of ints ``>= 2`` (an int means the same for every source)."""
    if isinstance(n_bins, (int, np.integer)) and not isinstance(n_bins, bool):
        n_bins = (int(n_bins),) * n_sources
    try:
        n_bins = tuple(n_bins)
    except TypeError:
        raise TypeError(f"n_bins must be an int or a sequence of ints, got {n_bins!r}") from None
    if any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) for k in n_bins):
        raise TypeError(f"n_bins must hold ints, got {n_bins!r}")
    n_bins = tuple(int(k) for k in n_bins)
    if len(n_bins) != n_sources:
        raise ValueError(f"n_bins lists {len(n_bins)} sizes for {n_sources} sources")
    if any(k < 2 for k in n_bins):
        raise ValueError(f"n_bins must be at least 2 per source (one bin carries no information), got {n_bins}")
    return n_bins


@functools.cache
def _layout(n_bins: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, int]:
    n = len(n_bins)
    offsets = np.zeros(1 << n, dtype=np.int64)
    size = 0
    for h in range(1, 1 << n):
        offsets[h] = size
        size += math.prod(n_bins[i] for i in range(n) if h >> i & 1)
    radix = np.asarray(n_bins, dtype=np.int64)
    return radix, offsets, size


def _check_batch(theta, bins, n_bins) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    theta = np.asarray(theta)
    bins = np.asarray(bins)
    if theta.ndim != 2:
        raise ValueError(f"theta must have shape (batch, neurons), got {theta.shape}")
    if not np.issubdtype(theta.dtype, np.floating):
        raise TypeError(f"theta must be a float array of firing probabilities, got dtype {theta.dtype}")
    if bins.ndim != 3 or bins.shape[:2] != theta.shape:
        raise ValueError(f"bins must have shape (batch, neurons, n_sources) = {(*theta.shape, 'n')}, got {bins.shape}")
    if not np.issubdtype(bins.dtype, np.integer):
        raise TypeError(f"bins must be an integer array of bin indices, got dtype {bins.dtype}")
    n = bins.shape[2]
    if not 2 <= n <= 3:
        raise ValueError(f"infomorphic neurons have 2 or 3 input classes (sources), got {n}")
    if theta.shape[0] < 1:
        raise ValueError("the batch is empty")
    n_bins = check_n_bins(n_bins, n)
    if not (np.all(theta > 0.0) and np.all(theta < 1.0)):
        raise ValueError("theta must lie strictly inside (0, 1) (firing probabilities are clamped to [1e-6, 1 - 1e-6])")
    low = int(bins.min())
    high = bins.max(axis=(0, 1))
    if low < 0 or any(int(h) >= k for h, k in zip(high, n_bins, strict=True)):
        raise ValueError(
            f"bin indices must lie in 0..n_bins-1 per source (n_bins={n_bins}); got minimum {low} and maxima "
            f"{high.tolist()}"
        )
    return (
        np.ascontiguousarray(theta, dtype=np.float64),
        np.ascontiguousarray(bins, dtype=np.int64),
        n_bins,
    )


def sxpid_goal_gradient(theta, bins, n_bins, goal) -> GoalGradient:
    """SxPID goal of each neuron on a batch and its exact gradient with respect to the firing probabilities.

    Parameters
    ----------
    theta : array (batch, neurons)
        ``P(Y = 1)`` of each neuron for each sample, strictly inside (0, 1).
    bins : int array (batch, neurons, n_sources)
        Bin index of each input class (source 1 = R, 2 = C, 3 = L) for each sample and neuron.
    n_bins : int or sequence of int
        Bins per source (at least 2).
    goal : str or Mapping[str, float]
        A preset of :mod:`pidlearn.goals` or ``{atom name: γ}`` with optional ``"H_res"``.

    Returns
    -------
    GoalGradient
        ``goal`` (neurons,), ``atoms`` (neurons, n_atoms), ``residual_entropy`` (neurons,) in bits and
        ``dtheta`` (batch, neurons) ``= ∂G_j/∂θ_{b,j}`` (float64).

    Notes
    -----
    ``∂G/∂θ_b = (1/(B ln 2)) [Σ_β w_β (log D_β(s_b,1)/D_β(s_b,0) + A_β(s_b,1) − A_β(s_b,0)) − W log P(1)/P(0)]``
    with ``D``, ``A``, ``w``, ``W`` as in the module docstring. Equal to torch autograd through
    ``pidlearn.backends.torch.functional.sample_sxpid_atoms`` (tested to 1e-8 relative in float64).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.uniform(0.1, 0.9, (256, 3))
    >>> bins = rng.integers(0, 4, (256, 3, 2))
    >>> res = sxpid_goal_gradient(theta, bins, 4, "context_heuristic")
    >>> res.dtheta.shape, res.atoms.shape
    ((256, 3), (3, 4))
    """
    theta, bins, n_bins = _check_batch(theta, bins, n_bins)
    n = len(n_bins)
    gamma, gamma_res, w, w_total = goal_weights(goal, n)
    return _goal_gradient(theta, bins, n_bins, gamma, gamma_res, w, w_total)


def _goal_gradient(theta, bins, n_bins, gamma, gamma_res, w, w_total, all_atoms: bool = True) -> GoalGradient:
    """:func:`sxpid_goal_gradient` on clean arrays (float64 theta, int64 bins in range) and prepared weights.

    With ``all_atoms=False`` only the redundancies that the goal weighs (``w_β ≠ 0``) are evaluated; ``atoms`` and
    ``residual_entropy`` are then None (the goal and its gradient are the same).
    """
    n = len(n_bins)
    lat = lattice(n)
    n_chunks = min(theta.shape[1], numba.get_num_threads())
    size = table_size(n_bins)
    check_memory(
        n_chunks * size * 2 * 2 * 8,
        f"{n_chunks} threads × {size} table slots (Σ over source sets of Π n_bins, n_bins={n_bins}) × 2 tables × "
        "2 target values × 8 bytes",
    )
    radix, offsets, size = _layout(n_bins)
    active = np.ones(lat.n_atoms, dtype=np.bool_) if all_atoms else w != 0.0
    grad, red_t, red_s, p_y = _goal_gradient_kernel(
        theta,
        bins,
        radix,
        offsets,
        size,
        math.prod(n_bins),
        lat._cover_parent,
        lat._cover_added,
        w,
        w_total,
        active,
        n_chunks,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p_y > 0, p_y * np.log(p_y), 0.0).sum(axis=1)
    red = (red_t - red_s - plogp[:, None]) / _LOG2  # average i_sx per antichain, bits (0 where not active)
    h_y = -plogp / _LOG2
    if not all_atoms:
        return GoalGradient(red @ w + gamma_res * h_y, None, None, grad)
    atoms = red @ _mobius_dense(n).T
    h_res = h_y - atoms.sum(axis=1)
    goal_value = atoms @ gamma + gamma_res * h_res
    return GoalGradient(goal_value, atoms, h_res, grad)
