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

On the CPU the goal and its gradient (and atoms that need no gradient) come from the fused numba kernel of
:mod:`pidlearn.backends._goal_kernels`, which works per *occupied joint cell* instead of per sample: every quantity
above depends on a sample only through its cell, so the logs, the inclusion–exclusion sums and the gradient's cell
sums are evaluated once per occupied cell (a few dozen for trained neurons, at most ``B``). The torch code below is
the path of other devices (``_FUSED_CPU_GOAL = False`` selects it on the CPU too; the tests compare the two).

The two target values of a cell travel as one complex number (one slot, one scatter and one gather for both), and
the gradient with respect to θ is written out (:func:`_theta_gradient`) instead of recorded by autograd: for a goal
(one output per neuron) it is computed in the forward pass, so backward keeps only a (batch, neurons) tensor.

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
import numbers
from typing import NamedTuple

import numpy as np
import torch

from pidlearn.backends._goal_kernels import _matrices_np, _slot_strides, redundancies
from pidlearn.backends._settings import check_memory, table_size
from pidlearn.goals import goal_rows
from pidlearn.lattice import lattice

__all__ = [
    "SIGMA_RULES",
    "SxPIDAtoms",
    "atom_names",
    "delta_gram",
    "entropy",
    "gaussian_gram",
    "info_nce",
    "kernel_width",
    "matrix_entropy",
    "mutual_information",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mutual_information",
    "sample_sxpid_atoms",
    "sample_sxpid_goal",
    "soft_joint",
    "sxpid_atoms",
]

_LOG2 = math.log(2.0)

#: Evaluate the goal on the CPU with the fused kernels of :mod:`pidlearn.backends._goal_kernels` (False: the
#: pure-torch path that other devices use; the tests compare the two).
_FUSED_CPU_GOAL = True


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
    _check_joint(joint, n)
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


def _check_joint(joint: torch.Tensor, n: int) -> None:
    """Refuse a joint that is not a pmf per batch index: empty, NaN/inf, negative cells, or sums other than 1."""
    if joint.numel() == 0:
        raise ValueError(f"joint is empty (shape {tuple(joint.shape)}); every axis needs at least one entry")
    with torch.no_grad():
        if not bool(torch.isfinite(joint).all()):
            raise ValueError("joint contains NaN or inf; a joint pmf has finite entries")
        low = float(joint.min())
        if low < 0:
            raise ValueError(f"joint has negative entries (min {low:.3g}); probabilities must be >= 0")
        sums = joint.sum(dim=tuple(range(joint.dim() - n - 1, joint.dim())))
        tol = max(1e-6, 100 * torch.finfo(joint.dtype).eps * math.sqrt(joint[(0,) * (joint.dim() - n - 1)].numel()))
        worst = float((sums - 1.0).abs().max())
        if worst > tol:
            raise ValueError(
                f"joint does not sum to 1 over its last {n + 1} axes (off by up to {worst:.3g}); normalise it, "
                f"e.g. joint / joint.sum(dim={tuple(range(-n - 1, 0))}, keepdim=True)"
            )


def _table_bytes(n_neurons: int, n_bins: tuple[int, ...], dtype: torch.dtype) -> tuple[int, str]:
    """Bytes of the marginal tables of the sample-based SxPID and the formula, for the memory check."""
    size = table_size(n_bins)
    item = torch.finfo(dtype).bits // 8
    return n_neurons * size * 2 * item, (
        f"{n_neurons} neurons × {size} table slots (Σ over source sets of Π n_bins, n_bins={n_bins}) × "
        f"2 target values × {item} bytes ({dtype})"
    )


def _check_samples(theta: torch.Tensor, bins: torch.Tensor, n_bins) -> tuple[int, ...]:
    _check_float(theta, "theta")
    if theta.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"theta must be float32 or float64 (the joint tables need their range), got {theta.dtype}")
    if not isinstance(bins, torch.Tensor) or bins.dtype not in (torch.int64, torch.int32):
        raise TypeError("bins must be an integer (int64) tensor of bin indices")
    if theta.dim() != 2:
        raise ValueError(f"theta must have shape (batch, neurons), got {tuple(theta.shape)}")
    if theta.shape[0] == 0 or theta.shape[1] == 0:
        raise ValueError(
            f"theta is empty (shape {tuple(theta.shape)}): the batch needs at least one sample and one neuron"
        )
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
    check_memory(*_table_bytes(theta.shape[1], n_bins, theta.dtype), device=theta.device)
    if bins.numel():
        low = int(bins.min())
        high = bins.amax(dim=(0, 1)).tolist()
        if low < 0 or any(h >= k for h, k in zip(high, n_bins, strict=True)):
            raise ValueError(
                f"bin indices must lie in 0..n_bins-1 per source (n_bins={n_bins}); got minimum {low} and maxima {high}"
            )
    return n_bins


class _Workspace:
    """Scratch tensors of the sample-based SxPID, kept between calls by the layer that owns it.

    A training step needs a few buffers of ``neurons × (2^n − 1) × batch`` elements. Allocated afresh on every call
    they are returned to the operating system at the end of the call and page-faulted in again on the next one,
    which costs more than the arithmetic on them; a layer keeps one workspace and reuses them. Nothing returned or
    saved for backward lives in it. A functional call without a workspace uses a fresh one.
    """

    def __init__(self):
        self._bufs: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        numel = math.prod(shape)
        buf = self._bufs.get(name)
        if buf is None or buf.numel() < numel or buf.dtype != dtype or buf.device != device:
            self._bufs.pop(name, None)
            buf = self._bufs[name] = torch.empty(numel, dtype=dtype, device=device)
        return buf[:numel].view(shape)


def _cell_keys(bins, n_bins: tuple[int, ...], ws: _Workspace) -> tuple[torch.Tensor, int]:
    """Index (neurons, 2^n − 1, batch) of each sample's cell in the concatenated marginal tables, and their size.

    ``bins`` is a (batch, neurons, n) tensor or a sequence of n (batch, neurons) tensors. Source set ``g`` (a
    bitmask) owns the slots ``offset_g .. offset_g + Π_{i∈g} K_i − 1`` of a neuron's table; a cell's slot is
    ``offset_g + Σ_{i∈g} stride_gi · s_i``, one small matmul for all sets (exact: the slots are integers far below
    the float mantissa).
    """
    n = len(n_bins)
    cols_in = [bins[..., i] for i in range(n)] if isinstance(bins, torch.Tensor) else list(bins)
    b, n_neurons = cols_in[0].shape
    device = cols_in[0].device
    strides, offsets = _slot_strides(tuple(n_bins))
    size = int(offsets[-1])
    fdtype = torch.float32 if size < 1 << 24 else torch.float64
    cols = ws.get("cols", (n_neurons, n, b), fdtype, device)  # rows of samples, one per neuron and source
    for i, col in enumerate(cols_in):
        cols[:, i].copy_(col.T)
    slots = ws.get("slots", (n_neurons, (1 << n) - 1, b), fdtype, device)
    torch.matmul(torch.as_tensor(strides, dtype=fdtype, device=device), cols, out=slots)
    slots.add_(torch.as_tensor(offsets[:-1], dtype=fdtype, device=device).unsqueeze(-1))
    keys = ws.get("keys", slots.shape, torch.int64, device)
    keys.copy_(slots)
    return keys, size


@functools.cache
def _complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _cell_sums(src: torch.Tensor, keys: torch.Tensor, size: int, ws: _Workspace) -> None:
    """Replace ``src`` (N, G·B) complex by ``Σ_{b': cell_g(b') = cell_g(b)} src[n, g, b']`` at every (n, g, b).

    The two target values travel together as one complex number (real: T = 0, imaginary: T = 1), so each cell is
    one slot: one scatter and one gather of ``N·G·B`` elements.
    """
    n_neurons = keys.shape[0]
    flat = keys.view(n_neurons, -1)
    table = ws.get("table", (n_neurons, size), src.dtype, src.device).zero_()
    table.scatter_add_(1, flat, src)
    torch.gather(table, 1, flat, out=src)


def _theta_gradient(q, gl, keys, size, c, g, log_pt_diff, ws) -> torch.Tensor:
    """``∂/∂θ`` (N, B) of ``Σ_α g_α I_sx(α)`` in bits (``g``: (R,) or (N, R) weights) from forward quantities.

    With ``p_bt`` the mass of sample ``b`` at ``T = t`` and ``D_t^α(b) = P(T = t, ∨α)`` at its cell (nats),

        ∂I_sx(α)/∂p_bt = ln D_t^α(b) + Σ_g C_αg Σ_{b': cell_g(b') = cell_g(b)} p_b't / D_t^α(b') − ln P(t) − 1,

    and ``∂p_b1/∂θ_b = −∂p_b0/∂θ_b = 1/B``. ``q = p / D`` (N, R, B, 2); ``gl = Σ_α g_α ln D_t^α`` (N, 2B).
    """
    n_neurons, rows, b = q.shape[:3]
    n_sets = keys.shape[1]
    q = q.view(n_neurons, rows, 2 * b)
    u = ws.get("cells", (n_neurons, n_sets * b), _complex_dtype(q.dtype), q.device)
    u_real = torch.view_as_real(u).view(n_neurons, n_sets, 2 * b)
    if g.dim() == 1:
        torch.matmul(c.T * g, q, out=u_real)
        g_sum = g.sum()
    else:
        torch.matmul(c.T.unsqueeze(0) * g.unsqueeze(1), q, out=u_real)
        g_sum = g.sum(-1, keepdim=True)
    _cell_sums(u, keys, size, ws)
    grad_p = gl.view(n_neurons, b, 2).add_(u_real.view(n_neurons, n_sets, b, 2).sum(1))
    # the −ln P(t) − 1 of every row: the −1 cancels between t = 1 and t = 0
    return (grad_p[..., 1] - grad_p[..., 0] - g_sum * log_pt_diff).div_(b * _LOG2)


class _SampleRedundancy(torch.autograd.Function):
    """``I_sx`` (N, R) in bits of the rows of ``c``, or their ``weights``-weighted sum (N,), with an analytic gradient.

    Autograd through the scatter/gather of the marginal tables would keep every intermediate of the batch alive and
    run each lookup twice more; the gradient here is the exact derivative of the same expression (see
    :func:`_theta_gradient`). With ``weights`` (one output per neuron) it is computed during the forward pass and
    only the (batch, neurons) result is kept for backward.
    """

    @staticmethod
    def forward(ctx, theta, keys, size, c, weights, ws, needs_grad):
        b, n_neurons = theta.shape
        rows, n_sets = c.shape
        if needs_grad and weights is None:
            ws = _Workspace()  # q, log_d and keys are saved for backward: not in a shared workspace
            keys = keys.clone()
        tt = theta.T
        probs = torch.stack((1.0 - tt, tt), dim=-1).div_(b)  # (N, B, 2): mass of each sample at T = 0, 1
        p_t = probs.sum(1)  # (N, 2)
        m = ws.get("cells", (n_neurons, n_sets * b), _complex_dtype(theta.dtype), theta.device)
        m.view(n_neurons, n_sets, b).copy_(torch.view_as_complex(probs).unsqueeze(1))
        _cell_sums(m, keys, size, ws)  # P(T = t, S_g = s_g(b))
        m = torch.view_as_real(m).view(n_neurons, n_sets, 2 * b)
        d = ws.get("d", (n_neurons, rows, b, 2), theta.dtype, theta.device)
        torch.matmul(c, m, out=d.view(n_neurons, rows, 2 * b))  # D_t^α(b) = P(T = t, ∨α) at b's cell
        # P(∨α) = Σ_t P(t, ∨α) is a count / B: no gradient; its mean log enters with weight Σ_t p_bt = 1/B
        disj = ws.get("disj", (n_neurons, rows, b), theta.dtype, theta.device)
        torch.add(d[..., 0], d[..., 1], out=disj)
        log_disj = disj.log_().mean(-1)  # (N, R)
        if needs_grad:
            log_d = ws.get("log_d", d.shape, theta.dtype, theta.device)
            torch.log(d, out=log_d)
        else:
            log_d = d.log_()
        log_d2 = log_d.view(n_neurons, rows, 2 * b)
        if needs_grad and weights is not None:
            gl = torch.matmul(weights, log_d2)  # Σ_α w_α ln D_t^α (N, 2B), for the gradient
        # Σ_{b,t} p_bt ln D_t^α(b), the product in place where ln D is not kept for backward
        prod = ws.get("prod", log_d2.shape, theta.dtype, theta.device) if needs_grad and weights is None else log_d2
        red = torch.mul(log_d2, probs.view(n_neurons, 1, 2 * b), out=prod).sum(-1)
        red = (red - log_disj - torch.special.xlogy(p_t, p_t).sum(-1, keepdim=True)) / _LOG2
        out = red if weights is None else torch.matmul(red, weights)
        ctx.weighted = weights is not None
        if needs_grad:
            q = d.reciprocal_().mul_(probs.unsqueeze(1))  # p_bt / D_t^α(b), in place of d
            log_pt_diff = (torch.log(p_t[:, 1]) - torch.log(p_t[:, 0])).unsqueeze(-1)  # (N, 1)
            if weights is None:
                ctx.save_for_backward(q, log_d, keys, c, log_pt_diff)
                ctx.size = size
            else:  # one output per neuron: the whole gradient is known now and is (N, B) small
                ctx.save_for_backward(_theta_gradient(q, gl, keys, size, c, weights, log_pt_diff, ws))
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        if ctx.weighted:
            (grad,) = ctx.saved_tensors
            grad = grad * grad_out.unsqueeze(-1)
        else:
            q, log_d, keys, c, log_pt_diff = ctx.saved_tensors
            b = q.shape[2]
            gl = torch.matmul(grad_out.unsqueeze(1), log_d.view(*q.shape[:2], 2 * b)).squeeze(1)
            grad = _theta_gradient(q, gl, keys, ctx.size, c, grad_out, log_pt_diff, _Workspace())
        return grad.T, None, None, None, None, None, None


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
    pointwise redundancy is evaluated for each sample and both target values; see the module docstring. The
    gradient is analytic (one more scatter and gather in backward).

    References
    ----------
    A. Makkeh et al., PNAS (2025), arXiv:2306.02149 (soft joint of infomorphic neurons).
    """
    n_bins = _check_samples(theta, bins, n_bins)
    _check_open_unit(theta)
    return _sample_atoms(theta, bins, n_bins)


def _sample_atoms(theta, bins, n_bins: tuple[int, ...], ws: _Workspace | None = None) -> SxPIDAtoms:
    """:func:`sample_sxpid_atoms` without the input checks (``bins`` may be a list of (batch, neurons) tensors)."""
    c, mob = _matrices(len(n_bins), theta.dtype, theta.device)
    if _FUSED_CPU_GOAL and theta.device.type == "cpu" and not (torch.is_grad_enabled() and theta.requires_grad):
        # no gradient needed (the trainer's monitoring): the fused kernel of every antichain
        t, cols = _kernel_inputs(theta, bins, len(n_bins))
        red, _ = redundancies(t, cols, n_bins, tuple(range(c.shape[0])), None, torch.get_num_threads())
        red = torch.from_numpy(red).to(theta.dtype)
    else:
        red = _sample_redundancy(theta, bins, n_bins, c, ws=ws)
    p_1 = theta.mean(0)
    return _atoms_from_redundancy(red, torch.stack((1.0 - p_1, p_1), dim=-1), mob)


def _check_open_unit(theta: torch.Tensor) -> None:
    if theta.numel():
        with torch.no_grad():
            low, high = float(theta.min()), float(theta.max())
        if not (0.0 < low and high < 1.0):
            raise ValueError(
                f"theta must lie strictly between 0 and 1 (got values in [{low}, {high}]): an output value with "
                "probability 0 has no pointwise information; clamp theta, e.g. to [1e-6, 1 - 1e-6]"
            )


def _sample_redundancy(theta, bins, n_bins, c, weights=None, ws: _Workspace | None = None) -> torch.Tensor:
    """Average redundancies ``I_sx`` (N, rows of ``c``) in bits of a batch, or ``I_sx @ weights`` (N,)."""
    ws = _Workspace() if ws is None else ws
    keys, size = _cell_keys(bins, n_bins, ws)
    # under no_grad ctx.needs_input_grad still says True for a theta that requires grad: decide here
    needs_grad = torch.is_grad_enabled() and theta.requires_grad
    return _SampleRedundancy.apply(theta, keys, size, c, weights, ws, needs_grad)


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
    gamma = tuple(float(g) for g in (gamma.tolist() if isinstance(gamma, torch.Tensor) else gamma))
    if len(gamma) != lattice(len(n_bins)).n_atoms:
        raise ValueError(
            f"gamma has {len(gamma)} weights; {len(n_bins)} sources have {lattice(len(n_bins)).n_atoms} atoms"
        )
    return _sample_goal(theta, bins, n_bins, gamma, float(gamma_res))


def _sample_goal(theta, bins, n_bins, gamma: tuple[float, ...], gamma_res: float, ws: _Workspace | None = None):
    """:func:`sample_sxpid_goal` without the input checks (``bins`` may be a list of (batch, neurons) tensors)."""
    n = len(n_bins)
    rows, weights = goal_rows(n, gamma, gamma_res)
    goal = torch.zeros(theta.shape[1], dtype=theta.dtype, device=theta.device)
    if gamma_res:
        p_t = theta.mean(0)
        goal = goal + gamma_res * entropy(torch.stack((1.0 - p_t, p_t), dim=-1))
    if not rows:
        return goal
    if theta.device.type == "cpu" and _FUSED_CPU_GOAL:  # fused numba passes per neuron (see _goal_kernels)
        return goal + _FusedGoal.apply(theta, bins, n_bins, rows, weights)
    c, _ = _matrices(n, theta.dtype, theta.device)
    w = torch.tensor(weights, dtype=theta.dtype, device=theta.device)
    return goal + _sample_redundancy(theta, bins, n_bins, c[list(rows)], w, ws)


def _kernel_inputs(theta, bins, n: int):
    """θ (N, B) and the bin columns (N, B) int32 as C-contiguous arrays for :mod:`pidlearn.backends._goal_kernels`."""
    cols = [bins[..., i] for i in range(n)] if isinstance(bins, torch.Tensor) else list(bins)
    cols_np = tuple(col.detach().T.to(torch.int32).contiguous().numpy() for col in cols)
    return theta.detach().T.contiguous().numpy(), cols_np


class _FusedGoal(torch.autograd.Function):
    """``Σ_α w_α I_sx(α)`` (N,) in bits on the CPU by the fused kernel of :mod:`pidlearn.backends._goal_kernels`,
    which also returns ``∂/∂θ`` (the expression of :func:`_theta_gradient`); only that (neurons, batch) gradient is
    kept for backward.
    """

    @staticmethod
    def forward(ctx, theta, bins, n_bins, rows, weights):
        t, cols = _kernel_inputs(theta, bins, len(n_bins))
        red, grad = redundancies(t, cols, n_bins, rows, weights, torch.get_num_threads())
        ctx.save_for_backward(torch.from_numpy(grad))
        return torch.from_numpy(red @ np.asarray(weights)).to(theta.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return (grad * grad_out.unsqueeze(-1)).T, None, None, None, None


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
    item = torch.finfo(theta.dtype).bits // 8
    check_memory(
        n_neurons * math.prod(n_bins) * 2 * item,
        f"a dense joint of {n_neurons} neurons × Π n_bins = {math.prod(n_bins)} cells × 2 target values × {item} bytes",
        fix="use sample_sxpid_atoms, which never builds the joint, or reduce n_bins",
        device=theta.device,
    )
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

    Raises
    ------
    ValueError
        If ``joint`` is empty, holds NaN/inf or negative entries, or does not sum to 1 over its trailing
        ``n_sources + 1`` axes.
    """
    _check_float(joint, "joint")
    if isinstance(n_sources, bool) or not isinstance(n_sources, int):
        raise TypeError(f"n_sources must be an int >= 1 (the number of source axes), got {n_sources!r}")
    if n_sources < 1:
        raise ValueError(f"n_sources must be >= 1 (the number of source axes before the target axis), got {n_sources}")
    if joint.dim() < n_sources + 1:
        raise ValueError(f"joint has {joint.dim()} axes; n_sources={n_sources} needs at least {n_sources + 1}")
    _check_joint(joint, n_sources)
    src_axes = tuple(range(joint.dim() - n_sources - 1, joint.dim() - 1))
    all_axes = (*src_axes, joint.dim() - 1)
    return (
        entropy(joint.sum(-1), dim=src_axes) + entropy(joint.sum(dim=src_axes), dim=-1) - entropy(joint, dim=all_axes)
    )


# ------------------------------------------------------------------------------------------------------------------
# Matrix-based Rényi α-entropies and InfoNCE (the differentiable estimators of MOLE's objectives, see
# :mod:`pidlearn.backends.torch.objectives`). Sanchez Giraldo, Rao & Príncipe (2015): ``A = K / tr K`` of a Gram
# matrix of the (flattened) batch, ``S_α(A) = 1/(1−α) log Σ λ_i(A)^α`` (α = 2 as ``−log ‖A‖²_F``),
# ``I_α(A; B) = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B))``; equal to :mod:`pidlearn.continuous.renyi` in float64. The
# kernel width is computed on the detached batch (a constant for the gradient).

#: Kernel width rules (besides a positive number). ``knn``, ``silverman`` and ``sqrt_d`` are those of the NumPy module.
SIGMA_RULES = ("knn", "knn_median", "silverman", "sqrt_d")


def _flat(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError(f"{name} must have a sample dimension, got a scalar")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    x = x.reshape(len(x), -1)
    if len(x) < 2:
        raise ValueError(f"{name}: the matrix-based estimator needs at least 2 samples, got {len(x)}")
    return x


def _sq_dists(x: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (n, n) through one matrix product, clamped at 0, exact zeros on the diagonal."""
    r = (x * x).sum(1)
    sq = (r[:, None] + r[None, :] - 2.0 * (x @ x.T)).clamp_min(0.0)
    return sq * (1.0 - torch.eye(len(x), dtype=x.dtype, device=x.device))


def kernel_width(x: torch.Tensor, rule="knn", *, n_neighbors: int = 10) -> float:
    """Gaussian kernel width ``σ`` of a batch (no gradient).

    ``"knn"``: mean over samples of the mean distance to the ``n_neighbors`` nearest other samples;
    ``"knn_median"``: the median over samples of that mean distance; ``"silverman"``: ``s̄ (4 / ((d + 2) N))^{1/(d+4)}``
    with ``s̄`` the mean column standard deviation; ``"sqrt_d"``: ``s̄ √d``; or a positive number.
    """
    if isinstance(rule, numbers.Real) and not isinstance(rule, bool):  # x is not needed (may be None)
        if not (math.isfinite(rule) and rule > 0):
            raise ValueError(f"sigma must be positive and finite, got {rule!r}")
        return float(rule)
    if rule not in SIGMA_RULES:
        raise ValueError(f"sigma must be a positive number or one of {SIGMA_RULES}, got {rule!r}")
    with torch.no_grad():
        x = _flat(x).detach()
        n, d = x.shape
        if rule in ("knn", "knn_median"):
            if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral) or n_neighbors < 1:
                raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
            m = min(int(n_neighbors), n - 1)
            dist = _sq_dists(x).sqrt()
            near = dist.topk(m + 1, dim=1, largest=False).values[:, 1:].mean(1)
            sigma = float(near.mean() if rule == "knn" else near.median())
        else:
            spread = float(x.std(0, unbiased=True).mean())
            sigma = spread * (4.0 / ((d + 2.0) * n)) ** (1.0 / (d + 4.0)) if rule == "silverman" else spread * d**0.5
    return sigma


def gaussian_gram(x: torch.Tensor, sigma="knn", *, n_neighbors: int = 10, min_sigma: float = 0.0) -> torch.Tensor:
    """Gram matrix ``exp(−‖x_i − x_j‖² / (2σ²))`` of a batch (samples flattened); ``σ`` a number or a rule."""
    x = _flat(x)
    s = max(kernel_width(x, sigma, n_neighbors=n_neighbors), min_sigma)
    return torch.exp(_sq_dists(x) * (-0.5 / (s * s)))


def delta_gram(labels: torch.Tensor, dtype=None) -> torch.Tensor:
    """Delta kernel ``K_ij = 1[y_i = y_j]`` (equal to ``Y Yᵀ`` for one-hot ``Y``) of integer labels (n,)."""
    labels = torch.as_tensor(labels)
    if labels.ndim == 2:  # one-hot / scores
        labels = labels.argmax(1)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (n,) or one-hot (n, C), got shape {tuple(labels.shape)}")
    return (labels[:, None] == labels[None, :]).to(dtype or torch.get_default_dtype())


def _entropy_nats(a: torch.Tensor, alpha: float) -> torch.Tensor:
    """``S_α`` of a unit-trace PSD matrix in nats (eigenvalues below ``λ_max N eps`` count as 0, as in NumPy)."""
    if alpha == 2.0:
        return -torch.log((a * a).sum())
    lam = torch.linalg.eigvalsh(a)
    keep = lam > lam[-1].detach() * a.shape[0] * torch.finfo(a.dtype).eps
    safe = torch.where(keep, lam, torch.ones_like(lam))
    if alpha == 1.0:
        return -(torch.where(keep, safe * torch.log(safe), torch.zeros_like(lam))).sum()
    return torch.log(torch.where(keep, safe**alpha, torch.zeros_like(lam)).sum()) / (1.0 - alpha)


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
    return float(alpha)


def matrix_entropy(a: torch.Tensor, alpha: float = 1.01, *, base: float = 2) -> torch.Tensor:
    """Rényi α-entropy of a symmetric PSD matrix (normalised here to unit trace), differentiable."""
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {tuple(a.shape)}")
    return _entropy_nats(a / torch.trace(a), _check_alpha(alpha)) / math.log(base)


def _gram(x, sigma, kernel, n_neighbors, dtype=None):
    if kernel == "delta":  # labels carry no float type: exact 0/1 entries in float64 unless told otherwise
        return delta_gram(x, dtype or torch.float64)
    if kernel != "gaussian":
        raise ValueError(f"kernel must be 'gaussian' or 'delta', got {kernel!r}")
    return gaussian_gram(x, sigma, n_neighbors=n_neighbors)


def _pair(v, n):
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def renyi_entropy(
    x: torch.Tensor, alpha: float = 1.01, sigma="knn", *, kernel: str = "gaussian", base: float = 2, n_neighbors=10
) -> torch.Tensor:
    """Matrix-based Rényi α-entropy of a batch (see :func:`pidlearn.continuous.renyi_entropy`), a 0-d tensor."""
    alpha = _check_alpha(alpha)
    g = _gram(x, "knn" if sigma is None else sigma, kernel, n_neighbors)
    return _entropy_nats(g / torch.trace(g), alpha) / math.log(base)


def renyi_joint_entropy(
    *xs, alpha: float = 1.01, sigma="knn", kernel="gaussian", base: float = 2, n_neighbors=10
) -> torch.Tensor:
    """Joint entropy ``S_α(A_1∘...∘A_C / tr(...))``; ``sigma``/``kernel`` one value or one per variable."""
    alpha = _check_alpha(alpha)
    if not xs:
        raise ValueError("need at least one variable")
    sigmas, kernels = _pair(sigma, len(xs)), _pair(kernel, len(xs))
    grams = [_gram(x, "knn" if s is None else s, k, n_neighbors) for x, s, k in zip(xs, sigmas, kernels, strict=True)]
    _same_n(grams)
    prod = grams[0]
    for g in grams[1:]:
        prod = prod * g.to(prod.dtype)
    return _entropy_nats(prod / torch.trace(prod), alpha) / math.log(base)


def _same_n(grams):
    if len({g.shape[0] for g in grams}) > 1:
        raise ValueError(f"the variables have different numbers of samples: {[g.shape[0] for g in grams]}")


def renyi_mutual_information(
    x: torch.Tensor, y: torch.Tensor, *, alpha: float = 1.01, sigma="knn", kernel="gaussian", base=2, n_neighbors=10
) -> torch.Tensor:
    """``I_α(A; B) = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B))`` of two batches, differentiable (0-d tensor).

    ``kernel=("gaussian", "delta")`` scores representations against integer labels. Equal to
    :func:`pidlearn.continuous.renyi_mutual_information` in float64.
    """
    alpha = _check_alpha(alpha)
    (sa, sb), (ka, kb) = _pair(sigma, 2), _pair(kernel, 2)
    ga = _gram(x, "knn" if sa is None else sa, ka, n_neighbors)
    gb = _gram(y, "knn" if sb is None else sb, kb, n_neighbors, dtype=ga.dtype)
    _same_n([ga, gb])
    return _mi_from_grams(ga, gb, alpha) / math.log(base)


def _mi_from_grams(ga, gb, alpha, h_b=None):
    h_a = _entropy_nats(ga / torch.trace(ga), alpha)
    if h_b is None:
        h_b = _entropy_nats(gb / torch.trace(gb), alpha)
    prod = ga * gb
    return h_a + h_b - _entropy_nats(prod / torch.trace(prod), alpha)


def _label_entropy_nats(labels: torch.Tensor, alpha: float, dtype) -> torch.Tensor:
    """``S_α`` of the normalised delta Gram matrix: its eigenvalues are the class frequencies ``n_c / N``."""
    p = torch.bincount(labels).to(dtype) / len(labels)
    p = p[p > 0]
    if alpha == 1.0:
        return -(p * p.log()).sum()
    return torch.log((p**alpha).sum()) / (1.0 - alpha)


def info_nce(z: torch.Tensor, e: torch.Tensor, temperature: float = 0.1, *, base: float = 2) -> torch.Tensor:
    """InfoNCE lower bound on I(T; Y) (van den Oord et al. 2018) from paired critic embeddings, differentiable.

    ``z`` (n, d) are the projected representations ``g(t_i)``, ``e`` (n, d) the embeddings of each sample's label;
    both are scaled to unit rows and the critic is ``f(t_i, y_j) = ⟨ẑ_i, ê_j⟩ / τ``. Returns
    ``mean_i [f(t_i, y_i) − log (1/N Σ_j exp f(t_i, y_j))] / ln base`` (at most ``log_base N``), a 0-d tensor.
    """
    if z.ndim != 2 or e.shape != z.shape:
        raise ValueError(f"z and e must be (n, d) of the same shape, got {tuple(z.shape)} and {tuple(e.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = torch.nn.functional.normalize(z, dim=1)
    e = torch.nn.functional.normalize(e, dim=1)
    scores = z @ e.T / temperature  # (i, j): f(t_i, y_j)
    nce = scores.diagonal() - torch.logsumexp(scores, dim=1) + math.log(len(z))
    return nce.mean() / math.log(base)
