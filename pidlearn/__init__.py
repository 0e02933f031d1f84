"""pidlearn: measure information and learn with it.

Fast discrete and continuous mutual information, the shared-exclusion partial information decomposition (SxPID),
and information-theoretic local learning. Submodules are imported lazily, so ``import pidlearn`` stays light:

* :mod:`pidlearn.discrete` — entropies, (conditional) mutual information, bias corrections, permutation test.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {"discrete", "continuous", "lattice", "sxpid", "results", "measures", "datasets", "backends"}
_FUNCTIONS = {
    "mutual_information": ("discrete", "mutual_information"),
    "entropy": ("discrete", "entropy"),
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
