r"""I_min, the redundancy of Williams & Beer (2010): expected minimum specific information.

.. math::

    I_\min(T; A_1, \dots, A_k) = \sum_t p(t) \min_{i} I(T = t; A_i), \qquad
    I(T = t; A) = \sum_a p(a \mid t) \log \frac{p(t \mid a)}{p(t)},

for an antichain whose source sets are ``A_1..A_k`` (each ``A_i`` the joint variable of its sources). Defined for
any number of sources.

Pointwise values: I_min has values per *target outcome* (not per realisation): ``r_t(α) = min_i I(T = t; A_i)``,
whose average over ``p(t)`` is the redundancy. Their Möbius inversion gives target-specific atoms, and the local atoms
pidlearn returns for a realisation ``(s, t)`` are the specific atoms of its target value ``t``.

References
----------
P. L. Williams and R. D. Beer, "Nonnegative decomposition of multivariate information", arXiv:1004.2515 (2010).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pidlearn.redundancy._tables import SetTables, antichain_masks

__all__ = ["redundancies"]


@njit(cache=True)
def _imin(spec, p_target, masks):
    n_atoms, width = masks.shape
    kt = p_target.shape[0]
    per_target = np.empty((kt, n_atoms))
    avg = np.zeros(n_atoms)
    for j in range(n_atoms):
        for v in range(kt):
            best = np.inf
            for k in range(width):
                g = masks[j, k]
                if g == 0:
                    break
                if spec[g, v] < best:
                    best = spec[g, v]
            per_target[v, j] = best
            avg[j] += p_target[v] * best
    return avg, per_target


def redundancies(tables: SetTables) -> tuple[np.ndarray, np.ndarray]:
    """I_min of every antichain (lattice order) and its per-realisation pointwise values, in nats.

    Parameters
    ----------
    tables : SetTables
        The distribution's per-source-set tables.

    Returns
    -------
    average : ndarray, shape (n_atoms,)
        ``Σ_t p(t) min_{A ∈ α} I(T = t; A)``.
    pointwise : ndarray, shape (m, n_atoms)
        ``min_{A ∈ α} I(T = t_r; A)`` for each support row ``r`` (depends on the row's target value only).
    """
    avg, per_target = _imin(tables.spec, tables.p_target, antichain_masks(tables.n))
    return avg, per_target[tables.t]
