"""Public entry points: continuous (and mixed discrete–continuous) mutual information, multi-information and
differential entropy.

Inputs are validated and converted once here (:func:`pidlearn.continuous._checks.prepare` for real-valued variables,
:func:`pidlearn._validation.as_discrete` for labels); the estimators in :mod:`~pidlearn.continuous.ksg`,
:mod:`~pidlearn.continuous.gaussian` and :mod:`~pidlearn.continuous.mixed` assume clean arrays.

Defaults shared by the nearest-neighbour estimators
---------------------------------------------------
* ``normalize=True``: each column divided by its standard deviation (``ddof=0``), as scikit-learn's
  ``mutual_info_*`` and JIDT do; MI is invariant to it, KSG's max-norm neighbourhoods are not (an unscaled column
  with a large spread would decide every neighbourhood on its own).
* Ties: columns with duplicated values get seeded noise of relative size ``jitter`` (see
  :mod:`pidlearn.continuous._checks`); tie-free columns are used as given. ``estimator="mixed_ksg"`` never jitters
  (its point masses are ties), and discrete variables are labels, never jittered.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from pidlearn._validation import as_discrete, check_base, check_same_length
from pidlearn.continuous import gaussian as _gauss
from pidlearn.continuous import ksg as _ksg
from pidlearn.continuous import mixed as _mixed
from pidlearn.continuous._checks import prepare

__all__ = [
    "ENTROPY_ESTIMATORS",
    "ENTROPY_METHODS",
    "MI_ESTIMATORS",
    "MI_METHODS",
    "MULTI_INFO_ESTIMATORS",
    "entropy",
    "multi_information",
    "mutual_information",
]

#: Values accepted by ``mutual_information(estimator=...)`` (both variables discrete: also the names of
#: :data:`pidlearn.discrete.ESTIMATORS`).
MI_ESTIMATORS = ("ksg1", "ksg2", "gaussian", "copula", "ross", "mixed_ksg")
#: Deprecated alias of :data:`MI_ESTIMATORS`.
MI_METHODS = MI_ESTIMATORS
#: Values accepted by ``entropy(estimator=...)``.
ENTROPY_ESTIMATORS = ("kl", "gaussian")
#: Deprecated alias of :data:`ENTROPY_ESTIMATORS`.
ENTROPY_METHODS = ENTROPY_ESTIMATORS
#: Values accepted by ``multi_information(estimator=...)``.
MULTI_INFO_ESTIMATORS = ("ksg1", "ksg2", "gaussian", "copula")

_VAR_NAMES = ("x", "y", "z")


def _resolve_estimator(estimator, method, default: str, fn: str) -> str:
    """``estimator=`` with ``method=`` as its deprecated alias (a ``DeprecationWarning``; both given: ``TypeError``)."""
    if method is not None:
        if estimator is not None:
            raise TypeError(
                f"{fn}() got both estimator={estimator!r} and method={method!r}; method= is the deprecated name of "
                "estimator=: pass estimator= only"
            )
        warnings.warn(
            f"{fn}(method=...) is deprecated; use estimator={method!r}, the keyword of the discrete functions too",
            DeprecationWarning,
            stacklevel=3,
        )
        estimator = method
    if estimator is None:
        return default
    if not isinstance(estimator, str):
        raise TypeError(f"estimator must be a string, got {estimator!r}")
    return estimator


def _parse_discrete(discrete, has_z: bool) -> frozenset:
    """The set of variable names marked discrete by ``discrete=``."""
    if discrete is None or (isinstance(discrete, (bool, np.bool_)) and not discrete):
        return frozenset()
    if isinstance(discrete, (bool, np.bool_)):
        return frozenset(_VAR_NAMES if has_z else _VAR_NAMES[:2])
    bad = ValueError(
        f"discrete must name among 'x', 'y', 'z' (one name or an iterable of names), or be True (all) or "
        f"None/False (none), got {discrete!r}"
    )
    if isinstance(discrete, str):
        items = [discrete]
    else:
        try:
            items = list(discrete)
        except TypeError:
            raise bad from None
    if not items or any(not isinstance(v, str) or v not in _VAR_NAMES for v in items):
        raise bad
    names = frozenset(items)
    if "z" in names and not has_z:
        raise ValueError("discrete names 'z' but z is None: pass z=, or drop 'z' from discrete")
    return names


def _labels(values, name: str, discrete) -> np.ndarray:
    """Validated label codes of a variable marked discrete (several columns: their joint)."""
    try:
        codes, _ = as_discrete(values, name)
    except ValueError as err:
        if "non-integer" not in str(err):
            raise
        raise ValueError(
            f"{name} is marked discrete (discrete={discrete!r}) but holds non-integer floats: remove {name!r} from "
            f"discrete= to treat it as continuous, or bin it first (pidlearn.discretise)"
        ) from None
    return codes


def _pair_nats(xa, ya, yd: bool, est: str, k: int, algorithm: str, workers: int, bias_correction: bool) -> float:
    """Unconditional MI in nats of a clean continuous ``xa`` and ``ya`` (label codes when ``yd``)."""
    if yd:
        return _mixed.ross_mi_nats(xa, ya, k, algorithm=algorithm, workers=workers)
    if est in ("ksg1", "ksg2"):
        return _ksg.ksg_mi_nats(xa, ya, k, mode=1 if est == "ksg1" else 2, algorithm=algorithm, workers=workers)
    if est == "copula":
        xa, ya = _gauss.copula_normalize(xa), _gauss.copula_normalize(ya)
    return _gauss.gaussian_mi_nats(xa, ya, bias_correction=bias_correction)


def mutual_information(
    x,
    y,
    *,
    z=None,
    discrete=None,
    estimator: str | None = None,
    k: int = 3,
    jitter: float = 1e-10,
    seed=None,
    base: float = 2,
    normalize: bool = True,
    algorithm: str = "auto",
    workers: int = -1,
    bias_correction: bool = False,
    method: str | None = None,
) -> float:
    """Mutual information ``I(X;Y)``, or ``I(X;Y|Z)`` when ``z`` is given, of continuous, discrete or mixed variables.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_dims)
        Samples; several columns form one multivariate variable (for a discrete variable: the joint of its columns).
    z : array-like of shape (n_samples,) or (n_samples, n_dims), optional
        Conditioning variable.
    discrete : None, bool, {"x", "y", "z"} or iterable of those names, default None
        Which variables are discrete labels (scikit-learn's ``discrete_features`` is the precedent). ``None`` or
        ``False``: all continuous; ``True``: all discrete. Labels may be ints, integer-valued floats, strings or
        bools; a float column with non-integer values is refused (remove it from ``discrete`` or bin it).
    estimator : str, optional
        All continuous: ``"ksg1"`` (default), ``"ksg2"`` (Kraskov–Stögbauer–Grassberger algorithms 1 and 2,
        max-norm, ``k`` neighbours), ``"gaussian"`` (closed form for jointly Gaussian data), ``"copula"`` (Gaussian
        copula: rank-normalised columns, then the Gaussian formula), ``"mixed_ksg"`` (Gao et al. 2017: variables
        with point masses and continuous parts; no ``z``, no ``discrete``). One of ``x``/``y`` discrete:
        ``"ross"`` (default; ``"ksg1"`` means the same). Both discrete: the plug-in estimate of
        :func:`pidlearn.discrete.mutual_information` (default ``"plugin"``; its other estimators are passed on).
    k : int, default 3
        Number of nearest neighbours (nearest-neighbour estimators); ``1 <= k < n_samples``.
    jitter : float, default 1e-10
        Tie policy of the continuous variables (KSG, Ross): every column that holds duplicated values gets Gaussian
        noise of standard deviation ``jitter * max(std, mean |value|)`` (after ``normalize``) from
        ``numpy.random.default_rng(seed)``; tie-free columns are untouched, labels never jittered. ``0`` keeps ties
        and warns (:class:`~pidlearn.continuous.TiesWarning`). Ignored by ``"mixed_ksg"``, whose point masses are
        ties.
    seed : None, int or numpy.random.Generator
        Seed of the jitter. ``None`` means seed 0, so results are deterministic by default.
    base : float, default 2
        Logarithm base: 2 gives bits, ``math.e`` nats.
    normalize : bool, default True
        Each continuous column divided by its standard deviation (``ddof=0``), as scikit-learn's ``mutual_info_*``
        and JIDT do; MI is invariant to it, KSG's max-norm neighbourhoods are not. ``False`` uses the values as
        given (needed to reproduce earlier pidlearn versions, whose default it was, and the authors' reference
        continuous SxPID).
    algorithm : {"auto", "sweep", "kdtree", "brute"}, default "auto"
        Neighbour search for KSG (all exact, same result): a numba block sweep for joint dimension <= 2, a numba
        k-d tree above, numba brute force from 16 joint dimensions up while ``n_samples <= 30000``.
    workers : int, default -1
        Threads for the neighbour search and counts (-1: all cores from 20000 samples up, one thread below, where
        thread start-up and synchronisation cost more than they save). Results do not depend on it.
    bias_correction : bool, default False
        Gaussian and copula only: subtract the analytic bias of each Gaussian entropy (Ince et al. 2017).
    method : str, optional
        Deprecated alias of ``estimator`` (``DeprecationWarning``; giving both is a ``TypeError``).

    Returns
    -------
    float
        The estimate in units of ``base``. Nearest-neighbour estimates fluctuate around the truth and can be slightly
        negative for independent variables; they are returned as they are, never clipped (scikit-learn clips at 0).

    Raises
    ------
    ValueError
        NaN or inf, mismatched lengths, constant continuous columns, ``n_samples <= k``, ``k < 1``, more than 2
        array dimensions, an unknown estimator or algorithm, an invalid ``discrete``, a combination without an
        estimator (see Notes).
    TypeError
        Both ``estimator`` and ``method``; non-numeric continuous data.

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

    Continuous ``X``, discrete ``Y`` (Ross 2014; scikit-learn's ``mutual_info_classif`` conventions, equal to it on
    identical inputs): ``k_i = min(k, N_y − 1)``, ``d_i`` = distance to the ``k_i``-th neighbour among the samples
    with the same label, ``m_i`` = samples of any label closer than ``d_i`` (itself included),
    ``I = ψ(N) − ⟨ψ(N_y)⟩ + ⟨ψ(k_i)⟩ − ⟨ψ(m_i)⟩``. Samples whose label occurs once have no same-label neighbour and
    are dropped (``N`` counts the rest), as scikit-learn does; if every label occurs once, ``ValueError``.
    Multivariate ``X`` uses the max-norm. The estimate is symmetric: ``discrete="x"`` with ``(x, y)`` equals
    ``discrete="y"`` with ``(y, x)``.

    Mixtures (``"mixed_ksg"``, Gao et al. 2017, Algorithm 1, in the convention of the authors' code): ``ρ_i`` =
    ``k``-th neighbour distance in the joint space; off a point mass ``k̃_i = k`` and ``n_x(i) = #{j : ‖x_j − x_i‖ <
    ρ_i}`` (itself included), on one (``ρ_i = 0``) the counts of samples at distance 0;
    ``I = ⟨ψ(k̃_i) + ln N − ψ(n_x) − ψ(n_y)⟩``.

    Conditioning on a discrete ``z`` uses the exact decomposition ``I(X;Y|Z) = Σ_z p(z) I(X;Y | Z = z)``: the chosen
    estimator (KSG, Gaussian, copula, or Ross when one of ``x``/``y`` is discrete) inside each stratum of ``z``,
    weighted by its frequency; normalisation and jitter are applied once to the whole sample first. Every stratum
    needs more than ``k`` samples (Gaussian: more than its dimension + 1), else ``ValueError``. All three discrete:
    :func:`pidlearn.discrete.mutual_information`. A discrete ``y`` (or ``x``) given a continuous ``z`` uses the chain
    rule with Ross's estimator twice, ``I(X;Y|Z) = I(Y; (X, Z)) − I(Y; Z)`` (max-norm in ``(X, Z)``); discrete ``x``
    and ``y`` given a continuous ``z`` are refused (discretise ``z``).

    References
    ----------
    A. Kraskov, H. Stögbauer and P. Grassberger, Phys. Rev. E 69, 066138 (2004).
    S. Frenzel and B. Pompe, Phys. Rev. Lett. 99, 204101 (2007).
    R. A. A. Ince et al., Hum. Brain Mapp. 38, 1541–1573 (2017).
    B. C. Ross, PLoS ONE 9(2), e87357 (2014).
    W. Gao, S. Kannan, S. Oh and P. Viswanath, NeurIPS 30 (2017).

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.continuous import mutual_information
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.standard_normal(5000)
    >>> round(mutual_information(x, y, estimator="gaussian"), 2)  # truth -log2(1 - 0.75**2) / 2 = 0.596
    0.6
    >>> labels = (x > 0).astype(int)
    >>> round(mutual_information(y, labels, discrete="y"), 1)  # continuous y, binary label
    0.3
    """
    est = _resolve_estimator(estimator, method, "", "mutual_information")
    if est and est not in MI_ESTIMATORS:
        from pidlearn.discrete import ESTIMATORS as _DISCRETE

        if est not in _DISCRETE:
            raise ValueError(
                f"estimator must be one of {MI_ESTIMATORS} (or {_DISCRETE} for discrete x and y), got {est!r}"
            )
    b = check_base(base)
    if not isinstance(algorithm, str) or algorithm not in _ksg.ALGORITHMS:
        raise ValueError(f"algorithm must be one of {_ksg.ALGORITHMS}, got {algorithm!r}")
    kinds = _parse_discrete(discrete, z is not None)
    dx, dy, dz = ("x" in kinds), ("y" in kinds), ("z" in kinds)

    if est == "mixed_ksg":
        if kinds:
            raise ValueError(
                f"estimator='mixed_ksg' takes every variable as real-valued with possible point masses (ties); "
                f"leave discrete=None (got discrete={discrete!r}), or use the default estimator with discrete="
            )
        if z is not None:
            raise ValueError(
                "estimator='mixed_ksg' (Gao et al. 2017) has no conditional form; drop z, or mark a discrete z with "
                "discrete='z' and use another estimator"
            )
        arrays, _ = prepare({"x": x, "y": y}, k=k, normalize=normalize, ties_ok=True)
        nats = _mixed.mixed_ksg_nats(arrays["x"], arrays["y"], k, algorithm=algorithm, workers=workers)
        return nats / math.log(b)

    if dx and dy:  # both discrete: the plug-in estimators of pidlearn.discrete
        from pidlearn.discrete import ESTIMATORS as _DISCRETE
        from pidlearn.discrete import mutual_information as _discrete_mi

        if est and est not in _DISCRETE:
            raise ValueError(
                f"x and y are both discrete: estimator must be one of {_DISCRETE} (default 'plugin'), got {est!r}"
            )
        if z is not None and not dz:
            raise ValueError(
                "discrete x and y given a continuous z is not supported: discretise z (pidlearn.discretise) and pass "
                "discrete=True"
            )
        codes = {n: _labels(v, n, discrete) for n, v in (("x", x), ("y", y), ("z", z)) if v is not None}
        check_same_length(**codes)
        return _discrete_mi(codes["x"], codes["y"], codes.get("z"), base=b, estimator=est or "plugin")

    if dx or dy:
        if est not in ("", "ksg1", "ross"):
            raise ValueError(
                f"with one discrete variable (discrete={discrete!r}) the estimator is 'ross' (Ross 2014, the default), "
                f"got {est!r}; for 'gaussian'/'copula' treat both as continuous (discrete=None)"
            )
        est = "ross"
    elif not est:
        est = "ksg1"

    # continuous variables (one of x/y may be labels), z continuous or discrete
    cont_name, lab_name = ("y", "x") if dx else ("x", "y")
    cont = {cont_name: y if dx else x}
    if not (dx or dy):
        cont["y"] = y
    if z is not None and not dz:
        cont["z"] = z
    if est == "ksg2" and z is not None and not dz:
        raise ValueError(
            "conditional MI with a continuous z is defined for estimator='ksg1' (Frenzel & Pompe 2007); KSG "
            "algorithm 2 has no published conditional form"
        )
    nn = est in ("ksg1", "ksg2", "ross")
    if nn:
        arrays, n = prepare(cont, k=k, jitter=jitter, seed=seed, normalize=normalize)
    else:
        arrays, n = prepare(cont, min_samples=3, ties_ok=True)
    labels = {}
    if dx or dy:
        labels[lab_name] = _labels(x if dx else y, lab_name, discrete)
    if dz:
        labels["z"] = _labels(z, "z", discrete)
    if labels:
        check_same_length(**{**{name: a[:, 0] for name, a in arrays.items()}, **labels})
    xa = arrays[cont_name]
    ya = labels[lab_name] if (dx or dy) else arrays["y"]
    yd = dx or dy

    if dz:  # I(X;Y|Z) = sum_z p(z) I(X;Y|Z=z)
        zc = labels["z"]
        order = np.argsort(zc, kind="stable")
        bounds = np.flatnonzero(np.diff(zc[order])) + 1
        nats = 0.0
        for idx in np.split(order, bounds):
            if nn and idx.size <= k:
                raise ValueError(
                    f"the stratum z == z[{int(idx[0])}] has {idx.size} samples; a nearest-neighbour estimate inside "
                    f"a stratum of z needs more than k = {k}: merge rare values of z, or lower k"
                )
            xs_, ys_ = np.ascontiguousarray(xa[idx]), np.ascontiguousarray(ya[idx])
            part = _pair_nats(xs_, ys_, yd, est, k, algorithm, workers, bias_correction)
            nats += idx.size / n * part
        return nats / math.log(b)

    if z is not None and yd:  # label L, continuous C and Z: I(C;L|Z) = I(L; (C,Z)) - I(L; Z) (chain rule), Ross twice
        za = arrays["z"]
        joint = np.ascontiguousarray(np.hstack([xa, za]))
        nats = _mixed.ross_mi_nats(joint, ya, k, algorithm=algorithm, workers=workers) - _mixed.ross_mi_nats(
            za, ya, k, algorithm=algorithm, workers=workers
        )
        return nats / math.log(b)
    if z is not None:  # continuous z, continuous x and y
        if est == "ksg1":
            nats = _ksg.fp_cmi_nats(xa, ya, arrays["z"], k, algorithm=algorithm, workers=workers)
        else:
            za = arrays["z"]
            if est == "copula":
                xa, ya, za = (_gauss.copula_normalize(a) for a in (xa, ya, za))
            nats = _gauss.gaussian_mi_nats(xa, ya, za, bias_correction=bias_correction)
        return nats / math.log(b)
    return _pair_nats(xa, ya, yd, est, k, algorithm, workers, bias_correction) / math.log(b)


def multi_information(
    *xs,
    estimator: str = "ksg1",
    k: int = 3,
    normalize: bool = True,
    jitter: float = 1e-10,
    seed=None,
    base: float = 2,
    algorithm: str = "auto",
    workers: int = -1,
    bias_correction: bool = False,
) -> float:
    """Multi-information (total correlation) ``TC = Σ_i h(X_i) − h(X_1, ..., X_m)`` of ``m >= 2`` continuous variables.

    Parameters
    ----------
    *xs : array-likes of shape (n_samples,) or (n_samples, n_dims)
        The variables, at least two; several columns form one multivariate variable (max-norm inside).
    estimator : {"ksg1", "ksg2", "gaussian", "copula"}, default "ksg1"
        KSG algorithm 1 or 2 generalised to ``m`` variables (Kraskov et al. 2004; JIDT's
        ``MultiInfoCalculatorKraskov1/2``), the Gaussian closed form, or the Gaussian copula.
    k : int, default 3
        Number of nearest neighbours (KSG).
    normalize : bool, default True
        Each column divided by its standard deviation (``ddof=0``), as scikit-learn and JIDT do; the multi-information
        is invariant to it, KSG's max-norm neighbourhoods are not.
    jitter, seed : tie policy, as in :func:`mutual_information`.
    base : float, default 2
    algorithm, workers : neighbour search and threads, as in :func:`mutual_information`.
    bias_correction : bool, default False
        Gaussian and copula only (Ince et al. 2017).

    Returns
    -------
    float
        In units of ``base``; not clipped (KSG can be slightly negative for independent variables). For two variables
        it equals :func:`mutual_information` with the same settings, to the last bit.

    Notes
    -----
    KSG-1, with ``ε_i`` the max-norm distance to the ``k``-th neighbour in the joint space and strict counts
    ``n_j(i) = #{l ≠ i : ‖x_{j,l} − x_{j,i}‖ < ε_i}`` in each variable:

        TC = ψ(k) + (m − 1) ψ(N) − ⟨Σ_j ψ(n_j + 1)⟩

    KSG-2: ``TC = ψ(k) − (m − 1)/k + (m − 1) ψ(N) − ⟨Σ_j ψ(n_j)⟩`` with per-variable radii and ``≤``. Gaussian:
    ``TC = ½ (Σ_j ln det Σ_j − ln det Σ)``, which is ``−½ ln det R`` for the correlation matrix ``R`` of 1-D
    variables.

    References
    ----------
    S. Watanabe, IBM J. Res. Dev. 4, 66–82 (1960).
    A. Kraskov, H. Stögbauer and P. Grassberger, Phys. Rev. E 69, 066138 (2004).
    J. T. Lizier, "JIDT: an information-theoretic toolkit for studying the dynamics of complex systems", Front. Robot.
    AI 1, 11 (2014).

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.continuous import multi_information
    >>> rng = np.random.default_rng(0)
    >>> a, b, c = rng.standard_normal((3, 4000))
    >>> round(multi_information(a, a + b, a + c, estimator="gaussian", base=np.e), 2)  # truth ln(2) = 0.69
    0.69
    """
    if len(xs) < 2:
        hint = (
            "; to use the columns of one 2-D array as the variables, pass multi_information(*X.T)"
            if len(xs) == 1 and np.ndim(xs[0]) == 2
            else ""
        )
        raise ValueError(f"multi_information needs at least two variables, got {len(xs)}{hint}")
    if not isinstance(estimator, str) or estimator not in MULTI_INFO_ESTIMATORS:
        raise ValueError(f"estimator must be one of {MULTI_INFO_ESTIMATORS}, got {estimator!r}")
    b = check_base(base)
    named = {f"xs[{i}]": v for i, v in enumerate(xs)}
    if any(v is None for v in xs):
        raise TypeError("multi_information got None as a variable; pass arrays")
    if estimator in ("ksg1", "ksg2"):
        arrays, _ = prepare(named, k=k, jitter=jitter, seed=seed, normalize=normalize)
        parts = [arrays[name] for name in named]
        nats = _ksg.ksg_multi_info_nats(
            parts, k, mode=1 if estimator == "ksg1" else 2, algorithm=algorithm, workers=workers
        )
    else:
        arrays, _ = prepare(named, min_samples=3, ties_ok=True)
        parts = [arrays[name] for name in named]
        if estimator == "copula":
            parts = [_gauss.copula_normalize(p) for p in parts]
        nats = _gauss.gaussian_multi_info_nats(parts, bias_correction=bias_correction)
    return nats / math.log(b)


def entropy(
    x,
    *,
    estimator: str | None = None,
    k: int = 3,
    jitter: float = 1e-10,
    seed=None,
    base: float = 2,
    algorithm: str = "auto",
    workers: int = -1,
    bias_correction: bool = False,
    method: str | None = None,
) -> float:
    """Differential entropy ``h(X)`` of a continuous variable.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_dims)
    estimator : {"kl", "gaussian"}, default "kl"
        ``"kl"``: Kozachenko–Leonenko nearest-neighbour estimator (max-norm); ``"gaussian"``:
        ``½ ln((2πe)^d det Σ)`` with the sample covariance.
    k : int, default 3
        Number of nearest neighbours (``"kl"``).
    jitter, seed : see :func:`mutual_information` (tie policy).
    base : float, default 2
    algorithm, workers : see :func:`mutual_information`.
    bias_correction : bool, default False
        ``"gaussian"`` only: the analytic bias correction of Ince et al. (2017).
    method : str, optional
        Deprecated alias of ``estimator`` (``DeprecationWarning``; giving both is a ``TypeError``).

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
    method = _resolve_estimator(estimator, method, "kl", "entropy")
    if method not in ENTROPY_ESTIMATORS:
        raise ValueError(f"estimator must be one of {ENTROPY_ESTIMATORS}, got {method!r}")
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
        a, log_scales = _gauss.scale_columns(a)  # exact powers of two: no overflow of the covariance of 1e200s
        cov = np.cov(a, rowvar=False, ddof=1).reshape(d, d)
        nats = _gauss.half_logdet(cov, np.arange(d), "x") + float(np.sum(log_scales))
        nats += 0.5 * d * math.log(2 * math.pi * math.e)
        if bias_correction:
            nats -= _gauss.entropy_bias(d, n)
    return nats / math.log(b)
