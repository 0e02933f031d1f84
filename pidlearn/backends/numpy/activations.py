"""Activation functions of infomorphic neurons in NumPy, each with its partial derivatives (for the local rule).

Same functions, names and constants as :mod:`pidlearn.backends.torch.activations`: each returns the pre-sigmoid
``A`` and ``∂A/∂input`` for every input class; the neuron fires with ``θ = clamp(σ(A), 1e-6, 1 − 1e-6)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from pidlearn.backends._settings import KAY_PHILLIPS_MAX_EXPONENT

__all__ = ["ACTIVATIONS", "THETA_CLAMP", "bivariate", "firing_probability", "kay_phillips", "memory", "trivariate"]

THETA_CLAMP = 1e-6


def bivariate(r, c, k1: float = 0.9, k2: float = 2.0):
    """Graetz bivariate activation ``A = r · [k1 + (1 − k1) · 2σ(k2 · r · c)]``; returns ``A, (∂A/∂r, ∂A/∂c)``."""
    s = expit(k2 * r * c)
    ds = (1.0 - k1) * 2.0 * s * (1.0 - s) * k2 * r  # ∂/∂(r c) of the gain, times r
    return r * (k1 + (1.0 - k1) * 2.0 * s), (k1 + (1.0 - k1) * 2.0 * s + ds * c, ds * r)


def kay_phillips(r, c, k1: float = 0.5, k2: float = 2.0):
    """Kay & Phillips (1997) ``A = r · [k1 + (1 − k1) · exp(k2 · r · c)]``; returns ``A, (∂A/∂r, ∂A/∂c)``.

    The exponent is clipped at ``KAY_PHILLIPS_MAX_EXPONENT`` (30; θ is saturated there) and has no derivative beyond.
    """
    z = k2 * r * c
    e = np.exp(np.minimum(z, KAY_PHILLIPS_MAX_EXPONENT))
    de = (1.0 - k1) * e * k2 * r * (z < KAY_PHILLIPS_MAX_EXPONENT)
    return r * (k1 + (1.0 - k1) * e), (k1 + (1.0 - k1) * e + de * c, de * r)


def trivariate(r, c, l, c1: float = 0.1, c2: float = 0.1, w1: float = 2.0, w2: float = 2.0):
    """``A = r · [(1 − c1 − c2) + c1 · σ(w1 · r · c) + c2 · σ(w2 · r · l)]``; returns ``A, (∂A/∂r, ∂A/∂c, ∂A/∂l)``."""
    s1 = expit(w1 * r * c)
    s2 = expit(w2 * r * l)
    gain = (1.0 - c1 - c2) + c1 * s1 + c2 * s2
    d1 = c1 * s1 * (1.0 - s1) * w1 * r
    d2 = c2 * s2 * (1.0 - s2) * w2 * r
    return r * gain, (gain + d1 * c + d2 * l, d1 * r, d2 * r)


def memory(r, c, beta: float = 1.0):
    """Sum form of the memory network, ``A = β (r + c)``; returns ``A, (β, β)``."""
    ones = np.full_like(r, beta)
    return beta * (r + c), (ones, ones)


def firing_probability(a):
    """``θ = clamp(σ(A), 1e-6, 1 − 1e-6)`` and ``∂θ/∂A`` (zero where the clamp is active, as in torch)."""
    s = expit(a)
    inside = (s >= THETA_CLAMP) & (s <= 1.0 - THETA_CLAMP)
    return np.clip(s, THETA_CLAMP, 1.0 - THETA_CLAMP), np.where(inside, s * (1.0 - s), 0.0)


#: name -> (function, number of inputs); the same names as the torch backend.
ACTIVATIONS = {
    "bivariate": (bivariate, 2),
    "kay_phillips": (kay_phillips, 2),
    "trivariate": (trivariate, 3),
    "memory": (memory, 2),
    "sum": (memory, 2),
}
