r"""I_dep, the dependency-constraint unique information of James, Emenheiser & Crutchfield (2018); two sources.

The *dependency lattice* of ``(S_1, S_2, T)`` orders the sets of marginal constraints (each a set of variables whose
joint distribution is kept), and each node carries the maximum-entropy distribution that meets its constraints.
The unique information of ``S_1`` is the least increase of ``I(S_1 S_2; T)`` along an edge of the lattice that adds
the constraint ``S_1 T``:

.. math::

    U_1 = \min \{\, I_{\{S_1S_2, S_1T, S_2T\}} - I_{\{S_1S_2, S_2T\}},\;
                    I_{\{S_1S_2, S_1T\}} - I_{\{S_1S_2, T\}},\;
                    I_{\{S_1T, S_2T\}} - I_{\{S_2T, S_1\}},\;
                    I_{\{S_1T, S_2\}} - I_{\{S_1, S_2, T\}} \,\},

where ``I_C`` is ``I(S_1 S_2; T)`` under the maximum-entropy distribution with the marginals ``C``. Four of the
six distributions have closed forms (``p(s_1 s_2) p(t)`` and ``p(s_1)p(s_2)p(t)`` give 0, ``p(s_1 s_2) p(t | s_1)``
and ``p(s_1, t) p(s_2)`` give ``I(S_1; T)``); ``{S_1T, S_2T}`` is ``q_ci = p(s_1, t) p(s_2, t) / p(t)``, and only
the pairwise one ``q_pair`` (all three pair marginals) needs iterative proportional fitting. Hence, with
``I_i = I(S_i; T)``,

.. math::

    U_1 = \min(I_{pair} - I_2,\; I_1,\; I_{ci} - I_2), \qquad
    I_\mathrm{dep}^{\cap} = I_1 - U_1 = \max(0,\; I_1 + I_2 - I_{pair},\; I_1 + I_2 - I_{ci}),

which is symmetric in the sources, so ``U_2 = I_2 - I_dep^∩`` and the decomposition is consistent. The redundancy
supplied to the lattice is this ``I_dep^∩`` for ``{1}{2}`` and ``I(T; S_A)`` for the other antichains. I_dep has no
pointwise form (its atoms have no local values).

``q_pair`` is the maximum-entropy distribution of I_ccs's antichain ``{1}{2}`` (:func:`pidlearn.redundancy.ccs.maxent`:
IPF to a marginal deviation below 1e-14, with a linear program for the support when the constraints induce zeros).

dit's ``PID_dep`` computes the same quantity by fitting all nine nodes numerically; for three or more sources dit
applies it to each source against the others and extends it with lattice identities (pidlearn delegates that case
to dit).

References
----------
R. G. James, J. Emenheiser and J. P. Crutchfield, "Unique information via dependency constraints",
J. Phys. A: Math. Theor. 52, 014002 (2019), arXiv:1709.06653.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pidlearn.redundancy import ccs
from pidlearn.redundancy._tables import SetTables

__all__ = ["redundancies", "redundancy"]


@njit(cache=True)
def _mi_conditionally_independent(a, b, t, ka, kb, kt, probs):
    """``I(S_1 S_2; T)`` (nats) under ``q(a, b, t) = p(a, t) p(b, t) / p(t)``."""
    pat = np.zeros((ka, kt))
    pbt = np.zeros((kb, kt))
    pt = np.zeros(kt)
    for r in range(t.shape[0]):
        pat[a[r], t[r]] += probs[r]
        pbt[b[r], t[r]] += probs[r]
        pt[t[r]] += probs[r]
    qab = np.zeros((ka, kb))
    for x in range(ka):
        for y in range(kb):
            for v in range(kt):
                if pt[v] > 0:
                    qab[x, y] += pat[x, v] * pbt[y, v] / pt[v]
    mi = 0.0
    for x in range(ka):
        for y in range(kb):
            for v in range(kt):
                if pt[v] > 0 and pat[x, v] > 0 and pbt[y, v] > 0:
                    q = pat[x, v] * pbt[y, v] / pt[v]
                    mi += q * np.log(q / (qab[x, y] * pt[v]))
    return mi


@njit(cache=True)
def _mi_of_table(q):
    """``I(J; T)`` (nats) of a table ``q[j, t]``."""
    n_j, kt = q.shape
    pj = np.zeros(n_j)
    pt = np.zeros(kt)
    for j in range(n_j):
        for v in range(kt):
            pj[j] += q[j, v]
            pt[v] += q[j, v]
    mi = 0.0
    for j in range(n_j):
        for v in range(kt):
            if q[j, v] > 0:
                mi += q[j, v] * np.log(q[j, v] / (pj[j] * pt[v]))
    return mi


def redundancy(tables: SetTables) -> float:
    """``I_dep^∩ = max(0, I_1 + I_2 - I_pair, I_1 + I_2 - I_ci)`` of a two-source distribution, in nats."""
    q, _, _ = ccs.maxent(tables, np.array([1, 2], dtype=np.int64))
    i_pair = _mi_of_table(q)
    i_ci = _mi_conditionally_independent(
        tables.codes[1], tables.codes[2], tables.t, int(tables.sizes[1]), int(tables.sizes[2]), tables.kt, tables.probs
    )
    i1, i2 = tables.mutual_information[1], tables.mutual_information[2]
    return max(0.0, i1 + i2 - i_pair, i1 + i2 - i_ci)


def redundancies(tables: SetTables) -> tuple[np.ndarray, None]:
    """I_dep redundancies of the two-source lattice ``{1}{2}, {1}, {2}, {12}`` in nats, and None (no pointwise form).

    Parameters
    ----------
    tables : SetTables
        Tables of a two-source distribution.

    Returns
    -------
    average : ndarray, shape (4,)
        ``(I_dep^∩, I(T; S_1), I(T; S_2), I(T; S_1 S_2))``.
    pointwise : None
    """
    mi = tables.mutual_information
    return np.array([redundancy(tables), mi[1], mi[2], mi[3]]), None
