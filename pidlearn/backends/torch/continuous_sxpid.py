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

On CPU only the sample pairs near a ball's edge are visited: a pair with ``|d − ε_j| ≥ h ε_j``,
``h = τ (1 − ln eps)`` (``eps`` of the input's dtype: ``h = 17 τ`` in float32, ``37 τ`` in float64), has a soft
weight within rounding of 0 or 1 and a gradient of 0, so it is counted as that constant. One numba kernel finds the
``k``-th neighbours and the pairs from the samples sorted along each coordinate and computes the counts and, in
backward, their gradient (:class:`_SoftCounts`): ``O(N log N + N c)`` per neuron and antichain for counts of
``c`` neighbours, equal to the dense ``O(N²)`` path (:func:`_redundancies_dense`, used on other devices and by the
tests) to rounding. The dense path works in chunks of neurons with recomputation in backward
(``torch.utils.checkpoint``), so memory stays at a few ``chunk × N × N`` tensors. The kernel lives in
:mod:`pidlearn.backends._soft_counts`, shared with the NumPy backend's analytic gradient
(:mod:`pidlearn.backends.numpy.continuous_sxpid`).

``method="binned"`` is a second estimator of the same quantity: the plug-in SxPID (Makkeh et al. 2021) of a
linear-binned soft histogram of the standardised variables on the fixed lattice ``hℤ``, ``O(N)`` per neuron; on CPU
one numba pass computes it and its gradient (:mod:`pidlearn.backends._binned_sxpid`, :class:`_Binned`), elsewhere
the dense soft joint goes through :func:`pidlearn.backends.torch.functional.sxpid_atoms` under autograd
(:func:`_binned_atoms_dense`, also the tests' reference). Derivation in the guide ("The binned estimator").

References
----------
D. A. Ehrlich, K. Schick-Poland, A. Makkeh, F. Lanfermann, P. Wollstadt and M. Wibral, "Partial information
decomposition for continuous variables based on shared exclusions: analytical formulation and estimation",
Phys. Rev. E 110, 014115 (2024).
A. Kraskov, H. Stögbauer and P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint

from pidlearn.backends._binned_sxpid import (
    binned_redundancies,
    check_bin_width,
    check_method,
    lattice_cells,
    lattice_spacing,
    scaled_gradients,
)
from pidlearn.backends._settings import check_memory
from pidlearn.backends._soft_counts import (
    check_gamma,
    check_n_sources,
    check_settings,
    check_source_shape,
    check_target_shape,
    constant_message,
    psi_const,
    set_masks,
    soft_counts,
    soft_counts_backward,
    sort_samples,
)
from pidlearn.backends.torch.functional import sxpid_atoms
from pidlearn.goals import goal_rows
from pidlearn.lattice import lattice

__all__ = ["continuous_sxpid", "continuous_sxpid_goal"]

#: Elements of one ``chunk × N × N`` pair tensor; neurons are processed in chunks of about this size.
_CHUNK_ELEMENTS = 1 << 22
#: Pair tensors alive at once in a chunk's forward pass (distances of every source set, antichain, counts).
_TENSORS_PER_CHUNK = 12


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float32 or float64), got {x.dtype}")
    return x


def _batch_range(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximum and minimum of ``x`` (B, ...) over the batch axis, without a gradient or a copy of ``x``."""
    x = x.detach()
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):  # NumPy reduces the batch axis of a
        # strided view in contiguous runs; torch's strided reductions are slower
        arr = x.numpy()
        return torch.from_numpy(arr.max(axis=0)), torch.from_numpy(arr.min(axis=0))
    return x.amax(dim=0), x.amin(dim=0)


def _check_inputs(target, sources, k, tau, base, normalize, binned: bool = False):
    """Validated target (B, M), sources (B, M, n) and whether the input had no neuron axis (``squeeze``).

    ``binned``: for ``method="binned"``, the sources as a tuple of n (B, M) tensors instead (listed sources are not
    copied into one tensor; a (B, M, n) tensor's columns are views), and on the CPU the values (NaN, inf, constant)
    are left to the kernel, whose first pass over them finds these with the same messages.
    """
    target = _check_tensor(target, "target")
    b, m, squeeze = check_target_shape(target.shape)
    shape = tuple(target.shape)
    target = target.reshape(b, m)
    if isinstance(sources, (list, tuple)):
        if not sources:
            raise ValueError("sources is empty; give 1 to 4 source tensors")
        cols = [_check_tensor(x, f"sources[{i}]") for i, x in enumerate(sources)]
        for i, x in enumerate(cols):
            check_source_shape(x.shape, shape, i, "tensor")
        cols = tuple(x.reshape(b, m) for x in cols)
        sources = None if binned else torch.stack(cols, dim=-1)
    else:
        sources = _check_tensor(sources, "sources")
        check_source_shape(sources.shape, shape, None, "tensor")
        sources = sources.reshape(b, m, sources.shape[-1])
        cols = (sources,)
    check_n_sources(len(cols) if sources is None else sources.shape[-1])
    for x in cols:
        if x.dtype != target.dtype or x.device != target.device:
            raise TypeError(
                f"target ({target.dtype}, {target.device}) and sources ({x.dtype}, {x.device}) must share "
                "dtype and device"
            )
    check_settings(k, tau, base, normalize, b, m)
    out = (cols if sources is None else sources.unbind(-1)) if binned else sources
    if binned and target.device.type == "cpu":
        return target, out, squeeze
    with torch.no_grad():
        ranges = [_batch_range(target.unsqueeze(-1))] + [_batch_range(x) for x in cols]
        high = torch.cat([hi.reshape(m, -1) for hi, _ in ranges], dim=-1)
        low = torch.cat([lo.reshape(m, -1) for _, lo in ranges], dim=-1)
        if not bool(torch.isfinite(high).all() and torch.isfinite(low).all()):  # max and min propagate NaN and inf
            for name, x in (("target", target), *(("sources", x) for x in cols)):
                if not bool(torch.isfinite(x).all()):
                    raise ValueError(f"{name} contains NaN or inf; drop or impute those samples first")
        if normalize:
            constant = high == low
            if bool(constant.any()):
                neuron, var = (int(v) for v in torch.nonzero(constant)[0])
                raise ValueError(constant_message(neuron, var))
    return target, out, squeeze


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
    masks = set_masks(n)
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
    const = psi_const(k, b)
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
        local = const - torch.special.digamma(counts[0]) - torch.special.digamma(counts[1])
        out.append(local.sum(-1))
    return torch.stack(out, dim=-1)


def _standardised(target, sources, normalize):
    """Target (M, B) and sources (M, n, B), divided by their batch standard deviations if ``normalize``."""
    t = target.T  # (M, B)
    s = sources.permute(1, 2, 0)  # (M, n, B)
    if normalize:
        t = t / t.std(dim=-1, unbiased=False, keepdim=True)
        s = s / s.std(dim=-1, unbiased=False, keepdim=True)
    return t, s


def _redundancies_dense(target, sources, rows, k, tau, normalize):
    """Reference: average redundancies (nats) of antichains ``rows``, (M, R), from all ``N²`` sample pairs.

    Blocks of neurons and samples with recomputation in backward. Used by the tests to check
    :func:`_redundancies`, which equals it to rounding.
    """
    t, s = _standardised(target, sources, normalize)
    m, b = t.shape
    chunk, n_rows = _blocks(m, b)
    itemsize = torch.finfo(t.dtype).bits // 8
    check_memory(
        _TENSORS_PER_CHUNK * chunk * n_rows * b * itemsize,
        f"{_TENSORS_PER_CHUNK} pair tensors of {chunk} neurons × {n_rows} × {b} sample pairs × {itemsize} bytes",
        fix="use a smaller batch",
        device=t.device,
    )
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


class _SoftCounts(torch.autograd.Function):
    """Soft counts ``(n_α, n_T)``, each (M, B), of antichain ``row`` from ``t`` (M, B) and ``s`` (M, n, B), CPU.

    Forward and backward are one numba kernel (:func:`pidlearn.backends._soft_counts.soft_counts` and
    :func:`~pidlearn.backends._soft_counts.soft_counts_backward`, shared with the NumPy backend) that visits only the
    sample pairs within ``(1 ± h) ε_j`` of each ball's edge, ``h = τ (1 − ln eps)`` (``eps`` of the input's dtype):
    beyond, the soft weight is within rounding of 0 or 1 and its gradient 0. Computed in float64 whatever the input's
    dtype.
    """

    @staticmethod
    def forward(ctx, t, s, row, k, tau):
        samples = sort_samples(*(x.detach().to("cpu", torch.float64).numpy() for x in (t, s)))
        eps_min = torch.finfo(t.dtype).eps
        counts = soft_counts(samples, row, k, tau, eps_min)
        ctx.saved = (samples, row, k, tau, eps_min, counts)
        ctx.device, ctx.dtype = t.device, t.dtype
        return tuple(torch.from_numpy(x).to(t.device, t.dtype) for x in (counts.n_a, counts.n_t))

    @staticmethod
    @once_differentiable
    def backward(ctx, g_a, g_t):
        samples = ctx.saved[0]
        grad_t, grad_s = np.zeros_like(samples.t), np.zeros_like(samples.s)
        g_a, g_t = (g.detach().to("cpu", torch.float64).numpy() for g in (g_a, g_t))
        soft_counts_backward(*ctx.saved, g_a, g_t, grad_t, grad_s)
        out = [torch.from_numpy(x).to(ctx.device, ctx.dtype) for x in (grad_t, grad_s)]
        return out[0], out[1], None, None, None


def _redundancies(target, sources, rows, k, tau, normalize):
    """Average redundancies (nats) of antichains ``rows``, (M, R).

    On CPU from the soft counts of :class:`_SoftCounts` (the sample pairs near each ball's edge, ``O(N log N)``
    for bounded counts), equal to :func:`_redundancies_dense` to rounding; on other devices the dense path.
    """
    if target.device.type != "cpu":
        return _redundancies_dense(target, sources, rows, k, tau, normalize)
    t, s = _standardised(target, sources, normalize)
    b = t.shape[1]
    const = psi_const(k, b)
    out = []
    for r in rows:
        n_a, n_t = _SoftCounts.apply(t, s, r, k, tau)
        local = const - torch.special.digamma(n_a) - torch.special.digamma(n_t)
        out.append(local.mean(-1))
    return torch.stack(out, dim=-1)


def _binned_joint(t, s, h):
    """Dense linear-binned soft joint (M, K_1, ..., K_n, K_T) of ``t`` (M, B) and ``s`` (M, n, B) on the lattice
    ``hℤ`` (each neuron's cells shifted to start at 0), under autograd: the reference of the binned estimator and its
    path off the CPU."""
    x = torch.cat([t.unsqueeze(1), s], dim=1)  # (M, V, B)
    m, n_var, b = x.shape
    with torch.no_grad():
        lo, extent = lattice_cells(x.detach().to("cpu", torch.float64).numpy(), h)
    n_full = math.prod(int(e) for e in extent)
    itemsize = torch.finfo(x.dtype).bits // 8
    check_memory(
        m * n_full * itemsize * 4,
        f"dense soft joints of {m} neurons × {' × '.join(map(str, extent.tolist()))} cells × {itemsize} bytes × 4",
        fix="use a larger bin_width, fewer neurons per call or fewer sources",
        device=x.device,
    )
    u = x * (1.0 / h)
    a = torch.floor(u).detach()
    f = u - a
    cell = a.long() - torch.as_tensor(lo, device=x.device).unsqueeze(-1)  # (M, V, B)
    strides = [math.prod(int(e) for e in extent[v + 1 :]) for v in range(n_var)]
    joint = x.new_zeros(m, n_full)
    for q in range(1 << n_var):
        key = torch.zeros_like(cell[:, 0])
        w = torch.ones_like(f[:, 0])
        for v in range(n_var):
            bit = q >> v & 1
            key = key + (cell[:, v] + bit) * strides[v]
            w = w * (f[:, v] if bit else 1.0 - f[:, v])
        joint = joint.scatter_add(1, key, w / b)
    joint = joint.reshape(m, *(int(e) for e in extent))
    return joint.movedim(1, -1)  # target last, as sxpid_atoms wants


def _binned_atoms_dense(target, sources, h, normalize):
    """Binned atoms (M, n_atoms) in nats from the dense soft joint and :func:`functional.sxpid_atoms` (autograd)."""
    t, s = _standardised(target, sources, normalize)
    return sxpid_atoms(_binned_joint(t, s, h), s.shape[1]).atoms * math.log(2)


def _as_numpy(x: torch.Tensor, copy: bool) -> np.ndarray:
    """A CPU tensor as an array: a view of float32/float64 data (the kernel copies it into float64 once), or a copy
    where it is kept for backward or has another dtype."""
    x = x.detach()
    if x.dtype not in (torch.float32, torch.float64):
        return x.to(torch.float64).numpy()
    return x.numpy().copy() if copy else x.numpy()


class _Binned(torch.autograd.Function):
    """Linear-binned redundancies on the CPU by the numba kernel of :mod:`pidlearn.backends._binned_sxpid`, from
    ``target`` (B, M) and the sources as n tensors (B, M) (listed sources are read where they are, not stacked),
    standardised inside the kernel with ``normalize``.

    ``weights=None``: the redundancies (M, R) in nats of ``rows``; backward runs the kernel once more with the
    incoming gradient as each neuron's row weights. ``weights`` (R,): the goal ``Σ_r w_r I_r`` (M,), its gradient
    computed in the same pass as the forward (only the (neurons, batch) gradient is kept for backward). The gradient
    goes through the standardisation in the kernel (``∂G/∂x = (g − ŷ⟨g y⟩)/σ``, the NumPy backend's formula) instead
    of through torch's autograd, whose strided standard deviations over the batch cost more than the kernel's pass.
    """

    @staticmethod
    def forward(ctx, target, h, rows, weights, normalize, *sources):
        tn = _as_numpy(target.T, copy=weights is None)
        sn = [_as_numpy(x.T, copy=weights is None) for x in sources]
        threads = torch.get_num_threads()
        ctx.device, ctx.dtype, ctx.fused = target.device, target.dtype, weights is not None
        ctx.shape = (*target.shape, len(sources))
        need = (ctx.needs_input_grad[0], any(ctx.needs_input_grad[5:]))
        if weights is None:
            red, _, _ = binned_redundancies(tn, sn, h, rows, threads=threads, normalize=normalize)
            ctx.saved = (tn, sn, h, rows, threads, normalize)
            return torch.from_numpy(red).to(target.device, target.dtype)
        w = np.asarray(weights, dtype=np.float64)
        red, grad_t, grad_s = binned_redundancies(tn, sn, h, rows, w if any(need) else None, threads, normalize, need)
        ctx.saved = (grad_t, grad_s)
        return torch.from_numpy(red @ w).to(target.device, target.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        g = grad_out.detach().to("cpu", torch.float64).numpy()
        need_t, need_each = ctx.needs_input_grad[0], ctx.needs_input_grad[5:]
        need_s = any(need_each)
        if ctx.fused:
            grad_t, grad_s = ctx.saved
        else:
            tn, sn, h, rows, threads, normalize = ctx.saved
            _, grad_t, grad_s = binned_redundancies(tn, sn, h, rows, g, threads, normalize, (need_t, need_s))
            g = np.ones(len(g))  # the incoming gradient already weighted the rows
        dtype = ctx.dtype if ctx.dtype in (torch.float32, torch.float64) else torch.float64
        b, m, n = ctx.shape
        # an input without a gradient gets none (0 rows: skipped); the sources' gradients (n, B, M), a row each
        d_target = torch.empty((b if need_t else 0, m), dtype=dtype)
        d_sources = torch.empty((n, b if need_s else 0, m), dtype=dtype)
        grad_t = grad_t if need_t else np.empty((0, 0))
        grad_s = grad_s if need_s else np.empty((0, 0, 0))
        scaled_gradients(grad_t, grad_s, g, d_target.numpy(), d_sources.numpy())  # layout and dtype in one pass
        d_target = d_target.to(ctx.device, ctx.dtype) if need_t else None
        d_each = [d_sources[v].to(ctx.device, ctx.dtype) if need_each[v] else None for v in range(n)]
        return d_target, None, None, None, None, *d_each


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
) -> torch.Tensor:
    """Continuous SxPID atoms, differentiable in the samples, batched over neurons (soft-count KSG-type estimator,
    or the linear-binned plug-in estimator with ``method="binned"``).

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
        spreads the gradient over more sample pairs and visits more of them (the band ``(1 ± 17 τ) ε_j`` in float32,
        ``(1 ± 37 τ) ε_j`` in float64).
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    normalize : bool, default True
        Divide every variable of every neuron by its batch standard deviation (``ddof=0``), inside the graph, as
        :func:`pidlearn.continuous.sxpid` does by default.
    method : {"knn", "binned"}, default "knn"
        ``"knn"``: the soft neighbour counts above (``k``, ``tau``). ``"binned"``: the plug-in SxPID (Makkeh et al.
        2021) of a linear-binned ("cloud-in-cell") soft histogram of the (standardised) variables on the fixed
        lattice ``hℤ``, ``O(N)`` per neuron instead of ``O(N c)``, consistent with the same continuous SxPID as
        ``h → 0`` with ``N h^{n+1} → ∞`` (guide, "The binned estimator"); ``k`` and ``tau`` are then unused
        (``k`` still needs ``batch > k``).
    bin_width : float, optional
        Lattice spacing ``h`` of ``method="binned"`` in units of the standardised variables (of the raw ones with
        ``normalize=False``); default ``h = 2 N^{-1/(n+2)}`` for ``n`` sources (0.35 for two sources at
        ``N = 1024``), chosen by measurement.

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
        sources, ``tau``, ``base`` or ``bin_width`` out of range, an unknown ``method``, or pair tensors (off CPU)
        or lattice tables (``"binned"``) past the memory limit.

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
    ``ψ`` shrinks as the counts grow with ``N``. On CPU only the pairs within rounding of a ball's edge are
    visited (``O(N log N)`` per neuron and antichain for bounded counts, see the module docstring); on other
    devices all ``N²`` pairs.

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
    method = check_method(method)
    bin_width = check_bin_width(bin_width, method)
    target, sources, squeeze = _check_inputs(target, sources, k, tau, base, normalize, method == "binned")
    n = len(sources) if method == "binned" else sources.shape[-1]
    lat = lattice(n)
    mob = torch.as_tensor(lat.mobius.toarray(), dtype=target.dtype, device=target.device)
    if method == "binned":
        h = lattice_spacing(bin_width, target.shape[0], n)
        if target.device.type != "cpu":
            atoms = _binned_atoms_dense(target, torch.stack(sources, -1), h, normalize) / math.log(base)
            return atoms[0] if squeeze else atoms
        red = _Binned.apply(target, h, tuple(range(lat.n_atoms)), None, normalize, *sources) / math.log(base)
    else:
        red = _redundancies(target, sources, range(lat.n_atoms), k, tau, normalize) / math.log(base)
    atoms = red @ mob.T
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
    method: str = "knn",
    bin_width: float | None = None,
) -> torch.Tensor:
    """Goal ``G = Σ_α γ_α Π(α)`` per neuron in continuous atoms, evaluating only the redundancies it needs.

    Equal to ``continuous_sxpid(target, sources, ...) @ gamma``; since ``Π = M I_sx``, ``G = (Mᵀγ) · I_sx`` needs
    ``I_sx`` only where ``Mᵀγ ≠ 0`` (one antichain of four for the context heuristic ``γ = {1}{2}``).

    Parameters
    ----------
    target, sources, k, tau, base, normalize, method, bin_width
        As for :func:`continuous_sxpid`. With ``method="binned"`` on the CPU one numba pass per neuron computes the
        goal and its gradient together (only the (neurons, batch) gradient is kept for backward).
    gamma : sequence of float, length n_atoms
        Weights in lattice order (see :func:`pidlearn.goals.goal_vector`).

    Returns
    -------
    Tensor, shape (neurons,), or a 0-d tensor for a target of shape (batch,)
    """
    method = check_method(method)
    bin_width = check_bin_width(bin_width, method)
    target, sources, squeeze = _check_inputs(target, sources, k, tau, base, normalize, method == "binned")
    n = len(sources) if method == "binned" else sources.shape[-1]
    gamma = check_gamma(gamma, n)
    rows, weights = goal_rows(n, gamma)
    if not rows:
        out = target.sum(0) * 0.0
        return out[0] if squeeze else out
    if method == "binned":
        h = lattice_spacing(bin_width, target.shape[0], n)
        if target.device.type != "cpu":
            atoms = _binned_atoms_dense(target, torch.stack(sources, -1), h, normalize) / math.log(base)
            out = atoms @ torch.tensor(gamma, dtype=atoms.dtype, device=atoms.device)
        else:
            out = _Binned.apply(target, h, tuple(rows), tuple(weights), normalize, *sources) / math.log(base)
        return out[0] if squeeze else out
    red = _redundancies(target, sources, rows, k, tau, normalize) / math.log(base)
    out = red @ torch.tensor(weights, dtype=red.dtype, device=red.device)
    return out[0] if squeeze else out
