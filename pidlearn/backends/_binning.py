"""Binning of neuron inputs, written once for both backends against an array namespace ``xp``.

* **adaptive** — per neuron, divide by the batch maximum ``max_b |x_b|`` and cut ``[−1, 1]`` into ``n_bins`` equal
  bins: ``k = min(⌊(x / max|x| + 1) / 2 · n_bins⌋, n_bins − 1)`` (bivariate layers, 20 bins);
* **fixed** — cut ``[low, high]`` into ``n_bins`` equal bins, values outside in the end bins (trivariate layers:
  ``[−20, 20]``, 20 bins of width 2).

Bin indices are int64 and carry no gradient (the torch wrapper passes detached tensors under ``no_grad``). Both
backends get the same indices on the same float64 values (the same operations). Imports neither torch nor numba.
"""

from __future__ import annotations

from pidlearn.backends._settings import check_n_bins

__all__ = ["adaptive_bins", "fixed_bins"]


def adaptive_bins(xp, x, n_bins: int = 20, axis: int = 0):
    """Bin indices after normalising by the maximum ``|x|`` along ``axis`` (the batch); all-zero inputs: middle bin."""
    n_bins = check_n_bins(n_bins)
    scale = xp.clamp_min(xp.abs_max(x, axis), xp.tiny(x))
    u = (x / scale + 1.0) * (0.5 * n_bins)
    return xp.to_index(xp.clamp(xp.floor(u), 0, n_bins - 1))


def fixed_bins(xp, x, n_bins: int = 20, low: float = -20.0, high: float = 20.0):
    """Bin indices of ``n_bins`` equal bins on ``[low, high]``; values outside fall in the end bins."""
    n_bins = check_n_bins(n_bins)
    if not high > low:
        raise ValueError(f"fixed binning needs high > low, got [{low}, {high}]")
    u = (x - low) * (n_bins / (high - low))
    return xp.to_index(xp.clamp(xp.floor(u), 0, n_bins - 1))
