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
``D_β`` depends only on the cell, so everything runs per neuron on its *occupied cells* (at most ``B``): the
kernel of :mod:`pidlearn.backends._goal_kernels`, which the torch backend's CPU path uses too, builds the marginal
tables of every source set from the occupied cells, the inclusion–exclusion sums ``D_β`` per cell, the redundancies
and the cell sums of the derivative above, once per occupied cell. Cost per neuron: ``O(B + cells · Σ_β |terms of
β|)`` plus the tables' size.

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

from pidlearn.backends._goal_kernels import redundancies
from pidlearn.backends._settings import check_memory, table_size
from pidlearn.backends.numpy._step_kernels import transpose_add
from pidlearn.goals import goal_vector
from pidlearn.lattice import lattice

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
    """:func:`sxpid_goal_gradient` on clean arrays (float64 theta, int64 bins in range) and prepared weights."""
    cols = [bins[:, :, i].T for i in range(bins.shape[2])]
    return _goal_gradient_columns(theta, cols, n_bins, gamma, gamma_res, w, w_total, all_atoms)


def _goal_gradient_columns(theta, cols, n_bins, gamma, gamma_res, w, w_total, all_atoms=True) -> GoalGradient:
    """:func:`_goal_gradient` with the bin indices given per source, ``cols[i]`` (neurons, batch) of any int dtype.

    The redundancies and ``∂(Σ_β w_β I_β)/∂θ`` come from the per-cell kernel that both backends share
    (:mod:`pidlearn.backends._goal_kernels`); ``γ_res H(Y)`` adds ``−γ_res ln(P(1)/P(0)) / (B ln 2)`` to every
    sample's derivative. With ``all_atoms=False`` only the redundancies that the goal weighs (``w_β ≠ 0``) are
    evaluated; ``atoms`` and ``residual_entropy`` are then None (the goal and its gradient are the same).
    """
    n = len(n_bins)
    n_atoms = lattice(n).n_atoms
    b_n, n_neurons = theta.shape
    threads = min(n_neurons, numba.get_num_threads())
    size = table_size(n_bins)
    check_memory(
        threads * size * 2 * 8,
        f"{threads} threads × {size} table slots (Σ over source sets of Π n_bins, n_bins={n_bins}) × 2 target "
        "values × 8 bytes",
    )
    rows = tuple(range(n_atoms)) if all_atoms else tuple(int(i) for i in np.flatnonzero(w != 0.0))
    p1 = theta.mean(axis=0)
    d_h = -gamma_res * np.log(p1 / (1.0 - p1)) / (b_n * _LOG2)  # ∂(γ_res H(Y))/∂θ_b, the same for every sample
    red = np.zeros((n_neurons, n_atoms))
    if rows:
        cols = tuple(np.ascontiguousarray(col, dtype=np.int32) for col in cols)
        red_rows, grad = redundancies(np.ascontiguousarray(theta.T), cols, n_bins, rows, w[list(rows)], threads)
        red[:, list(rows)] = red_rows
        dtheta = transpose_add(grad, d_h)  # grad.T + d_h, (batch, neurons)
    else:
        dtheta = np.repeat(d_h[None, :], b_n, axis=0)
    h_y = -(p1 * np.log(p1) + (1.0 - p1) * np.log1p(-p1)) / _LOG2
    if not all_atoms:
        return GoalGradient(red @ w + gamma_res * h_y, None, None, dtheta)
    atoms = red @ _mobius_dense(n).T
    h_res = h_y - atoms.sum(axis=1)
    goal_value = atoms @ gamma + gamma_res * h_res
    return GoalGradient(goal_value, atoms, h_res, dtheta)
