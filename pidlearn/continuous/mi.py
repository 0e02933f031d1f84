"""Public entry points: continuous mutual information and differential entropy.

Inputs are validated and converted once here (:func:`pidlearn.continuous._checks.prepare`); the estimators in
:mod:`~pidlearn.continuous.ksg` and :mod:`~pidlearn.continuous.gaussian` assume clean arrays.
"""

from __future__ import annotations

import math

import numpy as np

from pidlearn._validation import check_base
from pidlearn.continuous import gaussian as _gauss
from pidlearn.continuous import ksg as _ksg
from pidlearn.continuous._checks import prepare

__all__ = ["ENTROPY_METHODS", "MI_METHODS", "entropy", "mutual_information"]

#: Values accepted by ``mutual_information(method=...)``.
MI_METHODS = ("ksg1", "ksg2", "gaussian", "copula")
#: Values accepted by ``entropy(method=...)``.
ENTROPY_METHODS = ("kl", "gaussian")


def mutual_information(
    x,
    y,
    *,
    method: str = "ksg1",
    k: int = 3,
    z=None,
    jitter: float = 1e-10,
    seed=None,
    base: float = 2,
    normalize: bool = False,
    algorithm: str = "auto",
    workers: int = -1,
    bias_correction: bool = False,
) -> float:
    """Mutual information ``I(X;Y)`` of continuous variables, or ``I(X;Y|Z)`` when ``z`` is given.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_dims)
        Real-valued samples; several columns form one multivariate variable.
    method : {"ksg1", "ksg2", "gaussian", "copula"}, default "ksg1"
        ``"ksg1"``/``"ksg2"``: Kraskov–Stögbauer–Grassberger algorithm 1 or 2 (max-norm, ``k`` neighbours);
        ``"gaussian"``: closed form for jointly Gaussian data; ``"copula"``: Gaussian copula (rank-normalised
        columns, then the Gaussian formula).
    k : int, default 3
        Number of nearest neighbours (KSG only); ``1 <= k < n_samples``.
    z : array-like of shape (n_samples,) or (n_samples, n_dims), optional
        Conditioning variable: Frenzel–Pompe estimator for ``"ksg1"``, the Gaussian conditional formula for
        ``"gaussian"`` and ``"copula"``. ``"ksg2"`` has no published conditional form and refuses ``z``.
    jitter : float, default 1e-10
        Tie policy (KSG): every column that holds duplicated values gets Gaussian noise of standard deviation
        ``jitter * max(std, mean |value|)`` from ``numpy.random.default_rng(seed)``; tie-free columns are untouched.
        ``0`` keeps ties and warns (:class:`~pidlearn.continuous.TiesWarning`).
    seed : None, int or numpy.random.Generator
        Seed of the jitter. ``None`` means seed 0, so results are deterministic by default.
    base : float, default 2
        Logarithm base: 2 gives bits, ``math.e`` nats.
    normalize : bool, default False
        Divide every column by its standard deviation first (as scikit-learn and JIDT do). MI is invariant to it,
        but the max-norm neighbourhoods of KSG are not: normalise when the variables have very different scales.
    algorithm : {"auto", "sweep", "kdtree", "brute"}, default "auto"
        Neighbour search for KSG (all exact, same result): a numba block sweep for joint dimension <= 2, a numba
        k-d tree above, numba brute force from 16 joint dimensions up while ``n_samples <= 30000``.
    workers : int, default -1
        Threads for the neighbour search and counts (-1: all cores from 20000 samples up, one thread below, where
        thread start-up and synchronisation cost more than they save). Results do not depend on it.
    bias_correction : bool, default False
        Gaussian and copula only: subtract the analytic bias of each Gaussian entropy (Ince et al. 2017).

    Returns
    -------
    float
        The estimate in units of ``base``. KSG estimates fluctuate around the truth and can be slightly negative
        for independent variables; they are returned as they are, never clipped.

    Raises
    ------
    ValueError
        NaN or inf, mismatched lengths, constant columns, ``n_samples <= k``, ``k < 1``, more than 2 dimensions,
        an unknown method or algorithm.

    Notes
    -----
    KSG-1 (Kraskov et al. 2004, eq. 8), with ``ε_i`` the max-norm distance from sample ``i`` to its ``k``-th neighbour
    in the joint space and strict counts ``n_x(i) = #{j ≠ i : ‖x_j − x_i‖ < ε_i}``:

        I = ψ(k) + ψ(N) − ⟨ψ(n_x + 1) + ψ(n_y + 1)⟩

    KSG-2 (eq. 9) uses the marginal extents ``ε_x(i), ε_y(i)`` of the ``k`` joint neighbours and counts with ``≤``:
    ``I = ψ(k) − 1/k + ψ(N) − ⟨ψ(n_x) + ψ(n_y)⟩``. Frenzel–Pompe (2007):
    ``I(X;Y|Z) = ψ(k) − ⟨ψ(n_xz + 1) + ψ(n_yz + 1) − ψ(n_z + 1)⟩``. Gaussian:
    ``I = ½ ln(det Σ_X det Σ_Y / det Σ_XY)``. With ``jitter=0``, KSG-2 is ambiguous when several neighbours tie at the
    ``k``-th distance.

    References
    ----------
    A. Kraskov, H. Stögbauer and P. Grassberger, Phys. Rev. E 69, 066138 (2004).
    S. Frenzel and B. Pompe, Phys. Rev. Lett. 99, 204101 (2007).
    R. A. A. Ince et al., Hum. Brain Mapp. 38, 1541–1573 (2017).

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.continuous import mutual_information
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.standard_normal(5000)
    >>> round(mutual_information(x, y, method="gaussian"), 2)  # truth -log2(1 - 0.75**2) / 2 = 0.596
    0.59
    """
    if method not in MI_METHODS:
        raise ValueError(f"method must be one of {MI_METHODS}, got {method!r}")
    b = check_base(base)
    if method in ("ksg1", "ksg2"):
        if method == "ksg2" and z is not None:
            raise ValueError(
                "conditional MI (z given) is defined for method='ksg1' (Frenzel & Pompe 2007); KSG algorithm 2 has "
                "no published conditional form"
            )
        arrays, _ = prepare({"x": x, "y": y, "z": z}, k=k, jitter=jitter, seed=seed, normalize=normalize)
        if z is None:
            nats = _ksg.ksg_mi_nats(
                arrays["x"], arrays["y"], k, mode=1 if method == "ksg1" else 2, algorithm=algorithm, workers=workers
            )
        else:
            nats = _ksg.fp_cmi_nats(arrays["x"], arrays["y"], arrays["z"], k, algorithm=algorithm, workers=workers)
    else:
        arrays, _ = prepare({"x": x, "y": y, "z": z}, min_samples=3, ties_ok=True)
        if method == "copula":
            arrays = {name: _gauss.copula_normalize(a) for name, a in arrays.items()}
        nats = _gauss.gaussian_mi_nats(arrays["x"], arrays["y"], arrays.get("z"), bias_correction=bias_correction)
    return nats / math.log(b)


def entropy(
    x,
    *,
    method: str = "kl",
    k: int = 3,
    jitter: float = 1e-10,
    seed=None,
    base: float = 2,
    algorithm: str = "auto",
    workers: int = -1,
    bias_correction: bool = False,
) -> float:
    """Differential entropy ``h(X)`` of a continuous variable.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_dims)
    method : {"kl", "gaussian"}, default "kl"
        ``"kl"``: Kozachenko–Leonenko nearest-neighbour estimator (max-norm); ``"gaussian"``:
        ``½ ln((2πe)^d det Σ)`` with the sample covariance.
    k : int, default 3
        Number of nearest neighbours (``"kl"``).
    jitter, seed : see :func:`mutual_information` (tie policy).
    base : float, default 2
    algorithm, workers : see :func:`mutual_information`.
    bias_correction : bool, default False
        ``"gaussian"`` only: the analytic bias correction of Ince et al. (2017).

    Returns
    -------
    float
        Differential entropy in units of ``base`` (can be negative). Not invariant to rescaling, so ``x`` is never
        normalised.

    Notes
    -----
    Kozachenko & Leonenko (1987), in the form of Kraskov et al. (2004, eq. 20) for the max-norm (a ball of radius
    ``r`` has volume ``(2r)^d``): ``h = ψ(N) − ψ(k) + d ⟨ln 2ε_i⟩`` nats, ``ε_i`` the distance to the ``k``-th
    neighbour.

    References
    ----------
    L. F. Kozachenko and N. N. Leonenko, Probl. Inf. Transm. 23, 95–101 (1987).
    A. Kraskov, H. Stögbauer and P. Grassberger, Phys. Rev. E 69, 066138 (2004).
    """
    if method not in ENTROPY_METHODS:
        raise ValueError(f"method must be one of {ENTROPY_METHODS}, got {method!r}")
    b = check_base(base)
    if method == "kl":
        arrays, _ = prepare({"x": x}, k=k, jitter=jitter, seed=seed)
        nats = _ksg.kl_entropy_nats(arrays["x"], k, algorithm=algorithm, workers=workers)
    else:
        arrays, n = prepare({"x": x}, min_samples=3, ties_ok=True)
        a = arrays["x"]
        d = a.shape[1]
        if n <= d + 1:
            raise ValueError(f"the Gaussian estimator needs n_samples > n_dims + 1, got {n} and {d}")
        cov = np.cov(a, rowvar=False, ddof=1).reshape(d, d)
        nats = _gauss.half_logdet(cov, np.arange(d), "x") + 0.5 * d * math.log(2 * math.pi * math.e)
        if bias_correction:
            nats -= _gauss.entropy_bias(d, n)
    return nats / math.log(b)
