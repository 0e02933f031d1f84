"""Activation functions of infomorphic neurons: how receptive ``r``, context ``c`` and lateral ``l`` inputs combine.

Each returns the pre-sigmoid ``A``; the neuron fires with ``θ = P(Y = +1) = σ(A)``, clamped to
``[1e-6, 1 − 1e-6]`` by :func:`firing_probability`. Constants are the papers' defaults (Makkeh et al. PNAS 2025;
Schneider et al. ICLR 2025; Kay & Phillips 1997; Blümel et al. 2025). The formulas are written once, in
:mod:`pidlearn.backends._activations`; this module binds them to torch (gradients by autograd).
"""

from __future__ import annotations

import torch

from pidlearn.backends import _activations as _shared
from pidlearn.backends._activations import (
    N_INPUTS,
    THETA_CLAMP,  # noqa: F401  (re-exported: importable here as before)
)
from pidlearn.backends._settings import KAY_PHILLIPS_MAX_EXPONENT  # noqa: F401  (re-exported, as before)
from pidlearn.backends._xp import namespace

__all__ = ["ACTIVATIONS", "bivariate", "firing_probability", "kay_phillips", "memory", "trivariate"]

_xp = namespace("torch")


def bivariate(r: torch.Tensor, c: torch.Tensor, k1: float = 0.9, k2: float = 2.0) -> torch.Tensor:
    """Graetz bivariate activation ``A = r · [k1 + (1 − k1) · 2σ(k2 · r · c)]``.

    ``k1 = 1`` gives ``A = r`` (readout: the context enters only through the goal); hidden layers use ``k1 = 0.9``,
    ``k2 = 2``. The context modulates the gain of ``r`` but cannot flip its sign.
    """
    return _shared.bivariate(_xp, r, c, k1, k2)


def kay_phillips(r: torch.Tensor, c: torch.Tensor, k1: float = 0.5, k2: float = 2.0) -> torch.Tensor:
    """Kay & Phillips (1997) activation ``A = r · [k1 + (1 − k1) · exp(k2 · r · c)]``.

    The exponent is clipped at ``KAY_PHILLIPS_MAX_EXPONENT`` (30), where θ is saturated, so that neither ``A`` nor its
    gradient overflows to ``inf``/NaN.
    """
    return _shared.kay_phillips(_xp, r, c, k1, k2)


def trivariate(
    r: torch.Tensor,
    c: torch.Tensor,
    l: torch.Tensor,
    c1: float = 0.1,
    c2: float = 0.1,
    w1: float = 2.0,
    w2: float = 2.0,
) -> torch.Tensor:
    """Trivariate activation ``A = r · [(1 − c1 − c2) + c1 · σ(w1 · r · c) + c2 · σ(w2 · r · l)]``."""
    return _shared.trivariate(_xp, r, c, l, c1, c2, w1, w2)


def memory(r: torch.Tensor, c: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """Sum form of the memory network, ``A = β (r + c)`` (Blümel et al. 2025)."""
    return _shared.memory(_xp, r, c, beta)


def firing_probability(a: torch.Tensor) -> torch.Tensor:
    """``θ = clamp(σ(A), 1e-6, 1 − 1e-6)``."""
    return _shared.firing_probability(_xp, a)


_FUNCTIONS = {"bivariate": bivariate, "kay_phillips": kay_phillips, "trivariate": trivariate, "memory": memory}

#: name -> (function, number of inputs).
ACTIVATIONS = {name: (_FUNCTIONS["memory" if name == "sum" else name], n) for name, n in N_INPUTS.items()}
