"""Estimators behind one small interface: pidlearn's own, and peers when they are installed.

An :class:`Estimator` takes the samples of a task (``(x, y)`` for MI tasks, ``(target, sources)`` for PID tasks) and
the run's seed, and returns bits: a float for MI, a dict ``atom name -> value`` for PID. Which task kinds it handles
and how large a problem it accepts are declared once, so the runner never hands an estimator data it cannot take.

Peers (scikit-learn, NPEET via ``npeet-plus``, dit, IDTxl via ``idtxl-uv``) are listed only when importable, and so
are pidlearn's continuous estimators (:mod:`pidlearn.continuous`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Estimator", "all_estimators", "get_estimator"]

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Estimator:
    """One estimator of the benchmark.

    Attributes
    ----------
    name : str
        Unique name, e.g. ``"pidlearn-ksg1"`` or ``"sklearn-ksg"``.
    kinds : tuple of str
        Task kinds it handles (see :data:`pidlearn.bench.tasks.KINDS`).
    fn : callable
        ``fn(a, b, seed) -> float | dict`` in bits.
    package : str
        ``"pidlearn"`` or the peer's package name.
    max_n : int, optional
        Largest sample size it is run at (quadratic-cost or very slow estimators).
    max_dim : int, optional
        Largest dimension of one variable (MI) or number of sources (PID) it accepts.
    only_1d : bool
        Only one-dimensional ``x`` and ``y`` (scikit-learn's ``mutual_info_regression`` is per feature).
    description : str
    """

    name: str
    kinds: tuple
    fn: Callable = field(repr=False, compare=False)
    package: str = "pidlearn"
    max_n: int | None = None
    max_dim: int | None = None
    only_1d: bool = False
    description: str = ""

    def supports(self, task, n: int | None = None) -> bool:
        """Whether this estimator runs on ``task`` (at sample size ``n``, when given)."""
        if task.kind not in self.kinds:
            return False
        if n is not None and self.max_n is not None and n > self.max_n:
            return False
        if self.max_dim is not None and max(task.dims) > self.max_dim:
            return False
        return not (self.only_1d and tuple(task.dims) != (1, 1))

    def __call__(self, a, b, seed: int = 0):
        return self.fn(a, b, int(seed))


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@contextlib.contextmanager
def _quiet():
    """Peers that print on import or on every call (IDTxl) would break ``--json`` output."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


# --------------------------------------------------------------------------------------------------------------------
# pidlearn
# --------------------------------------------------------------------------------------------------------------------
class _Discrete:
    def __init__(self, estimator):
        self.estimator = estimator

    def __call__(self, x, y, seed):
        from pidlearn.discrete import mutual_information

        return mutual_information(x, y, estimator=self.estimator)


class _Continuous:
    def __init__(self, method):
        self.method = method

    def __call__(self, x, y, seed):
        from pidlearn.continuous import mutual_information

        return mutual_information(x, y, estimator=self.method, seed=seed)


def _renyi(x, y, seed):
    from pidlearn.continuous import renyi_mutual_information

    return renyi_mutual_information(x, y)


def _sxpid(target, sources, seed):
    from pidlearn.sxpid import sxpid

    return sxpid(target, sources).atoms


def _csxpid(target, sources, seed):
    from pidlearn.continuous import sxpid

    return sxpid(target, sources, seed=seed).atoms


# --------------------------------------------------------------------------------------------------------------------
# peers
# --------------------------------------------------------------------------------------------------------------------
def _sklearn_ksg(x, y, seed):
    from sklearn.feature_selection import mutual_info_regression

    return float(mutual_info_regression(x.reshape(len(x), -1), y.ravel(), n_neighbors=3, random_state=seed)[0]) / LN2


def _sklearn_discrete(x, y, seed):
    from sklearn.metrics import mutual_info_score

    return float(mutual_info_score(x, y)) / LN2


def _npeet_ksg(x, y, seed):
    import npeet_plus

    state = np.random.get_state()  # noqa: NPY002 - NPEET draws its noise from numpy's global generator
    np.random.seed(seed)  # noqa: NPY002
    try:
        return float(npeet_plus.mi(x.reshape(len(x), -1), y.reshape(len(y), -1), k=3, base=2))
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _npeet_discrete(x, y, seed):
    import npeet_plus

    return float(npeet_plus.midd(x.tolist(), y.tolist(), base=2))


def _dit_distribution(columns):
    import dit

    rows = list(zip(*(c.tolist() for c in columns), strict=True))
    counts = Counter(rows)
    outcomes = sorted(counts)
    return dit.Distribution(outcomes, [counts[o] / len(rows) for o in outcomes])


def _dit_mi(x, y, seed):
    import dit

    return float(dit.shannon.mutual_information(_dit_distribution([x, y]), [0], [1]))


def _atom_name(node) -> str:
    """pidlearn's canonical name of a peer's antichain (tuples of 1-based source indices)."""
    sets = sorted((tuple(sorted(int(i) for i in a)) for a in node), key=lambda a: (len(a), a))
    return "".join("{" + "".join(str(i) for i in a) + "}" for a in sets)


def _dit_sxpid(target, sources, seed):
    from dit.pid import PID_SX

    n = sources.shape[1]
    dist = _dit_distribution([*(sources[:, i] for i in range(n)), target])
    res = PID_SX(dist, [[i] for i in range(n)], [n])
    return {_atom_name(tuple(tuple(i + 1 for i in a) for a in node)): float(res.get_pi(node)) for node in res._lattice}


def _idtxl_sxpid(target, sources, seed):
    with _quiet():
        from idtxl.estimators_multivariate_pid import SxPID

        res = SxPID({"verbose": False}).estimate([sources[:, i] for i in range(sources.shape[1])], target)
    return {_atom_name(node): float(vals[2]) for node, vals in res["avg"].items()}


# --------------------------------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------------------------------
def _build() -> dict[str, Estimator]:
    out: list[Estimator] = []
    add = out.append
    for est, desc in (
        ("plugin", "plug-in (maximum likelihood)"),
        ("miller_madow", "Miller–Madow bias correction"),
        ("grassberger", "Grassberger (2003)"),
        ("chao_shen", "Chao–Shen coverage-adjusted"),
    ):
        add(Estimator(f"pidlearn-{est}", ("discrete-mi",), _Discrete(est), description=desc))
    add(Estimator("pidlearn-sxpid", ("discrete-pid",), _sxpid, description="SxPID, plug-in probabilities"))
    if _available("pidlearn.continuous"):
        for method, desc in (
            ("ksg1", "KSG algorithm 1, k = 3"),
            ("ksg2", "KSG algorithm 2, k = 3"),
            ("gaussian", "Gaussian closed form"),
            ("copula", "Gaussian copula"),
        ):
            add(Estimator(f"pidlearn-{method}", ("continuous-mi",), _Continuous(method), description=desc))
        add(
            Estimator(
                "pidlearn-renyi",
                ("continuous-mi",),
                _renyi,
                max_n=300,
                description="matrix-based Rényi MI, α = 1.01 (not Shannon MI: shown for its behaviour)",
            )
        )
        add(
            Estimator(
                "pidlearn-csxpid",
                ("continuous-pid",),
                _csxpid,
                max_n=4000,
                description="continuous SxPID (Ehrlich et al. 2024), k = 3",
            )
        )
    if _available("sklearn"):
        add(
            Estimator(
                "sklearn-ksg",
                ("continuous-mi",),
                _sklearn_ksg,
                package="scikit-learn",
                only_1d=True,
                description="mutual_info_regression, k = 3 (per feature: 1-D tasks only)",
            )
        )
        add(
            Estimator(
                "sklearn-plugin",
                ("discrete-mi",),
                _sklearn_discrete,
                package="scikit-learn",
                description="mutual_info_score",
            )
        )
    if _available("npeet_plus"):
        add(
            Estimator(
                "npeet-ksg",
                ("continuous-mi",),
                _npeet_ksg,
                package="npeet-plus",
                max_n=100_000,
                description="NPEET mi, k = 3",
            )
        )
        add(
            Estimator("npeet-plugin", ("discrete-mi",), _npeet_discrete, package="npeet-plus", description="NPEET midd")
        )
    if _available("dit"):
        add(
            Estimator(
                "dit-plugin",
                ("discrete-mi",),
                _dit_mi,
                package="dit",
                max_n=100_000,
                description="counts → dit.Distribution → I",
            )
        )
        add(
            Estimator(
                "dit-sxpid",
                ("discrete-pid",),
                _dit_sxpid,
                package="dit",
                max_dim=2,
                description="counts → dit.Distribution → PID_SX (2 sources; minutes beyond)",
            )
        )
    if _available("idtxl"):
        add(
            Estimator(
                "idtxl-sxpid",
                ("discrete-pid",),
                _idtxl_sxpid,
                package="idtxl",
                max_dim=3,
                description="IDTxl SxPID (idtxl-uv)",
            )
        )
    return {e.name: e for e in out}


_REGISTRY: dict[str, Estimator] | None = None


def all_estimators(kind: str | None = None, *, peers: bool = True) -> list[Estimator]:
    """The estimators available in this environment (of one task kind, if given; without peers if ``peers=False``)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _build()
    return [e for e in _REGISTRY.values() if (kind is None or kind in e.kinds) and (peers or e.package == "pidlearn")]


def get_estimator(name: str) -> Estimator:
    """The available estimator called ``name``."""
    found = {e.name: e for e in all_estimators()}
    if name not in found:
        raise ValueError(f"unknown or unavailable estimator {name!r}; available: {', '.join(found)}")
    return found[name]
