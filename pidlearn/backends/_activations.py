"""Activation functions of infomorphic neurons, written once for both backends against an array namespace ``xp``.

Each returns the pre-sigmoid ``A`` from the receptive ``r``, context ``c`` (and lateral ``l``) drives; with
``grad=True`` also ``∂A/∂input`` for every input class (the NumPy backend's analytic local rule; torch differentiates
the same expression with autograd). The neuron fires with ``θ = clamp(σ(A), 1e-6, 1 − 1e-6)``
(:func:`firing_probability`). ``xp`` is :func:`pidlearn.backends._xp.namespace` ``("numpy")`` or ``("torch")``;
the backends' thin modules :mod:`pidlearn.backends.numpy.activations` and :mod:`pidlearn.backends.torch.activations`
bind it. Constants are the papers' defaults (Makkeh et al. PNAS 2025; Schneider et al. ICLR 2025; Kay & Phillips
1997; Blümel et al. 2025). This module imports neither torch nor numba.
"""

from __future__ import annotations

from pidlearn.backends._settings import KAY_PHILLIPS_MAX_EXPONENT

__all__ = ["N_INPUTS", "THETA_CLAMP", "bivariate", "firing_probability", "kay_phillips", "memory", "trivariate"]

#: θ is clamped to ``[THETA_CLAMP, 1 − THETA_CLAMP]``.
THETA_CLAMP = 1e-6

#: Activation name -> number of input classes (``sum`` is another name of ``memory``).
N_INPUTS = {"bivariate": 2, "kay_phillips": 2, "trivariate": 3, "memory": 2, "sum": 2}


def bivariate(xp, r, c, k1: float = 0.9, k2: float = 2.0, *, grad: bool = False):
    """Graetz bivariate activation ``A = r · [k1 + (1 − k1) · 2σ(k2 · r · c)]`` (and ``(∂A/∂r, ∂A/∂c)``)."""
    s = xp.sigmoid(k2 * r * c)
    a = r * (k1 + (1.0 - k1) * 2.0 * s)
    if not grad:
        return a
    ds = (1.0 - k1) * 2.0 * s * (1.0 - s) * k2 * r  # ∂/∂(r c) of the gain, times r
    return a, (k1 + (1.0 - k1) * 2.0 * s + ds * c, ds * r)


def kay_phillips(xp, r, c, k1: float = 0.5, k2: float = 2.0, *, grad: bool = False):
    """Kay & Phillips (1997) ``A = r · [k1 + (1 − k1) · exp(k2 · r · c)]`` (and ``(∂A/∂r, ∂A/∂c)``).

    The exponent is clipped at ``KAY_PHILLIPS_MAX_EXPONENT`` (30; θ is saturated there) and has no derivative beyond.
    """
    z = k2 * r * c
    e = xp.exp(xp.clamp_max(z, KAY_PHILLIPS_MAX_EXPONENT))
    a = r * (k1 + (1.0 - k1) * e)
    if not grad:
        return a
    de = (1.0 - k1) * e * k2 * r * (z < KAY_PHILLIPS_MAX_EXPONENT)
    return a, (k1 + (1.0 - k1) * e + de * c, de * r)


def trivariate(xp, r, c, l, c1: float = 0.1, c2: float = 0.1, w1: float = 2.0, w2: float = 2.0, *, grad=False):
    """``A = r · [(1 − c1 − c2) + c1 · σ(w1 · r · c) + c2 · σ(w2 · r · l)]`` (and ``(∂A/∂r, ∂A/∂c, ∂A/∂l)``)."""
    s1 = xp.sigmoid(w1 * r * c)
    s2 = xp.sigmoid(w2 * r * l)
    gain = (1.0 - c1 - c2) + c1 * s1 + c2 * s2
    if not grad:
        return r * gain
    d1 = c1 * s1 * (1.0 - s1) * w1 * r
    d2 = c2 * s2 * (1.0 - s2) * w2 * r
    return r * gain, (gain + d1 * c + d2 * l, d1 * r, d2 * r)


def memory(xp, r, c, beta: float = 1.0, *, grad: bool = False):
    """Sum form of the memory network, ``A = β (r + c)`` (and ``(β, β)``)."""
    a = beta * (r + c)
    if not grad:
        return a
    ones = xp.full_like(r, beta)
    return a, (ones, ones)


def firing_probability(xp, a, *, grad: bool = False):
    """``θ = clamp(σ(A), 1e-6, 1 − 1e-6)`` (and ``∂θ/∂A``, zero where the clamp is active, as torch's autograd)."""
    s = xp.sigmoid(a)
    theta = xp.clamp(s, THETA_CLAMP, 1.0 - THETA_CLAMP)
    if not grad:
        return theta
    inside = (s >= THETA_CLAMP) & (s <= 1.0 - THETA_CLAMP)
    return theta, xp.where(inside, s * (1.0 - s), 0.0)
