"""Goal functions of infomorphic neurons: weights γ of PID atoms, and the papers' presets (no torch needed).

An infomorphic neuron maximises ``G = Σ_α γ_α Π(α) + γ_res H_res`` where ``Π(α)`` are the SxPID atoms of its output
``Y`` against its input classes (source 1 = receptive R, 2 = context C, 3 = lateral L) and
``H_res = H(Y) − I(Y; R, C[, L])`` (Makkeh et al. 2025; Schneider et al. 2025). A goal is a mapping from canonical
atom names (:mod:`pidlearn.lattice`) to γ, with the key ``"H_res"`` for the residual entropy; atoms not named have
γ = 0. Both learning backends read the presets from here.

Presets (γ as in the authors' reference configuration)
-------------------------------------------------------
=========================  =====  ==============================================================================
name                       n      γ
=========================  =====  ==============================================================================
readout                    2      {1}: −0.2, {2}: 0.1, {1}{2}: 1.0, {12}: 0.1
context_heuristic          2      {1}{2}: 1 (redundancy of R and C)
context_optimised          2      {1}: 0.0379, {2}: 0.3185, {1}{2}: 0.7755, {12}: 0.1536, H_res: 0.0076
lateral_heuristic          2      {1}: 1 (unique information of R; source 2 = lateral)
lateral_optimised          2      {1}: 0.8051, {2}: −0.4079, {1}{2}: 0.5380, {12}: 0.5634, H_res: −0.0097
trivariate_heuristic       3      {1}{2}: 1
trivariate_optimised       3      {1}{2}{3}: 0.33, {1}{2}: 1, {1}{3}: −1, {12}{13}: −1 (the papers' simplified form)
memory                     2      {1}{2}: 1 (redundancy of the input and the network's previous state)
=========================  =====  ==============================================================================

References
----------
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
A. C. Schneider et al., "What should a neuron aim for? Designing local objective functions based on information
theory", ICLR (2025).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping

import numpy as np

from pidlearn.lattice import lattice

__all__ = ["PRESETS", "RESIDUAL", "goal_rows", "goal_vector", "preset"]

#: Key of the residual entropy ``H_res`` in a goal mapping.
RESIDUAL = "H_res"

#: name -> (number of sources, {atom name or "H_res": γ}).
PRESETS: dict[str, tuple[int, dict[str, float]]] = {
    "readout": (2, {"{1}": -0.2, "{2}": 0.1, "{1}{2}": 1.0, "{12}": 0.1}),
    "context_heuristic": (2, {"{1}{2}": 1.0}),
    "context_optimised": (2, {"{1}": 0.0379, "{2}": 0.3185, "{1}{2}": 0.7755, "{12}": 0.1536, RESIDUAL: 0.0076}),
    "lateral_heuristic": (2, {"{1}": 1.0}),
    "lateral_optimised": (2, {"{1}": 0.8051, "{2}": -0.4079, "{1}{2}": 0.5380, "{12}": 0.5634, RESIDUAL: -0.0097}),
    "trivariate_heuristic": (3, {"{1}{2}": 1.0}),
    "trivariate_optimised": (3, {"{1}{2}{3}": 0.33, "{1}{2}": 1.0, "{1}{3}": -1.0, "{12}{13}": -1.0}),
    "memory": (2, {"{1}{2}": 1.0}),
}


def _normalise_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return key.replace("optimized", "optimised")


def preset(name: str) -> tuple[int, dict[str, float]]:
    """``(n_sources, γ mapping)`` of a named preset (``"context-optimized"`` and similar spellings are accepted).

    Raises
    ------
    ValueError
        If the name is not a preset; the message lists the presets.
    """
    if not isinstance(name, str):
        raise TypeError(f"a goal preset is a string, got {type(name).__name__}")
    key = _normalise_name(name)
    if key not in PRESETS:
        raise ValueError(f"unknown goal preset {name!r}; choose one of: {', '.join(PRESETS)}")
    n, gamma = PRESETS[key]
    return n, dict(gamma)


def goal_vector(goal, n_sources: int) -> tuple[list[float], float]:
    """γ in the lattice order of ``n_sources`` sources, and γ_res.

    Parameters
    ----------
    goal : str or Mapping[str, float]
        A preset name (see :data:`PRESETS`) or a mapping ``{atom name: γ}`` with optional ``"H_res"``.
    n_sources : int
        Number of sources of the neuron (2: R, C; 3: R, C, L).

    Returns
    -------
    gamma : list of float, length n_atoms
    gamma_res : float

    Raises
    ------
    ValueError
        If a name is not an atom of the ``n_sources``-source lattice, a weight is not finite, or a preset is made for
        a different number of sources.
    """
    lat = lattice(n_sources)
    if isinstance(goal, str):
        n_preset, mapping = preset(goal)
        if n_preset != n_sources:
            raise ValueError(
                f"goal preset {goal!r} is defined for {n_preset} sources but the neuron has {n_sources} "
                f"(receptive, context{', lateral' if n_sources == 3 else ''})"
            )
    elif isinstance(goal, Mapping):
        mapping = dict(goal)
        if not mapping:
            raise ValueError("the goal names no atom; give at least one {atom name: weight}")
    else:
        raise TypeError(f"goal must be a preset name or a mapping of atom names to weights, got {type(goal).__name__}")
    gamma = [0.0] * lat.n_atoms
    gamma_res = 0.0
    for name, value in mapping.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"goal weight of {name!r} must be a finite number, got {value!r}")
        if name == RESIDUAL:
            gamma_res = float(value)
            continue
        try:
            idx = lat.index(name)
        except (KeyError, ValueError, TypeError):
            raise ValueError(
                f"goal names {name!r}, which is not an atom of the {n_sources}-source lattice; atoms are "
                f"{', '.join(lat.names)} (and {RESIDUAL!r} for the residual entropy)"
            ) from None
        gamma[idx] += float(value)
    return gamma, gamma_res


@functools.cache
def goal_rows(n: int, gamma: tuple[float, ...], gamma_res: float = 0.0) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The antichains whose redundancy a goal needs, and their weights.

    Since the atoms are the Möbius inversion of the redundancies, ``Π = M I_sx``, and ``H_res = H(Y) − I_sx(top)``,
    the goal is linear in the redundancies:

    .. math::

        G = γ^\\top Π + γ_{res} H_{res} = (M^\\top γ − γ_{res} e_{top})^\\top I_{sx} + γ_{res} H(Y),

    so only the antichains with a non-zero weight ``w = Mᵀγ − γ_res e_top`` need their redundancy (1 of 4 for the
    context heuristic, 7 of 18 for the optimised trivariate goal). Every backend's goal evaluates just these.

    Parameters
    ----------
    n : int
        Number of sources (1 to 4 for a dense Möbius matrix).
    gamma : tuple of float
        γ in lattice order (:func:`goal_vector`), as a tuple (the result is cached per goal).
    gamma_res : float, default 0.0
        Weight of the residual entropy ``H_res``.

    Returns
    -------
    rows : tuple of int
        Indices (lattice order) of the antichains with ``|w| > 1e-15``.
    weights : tuple of float
        Their weights ``w``.
    """
    lat = lattice(n)
    w = lat.mobius.toarray().T @ np.asarray(gamma, dtype=float)
    w[lat.top] -= gamma_res
    rows = tuple(int(i) for i in np.flatnonzero(np.abs(w) > 1e-15))
    return rows, tuple(float(w[i]) for i in rows)
