"""Learning backends: ``pidlearn.backends.numpy`` (local rules, no torch) and ``pidlearn.backends.torch``.

Each backend is imported only when asked for, so ``import pidlearn`` never pulls torch; :func:`get` returns one by
name (``get("numpy")``, ``get("torch")``), with an error that says what to install.

What a backend supplies (see ``docs/guide/infomorphic.md``; a third one, e.g. JAX, has this room):

* **the goal of a layer and its gradient** — differentiable (torch: :mod:`pidlearn.backends.torch.functional`,
  autograd) or analytic (NumPy: :func:`pidlearn.backends.numpy.sxpid_goal_gradient`, the local rule): the SxPID goal
  ``G = Σ_α γ_α Π(α)`` of each neuron on a batch and ``∂G/∂θ``; for MOLE also the matrix-based Rényi MI and InfoNCE;
* **a layer** — ``InfomorphicLayer`` with the shared settings of :mod:`pidlearn.backends._settings`
  (:func:`~pidlearn.backends._settings.layer_settings`), activations and binning (the formulas are written once, in
  :mod:`pidlearn.backends._activations` and :mod:`pidlearn.backends._binning`, against an array namespace
  :func:`pidlearn.backends._xp.namespace`);
* **a trainer step** — ``InfomorphicNetwork`` and ``Trainer`` (``fit``, ``accuracy``, ``history``; the epoch loop is
  :class:`pidlearn.backends._trainer.LayeredTrainer`), ``standardise``;
* **checkpoints** — ``Trainer.save``/``load`` writing the ``_pidlearn`` marker (``{"backend", "class"}``) of
  :mod:`pidlearn.backends._files`, so a file of another backend is refused with a message that names it;
* **MOLE** — ``mole.MOLE`` with the same constructor and ``fit(data, epochs, *, eval_sets, checkpoint, ...)``.

Backends import the core (``pidlearn.goals``, ``pidlearn.lattice``, ...) and never the CLI; the core never imports a
backend at module level (``tests/test_architecture.py``).
"""

from __future__ import annotations

import importlib
import importlib.util

__all__ = ["BACKENDS", "get", "load_backend"]

#: Backend names, and the extra each needs beyond the core dependencies.
BACKENDS = {"numpy": None, "torch": "torch"}


def get(name: str):
    """The backend module ``pidlearn.backends.<name>`` (``"numpy"`` or ``"torch"``), imported on first use.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the backends).
    ImportError
        When the backend's extra is not installed (the message says ``pip install "pidlearn[torch]"``).
    """
    if not isinstance(name, str) or name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(map(repr, BACKENDS))}")
    extra = BACKENDS[name]
    if extra is not None and importlib.util.find_spec(extra) is None:
        raise ImportError(f'the {name} backend needs {extra}, which is not installed: pip install "pidlearn[{extra}]"')
    return importlib.import_module(f"pidlearn.backends.{name}")


#: Another name of :func:`get`.
load_backend = get
