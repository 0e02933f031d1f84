"""PyTorch backend: differentiable information measures and infomorphic layers (the only module needing torch).

``functional`` holds the stateless differentiable math (soft joint, entropies, SxPID atoms and goals), ``layers``
the :class:`InfomorphicLayer` module, ``train`` the supervised network and its trainer, ``unsupervised`` and
``memory`` the other two tasks of the papers, ``mole`` module-wise training (MOLE). See
``docs/guide/infomorphic.md``.

The package exports the API both backends share (``tests/test_backends_contract.py``): ``InfomorphicLayer``,
``InfomorphicNetwork``, ``Trainer``, ``standardise``, ``UnsupervisedTrainer``, ``linear_probe``,
``random_projection_codes``, ``InfomorphicMemory``, ``random_patterns``, ``hopfield_weights``, ``recall``,
``recall_capacity``, ``MOLE``, ``atom_names`` and the plots ``plot_history`` / ``plot_mi_history``; beside them the
differentiable measures of ``functional``.
"""

from pidlearn.backends.plots import plot_history, plot_mi_history
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
from pidlearn.backends.torch.memory import (
    InfomorphicMemory,
    hopfield_weights,
    random_patterns,
    recall,
    recall_capacity,
)
from pidlearn.backends.torch.mole import MOLE
from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer, standardise
from pidlearn.backends.torch.unsupervised import UnsupervisedTrainer, linear_probe, random_projection_codes

__all__ = [
    "MOLE",
    "InfomorphicLayer",
    "InfomorphicMemory",
    "InfomorphicNetwork",
    "SxPIDAtoms",
    "Trainer",
    "UnsupervisedTrainer",
    "atom_names",
    "entropy",
    "hopfield_weights",
    "linear_probe",
    "mutual_information",
    "plot_history",
    "plot_mi_history",
    "random_patterns",
    "random_projection_codes",
    "recall",
    "recall_capacity",
    "sample_sxpid_atoms",
    "sample_sxpid_goal",
    "soft_joint",
    "standardise",
    "sxpid_atoms",
]
