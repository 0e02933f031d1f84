"""NumPy backend: infomorphic neurons with an analytic local learning rule (numba kernels, no torch, no autograd).

* :func:`sxpid_goal_gradient` (:mod:`.local_rule`) — each neuron's SxPID goal on a batch and its exact derivative
  ``∂G/∂θ`` from the atoms' pointwise log terms;
* :class:`InfomorphicLayer` (:mod:`.neurons`) — bivariate and trivariate neurons with the torch backend's
  activations, binning and goal presets; :meth:`InfomorphicLayer.local_update` gives every neuron's weight and bias
  changes from its own batch statistics;
* :class:`InfomorphicNetwork`, :class:`Trainer` (:mod:`.train`) — the supervised networks and trainer, same
  interface as the torch backend's (``pidlearn train --backend numpy``);
* :class:`UnsupervisedTrainer` (:mod:`.unsupervised`) and :class:`InfomorphicMemory` (:mod:`.memory`) — the
  unsupervised and associative-memory tasks, the torch backend's API with analytic gradients;
* :class:`MOLE` (:mod:`.mole`, :mod:`.mole_objectives`, :mod:`.nn`) — module-wise training with the Rényi, InfoNCE
  and PID objectives and their analytic gradients on MLP, CNN, GCN and GIN modules;
* :mod:`.continuous_sxpid` — the continuous SxPID of real-valued samples (soft-count KSG-type estimator, the torch
  backend's numba kernel) and the analytic gradient of a goal in its atoms with respect to the samples;
* :func:`plot_history`, :func:`plot_mi_history` — the training plots (:mod:`pidlearn.backends.plots`, shared with
  the torch backend; matplotlib is imported only when a plot is drawn).

The names both backends export are the shared API (``tests/test_backends_contract.py``).

No module of this backend imports torch.
"""

from pidlearn.backends.numpy import nn
from pidlearn.backends.numpy.local_rule import GoalGradient, atom_names, goal_weights, sxpid_goal_gradient
from pidlearn.backends.numpy.memory import (
    InfomorphicMemory,
    hopfield_weights,
    random_patterns,
    recall,
    recall_capacity,
)
from pidlearn.backends.numpy.mole import MOLE
from pidlearn.backends.numpy.mole_objectives import InfoNCE, PIDGoal, RenyiMI, entropy_gradient, make_objective
from pidlearn.backends.numpy.neurons import InfomorphicLayer, LocalUpdate
from pidlearn.backends.numpy.train import Adam, InfomorphicNetwork, Trainer, standardise
from pidlearn.backends.numpy.unsupervised import UnsupervisedTrainer, linear_probe, random_projection_codes
from pidlearn.backends.plots import plot_history, plot_mi_history

__all__ = [
    "MOLE",
    "Adam",
    "GoalGradient",
    "InfoNCE",
    "InfomorphicLayer",
    "InfomorphicMemory",
    "InfomorphicNetwork",
    "LocalUpdate",
    "PIDGoal",
    "RenyiMI",
    "Trainer",
    "UnsupervisedTrainer",
    "atom_names",
    "entropy_gradient",
    "goal_weights",
    "hopfield_weights",
    "linear_probe",
    "make_objective",
    "nn",
    "plot_history",
    "plot_mi_history",
    "random_patterns",
    "random_projection_codes",
    "recall",
    "recall_capacity",
    "standardise",
    "sxpid_goal_gradient",
]
