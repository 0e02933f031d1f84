"""pidlearn: measure information and learn with it.

Fast discrete and continuous mutual information, the shared-exclusion partial information decomposition (SxPID),
and information-theoretic local learning. Submodules are imported lazily, so ``import pidlearn`` stays light:

* :mod:`pidlearn.discrete` — entropies, (conditional) mutual information, bias corrections, permutation test.
* :mod:`pidlearn.lattice` — the redundancy lattice of n sources, names and Möbius inversion.
* :func:`pidlearn.sxpid` — shared-exclusion PID of discrete samples (``pidlearn.sxpid_from_pmf`` for a pmf);
  :func:`pidlearn.pid` — the same call for other PID measures (through dit).
* :func:`pidlearn.discretise` — equal-width or equal-frequency bins for real data (:mod:`pidlearn.binning`).
* :mod:`pidlearn.significance` — permutation machinery and :class:`pidlearn.BiasWarning` (plug-in estimates
  dominated by their bias).
* :mod:`pidlearn.higher_order` — total correlation, dual total correlation, O-/S-information, their gradients and
  co-information of a data matrix, and fast searches over multiplets.
* :mod:`pidlearn.continuous` — KSG, Gaussian, copula and Rényi estimators, continuous SxPID.
* :mod:`pidlearn.backends` — learning backends (``numpy``, ``torch``).
* :func:`pidlearn.batch_sxpid` — SxPID of many variable tuples of one data matrix, serial or on Dask;
  :func:`pidlearn.batch_pid` — the native measures (I_min, I_MMI, I_ccs, I_dep, I_BROJA) of many tuples;
  :mod:`pidlearn.bench` — estimator benchmarks against ground truth (``pidlearn bench``).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "discrete",
    "continuous",
    "lattice",
    "sxpid",
    "results",
    "measures",
    "datasets",
    "backends",
    "bench",
    "binning",
    "significance",
    "higher_order",
}
# ``pidlearn.sxpid`` is the module pidlearn/sxpid.py, made callable (``pidlearn.sxpid(target, sources)``), so that
# the name means the same thing whether or not the submodule was imported first.
_FUNCTIONS = {
    "sxpid_from_pmf": ("sxpid", "sxpid_from_pmf"),
    "pid": ("measures", "pid"),
    "PIDResult": ("results", "PIDResult"),
    "batch_sxpid": ("bench.batch", "batch_sxpid"),
    "batch_pid": ("measures", "batch_pid"),
    "discretise": ("binning", "discretise"),
    "BiasWarning": ("significance", "BiasWarning"),
}

__all__ = sorted(_SUBMODULES | set(_FUNCTIONS) | {"__version__"})


def __getattr__(name: str):
    if name in _FUNCTIONS:
        module, attr = _FUNCTIONS[name]
        value = getattr(importlib.import_module(f"pidlearn.{module}"), attr)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"pidlearn.{name}")
    else:
        raise AttributeError(f"module 'pidlearn' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
