"""Data-movement kernels of the NumPy backend's training step (numba): no formula lives here, only layouts.

The goal kernel of :mod:`pidlearn.backends._goal_kernels` works per neuron and returns ``∂G/∂θ`` as
(neurons, batch); the chain rule of :meth:`pidlearn.backends.numpy.neurons.InfomorphicLayer.gradients` needs it as
(batch, neurons). NumPy's copy of ``a.T`` walks ``a`` column by column, and with a batch of 1024 float64 values
each step jumps 8 KiB, the cache's worst stride: the tiled copy here is ~3× faster and adds the same numbers in
the same order (bit for bit ``a.T + v``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["transpose_add"]

_TILE = 16  # batch entries per pass over the neurons: 16 float64 = two cache lines of each row of ``a``


@nb.njit(cache=True)
def transpose_add(a, v):
    """``a.T + v[None, :]`` as a new C-contiguous array (m, n), for ``a`` (n, m) and ``v`` (n,).

    Each entry is the one addition ``a[j, i] + v[j]`` in the dtype that NumPy's ``a.T + v`` gives for equal dtypes
    (the result equals NumPy's bit for bit).
    """
    n, m = a.shape
    out = np.empty((m, n), dtype=a.dtype)
    for start in range(0, m, _TILE):
        stop = min(start + _TILE, m)
        for j in range(n):
            vj = v[j]
            for i in range(start, stop):
                out[i, j] = a[j, i] + vj
    return out
