"""Binning of neuron inputs for the soft joint; bin indices never carry a gradient.

Two schemes from the infomorphic papers (Makkeh et al. PNAS 2025):

* **adaptive** — per neuron, divide by the batch maximum ``max_b |x_b|`` and cut ``[−1, 1]`` into ``n_bins`` equal
  bins: ``k = min(⌊(x / max|x| + 1) / 2 · n_bins⌋, n_bins − 1)`` (used for bivariate layers, 20 bins);
* **fixed** — cut ``[low, high]`` into ``n_bins`` equal bins, clamping values outside to the end bins (trivariate
  layers: ``[−20, 20]``, 20 bins of width 2).

The formulas are written once, in :mod:`pidlearn.backends._binning`; this module binds them to torch.
"""

from __future__ import annotations

import torch

from pidlearn.backends import _binning
from pidlearn.backends._settings import check_n_bins
from pidlearn.backends._xp import namespace

__all__ = ["adaptive_bins", "check_n_bins", "fixed_bins"]

_xp = namespace("torch")


@torch.no_grad()
def adaptive_bins(x: torch.Tensor, n_bins: int = 20, dim: int = 0) -> torch.Tensor:
    """Bin indices after normalising by the maximum absolute value along ``dim`` (the batch).

    Parameters
    ----------
    x : Tensor, shape (batch, neurons)
    n_bins : int, default 20
    dim : int, default 0
        Batch axis over which the maximum is taken (per neuron).

    Returns
    -------
    LongTensor, same shape as ``x``, values in ``0..n_bins-1``. A neuron whose inputs are all 0 gets the middle bin.
    """
    return _binning.adaptive_bins(_xp, x.detach(), n_bins, dim)


@torch.no_grad()
def fixed_bins(x: torch.Tensor, n_bins: int = 20, low: float = -20.0, high: float = 20.0) -> torch.Tensor:
    """Bin indices of ``n_bins`` equal bins on ``[low, high]``; values outside fall in the end bins.

    Returns
    -------
    LongTensor, same shape as ``x``, values in ``0..n_bins-1``.
    """
    return _binning.fixed_bins(_xp, x.detach(), n_bins, low, high)
