"""The redundancy lattice of partial information decomposition: antichains, order, names, Möbius inversion.

This module is the only place in pidlearn that knows PID algebra. Discrete SxPID, continuous SxPID and the torch
atoms supply redundancies per antichain; the lattice turns them into atoms.

Definitions (Williams & Beer 2010; Gutknecht, Wibral & Makkeh 2021)
--------------------------------------------------------------------
Sources are numbered ``1..n``. A *source set* ``a`` is a non-empty subset of ``{1..n}``; an *antichain* ``α`` is a
non-empty set of source sets none of which contains another. The redundancy lattice orders antichains by

    β ≼ α  ⇔  every a ∈ α contains some b ∈ β.

Each antichain ``α`` is identified with its *up-set* ``↑α = {g ⊆ {1..n} : g ⊇ a for some a ∈ α}`` (a set of
source sets); ``β ≼ α ⇔ ↑α ⊆ ↑β``. The lattice is therefore the (distributive) lattice of non-empty up-sets of the
non-empty source sets under reverse inclusion, which gives its size (Dedekind number minus 2: 4, 18, 166, 7579 for
n = 2..5), its rank function ``rank(α) = (2^n - 1) - |↑α|`` and its Möbius function in closed form
(Stanley, *Enumerative Combinatorics* I, ex. 3.9.6):

    μ(β, α) = (-1)^{|↑β \\ ↑α|}  if ↑β \\ ↑α is a set of pairwise incomparable source sets (then ⊆ β), else 0.

Pointwise redundancies ``r(α) = Σ_{β ≼ α} π(β)`` are inverted by ``π(α) = Σ_{β ≼ α} μ(β, α) r(β)``, i.e. by the
sparse matrix ``M[α, β] = μ(β, α)``: ``atoms = M @ redundancies`` and, for one row of redundancies per
realisation, ``local_atoms = R_local @ M.T``.

Representation
--------------
* A source set is a sorted tuple of 1-based ints, e.g. ``(1, 3)``; its *bitmask* has bit ``i - 1`` set for source
  ``i``.
* An antichain is a tuple of source sets ordered by size and then lexicographically, e.g. ``((3,), (1, 2))``.
* Its canonical name writes each set in braces, digits increasing, sets in the same order: ``{3}{12}``.
* **Lattice order** (the order of ``antichains``, ``names`` and of every atom vector in pidlearn): by rank from the
  bottom ``{1}{2}...{n}`` (rank 0) to the top ``{12...n}``, ties broken by the sets' (size, elements) sequence.
  It is a linear extension of ≼, so the zeta and Möbius matrices are lower triangular in it. For two sources:
  ``{1}{2}, {1}, {2}, {12}`` — redundancy, unique 1, unique 2, synergy.

References
----------
P. L. Williams and R. D. Beer, "Nonnegative decomposition of multivariate information", arXiv:1004.2515 (2010).
A. J. Gutknecht, M. Wibral and A. Makkeh, "Bits and pieces: understanding information decomposition from
part-whole relationships and formal logic", Proc. R. Soc. A 477, 20210110 (2021).
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021).
"""

from __future__ import annotations

import functools
import numbers
import re
from functools import cached_property

import numpy as np
import scipy.sparse as sp

__all__ = ["MAX_SOURCES", "Lattice", "UnknownAtomError", "antichain_name", "lattice", "parse_name"]

#: Largest number of sources with a lattice (n = 6 would have 7,828,352 antichains).
MAX_SOURCES = 5

_DEDEKIND_MINUS_2 = {1: 1, 2: 4, 3: 18, 4: 166, 5: 7579, 6: 7828352}
_NAME_RE = re.compile(r"(\{[1-9]+\})+")


class UnknownAtomError(ValueError, KeyError):
    """An atom name that is not in the lattice: a ``ValueError`` (and, for older callers, a ``KeyError``)."""

    __str__ = ValueError.__str__  # KeyError's str() would quote the message


def _set_key(s: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    return (len(s), s)


def _mask_to_set(mask: int) -> tuple[int, ...]:
    return tuple(i + 1 for i in range(mask.bit_length()) if mask >> i & 1)


def _canonical(antichain) -> tuple[tuple[int, ...], ...]:
    """Validate an iterable of source sets and return it as a canonical antichain (sets sorted by size, then lex)."""
    if isinstance(antichain, str):
        return parse_name(antichain)
    try:
        sets = [tuple(sorted({int(i) for i in a})) for a in antichain]
    except TypeError:
        raise TypeError(
            f"an antichain is an iterable of source sets (iterables of 1-based source numbers), got {antichain!r}"
        ) from None
    if not sets:
        raise ValueError("an antichain needs at least one source set")
    for s in sets:
        if not s:
            raise ValueError(f"source sets must be non-empty, got {antichain!r}")
        if s[0] < 1:
            raise ValueError(f"sources are numbered from 1, got {antichain!r}")
    if len(set(sets)) != len(sets):
        raise ValueError(f"{antichain!r} lists a source set twice")
    uniq = sorted(sets, key=_set_key)
    for i, a in enumerate(uniq):
        for b in uniq[i + 1 :]:
            if set(a) <= set(b):
                raise ValueError(f"{antichain!r} is not an antichain: source set {set(a)} is contained in {set(b)}")
    return tuple(uniq)


def antichain_name(antichain) -> str:
    """Canonical name of an antichain, e.g. ``((3,), (1, 2)) -> "{3}{12}"``.

    Parameters
    ----------
    antichain : iterable of iterables of int
        Source sets with 1-based source numbers, in any order.

    Raises
    ------
    ValueError
        If a set is empty, a source number is < 1, or one set contains another.
    """
    sets = _canonical(antichain)
    if any(i > 9 for s in sets for i in s):
        raise ValueError("canonical names write one digit per source; source numbers must be <= 9")
    return "".join("{" + "".join(str(i) for i in s) + "}" for s in sets)


def parse_name(name: str) -> tuple[tuple[int, ...], ...]:
    """Antichain of a name such as ``"{1}{23}"``: ``((1,), (2, 3))`` (canonical order, whatever the input order).

    Raises
    ------
    ValueError
        If the string is not a sequence of ``{digits}`` groups or does not describe an antichain.
    """
    if not isinstance(name, str):
        raise TypeError(f"an antichain name is a string like '{{1}}{{23}}', got {type(name).__name__}")
    compact = name.replace(" ", "")
    if not _NAME_RE.fullmatch(compact):
        raise ValueError(
            f"{name!r} is not an antichain name; write each source set in braces with 1-based digits, "
            "e.g. '{1}{23}'"
        )
    groups = re.findall(r"\{([1-9]+)\}", compact)
    sets = []
    for g in groups:
        digits = [int(c) for c in g]
        if len(set(digits)) != len(digits):
            raise ValueError(f"{name!r}: source set {{{g}}} repeats a source")
        sets.append(digits)
    return _canonical(sets)


class Lattice:
    """The redundancy lattice of ``n`` sources (build it with :func:`lattice`, which caches one per ``n``).

    Attributes
    ----------
    n : int
        Number of sources.
    antichains : tuple of tuple of tuple of int
        All antichains in lattice order (bottom ``{1}{2}..{n}`` first, top ``{12..n}`` last).
    names : tuple of str
        Their canonical names, same order.
    rank : ndarray of int64, shape (n_atoms,)
        Level of each antichain above the bottom, ``(2^n - 1) - |↑α|``; non-decreasing in lattice order.
    upsets : ndarray of uint64, shape (n_atoms,)
        ``↑α`` as a bitmask over source-set bitmasks: bit ``g`` is set iff the sources in bitmask ``g`` include
        some set of ``α``. So a realisation pair that agrees exactly on the sources in ``g`` satisfies the
        disjunction of ``α`` iff ``upsets[α] >> g & 1``.
    mobius : scipy.sparse.csr_matrix of float64, shape (n_atoms, n_atoms)
        ``M[α, β] = μ(β, α)``: ``atoms = M @ redundancies``; ``local = R_local @ M.T``. Lower triangular.
    leq : ndarray of bool, shape (n_atoms, n_atoms)
        Dense order matrix, ``leq[i, j]`` is True iff ``antichains[j] ≼ antichains[i]`` (row = the upper
        element). Computed on first access (57 MB for n = 5); for one element use :meth:`down_set`.
    """

    def __init__(self, n: int):
        n_sets = (1 << n) - 1
        subsets = sorted(range(1, n_sets + 1), key=lambda s: _set_key(_mask_to_set(s)))
        # up-set of each single source set: all g that contain it
        sup = [0] * (n_sets + 1)
        for s in range(1, n_sets + 1):
            bits = 0
            for g in range(1, n_sets + 1):
                if g & s == s:
                    bits |= 1 << g
            sup[s] = bits

        found: list[tuple[int, ...]] = []

        def extend(start: int, chosen: list[int]) -> None:
            for k in range(start, len(subsets)):
                s = subsets[k]
                if all((s & c) != c and (s & c) != s for c in chosen):
                    chosen.append(s)
                    found.append(tuple(chosen))
                    extend(k + 1, chosen)
                    chosen.pop()

        extend(0, [])
        as_set = [()] + [_mask_to_set(s) for s in range(1, n_sets + 1)]
        set_key = [(len(t), t) for t in as_set]
        set_text = ["{" + "".join(str(i) for i in t) + "}" for t in as_set]
        ups = []
        for masks in found:
            u = 0
            for s in masks:
                u |= sup[s]
            ups.append(u)
        keyed = sorted(
            zip(found, ups, strict=True),
            key=lambda fu: (n_sets - fu[1].bit_count(), [set_key[s] for s in fu[0]]),
        )
        self.n = n
        self._set_masks = tuple(masks for masks, _ in keyed)
        self.antichains = tuple(tuple(as_set[s] for s in masks) for masks in self._set_masks)
        self.names = tuple("".join(set_text[s] for s in masks) for masks in self._set_masks)
        ups_sorted = [u for _, u in keyed]
        self.upsets = np.array(ups_sorted, dtype=np.uint64)
        self.rank = np.array([n_sets - u.bit_count() for u in ups_sorted], dtype=np.int64)
        self._index = {name: i for i, name in enumerate(self.names)}
        by_upset = {u: i for i, u in enumerate(ups_sorted)}
        size = len(self.names)

        # Möbius matrix from the closed form: μ(β, α) = (-1)^|S| for ↑α = ↑β minus a subset S of β's sets.
        # All subsets S of β's sets are enumerated at once for the antichains with the same number k of sets.
        order = np.argsort(self.upsets, kind="stable")
        sorted_ups = self.upsets[order]
        n_sets_of = np.array([len(m) for m in self._set_masks])
        rows, cols, vals = [], [], []
        for k in np.unique(n_sets_of):
            idx = np.flatnonzero(n_sets_of == k)
            bits = np.array([[1 << s for s in self._set_masks[j]] for j in idx], dtype=np.uint64)
            sel = (np.arange(1 << k)[:, None] >> np.arange(k)[None, :]) & 1  # (2^k, k)
            removed = (bits[:, None, :] * sel[None, :, :].astype(np.uint64)).sum(axis=2, dtype=np.uint64)
            rest = self.upsets[idx][:, None] & ~removed
            sign = np.where(sel.sum(axis=1) % 2 == 1, -1.0, 1.0)
            keep = rest != 0
            rows.append(rest[keep])
            vals.append(np.broadcast_to(sign, rest.shape)[keep])
            cols.append(np.broadcast_to(idx[:, None], rest.shape)[keep])
        rest = np.concatenate(rows)
        pos = np.searchsorted(sorted_ups, rest)
        if not np.array_equal(sorted_ups[pos], rest):  # pragma: no cover - would be a bug in the construction
            raise AssertionError("Möbius construction left the lattice")
        self.mobius = sp.csr_matrix(
            (np.concatenate(vals), (order[pos], np.concatenate(cols))), shape=(size, size), dtype=np.float64
        )
        self.mobius.sort_indices()

        # A spanning tree of upper covers, for incremental evaluation of disjunction probabilities:
        # ↑β = ↑parent(β) ∪ {added(β)}, so P_β = P_parent + W[added]. The top has no parent (-1) and adds {1..n}.
        parent = np.full(size, -1, dtype=np.int64)
        added = np.empty(size, dtype=np.int64)
        for j, (masks, u) in enumerate(zip(self._set_masks, ups_sorted, strict=True)):
            last = masks[-1]
            rest = u & ~(1 << last)
            added[j] = last
            if rest:
                parent[j] = by_upset[rest]
        self._cover_parent = parent
        self._cover_added = added
        for arr in (self.upsets, self.rank, self._cover_parent, self._cover_added):
            arr.setflags(write=False)

    # ----------------------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Lattice(n={self.n}, n_atoms={len(self)})"

    @property
    def n_atoms(self) -> int:
        """Number of antichains (= atoms)."""
        return len(self.names)

    @property
    def bottom(self) -> int:
        """Index of the bottom ``{1}{2}..{n}`` (full redundancy): 0."""
        return 0

    @property
    def top(self) -> int:
        """Index of the top ``{12..n}`` (full synergy): the last."""
        return len(self.names) - 1

    def index(self, name) -> int:
        """Position of an antichain (name like ``"{1}{23}"`` in any set order, or tuple of source sets)."""
        if isinstance(name, str) and name in self._index:
            return self._index[name]
        key = antichain_name(name)
        try:
            return self._index[key]
        except KeyError:
            raise UnknownAtomError(
                f"name {name!r} is not an atom (antichain) of the {self.n}-source lattice; valid atoms are "
                f"{', '.join(self.names)}"
            ) from None

    def down_set(self, name, *, strict: bool = False) -> np.ndarray:
        """Indices of all ``β ≼ α`` (``β ≺ α`` with ``strict=True``), in lattice order."""
        i = self.index(name)
        below = (self.upsets[i] & ~self.upsets) == 0
        if strict:
            below[i] = False
        return np.flatnonzero(below)

    def up_set(self, name, *, strict: bool = False) -> np.ndarray:
        """Indices of all ``β ≽ α`` (``β ≻ α`` with ``strict=True``), in lattice order."""
        i = self.index(name)
        above = (self.upsets & ~self.upsets[i]) == 0
        if strict:
            above[i] = False
        return np.flatnonzero(above)

    @cached_property
    def leq(self) -> np.ndarray:
        u = self.upsets
        out = (u[:, None] & ~u[None, :]) == 0
        out.setflags(write=False)
        return out

    @cached_property
    def zeta(self) -> sp.csr_matrix:
        """Sparse zeta matrix ``Z[α, β] = 1`` iff ``β ≼ α`` (so ``redundancies = Z @ atoms``; ``Z = M⁻¹``)."""
        rows, cols = np.nonzero(self.leq)
        return sp.csr_matrix(
            (np.ones(rows.shape[0]), (rows, cols)), shape=(self.n_atoms, self.n_atoms), dtype=np.float64
        )

    @cached_property
    def covers(self) -> tuple[tuple[int, int], ...]:
        """Cover relations ``(lower, upper)`` of the Hasse diagram: ``↑upper = ↑lower`` minus one source set."""
        by_upset = {int(u): i for i, u in enumerate(self.upsets)}
        out = []
        for j, masks in enumerate(self._set_masks):
            u = int(self.upsets[j])
            for s in masks:
                rest = u & ~(1 << s)
                if rest:
                    out.append((j, by_upset[rest]))
        return tuple(sorted(out))

    def source_masks(self, name) -> tuple[int, ...]:
        """Source sets of an antichain as bitmasks (bit ``i - 1`` for source ``i``)."""
        return self._set_masks[self.index(name)]


@functools.cache
def _lattice(n: int) -> Lattice:
    return Lattice(n)


def lattice(n: int) -> Lattice:
    """The redundancy lattice of ``n`` sources, built once per ``n`` and cached.

    Parameters
    ----------
    n : int
        Number of sources, ``1 <= n <= 5`` (1, 4, 18, 166 and 7579 antichains for n = 1..5).

    Returns
    -------
    Lattice

    Raises
    ------
    ValueError
        For ``n < 1`` or ``n > 5``: the 6-source lattice has 7,828,352 antichains and its Möbius matrix does not fit
        in memory.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"the number of sources must be an int, got {n!r}")
    n = int(n)
    if n < 1:
        raise ValueError(f"a lattice needs at least one source, got n={n}")
    if n > MAX_SOURCES:
        count = _DEDEKIND_MINUS_2.get(n)
        size = f"{count:,} antichains" if count else "more antichains than fit in memory"
        raise ValueError(
            f"PID for {n} sources is not supported: the redundancy lattice has {size}. pidlearn supports at most "
            f"{MAX_SOURCES} sources; group sources into joint variables (a 2-D column block counts as one source)"
        )
    return _lattice(n)
