"""Gaussian and Gaussian-copula mutual information (Ince et al. 2017).

For jointly Gaussian variables with covariance ``Σ`` the entropy of a ``d``-dimensional block is
``H(V) = ½ ln((2πe)^d det Σ_V)``, so

    I(X;Y)   = ½ ln( det Σ_X · det Σ_Y / det Σ_XY )
    I(X;Y|Z) = ½ ln( det Σ_XZ · det Σ_YZ / (det Σ_Z · det Σ_XYZ) )

in nats, with ``Σ`` the sample covariance (``ddof = 1``). Log-determinants come from Cholesky factors:
``ln det Σ = 2 Σ_i ln L_ii``.

Optional bias correction (Ince et al. 2017, after the Wishart expectation of ``ln det Σ̂``): each entropy of a
``d``-dimensional block loses ``(d/2) (ln 2 − ln(N−1)) + ½ Σ_{i=1..d} ψ((N − i)/2)``, which makes it unbiased for
Gaussian data.

Every column is first divided by the power of two at or below its largest absolute value (an exact operation): the
covariance of columns of any finite magnitude (``1e-300`` to ``1e300``) then neither overflows to ``inf``/``NaN`` nor
underflows to a singular matrix, and MI, invariant to the scaling, is that of the unscaled data.

The Gaussian copula estimate first maps every column to standard normal through its ranks,
``u = Φ⁻¹(rank / (N + 1))`` (ranks 1..N, ties broken by order of appearance), then applies the Gaussian formula. It
is invariant to strictly increasing transforms of each column and is a lower bound on the MI of the original variables
for any marginal distribution (exact when the copula is Gaussian).

References
----------
R. A. A. Ince, B. L. Giordano, C. Kayser, G. A. Rousselet, J. Gross and P. G. Schyns, "A statistical framework for
neuroimaging data analysis based on mutual information estimated via a Gaussian copula", Hum. Brain Mapp. 38,
1541–1573 (2017).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, ndtri

from pidlearn.continuous._checks import scale_columns

__all__ = [
    "copula_normalize",
    "entropy_bias",
    "gaussian_mi_nats",
    "gaussian_multi_info_nats",
    "half_logdet",
    "scale_columns",
]


def copula_normalize(x: np.ndarray) -> np.ndarray:
    """Map each column of a clean (n, d) array to standard normal through its ranks: ``Φ⁻¹(rank / (n + 1))``."""
    n = x.shape[0]
    ranks = np.empty(x.shape, dtype=np.float64)
    for j in range(x.shape[1]):
        order = np.argsort(x[:, j], kind="stable")
        ranks[order, j] = np.arange(1, n + 1)
    return ndtri(ranks / (n + 1.0))


def half_logdet(cov: np.ndarray, idx: np.ndarray, what: str) -> float:
    """½ ln det of the sub-covariance ``cov[idx][:, idx]`` via Cholesky."""
    sub = cov[np.ix_(idx, idx)]
    try:
        chol = np.linalg.cholesky(sub)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"the covariance of {what} is singular (collinear columns, or fewer samples than dimensions); "
            "drop redundant columns"
        ) from None
    return float(np.sum(np.log(np.diag(chol))))


def entropy_bias(d: int, n: int) -> float:
    """Bias of the plug-in Gaussian entropy of a d-dimensional block (nats), Ince et al. 2017."""
    return 0.5 * d * (np.log(2.0) - np.log(n - 1.0)) + 0.5 * float(np.sum(digamma((n - np.arange(1, d + 1)) / 2.0)))


def gaussian_mi_nats(x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, *, bias_correction: bool = False):
    """Gaussian ``I(X;Y)`` or ``I(X;Y|Z)`` in nats from clean (n, d) arrays."""
    parts = [x, y] if z is None else [x, y, z]
    n = x.shape[0]
    dims = [p.shape[1] for p in parts]
    total = sum(dims)
    if n <= total + 1:
        raise ValueError(
            f"the Gaussian estimator needs more samples than dimensions + 1: n_samples = {n}, total dimension = {total}"
        )
    data, _ = scale_columns(np.hstack(parts))  # MI is invariant to the (exact) rescaling
    cov = np.cov(data, rowvar=False, ddof=1).reshape(total, total)
    start = np.cumsum([0, *dims])
    cols = [np.arange(start[i], start[i + 1]) for i in range(len(parts))]

    def h(*which):  # entropy up to the constant d/2 ln(2πe), which cancels in every MI below
        idx = np.concatenate([cols[w] for w in which])
        val = half_logdet(cov, idx, "+".join("xyz"[w] for w in which))
        if bias_correction:
            val -= entropy_bias(idx.size, n)
        return val

    if z is None:
        return h(0) + h(1) - h(0, 1)
    return h(0, 2) + h(1, 2) - h(2) - h(0, 1, 2)


def gaussian_multi_info_nats(parts: list[np.ndarray], *, bias_correction: bool = False) -> float:
    """Gaussian multi-information ``Σ_i H(X_i) − H(X_1..X_m)`` in nats from clean (n, d_i) arrays.

    ``½ (Σ_i ln det Σ_i − ln det Σ)``; for unit variances ``−½ ln det R`` with ``R`` the correlation matrix. For two
    parts the same operations as :func:`gaussian_mi_nats`.
    """
    n = parts[0].shape[0]
    dims = [p.shape[1] for p in parts]
    total = sum(dims)
    if n <= total + 1:
        raise ValueError(
            f"the Gaussian estimator needs more samples than dimensions + 1: n_samples = {n}, total dimension = {total}"
        )
    data, _ = scale_columns(np.hstack(parts))  # multi-information is invariant to the (exact) rescaling
    cov = np.cov(data, rowvar=False, ddof=1).reshape(total, total)
    start = np.cumsum([0, *dims])
    cols = [np.arange(start[i], start[i + 1]) for i in range(len(parts))]

    def h(idx, what):
        val = half_logdet(cov, idx, what)
        if bias_correction:
            val -= entropy_bias(idx.size, n)
        return val

    out = h(cols[0], "xs[0]")
    for i in range(1, len(parts)):
        out = out + h(cols[i], f"xs[{i}]")
    return out - h(np.concatenate(cols), "the joint of all variables")
