"""One call for every PID measure: pidlearn's own SxPID, I_min, I_MMI, I_ccs, I_dep and I_BROJA; the others are
delegated to dit.

Native measures
    ``"sx"`` (:mod:`pidlearn.sxpid`), ``"imin"``, ``"mmi"``, ``"ccs"``, ``"dep"`` and ``"broja"``
    (:mod:`pidlearn.redundancy`) are computed by pidlearn (numba) and need no dit; ``"dep"`` and ``"broja"`` are
    native for two sources, and for three or more they are delegated to dit (which extends them with lattice
    identities). dit's implementation of each stays reachable as ``"<name>_dit"`` (``"sx_dit"``, ``"imin_dit"``,
    ``"mmi_dit"``, ``"ccs_dit"``, ``"dep_dit"``, ``"broja_dit"``), for comparisons.

All measures return a :class:`~pidlearn.results.PIDResult` with canonical atom names in lattice order, so
decompositions by different measures compare with the same code::

    >>> from pidlearn import pid
    >>> pid(t, [s1, s2], measure="sx").atoms          # doctest: +SKIP
    >>> pid(t, [s1, s2], measure="pm").atoms          # doctest: +SKIP

The delegated measures work on the plug-in (empirical) distribution of the samples and have no local atoms and no
informative/misinformative split (those attributes are None); of the native ones, ``"imin"`` and ``"ccs"`` have
local atoms (see :mod:`pidlearn.redundancy`). They need the optional dependency dit
(``pip install "pidlearn[dit]"``); most are much slower than SxPID.

How dit is called
    The observed values of every variable are coded ``0..k-1`` and handed to dit as outcomes that are tuples of
    strings (``("0", "1", "1")``), as in dit's own example distributions; some of dit's measures mishandle integer
    outcomes (``PID_RDR`` returned all-zero atoms, ``PID_Proj`` raised "Outcome (0, 0) is not in the sample space").
Limits
    * ``"ipid"``, ``"deltalambda"`` and ``"mes"`` are defined for two sources only; more sources are refused before
      any work (see :data:`MEASURES`). ``"prec"`` needs the package ``pypoman``.
    * Measures that dit defines only by unique information (``"broja"``, ``"dep"``, ``"ra"``, ``"skar_*"``) or by a
      two-source redundancy (``"proj"``, ``"rr"``, ``"ct"``, ``"ig"``, ``"do"``, ``"deg"``, ``"mc"``, ``"delta"``)
      are extended by dit to 3+ sources with lattice identities that determine every atom only for some
      distributions; when they do not, a ValueError names the undetermined atoms (never NaN or zeros).
    * A decomposition whose atoms do not sum to ``I(T; S)`` is refused as inconsistent.
    * Every dit call runs under a time limit, ``max_seconds`` (default :data:`DEFAULT_MAX_SECONDS`): when it is
      exceeded :class:`MeasureTimeoutError` (a ``TimeoutError`` and a ``ValueError``) is raised. On Linux the
      dit call runs in a forked child process that is then killed, so nothing keeps computing; elsewhere it runs in
      a daemon thread that is abandoned (it runs on in the background until it ends).
      Optimisation-based measures (``"broja"``, ``"dep"``, ``"gh"``, ``"deg"``,
      ``"skar_tw"``, ...) grow steeply with the number of sources and observed values: 3 sources of 3 values can
      take minutes even for 10 samples.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import pickle
import sys
import threading
import warnings

import numpy as np

from pidlearn import _counting
from pidlearn._validation import as_discrete, check_base, check_same_length
from pidlearn.lattice import antichain_name, lattice
from pidlearn.redundancy import NATIVE, TWO_SOURCES, decompose, set_tables
from pidlearn.results import PIDResult

__all__ = [
    "BATCH_MAX_CELLS",
    "DEFAULT_MAX_SECONDS",
    "MEASURES",
    "BatchPID",
    "MeasureTimeoutError",
    "batch_pid",
    "pid",
    "pid_from_pmf",
]

#: measure name -> (class name in ``dit.pid``, short description with the reference).
MEASURES: dict[str, tuple[str | None, str]] = {
    "sx": (None, "shared-exclusion SxPID, pidlearn's numba implementation (Makkeh, Gutknecht & Wibral 2021)"),
    "sx_dit": ("PID_SX", "dit's SxPID (pure Python; for comparisons)"),
    "imin": ("PID_WB", "I_min, Williams & Beer (2010); pidlearn's implementation (dit's: 'imin_dit')"),
    "mmi": ("PID_MMI", "minimum mutual information (Barrett 2015); pidlearn's implementation (dit's: 'mmi_dit')"),
    "broja": (
        "PID_BROJA",
        "I_BROJA, Bertschinger, Rauh, Olbrich, Jost & Ay (2014); pidlearn's implementation for 2 sources "
        "(dit's: 'broja_dit')",
    ),
    "ccs": ("PID_CCS", "common change in surprisal, Ince (2017); pidlearn's implementation (dit's: 'ccs_dit')"),
    "dep": (
        "PID_dep",
        "dependency-constraint PID, James, Emenheiser & Crutchfield (2018); pidlearn's implementation for 2 "
        "sources (dit's: 'dep_dit')",
    ),
    "pm": ("PID_PM", "I_±, Finn & Lizier (2018)"),
    "proj": ("PID_Proj", "I_proj, Harder, Salge & Polani (2013)"),
    "gk": ("PID_GK", "I_∧, Griffith, Chong, James, Ellison & Crutchfield (2014)"),
    "gh": ("PID_GH", "I_GH, Griffith & Ho (2015)"),
    "ig": ("PID_IG", "I_IG, Niu & Quinn (2019)"),
    "rav": ("PID_RAV", "maximum coinformation auxiliary variable"),
    "rdr": ("PID_RDR", "I_rdr, Mages & Rohner"),
    "rr": ("PID_RR", "I_rr (dit)"),
    "ra": ("PID_RA", "reproducibility analysis (dit)"),
    "prec": ("PID_Prec", "I_≺, Kolchinsky (2022); needs pypoman"),
    "deg": ("PID_Deg", "degradation intersection information, Kolchinsky (2022)"),
    "mc": ("PID_MC", "more-capable intersection information, Gomes & Figueiredo"),
    "do": ("PID_Do", "do-calculus PID, Lyu, Clark & Raviv"),
    "ipid": ("PID_IPID", "I-PID, Venkatesh, Gurushankar & Schamberg (2023); two sources only"),
    "delta": ("PID_Delta", "δ-PID, weighted output KL deficiency"),
    "deltalambda": ("PID_DeltaLambda", "δλ-PID, Venkatesh, Gurushankar & Schamberg (2023); two sources only"),
    "mes": ("PID_MES", "I_ME* (dit); two sources only"),
    "ct": ("PID_CT", "causal tensors, Sigtermans"),
    "skar_nw": ("PID_SKAR_nw", "no-way secret key agreement rate (James et al.)"),
    "skar_owa": ("PID_SKAR_owa", "one-way secret key agreement rate, a (James et al.)"),
    "skar_owb": ("PID_SKAR_owb", "one-way secret key agreement rate, b (James et al.)"),
    "skar_tw": ("PID_SKAR_tw", "two-way secret key agreement rate (James et al.)"),
}
#: Default time limit (seconds) of one call of a measure delegated to dit; ``max_seconds=None`` removes it.
DEFAULT_MAX_SECONDS = 60.0

# measures dit cannot decompose for 3+ sources (checked with dit 2.3): key -> why
_TWO_SOURCES_ONLY = {
    "ipid": "dit's PID_IPID fails for more sources ('too many values to unpack')",
    "deltalambda": "dit's PID_DeltaLambda fails for more sources ('too many values to unpack')",
    "mes": "dit's PID_MES gives atoms that do not sum to I(T; S) for more sources",
}
# measures with a redundancy function for any number of sources (the alternatives named in error messages)
_ANY_SOURCES = ("sx", "imin", "mmi", "ccs", "pm", "rdr", "gk")
# measures that need a module dit does not install
_NEEDS_MODULE = {"prec": "pypoman"}
# tolerance of the check sum(atoms) == I(T; S), in bits (dit's optimisers converge to ~1e-6)
_SUM_TOL_BITS = 1e-4

_ALIASES = {
    "wb": "imin",
    "i_min": "imin",
    "williams_beer": "imin",
    "sxpid": "sx",
    "i_sx": "sx",
    "i_ccs": "ccs",
    "i_dep": "dep",
    "i_broja": "broja",
}


def _resolve(measure: str) -> str:
    """Canonical key of a measure name: a key of :data:`MEASURES`, or ``"<native>_dit"`` for dit's version of a
    measure pidlearn implements itself."""
    if not isinstance(measure, str):
        raise TypeError(f"measure must be a string such as 'sx' or 'broja', got {measure!r}")
    key = measure.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in MEASURES:
        by_class = {cls.lower(): name for name, (cls, _) in MEASURES.items() if cls}
        key = by_class.get(key, key)
    if key.endswith("_dit") and key[: -len("_dit")] in NATIVE:
        return key
    if key not in MEASURES:
        dit_names = [f"{k}_dit" for k in NATIVE]
        raise ValueError(f"unknown PID measure {measure!r}; choose one of: {', '.join([*MEASURES, *dit_names])}")
    return key


def _dit_key(key: str) -> str:
    """The :data:`MEASURES` key whose dit class computes ``key`` (``"imin_dit"`` -> ``"imin"``)."""
    if key.endswith("_dit") and key[: -len("_dit")] in NATIVE:
        return key[: -len("_dit")]
    return key


def _import_dit():
    try:
        import dit
        import dit.pid
    except ImportError as exc:
        raise ImportError(
            f"PID measures other than {', '.join(repr(k) for k in ('sx', *NATIVE))} are computed by dit, which is "
            f"not installed ({exc}); "
            'install it with: pip install "pidlearn[dit]"'
        ) from None
    return dit


class MeasureTimeoutError(TimeoutError, ValueError):
    """A measure delegated to dit did not finish within ``max_seconds``.

    It is both a :class:`TimeoutError` and a :class:`ValueError`, so code (and the command line) that reports bad
    input as ``ValueError`` reports this too.
    """


def _run_with_time_limit(fn, max_seconds: float | None, what: str):
    """``fn()``, or :class:`MeasureTimeoutError` if it runs longer than ``max_seconds`` (None: no limit).

    On Linux ``fn`` runs in a forked child process, which is killed when the time is up, so nothing keeps computing
    (dit itself runs worker threads, which a thread cannot stop). Elsewhere (no safe ``fork``) it runs in a daemon
    thread; the caller gets the error in time, but the abandoned computation runs on in the background until it ends.
    """
    if max_seconds is None:
        return fn()
    if not sys.platform.startswith("linux"):
        return _run_in_thread(fn, max_seconds, what)
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def child():
        try:
            message = ("ok", fn())
        except BaseException as exc:
            try:
                message = ("error", pickle.loads(pickle.dumps(exc)))
            except Exception:
                message = ("error", RuntimeError(f"{type(exc).__name__}: {exc}"))
        sender.send(message)

    proc = ctx.Process(target=child, name=f"pidlearn-{what}", daemon=True)
    with warnings.catch_warnings():  # Python >= 3.12 warns about fork() in a process that has threads
        warnings.simplefilter("ignore", DeprecationWarning)
        proc.start()
    sender.close()
    try:
        if not receiver.poll(max_seconds):
            raise _timeout_error(what, max_seconds)
        try:
            status, payload = receiver.recv()
        except EOFError:
            proc.join()
            raise RuntimeError(f"the process computing it ended without a result (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receiver.close()
    if status == "error":
        raise payload
    return payload


def _run_in_thread(fn, max_seconds: float, what: str):
    box: dict = {}

    def work():
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"pidlearn-{what}", daemon=True)
    worker.start()
    worker.join(max_seconds)
    if worker.is_alive():
        raise _timeout_error(what, max_seconds)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _timeout_error(what: str, max_seconds: float) -> MeasureTimeoutError:
    return MeasureTimeoutError(
        f"measure {what!r} did not finish within max_seconds={max_seconds:g} s and was stopped; dit's "
        "optimisation-based measures grow steeply with the number of sources and of observed values. Pass a "
        "larger max_seconds (None: no limit), coarsen the variables (fewer values), use fewer sources, or use a "
        "closed-form measure such as 'sx', 'imin', 'mmi', 'ccs', 'pm' or 'rdr'"
    )


def _check_supported(key: str, n_sources: int) -> None:
    """Refuse, before any work, a measure that cannot give a result for ``n_sources`` sources or lacks a module."""
    if n_sources > 2 and key in _TWO_SOURCES_ONLY:
        raise ValueError(
            f"measure {key!r} ({MEASURES[key][0]}) is only defined for 2 sources, got {n_sources}: "
            f"{_TWO_SOURCES_ONLY[key]}. For {n_sources} sources use one of {', '.join(map(repr, _ANY_SOURCES))}"
        )
    module = _NEEDS_MODULE.get(key)
    if module is not None:
        try:
            importlib.import_module(module)
        except ImportError:
            raise ImportError(
                f"measure {key!r} ({MEASURES[key][0]}) needs the package {module!r}, which dit does not install; "
                f"install it with: pip install {module}"
            ) from None


def _partial_kind(cls) -> str:
    from dit.pid.pid import BaseBivariatePID, BaseUniquePID

    if issubclass(cls, BaseUniquePID):
        return "unique information"
    if issubclass(cls, BaseBivariatePID):
        return "the redundancy of two sources"
    return "part of the lattice"


def _dit_pid(dist, n_sources: int, key: str, base: float, mi: float, h_target: float, max_seconds) -> PIDResult:
    """Run dit's measure on a distribution whose variables are (sources..., target) and convert its result."""
    _import_dit()
    import dit.pid

    name, key = key, _dit_key(key)
    cls_name = MEASURES[key][0]
    cls = getattr(dit.pid, cls_name, None)
    if cls is None:
        raise ImportError(f"this version of dit has no {cls_name}; upgrade it: pip install -U dit")
    lat = lattice(n_sources)

    def compute() -> dict:
        res = cls(dist, sources=[[i] for i in range(n_sources)], target=[n_sources])
        return {tuple(map(tuple, node)): float(res.get_pi(node)) for node in res._lattice}

    try:
        pis = _run_with_time_limit(compute, max_seconds, name)
    except (MeasureTimeoutError, ImportError):
        raise
    except Exception as exc:  # dit raises many types
        raise ValueError(f"dit's {cls_name} failed on this {n_sources}-source distribution: {exc}") from exc
    scale = 1.0 / math.log2(base)
    values = np.full(lat.n_atoms, np.nan)
    for node, v in pis.items():
        values[lat.index(antichain_name([[i + 1 for i in a] for a in node]))] = v * scale
    undetermined = [lat.names[j] for j in np.flatnonzero(~np.isfinite(values))]
    if undetermined:
        raise ValueError(
            f"dit's {cls_name} leaves {len(undetermined)} of the {lat.n_atoms} atoms of this {n_sources}-source "
            f"decomposition undetermined ({', '.join(undetermined[:6])}{', ...' if len(undetermined) > 6 else ''}): "
            f"{cls_name} defines only {_partial_kind(cls)}, and dit extends it to more sources with lattice "
            f"identities that do not pin down every atom of this distribution. Use 2 sources, or a measure defined "
            f"for any number of sources: {', '.join(map(repr, _ANY_SOURCES))}"
        )
    total = float(values.sum())
    if not math.isclose(total, mi, rel_tol=0.0, abs_tol=_SUM_TOL_BITS * scale):
        raise ValueError(
            f"dit's {cls_name} gave an inconsistent decomposition of this {n_sources}-source distribution: its atoms "
            f"sum to {total:.6g} but I(T; S) = {mi:.6g}; use another measure"
        )
    return PIDResult(
        lat.names,
        values,
        mutual_information=mi,
        entropy_target=h_target,
        n_sources=n_sources,
        base=base,
        measure=name,
    )


def pid(
    target, sources, measure: str = "sx", *, base: float = 2, max_seconds: float | None = DEFAULT_MAX_SECONDS
) -> PIDResult:
    """Partial information decomposition of ``I(T; S_1..S_n)`` from samples with any supported measure.

    Parameters
    ----------
    target, sources
        As in :func:`pidlearn.sxpid.sxpid`: a target array and a sequence of source arrays (or a 2-D array whose
        columns are the sources).
    measure : str, default "sx"
        ``"sx"`` (pidlearn's SxPID), a native measure (``"imin"``, ``"mmi"``, ``"ccs"``; ``"dep"`` and
        ``"broja"`` for two sources) or a measure computed by dit on the empirical distribution: one of
        :data:`MEASURES` (``"pm"``, ``"gh"``, ``"sx_dit"``, ``"broja_dit"``, ...); dit's class names
        (``"PID_BROJA"``) work too, case-insensitively.
    base : float, default 2
        Logarithm base (2: bits).
    max_seconds : float or None, default :data:`DEFAULT_MAX_SECONDS` (60)
        Time limit of the dit computation (not used by ``"sx"``). When it is exceeded the computation is stopped
        and :class:`MeasureTimeoutError` is raised; None removes the limit.

    Returns
    -------
    PIDResult
        For ``"sx"`` the full result of :func:`pidlearn.sxpid.sxpid`; for dit's measures the average atoms with
        canonical names, ``mutual_information`` and ``entropy_target`` (plug-in), and no local atoms.

    Raises
    ------
    ValueError
        Unknown measure, bad input (see :func:`pidlearn.sxpid.sxpid`), a measure that is not defined for this many
        sources (refused before any work), dit failing on the distribution, dit leaving atoms undetermined, or
        atoms that do not sum to ``I(T; S)``.
    MeasureTimeoutError
        The dit computation ran longer than ``max_seconds`` (also a ``ValueError`` and a ``TimeoutError``).
    ImportError
        A dit measure was asked for and dit (``pip install "pidlearn[dit]"``) or a module the measure needs
        (``pypoman`` for ``"prec"``) is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> s1, s2 = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    >>> res = pid(s1 & s2, [s1, s2], measure="mmi")  # doctest: +SKIP
    >>> round(res.redundancy, 4), round(res.synergy, 4)  # doctest: +SKIP
    (0.3113, 0.5)
    """
    key = _resolve(measure)
    from pidlearn.sxpid import _split_sources, sxpid

    if key == "sx":
        return sxpid(target, sources, base=base)
    base = check_base(base)
    max_seconds = _check_max_seconds(max_seconds)
    items = _split_sources(sources, target)
    if _is_native(key, len(items)):
        return _native_from_samples(target, items, key, base)
    dit = _import_dit()
    _check_supported(_dit_key(key), len(items))
    t_codes, _ = as_discrete(target, "target")
    codes = [as_discrete(x, f"source {i + 1}")[0] for i, x in enumerate(items)]
    check_same_length(target=t_codes, **{f"source {i + 1}": c for i, c in enumerate(codes)})
    support, counts, _ = _counting.joint_support([*codes, t_codes])
    probs = counts / counts.sum()
    dist = _dit_distribution(dit, support, probs)
    mi, h_t = _plugin_mi_entropy(support, probs, len(items), base)
    return _dit_pid(dist, len(items), key, base, mi, h_t, max_seconds)


def pid_from_pmf(
    pmf, measure: str = "sx", *, base: float = 2, max_seconds: float | None = DEFAULT_MAX_SECONDS
) -> PIDResult:
    """:func:`pid` of a joint distribution instead of samples.

    Parameters
    ----------
    pmf : ndarray or dit.Distribution
        An array with one axis per variable, sources first and the target on the last axis (``pmf[s1, s2, t]``),
        non-negative and summing to 1; or a ``dit.Distribution`` whose last variable is the target (its outcomes
        may be strings or tuples of any labels: they are recoded before dit's measure sees them).
    measure : str, default "sx"
        As in :func:`pid`.
    base : float, default 2
        Logarithm base (2: bits).
    max_seconds : float or None, default :data:`DEFAULT_MAX_SECONDS` (60)
        As in :func:`pid`.

    Returns
    -------
    PIDResult
        As in :func:`pid`; for ``"sx"`` the result of :func:`pidlearn.sxpid.sxpid_from_pmf`.

    Raises
    ------
    ValueError, MeasureTimeoutError, ImportError
        As in :func:`pid`.
    """
    key = _resolve(measure)
    from pidlearn.sxpid import _check_n_sources, _is_dit_distribution, _support_of_dit, sxpid_from_pmf

    if key == "sx":
        return sxpid_from_pmf(pmf, base=base)
    base = check_base(base)
    max_seconds = _check_max_seconds(max_seconds)
    if _is_dit_distribution(pmf):
        support, probs, realisations = _support_of_dit(pmf)
    else:
        from pidlearn._validation import check_pmf

        p = check_pmf(pmf)
        if p.ndim < 2:
            raise ValueError(
                f"pmf has {p.ndim} axis; give one axis per variable: sources first, the target last "
                "(at least 3 axes for 2 sources)"
            )
        mask = p > 0
        support = np.argwhere(mask).astype(np.int64)
        probs = p[mask]
        realisations = support
    n_sources = support.shape[1] - 1
    _check_n_sources(n_sources)
    if _is_native(key, n_sources):
        return decompose(support, probs, n_sources, key, base=base, realisations=realisations)
    dit = _import_dit()
    _check_supported(_dit_key(key), n_sources)
    dist = _dit_distribution(dit, support, probs)
    mi, h_t = _plugin_mi_entropy(support, probs, n_sources, base)
    return _dit_pid(dist, n_sources, key, base, mi, h_t, max_seconds)


def _is_native(key: str, n_sources: int) -> bool:
    """Whether pidlearn computes measure ``key`` itself for ``n_sources`` sources (else dit does)."""
    return key in NATIVE and (key not in TWO_SOURCES or n_sources == 2)


def _native_from_samples(target, items: list, key: str, base: float) -> PIDResult:
    """A native measure (:data:`pidlearn.redundancy.NATIVE`) on the empirical distribution of samples."""
    from pidlearn.sxpid import _check_n_sources

    t_codes, _ = as_discrete(target, "target")
    codes = [as_discrete(x, f"source {i + 1}")[0] for i, x in enumerate(items)]
    check_same_length(target=t_codes, **{f"source {i + 1}": c for i, c in enumerate(codes)})
    _check_n_sources(len(items))
    support, counts, inverse = _counting.joint_support([*codes, t_codes])
    return decompose(support, counts / counts.sum(), len(items), key, base=base, rows=inverse)


def _check_max_seconds(max_seconds) -> float | None:
    if max_seconds is None:
        return None
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_seconds must be a number of seconds or None, got {max_seconds!r}")
    value = float(max_seconds)
    if math.isnan(value) or value <= 0:
        raise ValueError(f"max_seconds must be > 0 (or None for no limit), got {max_seconds!r}")
    return value


def _dit_distribution(dit, support: np.ndarray, probs: np.ndarray):
    """dit Distribution of coded rows: outcomes are tuples of strings, ``("0", "2", "1")``, as dit's examples use."""
    return dit.Distribution([tuple(str(int(v)) for v in row) for row in support], probs.tolist())


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


class BatchPID:
    """Average atoms of many tuples of one data matrix with a native measure, as arrays (:func:`batch_pid`).

    Attributes
    ----------
    atom_names : tuple of str
        The lattice's atom names, in lattice order (the columns of ``values``).
    tuples : ndarray of int64, shape (n_tuples, n_sources + 1)
        The column tuples ``(target, source_1, .., source_n)``, in the order given.
    values : ndarray of float64, shape (n_tuples, n_atoms)
        Row ``i`` equals ``pid(data[:, t], data[:, sources], measure).values`` bit for bit.
    mutual_information, entropy_target : ndarray of float64, shape (n_tuples,)
        ``I(T; S_1..S_n)`` and ``H(T)`` (plug-in).
    measure : str
    base : float
    """

    def __init__(self, atom_names, tuples, values, mutual_information, entropy_target, measure, base):
        self.atom_names = tuple(atom_names)
        self.tuples = tuples
        self.values = values
        self.mutual_information = mutual_information
        self.entropy_target = entropy_target
        self.measure = measure
        self.base = base

    def __len__(self) -> int:
        return self.values.shape[0]

    def __repr__(self) -> str:
        return (
            f"BatchPID({len(self)} tuples of {self.tuples.shape[1] - 1} sources, measure={self.measure!r}, "
            f"{len(self.atom_names)} atoms, base={self.base:g})"
        )

    def result(self, i: int) -> PIDResult:
        """Tuple ``i`` as a :class:`~pidlearn.results.PIDResult` (no local atoms)."""
        return PIDResult(
            list(self.atom_names),
            self.values[i].copy(),
            mutual_information=float(self.mutual_information[i]),
            entropy_target=float(self.entropy_target[i]),
            n_sources=self.tuples.shape[1] - 1,
            base=self.base,
            measure=self.measure,
        )


#: Largest joint table ``k_1 ⋯ k_n k_T`` that :func:`batch_pid` counts densely in its fused kernel; larger tuples
#: are counted one by one (same result).
BATCH_MAX_CELLS = 4096


def batch_pid(data, tuples, measure: str = "imin", *, base: float = 2):
    """PID of many ``(target, sources...)`` column tuples of one discrete data matrix with one measure, as arrays.

    The columns are encoded once and every tuple's joint table is counted in one parallel numba kernel
    (:func:`pidlearn._batch_kernels.count_tables`); each table is then decomposed by the measure's redundancy
    function (:mod:`pidlearn.redundancy`) without the per-call validation, encoding and result objects of
    :func:`pid`. Row ``i`` equals ``pid(data[:, t], data[:, sources], measure).values`` bit for bit.

    Parameters
    ----------
    data : array-like of shape (n_samples, n_variables)
        Discrete labels, one column per variable.
    tuples : sequence of sequences of int, or ndarray of int
        Column indices ``(target, source_1, .., source_n)``, all with the same number of sources (2 to 5; 2 for
        ``"dep"`` and ``"broja"``).
    measure : str, default "imin"
        A native measure: ``"imin"``, ``"mmi"``, ``"ccs"``, ``"dep"``, ``"broja"``; or ``"sx"``, which returns
        :func:`pidlearn.batch_sxpid` ``(data, tuples, base=base, output="array")``.
    base : float, default 2
        Logarithm base (2: bits).

    Returns
    -------
    BatchPID
        ``values`` ``(n_tuples, n_atoms)``, ``mutual_information``, ``entropy_target``; for ``"sx"`` a
        :class:`pidlearn.bench.batch.BatchSxPID`.

    Raises
    ------
    ValueError
        A measure that is not native (dit's measures have no batch path: call :func:`pid` per tuple), ``"dep"`` or
        ``"broja"`` with more than 2 sources, bad ``data`` or ``tuples`` (as :func:`pidlearn.batch_sxpid`).
    TypeError
        A tuple that is not a sequence of integers, a measure that is not a string.

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn.measures import batch_pid
    >>> s = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 25)
    >>> data = np.column_stack([s, s[:, 0] & s[:, 1], s[:, 0] ^ s[:, 1]])
    >>> res = batch_pid(data, [(2, 0, 1), (3, 0, 1)], "broja")
    >>> res.atom_names
    ('{1}{2}', '{1}', '{2}', '{12}')
    >>> np.round(res.values, 3) + 0.0
    array([[0.311, 0.   , 0.   , 0.5  ],
           [0.   , 0.   , 0.   , 1.   ]])
    """
    from pidlearn import _batch_kernels as bk
    from pidlearn.bench.batch import _check_tuple_array, _Encoded, batch_sxpid

    key = _resolve(measure)
    if key == "sx":
        return batch_sxpid(data, tuples, base=base, output="array")
    if key not in NATIVE:
        raise ValueError(
            f"batch_pid computes pidlearn's own measures ({', '.join(map(repr, ('sx', *NATIVE)))}), not {measure!r}; "
            "for a measure computed by dit call pid() once per tuple"
        )
    base = check_base(base)
    n_vars = np.asarray(data).shape[1] if np.ndim(data) == 2 else 0
    if not n_vars:
        raise ValueError(f"data must be a 2-D array (n_samples, n_variables), got shape {np.shape(data)}")
    cols = _check_tuple_array(tuples, n_vars)
    if not cols.shape[0]:
        raise ValueError("tuples is empty; give at least one (target, source_1, .., source_n) tuple")
    n_sources = cols.shape[1] - 1
    if key in TWO_SOURCES and n_sources != 2:
        raise ValueError(
            f"measure {key!r} is native for 2 sources only, got tuples of {n_sources}; call pid() per tuple "
            "(dit computes it for more sources) or use 'sx', 'imin', 'mmi' or 'ccs'"
        )
    used = np.unique(cols)
    enc = _Encoded(data, used.tolist())
    lookup = np.zeros(int(used[-1]) + 1, dtype=np.int64)
    lookup[used] = np.arange(used.size)
    rows = lookup[cols]
    ks = enc.ks[rows]  # (n_tuples, n_sources + 1): target first
    cells = np.prod(ks.astype(np.float64), axis=1)
    dense = cells <= BATCH_MAX_CELLS
    if enc.wide:
        dense &= ~np.isin(rows, list(enc.wide)).any(axis=1)
    idx = np.flatnonzero(dense)
    offsets = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(cells[idx].astype(np.int64), out=offsets[1:])
    tables = np.empty(offsets[-1], dtype=np.int64)
    if idx.size:
        bk.count_tables(enc.codes, enc.ks, np.ascontiguousarray(rows[idx]), offsets, tables)
    lat = lattice(n_sources)
    redundancy = NATIVE[key]
    scale = 1.0 / math.log(base)
    full = (1 << n_sources) - 1
    scaled = np.empty((cols.shape[0], lat.n_atoms))
    mi = np.empty(cols.shape[0])
    h_t = np.empty(cols.shape[0])
    slot = np.full(cols.shape[0], -1, dtype=np.int64)
    slot[idx] = np.arange(idx.size)
    total = enc.n_samples
    for i in range(cols.shape[0]):
        r = rows[i]
        if slot[i] >= 0:
            table = tables[offsets[slot[i]] : offsets[slot[i] + 1]]
            occupied = np.flatnonzero(table)
            shape = (*ks[i, 1:], ks[i, 0])
            support = np.stack(np.unravel_index(occupied, shape), axis=1).astype(np.int64)
            counts = table[occupied]
        else:
            support, counts, _ = _counting.joint_support([enc.column(int(c)) for c in (*r[1:], r[0])])
        # as pidlearn.redundancy.decompose, without its result object
        tab = set_tables(support, counts / total, n_sources)
        scaled[i] = redundancy(tab)[0] * scale
        mi[i] = float(tab.mutual_information[full]) * scale
        h_t[i] = tab.entropy_target * scale
    values = np.ascontiguousarray((lat.mobius @ scaled.T).T)  # per row the sums of decompose's matrix-vector product
    return BatchPID(lat.names, cols, values, mi, h_t, key, base)
