"""Mutual information between discrete and continuous variables, and for discrete–continuous mixtures.

Reached through :func:`pidlearn.continuous.mutual_information` with ``discrete=`` or ``estimator="mixed_ksg"``; the
functions here take clean arrays (finite ``float64`` of shape (n, d), or ``int64`` label codes).

* Continuous ``X`` vs discrete ``Y`` (Ross 2014). For each sample ``i`` with label ``y_i`` (``N_y`` samples carry that
  label), ``k_i = min(k, N_y − 1)`` and ``d_i`` = max-norm distance from ``x_i`` to its ``k_i``-th nearest neighbour
  among the samples of the same label; ``m_i`` = number of samples of *any* label with ``‖x_j − x_i‖ < d_i``, the
  sample itself included (when ``d_i = 0``: the samples with ``‖x_j − x_i‖ = 0``, itself included). Samples whose
  label occurs once are dropped first (``N`` counts the rest). Then

      I(X;Y) = ψ(N) − ⟨ψ(N_y)⟩ + ⟨ψ(k_i)⟩ − ⟨ψ(m_i)⟩   nats.

  These are scikit-learn's conventions (``mutual_info_classif``), which it computes with a radius of
  ``nextafter(d_i, 0)`` and ``≤``: the same numbers, to the last bit, on identical inputs. 1-D ``X``: one sort of the
  samples by (label, value), the ``k``-th neighbour by an outward merge inside each label's sorted run, and ``m_i``
  by binary search in all sorted values — ``O(N log N)``. Multivariate ``X``: the k-d tree / sweep kernels of
  :mod:`pidlearn.continuous.ksg`.
* Mixtures (Gao, Kannan, Oh & Viswanath 2017, Algorithm 1, in the convention of the authors' published code):
  ``ρ_i`` = max-norm distance to the ``k``-th neighbour in the joint space. Off a point mass (``ρ_i > 0``):
  ``k̃_i = k``, ``n_x(i) = #{j : ‖x_j − x_i‖ < ρ_i}`` (the sample itself included), likewise ``n_y(i)``. On a point
  mass (``ρ_i = 0``): ``k̃_i``, ``n_x(i)``, ``n_y(i)`` count the samples at distance 0 (itself included). Then

      I(X;Y) = ⟨ψ(k̃_i) + ln N − ψ(n_x(i)) − ψ(n_y(i))⟩   nats.

  The paper writes ``ln(n + 1)`` with ``≤``-counts; at small counts that form is biased low (≈ 0 instead of
  0.25 nats for a 1-D variable against 3 shifted labels at N = 2000, k = 3), the code's form is not (0.254, Ross
  0.254). Ties are the signal here, so no jitter is applied.

References
----------
B. C. Ross, "Mutual information between discrete and continuous data sets", PLoS ONE 9(2), e87357 (2014).
W. Gao, S. Kannan, S. Oh and P. Viswanath, "Estimating mutual information for discrete-continuous mixtures",
Advances in Neural Information Processing Systems 30 (NeurIPS 2017).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from scipy.special import digamma

from pidlearn.continuous.ksg import _check_workers, _numba_threads, _radius_counts, knn_distances

__all__ = ["mixed_ksg_nats", "ross_mi_nats"]

_CHUNK = 1024


@njit(parallel=True, cache=True)
def _knn_sorted_runs(vals, run_start, run_end, kk):
    """Distance to the ``kk[p]``-th nearest neighbour of ``vals[p]`` inside its run ``[run_start[p], run_end[p])``.

    Each run of ``vals`` is sorted ascending. The neighbours of ``p`` are merged outwards from ``p`` (nearer side
    first), so the k-th distance costs ``O(k)``; distances are ``vals[q] − vals[p]`` with ``q > p`` (or the reverse),
    which equal ``|vals[q] − vals[p]|`` exactly.
    """
    n = vals.shape[0]
    out = np.empty(n)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for ch in prange(n_chunks):
        for p in range(ch * _CHUNK, min(n, (ch + 1) * _CHUNK)):
            s = run_start[p]
            e = run_end[p]
            v = vals[p]
            lo = p - 1
            hi = p + 1
            d = 0.0
            for _ in range(kk[p]):
                gl = v - vals[lo] if lo >= s else np.inf
                gr = vals[hi] - v if hi < e else np.inf
                if gl <= gr:
                    d = gl
                    lo -= 1
                else:
                    d = gr
                    hi += 1
            out[p] = d
    return out


def _mean_digamma_int(values: np.ndarray) -> float:
    """``mean(ψ(values))`` for positive integers, one ψ per distinct value."""
    freq = np.bincount(values)
    vals = np.flatnonzero(freq)
    return float(np.dot(freq[vals], digamma(vals.astype(np.float64))) / values.shape[0])


def ross_mi_nats(c: np.ndarray, labels: np.ndarray, k: int, *, algorithm: str = "auto", workers: int = -1) -> float:
    """Ross (2014) estimate of ``I(C;D)`` in nats: ``c`` clean float64 (n, d), ``labels`` int64 codes ``0..L-1``.

    Samples whose label occurs once are dropped (as scikit-learn does). Raises ``ValueError`` when every label
    occurs once.
    """
    counts = np.bincount(labels)
    keep = counts[labels] > 1
    if not keep.any():
        raise ValueError(
            "every label of the discrete variable occurs exactly once, so no sample has a same-label neighbour; "
            "the variable looks continuous: remove it from discrete=, or bin it into fewer values"
        )
    if not keep.all():
        c = np.ascontiguousarray(c[keep])
        labels = labels[keep]
        counts = np.bincount(labels)
    n = c.shape[0]
    label_n = counts[labels]
    kk = np.minimum(k, label_n - 1).astype(np.int64)
    workers = _check_workers(workers, n)
    if c.shape[1] == 1:
        col = c[:, 0]
        order = np.lexsort((col, labels))  # by label, then value
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        lab_sorted = labels[order]
        run_start = starts[lab_sorted].astype(np.int64)
        run_end = (run_start + counts[lab_sorted]).astype(np.int64)
        with _numba_threads(workers):
            d_sorted = _knn_sorted_runs(np.ascontiguousarray(col[order]), run_start, run_end, kk[order])
        radius = np.empty(n)
        radius[order] = d_sorted
    else:
        radius = np.empty(n)
        for lab in np.flatnonzero(counts > 0):
            idx = np.flatnonzero(labels == lab)
            eps, _ = knn_distances(
                [np.ascontiguousarray(c[idx])], int(kk[idx[0]]), algorithm=algorithm, workers=workers
            )
            radius[idx] = eps
    m = _radius_counts(c, radius, True, workers)
    zero = radius == 0.0
    if zero.any():  # d_i = 0: count the samples at distance 0 (scikit-learn's radius nextafter(0, 0) = 0 with <=)
        m = np.where(zero, _radius_counts(c, radius, False, workers), m)
    m = m + 1  # the sample itself
    return float(digamma(n) - _mean_digamma_int(label_n) + _mean_digamma_int(kk) - _mean_digamma_int(m))


def mixed_ksg_nats(x: np.ndarray, y: np.ndarray, k: int, *, algorithm: str = "auto", workers: int = -1) -> float:
    """Gao et al. (2017) mixed-KSG estimate of ``I(X;Y)`` in nats from clean float64 (n, d) arrays (ties kept).

    The authors' published convention: counts include the sample itself, strict radius ``ρ_i`` off a point mass,
    distance 0 on one; ``I = ⟨ψ(k̃_i) + ln N − ψ(n_x(i)) − ψ(n_y(i))⟩``.
    """
    n = x.shape[0]
    rho, _ = knn_distances([x, y], k, algorithm=algorithm, workers=workers)
    w = _check_workers(workers, n)
    zero = rho == 0.0
    k_tilde = np.full(n, k, dtype=np.int64)
    if zero.any():
        joint = np.ascontiguousarray(np.hstack([x, y]))
        k_tilde = np.where(zero, _radius_counts(joint, rho, False, w) + 1, k_tilde)
    # strict ``< ρ_i`` off a point mass, ``= 0`` (``<= 0``) on one; ``+ 1`` for the sample itself
    nx = np.where(zero, _radius_counts(x, rho, False, w), _radius_counts(x, rho, True, w)) + 1
    ny = np.where(zero, _radius_counts(y, rho, False, w), _radius_counts(y, rho, True, w)) + 1
    return float(_mean_digamma_int(k_tilde) + np.log(n) - _mean_digamma_int(nx) - _mean_digamma_int(ny))
