"""Continuous information measures: KSG mutual information, Gaussian and copula MI, matrix-based Rényi MI, and the
continuous shared-exclusion PID.

* :func:`mutual_information` — ``I(X;Y)`` or ``I(X;Y|Z)``: KSG algorithms 1 and 2 (Kraskov et al. 2004),
  Frenzel–Pompe conditional MI, Gaussian and Gaussian-copula MI (Ince et al. 2017); with ``discrete=``, continuous vs
  discrete MI (Ross 2014) and conditioning on a discrete ``z``; ``estimator="mixed_ksg"`` for discrete–continuous
  mixtures (Gao et al. 2017).
* :func:`multi_information` — total correlation of any number of variables (KSG 1/2, Gaussian, copula).
* :func:`permutation_test`, :func:`permutation_test_pid` — seeded permutation tests of (conditional, mixed) MI and
  of every continuous SxPID atom (``sxpid(..., n_permutations=N)``).
* :func:`entropy` — Kozachenko–Leonenko (max-norm) or Gaussian differential entropy.
* :func:`renyi_entropy`, :func:`renyi_joint_entropy`, :func:`renyi_mutual_information` — matrix-based Rényi
  α-entropy functionals (Sanchez Giraldo et al. 2015).
* :func:`sxpid` — continuous SxPID for 2–4 sources (Ehrlich et al. 2024), returning a
  :class:`pidlearn.results.PIDResult`.

All values are in bits by default (``base=2``). Nearest-neighbour estimators standardise every column by default
(``normalize=True``, as scikit-learn and JIDT do) and follow one documented tie policy
(seeded jitter of tied columns only, see :mod:`pidlearn.continuous._checks`) and are deterministic for a seed.
"""

from pidlearn.continuous._checks import CostWarning, TiesWarning
from pidlearn.continuous.mi import (
    ENTROPY_ESTIMATORS,
    ENTROPY_METHODS,
    MI_ESTIMATORS,
    MI_METHODS,
    MULTI_INFO_ESTIMATORS,
    entropy,
    multi_information,
    mutual_information,
)
from pidlearn.continuous.permutation import permutation_test, permutation_test_pid
from pidlearn.continuous.renyi import (
    gram_matrix,
    kernel_width,
    matrix_entropy,
    renyi_entropy,
    renyi_joint_entropy,
    renyi_mutual_information,
)
from pidlearn.continuous.sxpid import sxpid

__all__ = [
    "ENTROPY_ESTIMATORS",
    "ENTROPY_METHODS",
    "MI_ESTIMATORS",
    "MI_METHODS",
    "MULTI_INFO_ESTIMATORS",
    "CostWarning",
    "TiesWarning",
    "entropy",
    "gram_matrix",
    "kernel_width",
    "matrix_entropy",
    "multi_information",
    "mutual_information",
    "permutation_test",
    "permutation_test_pid",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mutual_information",
    "sxpid",
]
