"""Slow, obviously-correct O(N²) twins of the continuous kernels (see notes/style.md).

Written straight from the formulas with one Python loop over samples and NumPy over the others. Every fast path in
``pidlearn.continuous`` is compared with these on random inputs, ties included.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import digamma


def _as2d(a):
    a = np.asarray(a, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def var_distances(v, i):
    """Max-norm distances of every sample of one variable to sample i."""
    return np.abs(v - v[i]).max(axis=1)


def kth_distance(d, i, k):
    """k-th smallest of the distances d (sample i excluded)."""
    return np.sort(np.delete(d, i))[k - 1]


def ksg_counts(variables, subspaces, k, mode=1):
    """Counts of KSG-1 (strict, joint eps) or KSG-2 (<=, per-subspace eps among the k joint neighbours)."""
    variables = [_as2d(v) for v in variables]
    n = variables[0].shape[0]
    out = np.zeros((n, len(subspaces)), dtype=np.int64)
    for i in range(n):
        dv = [var_distances(v, i) for v in variables]
        joint = np.max(dv, axis=0)
        others = np.arange(n) != i
        if mode == 1:
            eps = kth_distance(joint, i, k)
        else:
            idx = np.flatnonzero(others)
            nbrs = idx[np.argsort(joint[idx], kind="stable")[:k]]
        for s, sub in enumerate(subspaces):
            d = np.max([dv[v] for v in sub], axis=0)
            if mode == 1:
                out[i, s] = np.sum(d[others] < eps)
            else:
                out[i, s] = np.sum(d[others] <= d[nbrs].max())
    return out


def ksg1(x, y, k=3):
    """KSG algorithm 1, nats."""
    c = ksg_counts([x, y], [(0,), (1,)], k, 1)
    n = c.shape[0]
    return digamma(k) + digamma(n) - np.mean(digamma(c[:, 0] + 1)) - np.mean(digamma(c[:, 1] + 1))


def ksg2(x, y, k=3):
    """KSG algorithm 2, nats."""
    c = ksg_counts([x, y], [(0,), (1,)], k, 2)
    n = c.shape[0]
    return digamma(k) - 1 / k + digamma(n) - np.mean(digamma(c[:, 0])) - np.mean(digamma(c[:, 1]))


def frenzel_pompe(x, y, z, k=3):
    """Frenzel–Pompe conditional MI, nats."""
    c = ksg_counts([x, y, z], [(0, 2), (1, 2), (2,)], k, 1)
    return digamma(k) - np.mean(digamma(c[:, 0] + 1) + digamma(c[:, 1] + 1) - digamma(c[:, 2] + 1))


def kl_entropy(x, k=3):
    """Kozachenko–Leonenko entropy with the max-norm, nats."""
    x = _as2d(x)
    n, d = x.shape
    eps = np.array([kth_distance(var_distances(x, i), i, k) for i in range(n)])
    return digamma(n) - digamma(k) + d * np.mean(np.log(2 * eps))


def _antichains(n):
    """All antichains of non-empty subsets of {1..n} (brute force over families of sets)."""
    sets = [frozenset(c) for r in range(1, n + 1) for c in itertools.combinations(range(1, n + 1), r)]
    out = []
    for r in range(1, len(sets) + 1):
        for fam in itertools.combinations(sets, r):
            if all(not (a < b or b < a) for a, b in itertools.combinations(fam, 2)):
                out.append(fam)
    return out


def csxpid_local_redundancy(target, sources, antichain, k=3):
    """Per-sample continuous SxPID redundancy (Ehrlich et al. 2024) of one antichain, nats.

    ``antichain`` is a collection of source sets with 1-based source numbers.
    """
    t = _as2d(target)
    srcs = [_as2d(s) for s in sources]
    n = t.shape[0]
    out = np.empty(n)
    for j in range(n):
        dt = var_distances(t, j)
        ds = [var_distances(s, j) for s in srcs]
        d_alpha = np.min([np.max([ds[i - 1] for i in a], axis=0) for a in antichain], axis=0)
        eps = kth_distance(np.maximum(dt, d_alpha), j, k)
        others = np.arange(n) != j
        n_alpha = 1 + np.sum(d_alpha[others] < eps)
        n_t = 1 + np.sum(dt[others] < eps)
        out[j] = digamma(k) + digamma(n) - digamma(n_alpha) - digamma(n_t)
    return out


def gaussian_mi(x, y, z=None):
    """Gaussian (conditional) MI from the determinants of sample covariances (ddof=1), nats."""
    parts = [_as2d(v) for v in ([x, y] if z is None else [x, y, z])]
    dims = np.cumsum([0] + [p.shape[1] for p in parts])
    cov = np.atleast_2d(np.cov(np.hstack(parts), rowvar=False))

    def logdet(*which):
        idx = np.concatenate([np.arange(dims[w], dims[w + 1]) for w in which])
        return np.log(np.linalg.det(cov[np.ix_(idx, idx)]))

    if z is None:
        return 0.5 * (logdet(0) + logdet(1) - logdet(0, 1))
    return 0.5 * (logdet(0, 2) + logdet(1, 2) - logdet(2) - logdet(0, 1, 2))


def copula_transform(x):
    """Column-wise ranks (1..n, ties by order of appearance) mapped through the standard normal quantile."""
    from scipy.stats import norm

    x = _as2d(x)
    n = x.shape[0]
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        ranks = np.empty(n)
        for r, i in enumerate(sorted(range(n), key=lambda i: (x[i, j], i))):
            ranks[i] = r + 1
        out[:, j] = norm.ppf(ranks / (n + 1))
    return out


def gaussian_gram(x, sigma):
    """Gaussian Gram matrix with explicit double loops."""
    x = _as2d(x)
    n = x.shape[0]
    k = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            k[i, j] = np.exp(-np.sum((x[i] - x[j]) ** 2) / (2 * sigma**2))
    return k


def renyi_entropy_from_gram(k, alpha):
    """Matrix-based Rényi α-entropy (nats) from eigenvalues of K / tr K; α = 1 is the von Neumann limit."""
    a = k / np.trace(k)
    lam = np.linalg.eigh(a)[0]
    lam = lam[lam > lam.max() * len(lam) * np.finfo(float).eps]  # round-off eigenvalues are zero
    if alpha == 1:
        return float(-np.sum(lam * np.log(lam)))
    return float(np.log(np.sum(lam**alpha)) / (1 - alpha))


def renyi_mi(x, y, alpha, sigma_x, sigma_y):
    """Matrix-based Rényi MI (nats): S(A) + S(B) - S(A∘B / tr(A∘B))."""
    kx = gaussian_gram(x, sigma_x)
    ky = gaussian_gram(y, sigma_y)
    h_joint = renyi_entropy_from_gram(kx * ky, alpha)
    return renyi_entropy_from_gram(kx, alpha) + renyi_entropy_from_gram(ky, alpha) - h_joint


def knn_width(x, n_neighbors=10):
    """Mean Euclidean distance to the n_neighbors nearest other samples, averaged over samples."""
    x = _as2d(x)
    n = x.shape[0]
    m = min(n_neighbors, n - 1)
    return float(np.mean([np.sort(np.delete(np.sqrt(((x - x[i]) ** 2).sum(1)), i))[:m].mean() for i in range(n)]))
