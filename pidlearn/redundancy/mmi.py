r"""I_MMI, the minimum-mutual-information redundancy (Barrett 2015).

.. math::

    I_\mathrm{MMI}(T; A_1, \dots, A_k) = \min_i I(T; A_i)

for an antichain whose source sets are ``A_1..A_k``. Defined for any number of sources; it has no pointwise form
(the minimum is taken over averages), so its results have no local atoms.

References
----------
A. B. Barrett, "Exploration of synergistic and redundant information sharing in static and dynamical Gaussian
systems", Phys. Rev. E 91, 052802 (2015).
"""

from __future__ import annotations

import numpy as np

from pidlearn.redundancy._tables import SetTables, antichain_masks

__all__ = ["redundancies"]


def redundancies(tables: SetTables) -> tuple[np.ndarray, None]:
    """I_MMI of every antichain (lattice order) in nats, and None (no pointwise values).

    Parameters
    ----------
    tables : SetTables
        The distribution's per-source-set tables.

    Returns
    -------
    average : ndarray, shape (n_atoms,)
        ``min_{A ∈ α} I(T; A)``.
    pointwise : None
    """
    masks = antichain_masks(tables.n)
    mi = tables.mutual_information.copy()
    mi[0] = np.inf  # padding of the mask table
    return mi[masks].min(axis=1), None
