"""The result of a partial information decomposition: atoms, their informative/misinformative parts, local atoms.

Every PID in pidlearn (discrete SxPID, continuous SxPID, the measures delegated to dit) returns a :class:`PIDResult`,
so results of different measures and estimators are compared with the same code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PIDResult", "PermutationTestResult"]


@dataclass(frozen=True, repr=False)
class PermutationTestResult:
    """Result of a permutation test of ``I(X;Y) = 0`` (or ``I(X;Y|Z) = 0``).

    Returned by :func:`pidlearn.discrete.permutation_test` and :func:`pidlearn.continuous.permutation_test`.

    Attributes
    ----------
    statistic : float
        The observed (conditional) mutual information, in units of ``base``.
    p_value : float
        ``(1 + #{null >= statistic}) / (1 + n_permutations)`` (Phipson & Smyth 2010), one-sided.
    null_distribution : ndarray of shape (n_permutations,)
        The statistic under each permutation.

    Examples
    --------
    >>> from pidlearn.discrete import permutation_test
    >>> permutation_test([0, 1] * 50, [0, 1] * 50, n_permutations=99, seed=0)
    PermutationTestResult(statistic=1, p_value=0.01, n_permutations=99)
    """

    statistic: float
    p_value: float
    null_distribution: np.ndarray = field(repr=False)

    @property
    def n_permutations(self) -> int:
        """Number of permutations."""
        return int(self.null_distribution.shape[0])

    def __repr__(self) -> str:
        return (
            f"PermutationTestResult(statistic={self.statistic:.6g}, p_value={self.p_value:.4g}, "
            f"n_permutations={self.n_permutations})"
        )

    def __str__(self) -> str:
        return f"statistic = {self.statistic:.6g}, p = {self.p_value:.4g} ({self.n_permutations} permutations)"


def _unit(base: float) -> str:
    if base == 2:
        return "bits"
    if math.isclose(base, math.e):
        return "nats"
    if base == 10:
        return "hartleys"
    return f"log{base:g} units"


def _vector(values, n: int, what: str) -> np.ndarray:
    arr = np.array(values, dtype=np.float64).reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0]} entries but there are {n} atom names")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{what} contains a non-finite value at position {bad}; a PID atom must be a finite number")
    arr.setflags(write=False)
    return arr


class PIDResult:
    """Atoms of a partial information decomposition of ``I(T; S_1..S_n)``.

    Parameters
    ----------
    atom_names : sequence of str
        Canonical antichain names (see :mod:`pidlearn.lattice`), in lattice order.
    values : array-like of float, shape (n_atoms,)
        Average atoms Π(α), in units of ``log(base)``.
    informative, misinformative : array-like of float, shape (n_atoms,), optional
        Π⁺(α) and Π⁻(α) (SxPID only), with ``values = informative - misinformative``.
    local, local_informative, local_misinformative : ndarray of shape (n_samples, n_atoms), or callable, optional
        Local (per-sample) atoms π(t_j, s_j : α). A zero-argument callable is evaluated on first access and its
        result kept (large lattices: 7579 atoms per sample for five sources).
    mutual_information : float
        ``I(T; S_1..S_n)``, the sum of the atoms.
    entropy_target : float, optional
        ``H(T)``; needed for :attr:`residual_entropy`.
    n_sources : int
    base : float
        Logarithm base of all values (2: bits).
    measure : str
        Name of the redundancy measure (``"sx"``, ``"imin"``, ...).
    realisations : ndarray of shape (n_rows, n_vars), optional
        For a decomposition of a pmf: the realisation (sources..., target) of each row of the local atoms.
    p_values : array-like of float, shape (n_atoms,), optional
        Permutation p-value of each atom, ``(1 + #{Π_null(α) >= Π(α)}) / (1 + n_permutations)`` (one-sided, upper;
        the target shuffled against the jointly kept sources). Give ``n_permutations`` with it.
    n_permutations : int, optional
        Number of permutations behind ``p_values``.

    Examples
    --------
    >>> from pidlearn import sxpid
    >>> r = sxpid([0, 1, 1, 0], [[0, 0, 1, 1], [0, 1, 0, 1]])  # XOR of two fair bits
    >>> round(r.synergy, 4), round(r.redundancy, 4)
    (0.415, -0.585)
    """

    def __init__(
        self,
        atom_names: Sequence[str],
        values,
        *,
        informative=None,
        misinformative=None,
        local=None,
        local_informative=None,
        local_misinformative=None,
        mutual_information: float,
        entropy_target: float | None = None,
        n_sources: int,
        base: float = 2.0,
        measure: str = "sx",
        realisations=None,
        p_values=None,
        n_permutations: int | None = None,
    ):
        names = tuple(str(s) for s in atom_names)
        if not names:
            raise ValueError("a PID result needs at least one atom")
        if len(set(names)) != len(names):
            raise ValueError("atom names must be unique")
        n = len(names)
        self._names = names
        self._values = _vector(values, n, "values")
        self._informative = None if informative is None else _vector(informative, n, "informative")
        self._misinformative = None if misinformative is None else _vector(misinformative, n, "misinformative")
        self._local_src = {
            "local": local,
            "local_informative": local_informative,
            "local_misinformative": local_misinformative,
        }
        self._local_cache: dict[str, np.ndarray] = {}
        self._named_cache: dict[str, dict[str, float]] = {}
        self._index = {name: i for i, name in enumerate(names)}
        mi = float(mutual_information)
        if not math.isfinite(mi):
            raise ValueError("mutual_information must be finite")
        self._mi = mi
        if entropy_target is not None:
            entropy_target = float(entropy_target)
            if not math.isfinite(entropy_target):
                raise ValueError("entropy_target must be finite")
        self._h_target = entropy_target
        self.n_sources = int(n_sources)
        self.base = float(base)
        self.measure = str(measure)
        self.realisations = realisations
        self._p_values = None
        self.n_permutations = None
        if p_values is not None:
            self._attach_p_values(p_values, n_permutations)

    def _attach_p_values(self, p_values, n_permutations) -> None:
        """Set the atom p-values (used by the permutation tests that decorate an existing result)."""
        p = _vector(p_values, len(self._names), "p_values")
        if np.any((p <= 0) | (p > 1)):
            raise ValueError("p_values must lie in (0, 1]")
        if n_permutations is None or int(n_permutations) < 1:
            raise ValueError("p_values need n_permutations >= 1")
        self._p_values = p
        self.n_permutations = int(n_permutations)
        self._named_cache.pop("p_values", None)

    # ----------------------------------------------------------------------------------------------------------------
    # atoms
    @property
    def atom_names(self) -> tuple[str, ...]:
        """Names of the atoms, in lattice order."""
        return self._names

    @property
    def values(self) -> np.ndarray:
        """Average atoms as a read-only array, in the order of :attr:`atom_names`."""
        return self._values

    def _named(self, key: str, values) -> dict[str, float] | None:
        """``{name: value}``: built once per result, handed out as a copy (cheap in loops, safe to modify)."""
        if values is None:
            return None
        if key not in self._named_cache:
            self._named_cache[key] = dict(zip(self._names, values.tolist(), strict=True))
        return self._named_cache[key].copy()

    @property
    def atoms(self) -> dict[str, float]:
        """Average atoms Π(α), ``{name: value}`` in lattice order."""
        return self._named("atoms", self._values)

    @property
    def informative(self) -> dict[str, float] | None:
        """Informative parts Π⁺(α) (SxPID), or None when the measure has no such split."""
        return self._named("informative", self._informative)

    @property
    def misinformative(self) -> dict[str, float] | None:
        """Misinformative parts Π⁻(α) (SxPID), or None when the measure has no such split."""
        return self._named("misinformative", self._misinformative)

    @property
    def p_values(self) -> dict[str, float] | None:
        """Permutation p-value of each atom, ``{name: p}`` in lattice order, or None without a permutation test.

        ``p(α) = (1 + #{Π_perm(α) >= Π(α)}) / (1 + n_permutations)`` (Phipson & Smyth 2010): one-sided, small when
        the observed atom is larger than the atoms of data whose target was shuffled against the sources. Atoms can be
        negative (misinformative redundancy); a large p for a negative atom means it is not *larger* than chance, not
        that it is significantly negative (for that, ``1 - p`` is the lower-tail p-value up to ties).
        """
        return self._named("p_values", self._p_values)

    def _local(self, key: str) -> np.ndarray | None:
        if key in self._local_cache:
            return self._local_cache[key]
        src = self._local_src[key]
        if src is None:
            return None
        arr = src() if callable(src) else src
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(self._names):
            raise ValueError(f"{key} must have shape (n_samples, {len(self._names)}), got {arr.shape}")
        arr.setflags(write=False)
        self._local_cache[key] = arr
        self._local_src[key] = None
        return arr

    @property
    def local(self) -> np.ndarray | None:
        """Local atoms, shape (n_samples, n_atoms), columns in the order of :attr:`atom_names`; None if absent."""
        return self._local("local")

    @property
    def local_informative(self) -> np.ndarray | None:
        """Local informative atoms π⁺, shape (n_samples, n_atoms), or None."""
        return self._local("local_informative")

    @property
    def local_misinformative(self) -> np.ndarray | None:
        """Local misinformative atoms π⁻, shape (n_samples, n_atoms), or None."""
        return self._local("local_misinformative")

    def _key(self, name) -> str:
        if isinstance(name, str) and name in self._names:
            return name
        from pidlearn.lattice import antichain_name

        key = antichain_name(name)
        if key not in self._names:
            raise KeyError(f"{name!r} is not an atom of this {self.n_sources}-source decomposition")
        return key

    def __getitem__(self, name) -> float:
        """Average atom of an antichain given by name (any set order) or as a tuple of source sets."""
        return float(self._values[self._index[self._key(name)]])

    def __len__(self) -> int:
        return len(self._names)

    # ----------------------------------------------------------------------------------------------------------------
    # shortcuts
    @property
    def redundancy(self) -> float:
        """The bottom atom ``{1}{2}..{n}``: information shared by all sources."""
        return self["".join("{" + str(i) + "}" for i in range(1, self.n_sources + 1))]

    def unique(self, i: int) -> float:
        """The atom ``{i}``: information only source ``i`` (1-based) carries."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 1 <= int(i) <= self.n_sources:
            raise ValueError(f"source number must be an int in 1..{self.n_sources} (1-based), got {i!r}")
        return self["{" + str(int(i)) + "}"]

    @property
    def synergy(self) -> float:
        """The atom ``{12}`` of a two-source decomposition (information only the sources together carry)."""
        if self.n_sources != 2:
            top = "{" + "".join(str(i) for i in range(1, self.n_sources + 1)) + "}"
            raise ValueError(
                f".synergy is defined for two sources; this decomposition has {self.n_sources}. "
                f"Read the atom you mean from .atoms, e.g. result.atoms['{top}'] for the full synergy"
            )
        return self["{12}"]

    @property
    def mutual_information(self) -> float:
        """``I(T; S_1..S_n)``."""
        return self._mi

    @property
    def entropy_target(self) -> float | None:
        """``H(T)``, or None if it was not computed."""
        return self._h_target

    @property
    def residual_entropy(self) -> float | None:
        """``H(T) - I(T; S_1..S_n)``: what no source explains (None if ``H(T)`` was not computed)."""
        if self._h_target is None:
            return None
        return self._h_target - self._mi

    @property
    def unit(self) -> str:
        """``"bits"`` for base 2, ``"nats"`` for base e."""
        return _unit(self.base)

    # ----------------------------------------------------------------------------------------------------------------
    # output
    def to_dict(self, *, local: bool = False) -> dict:
        """JSON-serialisable summary (plain floats, lists and dicts); local atoms only with ``local=True``."""
        out = {
            "measure": self.measure,
            "n_sources": self.n_sources,
            "base": self.base,
            "unit": self.unit,
            "mutual_information": self._mi,
            "entropy_target": self._h_target,
            "residual_entropy": self.residual_entropy,
            "atoms": self.atoms,
            "informative": self.informative,
            "misinformative": self.misinformative,
            "p_values": self.p_values,
            "n_permutations": self.n_permutations,
        }
        if local:
            loc = self.local
            out["local"] = None if loc is None else loc.tolist()
        return out

    def table(self, *, digits: int = 6, max_rows: int | None = None) -> str:
        """The atoms as a text table (name, Π, Π⁺ / Π⁻ and the permutation p-value when present), in lattice order.

        ``max_rows`` keeps the rows with the largest ``|Π|`` (useful for 4 and 5 sources).
        """
        idx = np.arange(len(self._names))
        if max_rows is not None and max_rows < len(idx):
            idx = np.sort(np.argsort(-np.abs(self._values), kind="stable")[:max_rows])
        width = max(len("atom"), *(len(self._names[i]) for i in idx))
        num = digits + 8
        cols = ["atom".ljust(width), "pi".rjust(num)]
        has_split = self._informative is not None and self._misinformative is not None
        if has_split:
            cols += ["pi+".rjust(num), "pi-".rjust(num)]
        has_p = self._p_values is not None
        if has_p:
            cols.append("p".rjust(8))
        lines = ["  ".join(cols)]
        for i in idx:
            row = [self._names[i].ljust(width), f"{self._values[i]:{num}.{digits}f}"]
            if has_split:
                row += [f"{self._informative[i]:{num}.{digits}f}", f"{self._misinformative[i]:{num}.{digits}f}"]
            if has_p:
                row.append(f"{self._p_values[i]:8.4f}")
            lines.append("  ".join(row))
        if len(idx) < len(self._names):
            lines.append(f"... {len(self._names) - len(idx)} smaller atoms not shown")
        lines.append(f"I(T;S) = {self._mi:.{digits}f} {self.unit}")
        if self._h_target is not None:
            residual = round(self.residual_entropy, digits) + 0.0  # no "-0.0000" for a rounding-level residual
            lines.append(f"H(T) = {self._h_target:.{digits}f}, residual H(T) - I = {residual:.{digits}f}")
        if has_p:
            lines.append(f"p: one-sided permutation p-values, {self.n_permutations} permutations of the target")
        return "\n".join(lines)

    def __repr__(self) -> str:
        head = f"PIDResult(measure={self.measure!r}, n_sources={self.n_sources}, unit={self.unit!r})"
        return head + "\n" + self.table(digits=4, max_rows=20)

    def plot(self, ax=None, *, max_bars: int = 40, kind: str = "atoms", source_names=None, **kwargs):
        """Draw the atoms (needs matplotlib): :func:`pidlearn.plotting.plot_lattice`.

        Up to three sources, the Hasse diagram of the redundancy lattice with one node per atom coloured by its value
        (a colour bar; labels give the antichain and the value); ``kind="plus_minus"`` draws Π⁺ and Π⁻ side by side.
        Four and five sources: the bar chart of the ``max_bars`` largest ``|Π|`` (:func:`pidlearn.plotting.plot_atoms`).
        ``source_names`` labels the sources with the data's names; other keywords go to the plot function.

        Parameters
        ----------
        ax : matplotlib Axes, or a sequence of two Axes for ``kind="plus_minus"``, optional
            Where to draw; a new figure sized to the diagram when omitted.
        max_bars : int, default 40
            Four and more sources: the number of largest atoms drawn.
        kind : {"atoms", "plus_minus"}, default "atoms"
        source_names : sequence of str, optional
            One name per source.
        **kwargs
            ``digits``, ``fontsize``, ``cmap``, ``title`` of :func:`pidlearn.plotting.plot_lattice`.

        Returns
        -------
        fig : matplotlib.figure.Figure
            Save it with ``fig.savefig("atoms.png")``.
        ax : matplotlib.axes.Axes, or a tuple of two Axes (π⁺, π⁻) for ``kind="plus_minus"``
        """
        from pidlearn.plotting import plot_lattice

        return plot_lattice(self, ax=ax, kind=kind, source_names=source_names, max_bars=max_bars, **kwargs)
