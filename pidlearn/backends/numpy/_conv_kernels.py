"""numba kernels of the NumPy backend's grid layers: max pooling forward (value and index of the maximum of each
window) and backward (the gradient routed to that index).

Clean inputs only (:class:`pidlearn.backends.numpy.nn.MaxPool2d` checks shapes and makes the arrays C-contiguous):
``x`` (n, c, h, w); ``s`` the window size = stride; the output is ``(n, c, h // s, w // s)`` (floor, as
``torch.nn.MaxPool2d``). One pass over the input, no ``(…, s²)`` block copy, and the index is saved in the forward
pass so that the backward pass is a scatter.

The window scan follows torch's CPU kernel: an element replaces the running maximum when it is larger or NaN, so
ties go to the first maximum in row-major order and a window holding NaN gives NaN (at its last NaN). The NaN test
keeps LLVM from vectorising the comparison (about 3× slower), so it runs only when the caller found a NaN in ``x``
(``propagate_nan``); without NaN both scans give the same result.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def max_pool_forward(x: np.ndarray, s: int, propagate_nan: bool, out: np.ndarray, arg: np.ndarray) -> None:
    """``out[a, b, i, j] = max x[a, b, s i : s i + s, s j : s j + s]`` and ``arg[a, b, i, j]`` its flat index
    ``row · w + col`` in the plane ``x[a, b]``."""
    n, c, _, w = x.shape
    ho, wo = out.shape[2], out.shape[3]
    for a in range(n):
        for b in range(c):
            plane, o, g = x[a, b], out[a, b], arg[a, b]
            for i in range(ho):
                r0 = s * i
                for j in range(wo):
                    c0 = s * j
                    best = plane[r0, c0]
                    where = r0 * w + c0
                    if propagate_nan:
                        for di in range(s):
                            for dj in range(s):
                                v = plane[r0 + di, c0 + dj]
                                if v > best or v != v:
                                    best = v
                                    where = (r0 + di) * w + c0 + dj
                    else:
                        for di in range(s):
                            for dj in range(s):
                                v = plane[r0 + di, c0 + dj]
                                take = v > best  # branch-free selects: vectorised
                                best = v if take else best
                                where = (r0 + di) * w + c0 + dj if take else where
                    o[i, j] = best
                    g[i, j] = where


@njit(cache=True)
def max_pool_backward(g: np.ndarray, arg: np.ndarray, dx: np.ndarray) -> None:
    """``dx[a, b, arg[a, b, i, j]] = g[a, b, i, j]`` into a zeroed ``dx`` (n, c, h·w): windows do not overlap, so
    every input cell receives at most one gradient."""
    n, c, ho, wo = g.shape
    for a in range(n):
        for b in range(c):
            for i in range(ho):
                for j in range(wo):
                    dx[a, b, arg[a, b, i, j]] = g[a, b, i, j]
