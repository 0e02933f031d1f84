"""Discrete shared-exclusion partial information decomposition (SxPID) for 2 to 5 sources.

For a realisation ``(t, s_1..s_n)`` and an antichain ``α`` of source sets, the event of a source set ``a`` is
``𝔞 = ∧_{i∈a} {S_i = s_i}`` and the pointwise shared-exclusion redundancy is (Makkeh, Gutknecht & Wibral 2021)

    i_sx(t : α) = log [ P(t, ∨_{a∈α} 𝔞) / ( P(t) P(∨_{a∈α} 𝔞) ) ] = i⁺ - i⁻,
    i⁺(t : α) = -log P(∨_{a∈α} 𝔞),       i⁻(t : α) = -log P(∨_{a∈α} 𝔞 | t).

Pointwise atoms follow by Möbius inversion over the redundancy lattice (:mod:`pidlearn.lattice`),
``i_sx(α) = Σ_{β≼α} π(β)``, separately for ``i⁺`` and ``i⁻``; average atoms are ``Π(α) = Σ p(t,s) π(t,s:α)``.

Algorithm
---------
Everything runs on the *support* (the m observed combinations; never the full product of alphabets).

1. For each support point ``r`` and each set ``g`` of sources, ``W[r, g]`` is the probability mass of the support
   points that agree with ``r`` on exactly the sources in ``g``; ``W_t[r, g]`` the same restricted to points with
   the same target value. From samples (integer counts) ``W`` comes exactly from the marginal counts
   ``C[r, h] = #{samples agreeing with r on all sources in h}`` (one grouping per ``h``, 2^n of them) by the
   superset Möbius transform ``W[r, g] = Σ_{h⊇g} (-1)^{|h∖g|} C[r, h]``: cost O(2^n (N + m n)). For a pmf
   (float weights) the mass is summed directly over pairs of support points, O(m² n), which involves no
   cancellation (the marginal route is used beyond :data:`PAIR_MAX` support points).
2. ``P(∨_{a∈α} 𝔞) = Σ_{g ∈ ↑α} W[r, g]`` with ``↑α`` the up-set of the antichain. Going down the lattice along a
   spanning tree of cover relations, each antichain adds one set ``g`` to its parent's up-set, so all 7579
   disjunction probabilities of five sources cost one addition each per support point (numba, parallel over
   support points). Only non-negative terms are added, so no precision is lost.
3. Average pointwise redundancies, then ``atoms = M @ r`` with the lattice's sparse Möbius matrix; local atoms
   ``R_local @ Mᵀ`` per support point, expanded to samples on first access.

References
----------
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021).
A. J. Gutknecht, M. Wibral and A. Makkeh, "Bits and pieces: understanding information decomposition from
part-whole relationships and formal logic", Proc. R. Soc. A 477, 20210110 (2021).
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np
from numba import njit, prange

from pidlearn import _counting
from pidlearn._validation import as_discrete, check_base, check_pmf, check_same_length
from pidlearn.lattice import MAX_SOURCES, lattice
from pidlearn.results import PIDResult
from pidlearn.significance import (
    check_n_permutations,
    p_values,
    permutation_seeds,
    permuted_index,
    strata,
    warn_if_undersampled,
)

__all__ = ["PAIR_MAX", "atom_null_distribution", "sxpid", "sxpid_from_pmf"]

#: Largest support (number of distinct realisations) of a float-weighted pmf for which the agreement masses are
#: summed over pairs of support points; beyond it they come from marginals (rounding error ~2^n ulp per entry).
PAIR_MAX = 4096
#: Rows of pointwise redundancies computed at once (bounds memory to ~2 x CHUNK x n_atoms doubles).
_CHUNK_CELLS = 1 << 21


# --------------------------------------------------------------------------------------------------------------------
# numba kernels (clean inputs only: contiguous int64 codes, finite float64 weights)
# --------------------------------------------------------------------------------------------------------------------
@njit(cache=True)
def _agreement_row(support, weights, n_sources, r, w, wt):
    """W[r, g], W_t[r, g]: mass of support points agreeing with r on exactly the sources in bitmask g (O(m n))."""
    for q in range(support.shape[0]):
        g = 0
        for i in range(n_sources):
            if support[r, i] == support[q, i]:
                g |= 1 << i
        w[r, g] += weights[q]
        if support[r, n_sources] == support[q, n_sources]:
            wt[r, g] += weights[q]


@njit(cache=True)
def _pair_agreement_serial(support, weights, n_sources):
    m = support.shape[0]
    w = np.zeros((m, 1 << n_sources))
    wt = np.zeros((m, 1 << n_sources))
    for r in range(m):
        _agreement_row(support, weights, n_sources, r, w, wt)
    return w, wt


@njit(parallel=True, cache=True)
def _pair_agreement_parallel(support, weights, n_sources):
    m = support.shape[0]
    w = np.zeros((m, 1 << n_sources))
    wt = np.zeros((m, 1 << n_sources))
    for r in prange(m):
        _agreement_row(support, weights, n_sources, r, w, wt)
    return w, wt


@njit(cache=True)
def _superset_moebius(c):
    """In place, per row: ``W[g] = Σ_{h ⊇ g} (-1)^{|h∖g|} C[h]`` (inverse of the superset-sum transform)."""
    m, n_masks = c.shape
    bit = 1
    while bit < n_masks:
        for r in range(m):
            for g in range(n_masks):
                if not g & bit:
                    c[r, g] -= c[r, g | bit]
        bit <<= 1


@njit(cache=True)
def _redundancy_row(w, wt, total, p_target, parent, added, scale, out_plus, out_minus, k, r):
    """Row k of i⁺ = -log P(∨α) and i⁻ = -log P(∨α | t) at support point r, in units of 1/scale nats.

    ``parent``/``added`` describe a spanning tree of upper covers: ``↑α = ↑parent(α) ∪ {added(α)}`` (the top has
    parent -1); parents come later in lattice order, so the lattice is walked from the top down and every
    disjunction probability is its parent's plus one non-negative mass.
    """
    n_atoms = parent.shape[0]
    for j in range(n_atoms - 1, -1, -1):
        g = added[j]
        p = parent[j]
        if p < 0:
            out_plus[k, j] = w[r, g]
            out_minus[k, j] = wt[r, g]
        else:
            out_plus[k, j] = out_plus[k, p] + w[r, g]
            out_minus[k, j] = out_minus[k, p] + wt[r, g]
    lt = math.log(p_target[r])
    ln = math.log(total)
    for j in range(n_atoms):
        out_plus[k, j] = (ln - math.log(out_plus[k, j])) * scale
        out_minus[k, j] = (lt - math.log(out_minus[k, j])) * scale


@njit(cache=True)
def _pointwise_serial(w, wt, total, p_target, parent, added, scale, out_plus, out_minus, r0):
    for k in range(out_plus.shape[0]):
        _redundancy_row(w, wt, total, p_target, parent, added, scale, out_plus, out_minus, k, r0 + k)


@njit(parallel=True, cache=True)
def _pointwise_parallel(w, wt, total, p_target, parent, added, scale, out_plus, out_minus, r0):
    for k in prange(out_plus.shape[0]):
        _redundancy_row(w, wt, total, p_target, parent, added, scale, out_plus, out_minus, k, r0 + k)


# Serial drivers for small problems (no thread wake-up cost), parallel over rows otherwise.
#: Work (inner iterations) below which the serial kernels are used.
_PARALLEL_MIN_WORK = 1 << 18


# --------------------------------------------------------------------------------------------------------------------
# the decomposition on a weighted support
# --------------------------------------------------------------------------------------------------------------------
def _agreement_from_marginals(support, weights, n_sources):
    """W and W_t from marginal masses: one grouping per source set, then the superset Möbius transform."""
    m = support.shape[0]
    n_masks = 1 << n_sources
    sizes = [int(support[:, i].max()) + 1 for i in range(n_sources + 1)]
    t_col = np.ascontiguousarray(support[:, n_sources])
    codes = [np.zeros(m, dtype=np.int64)] * n_masks
    ks = [1] * n_masks
    c = np.empty((m, n_masks))
    ct = np.empty((m, n_masks))
    for h in range(n_masks):
        if h:
            top = h.bit_length() - 1
            rest = h & ~(1 << top)
            col = np.ascontiguousarray(support[:, top])
            codes[h], ks[h] = _counting.joint_codes([codes[rest], col], [ks[rest], sizes[top]])
        c[:, h] = np.bincount(codes[h], weights=weights, minlength=ks[h])[codes[h]]
        tc, kt = _counting.joint_codes([codes[h], t_col], [ks[h], sizes[n_sources]])
        ct[:, h] = np.bincount(tc, weights=weights, minlength=kt)[tc]
    _superset_moebius(c)
    _superset_moebius(ct)
    np.maximum(c, 0.0, out=c)  # exact for counts; removes rounding below zero for float masses
    np.maximum(ct, 0.0, out=ct)
    return c, ct


class _Support:
    """Weighted support of (sources..., target) and everything the kernels need, computed once."""

    def __init__(self, support, weights, n_sources, base, exact_counts):
        self.lat = lattice(n_sources)
        self.n_sources = n_sources
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.total = float(self.weights.sum())
        support = np.ascontiguousarray(support, dtype=np.int64)
        if exact_counts or support.shape[0] > PAIR_MAX:
            self.w, self.wt = _agreement_from_marginals(support, self.weights, n_sources)
        else:
            m = support.shape[0]
            kernel = _pair_agreement_parallel if m * m * n_sources >= _PARALLEL_MIN_WORK else _pair_agreement_serial
            self.w, self.wt = kernel(support, self.weights, n_sources)
        self.p_target = np.ascontiguousarray(self.wt.sum(axis=1))  # mass of the same target value
        self.base = base
        self.scale = 1.0 / math.log(base)

    def redundancies(self, start, stop):
        n_atoms = self.lat.n_atoms
        plus = np.empty((stop - start, n_atoms))
        minus = np.empty((stop - start, n_atoms))
        work = (stop - start) * n_atoms
        kernel = _pointwise_parallel if work >= _PARALLEL_MIN_WORK else _pointwise_serial
        kernel(
            self.w,
            self.wt,
            self.total,
            self.p_target,
            self.lat._cover_parent,
            self.lat._cover_added,
            self.scale,
            plus,
            minus,
            start,
        )
        return plus, minus

    def chunks(self):
        m = self.w.shape[0]
        step = max(1, _CHUNK_CELLS // self.lat.n_atoms)
        for start in range(0, m, step):
            yield start, min(m, start + step)

    def average_redundancies(self):
        n_atoms = self.lat.n_atoms
        avg_plus = np.zeros(n_atoms)
        avg_minus = np.zeros(n_atoms)
        p = self.weights / self.total
        for start, stop in self.chunks():
            plus, minus = self.redundancies(start, stop)
            avg_plus += p[start:stop] @ plus
            avg_minus += p[start:stop] @ minus
        return avg_plus, avg_minus

    def local_atoms(self):
        """(π⁺, π⁻) per support point, shape (m, n_atoms) each."""
        m = self.w.shape[0]
        mob = self.lat.mobius
        out_plus = np.empty((m, self.lat.n_atoms))
        out_minus = np.empty((m, self.lat.n_atoms))
        for start, stop in self.chunks():
            plus, minus = self.redundancies(start, stop)
            out_plus[start:stop] = (mob @ plus.T).T  # R_local @ M.T
            out_minus[start:stop] = (mob @ minus.T).T
        return out_plus, out_minus

    def entropy_target(self):
        p = self.weights / self.total
        return float(-(p @ np.log(self.p_target / self.total)) * self.scale)


def _decompose(sup: _Support, rows=None, realisations=None) -> PIDResult:
    avg_plus, avg_minus = sup.average_redundancies()
    m_op = sup.lat.mobius
    informative = m_op @ avg_plus
    misinformative = m_op @ avg_minus
    values = informative - misinformative
    top = sup.lat.top
    mi = float(avg_plus[top] - avg_minus[top])

    cache: dict[str, np.ndarray] = {}

    def _locals(which):
        def compute():
            if "plus" not in cache:
                plus, minus = sup.local_atoms()
                cache["plus"], cache["minus"] = plus, minus
            if which == "net":
                arr = cache["plus"] - cache["minus"]
            else:
                arr = cache[which]
            return arr if rows is None else arr[rows]

        return compute

    return PIDResult(
        sup.lat.names,
        values,
        informative=informative,
        misinformative=misinformative,
        local=_locals("net"),
        local_informative=_locals("plus"),
        local_misinformative=_locals("minus"),
        mutual_information=mi,
        entropy_target=sup.entropy_target(),
        n_sources=sup.n_sources,
        base=sup.base,
        measure="sx",
        realisations=realisations,
    )


# --------------------------------------------------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------------------------------------------------
def _check_n_sources(n: int) -> None:
    if n < 2:
        raise ValueError(
            f"SxPID needs at least 2 sources, got {n}; for one source the whole information is "
            "pidlearn.discrete.mutual_information(target, source)"
        )
    if n > MAX_SOURCES:
        lattice(n)  # raises the ValueError that explains the lattice size


def _overlaps(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.size and b.size:
        try:
            return bool(np.shares_memory(a, b, max_work=10_000))
        except np.exceptions.TooHardError:  # pragma: no cover - exotic strides
            return False
    return False


def _split_sources(sources, target) -> list:
    """The sources as a list of per-source array-likes (each (n,) or (n, k))."""
    if sources is None:
        raise TypeError("sources is None; give a sequence of at least two arrays or a 2-D array (columns = sources)")
    if isinstance(sources, (list, tuple)):
        items = list(sources)
        if items and all(np.ndim(x) == 0 for x in items):
            raise ValueError(
                "sources is a flat sequence of labels, i.e. a single source; give a sequence of at least two arrays "
                "(one per source) or a 2-D array whose columns are the sources"
            )
    else:
        arr = np.asarray(sources)
        if arr.ndim == 1:
            raise ValueError(
                "sources is a 1-D array, i.e. a single source; SxPID needs at least 2 sources: give a sequence of "
                "arrays (one per source) or a 2-D array whose columns are the sources"
            )
        if arr.ndim != 2:
            raise ValueError(
                f"sources has shape {arr.shape}; give a 2-D array whose columns are the sources, or a sequence of "
                "per-source arrays (a source of shape (n_samples, k) is the joint of its k columns)"
            )
        items = [arr[:, j] for j in range(arr.shape[1])]
    _check_n_sources(len(items))
    t_arr = target if isinstance(target, np.ndarray) else None
    for i, x in enumerate(items):
        if x is target or (t_arr is not None and _overlaps(t_arr, np.asarray(x) if isinstance(x, np.ndarray) else x)):
            raise ValueError(
                f"source {i + 1} is the target itself (same array in memory); the target must not be among the "
                "sources. Pass the target once as `target` and only the other variables as `sources`"
            )
    if isinstance(sources, np.ndarray) and t_arr is not None and _overlaps(t_arr, sources):
        raise ValueError(
            "the target is a column of the sources array; pass the target once as `target` and only the other "
            "columns as `sources`"
        )
    return items


def _atom_values(codes, t_codes, n_sources: int, base: float) -> np.ndarray:
    """Average atoms of the plug-in SxPID of coded samples (no locals, no result object)."""
    support, counts, _ = _counting.joint_support([*codes, t_codes])
    sup = _Support(support, counts.astype(np.float64), n_sources, base, exact_counts=True)
    avg_plus, avg_minus = sup.average_redundancies()
    return sup.lat.mobius @ (avg_plus - avg_minus)


def atom_null_distribution(codes, t_codes, n_sources: int, base: float, n_permutations: int, seed) -> np.ndarray:
    """Atoms of ``n_permutations`` decompositions with the target shuffled, shape (n_permutations, n_atoms).

    The samples are encoded once; each permutation re-counts the joint support and decomposes it.
    """
    order, starts = strata(None, t_codes.shape[0])
    seeds = permutation_seeds(seed, n_permutations)
    null = np.empty((n_permutations, lattice(n_sources).n_atoms))
    for p, sd in enumerate(seeds):
        null[p] = _atom_values(codes, t_codes[permuted_index(order, starts, sd)], n_sources, base)
    return null


def sxpid(target, sources, *, base: float = 2, n_permutations: int = 0, seed=None) -> PIDResult:
    """Shared-exclusion PID of ``I(T; S_1..S_n)`` from samples (plug-in probabilities), n = 2..5 sources.

    Parameters
    ----------
    target : array-like, shape (n_samples,) or (n_samples, k)
        Discrete labels of the target (several columns form one joint variable).
    sources : sequence of array-likes, or 2-D array of shape (n_samples, n_sources)
        The sources: a list/tuple with one array per source (each (n_samples,) or (n_samples, k)), or an array
        whose columns are the sources. 2 to 5 sources.
    base : float, default 2
        Logarithm base (2: bits, ``math.e``: nats).
    n_permutations : int, default 0
        With ``n_permutations >= 1``, a permutation test of every atom: the target is shuffled against the (jointly
        kept) sources ``n_permutations`` times and ``result.p_values[α] = (1 + #{Π_perm(α) >= Π(α)}) /
        (1 + n_permutations)``. 0: no test (``result.p_values`` is None).
    seed : None, int or numpy.random.Generator
        Seed of the permutations (the same seed gives the same p-values; ``None``: fresh entropy).

    Returns
    -------
    PIDResult
        ``atoms``, ``informative`` (Π⁺), ``misinformative`` (Π⁻) over all antichains in lattice order; ``local``,
        ``local_informative``, ``local_misinformative`` of shape (n_samples, n_atoms) (computed on first access);
        ``mutual_information`` ``I(T; S_1..S_n)`` (the sum of the atoms) and ``entropy_target`` ``H(T)``;
        ``p_values`` and ``n_permutations`` with a permutation test.

    Warns
    -----
    pidlearn.significance.BiasWarning
        Fewer than 5 samples per occupied cell of the joint ``(S_1..S_n, T)``: the plug-in atoms are dominated by
        bias (``I(T;S)`` approaches ``H(T)`` whatever the dependence); the message quotes the numbers.

    Raises
    ------
    ValueError
        Fewer than 2 or more than 5 sources, mismatched lengths, empty input, NaN/inf, non-integer floats
        (continuous data: use :mod:`pidlearn.continuous`), the target among the sources.
    TypeError
        Unhashable or complex labels.

    Notes
    -----
    Pointwise redundancy of an antichain ``α`` at realisation ``(t, s)``, with events ``𝔞 = ∧_{i∈a} {S_i = s_i}``:

    .. math:: i_{sx}(t:α) = \\log \\frac{P(t, ∨_{a∈α} 𝔞)}{P(t) P(∨_{a∈α} 𝔞)} = i^+ - i^-,\\quad
              i^+ = -\\log P(∨_{a∈α} 𝔞),\\quad i^- = -\\log P(∨_{a∈α} 𝔞 \\mid t),

    with probabilities estimated by relative frequencies. Atoms ``π = M i`` (Möbius inversion over the lattice,
    separately for ``i⁺`` and ``i⁻``); average atoms weight realisations by their frequency. They satisfy
    ``Σ_α Π(α) = I(T; S)`` and ``Σ_{β≼{i}} Π(β) = I(T; S_i)``; they can be negative. Cost after numba's cache is warm:
    O(2^n (N + m n) + m n_atoms) for N samples with m distinct realisations.

    Permutation p-values are one-sided (upper): ``p(α)`` is small when ``Π(α)`` exceeds what the sources share
    with a target that is independent of them (same marginals). The null of a redundancy or synergy atom is not
    centred on 0 (plug-in bias, and atoms can be negative), which is why its p-value comes from the permuted
    decompositions and not from the sign of the atom. Each permutation re-counts the encoded samples and
    decomposes again: cost ``n_permutations`` times that of the averages (no local atoms).

    References
    ----------
    A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared
    information", Phys. Rev. E 103, 032149 (2021).
    B. Phipson and G. K. Smyth, "Permutation p-values should never be zero", Stat. Appl. Genet. Mol. Biol. 9, 39
    (2010).

    Examples
    --------
    >>> from pidlearn import sxpid
    >>> r = sxpid([0, 1, 1, 0], [[0, 0, 1, 1], [0, 1, 0, 1]])   # XOR of two fair bits
    >>> {k: round(v, 4) for k, v in r.atoms.items()}
    {'{1}{2}': -0.585, '{1}': 0.585, '{2}': 0.585, '{12}': 0.415}
    """
    base = check_base(base)
    items = _split_sources(sources, target)
    n_permutations = check_n_permutations(n_permutations, allow_zero=True, n_statistics=lattice(len(items)).n_atoms)
    t_codes, _ = as_discrete(target, "target")
    coded = [as_discrete(x, f"source {i + 1}") for i, x in enumerate(items)]
    codes = [c for c, _ in coded]
    check_same_length(target=t_codes, **{f"source {i + 1}": c for i, c in enumerate(codes)})
    support, counts, inverse = _counting.joint_support([*codes, t_codes])
    sup = _Support(support, counts.astype(np.float64), len(items), base, exact_counts=True)
    result = _decompose(sup, rows=inverse)
    possible = math.prod(k for _, k in coded) * (int(t_codes.max()) + 1)
    warn_if_undersampled(
        t_codes.shape[0], support.shape[0], possible, result.mutual_information * math.log2(base), what="I(T;S)"
    )
    if n_permutations:
        null = atom_null_distribution(codes, t_codes, len(items), base, n_permutations, seed)
        result._attach_p_values(p_values(null, result.values), n_permutations)
    return result


def _is_dit_distribution(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "dit" and hasattr(obj, "outcomes") and hasattr(obj, "pmf")


def _support_of_dit(dist):
    d = dist.copy(base="linear")
    outcomes = list(d.outcomes)
    probs = np.asarray(d.pmf, dtype=np.float64)
    n_vars = d.outcome_length()
    keep = probs > 0
    outcomes = [o for o, k in zip(outcomes, keep, strict=True) if k]
    weights = check_pmf(probs[keep], name="dit distribution pmf")
    values = np.empty((len(outcomes), n_vars), dtype=object)
    for r, o in enumerate(outcomes):
        for i in range(n_vars):
            values[r, i] = o[i]
    support = np.stack([as_discrete(values[:, i], f"variable {i}")[0] for i in range(n_vars)], axis=1)
    return support, weights, values


def sxpid_from_pmf(pmf, *, base: float = 2) -> PIDResult:
    """Shared-exclusion PID of a joint distribution given as a pmf array or a :class:`dit.Distribution`.

    Parameters
    ----------
    pmf : ndarray or dit.Distribution
        An array with one axis per variable, sources first and the **target on the last axis**
        (``pmf[s1, s2, ..., t]``), non-negative and summing to 1; or a ``dit.Distribution`` whose last variable is
        the target. 2 to 5 sources.
    base : float, default 2
        Logarithm base (2: bits).

    Returns
    -------
    PIDResult
        As :func:`sxpid`; ``local`` has one row per realisation with non-zero probability, and
        ``result.realisations`` (shape (m, n_sources + 1)) gives the realisation of each row: array indices for an
        ndarray pmf (C order), outcome values for a dit distribution.

    Notes
    -----
    The formulas are those of :func:`sxpid` with the given probabilities.

    References
    ----------
    A. Makkeh, A. J. Gutknecht and M. Wibral, Phys. Rev. E 103, 032149 (2021).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros((2, 2, 2)); p[0, 0, 0] = p[0, 1, 0] = p[1, 0, 0] = p[1, 1, 1] = 0.25   # AND
    >>> round(sxpid_from_pmf(p).redundancy, 6)
    0.122556
    """
    base = check_base(base)
    if _is_dit_distribution(pmf):
        support, weights, realisations = _support_of_dit(pmf)
        n_sources = support.shape[1] - 1
    else:
        p = check_pmf(pmf)
        n_sources = p.ndim - 1
        if n_sources < 1:
            raise ValueError(
                f"pmf has {p.ndim} axis; give one axis per variable: sources first, the target last "
                "(at least 3 axes for 2 sources)"
            )
        mask = p > 0
        support = np.argwhere(mask).astype(np.int64)
        weights = p[mask]
        realisations = support
    _check_n_sources(n_sources)
    sup = _Support(support, weights, n_sources, base, exact_counts=False)
    return _decompose(sup, rows=None, realisations=realisations)


# ``pidlearn.sxpid`` names this module once it is imported, so the module itself is callable: ``pidlearn.sxpid(t, s)``
# means :func:`sxpid` whether or not the submodule was imported first.
class _CallableModule(types.ModuleType):
    def __call__(self, target, sources, *, base: float = 2, n_permutations: int = 0, seed=None) -> PIDResult:
        return sxpid(target, sources, base=base, n_permutations=n_permutations, seed=seed)


_CallableModule.__call__.__doc__ = sxpid.__doc__
sys.modules[__name__].__class__ = _CallableModule
