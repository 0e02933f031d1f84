"""One call for every PID measure: ``"sx"`` is pidlearn's own SxPID, the others are delegated to dit.

All measures return a :class:`~pidlearn.results.PIDResult` with canonical atom names in lattice order, so
decompositions by different measures compare with the same code::

    >>> from pidlearn import pid
    >>> pid(t, [s1, s2], measure="sx").atoms          # doctest: +SKIP
    >>> pid(t, [s1, s2], measure="broja").atoms       # doctest: +SKIP (needs dit)

The delegated measures work on the plug-in (empirical) distribution of the samples and have no local atoms and no
informative/misinformative split (those attributes are None). They need the optional dependency dit
(``pip install "pidlearn[dit]"``); some of them only support two sources, and most are much slower than SxPID.
"""

from __future__ import annotations

import math

import numpy as np

from pidlearn import _counting
from pidlearn._validation import as_discrete, check_base, check_same_length
from pidlearn.lattice import antichain_name, lattice
from pidlearn.results import PIDResult

__all__ = ["MEASURES", "pid", "pid_from_pmf"]

#: measure name -> (class name in ``dit.pid``, short description with the reference).
MEASURES: dict[str, tuple[str | None, str]] = {
    "sx": (None, "shared-exclusion SxPID, pidlearn's numba implementation (Makkeh, Gutknecht & Wibral 2021)"),
    "sx_dit": ("PID_SX", "dit's SxPID (pure Python; for comparisons)"),
    "imin": ("PID_WB", "I_min, Williams & Beer (2010)"),
    "mmi": ("PID_MMI", "minimum mutual information (Barrett 2015)"),
    "broja": ("PID_BROJA", "I_BROJA, Bertschinger, Rauh, Olbrich, Jost & Ay (2014); two sources"),
    "ccs": ("PID_CCS", "common change in surprisal, Ince (2017)"),
    "dep": ("PID_dep", "dependency-constraint PID, James, Emenheiser & Crutchfield (2018); two sources"),
    "pm": ("PID_PM", "I_±, Finn & Lizier (2018)"),
    "proj": ("PID_Proj", "I_proj, Harder, Salge & Polani (2013); two sources"),
    "gk": ("PID_GK", "I_∧, Griffith, Chong, James, Ellison & Crutchfield (2014)"),
    "gh": ("PID_GH", "I_GH, Griffith & Ho (2015)"),
    "ig": ("PID_IG", "I_IG, Niu & Quinn (2019)"),
    "rav": ("PID_RAV", "maximum coinformation auxiliary variable"),
    "rdr": ("PID_RDR", "I_rdr, Mages & Rohner"),
    "rr": ("PID_RR", "I_rr (dit)"),
    "ra": ("PID_RA", "reproducibility analysis (dit)"),
    "prec": ("PID_Prec", "I_≺, Kolchinsky (2022)"),
    "deg": ("PID_Deg", "degradation intersection information, Kolchinsky (2022)"),
    "mc": ("PID_MC", "more-capable intersection information, Gomes & Figueiredo"),
    "do": ("PID_Do", "do-calculus PID, Lyu, Clark & Raviv"),
    "ipid": ("PID_IPID", "I-PID, Venkatesh, Gurushankar & Schamberg (2023)"),
    "delta": ("PID_Delta", "δ-PID, weighted output KL deficiency"),
    "deltalambda": ("PID_DeltaLambda", "δλ-PID, Venkatesh, Gurushankar & Schamberg (2023)"),
    "mes": ("PID_MES", "I_ME* (dit)"),
    "ct": ("PID_CT", "causal tensors, Sigtermans; two sources"),
    "skar_nw": ("PID_SKAR_nw", "no-way secret key agreement rate (James et al.)"),
    "skar_owa": ("PID_SKAR_owa", "one-way secret key agreement rate, a (James et al.)"),
    "skar_owb": ("PID_SKAR_owb", "one-way secret key agreement rate, b (James et al.)"),
    "skar_tw": ("PID_SKAR_tw", "two-way secret key agreement rate (James et al.)"),
}
_ALIASES = {"wb": "imin", "i_min": "imin", "williams_beer": "imin", "sxpid": "sx", "i_sx": "sx", "i_ccs": "ccs"}


def _resolve(measure: str) -> str:
    if not isinstance(measure, str):
        raise TypeError(f"measure must be a string such as 'sx' or 'broja', got {measure!r}")
    key = measure.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in MEASURES:
        by_class = {cls.lower(): name for name, (cls, _) in MEASURES.items() if cls}
        key = by_class.get(key, key)
    if key not in MEASURES:
        raise ValueError(f"unknown PID measure {measure!r}; choose one of: {', '.join(MEASURES)}")
    return key


def _import_dit():
    try:
        import dit
        import dit.pid
    except ImportError as exc:
        raise ImportError(
            f'PID measures other than "sx" are computed by dit, which is not installed ({exc}); '
            'install it with: pip install "pidlearn[dit]"'
        ) from None
    return dit


def _dit_pid(dist, n_sources: int, key: str, base: float, mi: float, h_target: float) -> PIDResult:
    """Run dit's measure on a distribution whose variables are (sources..., target) and convert its result."""
    _import_dit()
    import dit.pid

    cls_name = MEASURES[key][0]
    cls = getattr(dit.pid, cls_name, None)
    if cls is None:
        raise ImportError(f"this version of dit has no {cls_name}; upgrade it: pip install -U dit")
    lat = lattice(n_sources)
    try:
        res = cls(dist, sources=[[i] for i in range(n_sources)], target=[n_sources])
    except Exception as exc:  # dit raises many types (e.g. for measures limited to two sources)
        raise ValueError(f"dit's {cls_name} failed on this {n_sources}-source distribution: {exc}") from exc
    scale = 1.0 / math.log2(base)
    values = np.empty(lat.n_atoms)
    seen = set()
    for node in res._lattice:
        name = antichain_name([[i + 1 for i in a] for a in node])
        j = lat.index(name)
        v = float(res.get_pi(node))
        if not math.isfinite(v):
            raise ValueError(f"dit's {cls_name} returned a non-finite value for atom {name}")
        values[j] = v * scale
        seen.add(j)
    if len(seen) != lat.n_atoms:  # pragma: no cover - would mean dit changed its lattice
        raise ValueError(
            f"dit's {cls_name} returned {len(seen)} atoms; the {n_sources}-source lattice has {lat.n_atoms}"
        )
    return PIDResult(
        lat.names,
        values,
        mutual_information=mi,
        entropy_target=h_target,
        n_sources=n_sources,
        base=base,
        measure=key,
    )


def pid(target, sources, measure: str = "sx", *, base: float = 2) -> PIDResult:
    """Partial information decomposition of ``I(T; S_1..S_n)`` from samples with any supported measure.

    Parameters
    ----------
    target, sources
        As in :func:`pidlearn.sxpid.sxpid`: a target array and a sequence of source arrays (or a 2-D array whose
        columns are the sources).
    measure : str, default "sx"
        ``"sx"`` (pidlearn's SxPID) or a measure computed by dit on the empirical distribution: one of
        :data:`MEASURES` (``"imin"``, ``"mmi"``, ``"broja"``, ``"ccs"``, ``"dep"``, ``"pm"``, ``"sx_dit"``, ...);
        dit's class names (``"PID_BROJA"``) work too, case-insensitively.
    base : float, default 2
        Logarithm base (2: bits).

    Returns
    -------
    PIDResult
        For ``"sx"`` the full result of :func:`pidlearn.sxpid.sxpid`; for dit's measures the average atoms with
        canonical names, ``mutual_information`` and ``entropy_target`` (plug-in), and no local atoms.

    Raises
    ------
    ValueError
        Unknown measure, bad input (see :func:`pidlearn.sxpid.sxpid`), or dit failing on the distribution.
    ImportError
        A dit measure was asked for and dit is not installed (``pip install "pidlearn[dit]"``).
    """
    key = _resolve(measure)
    from pidlearn.sxpid import _split_sources, sxpid

    if key == "sx":
        return sxpid(target, sources, base=base)
    base = check_base(base)
    dit = _import_dit()
    items = _split_sources(sources, target)
    t_codes, _ = as_discrete(target, "target")
    codes = [as_discrete(x, f"source {i + 1}")[0] for i, x in enumerate(items)]
    check_same_length(target=t_codes, **{f"source {i + 1}": c for i, c in enumerate(codes)})
    support, counts, _ = _counting.joint_support([*codes, t_codes])
    probs = counts / counts.sum()
    dist = dit.Distribution([tuple(int(v) for v in row) for row in support], probs.tolist())
    mi, h_t = _plugin_mi_entropy(support, probs, len(items), base)
    return _dit_pid(dist, len(items), key, base, mi, h_t)


def pid_from_pmf(pmf, measure: str = "sx", *, base: float = 2) -> PIDResult:
    """:func:`pid` for a joint pmf (ndarray, target on the last axis) or a ``dit.Distribution`` (target last)."""
    key = _resolve(measure)
    from pidlearn.sxpid import _check_n_sources, _is_dit_distribution, _support_of_dit, sxpid_from_pmf

    if key == "sx":
        return sxpid_from_pmf(pmf, base=base)
    base = check_base(base)
    dit = _import_dit()
    if _is_dit_distribution(pmf):
        support, probs, _ = _support_of_dit(pmf)
    else:
        from pidlearn._validation import check_pmf

        p = check_pmf(pmf)
        support = np.argwhere(p > 0).astype(np.int64)
        probs = p[p > 0]
    n_sources = support.shape[1] - 1
    _check_n_sources(n_sources)
    dist = dit.Distribution([tuple(int(v) for v in row) for row in support], probs.tolist())
    mi, h_t = _plugin_mi_entropy(support, probs, n_sources, base)
    return _dit_pid(dist, n_sources, key, base, mi, h_t)


def _plugin_mi_entropy(support: np.ndarray, probs: np.ndarray, n_sources: int, base: float) -> tuple[float, float]:
    """I(T; S) and H(T) of a distribution given on its support (rows: sources..., target)."""

    def marginal(cols):
        keys, inv = np.unique(support[:, cols], axis=0, return_inverse=True)
        return np.bincount(inv.reshape(-1), weights=probs, minlength=len(keys))

    def h(cols):
        q = marginal(cols)
        q = q[q > 0]
        return float(-(q * np.log(q)).sum())

    src = list(range(n_sources))
    mi = h(src) + h([n_sources]) - h([*src, n_sources])
    return mi / math.log(base), h([n_sources]) / math.log(base)
