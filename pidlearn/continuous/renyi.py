"""Matrix-based Rényi α-entropy and mutual information (Sanchez Giraldo, Rao & Príncipe 2015), NumPy.

For ``N`` samples, a positive-definite kernel gives the Gram matrix ``K_ij = κ(x_i, x_j)``; normalised to unit trace,
``A = K / tr K`` has eigenvalues ``λ_i ≥ 0`` summing to 1 and plays the role of a density:

    S_α(A) = 1/(1 − α) · log Σ_i λ_i^α                 (α > 0, α ≠ 1)
    S_1(A) = −Σ_i λ_i log λ_i                           (the limit α → 1, von Neumann entropy)
    S_2(A) = −log ‖A‖²_F                                (no eigendecomposition needed)

Joint entropy uses the Hadamard product, ``S_α(A, B) = S_α(A∘B / tr(A∘B))``, and

    I_α(A; B) = S_α(A) + S_α(B) − S_α(A, B),

which satisfies ``0 ≤ I_α ≤ min(S_α(A), S_α(B))`` (Sanchez Giraldo et al. 2015, Prop. 4.1) up to round-off.

Kernels: Gaussian ``κ(a, b) = exp(−‖a − b‖² / (2σ²))`` (Euclidean distance over all columns; flatten images first)
and, for labels, the delta kernel ``κ(a, b) = 1[a = b]`` (equal to ``Y Yᵀ`` for one-hot ``Y``). With the delta kernel
and ``C`` equally frequent classes, ``S_α = log C`` for every α.

Kernel width ``sigma`` (it changes results noticeably, see notes/mole.md):

* a positive number;
* ``"knn"`` (default): mean over samples of the mean distance to their ``n_neighbors`` (10) nearest neighbours;
* ``"silverman"``: Silverman's rule ``σ = s̄ · (4 / ((d + 2) N))^{1/(d + 4)}``, ``s̄`` the mean column standard
  deviation (``ddof = 1``);
* ``"sqrt_d"``: ``σ = s̄ · √d`` (the typical distance scale of ``d`` standardised features).

The eigendecomposition costs ``O(N³)``; this estimator is meant for batches (a few hundred to a few thousand
samples). The torch backend reuses the same formulas differentiably.

References
----------
L. G. Sanchez Giraldo, M. Rao and J. C. Príncipe, "Measures of entropy from data using infinitely divisible
kernels", IEEE Trans. Inf. Theory 61(1), 535–548 (2015).
S. Yu, L. G. Sanchez Giraldo, R. Jenssen and J. C. Príncipe, "Multivariate extension of matrix-based Rényi's
α-order entropy functional", IEEE Trans. Pattern Anal. Mach. Intell. 42(11), 2960–2966 (2020).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from pidlearn._validation import as_continuous, as_discrete, check_base, check_same_length
from pidlearn.continuous._checks import check_positive_float

__all__ = [
    "KERNELS",
    "SIGMA_RULES",
    "gram_matrix",
    "kernel_width",
    "matrix_entropy",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mutual_information",
]

#: Kernels accepted by ``kernel=``.
KERNELS = ("gaussian", "delta")
#: Rules accepted by ``sigma=``.
SIGMA_RULES = ("knn", "silverman", "sqrt_d")
#: Largest batch accepted (the Gram matrix has N² entries and the eigendecomposition costs O(N³)).
MAX_SAMPLES = 20_000


def kernel_width(x, rule: str = "knn", *, n_neighbors: int = 10) -> float:
    """Gaussian kernel width ``σ`` for samples ``x`` by a rule of thumb.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_dims)
    rule : {"knn", "silverman", "sqrt_d"}, default "knn"
        ``"knn"``: mean Euclidean distance to the ``n_neighbors`` nearest other samples, averaged over samples;
        ``"silverman"``: ``s̄ (4 / ((d + 2) N))^{1/(d + 4)}``; ``"sqrt_d"``: ``s̄ √d`` (``s̄`` the mean column
        standard deviation, ``ddof = 1``).
    n_neighbors : int, default 10

    Returns
    -------
    float
        ``σ > 0``; a ``ValueError`` when the rule gives 0 (duplicated or constant samples).
    """
    x = as_continuous(x, "x")
    return _width(x, rule, n_neighbors)


def _width(x: np.ndarray, rule, n_neighbors: int) -> float:
    n, d = x.shape
    if rule not in SIGMA_RULES:
        raise ValueError(f"sigma must be a positive number or one of {SIGMA_RULES}, got {rule!r}")
    if n < 2:
        raise ValueError("a kernel width rule needs at least 2 samples")
    if rule == "knn":
        if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral) or n_neighbors < 1:
            raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
        m = min(int(n_neighbors), n - 1)
        dist, _ = cKDTree(x).query(x, k=m + 1)
        sigma = float(np.mean(dist[:, 1:]))
    else:
        spread = float(np.mean(np.std(x, axis=0, ddof=1)))
        sigma = spread * (4.0 / ((d + 2.0) * n)) ** (1.0 / (d + 4.0)) if rule == "silverman" else spread * math.sqrt(d)
    if not sigma > 0:
        raise ValueError(
            f"kernel width rule {rule!r} gave sigma = {sigma!r} (duplicated or constant samples); give sigma explicitly"
        )
    return sigma


def gram_matrix(x, sigma=None, *, kernel: str = "gaussian", n_neighbors: int = 10) -> np.ndarray:
    """Gram matrix ``K`` (n, n) of the Gaussian kernel or the delta kernel.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_dims)
        Real samples (Gaussian kernel) or labels (delta kernel).
    sigma : float or {"knn", "silverman", "sqrt_d"}, optional
        Gaussian width, or a rule of :func:`kernel_width`; ``None`` means ``"knn"``.
    kernel : {"gaussian", "delta"}, default "gaussian"
        ``exp(−‖x_i − x_j‖² / (2σ²))`` or ``1[x_i = x_j]``.
    n_neighbors : int, default 10

    Returns
    -------
    ndarray of shape (n_samples, n_samples)
        ``K`` unnormalised; the matrix-based entropies use ``A = K / trace(K)``.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if kernel == "delta":
        codes, _ = as_discrete(x, "x")
        return (codes[:, None] == codes[None, :]).astype(np.float64)
    return _gaussian_gram(as_continuous(x, "x"), sigma, n_neighbors)


def _gaussian_gram(x: np.ndarray, sigma, n_neighbors: int) -> np.ndarray:
    if sigma is None:
        sigma = "knn"
    if isinstance(sigma, str):
        sigma = _width(x, sigma, n_neighbors)
    else:
        sigma = check_positive_float(sigma, "sigma")
    sq = cdist(x, x, "sqeuclidean")
    return np.exp(sq * (-0.5 / (sigma * sigma)))


def matrix_entropy(a, alpha: float = 1.01, *, base: float = 2) -> float:
    """Rényi α-entropy ``S_α(A) = 1/(1 − α) log Σ_i λ_i(A)^α`` of a symmetric positive semi-definite matrix.

    Parameters
    ----------
    a : array-like of shape (n, n)
        E.g. a Gram matrix; it is normalised here to unit trace.
    alpha : float, default 1.01
        α = 2 uses ``−log ‖A‖²_F``; α = 1 the von Neumann entropy ``−Σ λ log λ``; any other α > 0 the eigenvalues
        (``numpy.linalg.eigvalsh``; eigenvalues below ``λ_max · N · machine epsilon`` count as 0).
    base : float, default 2

    Returns
    -------
    float

    References
    ----------
    L. G. Sanchez Giraldo, M. Rao and J. C. Príncipe, IEEE Trans. Inf. Theory 61(1), 535–548 (2015).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {a.shape}")
    alpha = check_positive_float(alpha, "alpha")
    b = check_base(base)
    tr = float(np.trace(a))
    if not (tr > 0 and np.all(np.isfinite(a))):
        raise ValueError("the matrix must be finite with a positive trace")
    a = a / tr
    return _entropy_nats(a, alpha) / math.log(b)


def _entropy_nats(a: np.ndarray, alpha: float) -> float:
    if alpha == 2.0:
        return -math.log(float(np.sum(a * a)))
    lam = np.linalg.eigvalsh(a)
    # eigenvalues below the round-off level of eigvalsh are zero (numpy.linalg.matrix_rank's tolerance); left in,
    # their powers λ^α with α < 1 would inflate the entropy (e.g. by 2e-7 bits for 100 samples at α = 0.5)
    lam = lam[lam > lam[-1] * a.shape[0] * np.finfo(np.float64).eps]
    if alpha == 1.0:
        return float(-np.sum(lam * np.log(lam)))
    return math.log(float(np.sum(lam**alpha))) / (1.0 - alpha)


def _pair(value, what: str, n: int):
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{what} must be one value or a sequence of {n}, got {value!r}")
        return list(value)
    return [value] * n


def _grams(xs, sigma, kernel, n_neighbors) -> list[np.ndarray]:
    if not xs:
        raise ValueError("need at least one variable")
    sigmas = _pair(sigma, "sigma", len(xs))
    kernels = _pair(kernel, "kernel", len(xs))
    grams = []
    arrays = {}
    for i, (x, kern) in enumerate(zip(xs, kernels, strict=True)):
        name = "x" if len(xs) == 1 else ["x", "y"][i] if len(xs) == 2 else f"xs[{i}]"
        if kern not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kern!r}")
        if kern == "delta":
            codes, _ = as_discrete(x, name)
            arrays[name] = codes
            grams.append((codes[:, None] == codes[None, :]).astype(np.float64))
        else:
            arr = as_continuous(x, name)
            arrays[name] = arr
            grams.append(None)
    n = check_same_length(**arrays)
    if n > MAX_SAMPLES:
        raise ValueError(
            f"{n} samples: the matrix-based estimator builds an N x N Gram matrix and costs O(N^3); use batches of "
            f"at most {MAX_SAMPLES} samples (a few hundred to a few thousand is usual)"
        )
    for i, name in enumerate(arrays):
        if grams[i] is None:
            grams[i] = _gaussian_gram(arrays[name], sigmas[i], n_neighbors)
    return grams


def _normalised_product(grams: list[np.ndarray]) -> np.ndarray:
    prod = grams[0].copy()
    for g in grams[1:]:
        prod *= g
    return prod / np.trace(prod)


def renyi_entropy(
    x, alpha: float = 1.01, sigma=None, *, kernel: str = "gaussian", base: float = 2, n_neighbors: int = 10
) -> float:
    """Matrix-based Rényi α-entropy ``S_α(A)`` of samples ``x`` (Sanchez Giraldo et al. 2015).

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_dims)
        Real samples for the Gaussian kernel, labels for the delta kernel.
    alpha : float, default 1.01
        Order α > 0; 1 gives the von Neumann entropy, 2 the Frobenius form.
    sigma : float or {"knn", "silverman", "sqrt_d"}, optional
        Gaussian kernel width or rule; ``None`` means ``"knn"``.
    kernel : {"gaussian", "delta"}, default "gaussian"
    base : float, default 2
    n_neighbors : int, default 10
        Neighbours of the ``"knn"`` width rule.

    Returns
    -------
    float
        ``S_α(A) = 1/(1 − α) log Σ_i λ_i(A)^α`` with ``A = K / tr K``; between 0 and ``log N``.

    References
    ----------
    L. G. Sanchez Giraldo, M. Rao and J. C. Príncipe, IEEE Trans. Inf. Theory 61(1), 535–548 (2015).
    """
    alpha = check_positive_float(alpha, "alpha")
    b = check_base(base)
    (g,) = _grams([x], sigma, kernel, n_neighbors)
    return _entropy_nats(g / np.trace(g), alpha) / math.log(b)


def renyi_joint_entropy(
    *xs, alpha: float = 1.01, sigma=None, kernel="gaussian", base: float = 2, n_neighbors: int = 10
) -> float:
    """Joint matrix-based Rényi entropy ``S_α(A_1, ..., A_C) = S_α(A_1∘...∘A_C / tr(A_1∘...∘A_C))``.

    Parameters
    ----------
    *xs : array-likes of shape (n_samples,) or (n_samples, n_dims)
        One per variable, same number of samples.
    alpha, base, n_neighbors : see :func:`renyi_entropy`
    sigma, kernel : single values or one per variable (see :func:`renyi_mutual_information`)

    Returns
    -------
    float
        At least the largest of the marginal entropies (Sanchez Giraldo et al. 2015; Yu et al. 2020).

    References
    ----------
    S. Yu, L. G. Sanchez Giraldo, R. Jenssen and J. C. Príncipe, IEEE Trans. Pattern Anal. Mach. Intell. 42(11),
    2960–2966 (2020).
    """
    alpha = check_positive_float(alpha, "alpha")
    b = check_base(base)
    grams = _grams(list(xs), sigma, kernel, n_neighbors)
    return _entropy_nats(_normalised_product(grams), alpha) / math.log(b)


def renyi_mutual_information(
    x, y, *, alpha: float = 1.01, sigma=None, kernel="gaussian", base: float = 2, n_neighbors: int = 10
) -> float:
    """Matrix-based Rényi mutual information ``I_α(A; B) = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B))``.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_dims)
    alpha : float, default 1.01
    sigma : float, rule name, or a pair of them (one per variable), optional
        Gaussian kernel widths; ``None`` means ``"knn"`` for each variable.
    kernel : {"gaussian", "delta"} or a pair of them
        E.g. ``kernel=("gaussian", "delta")`` for representations against class labels.
    base : float, default 2
    n_neighbors : int, default 10

    Returns
    -------
    float
        ``0 ≤ I_α ≤ min(S_α(A), S_α(B))`` up to round-off; symmetric in ``x`` and ``y``.

    References
    ----------
    L. G. Sanchez Giraldo, M. Rao and J. C. Príncipe, IEEE Trans. Inf. Theory 61(1), 535–548 (2015).
    """
    alpha = check_positive_float(alpha, "alpha")
    b = check_base(base)
    ga, gb = _grams([x, y], sigma, kernel, n_neighbors)
    h_a = _entropy_nats(ga / np.trace(ga), alpha)
    h_b = _entropy_nats(gb / np.trace(gb), alpha)
    h_ab = _entropy_nats(_normalised_product([ga, gb]), alpha)
    return (h_a + h_b - h_ab) / math.log(b)
