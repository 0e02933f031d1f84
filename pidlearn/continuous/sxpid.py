"""Continuous shared-exclusion PID: the KSG-type estimator of Ehrlich et al. (2024), 2 to 4 sources.

For samples ``j = 1..N`` of a target ``T`` and sources ``S_1..S_n`` (each possibly multivariate, max-norm inside a
variable), with per-variable distances ``d_T(j, j')`` and ``d_i(j, j')``:

* distance of a source set ``a`` (conjunction):   ``d_a = max_{i∈a} d_i``
* distance of an antichain ``α`` (disjunction):   ``d_α = min_{a∈α} d_a``
* joint distance:                                 ``d_J = max(d_T, d_α)``
* ``ε_j`` = distance from ``j`` to its ``k``-th nearest neighbour under ``d_J`` (``j`` excluded)
* ``n_α(j) = 1 + #{j' ≠ j : d_α(j, j') < ε_j}``,  ``n_T(j) = 1 + #{j' ≠ j : d_T(j, j') < ε_j}``  (strict ``<``)
* local redundancy ``i_sx(j : α) = ψ(k) + ψ(N) − ψ(n_α(j)) − ψ(n_T(j))`` nats, averaged over ``j``.

Atoms (average and local) follow by the Möbius inversion of :mod:`pidlearn.lattice`, exactly as for the discrete
SxPID. The redundancy of the top antichain ``{1..n}`` is the KSG-1 estimate of ``I(T; S_1..S_n)`` with per-variable
max-norm, so the atoms sum to it. The cost is ``O(N² · Σ_α |α|)`` (one numba pass over all pairs per sample,
parallel over samples): a few seconds for ``N`` in the low thousands with 4 sources (166 antichains).

References
----------
D. A. Ehrlich, K. Schick-Poland, A. Makkeh, F. Lanfermann, P. Wollstadt and M. Wibral, "Partial information
decomposition for continuous variables based on shared exclusions: analytical formulation and estimation",
Phys. Rev. E 110, 014115 (2024).
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021).
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
from numba import njit, prange
from scipy.special import digamma

from pidlearn._memory import check_memory
from pidlearn._validation import check_base
from pidlearn.continuous._checks import CostWarning, prepare
from pidlearn.continuous.ksg import _check_workers, _numba_threads

__all__ = ["MAX_CONTINUOUS_SOURCES", "local_redundancies", "sxpid"]

#: Most sources the continuous estimator accepts (5 sources: 7579 antichains per sample pair).
MAX_CONTINUOUS_SOURCES = 4
_CHUNK = 16


@njit(parallel=True, cache=True)
def _csxpid_kernel(data, var_of_col, n_sources, ac_ptr, ac_sets, k, psi):
    """Local redundancies (nats) of every antichain at every sample, shape (n, n_antichains).

    Variable 0 of ``var_of_col`` is the target, ``1..n_sources`` the sources. Antichain ``a`` consists of the
    source-set bitmasks ``ac_sets[ac_ptr[a]:ac_ptr[a + 1]]`` (bit ``i`` for source ``i + 1``). ``psi[m] = ψ(m)``.
    """
    n, n_cols = data.shape
    n_ac = ac_ptr.shape[0] - 1
    n_sets = (1 << n_sources) - 1
    out = np.empty((n, n_ac))
    base_term = psi[k] + psi[n]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for ch in prange(n_chunks):
        dvar = np.empty((n_sources + 1, n))
        dset = np.empty((n_sets + 1, n))
        dal = np.empty(n)
        best = np.empty(k)
        for j in range(ch * _CHUNK, min(n, (ch + 1) * _CHUNK)):
            dvar[:, :] = 0.0
            for jj in range(n):
                for c in range(n_cols):
                    t = abs(data[jj, c] - data[j, c])
                    v = var_of_col[c]
                    if t > dvar[v, jj]:
                        dvar[v, jj] = t
            for s in range(1, n_sets + 1):
                for jj in range(n):
                    m = 0.0
                    for i in range(n_sources):
                        if (s >> i) & 1 and dvar[i + 1, jj] > m:
                            m = dvar[i + 1, jj]
                    dset[s, jj] = m
            for a in range(n_ac):
                p0 = ac_ptr[a]
                p1 = ac_ptr[a + 1]
                for jj in range(n):
                    m = dset[ac_sets[p0], jj]
                    for q in range(p0 + 1, p1):
                        v = dset[ac_sets[q], jj]
                        if v < m:
                            m = v
                    dal[jj] = m
                best[:] = np.inf
                for jj in range(n):
                    if jj == j:
                        continue
                    d = dal[jj] if dal[jj] > dvar[0, jj] else dvar[0, jj]
                    if d < best[k - 1]:
                        pos = k - 1
                        while pos > 0 and best[pos - 1] > d:
                            best[pos] = best[pos - 1]
                            pos -= 1
                        best[pos] = d
                eps = best[k - 1]
                n_alpha = 1
                n_t = 1
                for jj in range(n):
                    if jj == j:
                        continue
                    if dal[jj] < eps:
                        n_alpha += 1
                    if dvar[0, jj] < eps:
                        n_t += 1
                out[j, a] = base_term - psi[n_alpha] - psi[n_t]
    return out


#: Measured cost of the kernel per sample pair and antichain on one thread (seconds; about 1e-8 to 2e-8 on a 2020s
#: CPU core): the basis of the time estimate of :func:`check_cost`.
SECONDS_PER_PAIR_ANTICHAIN = 1.5e-8
#: :func:`sxpid` warns (:class:`~pidlearn.continuous.CostWarning`) when its estimated time exceeds this many seconds.
WARN_SECONDS = 60.0


def check_cost(n: int, n_antichains: int, workers: int, repeats: int = 1) -> float:
    """Estimate the time of a continuous SxPID and check its memory; warn past :data:`WARN_SECONDS`.

    Parameters
    ----------
    n : int
        Number of samples (the kernel visits all ``N²`` pairs).
    n_antichains : int
        Antichains of the lattice (4, 18 and 166 for 2, 3 and 4 sources).
    workers : int
        Threads (-1: numba's thread count).
    repeats : int, default 1
        Decompositions of this size (a permutation test: ``n_permutations + 1``).

    Returns
    -------
    float
        Estimated seconds: ``1.5e-8 × N² × n_antichains × repeats / threads``.

    Raises
    ------
    ValueError
        The local redundancies and atoms (``3 × N × n_antichains × 8`` bytes) exceed the memory limit of
        :func:`pidlearn._memory.check_memory`.
    """
    check_memory(
        3 * 8 * n * n_antichains,
        f"3 × N × n_antichains × 8 bytes for the local redundancies and atoms, N = {n}, {n_antichains} antichains",
        "subsample, or give fewer sources",
    )
    threads = numba.get_num_threads() if workers == -1 else max(1, min(int(workers), numba.config.NUMBA_NUM_THREADS))
    seconds = SECONDS_PER_PAIR_ANTICHAIN * float(n) * n * n_antichains * repeats / threads
    if seconds > WARN_SECONDS:
        times = f" × {repeats} decompositions (permutations)" if repeats > 1 else ""
        warnings.warn(
            f"the continuous SxPID visits all N² sample pairs for each of the {n_antichains} antichains{times}: with "
            f"N = {n} and {threads} thread(s) this takes about {seconds / 60:.0f} min (cost ∝ N²; "
            f"{SECONDS_PER_PAIR_ANTICHAIN:g} s per pair and antichain on one thread). Subsample (N = {n // 4} takes "
            f"1/16 of the time), use more workers, or give fewer sources" + (" or permutations" if repeats > 1 else ""),
            CostWarning,
            stacklevel=3,
        )
    return seconds


def _split_sources(sources) -> list:
    """Sources as a list of per-source array-likes: a sequence of arrays, or the columns of a 2-D array."""
    if sources is None:
        raise TypeError("sources is None; give a sequence of 2 to 4 arrays or a 2-D array (columns = sources)")
    if isinstance(sources, (list, tuple)):
        items = list(sources)
        if items and all(np.ndim(x) == 0 for x in items):
            raise ValueError("sources is a flat sequence of numbers (one source); give 2 to 4 arrays, one per source")
    else:
        arr = np.asarray(sources)
        if arr.ndim != 2:
            raise ValueError(
                f"sources has shape {arr.shape}; give a 2-D array whose columns are the sources, or a sequence of "
                "per-source arrays (a source of shape (n_samples, d) is the joint of its d columns)"
            )
        items = [arr[:, j] for j in range(arr.shape[1])]
    if not 2 <= len(items) <= MAX_CONTINUOUS_SOURCES:
        raise ValueError(
            f"the continuous SxPID takes 2 to {MAX_CONTINUOUS_SOURCES} sources, got {len(items)}"
            + (
                "; for one source use pidlearn.continuous.mutual_information(target, source)"
                if len(items) < 2
                else " (5 sources have 7579 antichains per sample pair)"
            )
        )
    return items


def local_redundancies(
    target: np.ndarray, sources: list[np.ndarray], antichains, k: int, *, workers: int = -1
) -> np.ndarray:
    """Local continuous SxPID redundancies (nats), shape (n_samples, n_antichains), from clean (n, d) arrays.

    ``antichains``: sequence of antichains, each a sequence of source sets of 1-based source numbers.
    """
    n = target.shape[0]
    n_sources = len(sources)
    data = np.ascontiguousarray(np.hstack([target, *sources]))
    var_of_col = np.concatenate([np.full(v.shape[1], i, dtype=np.int64) for i, v in enumerate([target, *sources])])
    ptr = [0]
    flat = []
    for ac in antichains:
        for a in ac:
            flat.append(sum(1 << (i - 1) for i in a))
        ptr.append(len(flat))
    psi = np.empty(n + 1)
    psi[0] = -np.inf  # never used: counts start at 1
    psi[1:] = digamma(np.arange(1, n + 1, dtype=np.float64))
    with _numba_threads(_check_workers(workers)):
        return _csxpid_kernel(
            data, var_of_col, n_sources, np.asarray(ptr, np.int64), np.asarray(flat, np.int64), int(k), psi
        )


def sxpid(
    target,
    sources,
    *,
    k: int = 3,
    base: float = 2,
    jitter: float = 1e-10,
    seed=None,
    normalize: bool = True,
    workers: int = -1,
    n_permutations: int = 0,
):
    """Continuous shared-exclusion PID of ``I(T; S_1..S_n)`` (Ehrlich et al. 2024), 2 to 4 sources.

    Parameters
    ----------
    target : array-like of shape (n_samples,) or (n_samples, d)
        Real-valued target (several columns: one multivariate variable, max-norm inside).
    sources : sequence of array-likes, or 2-D array of shape (n_samples, n_sources)
        One array per source (each (n_samples,) or (n_samples, d)), or an array whose columns are the sources.
    k : int, default 3
        Number of nearest neighbours; ``1 <= k < n_samples``.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    jitter, seed : tie policy, as in :func:`pidlearn.continuous.mutual_information`: columns with duplicated values
        get seeded noise of relative size ``jitter``; tie-free data are used as given. ``seed=None`` is seed 0.
    normalize : bool, default True
        Each column divided by its standard deviation (``ddof=0``), as scikit-learn's ``mutual_info_*`` and JIDT do;
        the atoms' sum (an MI) is invariant to it, KSG's max-norm neighbourhoods are not. The authors' reference
        implementation does not normalise: pass ``normalize=False`` to reproduce it.
    workers : int, default -1
        Threads (-1: all).
    n_permutations : int, default 0
        With ``n_permutations >= 1``, a permutation p-value for every atom (``result.p_values``): the target is
        shuffled against the jointly kept sources, see :func:`pidlearn.continuous.permutation_test_pid`, which this
        calls (an int ``seed`` then seeds the permutations and the jitter). Each permutation costs one decomposition.

    Returns
    -------
    pidlearn.results.PIDResult
        Average atoms over the lattice (lattice order of :func:`pidlearn.lattice.lattice`), ``local`` atoms of shape
        (n_samples, n_atoms), and ``mutual_information`` = the KSG estimate of ``I(T; S_1..S_n)`` (the sum of the
        atoms). No informative/misinformative split (the continuous estimator gives their difference only) and no
        target entropy.

    Raises
    ------
    ValueError
        Fewer than 2 or more than 4 sources, NaN/inf, mismatched lengths, constant columns, ``n_samples <= k``.

    Notes
    -----
    With ``d_a = max_{i∈a} d_i``, ``d_α = min_{a∈α} d_a`` and ``ε_j`` the ``k``-th neighbour distance under
    ``max(d_T, d_α)``, strict counts ``n_α(j) = 1 + #{j' ≠ j : d_α < ε_j}`` and ``n_T(j) = 1 + #{j' ≠ j : d_T < ε_j}``:

    .. math:: \\hat I_{sx}(α) = ψ(k) + ψ(N) − ⟨ψ(n_α) + ψ(n_T)⟩,

    then atoms ``Π = M Î`` and local atoms ``π_j = M î_j`` with the lattice's Möbius matrix ``M``. Cost
    ``O(N² Σ_α |α|)``: about ``1.5e-8 s × N² × n_antichains`` on one thread (4, 18, 166 antichains for 2, 3, 4
    sources; e.g. 4 s for N = 8000 with 2 sources, 2 min with 4). Past an estimated :data:`WARN_SECONDS` (60 s) a
    :class:`~pidlearn.continuous.CostWarning` gives the estimate; memory past the library's limit
    (:func:`pidlearn._memory.check_memory`) is refused with a ``ValueError`` before the run.

    References
    ----------
    D. A. Ehrlich et al., "Partial information decomposition for continuous variables based on shared exclusions:
    analytical formulation and estimation", Phys. Rev. E 110, 014115 (2024).

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.continuous import sxpid
    >>> rng = np.random.default_rng(0)
    >>> s1, s2 = rng.standard_normal((2, 500))
    >>> r = sxpid(s1 + s2, [s1, s2])
    >>> r.atom_names
    ('{1}{2}', '{1}', '{2}', '{12}')
    """
    from pidlearn.lattice import lattice
    from pidlearn.results import PIDResult

    if not (isinstance(n_permutations, int) and n_permutations == 0):
        from pidlearn.continuous.permutation import permutation_test_pid

        return permutation_test_pid(
            target,
            sources,
            n_permutations=n_permutations,
            seed=seed,
            k=k,
            base=base,
            jitter=jitter,
            normalize=normalize,
            workers=workers,
        )
    b = check_base(base)
    items = _split_sources(sources)
    named = {"target": target, **{f"source {i + 1}": s for i, s in enumerate(items)}}
    arrays, _ = prepare(named, k=k, jitter=jitter, seed=seed, normalize=normalize)
    t = arrays["target"]
    srcs = [arrays[f"source {i + 1}"] for i in range(len(items))]
    lat = lattice(len(srcs))
    check_cost(t.shape[0], len(lat.antichains), _check_workers(workers))
    scale = 1.0 / math.log(b)
    local_red = local_redundancies(t, srcs, lat.antichains, k, workers=workers) * scale
    red = local_red.mean(axis=0)
    mobius = lat.mobius
    values = mobius @ red
    local_atoms = np.asarray((mobius @ local_red.T).T)
    return PIDResult(
        lat.names,
        values,
        local=local_atoms,
        mutual_information=float(red[lat.top]),
        n_sources=len(srcs),
        base=b,
        measure="sx",
    )
