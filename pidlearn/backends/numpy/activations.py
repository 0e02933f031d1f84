"""Activation functions of infomorphic neurons in NumPy, each with its partial derivatives (for the local rule).

Same functions, names and constants as :mod:`pidlearn.backends.torch.activations`: each returns the pre-sigmoid
``A`` and ``∂A/∂input`` for every input class; the neuron fires with ``θ = clamp(σ(A), 1e-6, 1 − 1e-6)``. The
formulas are written once, in :mod:`pidlearn.backends._activations`; this module binds them to NumPy.
"""

from __future__ import annotations

import functools

from pidlearn.backends import _activations as _shared
from pidlearn.backends._activations import N_INPUTS, THETA_CLAMP
from pidlearn.backends._xp import namespace

__all__ = [
    "ACTIVATIONS",
    "THETA_CLAMP",
    "VALUES",
    "bivariate",
    "firing_probability",
    "kay_phillips",
    "memory",
    "trivariate",
]

_xp = namespace("numpy")


def bivariate(r, c, k1: float = 0.9, k2: float = 2.0):
    """Graetz bivariate activation ``A = r · [k1 + (1 − k1) · 2σ(k2 · r · c)]``; returns ``A, (∂A/∂r, ∂A/∂c)``."""
    return _shared.bivariate(_xp, r, c, k1, k2, grad=True)


def kay_phillips(r, c, k1: float = 0.5, k2: float = 2.0):
    """Kay & Phillips (1997) ``A = r · [k1 + (1 − k1) · exp(k2 · r · c)]``; returns ``A, (∂A/∂r, ∂A/∂c)``.

    The exponent is clipped at ``KAY_PHILLIPS_MAX_EXPONENT`` (30; θ is saturated there) and has no derivative beyond.
    """
    return _shared.kay_phillips(_xp, r, c, k1, k2, grad=True)


def trivariate(r, c, l, c1: float = 0.1, c2: float = 0.1, w1: float = 2.0, w2: float = 2.0):
    """``A = r · [(1 − c1 − c2) + c1 · σ(w1 · r · c) + c2 · σ(w2 · r · l)]``; returns ``A, (∂A/∂r, ∂A/∂c, ∂A/∂l)``."""
    return _shared.trivariate(_xp, r, c, l, c1, c2, w1, w2, grad=True)


def memory(r, c, beta: float = 1.0):
    """Sum form of the memory network, ``A = β (r + c)``; returns ``A, (β, β)``."""
    return _shared.memory(_xp, r, c, beta, grad=True)


def firing_probability(a, *, grad: bool = True):
    """``θ = clamp(σ(A), 1e-6, 1 − 1e-6)`` and ``∂θ/∂A`` (zero where the clamp is active, as in torch).

    ``grad=False`` returns θ alone (the same values, without the derivative's passes).
    """
    return _shared.firing_probability(_xp, a, grad=grad)


_FUNCTIONS = {"bivariate": bivariate, "kay_phillips": kay_phillips, "trivariate": trivariate, "memory": memory}

#: name -> (function, number of inputs); the same names as the torch backend.
ACTIVATIONS = {name: (_FUNCTIONS["memory" if name == "sum" else name], n) for name, n in N_INPUTS.items()}

#: name -> the function ``A`` alone, without its derivatives (same constants as in :data:`ACTIVATIONS`; the cheaper
#: pass of a lateral layer's earlier steps, whose θ only draws the next lateral input).
VALUES = {name: functools.partial(getattr(_shared, "memory" if name == "sum" else name), _xp) for name in N_INPUTS}
