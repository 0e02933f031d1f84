"""Binning of neuron inputs in NumPy (bin indices carry no gradient); the schemes of the torch backend.

* **adaptive** — per neuron, divide by the batch maximum ``max_b |x_b|`` and cut ``[−1, 1]`` into ``n_bins`` equal
  bins (bivariate layers, 20 bins);
* **fixed** — ``n_bins`` equal bins on ``[low, high]``, values outside in the end bins (trivariate: ``[−20, 20]``).

Both give the same indices as :mod:`pidlearn.backends.torch.binning` on the same float64 values: the formulas are
written once, in :mod:`pidlearn.backends._binning`.
"""

from __future__ import annotations

import numpy as np

from pidlearn.backends import _binning
from pidlearn.backends._settings import check_n_bins
from pidlearn.backends._xp import namespace

__all__ = ["adaptive_bins", "check_n_bins", "fixed_bins"]

_xp = namespace("numpy")


def adaptive_bins(x, n_bins: int = 20, axis: int = 0) -> np.ndarray:
    """Bin indices (int64, shape of ``x``) after normalising by the maximum ``|x|`` along ``axis`` (the batch)."""
    return _binning.adaptive_bins(_xp, np.asarray(x), n_bins, axis)


def fixed_bins(x, n_bins: int = 20, low: float = -20.0, high: float = 20.0) -> np.ndarray:
    """Bin indices (int64) of ``n_bins`` equal bins on ``[low, high]``; values outside fall in the end bins."""
    return _binning.fixed_bins(_xp, np.asarray(x), n_bins, low, high)
