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

Degenerate widths and sizes (checked before anything is allocated):

* ``sigma`` must be a finite number > 0, and not below ``1e-150 ×`` the data's scale (the power of two nearest
  below ``max |x|``): a narrower kernel makes the Gram matrix the identity to machine precision (``S_α = log N``
  whatever the data) and its ``σ²`` underflows. Wider kernels are accepted (the Gram matrix tends to all ones,
  ``S_α → 0``). Distances are computed on the data divided by that power of two, which is exact, so data of any
  finite scale (``1e-300`` to ``1e300``) give the result of the unscaled data with ``σ`` scaled alike.
* Memory: ``c`` matrices of ``N × N`` float64 (``N² × 8`` bytes each; ``c = m + 3`` for ``m`` variables: the Gram
  matrices, the squared distances, their Hadamard product and the eigendecomposition's copy) must fit in the
  library's memory limit (:func:`pidlearn._memory.memory_limit`: half the physical memory, or
  ``PIDLEARN_MEMORY_LIMIT_GIB``); past it a ``ValueError`` gives the size and the largest ``N`` that fits.
  At most :data:`MAX_SAMPLES` samples in any case.

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

from pidlearn._memory import check_memory, memory_limit
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
#: Smallest accepted ratio of ``sigma`` to the data's scale (see the module docstring).
MIN_RELATIVE_SIGMA = 1e-150


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
    scale = _scale(x)
    return _width(x / scale, rule, n_neighbors) * scale


def _scale(x: np.ndarray) -> float:
    """The power of two at or below ``max |x|`` (1 for all-zero data): dividing by it is exact and keeps squared
    distances of data of any finite magnitude away from overflow and underflow."""
    top = float(np.max(np.abs(x))) if x.size else 0.0
    if not top > 0:
        return 1.0
    _, e = math.frexp(top)  # top = m · 2**e with 0.5 <= m < 1
    return math.ldexp(1.0, e - 1)


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
        _check_gram_memory(len(codes), 1)
        return (codes[:, None] == codes[None, :]).astype(np.float64)
    x = as_continuous(x, "x")
    _check_gram_memory(x.shape[0], 1)
    return _gaussian_gram(x, sigma, n_neighbors)


def _check_gram_memory(n: int, n_matrices: int, *, cap: bool = False) -> None:
    """Refuse ``n_matrices`` N × N float64 matrices past the library's memory limit (and, with ``cap``, more than
    :data:`MAX_SAMPLES` samples) before anything is allocated."""
    limit_n = math.isqrt(memory_limit() // (8 * n_matrices))
    check_memory(
        8 * n * n * n_matrices,
        f"{n_matrices} matrices of N × N = {n} × {n} float64 for the Gram matrices, squared distances and "
        f"eigendecomposition, N² × 8 bytes each",
        f"subsample to N ≤ {min(limit_n, MAX_SAMPLES)} samples (batches of a few hundred to a few thousand are "
        "usual), or raise PIDLEARN_MEMORY_LIMIT_GIB",
    )
    if cap and n > MAX_SAMPLES:
        raise ValueError(
            f"{n} samples: the matrix-based estimator builds an N x N Gram matrix and costs O(N^3); use batches of "
            f"at most {MAX_SAMPLES} samples (a few hundred to a few thousand is usual)"
        )


def _gaussian_gram(x: np.ndarray, sigma, n_neighbors: int, name: str = "x") -> np.ndarray:
    """``exp(−‖x_i − x_j‖² / (2σ²))`` computed on ``x / scale`` with ``σ / scale`` (exact powers of two)."""
    if sigma is None:
        sigma = "knn"
    scale = _scale(x)
    xs = x / scale
    if isinstance(sigma, str):
        rel = _width(xs, sigma, n_neighbors)
    else:
        sigma = check_positive_float(sigma, "sigma")
        rel = sigma / scale
        if rel < MIN_RELATIVE_SIGMA:
            raise ValueError(
                f"sigma = {sigma!r} is too small for {name}, whose values reach {scale:.3g}: below "
                f"{MIN_RELATIVE_SIGMA:g} × that scale the Gram matrix is the identity to machine precision (every "
                f"sample its own cluster, S_α = log N whatever the data). Give a width comparable to the distances "
                f"between samples, or a rule such as sigma='knn'"
            )
    sq = cdist(xs, xs, "sqeuclidean")
    sq *= -0.5 / (rel * rel)
    return np.exp(sq, out=sq)


def matrix_entropy(a, alpha: float = 1.01, *, base: float = 2) -> float:
    """Rényi α-entropy ``S_α(A) = 1/(1 − α) log Σ_i λ_i(A)^α`` of a symmetric positive semi-definite matrix.

    Parameters
    ----------
    a : array-like of shape (n, n)
        E.g. a Gram matrix: symmetric, positive semi-definite (eigenvalues below ``−1e-8 λ_max`` are refused), finite,
        positive trace; it is normalised here to unit trace.
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
    if not np.allclose(a, a.T, rtol=1e-10, atol=0.0):
        raise ValueError("the matrix must be symmetric (a Gram matrix); symmetrise it with (a + a.T) / 2")
    a = a / tr
    return _entropy_nats(a, alpha, check_psd=True) / math.log(b)


def _entropy_nats(a: np.ndarray, alpha: float, *, check_psd: bool = False) -> float:
    if alpha == 2.0 and not check_psd:
        return -math.log(float(np.sum(a * a)))
    lam = np.linalg.eigvalsh(a)
    if check_psd and lam[0] < -1e-8 * lam[-1]:
        raise ValueError(
            f"the matrix is not positive semi-definite (eigenvalue {lam[0]:.3g} after normalising to unit trace); "
            "give a Gram matrix of a positive-definite kernel"
        )
    if alpha == 2.0:
        return -math.log(float(np.sum(a * a)))
    # eigenvalues below the round-off level of eigvalsh are zero (numpy.linalg.matrix_rank's tolerance); left in,
    # their powers λ^α with α < 1 would inflate the entropy (e.g. by 2e-7 bits for 100 samples at α = 0.5)
    lam = lam[lam > lam[-1] * a.shape[0] * np.finfo(np.float64).eps]
    if alpha == 1.0:
        return float(-np.sum(lam * np.log(lam)))
    # log Σ λ^α = α log λ_max + log Σ (λ / λ_max)^α: the sum is >= 1, so no underflow to log(0) for a huge α
    top = float(lam[-1])
    return (alpha * math.log(top) + math.log(float(np.sum((lam / top) ** alpha)))) / (1.0 - alpha)


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
        arrays[name] = as_discrete(x, name)[0] if kern == "delta" else as_continuous(x, name)
    n = check_same_length(**arrays)
    _check_gram_memory(n, len(xs) + 3, cap=True)
    for (name, arr), kern, sig in zip(arrays.items(), kernels, sigmas, strict=True):
        if kern == "delta":
            grams.append((arr[:, None] == arr[None, :]).astype(np.float64))
        else:
            grams.append(_gaussian_gram(arr, sig, n_neighbors, name))
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
