"""Continuous SxPID in NumPy, and the analytic gradient of a goal in its atoms (soft-count KSG-type estimator).

The estimator is that of :mod:`pidlearn.backends.torch.continuous_sxpid` (derivation in the guide,
"Differentiable continuous SxPID"): for neuron ``m``, antichain ``α`` and sample ``j`` of a batch of ``N``, the soft
counts ``ñ_α(j)``, ``ñ_T(j)`` of the neighbours inside the ``k``-th-neighbour radius ``ε_j`` of ``max(d_T, d_α)``,
each indicator ``1[d < ε_j]`` replaced by ``σ((ε_j − d) / (τ ε_j))``, and

    Î_sx(α) = ψ(k) + ψ(N) − ⟨ψ(ñ_α(j)) + ψ(ñ_T(j))⟩_j,      Π = M Î_sx      (M: Möbius matrix of the lattice).

The counts and their vector–Jacobian product come from the numba kernel that the torch backend's autograd uses
(:mod:`pidlearn.backends._soft_counts`); the rest of the chain is written out here, without autograd or torch.

Gradient of a goal
------------------
A goal ``G = Σ_α γ_α Π(α) = Σ_α w_α Î_sx(α) / ln b`` with ``w = Mᵀγ`` (base ``b``) needs only the antichains with
``w_α ≠ 0``. On the standardised samples ``y`` (``y = x / σ_x`` per neuron and variable when ``normalize``):

1. ``∂G/∂ñ_x(j) = −w_α ψ'(ñ_x(j)) / (N ln b)`` for ``x ∈ {α, T}``, ``ψ'`` the trigamma function;
2. ``∂G/∂y = Σ_α Σ_j Σ_x ∂G/∂ñ_x(j) · ∂ñ_x(j)/∂y`` (the kernel's backward), where a soft pair ``(j, j')`` at
   distance ``d`` contributes ``∂ñ/∂d = −u / (τ ε_j)`` and ``∂ñ/∂ε_j = u d / (τ ε_j²)``, ``u = σ(1 − σ)``;
   ``d = |y_i(j) − y_i(j')|`` through the coordinate ``i`` that attains the max over a set and the min over the
   antichain (``∂d/∂y_i(j) = sign(y_i(j) − y_i(j'))``), and ``ε_j = max(d_T, d_α)(j, κ_j)`` through the pair with
   the ``k``-th neighbour ``κ_j``;
3. through ``y = x / σ``, ``σ² = ⟨(x − ⟨x⟩)²⟩`` (``ddof=0``): ``∂G/∂x = (g − ŷ ⟨g y⟩) / σ`` with ``g = ∂G/∂y`` and
   ``ŷ = y − ⟨y⟩`` (means over the batch).

Equal to torch's autograd through :func:`pidlearn.backends.torch.continuous_sxpid.continuous_sxpid_goal` in float64
(``tests/test_numpy_continuous_sxpid.py``: 1e-8 relative; the atoms to 1e-12).

``method="binned"``: the linear-binned plug-in estimator (guide, "The binned estimator"); the redundancies and the
gradient ``∂G/∂y`` of the goal come together from the numba kernel of :mod:`pidlearn.backends._binned_sxpid` (the
torch backend's), and step 3 above carries it through the standardisation.

References
----------
D. A. Ehrlich, K. Schick-Poland, A. Makkeh, F. Lanfermann, P. Wollstadt and M. Wibral, "Partial information
decomposition for continuous variables based on shared exclusions: analytical formulation and estimation",
Phys. Rev. E 110, 014115 (2024).
A. Kraskov, H. Stögbauer and P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import digamma, polygamma

from pidlearn.backends._binned_sxpid import binned_redundancies, check_bin_width, check_method, lattice_spacing
from pidlearn.backends._soft_counts import (
    check_gamma,
    check_n_sources,
    check_settings,
    check_source_shape,
    check_target_shape,
    constant_message,
    psi_const,
    soft_counts,
    soft_counts_backward,
    sort_samples,
)
from pidlearn.goals import goal_rows
from pidlearn.lattice import lattice

__all__ = ["ContinuousGoalGradient", "continuous_sxpid", "continuous_sxpid_goal"]


class ContinuousGoalGradient(NamedTuple):
    """A goal in continuous SxPID atoms per neuron and its gradient with respect to the samples.

    Attributes
    ----------
    goal : ndarray (neurons,), or a scalar for a target of shape (batch,)
        ``G_m = Σ_α γ_α Π_m(α)`` in units of ``base``.
    dtarget : ndarray shaped like the target
        ``∂G_m / ∂target[b, m]`` (each neuron's goal depends only on its own column).
    dsources : ndarray (batch, neurons, n_sources) or (batch, n_sources), or a list of arrays shaped like the target
        ``∂G_m / ∂sources[b, m, i]``, in the layout the sources were given in.
    """

    goal: np.ndarray
    dtarget: np.ndarray
    dsources: np.ndarray | list[np.ndarray]


def _check_array(x, name: str) -> np.ndarray:
    try:
        a = np.asarray(x)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a floating-point array (float32 or float64): {err}") from None
    if a.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array (float32 or float64), got {a.dtype}")
    return a


def _check_inputs(target, sources, k, tau, base, normalize):
    """Target (B, M), sources (B, M, n), whether the target had no neuron axis, whether the sources were a list."""
    target = _check_array(target, "target")
    b, m, squeeze = check_target_shape(target.shape)
    shape = target.shape
    target = target.reshape(b, m)
    listed = isinstance(sources, (list, tuple))
    if listed:
        if not sources:
            raise ValueError("sources is empty; give 1 to 4 source arrays")
        cols = [_check_array(x, f"sources[{i}]") for i, x in enumerate(sources)]
        for i, x in enumerate(cols):
            check_source_shape(x.shape, shape, i, "array")
        if len({x.dtype for x in cols}) > 1:
            raise TypeError(f"the sources must share one dtype, got {[str(x.dtype) for x in cols]}")
        sources = np.stack([x.reshape(b, m) for x in cols], axis=-1)
    else:
        sources = _check_array(sources, "sources")
        check_source_shape(sources.shape, shape, None, "array")
        sources = sources.reshape(b, m, sources.shape[-1])
    check_n_sources(sources.shape[-1])
    if sources.dtype != target.dtype:
        raise TypeError(f"target ({target.dtype}) and sources ({sources.dtype}) must share dtype")
    check_settings(k, tau, base, normalize, b, m)
    for name, x in (("target", target), ("sources", sources)):
        if not np.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or inf; drop or impute those samples first")
    if normalize:
        spread = np.concatenate([target[..., None], sources], axis=-1).std(axis=0)
        if (spread == 0).any():
            neuron, var = (int(v) for v in np.argwhere(spread == 0)[0])
            raise ValueError(constant_message(neuron, var))
    return target, sources, squeeze, listed


def _standardised(target, sources, normalize):
    """Float64 target (M, B) and sources (M, n, B), divided by their batch standard deviations if ``normalize``.

    Also returns the standard deviations (None without ``normalize``).
    """
    t = np.ascontiguousarray(target.T, dtype=np.float64)
    s = np.ascontiguousarray(sources.transpose(1, 2, 0), dtype=np.float64)
    if not normalize:
        return t, s, None, None
    sd_t, sd_s = t.std(axis=-1, keepdims=True), s.std(axis=-1, keepdims=True)
    return t / sd_t, s / sd_s, sd_t, sd_s


def _standardise_backward(g, y, sd):
    """``∂G/∂x`` from ``g = ∂G/∂y`` for ``y = x / σ`` (``σ`` the ``ddof=0`` std over the last axis)."""
    centred = y - y.mean(axis=-1, keepdims=True)
    return (g - centred * (g * y).mean(axis=-1, keepdims=True)) / sd


def _redundancies(samples, rows, k, tau, eps_min):
    """Average redundancies (nats) of antichains ``rows``, (M, R), and each row's soft counts."""
    const = psi_const(k, samples.t.shape[1])
    counts = [soft_counts(samples, r, k, tau, eps_min) for r in rows]
    red = np.empty((samples.t.shape[0], len(rows)))
    for i, c in enumerate(counts):
        red[:, i] = (const - digamma(c.n_a) - digamma(c.n_t)).mean(axis=-1)
    return red, counts


def continuous_sxpid(
    target,
    sources,
    *,
    k: int = 3,
    tau: float = 0.02,
    base: float = 2,
    normalize: bool = True,
    method: str = "knn",
    bin_width: float | None = None,
) -> np.ndarray:
    """Continuous SxPID atoms of each neuron from soft neighbour counts or a linear-binned soft histogram (NumPy; the
    torch backend's estimators).

    Parameters
    ----------
    target : ndarray, shape (batch,) or (batch, neurons)
        Real-valued target of each neuron (float32 or float64).
    sources : ndarray of shape (batch, neurons, n_sources) or (batch, n_sources), or a list of n_sources arrays
        shaped like ``target``
        One real value per source, sample and neuron; 1 to 4 sources, the dtype of ``target``.
    k : int, default 3
        Nearest neighbours in the joint space, as in :func:`pidlearn.continuous.sxpid`; ``k < batch``.
    tau : float, default 0.02
        Softness of the neighbour counts relative to each sample's radius: ``1[d < ε_j]`` becomes
        ``σ((ε_j − d) / (τ ε_j))`` (see :func:`pidlearn.backends.torch.continuous_sxpid.continuous_sxpid`).
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    normalize : bool, default True
        Divide every variable of every neuron by its batch standard deviation (``ddof=0``) first.
    method : {"knn", "binned"}, default "knn"
        Soft neighbour counts, or the plug-in SxPID of a linear-binned soft histogram on the lattice ``hℤ`` (see
        :func:`pidlearn.backends.torch.continuous_sxpid.continuous_sxpid`).
    bin_width : float, optional
        Lattice spacing ``h`` of ``method="binned"`` (standardised units); default ``2 N^{-1/(n+2)}``.

    Returns
    -------
    ndarray, shape (neurons, n_atoms), or (n_atoms,) for a target of shape (batch,)
        Atoms in lattice order (names: ``pidlearn.lattice.lattice(n).names``), in the input's dtype
        (computed in float64). They equal the torch backend's atoms on the same float64 data to rounding.

    Raises
    ------
    TypeError
        Non-numeric or integer inputs, mixed dtypes, ``normalize`` not a bool.
    ValueError
        Shapes that do not match, NaN/inf, constant variables (with ``normalize``), ``batch <= k``, more than 4
        sources, ``k``, ``tau``, ``base`` or ``bin_width`` out of range, an unknown ``method``, lattice tables past
        the memory limit.

    Notes
    -----
    ``Π = M Î_sx`` with ``Î_sx(α) = ψ(k) + ψ(N) − ⟨ψ(ñ_α(j)) + ψ(ñ_T(j))⟩_j`` and the soft counts

    .. math::

        \\tilde n_x(j) = 1 + \\sum_{j' \\ne j, κ_j} σ\\Big(\\frac{ε_j − d_x(j, j')}{τ ε_j}\\Big)
        + 1[d_x(j, κ_j) < ε_j], \\quad x ∈ \\{α, T\\},

    ``ε_j`` the distance from sample ``j`` to its ``k``-th neighbour ``κ_j`` under ``max(d_T, d_α)``,
    ``d_α = min_{a∈α} max_{i∈a} |s_i − s_i'|`` (Ehrlich et al. 2024; KSG: Kraskov et al. 2004).

    References
    ----------
    D. A. Ehrlich et al., "Partial information decomposition for continuous variables based on shared exclusions:
    analytical formulation and estimation", Phys. Rev. E 110, 014115 (2024).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((500, 2))
    >>> continuous_sxpid(s.sum(1), s).shape          # redundancy, unique 1, unique 2, synergy (bits)
    (4,)
    """
    method = check_method(method)
    bin_width = check_bin_width(bin_width, method)
    target, sources, squeeze, _ = _check_inputs(target, sources, k, tau, base, normalize)
    n = sources.shape[-1]
    lat = lattice(n)
    t, s, _, _ = _standardised(target, sources, normalize)
    if method == "binned":
        h = lattice_spacing(bin_width, t.shape[1], n)
        red, _, _ = binned_redundancies(t, s, h, range(lat.n_atoms))  # already standardised
    else:
        red, _ = _redundancies(sort_samples(t, s), range(lat.n_atoms), k, tau, float(np.finfo(target.dtype).eps))
    atoms = (red / math.log(base)) @ lat.mobius.toarray().T
    atoms = atoms.astype(target.dtype, copy=False)
    return atoms[0] if squeeze else atoms


def continuous_sxpid_goal(
    target,
    sources,
    gamma,
    *,
    k: int = 3,
    tau: float = 0.02,
    base: float = 2,
    normalize: bool = True,
    return_grad: bool = False,
    method: str = "knn",
    bin_width: float | None = None,
):
    """Goal ``G = Σ_α γ_α Π(α)`` per neuron in continuous atoms and, optionally, its analytic gradient.

    Equal to ``continuous_sxpid(target, sources, ...) @ gamma``, evaluating only the redundancies with
    ``(Mᵀγ)_α ≠ 0``; with ``return_grad`` also ``∂G/∂target`` and ``∂G/∂sources`` by the chain rule through the
    Möbius weights, the mean over samples, the digamma of the counts, the counts (the shared numba kernel's backward)
    and the standardisation (module docstring). The NumPy counterpart of torch's autograd through
    :func:`pidlearn.backends.torch.continuous_sxpid.continuous_sxpid_goal`.

    Parameters
    ----------
    target : ndarray, shape (batch,) or (batch, neurons)
        Real-valued target of each neuron (float32 or float64).
    sources : ndarray of shape (batch, neurons, n_sources) or (batch, n_sources), or a list of n_sources arrays
        shaped like ``target``
        One real value per source, sample and neuron; 1 to 4 sources, the dtype of ``target``.
    gamma : sequence of float, length n_atoms
        Weights in lattice order (see :func:`pidlearn.goals.goal_vector`).
    k : int, default 3
        Nearest neighbours in the joint space; ``k < batch``.
    tau : float, default 0.02
        Softness of the neighbour counts relative to each sample's radius (see :func:`continuous_sxpid`).
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    normalize : bool, default True
        Divide every variable of every neuron by its batch standard deviation (``ddof=0``) first; the gradient goes
        through it.
    return_grad : bool, default False
        Also return the gradient.
    method : {"knn", "binned"}, default "knn"
        As for :func:`continuous_sxpid`; ``"binned"`` computes the goal and ``∂G/∂y`` in one kernel pass.
    bin_width : float, optional
        Lattice spacing of ``method="binned"``; default ``2 N^{-1/(n+2)}``.

    Returns
    -------
    ndarray (neurons,) or a scalar for a target of shape (batch,), or ContinuousGoalGradient
        The goal in units of ``base``; with ``return_grad`` a :class:`ContinuousGoalGradient`
        ``(goal, dtarget, dsources)``: ``dtarget`` shaped like ``target``, ``dsources`` like ``sources`` (a list for
        a list). Each neuron's goal depends only on its own samples, so the gradient of ``G.sum()`` is that of each
        ``G_m`` in its own column. In the input's dtype (computed in float64).

    Raises
    ------
    TypeError, ValueError
        As :func:`continuous_sxpid`; also ``gamma`` not ``n_atoms`` finite numbers, ``return_grad`` not a bool.

    Notes
    -----
    With ``w = Mᵀγ`` and ``y`` the standardised samples,

    .. math::

        \\frac{\\partial G}{\\partial y} = -\\frac{1}{N \\ln b} \\sum_α w_α \\sum_j \\Big(
        ψ'(\\tilde n_α(j)) \\frac{\\partial \\tilde n_α(j)}{\\partial y}
        + ψ'(\\tilde n_T(j)) \\frac{\\partial \\tilde n_T(j)}{\\partial y} \\Big), \\qquad
        \\frac{\\partial G}{\\partial x} = \\frac{1}{σ} \\Big( \\frac{\\partial G}{\\partial y}
        - \\hat y \\Big\\langle \\frac{\\partial G}{\\partial y} y \\Big\\rangle \\Big),

    ``ψ'`` the trigamma function, ``ŷ = y − ⟨y⟩`` (Ehrlich et al. 2024 for the estimator).

    References
    ----------
    D. A. Ehrlich et al., "Partial information decomposition for continuous variables based on shared exclusions:
    analytical formulation and estimation", Phys. Rev. E 110, 014115 (2024).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((300, 2))
    >>> res = continuous_sxpid_goal(s.sum(1), s, [1.0, 0.0, 0.0, 0.0], return_grad=True)   # the redundancy
    >>> res.dtarget.shape, res.dsources.shape
    ((300,), (300, 2))
    """
    method = check_method(method)
    bin_width = check_bin_width(bin_width, method)
    target, sources, squeeze, listed = _check_inputs(target, sources, k, tau, base, normalize)
    if not isinstance(return_grad, bool):
        raise TypeError(f"return_grad must be True or False, got {return_grad!r}")
    dtype = target.dtype
    b, _, n = sources.shape
    rows, weights = goal_rows(n, check_gamma(gamma, n))
    w = np.asarray(weights, dtype=np.float64)
    if method == "binned":  # standardised, and the gradient carried back through it, in the kernel
        h = lattice_spacing(bin_width, b, n)
        t, s = target.T, sources.transpose(1, 2, 0)
        g_w = w / math.log(base) if return_grad else None
        red, grad_t, grad_s = binned_redundancies(t, s, h, rows, g_w, normalize=normalize)
    else:
        t, s, sd_t, sd_s = _standardised(target, sources, normalize)
        samples = sort_samples(t, s)
        eps_min = float(np.finfo(dtype).eps)
        red, counts = _redundancies(samples, rows, k, tau, eps_min)
    goal = (red @ w / math.log(base)).astype(dtype, copy=False)
    goal = goal[0] if squeeze else goal
    if not return_grad:
        return goal
    if method == "knn":
        grad_t, grad_s = np.zeros_like(t), np.zeros_like(s)
        scale = 1.0 / (b * math.log(base))
        for row, wr, c in zip(rows, weights, counts, strict=True):
            g_a = (-wr * scale) * polygamma(1, c.n_a)
            g_t = (-wr * scale) * polygamma(1, c.n_t)
            soft_counts_backward(samples, row, k, tau, eps_min, c, g_a, g_t, grad_t, grad_s)
        if normalize:
            grad_t = _standardise_backward(grad_t, t, sd_t)
            grad_s = _standardise_backward(grad_s, s, sd_s)
    dtarget = grad_t.T.astype(dtype)  # (B, M)
    dsources = grad_s.transpose(2, 0, 1).astype(dtype)  # (B, M, n)
    if squeeze:
        dtarget, dsources = dtarget[:, 0], dsources[:, 0]
    if listed:
        dsources = [np.ascontiguousarray(dsources[..., i]) for i in range(n)]
    return ContinuousGoalGradient(goal, dtarget, dsources)
