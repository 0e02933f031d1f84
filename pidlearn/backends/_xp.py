"""A tiny array-namespace shim: the few operations whose names differ between NumPy and torch.

The shared formulas of :mod:`pidlearn.backends._activations` and :mod:`pidlearn.backends._binning` are written once
against an ``xp`` from :func:`namespace`; each backend passes its own. Importing this module imports neither torch
nor numba (torch is imported the first time ``namespace("torch")`` is called).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import expit

__all__ = ["namespace"]


class _NumpyOps:
    """``xp`` for NumPy arrays (``sigmoid`` is SciPy's ``expit``)."""

    name = "numpy"
    sigmoid = staticmethod(expit)
    exp = staticmethod(np.exp)
    floor = staticmethod(np.floor)
    where = staticmethod(np.where)
    full_like = staticmethod(np.full_like)

    @staticmethod
    def clamp(x, low, high):
        return np.clip(x, low, high)

    @staticmethod
    def clamp_max(x, high):
        return np.minimum(x, high)

    @staticmethod
    def clamp_min(x, low):
        return np.maximum(x, low)

    @staticmethod
    def abs_max(x, axis):
        return np.abs(x).max(axis=axis, keepdims=True)

    @staticmethod
    def tiny(x):
        return np.finfo(x.dtype).tiny

    @staticmethod
    def to_index(x):
        return x.astype(np.int64)


class _TorchOps:
    """``xp`` for torch tensors (made on first use, so that NumPy users never import torch)."""

    name = "torch"

    def __init__(self):
        import torch

        self._torch = torch
        self.sigmoid, self.exp, self.floor = torch.sigmoid, torch.exp, torch.floor
        self.where, self.full_like = torch.where, torch.full_like

    def clamp(self, x, low, high):
        return self._torch.clamp(x, low, high)

    def clamp_max(self, x, high):
        return self._torch.clamp(x, max=high)

    def clamp_min(self, x, low):
        return x.clamp_min(low)

    def abs_max(self, x, axis):
        return x.abs().amax(dim=axis, keepdim=True)

    def tiny(self, x):
        return self._torch.finfo(x.dtype).tiny

    def to_index(self, x):
        return x.to(self._torch.int64)


@functools.cache
def namespace(name: str):
    """The ``xp`` of ``"numpy"`` or ``"torch"``."""
    if name == "numpy":
        return _NumpyOps()
    if name == "torch":
        return _TorchOps()
    raise ValueError(f"unknown array namespace {name!r}; expected 'numpy' or 'torch'")
