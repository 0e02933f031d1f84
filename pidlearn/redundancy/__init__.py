"""pidlearn's own redundancy functions of PID measures other than SxPID, on the one lattice of :mod:`pidlearn.lattice`.

Each measure supplies only its redundancy ``I_∩(T; α)`` for every antichain ``α`` (and, where the measure has one, a
pointwise form); the lattice's Möbius inversion turns redundancies into atoms, here as for SxPID.

=========  ===============================================  ==========================  ==================
measure    redundancy of an antichain ``{A_1..A_k}``         reference                   local atoms
=========  ===============================================  ==========================  ==================
``imin``   ``Σ_t p(t) min_i I(T=t; A_i)``                     Williams & Beer (2010)      per target value
``mmi``    ``min_i I(T; A_i)``                               Barrett (2015)              none
``ccs``    counted pointwise co-information on max-ent q     Ince (2017)                 per realisation
``dep``    ``max(0, I_1 + I_2 - I_pair, I_1 + I_2 - I_ci)``  James et al. (2018)         none
``broja``  ``max_{Q ∈ Δ_P} CoI_Q(T; S_1; S_2)``             Bertschinger et al. (2014)  none
=========  ===============================================  ==========================  ==================

``imin``, ``mmi`` and ``ccs`` are defined for any number of sources (2..5, the lattice's range); ``dep`` and
``broja`` for two (:data:`TWO_SOURCES`; for more, :mod:`pidlearn.measures` delegates them to dit). They agree with
dit's ``PID_WB``, ``PID_MMI``, ``PID_CCS``, ``PID_dep`` and ``PID_BROJA``; see ``docs/guide/pid.md``.
"""

from __future__ import annotations

import math

import numpy as np

from pidlearn.lattice import lattice
from pidlearn.redundancy import broja, ccs, dep, imin, mmi
from pidlearn.redundancy._tables import SetTables, set_tables
from pidlearn.results import PIDResult

__all__ = ["NATIVE", "TWO_SOURCES", "SetTables", "decompose", "set_tables"]

#: measure key -> redundancy function ``tables -> (average redundancies, pointwise redundancies or None)`` (nats).
NATIVE = {
    "imin": imin.redundancies,
    "mmi": mmi.redundancies,
    "ccs": ccs.redundancies,
    "dep": dep.redundancies,
    "broja": broja.redundancies,
}
#: Native measures defined for two sources only.
TWO_SOURCES = frozenset({"dep", "broja"})


def decompose(
    support: np.ndarray,
    probs: np.ndarray,
    n_sources: int,
    measure: str,
    *,
    base: float = 2.0,
    rows: np.ndarray | None = None,
    realisations=None,
) -> PIDResult:
    """PID of a distribution given on its support with a native measure.

    Parameters
    ----------
    support : ndarray of int64, shape (m, n_sources + 1)
        Distinct realisations with non-zero probability, columns ``(s_1..s_n, t)`` coded ``0..k-1``.
    probs : ndarray of float64, shape (m,)
        Their probabilities (summing to 1).
    n_sources : int
        Number of sources (2..5; 2 for the measures in :data:`TWO_SOURCES`).
    measure : str
        A key of :data:`NATIVE`.
    base : float, default 2
        Logarithm base.
    rows : ndarray of int64, optional
        Support row of each sample: local atoms are given per sample (``local[i] = pointwise[rows[i]]``); without
        it, per support row.
    realisations : optional
        Stored on the result (the realisation of each row of ``local``).

    Returns
    -------
    PIDResult
        Atoms in lattice order; ``local`` where the measure has pointwise values, else None.
    """
    lat = lattice(n_sources)
    tables = set_tables(support, probs, n_sources)
    avg, pointwise = NATIVE[measure](tables)
    scale = 1.0 / math.log(base)
    values = lat.mobius @ (avg * scale)
    local = None
    if pointwise is not None:
        m_t = lat.mobius.T

        def local():
            arr = (pointwise * scale) @ m_t
            arr = np.asarray(arr)
            return arr if rows is None else arr[rows]

    full = (1 << n_sources) - 1
    return PIDResult(
        lat.names,
        values,
        local=local,
        mutual_information=float(tables.mutual_information[full]) * scale,
        entropy_target=tables.entropy_target * scale,
        n_sources=n_sources,
        base=base,
        measure=measure,
        realisations=realisations,
    )
