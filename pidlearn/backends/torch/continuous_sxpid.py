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
(``torch.utils.checkpoint``), so memory stays at a few ``chunk × N × N`` tensors.

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
from numba import njit
from torch.autograd.function import once_differentiable
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


@njit(cache=True, inline="always")
def _antichain_var(s, m, j, jj, set_members, set_sizes):
    """``d_α(j, jj)`` of neuron ``m`` and the source that attains it (min over sets of max over their sources)."""
    best = np.inf
    best_v = -1
    for a in range(set_sizes.shape[0]):
        d = -1.0
        v = -1
        for q in range(set_sizes[a]):
            i = set_members[a, q]
            di = abs(s[m, i, j] - s[m, i, jj])
            if di > d:
                d = di
                v = i
        if d < best:
            best = d
            best_v = v
    return best, best_v


@njit(cache=True, inline="always")
def _run_end(x, order, p, step, lim):
    """First position from ``p`` in direction ``step`` of the order whose value is ``lim`` or more from ``x[order[p]]``.

    ``x[order]`` is sorted, so the positions closer than ``lim`` form a run next to ``p``: bisection, ``O(log N)``.
    Returns ``-1`` or ``len(x)`` when the run reaches the end.
    """
    xj = x[order[p]]
    if step > 0:
        lo, hi = p + 1, x.shape[0]  # answer in [lo, hi]
        while lo < hi:
            mid = (lo + hi) // 2
            if x[order[mid]] - xj >= lim:
                hi = mid
            else:
                lo = mid + 1
        return lo
    lo, hi = -1, p - 1  # answer in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if xj - x[order[mid]] >= lim:
            lo = mid
        else:
            hi = mid - 1
    return lo


@njit(cache=True)
def _soft_counts(
    t,
    s,
    order_t,
    rank_t,
    order_s,
    rank_s,
    set_members,
    set_sizes,
    k,
    tau,
    half,
    eps_min,
    kappa,
    eps,
    n_a,
    n_t,
    backward,
    g_a,
    g_t,
    grad_t,
    grad_s,
):
    """Soft neighbour counts of one antichain for all neurons and samples, or (``backward``) their gradient.

    Forward: for neuron ``m`` and sample ``j``, ``kappa[m, j]`` the ``k``-th neighbour under ``max(d_T, d_α)`` (a
    scan of the samples sorted by ``t`` outward from ``j``; ``d_T`` bounds the joint distance), ``eps[m, j]`` its
    distance (at least ``eps_min``), and the soft counts ``n_x = 1 + Σ_{j'≠j,κ} σ((ε − d_x)/(τ ε)) + 1[d_x(κ) < ε]``
    for ``x ∈ {α, T}``, summing only the pairs with ``d_x < (1 + half) ε`` (beyond, ``σ`` is below rounding) and
    counting those with ``d_x < (1 − half) ε`` as 1. ``d_T`` pairs come from the sorted ``t``; ``d_α`` pairs from the
    sorted first source of each set of the antichain, each pair under the first set that holds it.

    Backward (``kappa``, ``eps`` from the forward): adds ``Σ g_x ∂n_x/∂(t, s)`` to ``grad_t`` and ``grad_s``, through
    the soft weights' distances and the radius ``ε = max(d_α, d_T)(j, κ)``.
    """
    n_neurons, n = t.shape
    best_d = np.empty(k)
    best_i = np.empty(k, dtype=np.int64)
    n_sets = set_sizes.shape[0]
    for m in range(n_neurons):
        for j in range(n):
            p = rank_t[m, j]
            if not backward:
                n_best = 0
                lo_p = p - 1
                hi_p = p + 1
                while lo_p >= 0 or hi_p < n:
                    dl = t[m, j] - t[m, order_t[m, lo_p]] if lo_p >= 0 else np.inf
                    dh = t[m, order_t[m, hi_p]] - t[m, j] if hi_p < n else np.inf
                    if dl <= dh:
                        jj = order_t[m, lo_p]
                        dt = dl
                        lo_p -= 1
                    else:
                        jj = order_t[m, hi_p]
                        dt = dh
                        hi_p += 1
                    if n_best == k and dt >= best_d[k - 1]:
                        break
                    d = max(dt, _antichain_var(s, m, j, jj, set_members, set_sizes)[0])
                    if n_best < k or d < best_d[k - 1]:
                        q = n_best if n_best < k else k - 1
                        while q > 0 and best_d[q - 1] > d:  # insertion into the sorted k best
                            best_d[q] = best_d[q - 1]
                            best_i[q] = best_i[q - 1]
                            q -= 1
                        best_d[q] = d
                        best_i[q] = jj
                        if n_best < k:
                            n_best += 1
                kappa[m, j] = best_i[k - 1]
                eps[m, j] = max(best_d[k - 1], eps_min)
            kth = kappa[m, j]
            e = eps[m, j]
            outer = (1.0 + half) * e
            inner = (1.0 - half) * e
            width = tau * e
            d_at, v_at = _antichain_var(s, m, j, kth, set_members, set_sizes)
            d_tk = abs(t[m, j] - t[m, kth])
            g_eps = 0.0
            # target: the run of the t order around j; the samples closer than (1 − half) ε count 1 each (no gradient)
            cnt = 1.0 + (1.0 if d_tk < e else 0.0) - (1.0 if d_tk < inner else 0.0)
            for step in (-1, 1):
                q = _run_end(t[m], order_t[m], p, step, inner)
                cnt += abs(q - p) - 1
                while 0 <= q < n:
                    jj = order_t[m, q]
                    q += step
                    diff = t[m, j] - t[m, jj]
                    d = abs(diff)
                    if d >= outer:
                        break
                    if jj == kth:
                        continue
                    w = 1.0 / (1.0 + np.exp((d - e) / width))
                    if backward:
                        c = g_t[m, j] * w * (1.0 - w) / width
                        g_eps += c * d / e
                        gd = -c * np.sign(diff)
                        grad_t[m, j] += gd
                        grad_t[m, jj] -= gd
                    else:
                        cnt += w
            if not backward:
                n_t[m, j] = cnt
            # antichain: the union over its sets; scan each set's first source, a pair under its first set only
            cnt = 1.0 + (1.0 if d_at < e else 0.0)
            for a in range(n_sets):
                i0 = set_members[a, 0]
                # a one-source set's samples closer than (1 − half) ε in that source are inner pairs (no gradient),
                # all under the first set (a = 0): counted from the run's length, or skipped in backward
                skip = set_sizes[a] == 1 and (backward or a == 0)
                if skip and a == 0 and abs(s[m, i0, j] - s[m, i0, kth]) < inner:
                    cnt -= 1.0
                for step in (-1, 1):
                    q = rank_s[m, i0, j] + step
                    if skip:
                        q = _run_end(s[m, i0], order_s[m, i0], q - step, step, inner)
                        cnt += abs(q - rank_s[m, i0, j]) - 1
                    while 0 <= q < n:
                        jj = order_s[m, i0, q]
                        q += step
                        if abs(s[m, i0, jj] - s[m, i0, j]) >= outer:
                            break
                        if jj == kth:
                            continue
                        # d_α = min over sets of max over their sources; v the source attaining it
                        first = -1
                        d = np.inf
                        v = -1
                        for b in range(n_sets):
                            db = -1.0
                            vb = -1
                            for r in range(set_sizes[b]):
                                i = set_members[b, r]
                                di = abs(s[m, i, j] - s[m, i, jj])
                                if di > db:
                                    db = di
                                    vb = i
                            if first < 0 and db < outer:
                                first = b
                                if first != a:
                                    break
                            if db < d:
                                d = db
                                v = vb
                        if first != a:
                            continue
                        if d < inner:
                            cnt += 1.0
                            continue
                        w = 1.0 / (1.0 + np.exp((d - e) / width))
                        if backward:
                            c = g_a[m, j] * w * (1.0 - w) / width
                            g_eps += c * d / e
                            gd = -c * np.sign(s[m, v, j] - s[m, v, jj])
                            grad_s[m, v, j] += gd
                            grad_s[m, v, jj] -= gd
                        else:
                            cnt += w
            if not backward:
                n_a[m, j] = cnt
            elif e > eps_min:  # the radius: through the distance to the k-th neighbour that attains it
                if d_at > d_tk:
                    gd = g_eps * np.sign(s[m, v_at, j] - s[m, v_at, kth])
                    grad_s[m, v_at, j] += gd
                    grad_s[m, v_at, kth] -= gd
                else:
                    gd = g_eps * np.sign(t[m, j] - t[m, kth])
                    grad_t[m, j] += gd
                    grad_t[m, kth] -= gd


@functools.cache
def _set_table(n: int, row: int) -> tuple[np.ndarray, np.ndarray]:
    """Members (n_sets, max size; 0-based sources, increasing) and sizes of the sets of antichain ``row``."""
    masks = _set_masks(n)[row]
    members = [[i for i in range(n) if g >> i & 1] for g in masks]
    table = np.zeros((len(members), max(map(len, members))), dtype=np.int64)
    for a, mem in enumerate(members):
        table[a, : len(mem)] = mem
    return table, np.array([len(mem) for mem in members], dtype=np.int64)


@njit(cache=True)
def _inverse_permutations(order):
    """Rank of each element from the order along the last axis (2-D: rows of permutations)."""
    rank = np.empty_like(order)
    for r in range(order.shape[0]):
        for q in range(order.shape[1]):
            rank[r, order[r, q]] = q
    return rank


def _sorted_ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order and rank along the last axis."""
    order = np.argsort(x, axis=-1)
    return order, _inverse_permutations(order.reshape(-1, x.shape[-1])).reshape(x.shape)


class _SoftCounts(torch.autograd.Function):
    """Soft counts ``(n_α, n_T)``, each (M, B), of antichain ``row`` from ``t`` (M, B) and ``s`` (M, n, B), CPU.

    Forward and backward are one numba kernel (:func:`_soft_counts`) that visits only the sample pairs within
    ``(1 ± h) ε_j`` of each ball's edge, ``h = τ (1 − ln eps)`` (``eps`` of the input's dtype): beyond, the soft
    weight is within rounding of 0 or 1 and its gradient 0. Computed in float64 whatever the input's dtype.
    """

    @staticmethod
    def forward(ctx, t, s, row, k, tau):
        m, b = t.shape
        n = s.shape[1]
        tn = np.ascontiguousarray(t.detach().to("cpu", torch.float64).numpy())
        sn = np.ascontiguousarray(s.detach().to("cpu", torch.float64).numpy())
        members, sizes = _set_table(n, row)
        eps_min = torch.finfo(t.dtype).eps
        args = (tn, sn, *_sorted_ranks(tn), *_sorted_ranks(sn), members, sizes, int(k), float(tau))
        args = (*args, float(tau * (1.0 - math.log(eps_min))), float(eps_min))
        kappa, eps = np.empty((m, b), dtype=np.int64), np.empty((m, b))
        n_a, n_t = np.empty((m, b)), np.empty((m, b))
        none_t, none_s = np.empty((0, 0)), np.empty((0, 0, 0))
        _soft_counts(*args, kappa, eps, n_a, n_t, False, none_t, none_t, none_t, none_s)
        ctx.args, ctx.state, ctx.device, ctx.dtype = args, (kappa, eps, n_a, n_t), t.device, t.dtype
        return tuple(torch.from_numpy(x).to(t.device, t.dtype) for x in (n_a, n_t))

    @staticmethod
    @once_differentiable
    def backward(ctx, g_a, g_t):
        tn, sn = ctx.args[:2]
        grad_t, grad_s = np.zeros_like(tn), np.zeros_like(sn)
        g_a, g_t = (np.ascontiguousarray(g.detach().to("cpu", torch.float64).numpy()) for g in (g_a, g_t))
        _soft_counts(*ctx.args, *ctx.state, True, g_a, g_t, grad_t, grad_s)
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
    psi_const = float(torch.special.digamma(torch.tensor([float(k), float(b)], dtype=torch.float64)).sum())
    out = []
    for r in rows:
        n_a, n_t = _SoftCounts.apply(t, s, r, k, tau)
        local = psi_const - torch.special.digamma(n_a) - torch.special.digamma(n_t)
        out.append(local.mean(-1))
    return torch.stack(out, dim=-1)


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
        spreads the gradient over more sample pairs and visits more of them (the band ``(1 ± 17 τ) ε_j`` in float32,
        ``(1 ± 37 τ) ε_j`` in float64).
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
        sources, ``tau`` or ``base`` out of range, or (off CPU) pair tensors past the memory limit.

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
