"""The soft-count continuous SxPID estimator's array parts, shared by the torch and NumPy backends (numba, no torch).

:mod:`pidlearn.backends.torch.continuous_sxpid` (autograd) and :mod:`pidlearn.backends.numpy.continuous_sxpid`
(analytic gradient) estimate the continuous SxPID of Ehrlich et al. (2024) from soft neighbour counts. Both take the
counts and their gradient from one numba kernel here:

* :func:`sort_samples` — the samples of every neuron in float64 with their orders and ranks along each coordinate;
* :func:`soft_counts` — for one antichain ``α``, every sample's ``k``-th neighbour ``κ_j`` under ``max(d_T, d_α)``,
  its distance ``ε_j`` and the soft counts ``ñ_α(j)``, ``ñ_T(j)``;
* :func:`soft_counts_backward` — adds ``Σ_j g_α(j) ∂ñ_α(j)/∂(t, s) + g_T(j) ∂ñ_T(j)/∂(t, s)`` to gradient arrays
  (vector–Jacobian product of the counts), through the soft weights' distances and the radii;

and the checks of the estimator's settings (:func:`check_settings`, :func:`check_n_sources`, :func:`check_gamma`)
and the constant ``ψ(k) + ψ(N)`` (:func:`psi_const`), so that the two backends raise the same messages (the
antichains a goal needs: :func:`pidlearn.goals.goal_rows`). The estimator, the relaxation and the band of sample
pairs the kernel visits are described in :mod:`pidlearn.backends.torch.continuous_sxpid` and the guide
("Differentiable continuous SxPID").

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
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.special import digamma

from pidlearn.lattice import lattice

__all__ = [
    "Counts",
    "SortedSamples",
    "check_gamma",
    "check_n_sources",
    "check_settings",
    "check_source_shape",
    "check_target_shape",
    "constant_message",
    "psi_const",
    "set_masks",
    "set_table",
    "soft_counts",
    "soft_counts_backward",
    "sort_samples",
]


@functools.cache
def set_masks(n: int) -> tuple[tuple[int, ...], ...]:
    """Source-set bitmasks of each antichain, lattice order."""
    lat = lattice(n)
    return tuple(lat.source_masks(name) for name in lat.names)


def psi_const(k: int, n_samples: int) -> float:
    """``ψ(k) + ψ(N)``, the constant term of every local redundancy (nats)."""
    return float(digamma(float(k)) + digamma(float(n_samples)))


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
def _soft_count_kernel(
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
def set_table(n: int, row: int) -> tuple[np.ndarray, np.ndarray]:
    """Members (n_sets, max size; 0-based sources, increasing) and sizes of the sets of antichain ``row``."""
    masks = set_masks(n)[row]
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


def sorted_ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order and rank along the last axis."""
    order = np.argsort(x, axis=-1)
    return order, _inverse_permutations(order.reshape(-1, x.shape[-1])).reshape(x.shape)


class SortedSamples(NamedTuple):
    """A batch of every neuron in float64 (C order) with its orders and ranks along each coordinate."""

    t: np.ndarray  # (M, B) target
    s: np.ndarray  # (M, n, B) sources
    order_t: np.ndarray
    rank_t: np.ndarray
    order_s: np.ndarray
    rank_s: np.ndarray


class Counts(NamedTuple):
    """Soft counts ``ñ_α``, ``ñ_T`` (M, B) of one antichain, and the ``k``-th neighbours and radii they used."""

    n_a: np.ndarray
    n_t: np.ndarray
    kappa: np.ndarray
    eps: np.ndarray


def sort_samples(t: np.ndarray, s: np.ndarray) -> SortedSamples:
    """:class:`SortedSamples` of ``t`` (M, B) and ``s`` (M, n, B), in float64 whatever their dtype."""
    t = np.ascontiguousarray(t, dtype=np.float64)
    s = np.ascontiguousarray(s, dtype=np.float64)
    return SortedSamples(t, s, *sorted_ranks(t), *sorted_ranks(s))


def _kernel_args(samples: SortedSamples, row: int, k: int, tau: float, eps_min: float) -> tuple:
    """The kernel's leading arguments for antichain ``row``; ``eps_min`` the machine epsilon of the input's dtype."""
    members, sizes = set_table(samples.s.shape[1], row)
    half = tau * (1.0 - math.log(eps_min))  # the band (1 ± half) ε_j outside which σ is within rounding of 0 or 1
    return (*samples, members, sizes, int(k), float(tau), float(half), float(eps_min))


def soft_counts(samples: SortedSamples, row: int, k: int, tau: float, eps_min: float) -> Counts:
    """Soft counts of antichain ``row`` (lattice order) for every neuron and sample.

    ``ñ_x(j) = 1 + Σ_{j' ≠ j, κ_j} σ((ε_j − d_x(j, j')) / (τ ε_j)) + 1[d_x(j, κ_j) < ε_j]`` for ``x ∈ {α, T}``,
    with ``ε_j`` the distance to the ``k``-th neighbour ``κ_j`` under ``max(d_T, d_α)``, kept at ``eps_min`` or more.
    """
    m, b = samples.t.shape
    kappa, eps = np.empty((m, b), dtype=np.int64), np.empty((m, b))
    n_a, n_t = np.empty((m, b)), np.empty((m, b))
    none_t, none_s = np.empty((0, 0)), np.empty((0, 0, 0))
    args = _kernel_args(samples, row, k, tau, eps_min)
    _soft_count_kernel(*args, kappa, eps, n_a, n_t, False, none_t, none_t, none_t, none_s)
    return Counts(n_a, n_t, kappa, eps)


def soft_counts_backward(
    samples: SortedSamples,
    row: int,
    k: int,
    tau: float,
    eps_min: float,
    counts: Counts,
    g_a: np.ndarray,
    g_t: np.ndarray,
    grad_t: np.ndarray,
    grad_s: np.ndarray,
) -> None:
    """Add ``Σ_j g_a ∂ñ_α/∂(t, s) + g_t ∂ñ_T/∂(t, s)`` to ``grad_t`` (M, B) and ``grad_s`` (M, n, B), float64.

    ``counts`` is :func:`soft_counts`' result for the same ``samples`` and ``row``; ``g_a``, ``g_t`` (M, B) are the
    derivatives of a scalar with respect to the counts. The gradient arrays accumulate, so one pair can collect
    several antichains.
    """
    g_a = np.ascontiguousarray(g_a, dtype=np.float64)
    g_t = np.ascontiguousarray(g_t, dtype=np.float64)
    args = _kernel_args(samples, row, k, tau, eps_min)
    _soft_count_kernel(*args, counts.kappa, counts.eps, counts.n_a, counts.n_t, True, g_a, g_t, grad_t, grad_s)


def check_target_shape(shape: tuple[int, ...]) -> tuple[int, int, bool]:
    """``(batch, neurons, squeeze)`` of a target of shape (batch,) or (batch, neurons); ``squeeze``: no neuron axis."""
    shape = tuple(shape)
    if len(shape) not in (1, 2):
        raise ValueError(
            f"target must have shape (batch,) or (batch, neurons), got {shape}; a neuron's target is "
            "one real number per sample"
        )
    return shape[0], shape[1] if len(shape) == 2 else 1, len(shape) == 1


def check_source_shape(shape: tuple[int, ...], target_shape: tuple[int, ...], index: int | None, kind: str) -> None:
    """Source ``index`` of a list must have the target's shape; one array (``index=None``) that shape plus sources.

    ``kind`` names the backend's arrays in the message (``"tensor"``, ``"array"``).
    """
    shape, target_shape = tuple(shape), tuple(target_shape)
    if index is not None:
        if shape != target_shape:
            raise ValueError(f"sources[{index}] has shape {shape}; each source must have the shape {target_shape}")
    elif len(shape) != len(target_shape) + 1 or shape[:-1] != target_shape:
        raise ValueError(
            f"sources has shape {shape}; with a target of shape {target_shape} it must be "
            f"{(*target_shape, 'n_sources')}, or a list of {kind}s shaped like the target"
        )


def check_n_sources(n: int) -> None:
    """The estimator takes 1 to 4 sources."""
    if not 1 <= n <= 4:
        raise ValueError(f"the continuous SxPID takes 1 to 4 sources, got {n} (5 sources have 7579 antichains)")


def check_settings(k, tau, base, normalize, batch: int, neurons: int) -> None:
    """Check ``k``, the batch size against it, the number of neurons, ``tau``, ``base`` and ``normalize``."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k (number of nearest neighbours) must be a positive int, got {k!r}")
    if batch <= k:
        raise ValueError(f"the batch has {batch} samples; k = {k} nearest neighbours need at least k + 1 samples")
    if neurons == 0:
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


def constant_message(neuron: int, var: int) -> str:
    """The error for a variable (0: the target, ``i``: source ``i``) that is constant over the batch."""
    what = "the target" if var == 0 else f"source {var}"
    return (
        f"{what} of neuron {neuron} is constant over the batch; a constant variable carries no information and "
        "cannot be standardised (give varying inputs)"
    )


def check_gamma(gamma, n: int) -> tuple[float, ...]:
    """A goal's weights (a sequence of ``n_atoms`` finite numbers, lattice order) as a tuple of floats."""
    n_atoms = lattice(n).n_atoms
    try:
        values = tuple(float(g) for g in (gamma.tolist() if hasattr(gamma, "tolist") else gamma))
    except (TypeError, ValueError):
        raise ValueError(f"gamma must hold {n_atoms} finite weights for {n} sources, got {gamma!r}") from None
    if len(values) != n_atoms or not all(math.isfinite(g) for g in values):
        raise ValueError(f"gamma must hold {n_atoms} finite weights for {n} sources, got {len(values)}")
    return values
