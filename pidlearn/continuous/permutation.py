"""Permutation tests for continuous (and mixed) mutual information and for the atoms of the continuous SxPID.

The data are validated, normalised and jittered once (exactly as :func:`pidlearn.continuous.mutual_information`
does); each permutation then reorders the prepared ``x`` (or target) and calls the nats kernels of
:mod:`pidlearn.continuous.ksg` on the prepared arrays. Permutation streams, local permutations and p-values come from
:mod:`pidlearn.significance`.

References
----------
B. Phipson and G. K. Smyth, "Permutation p-values should never be zero: calculating exact p-values when
permutations are randomly drawn", Stat. Appl. Genet. Mol. Biol. 9, 39 (2010).
J. Runge, "Conditional independence testing based on a nearest-neighbor estimator of conditional mutual
information", Proc. AISTATS 2018, PMLR 84:938–947.
"""

from __future__ import annotations

import math
import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pidlearn._validation import as_discrete, check_base
from pidlearn.continuous import ksg as _ksg
from pidlearn.continuous import mixed as _mixed
from pidlearn.continuous._checks import CostWarning, prepare
from pidlearn.continuous.mi import _resolve_estimator, mutual_information
from pidlearn.results import PermutationTestResult
from pidlearn.significance import (
    check_n_permutations,
    local_neighbours,
    local_permutation,
    p_values,
    permutation_seeds,
    permuted_index,
    strata,
)

__all__ = ["permutation_test", "permutation_test_pid"]

#: Nearest neighbours in ``Z`` among which ``x`` is shuffled for a continuous ``z`` (Runge 2018 uses 5 to 10).
K_PERM = 5


def _jitter_seed(seed):
    """The permutation seed also seeds the jitter when it is an int (``None``: the estimators' fixed seed 0)."""
    return seed if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) else None


def _check_threads(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers == 0 or workers < -1:
        raise ValueError(f"workers must be a positive integer or -1 (all cores), got {workers!r}")
    if workers == -1:
        import numba

        return int(numba.config.NUMBA_NUM_THREADS)
    return int(workers)


def _map(func, n: int, threads: int) -> np.ndarray:
    """``[func(p) for p in range(n)]`` as an array, on ``threads`` threads (results in order, thread-count free)."""
    if threads <= 1 or n < 2 * threads:
        return np.array([func(p) for p in range(n)], dtype=np.float64)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return np.array(list(pool.map(func, range(n), chunksize=max(1, n // (8 * threads)))), dtype=np.float64)


def _discrete_names(discrete) -> tuple[str, ...]:
    if discrete is None or discrete is False:
        return ()
    if discrete is True:
        return ("x", "y", "z")
    return (discrete,) if isinstance(discrete, str) else tuple(sorted(discrete))


def permutation_test(
    x,
    y,
    z=None,
    *,
    n_permutations: int = 1000,
    seed=None,
    workers: int = -1,
    k_perm: int = K_PERM,
    **estimator_kwargs,
) -> PermutationTestResult:
    """Permutation test of ``I(X;Y) = 0`` (or ``I(X;Y|Z) = 0``) for continuous or mixed data.

    The statistic is :func:`pidlearn.continuous.mutual_information` with ``estimator_kwargs``. Under the null, ``x``
    is shuffled against ``y``:

    * no ``z``: a free shuffle;
    * discrete ``z`` (named in ``discrete=``): a shuffle within each value of ``z`` (keeps ``p(x | z)``);
    * continuous ``z``: the local permutation of Runge (2018): every sample takes the ``x`` of one of its ``k_perm``
      nearest neighbours in ``z`` (max-norm), without replacement where possible, so ``p(x | z)`` is kept
      approximately and ``x`` is decoupled from ``y`` given ``z``.

    The p-value is

    .. math:: p = \\frac{1 + \\#\\{I_{perm} \\ge I\\}}{1 + n_{permutations}}

    (Phipson & Smyth 2010; one-sided: large MI is evidence against independence; never 0).

    Parameters
    ----------
    x, y : array-like of shape (n_samples,) or (n_samples, n_dims)
    z : array-like of shape (n_samples,) or (n_samples, n_dims), optional
        Conditioning variable.
    n_permutations : int, default 1000
        Number of permutations, >= 1.
    seed : None, int or numpy.random.Generator
        Seed of the permutations; an int also seeds the tie-breaking jitter (``None``: fresh permutations, the
        estimator's fixed jitter seed 0). Permutation ``p`` has its own random stream, so a seed gives the same
        result whatever ``workers``.
    workers : int, default -1
        Threads running permutations in parallel (-1: numba's thread count); each permutation's estimator runs on
        one thread. Results do not depend on it.
    k_perm : int, default 5
        Neighbours of the local permutation (continuous ``z`` only).
    **estimator_kwargs
        As :func:`pidlearn.continuous.mutual_information` takes them: ``estimator`` (or the older ``method``), ``k``,
        ``discrete``, ``normalize``, ``jitter``, ``base``, ``algorithm``, ...

    Returns
    -------
    pidlearn.results.PermutationTestResult
        ``statistic`` (the observed estimate, equal to ``mutual_information(x, y, z=z, seed=seed, **kwargs)`` for an
        int seed), ``p_value``, ``null_distribution`` (n_permutations,).

    Notes
    -----
    KSG estimates (``"ksg1"``, ``"ksg2"``, Frenzel–Pompe for ``z``) of all-continuous data take the fast path: the
    data are validated, normalised and jittered once, and each permutation calls the nats kernel on the reordered
    prepared arrays. Other estimators and mixed data call the public estimator once per permutation.

    References
    ----------
    B. Phipson and G. K. Smyth, Stat. Appl. Genet. Mol. Biol. 9, 39 (2010).
    J. Runge, "Conditional independence testing based on a nearest-neighbor estimator of conditional mutual
    information", AISTATS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.continuous.permutation import permutation_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(500)
    >>> permutation_test(x, x + rng.standard_normal(500), n_permutations=99, seed=1).p_value
    0.01
    """
    n_permutations = check_n_permutations(n_permutations)
    threads = _check_threads(workers)
    if isinstance(k_perm, bool) or not isinstance(k_perm, numbers.Integral) or k_perm < 1:
        raise ValueError(f"k_perm must be a positive int (neighbours of the local permutation), got {k_perm!r}")
    mi = mutual_information
    kw = dict(estimator_kwargs)
    given = kw.pop("estimator", None)
    if "method" in kw:  # the deprecated spelling: warned about and checked as mutual_information does
        given = _resolve_estimator(given, kw.pop("method"), None, "permutation_test")
    estimator = given or "ksg1"
    discrete = _discrete_names(kw.get("discrete"))
    base = check_base(kw.get("base", 2))
    k = kw.get("k", 3)
    seeds = permutation_seeds(seed, n_permutations)
    jseed = _jitter_seed(seed)

    if kw.get("discrete", 0) is None:
        del kw["discrete"]  # all continuous (also for an estimator without discrete=)
    fast_keys = {"k", "jitter", "base", "normalize", "algorithm"}
    fast = estimator in ("ksg1", "ksg2") and not discrete and set(kw) <= fast_keys
    if fast:
        if estimator == "ksg2" and z is not None:
            raise ValueError("conditional MI (z given) needs estimator='ksg1' (Frenzel & Pompe 2007)")
        arrays, n = prepare(
            {"x": x, "y": y, "z": z},
            k=k,
            jitter=kw.get("jitter", 1e-10),
            seed=jseed,
            normalize=kw.get("normalize", True),
        )
        algorithm = kw.get("algorithm", "auto")
        xa, ya, za = arrays["x"], arrays["y"], arrays.get("z")
        if za is None:
            mode = 1 if estimator == "ksg1" else 2

            def stat(xp, w):
                return _ksg.ksg_mi_nats(xp, ya, k, mode=mode, algorithm=algorithm, workers=w)
        else:

            def stat(xp, w):
                return _ksg.fp_cmi_nats(xp, ya, za, k, algorithm=algorithm, workers=w)

        observed = stat(xa, -1)
        permute = _permuter(za, n, k_perm, continuous_z=True)

        def one(p):
            return stat(np.ascontiguousarray(xa[permute(seeds[p])]), 1)

        null = _map(one, n_permutations, threads)
        scale = math.log(base)
        return PermutationTestResult(observed / scale, p_values(null, observed), null / scale)

    if (
        z is None
        and len(discrete) == 1
        and discrete[0] in ("x", "y")
        and given in (None, "ksg1", "ross")
        and set(kw) <= fast_keys | {"discrete"}
    ):  # one discrete variable: Ross (2014) estimator on the prepared continuous variable and the label codes
        dx = discrete[0] == "x"
        arrays, n = prepare(
            {"c": y if dx else x},
            k=k,
            jitter=kw.get("jitter", 1e-10),
            seed=jseed,
            normalize=kw.get("normalize", True),
        )
        ca = arrays["c"]
        labels = as_discrete(x if dx else y, "x" if dx else "y")[0]
        if labels.shape[0] != n:
            raise ValueError(
                f"x and y have different numbers of samples: {len(np.asarray(x))} and {len(np.asarray(y))}"
            )
        algorithm = kw.get("algorithm", "auto")
        observed = _mixed.ross_mi_nats(ca, labels, k, algorithm=algorithm, workers=-1)
        permute = _permuter(None, n, k_perm, continuous_z=False)

        def one_mixed(p):  # MI is symmetric: shuffling the continuous side is shuffling x against y
            return _mixed.ross_mi_nats(
                np.ascontiguousarray(ca[permute(seeds[p])]), labels, k, algorithm=algorithm, workers=1
            )

        null = _map(one_mixed, n_permutations, threads)
        scale = math.log(base)
        return PermutationTestResult(observed / scale, p_values(null, observed), null / scale)

    # generic path: the public estimator per permutation (other estimators, mixed data)
    x_arr = np.asarray(x)
    n = x_arr.shape[0]
    if z is None:
        permute = _permuter(None, n, k_perm, continuous_z=False)
    elif "z" in discrete:
        permute = _permuter(as_discrete(z, "z")[0], n, k_perm, continuous_z=False)
    else:
        za = prepare({"z": z}, jitter=kw.get("jitter", 1e-10), seed=jseed, normalize=True)[0]["z"]
        permute = _permuter(za, n, k_perm, continuous_z=True)
    call = dict(kw)
    if given is not None:
        call["estimator"] = given
    call["seed"] = jseed
    observed = float(mi(x_arr, y, z=z, **call))
    call["workers"] = 1

    def one_generic(p):
        return mi(x_arr[permute(seeds[p])], y, z=z, **call)

    null = _map(one_generic, n_permutations, threads)
    return PermutationTestResult(observed, p_values(null, observed), null)


def _permuter(z, n: int, k_perm: int, *, continuous_z: bool):
    """``seed -> index array``: free shuffle (``z`` None), within strata (discrete codes), or local (continuous)."""
    if z is not None and continuous_z:
        if k_perm >= n:
            raise ValueError(f"k_perm = {k_perm} must be smaller than the number of samples {n}")
        neighbours = local_neighbours(z, k_perm)
        return lambda s: local_permutation(neighbours, s)
    order, starts = strata(z, n)
    return lambda s: permuted_index(order, starts, s)


def permutation_test_pid(
    target,
    sources,
    *,
    n_permutations: int = 1000,
    seed=None,
    k: int = 3,
    base: float = 2,
    jitter: float = 1e-10,
    normalize: bool = True,
    workers: int = -1,
):
    """Continuous SxPID (:func:`pidlearn.continuous.sxpid`) with a permutation p-value for every atom.

    The target is shuffled against the jointly kept sources; for each permutation the local redundancies of all
    antichains are recomputed on the prepared (validated, jittered, normalised once) arrays and Möbius-inverted, and

    .. math:: p(α) = \\frac{1 + \\#\\{Π_{perm}(α) \\ge Π(α)\\}}{1 + n_{permutations}}

    (Phipson & Smyth 2010), one-sided (upper). Atoms can be negative; a large p-value of a negative atom says it is
    not larger than under independence, not that it is significantly negative.

    Parameters
    ----------
    target, sources, k, base, jitter, normalize, workers
        As :func:`pidlearn.continuous.sxpid`.
    n_permutations : int, default 1000
        >= 1. Each permutation costs one continuous SxPID (``O(N² Σ_α |α|)``), so keep ``N`` in the hundreds.
    seed : None, int or numpy.random.Generator
        Seed of the permutations; an int also seeds the jitter (``None``: fresh permutations, jitter seed 0).

    Returns
    -------
    pidlearn.results.PIDResult
        The decomposition, with ``p_values`` (``{atom: p}``) and ``n_permutations`` set.

    References
    ----------
    D. A. Ehrlich et al., Phys. Rev. E 110, 014115 (2024). B. Phipson and G. K. Smyth (2010).
    """
    from pidlearn.continuous.sxpid import _split_sources, check_cost, local_redundancies, sxpid
    from pidlearn.lattice import lattice

    items = _split_sources(sources)
    lat = lattice(len(items))
    n_permutations = check_n_permutations(n_permutations, n_statistics=lat.n_atoms)
    b = check_base(base)
    jseed = _jitter_seed(seed)
    named = {"target": target, **{f"source {i + 1}": s for i, s in enumerate(items)}}
    arrays, n = prepare(named, k=k, jitter=jitter, seed=jseed, normalize=normalize)
    check_cost(n, len(lat.antichains), _ksg._check_workers(workers), repeats=n_permutations + 1)
    with warnings.catch_warnings():  # the cost of the whole test was just estimated (and warned about) above
        warnings.simplefilter("ignore", CostWarning)
        result = sxpid(target, items, k=k, base=b, jitter=jitter, seed=jseed, normalize=normalize, workers=workers)
    t = arrays["target"]
    srcs = [arrays[f"source {i + 1}"] for i in range(len(items))]
    seeds = permutation_seeds(seed, n_permutations)
    order, starts = strata(None, n)
    scale = 1.0 / math.log(b)
    null = np.empty((n_permutations, lat.n_atoms))
    for p, sd in enumerate(seeds):
        tp = np.ascontiguousarray(t[permuted_index(order, starts, sd)])
        red = local_redundancies(tp, srcs, lat.antichains, k, workers=workers).mean(axis=0) * scale
        null[p] = lat.mobius @ red
    result._attach_p_values(p_values(null, result.values), n_permutations)
    return result
