"""Slow, obviously correct SxPID from a pmf (pure Python: itertools, math), independent of pidlearn's kernels.

The lattice is found by brute force over all families of source sets, the order by its definition, the Möbius
inversion by the recursion ``π(α) = r(α) - Σ_{β≺α} π(β)``, and every probability of a disjunction by summing over
the realisations that satisfy it. Only for up to 4 sources (the brute force over families of 15 sets).
"""

from __future__ import annotations

import itertools
import math


def antichains(n: int) -> list[tuple[frozenset, ...]]:
    """All antichains of non-empty subsets of {1..n}, by brute force over all families of subsets."""
    sets = [frozenset(c) for k in range(1, n + 1) for c in itertools.combinations(range(1, n + 1), k)]
    out = []
    for k in range(1, len(sets) + 1):
        for fam in itertools.combinations(sets, k):
            if all(not (a <= b or b <= a) for a, b in itertools.combinations(fam, 2)):
                out.append(fam)
    return out


def leq(beta, alpha) -> bool:
    """β ≼ α  ⇔  every a ∈ α contains some b ∈ β."""
    return all(any(b <= a for b in beta) for a in alpha)


def name(alpha) -> str:
    sets = sorted((tuple(sorted(a)) for a in alpha), key=lambda s: (len(s), s))
    return "".join("{" + "".join(map(str, s)) + "}" for s in sets)


def moebius(values: dict, order: dict) -> dict:
    """π from r: π(α) = r(α) - Σ_{β ≺ α} π(β), processing antichains with fewer predecessors first."""
    pis = {}
    for alpha in sorted(values, key=lambda a: len(order[a])):
        pis[alpha] = values[alpha] - sum(pis[b] for b in order[alpha])
    return pis


def strict_down_sets(chains) -> dict:
    return {a: [b for b in chains if b != a and leq(b, a)] for a in chains}


def sxpid(pmf: dict, n_sources: int, base: float = 2.0):
    """SxPID of ``pmf``: {(s_1, ..., s_n, t): probability}.

    Returns
    -------
    average : dict name -> (π⁺, π⁻, π)
    local : dict realisation -> {name: (π⁺, π⁻, π)}
    """
    chains = antichains(n_sources)
    order = strict_down_sets(chains)
    support = [(r, p) for r, p in pmf.items() if p > 0]
    log = lambda x: math.log(x) / math.log(base)  # noqa: E731

    def satisfies(q, r, alpha):
        return any(all(q[i - 1] == r[i - 1] for i in a) for a in alpha)

    average = {name(a): [0.0, 0.0, 0.0] for a in chains}
    local = {}
    for r, pr in support:
        t = r[-1]
        p_t = sum(p for q, p in support if q[-1] == t)
        i_plus, i_minus = {}, {}
        for alpha in chains:
            p_or = sum(p for q, p in support if satisfies(q, r, alpha))
            p_t_or = sum(p for q, p in support if q[-1] == t and satisfies(q, r, alpha))
            i_plus[alpha] = -log(p_or)
            i_minus[alpha] = -log(p_t_or / p_t)
        pi_plus = moebius(i_plus, order)
        pi_minus = moebius(i_minus, order)
        local[r] = {name(a): (pi_plus[a], pi_minus[a], pi_plus[a] - pi_minus[a]) for a in chains}
        for a in chains:
            acc = average[name(a)]
            acc[0] += pr * pi_plus[a]
            acc[1] += pr * pi_minus[a]
            acc[2] += pr * (pi_plus[a] - pi_minus[a])
    return {k: tuple(v) for k, v in average.items()}, local


def empirical_pmf(target, sources) -> dict:
    """Relative frequencies of the rows (s_1, ..., s_n, t) of samples."""
    n = len(target)
    pmf: dict = {}
    for j in range(n):
        key = (*(s[j] for s in sources), target[j])
        pmf[key] = pmf.get(key, 0.0) + 1.0 / n
    return pmf
