"""PyTorch backend: differentiable information measures and infomorphic layers (the only module needing torch).

``functional`` holds the stateless differentiable math (soft joint, entropies, SxPID atoms and goals), ``layers``
the :class:`InfomorphicLayer` module, ``train`` the supervised network and its trainer, ``unsupervised`` and
``memory`` the other two tasks of the papers. See ``docs/guide/infomorphic.md``.
"""

from pidlearn.backends.torch.functional import (
    SxPIDAtoms,
    atom_names,
    entropy,
    mutual_information,
    sample_sxpid_atoms,
    sample_sxpid_goal,
    soft_joint,
    sxpid_atoms,
)
from pidlearn.backends.torch.layers import InfomorphicLayer
from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer, plot_history, standardise

__all__ = [
    "InfomorphicLayer",
    "InfomorphicNetwork",
    "SxPIDAtoms",
    "Trainer",
    "atom_names",
    "entropy",
    "mutual_information",
    "plot_history",
    "sample_sxpid_atoms",
    "sample_sxpid_goal",
    "soft_joint",
    "standardise",
    "sxpid_atoms",
]
