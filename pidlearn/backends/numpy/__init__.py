"""NumPy backend: infomorphic neurons with an analytic local learning rule (numba kernels, no torch, no autograd).

* :func:`sxpid_goal_gradient` (:mod:`.local_rule`) — each neuron's SxPID goal on a batch and its exact derivative
  ``∂G/∂θ`` from the atoms' pointwise log terms;
* :class:`InfomorphicLayer` (:mod:`.neurons`) — bivariate and trivariate neurons with the torch backend's
  activations, binning and goal presets; :meth:`InfomorphicLayer.local_update` gives every neuron's weight and bias
  changes from its own batch statistics;
* :class:`InfomorphicNetwork`, :class:`Trainer` (:mod:`.train`) — the supervised networks and trainer, same
  interface as the torch backend's (``pidlearn train --backend numpy``).
"""

from pidlearn.backends.numpy.local_rule import GoalGradient, atom_names, goal_weights, sxpid_goal_gradient
from pidlearn.backends.numpy.neurons import InfomorphicLayer, LocalUpdate
from pidlearn.backends.numpy.train import Adam, InfomorphicNetwork, Trainer, standardise

__all__ = [
    "Adam",
    "GoalGradient",
    "InfomorphicLayer",
    "InfomorphicNetwork",
    "LocalUpdate",
    "Trainer",
    "atom_names",
    "goal_weights",
    "standardise",
    "sxpid_goal_gradient",
]
