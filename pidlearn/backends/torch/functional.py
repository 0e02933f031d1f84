"""Differentiable plug-in information measures and SxPID atoms in torch, batched over neurons.

Stateless functions only (the ``torch.nn.functional`` half of the backend); :mod:`.layers` holds the modules.
Everything is batched over a leading *neuron* axis and works in float32 and float64; there is no Python loop over
neurons.

Shared-exclusion redundancy (Makkeh, Gutknecht & Wibral 2021)
--------------------------------------------------------------
For a realisation ``(s_1..s_n, t)`` and an antichain ``α`` of source sets ``a``,

    i_sx(t : α) = log2 P(t, ∨_{a∈α} 𝔞) − log2 P(t) − log2 P(∨_{a∈α} 𝔞),     𝔞 = ∧_{i∈a} {S_i = s_i}.

The probability of the disjunction follows by inclusion–exclusion from the marginals of *unions* of source sets,

    P(∨_{a∈α} 𝔞) = Σ_{∅≠S⊆α} (−1)^{|S|+1} P(S_{∪S} = s_{∪S}),

a fixed integer matrix ``C`` (n_atoms × (2^n − 1)) applied to the vector of the ``2^n − 1`` marginals at that
realisation (the same for ``P(t, ·)``). Average redundancies ``I_sx(α) = Σ p(s, t) i_sx(t : α)`` are Möbius-inverted
with the lattice matrix of :mod:`pidlearn.lattice`: ``Π = M I_sx``.

Sparsity
--------
Only realisations with non-zero probability contribute. A batch of ``B`` samples occupies at most ``B`` source cells
per neuron, so :func:`sample_sxpid_atoms` never builds the ``K^n × 2`` joint: it scatters each sample's soft target
``(1 − θ, θ)`` into the (small) marginal tables of the ``2^n − 1`` source sets, gathers them back at the samples'
own cells and evaluates ``i_sx`` per sample. Summing over samples instead of unique cells is exact because ``i_sx``
depends only on the cell and the weights add up to the cell's probability. :func:`sxpid_atoms` does the same on
the non-zero cells of a dense joint.

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

import numpy as np
import torch

from pidlearn.lattice import lattice

__all__ = [
    "SxPIDAtoms",
    "atom_names",
    "entropy",
    "mutual_information",
    "sample_sxpid_atoms",
    "sample_sxpid_goal",
    "soft_joint",
    "sxpid_atoms",
]

_LOG2 = math.log(2.0)


class SxPIDAtoms(NamedTuple):
    """Average SxPID atoms per neuron.

    Attributes
    ----------
    atoms : Tensor, shape (..., n_atoms)
        Π(α) in bits, in the lattice order of :func:`pidlearn.lattice.lattice` (``atom_names(n_sources)``).
    residual_entropy : Tensor, shape (...)
        ``H_res = H(T) − I(T; S_1..S_n)`` in bits.
    """

    atoms: torch.Tensor
    residual_entropy: torch.Tensor


def atom_names(n_sources: int) -> tuple[str, ...]:
    """Names of the atoms returned for ``n_sources`` sources, in order (e.g. ``{1}{2}, {1}, {2}, {12}``)."""
    return lattice(n_sources).names


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


_TENSOR_CACHE: dict = {}


def _matrices(n: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    key = (n, dtype, str(device))
    if key not in _TENSOR_CACHE:
        c, m = _matrices_np(n)
        _TENSOR_CACHE[key] = (
            torch.as_tensor(c, dtype=dtype, device=device),
            torch.as_tensor(m, dtype=dtype, device=device),
        )
    return _TENSOR_CACHE[key]


def _check_n_sources(n_sources) -> int:
    if isinstance(n_sources, bool) or not isinstance(n_sources, int):
        raise TypeError(f"n_sources must be an int, got {n_sources!r}")
    if not 1 <= n_sources <= 4:
        raise ValueError(f"the torch SxPID supports 1 to 4 sources, got n_sources={n_sources}")
    return n_sources


def _check_float(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float32 or float64), got {x.dtype}")


def _pointwise_redundancy(m: torch.Tensor, mt: torch.Tensor, log_pt: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``i_sx`` (bits) of each point for each antichain, from marginals at the point.

    ``m[..., g-1] = P(S_g = s_g)``, ``mt[..., g-1] = P(S_g = s_g, T = t)`` for source-set bitmasks ``g``;
    ``log_pt = ln P(T = t)`` broadcastable to ``m.shape[:-1]``.
    """
    disj = m @ c.T
    disj_t = mt @ c.T
    return (torch.log(disj_t) - torch.log(disj) - log_pt.unsqueeze(-1)) / _LOG2


def _atoms_from_redundancy(red: torch.Tensor, p_t: torch.Tensor, mob: torch.Tensor) -> SxPIDAtoms:
    atoms = red @ mob.T
    h_t = -torch.special.xlogy(p_t, p_t).sum(-1) / _LOG2
    return SxPIDAtoms(atoms, h_t - atoms.sum(-1))


def sxpid_atoms(joint: torch.Tensor, n_sources: int) -> SxPIDAtoms:
    """SxPID atoms of a dense joint distribution, differentiable, batched over leading axes.

    Parameters
    ----------
    joint : Tensor, shape (*batch, K_1, ..., K_n, T)
        Joint pmf of the sources (first ``n_sources`` trailing axes) and the target (last axis), summing to 1 over
        the trailing ``n_sources + 1`` axes, for each index of the leading batch (e.g. neuron) axes.
    n_sources : int
        Number of sources ``n`` (1 to 4).

    Returns
    -------
    SxPIDAtoms
        ``atoms`` of shape (*batch, n_atoms) in bits and lattice order (see :func:`atom_names`) and
        ``residual_entropy`` ``H(T) − I(T; S)`` of shape (*batch,).

    Notes
    -----
    ``Π = M · Σ_{(s,t): p>0} p(s,t) i_sx(t : α)`` with ``i_sx`` as in the module docstring; only the non-zero cells
    are evaluated. Gradients flow to every entry through the marginals; the set of non-zero cells is fixed (an
    entry that is exactly 0 has a one-sided derivative).

    References
    ----------
    A. Makkeh, A. J. Gutknecht and M. Wibral, Phys. Rev. E 103, 032149 (2021).

    Examples
    --------
    >>> p = torch.zeros(2, 2, 2, dtype=torch.float64)
    >>> p[0, 0, 0] = p[0, 1, 1] = p[1, 0, 1] = p[1, 1, 0] = 0.25          # XOR
    >>> round(float(sxpid_atoms(p, 2).atoms[0]), 4)                       # redundancy log2(2/3)
    -0.585
    """
    _check_float(joint, "joint")
    n = _check_n_sources(n_sources)
    if joint.dim() < n + 1:
        raise ValueError(
            f"joint has {joint.dim()} axes but n_sources={n} needs at least {n + 1} (sources..., target last)"
        )
    event_shape = tuple(joint.shape[-(n + 1) :])
    batch_shape = tuple(joint.shape[: -(n + 1)])
    p = joint.reshape((-1, *event_shape))
    n_batch = p.shape[0]
    c, mob = _matrices(n, p.dtype, p.device)
    with torch.no_grad():
        nz = torch.nonzero(p > 0)  # (P, 1 + n + 1): neuron, s_1..s_n, t
    nid, cells, tid = nz[:, 0], nz[:, 1 : n + 1], nz[:, n + 1]
    cols_m, cols_mt = [], []
    for g in range(1, 1 << n):
        drop = tuple(1 + i for i in range(n) if not g >> i & 1)
        marg_t = p.sum(dim=drop) if drop else p  # (N, K_g..., T)
        idx = (nid, *(cells[:, i] for i in range(n) if g >> i & 1))
        cols_mt.append(marg_t[(*idx, tid)])
        cols_m.append(marg_t.sum(-1)[idx])
    m = torch.stack(cols_m, dim=-1)
    mt = torch.stack(cols_mt, dim=-1)
    p_t = p.sum(dim=tuple(range(1, n + 1)))  # (N, T)
    w = p[(nid, *(cells[:, i] for i in range(n)), tid)]
    ipt = _pointwise_redundancy(m, mt, torch.log(p_t[nid, tid]), c)
    red = torch.zeros((n_batch, c.shape[0]), dtype=p.dtype, device=p.device).index_add(0, nid, w.unsqueeze(-1) * ipt)
    res = _atoms_from_redundancy(red, p_t, mob)
    return SxPIDAtoms(res.atoms.reshape((*batch_shape, -1)), res.residual_entropy.reshape(batch_shape))


def _check_samples(theta: torch.Tensor, bins: torch.Tensor, n_bins) -> tuple[int, ...]:
    _check_float(theta, "theta")
    if not isinstance(bins, torch.Tensor) or bins.dtype not in (torch.int64, torch.int32):
        raise TypeError("bins must be an integer (int64) tensor of bin indices")
    if theta.dim() != 2:
        raise ValueError(f"theta must have shape (batch, neurons), got {tuple(theta.shape)}")
    if bins.dim() != 3 or bins.shape[:2] != theta.shape:
        raise ValueError(
            f"bins must have shape (batch, neurons, n_sources) = {(*tuple(theta.shape), 'n')}, got {tuple(bins.shape)}"
        )
    n = _check_n_sources(bins.shape[2])
    if isinstance(n_bins, int):
        n_bins = (n_bins,) * n
    n_bins = tuple(int(k) for k in n_bins)
    if len(n_bins) != n:
        raise ValueError(f"n_bins lists {len(n_bins)} sizes for {n} sources")
    if any(k < 2 for k in n_bins):
        raise ValueError(f"n_bins must be at least 2 per source (one bin carries no information), got {n_bins}")
    if bins.numel():
        low = int(bins.min())
        high = bins.amax(dim=(0, 1)).tolist()
        if low < 0 or any(h >= k for h, k in zip(high, n_bins, strict=True)):
            raise ValueError(
                f"bin indices must lie in 0..n_bins-1 per source (n_bins={n_bins}); got minimum {low} and maxima {high}"
            )
    return n_bins


def _marginal_index(bins: torch.Tensor, n_bins: tuple[int, ...]) -> tuple[torch.Tensor, int]:
    """Flat index (batch, neurons, 2^n − 1) of each sample's cell in the concatenated marginal tables."""
    n = len(n_bins)
    cols, offset = [], 0
    for g in range(1, 1 << n):
        key = torch.zeros_like(bins[..., 0])
        size = 1
        for i in range(n):
            if g >> i & 1:
                key = key * n_bins[i] + bins[..., i]
                size *= n_bins[i]
        cols.append(key + offset)
        offset += size
    return torch.stack(cols, dim=-1), offset


def sample_sxpid_atoms(theta: torch.Tensor, bins: torch.Tensor, n_bins) -> SxPIDAtoms:
    """SxPID atoms of binary neurons from a batch, without building the joint: sparse and differentiable in θ.

    The joint of each neuron is the soft histogram of :func:`soft_joint`,
    ``P(s, y) = (1/B) Σ_b θ_b(y) 1[bins_b = s]`` with ``θ_b(1) = θ_b``, ``θ_b(0) = 1 − θ_b``; the target is the
    neuron's output ``Y`` and the sources are its binned inputs.

    Parameters
    ----------
    theta : Tensor, shape (batch, neurons)
        ``P(Y = 1)`` of each neuron for each sample, in (0, 1).
    bins : LongTensor, shape (batch, neurons, n_sources)
        Bin index of each source for each sample and neuron (no gradient), ``0 <= bins[..., i] < n_bins[i]``.
    n_bins : int or sequence of int
        Number of bins per source.

    Returns
    -------
    SxPIDAtoms
        ``atoms`` (neurons, n_atoms) in bits and lattice order, ``residual_entropy`` (neurons,). Equal (up to
        rounding) to ``sxpid_atoms(soft_joint(theta, bins, n_bins), n_sources)``.

    Notes
    -----
    For each source set ``g`` a marginal table of size ``Π_{i∈g} K_i × 2`` per neuron receives the batch by one
    ``scatter_add`` and is read back at the batch's own cells by one ``gather``, so the work per neuron is
    ``O(B (2^n + n_atoms))`` plus the tables' size, instead of ``O(K^n)`` passes over a dense joint. The
    pointwise redundancy is evaluated for each sample and both target values; see the module docstring.

    References
    ----------
    A. Makkeh et al., PNAS (2025), arXiv:2306.02149 (soft joint of infomorphic neurons).
    """
    n_bins = _check_samples(theta, bins, n_bins)
    _check_open_unit(theta)
    c, mob = _matrices(len(n_bins), theta.dtype, theta.device)
    red, p_t = _sample_redundancy(theta, bins, n_bins, c)
    return _atoms_from_redundancy(red, p_t, mob)


def _check_open_unit(theta: torch.Tensor) -> None:
    if theta.numel():
        with torch.no_grad():
            low, high = float(theta.min()), float(theta.max())
        if not (0.0 < low and high < 1.0):
            raise ValueError(
                f"theta must lie strictly between 0 and 1 (got values in [{low}, {high}]): an output value with "
                "probability 0 has no pointwise information; clamp theta, e.g. to [1e-6, 1 - 1e-6]"
            )


def _sample_redundancy(theta, bins, n_bins, c) -> tuple[torch.Tensor, torch.Tensor]:
    """Average redundancies ``I_sx`` (N, rows of ``c``) in bits and ``P(T)`` (N, 2) of a batch (clean inputs)."""
    n = len(n_bins)
    b, n_neurons = theta.shape
    n_sets = (1 << n) - 1
    probs = torch.stack((1.0 - theta.T, theta.T), dim=1) / b  # (N, 2, B): mass of each sample at T = 0, 1
    # Layout (neuron, target, source set, sample), samples innermost: the inclusion–exclusion matrix is then applied
    # as (rows, G) @ (G, B) products, wide matmuls that run ~8x faster on CPU than (B, G) @ (G, rows).
    with torch.no_grad():
        index, size = _marginal_index(bins.to(torch.int64), n_bins)  # (B, N, G)
        index = index.permute(1, 2, 0).reshape(n_neurons, 1, n_sets * b).expand(n_neurons, 2, n_sets * b)
    src = probs.unsqueeze(2).expand(n_neurons, 2, n_sets, b).reshape(n_neurons, 2, n_sets * b)
    table = torch.zeros((n_neurons, 2, size), dtype=theta.dtype, device=theta.device).scatter_add(2, index, src)
    mt = table.gather(2, index).reshape(n_neurons, 2, n_sets, b)  # P(T = t, S_g = s_g(b))
    p_t = probs.sum(-1)  # (N, 2)
    # I_sx(α) = Σ_{b,t} w_bt [ln P(t, ∨𝔞) − ln P(∨𝔞) − ln P(t)] with w_bt = P(T = t) mass of sample b. Since
    # Σ_t w_bt = 1/B and P(S_g = s) is a count / B, the middle term carries no gradient: it is evaluated without
    # autograd.
    with torch.no_grad():
        log_disj = torch.log(torch.matmul(c, mt.detach().sum(1))).mean(-1)  # (N, rows)
    log_disj_t = torch.log(torch.matmul(c, mt))  # (N, 2, rows, B)
    red = (log_disj_t * probs.unsqueeze(2)).sum((1, 3)) - log_disj
    red = (red - torch.special.xlogy(p_t, p_t).sum(-1, keepdim=True)) / _LOG2
    return red, p_t


@functools.cache
def _goal_rows(n: int, gamma: tuple[float, ...], gamma_res: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Antichains whose redundancy the goal needs, and their weights ``(Mᵀγ)_α`` (``H_res`` adds the top's −1)."""
    lat = lattice(n)
    w = lat.mobius.toarray().T @ np.asarray(gamma, dtype=float)
    w[lat.top] -= gamma_res  # H_res = H(T) − I(T; S) and I(T; S) = I_sx(top)
    rows = tuple(int(i) for i in np.flatnonzero(np.abs(w) > 1e-15))
    return rows, tuple(float(w[i]) for i in rows)


def sample_sxpid_goal(theta: torch.Tensor, bins: torch.Tensor, n_bins, gamma, gamma_res: float = 0.0) -> torch.Tensor:
    """Goal ``G = Σ_α γ_α Π(α) + γ_res H_res`` per neuron from a batch, evaluating only the redundancies it needs.

    Equal to ``atoms @ gamma + gamma_res * residual_entropy`` of :func:`sample_sxpid_atoms` (same arguments), but
    since ``Π = M I_sx``, ``G = (Mᵀγ) · I_sx + γ_res (H(T) − I_sx(top))`` needs ``I_sx`` only where ``Mᵀγ`` is
    non-zero (7 of 18 antichains for the papers' optimised trivariate goal, 1 of 4 for the context heuristic).

    Parameters
    ----------
    theta, bins, n_bins
        As for :func:`sample_sxpid_atoms`.
    gamma : sequence of float, length n_atoms
        Weights in lattice order (see :func:`pidlearn.goals.goal_vector`).
    gamma_res : float, default 0

    Returns
    -------
    Tensor, shape (neurons,)
    """
    n_bins = _check_samples(theta, bins, n_bins)
    _check_open_unit(theta)
    n = len(n_bins)
    gamma = tuple(float(g) for g in (gamma.tolist() if isinstance(gamma, torch.Tensor) else gamma))
    if len(gamma) != lattice(n).n_atoms:
        raise ValueError(f"gamma has {len(gamma)} weights; {n} sources have {lattice(n).n_atoms} atoms")
    rows, weights = _goal_rows(n, gamma, float(gamma_res))
    goal = torch.zeros(theta.shape[1], dtype=theta.dtype, device=theta.device)
    if gamma_res:
        p_t = theta.mean(0)
        goal = goal + float(gamma_res) * entropy(torch.stack((1.0 - p_t, p_t), dim=-1))
    if not rows:
        return goal
    c, _ = _matrices(n, theta.dtype, theta.device)
    red, _ = _sample_redundancy(theta, bins, n_bins, c[list(rows)])
    return goal + red @ torch.tensor(weights, dtype=theta.dtype, device=theta.device)


def soft_joint(theta: torch.Tensor, bins: torch.Tensor, n_bins) -> torch.Tensor:
    """Dense soft joint ``P(s_1..s_n, y)`` per neuron: ``(1/B) Σ_b θ_b(y) onehot(bins_b)``.

    Parameters
    ----------
    theta : Tensor, shape (batch, neurons)
        ``P(Y = 1)`` per sample and neuron.
    bins : LongTensor, shape (batch, neurons, n_sources)
        Bin indices (no gradient).
    n_bins : int or sequence of int
        Bins per source.

    Returns
    -------
    Tensor, shape (neurons, K_1, ..., K_n, 2)
        Sums to 1 per neuron; differentiable in ``theta``. Use it with :func:`sxpid_atoms`, :func:`entropy` and
        :func:`mutual_information`; for large ``K^n`` prefer :func:`sample_sxpid_atoms`, which never builds it.
    """
    n_bins = _check_samples(theta, bins, n_bins)
    b, n_neurons = theta.shape
    flat = torch.zeros(n_neurons, b, dtype=torch.int64, device=theta.device)
    for i, k in enumerate(n_bins):
        flat = flat * k + bins[..., i].to(torch.int64).T
    probs = torch.stack((1.0 - theta, theta), dim=-1).transpose(0, 1) / b  # (N, B, 2)
    size = math.prod(n_bins)
    out = torch.zeros((n_neurons, size, 2), dtype=theta.dtype, device=theta.device)
    out = out.scatter_add(1, flat.unsqueeze(-1).expand(-1, -1, 2), probs)
    return out.reshape((n_neurons, *n_bins, 2))


def entropy(p: torch.Tensor, dim=-1) -> torch.Tensor:
    """Plug-in Shannon entropy in bits, ``H = −Σ p log2 p`` over ``dim`` (0 log 0 = 0; differentiable)."""
    _check_float(p, "p")
    return -torch.special.xlogy(p, p).sum(dim=dim) / _LOG2


def mutual_information(joint: torch.Tensor, n_sources: int = 1) -> torch.Tensor:
    """Plug-in ``I(T; S_1..S_n) = H(S) + H(T) − H(S, T)`` in bits of a joint with the target on the last axis.

    Parameters
    ----------
    joint : Tensor, shape (*batch, K_1, ..., K_n, T)
    n_sources : int
        Number of source axes before the target axis.

    Returns
    -------
    Tensor, shape (*batch,)
    """
    _check_float(joint, "joint")
    if joint.dim() < n_sources + 1:
        raise ValueError(f"joint has {joint.dim()} axes; n_sources={n_sources} needs at least {n_sources + 1}")
    src_axes = tuple(range(joint.dim() - n_sources - 1, joint.dim() - 1))
    all_axes = (*src_axes, joint.dim() - 1)
    return (
        entropy(joint.sum(-1), dim=src_axes) + entropy(joint.sum(dim=src_axes), dim=-1) - entropy(joint, dim=all_axes)
    )
