"""Binning of neuron inputs in NumPy (bin indices carry no gradient); the schemes of the torch backend.

* **adaptive** — per neuron, divide by the batch maximum ``max_b |x_b|`` and cut ``[−1, 1]`` into ``n_bins`` equal
  bins (bivariate layers, 20 bins);
* **fixed** — ``n_bins`` equal bins on ``[low, high]``, values outside in the end bins (trivariate: ``[−20, 20]``).

Both give the same indices as :mod:`pidlearn.backends.torch.binning` on the same float64 values (same operations).
"""

from __future__ import annotations

import numpy as np

from pidlearn.backends._settings import check_n_bins

__all__ = ["adaptive_bins", "check_n_bins", "fixed_bins"]


def adaptive_bins(x, n_bins: int = 20, axis: int = 0) -> np.ndarray:
    """Bin indices (int64, shape of ``x``) after normalising by the maximum ``|x|`` along ``axis`` (the batch)."""
    n_bins = check_n_bins(n_bins)
    x = np.asarray(x)
    scale = np.maximum(np.abs(x).max(axis=axis, keepdims=True), np.finfo(x.dtype).tiny)
    u = (x / scale + 1.0) * (0.5 * n_bins)
    return np.clip(np.floor(u), 0, n_bins - 1).astype(np.int64)


def fixed_bins(x, n_bins: int = 20, low: float = -20.0, high: float = 20.0) -> np.ndarray:
    """Bin indices (int64) of ``n_bins`` equal bins on ``[low, high]``; values outside fall in the end bins."""
    n_bins = check_n_bins(n_bins)
    if not high > low:
        raise ValueError(f"fixed binning needs high > low, got [{low}, {high}]")
    u = (np.asarray(x) - low) * (n_bins / (high - low))
    return np.clip(np.floor(u), 0, n_bins - 1).astype(np.int64)
