"""Differentiable continuous SxPID in torch: a soft-count version of the KSG-type estimator, batched over neurons.

The KSG-type estimator of Ehrlich et al. (2024) (:func:`pidlearn.continuous.sxpid`) counts, for each sample ``j``
and antichain ``α``, the neighbours inside the ``k``-th-neighbour radius ``ε_j`` of the joint distance
``max(d_T, d_α)``, with ``d_a = max_{i∈a} d_i`` (conjunction) and ``d_α = min_{a∈α} d_a`` (disjunction):

    i_sx(j : α) = ψ(k) + ψ(N) − ψ(n_α(j)) − ψ(n_T(j)),   n_x(j) = 1 + #{j' ≠ j : d_x(j, j') < ε_j}.

The counts are piecewise constant in the samples, so the estimate has no useful gradient. Here each indicator
``1[d < ε_j]`` is replaced by the logistic ``σ((ε_j − d) / (τ ε_j))`` (relative softness ``τ``), except for the
``k``-th neighbour itself, which lies on the boundary (``d = ε_j`` in the marginal that attains the maximum) and keeps
its hard indicator, so that the estimate tends to the KSG-type one as ``τ → 0``. ``ε_j`` is the ``k``-th smallest
joint distance (differentiable through the pair that attains it) and ``ψ`` the digamma function of the soft counts.
Gradients reach every sample through the distances, the radii and the counts. Atoms follow by the Möbius inversion
of :mod:`pidlearn.lattice`. The derivation and a comparison with the KSG-type estimator over N are in the docs
("Differentiable continuous SxPID").

The cost is ``O(N²)`` per neuron and antichain (all sample pairs), computed in chunks of neurons with
recomputation in backward (``torch.utils.checkpoint``), so memory stays at a few ``chunk × N × N`` tensors.

References
----------
D. A. Ehrlich, K. Schick-Poland, A. Makkeh, F. Lanfermann, P. Wollstadt and M. Wibral, "Partial information
decomposition for continuous variables based on shared exclusions: analytical formulation and estimation",
Phys. Rev. E 110, 014115 (2024).
A. Kraskov, H. Stögbauer and P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
import torch
from torch.utils.checkpoint import checkpoint

from pidlearn.backends._settings import check_memory
from pidlearn.lattice import lattice

__all__ = ["continuous_sxpid", "continuous_sxpid_goal"]

#: Elements of one ``chunk × N × N`` pair tensor; neurons are processed in chunks of about this size.
_CHUNK_ELEMENTS = 1 << 22
#: Pair tensors alive at once in a chunk's forward pass (distances of every source set, antichain, counts).
_TENSORS_PER_CHUNK = 12


@functools.cache
def _set_masks(n: int) -> tuple[tuple[int, ...], ...]:
    """Source-set bitmasks of each antichain, lattice order."""
    lat = lattice(n)
    return tuple(lat.source_masks(name) for name in lat.names)


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float32 or float64), got {x.dtype}")
    return x


def _check_inputs(target, sources, k, tau, base, normalize):
    """Validated target (B, M) and sources (B, M, n), and whether the input had no neuron axis (``squeeze``)."""
    target = _check_tensor(target, "target")
    if target.dim() not in (1, 2):
        raise ValueError(
            f"target must have shape (batch,) or (batch, neurons), got {tuple(target.shape)}; a neuron's target is "
            "one real number per sample"
        )
    squeeze = target.dim() == 1
    if squeeze:
        target = target.unsqueeze(1)
    b, m = target.shape
    shape = (b,) if squeeze else (b, m)
    if isinstance(sources, (list, tuple)):
        if not sources:
            raise ValueError("sources is empty; give 1 to 4 source tensors")
        cols = [_check_tensor(x, f"sources[{i}]") for i, x in enumerate(sources)]
        for i, x in enumerate(cols):
            if tuple(x.shape) != shape:
                raise ValueError(f"sources[{i}] has shape {tuple(x.shape)}; each source must have the shape {shape}")
        sources = torch.stack([x.reshape(b, m) for x in cols], dim=-1)
    else:
        sources = _check_tensor(sources, "sources")
        if sources.dim() != len(shape) + 1 or tuple(sources.shape[:-1]) != shape:
            raise ValueError(
                f"sources has shape {tuple(sources.shape)}; with a target of shape {shape} it must be "
                f"{(*shape, 'n_sources')}, or a list of tensors shaped like the target"
            )
        sources = sources.reshape(b, m, -1)
    n = sources.shape[-1]
    if not 1 <= n <= 4:
        raise ValueError(f"the continuous SxPID takes 1 to 4 sources, got {n} (5 sources have 7579 antichains)")
    if sources.dtype != target.dtype or sources.device != target.device:
        raise TypeError(
            f"target ({target.dtype}, {target.device}) and sources ({sources.dtype}, {sources.device}) must share "
            "dtype and device"
        )
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k (number of nearest neighbours) must be a positive int, got {k!r}")
    if b <= k:
        raise ValueError(f"the batch has {b} samples; k = {k} nearest neighbours need at least k + 1 samples")
    if m == 0:
        raise ValueError("target has 0 neurons; give at least one")
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not (math.isfinite(tau) and tau > 0):
        raise ValueError(
            f"tau (softness of the neighbour counts, relative to each sample's radius) must be a positive finite "
            f"number such as 0.02, got {tau!r}"
        )
    if isinstance(base, bool) or not isinstance(base, numbers.Real) or not (math.isfinite(base) and base > 1):
        raise ValueError(f"base must be a finite number > 1 (2: bits, math.e: nats), got {base!r}")
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    with torch.no_grad():
        for name, x in (("target", target), ("sources", sources)):
            if not bool(torch.isfinite(x).all()):
                raise ValueError(f"{name} contains NaN or inf; drop or impute those samples first")
        if normalize:
            spread = torch.cat([target.unsqueeze(-1), sources], dim=-1).std(dim=0, unbiased=False)
            if bool((spread == 0).any()):
                neuron, var = (int(v) for v in torch.nonzero(spread == 0)[0])
                what = "the target" if var == 0 else f"source {var}"
                raise ValueError(
                    f"{what} of neuron {neuron} is constant over the batch; a constant variable carries no "
                    "information and cannot be standardised (give varying inputs)"
                )
    itemsize = torch.finfo(target.dtype).bits // 8
    chunk, n_rows = _blocks(m, b)
    check_memory(
        _TENSORS_PER_CHUNK * chunk * n_rows * b * itemsize,
        f"{_TENSORS_PER_CHUNK} pair tensors of {chunk} neurons × {n_rows} × {b} sample pairs × {itemsize} bytes",
        fix="use a smaller batch",
        device=target.device,
    )
    return target, sources, squeeze


def _blocks(m: int, b: int) -> tuple[int, int]:
    """Neurons per chunk and sample rows per block, so that one pair tensor has about ``_CHUNK_ELEMENTS`` entries."""
    rows = max(1, min(b, _CHUNK_ELEMENTS // b))
    return max(1, min(m, _CHUNK_ELEMENTS // (rows * b))), rows


def _block_redundancy(t, s, lo, hi, rows, k, tau):
    """Sum over the samples ``lo:hi`` of the local redundancies (nats) of the antichains ``rows``: (c, R).

    ``t`` (c, B) and ``s`` (c, n, B) are a chunk of neurons; sample ``j`` in ``lo:hi`` is compared with all ``B``.
    """
    n = s.shape[1]
    b = t.shape[1]
    d_t = (t[:, lo:hi, None] - t[:, None, :]).abs()  # (c, hi - lo, B)
    d_var = (s[:, :, lo:hi, None] - s[:, :, None, :]).abs()  # (c, n, hi - lo, B)
    masks = _set_masks(n)
    d_set: dict[int, torch.Tensor] = {}

    def set_distance(g: int) -> torch.Tensor:  # conjunction: max over the set's sources
        if g not in d_set:
            members = [i for i in range(n) if g >> i & 1]
            d = d_var[:, members[0]]
            for i in members[1:]:
                d = torch.maximum(d, d_var[:, i])
            d_set[g] = d
        return d_set[g]

    self_pair = torch.zeros(hi - lo, b, dtype=torch.bool, device=t.device)
    self_pair[torch.arange(hi - lo, device=t.device), torch.arange(lo, hi, device=t.device)] = True
    psi_const = float(torch.special.digamma(torch.tensor([float(k), float(b)], dtype=torch.float64)).sum())
    out = []
    for r in rows:
        d_a = set_distance(masks[r][0])
        for g in masks[r][1:]:  # disjunction: min over the antichain's sets
            d_a = torch.minimum(d_a, set_distance(g))
        joint = torch.maximum(d_a, d_t).masked_fill(self_pair, math.inf)
        vals, idx = torch.topk(joint, k, dim=-1, largest=False)
        # (c, rows, 1): distance to the k-th neighbour; kept above 0 where k samples repeat sample j exactly, so
        # that ties give finite counts (the tied samples count fully) instead of 0 / 0
        eps = vals[..., k - 1 :].clamp_min(torch.finfo(t.dtype).eps)
        scale = 1.0 / (tau * eps)
        kth = idx[..., k - 1 :]
        counts = []
        for d in (d_a, d_t):
            w = torch.sigmoid((eps - d) * scale).masked_fill(self_pair, 0.0)
            # the k-th neighbour lies on the boundary (d = ε_j) of the marginal that attains ε_j, where the soft
            # indicator would give it 1/2: it keeps its hard (strict) indicator
            d_kth = torch.gather(d, -1, kth)
            soft_kth = torch.gather(w, -1, kth).squeeze(-1)
            hard_kth = (d_kth < eps).to(d.dtype).squeeze(-1)
            counts.append(1.0 + w.sum(-1) - soft_kth + hard_kth)
        local = psi_const - torch.special.digamma(counts[0]) - torch.special.digamma(counts[1])
        out.append(local.sum(-1))
    return torch.stack(out, dim=-1)


def _redundancies(target, sources, rows, k, tau, normalize):
    """Average redundancies (nats) of antichains ``rows``, (M, R), in blocks of neurons and samples."""
    t = target.T  # (M, B)
    s = sources.permute(1, 2, 0)  # (M, n, B)
    if normalize:
        t = t / t.std(dim=-1, unbiased=False, keepdim=True)
        s = s / s.std(dim=-1, unbiased=False, keepdim=True)
    m, b = t.shape
    chunk, n_rows = _blocks(m, b)
    grad = torch.is_grad_enabled() and (t.requires_grad or s.requires_grad)
    blocked = m > chunk or b > n_rows
    parts = []
    for c0 in range(0, m, chunk):
        total = 0.0
        for lo in range(0, b, n_rows):
            args = (t[c0 : c0 + chunk], s[c0 : c0 + chunk], lo, min(b, lo + n_rows), tuple(rows), int(k), float(tau))
            if grad and blocked:  # recompute each block in backward: the memory of one block, not of all
                total = total + checkpoint(_block_redundancy, *args, use_reentrant=False)
            else:
                total = total + _block_redundancy(*args)
        parts.append(total / b)
    return torch.cat(parts, dim=0)


def continuous_sxpid(
    target,
    sources,
    *,
    k: int = 3,
    tau: float = 0.02,
    base: float = 2,
    normalize: bool = True,
) -> torch.Tensor:
    """Continuous SxPID atoms, differentiable in the samples, batched over neurons (soft-count KSG-type estimator).

    Parameters
    ----------
    target : Tensor, shape (batch,) or (batch, neurons)
        Real-valued target of each neuron (e.g. its output).
    sources : Tensor of shape (batch, neurons, n_sources) or (batch, n_sources), or a list of n_sources tensors
        shaped like ``target``
        One real value per source, sample and neuron; 1 to 4 sources.
    k : int, default 3
        Nearest neighbours in the joint space, as in :func:`pidlearn.continuous.sxpid`; ``k < batch``.
    tau : float, default 0.02
        Softness of the neighbour counts relative to each sample's radius: the indicator ``1[d < ε_j]`` becomes
        ``σ((ε_j − d) / (τ ε_j))``. Smaller is closer to the KSG-type estimate (the soft counts are biased by a
        relative ``O(τ²)``: about 0.07 bits on a synergy of 0.73 bits at ``τ = 0.1``, 0.01 at ``τ = 0.02``), larger
        spreads the gradient over more sample pairs.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    normalize : bool, default True
        Divide every variable of every neuron by its batch standard deviation (``ddof=0``), inside the graph, as
        :func:`pidlearn.continuous.sxpid` does by default.

    Returns
    -------
    Tensor, shape (neurons, n_atoms), or (n_atoms,) for a target of shape (batch,)
        Atoms in lattice order (names: :func:`pidlearn.backends.torch.functional.atom_names`), carrying gradients
        to ``target`` and ``sources``. Their sum is the soft KSG estimate of ``I(T; S_1..S_n)``.

    Raises
    ------
    TypeError
        Non-tensor or integer inputs, mixed dtypes or devices.
    ValueError
        Shapes that do not match, NaN/inf, constant variables (with ``normalize``), ``batch <= k``, more than 4
        sources, ``tau`` or ``base`` out of range, or pair tensors past the memory limit.

    Notes
    -----
    With per-variable distances ``d_i = |s_i − s_i'|``, ``d_a = max_{i∈a} d_i``, ``d_α = min_{a∈α} d_a``,
    ``ε_j = `` the ``k``-th smallest ``max(d_T, d_α)(j, ·)`` (``κ_j`` the neighbour attaining it) and
    ``w(d) = σ((ε_j − d)/(τ ε_j))``,

    .. math::

        \\tilde n_x(j) = 1 + \\sum_{j' \\ne j, κ_j} w(d_x(j, j')) + 1[d_x(j, κ_j) < ε_j], \\quad
        \\hat I_{sx}(α) = ψ(k) + ψ(N) − ⟨ψ(\\tilde n_α) + ψ(\\tilde n_T)⟩,

    for ``x ∈ {α, T}``; atoms ``Π = M \\hat I_{sx}`` (Möbius inversion). As ``τ → 0`` the counts become the
    strict counts of Ehrlich et al., so the estimate tends to :func:`pidlearn.continuous.sxpid`'s; for any fixed
    ``τ`` the soft and hard counts differ only for neighbours within ``O(τ ε_j)`` of the radius, whose effect on
    ``ψ`` shrinks as the counts grow with ``N``. Cost ``O(N²)`` per neuron and antichain.

    References
    ----------
    D. A. Ehrlich et al., "Partial information decomposition for continuous variables based on shared exclusions:
    analytical formulation and estimation", Phys. Rev. E 110, 014115 (2024).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> s = torch.randn(500, 2, generator=g, dtype=torch.float64)
    >>> atoms = continuous_sxpid(s.sum(1), s)          # redundancy, unique 1, unique 2, synergy (bits)
    >>> atoms.shape
    torch.Size([4])
    """
    target, sources, squeeze = _check_inputs(target, sources, k, tau, base, normalize)
    n = sources.shape[-1]
    lat = lattice(n)
    red = _redundancies(target, sources, range(lat.n_atoms), k, tau, normalize) / math.log(base)
    mob = torch.as_tensor(lat.mobius.toarray(), dtype=red.dtype, device=red.device)
    atoms = red @ mob.T
    return atoms[0] if squeeze else atoms


@functools.cache
def _goal_rows(n: int, gamma: tuple[float, ...]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Antichains a goal ``Σ γ_α Π(α)`` needs and their weights ``(Mᵀγ)_α`` (since ``Π = M I_sx``)."""
    w = lattice(n).mobius.toarray().T @ np.asarray(gamma, dtype=float)
    rows = tuple(int(i) for i in np.flatnonzero(np.abs(w) > 1e-15))
    return rows, tuple(float(w[i]) for i in rows)


def continuous_sxpid_goal(
    target, sources, gamma, *, k: int = 3, tau: float = 0.02, base: float = 2, normalize: bool = True
) -> torch.Tensor:
    """Goal ``G = Σ_α γ_α Π(α)`` per neuron in continuous atoms, evaluating only the redundancies it needs.

    Equal to ``continuous_sxpid(target, sources, ...) @ gamma``; since ``Π = M I_sx``, ``G = (Mᵀγ) · I_sx`` needs
    ``I_sx`` only where ``Mᵀγ ≠ 0`` (one antichain of four for the context heuristic ``γ = {1}{2}``).

    Parameters
    ----------
    target, sources, k, tau, base, normalize
        As for :func:`continuous_sxpid`.
    gamma : sequence of float, length n_atoms
        Weights in lattice order (see :func:`pidlearn.goals.goal_vector`).

    Returns
    -------
    Tensor, shape (neurons,), or a 0-d tensor for a target of shape (batch,)
    """
    target, sources, squeeze = _check_inputs(target, sources, k, tau, base, normalize)
    n = sources.shape[-1]
    gamma = tuple(float(g) for g in (gamma.tolist() if isinstance(gamma, torch.Tensor) else gamma))
    if len(gamma) != lattice(n).n_atoms or not all(math.isfinite(g) for g in gamma):
        raise ValueError(f"gamma must hold {lattice(n).n_atoms} finite weights for {n} sources, got {len(gamma)}")
    rows, weights = _goal_rows(n, gamma)
    if not rows:
        out = target.sum(0) * 0.0
        return out[0] if squeeze else out
    red = _redundancies(target, sources, rows, k, tau, normalize) / math.log(base)
    out = red @ torch.tensor(weights, dtype=red.dtype, device=red.device)
    return out[0] if squeeze else out
