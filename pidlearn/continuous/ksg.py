"""Nearest-neighbour estimators: KSG mutual information, Frenzel–Pompe conditional MI, Kozachenko–Leonenko entropy.

All distances are max-norm (Chebyshev): inside a multivariate variable ``‖v_j - v_i‖ = max_c |v_jc - v_ic|`` and in
a joint space the maximum over its variables. With ``ε_i`` the distance from sample ``i`` to its ``k``-th nearest
neighbour in the joint space (``i`` itself excluded) and ``ψ`` the digamma function:

* KSG algorithm 1 (Kraskov, Stögbauer & Grassberger 2004, eq. 8):
  ``I(X;Y) = ψ(k) + ψ(N) - ⟨ψ(n_x + 1) + ψ(n_y + 1)⟩``,  ``n_x(i) = #{j ≠ i : ‖x_j - x_i‖ < ε_i}`` (strict).
* KSG algorithm 2 (ibid., eq. 9): ``ε_x(i)``, ``ε_y(i)`` are the largest marginal distances among the ``k`` joint
  neighbours, ``n_x(i) = #{j ≠ i : ‖x_j - x_i‖ ≤ ε_x(i)}``, and
  ``I(X;Y) = ψ(k) - 1/k + ψ(N) - ⟨ψ(n_x) + ψ(n_y)⟩``.
* Conditional MI (Frenzel & Pompe 2007): neighbours in the joint ``(X, Y, Z)`` space, strict counts in the
  ``(X, Z)``, ``(Y, Z)`` and ``Z`` subspaces, ``I(X;Y|Z) = ψ(k) - ⟨ψ(n_xz + 1) + ψ(n_yz + 1) - ψ(n_z + 1)⟩``.
* Kozachenko–Leonenko entropy (Kozachenko & Leonenko 1987; Kraskov et al. 2004, eq. 20) in the max-norm, where the
  ball of radius ``r`` has volume ``(2r)^d``: ``H(X) = ψ(N) - ψ(k) + d ⟨ln(2 ε_i)⟩`` nats.

Neighbour search (``algorithm=``), all exact and returning identical results:

* ``"sweep"`` — numba, for joint dimension <= 2 (the common 1-D vs 1-D case): samples are sorted by the first
  coordinate and cut into blocks of consecutive samples, each sorted by the second coordinate; a query visits the
  blocks outwards in the first coordinate and, inside a block, binary-searches the second coordinate and walks
  outwards, both walks stopping as soon as the gap reaches the current ``k``-th distance. Blocks are laid out by a
  counting sort from the argsorts of both columns, which the 1-D marginal counts then reuse.
* ``"kdtree"`` — a numba k-d tree (median splits, 8 samples per leaf), depth-first search with box pruning,
  queries in tree order, parallel over samples; for joint dimension 3 and up.
* ``"brute"`` — numba brute force over all pairs (parallel), for high joint dimension and moderate ``N``.

Marginal counts of a 1-D subspace use binary search on its sorted values (``O(log N)`` per sample, 16 queries in
lockstep without branches); multivariate subspaces use a numba k-d tree that adds whole nodes lying within the
radius (a ball query that visits every point inside, like cKDTree's, is several times slower in 5-D). Every
comparison is made on the same floating-point distances ``|a - b|`` as the brute-force definition (box tests at the
node corners bound those of every point inside), so the strict ``<`` is exact (no ``nextafter`` fudge needed).

References
----------
A. Kraskov, H. Stögbauer and P. Grassberger, "Estimating mutual information", Phys. Rev. E 69, 066138 (2004).
S. Frenzel and B. Pompe, "Partial mutual information for coupling analysis of multivariate time series",
Phys. Rev. Lett. 99, 204101 (2007).
L. F. Kozachenko and N. N. Leonenko, "Sample estimate of the entropy of a random vector", Probl. Inf. Transm. 23,
95–101 (1987).
"""

from __future__ import annotations

import contextlib
import math
import numbers

import numba
import numpy as np
from numba import njit, prange
from scipy.special import digamma

__all__ = [
    "ALGORITHMS",
    "fp_cmi_nats",
    "kl_entropy_nats",
    "knn_distances",
    "ksg_counts",
    "ksg_mi_nats",
    "ksg_multi_info_nats",
]

#: Values accepted by ``algorithm=``.
ALGORITHMS = ("auto", "sweep", "kdtree", "brute")

#: Rows handled per parallel task in the numba kernels.
_CHUNK = 256
#: ``algorithm="auto"`` uses brute force from this joint dimension up ...
_BRUTE_MIN_DIM = 16
#: ... while the number of samples is at most this.
_BRUTE_MAX_N = 30_000


# --------------------------------------------------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------------------------------------------------
#: With ``workers=-1``, the O(N log N) KSG kernels run on one thread below this many samples: starting and
#: synchronising threads costs more than it saves there, and far more on a machine whose cores are busy.
_SERIAL_MAX_N = 20_000


def _check_workers(workers, n_samples: int | None = None) -> int:
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers == 0 or workers < -1:
        raise ValueError(f"workers must be a positive integer or -1 (all cores), got {workers!r}")
    if workers == -1 and n_samples is not None and n_samples < _SERIAL_MAX_N:
        return 1
    return int(workers)


@contextlib.contextmanager
def _numba_threads(workers: int):
    """Run numba parallel kernels with ``workers`` threads (-1: numba's default), restoring the setting after."""
    if workers == -1:
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(workers, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _choose(algorithm: str, n: int, dim: int) -> str:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if algorithm != "auto":
        return algorithm
    if dim <= 2:
        return "sweep"
    if dim >= _BRUTE_MIN_DIM and n <= _BRUTE_MAX_N:
        return "brute"
    return "kdtree"


# --------------------------------------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _insert(best_d, best_v, d, dv, k, track):
    """Insert distance ``d`` (and its per-variable distances ``dv``) into the ascending top-k list."""
    pos = k - 1
    while pos > 0 and best_d[pos - 1] > d:
        best_d[pos] = best_d[pos - 1]
        if track:
            for v in range(dv.shape[0]):
                best_v[pos, v] = best_v[pos - 1, v]
        pos -= 1
    best_d[pos] = d
    if track:
        for v in range(dv.shape[0]):
            best_v[pos, v] = dv[v]


@njit(cache=True, inline="always")
def _offer(data, var_of_col, p, j, best_d, best_v, dv, k, track):
    """Offer sample ``j`` to the top-k list of sample ``p``."""
    n_cols = data.shape[1]
    kth = best_d[k - 1]
    d = 0.0
    for c in range(n_cols):
        t = abs(data[j, c] - data[p, c])
        if t > d:
            d = t
            if d >= kth:
                return
    if track:
        dv[:] = 0.0
        for c in range(n_cols):
            t = abs(data[j, c] - data[p, c])
            if t > dv[var_of_col[c]]:
                dv[var_of_col[c]] = t
    _insert(best_d, best_v, d, dv, k, track)


@njit(cache=True)
def _scan_block(data, var_of_col, p, s, e, lo, c1, best_d, best_v, dv, k, track):
    """Offer the samples of block ``[s, e)`` (sorted by column ``c1``) to the top-k list of sample ``p``.

    ``lo`` splits the block: rows below it have ``data[:, c1] <= y_p``, rows from it on ``>= y_p``. The walk goes
    outwards from ``lo``, always on the side with the smaller gap in column ``c1``, and stops when both gaps reach the
    current k-th distance (no farther sample can enter the list).
    """
    yi = data[p, c1]
    up = lo
    down = lo - 1
    while up < e or down >= s:
        gu = data[up, c1] - yi if up < e else np.inf
        gd = yi - data[down, c1] if down >= s else np.inf
        kth = best_d[k - 1]
        if gu >= kth and gd >= kth:
            break
        if gu <= gd:
            if up != p:
                _offer(data, var_of_col, p, up, best_d, best_v, dv, k, track)
            up += 1
        else:
            if down != p:
                _offer(data, var_of_col, p, down, best_d, best_v, dv, k, track)
            down -= 1


@njit(cache=True)
def _sweep_layout(joint, order0, order1, block):
    """Rows of ``joint`` in sweep layout: ``joint[order0]`` cut into blocks of ``block`` rows, each block sorted by
    column ``c1`` (``order1`` = argsort of that column). One counting-sort pass: walking the samples in ``order1``
    and appending each to the block of its rank in ``order0`` keeps every block in ``c1`` order. Returns the
    laid-out rows and their original indices."""
    n, n_cols = joint.shape
    n_blocks = (n + block - 1) // block
    block_of = np.empty(n, dtype=np.int64)
    for r in range(n):
        block_of[order0[r]] = r // block
    fill = np.empty(n_blocks, dtype=np.int64)
    for b in range(n_blocks):
        fill[b] = b * block
    order = np.empty(n, dtype=np.int64)
    for r in range(n):
        i = order1[r]
        b = block_of[i]
        order[fill[b]] = i
        fill[b] += 1
    data = np.empty((n, n_cols))
    for q in range(n):
        i = order[q]
        for c in range(n_cols):
            data[q, c] = joint[i, c]
    return data, order


@njit(cache=True)
def _block_ranges(data, block):
    """Smallest and largest column-0 value of each block of ``block`` rows (the blocks' extent in the sweep axis)."""
    n = data.shape[0]
    n_blocks = (n + block - 1) // block
    x_lo = np.empty(n_blocks)
    x_hi = np.empty(n_blocks)
    for b in range(n_blocks):
        s = b * block
        e = min(n, s + block)
        lo = data[s, 0]
        hi = data[s, 0]
        for j in range(s + 1, e):
            v = data[j, 0]
            lo = min(lo, v)
            hi = max(hi, v)
        x_lo[b] = lo
        x_hi[b] = hi
    return x_lo, x_hi


@njit(cache=True, inline="always")
def _next_block(xi, kth, x_lo, x_hi, left, right):
    """The nearer (in column 0) of the next unvisited blocks left and right of the query ``xi``.

    Returns ``(block, left, right)`` with the chosen side advanced, or ``block = -1`` when neither block can hold a
    sample closer than the current k-th distance ``kth``.
    """
    gl = xi - x_hi[left] if left >= 0 else np.inf
    gr = x_lo[right] - xi if right < x_lo.shape[0] else np.inf
    if gl >= kth and gr >= kth:
        return -1, left, right
    if gl <= gr:
        return left, left - 1, right
    return right, left, right + 1


@njit(cache=True, inline="always")
def _split_position(data, c1, s, e, yi, cursor, bb):
    """First row of block ``[s, e)`` (sorted by column ``c1``) with ``data[row, c1] >= yi``.

    A binary search on the first visit of the block; afterwards the block's ``cursor`` only moves forward, because
    the queries of one block come in increasing ``c1`` order.
    """
    lo = cursor[bb]
    if lo < 0:
        lo, hi = s, e
        while lo < hi:
            mid = (lo + hi) >> 1
            if data[mid, c1] < yi:
                lo = mid + 1
            else:
                hi = mid
    else:
        while lo < e and data[lo, c1] < yi:
            lo += 1
    cursor[bb] = lo
    return lo


@njit(parallel=True, cache=True)
def _knn_sweep(data, var_of_col, n_vars, k, block, track):
    """k-th neighbour distance (max-norm) of every row of ``data`` laid out in sweep blocks.

    ``data`` rows are sorted by column 0 and cut into blocks of ``block`` rows, each block sorted by column
    ``c1 = min(1, n_cols - 1)``. Returns ``eps`` (n,) and, when ``track``, the per-variable maximum distances among
    the k neighbours (n, n_vars), both in the row order of ``data``.

    The rows of one block are queried in increasing ``c1`` order, so the split position of the query value inside
    any other block only moves forward: one cursor per visited block replaces a binary search per visit.
    """
    n = data.shape[0]
    c1 = 1 if data.shape[1] > 1 else 0
    n_blocks = (n + block - 1) // block
    x_lo, x_hi = _block_ranges(data, block)
    eps = np.empty(n)
    eps_var = np.zeros((n, n_vars if track else 1))
    for b in prange(n_blocks):
        best_d = np.empty(k)
        best_v = np.zeros((k, n_vars))
        dv = np.zeros(n_vars)
        cursor = np.full(n_blocks, -1, dtype=np.int64)  # per visited block: split position of the last query
        for p in range(b * block, min(n, (b + 1) * block)):
            best_d[:] = np.inf
            xi = data[p, 0]
            yi = data[p, c1]
            _scan_block(data, var_of_col, p, b * block, min(n, (b + 1) * block), p, c1, best_d, best_v, dv, k, track)
            left = b - 1
            right = b + 1
            while True:
                bb, left, right = _next_block(xi, best_d[k - 1], x_lo, x_hi, left, right)
                if bb < 0:
                    break
                s = bb * block
                e = min(n, s + block)
                lo = _split_position(data, c1, s, e, yi, cursor, bb)
                _scan_block(data, var_of_col, p, s, e, lo, c1, best_d, best_v, dv, k, track)
            eps[p] = best_d[k - 1]
            if track:
                for v in range(n_vars):
                    m = 0.0
                    for q in range(k):
                        if best_v[q, v] > m:
                            m = best_v[q, v]
                    eps_var[p, v] = m
    return eps, eps_var


@njit(cache=True, inline="always")
def _walk2(data, p, j, stop, step, xi, yi, best_d, best_x, best_y, k, track):
    """Offer rows ``j, j + step, ...`` (``stop`` excluded) of a block sorted by column 1 to the top-k list of row
    ``p``, until the gap in column 1 reaches the current k-th distance. ``best_x``/``best_y``: per-column distances
    of the listed neighbours (``track``)."""
    while j != stop:
        g = data[j, 1] - yi if step > 0 else yi - data[j, 1]
        kth = best_d[k - 1]
        if g >= kth:
            break
        if j != p:
            dx = abs(data[j, 0] - xi)
            d = dx if dx > g else g
            if d < kth:
                pos = k - 1
                while pos > 0 and best_d[pos - 1] > d:
                    best_d[pos] = best_d[pos - 1]
                    if track:
                        best_x[pos] = best_x[pos - 1]
                        best_y[pos] = best_y[pos - 1]
                    pos -= 1
                best_d[pos] = d
                if track:
                    best_x[pos] = dx
                    best_y[pos] = g
        j += step


@njit(parallel=True, cache=True)
def _knn_sweep2(data, k, block, track):
    """:func:`_knn_sweep` specialised to two columns (the 1-D vs 1-D case and 2-D entropies).

    Each walk goes one way (up, then down) from the query's position in a block and stops at the first gap in
    column 1 that reaches the k-th distance: fewer unpredictable branches than an alternating walk. Returns ``eps``
    and, when ``track``, the largest column-0 and column-1 distances among the k neighbours (empty otherwise), in
    the row order of ``data``.
    """
    n = data.shape[0]
    n_blocks = (n + block - 1) // block
    x_lo, x_hi = _block_ranges(data, block)
    eps = np.empty(n)
    eps_x = np.empty(n if track else 0)
    eps_y = np.empty(n if track else 0)
    for b in prange(n_blocks):
        s0 = b * block
        e0 = min(n, s0 + block)
        best_d = np.empty(k)
        best_x = np.empty(k)
        best_y = np.empty(k)
        cursor = np.full(n_blocks, -1, dtype=np.int64)  # per visited block: split position of the last query
        for p in range(s0, e0):
            best_d[:] = np.inf
            xi = data[p, 0]
            yi = data[p, 1]
            _walk2(data, p, p + 1, e0, 1, xi, yi, best_d, best_x, best_y, k, track)
            _walk2(data, p, p - 1, s0 - 1, -1, xi, yi, best_d, best_x, best_y, k, track)
            left = b - 1
            right = b + 1
            while True:
                bb, left, right = _next_block(xi, best_d[k - 1], x_lo, x_hi, left, right)
                if bb < 0:
                    break
                s = bb * block
                e = min(n, s + block)
                lo = _split_position(data, 1, s, e, yi, cursor, bb)
                _walk2(data, p, lo, e, 1, xi, yi, best_d, best_x, best_y, k, track)
                _walk2(data, p, lo - 1, s - 1, -1, xi, yi, best_d, best_x, best_y, k, track)
            eps[p] = best_d[k - 1]
            if track:
                mx = 0.0
                my = 0.0
                for q in range(k):
                    mx = max(mx, best_x[q])
                    my = max(my, best_y[q])
                eps_x[p] = mx
                eps_y[p] = my
    return eps, eps_x, eps_y


#: Queries advanced together by :func:`_count_sorted` (independent loads in flight hide the memory latency).
_LANES = 16


@njit(parallel=True, cache=True)
def _count_sorted(sorted_vals, radius, strict):
    """``#{j ≠ i : |v_j - v_i| < r_i}`` (``strict``) or ``<= r_i`` for every sample, in sorted order.

    ``sorted_vals = v[order]`` and ``radius = r[order]``; the counts come back in the same sorted order.
    ``fl(a - b)`` is monotone in ``a``, so, judged by the same ``|v_j - v_i|`` as the definition, the samples left
    of the window form a prefix of ``sorted_vals`` and so do the samples not beyond its right end. Both prefix
    lengths are found by a branch-free binary search over the whole array (``ceil(log2 N)`` steps); ``_LANES``
    queries are advanced in lockstep so that their loads overlap instead of waiting on each other.
    """
    n = sorted_vals.shape[0]
    out = np.empty(n, dtype=np.int64)
    rows = 1024
    n_chunks = (n + rows - 1) // rows
    for ch in prange(n_chunks):
        left = np.empty(_LANES, dtype=np.int64)
        right = np.empty(_LANES, dtype=np.int64)
        vv = np.empty(_LANES)
        rr = np.empty(_LANES)
        for q0 in range(ch * rows, min(n, (ch + 1) * rows), _LANES):
            m = min(_LANES, n - q0)
            for ln in range(_LANES):
                q = q0 + ln if ln < m else q0  # padding lanes repeat a real query
                vv[ln] = sorted_vals[q]
                rr[ln] = radius[q]
                left[ln] = 0
                right[ln] = 0
            size = n
            while size > 1:  # invariant: the answers lie in [left, left + size) and [right, right + size)
                half = size >> 1
                for ln in range(_LANES):
                    a = left[ln] + half
                    t = vv[ln] - sorted_vals[a - 1]
                    outside = (t >= rr[ln]) if strict else (t > rr[ln])
                    left[ln] = a if outside else left[ln]
                    b = right[ln] + half
                    u = sorted_vals[b - 1] - vv[ln]
                    within = (u < rr[ln]) if strict else (u <= rr[ln])
                    right[ln] = b if within else right[ln]
                size -= half
            for ln in range(m):
                q = q0 + ln
                r = rr[ln]
                if strict and not r > 0.0:
                    out[q] = 0
                    continue
                a = left[ln]
                t = vv[ln] - sorted_vals[a]
                if (t >= r) if strict else (t > r):
                    a += 1
                b = right[ln]
                u = sorted_vals[b] - vv[ln]
                if (u < r) if strict else (u <= r):
                    b += 1
                out[q] = b - a - 1  # the run [a, b) holds the query itself
    return out


#: Samples per leaf of the counting k-d tree.
_LEAF = 16
#: Samples per leaf of the k-d tree of the joint space (nearest-neighbour search).
_KNN_LEAF = 8


@njit(cache=True)
def _select(x, perm, s, e, m, c):
    """Reorder ``perm[s:e]`` so that ``x[perm[m], c]`` is the value of rank ``m - s`` in column ``c``, smaller or equal
    values before it and larger or equal ones after (quickselect, median-of-three pivots; expected ``O(e - s)``)."""
    lo = s
    hi = e - 1
    while hi > lo:
        a = x[perm[lo], c]
        b = x[perm[(lo + hi) >> 1], c]
        d = x[perm[hi], c]
        pivot = max(min(a, b), min(max(a, b), d))
        i = lo
        j = hi
        while i <= j:
            while x[perm[i], c] < pivot:
                i += 1
            while x[perm[j], c] > pivot:
                j -= 1
            if i <= j:
                t = perm[i]
                perm[i] = perm[j]
                perm[j] = t
                i += 1
                j -= 1
        if m <= j:
            hi = j
        elif m >= i:
            lo = i
        else:
            return


@njit(cache=True)
def _kd_build(x, leaf):
    """Balanced k-d tree over the rows of ``x`` (split at the median of the widest column by quickselect, ``leaf``
    rows per leaf; ``O(N log N)``).

    Returns ``perm`` (tree order of the rows), ``pts = x[perm]``, and per node: ``start``/``end`` (its rows are
    ``pts[start:end]``), ``left``/``right`` children (-1 for a leaf) and the bounding box ``lo``/``hi``.
    """
    n, d = x.shape
    perm = np.arange(n)
    max_nodes = 4 * ((n + leaf - 1) // leaf) + 1
    start = np.empty(max_nodes, np.int64)
    end = np.empty(max_nodes, np.int64)
    left = np.full(max_nodes, -1, np.int64)
    right = np.full(max_nodes, -1, np.int64)
    lo = np.empty((max_nodes, d))
    hi = np.empty((max_nodes, d))
    stack = np.empty(256, np.int64)
    start[0] = 0
    end[0] = n
    n_nodes = 1
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        node = stack[top]
        s = start[node]
        e = end[node]
        for c in range(d):
            a = x[perm[s], c]
            b = a
            for q in range(s + 1, e):
                v = x[perm[q], c]
                a = min(a, v)
                b = max(b, v)
            lo[node, c] = a
            hi[node, c] = b
        if e - s <= leaf:
            continue
        best = 0
        spread = -1.0
        for c in range(d):
            if hi[node, c] - lo[node, c] > spread:
                spread = hi[node, c] - lo[node, c]
                best = c
        mid = (s + e) // 2
        _select(x, perm, s, e, mid, best)
        lc = n_nodes
        rc = n_nodes + 1
        n_nodes += 2
        start[lc] = s
        end[lc] = mid
        start[rc] = mid
        end[rc] = e
        left[node] = lc
        right[node] = rc
        stack[top] = rc
        stack[top + 1] = lc
        top += 2
    pts = np.empty((n, d))
    for q in range(n):
        for c in range(d):
            pts[q, c] = x[perm[q], c]
    m = n_nodes
    return perm, pts, start[:m].copy(), end[:m].copy(), left[:m].copy(), right[:m].copy(), lo[:m].copy(), hi[:m].copy()


@njit(parallel=True, cache=True)
def _kd_count(pts, radius, strict, start, end, left, right, lo, hi):
    """``#{j ≠ i : max_c |p_jc - p_ic| < r_i}`` (``strict``) or ``<= r_i`` for every row of the tree's ``pts``.

    Queries run in tree order (neighbouring queries visit the same nodes). A node whose box lies within the radius
    adds its size without visiting its rows; one that lies beyond it is skipped. Both tests compare the same
    ``fl(|a - b|)`` as the definition at the box corners, which bound those of every row inside by monotonicity, so
    the counts are exact.
    """
    n, d = pts.shape
    out = np.empty(n, np.int64)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for ch in prange(n_chunks):
        stack = np.empty(256, np.int64)
        for i in range(ch * _CHUNK, min(n, (ch + 1) * _CHUNK)):
            r = radius[i]
            if strict and not r > 0.0:
                out[i] = 0
                continue
            cnt = 0
            stack[0] = 0
            top = 1
            while top > 0:
                top -= 1
                node = stack[top]
                inside = True
                beyond = False
                for c in range(d):
                    qc = pts[i, c]
                    near_lo = lo[node, c] - qc  # > 0 when the box lies above the query in column c
                    near_hi = qc - hi[node, c]  # > 0 when it lies below
                    if (near_lo >= r or near_hi >= r) if strict else (near_lo > r or near_hi > r):
                        beyond = True
                        break
                    if inside:
                        far_lo = qc - lo[node, c]
                        far_hi = hi[node, c] - qc
                        if (far_lo >= r or far_hi >= r) if strict else (far_lo > r or far_hi > r):
                            inside = False
                if beyond:
                    continue
                if inside:
                    cnt += end[node] - start[node]
                    continue
                if left[node] < 0:
                    for q in range(start[node], end[node]):
                        ok = True
                        for c in range(d):
                            t = abs(pts[q, c] - pts[i, c])
                            if (t >= r) if strict else (t > r):
                                ok = False
                                break
                        cnt += ok
                    continue
                stack[top] = right[node]
                stack[top + 1] = left[node]
                top += 2
            out[i] = cnt - 1  # the query itself
    return out


@njit(parallel=True, cache=True)
def _kd_knn(pts, var_of_col, n_vars, k, track, start, end, left, right, lo, hi):
    """k-th neighbour distance (max-norm, the row itself excluded) of every row of the tree's ``pts``.

    Depth-first search, nearer child first, pruning nodes whose box is at least the current k-th distance away.
    Queries run in tree order. With ``track``, also the largest per-variable distance among the k neighbours.
    """
    n, d = pts.shape
    eps = np.empty(n)
    eps_var = np.zeros((n if track else 0, n_vars))
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for ch in prange(n_chunks):
        stack = np.empty(256, np.int64)
        sdist = np.empty(256)
        best = np.empty(k)
        best_i = np.empty(k, np.int64)
        for i in range(ch * _CHUNK, min(n, (ch + 1) * _CHUNK)):
            best[:] = np.inf
            best_i[:] = -1
            stack[0] = 0
            sdist[0] = 0.0
            top = 1
            while top > 0:
                top -= 1
                node = stack[top]
                if sdist[top] >= best[k - 1]:
                    continue
                if left[node] < 0:
                    for q in range(start[node], end[node]):
                        if q == i:
                            continue
                        kth = best[k - 1]
                        dd = 0.0
                        for c in range(d):
                            t = abs(pts[q, c] - pts[i, c])
                            if t > dd:
                                dd = t
                                if dd >= kth:
                                    break
                        if dd < kth:
                            pos = k - 1
                            while pos > 0 and best[pos - 1] > dd:
                                best[pos] = best[pos - 1]
                                best_i[pos] = best_i[pos - 1]
                                pos -= 1
                            best[pos] = dd
                            best_i[pos] = q
                    continue
                lc = left[node]
                rc = right[node]
                dl = 0.0
                dr = 0.0
                for c in range(d):
                    qc = pts[i, c]
                    dl = max(dl, lo[lc, c] - qc, qc - hi[lc, c])
                    dr = max(dr, lo[rc, c] - qc, qc - hi[rc, c])
                if dl <= dr:  # pop the nearer child first
                    stack[top] = rc
                    sdist[top] = dr
                    stack[top + 1] = lc
                    sdist[top + 1] = dl
                else:
                    stack[top] = lc
                    sdist[top] = dl
                    stack[top + 1] = rc
                    sdist[top + 1] = dr
                top += 2
            eps[i] = best[k - 1]
            if track:
                for q in range(k):
                    j = best_i[q]
                    for c in range(d):
                        t = abs(pts[j, c] - pts[i, c])
                        v = var_of_col[c]
                        if t > eps_var[i, v]:
                            eps_var[i, v] = t
    return eps, eps_var


@njit(parallel=True, cache=True)
def _brute_counts(data_t, var_of_col, n_vars, sub_masks, k, mode):
    """Brute-force KSG counts over all pairs; ``data_t`` is the joint sample matrix transposed, (n_cols, n).

    ``mode == 1``: ``eps_i`` = k-th joint distance, counts ``#{j ≠ i : d_S(i, j) < eps_i}`` for every subspace ``S``
    (a bitmask over variables). ``mode == 2``: per-subspace radius = largest ``d_S`` among the k joint neighbours,
    counts with ``<=``. Returns ``eps`` (n,) and ``counts`` (n, n_subspaces). The inner loops run over contiguous
    rows of ``data_t`` without branches, so they vectorise.
    """
    n_cols, n = data_t.shape
    m = sub_masks.shape[0]
    eps = np.empty(n)
    counts = np.zeros((n, m), dtype=np.int64)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for ch in prange(n_chunks):
        dvar = np.empty((n_vars, n))
        dj = np.empty(n)
        best_d = np.empty(k)
        best_i = np.empty(k, dtype=np.int64)
        for i in range(ch * _CHUNK, min(n, (ch + 1) * _CHUNK)):
            dvar[:, :] = 0.0
            for c in range(n_cols):
                xi = data_t[c, i]
                row = data_t[c]
                dv = dvar[var_of_col[c]]
                for j in range(n):
                    dv[j] = max(dv[j], abs(row[j] - xi))
            dj[:] = dvar[0]
            for v in range(1, n_vars):
                dv = dvar[v]
                for j in range(n):
                    dj[j] = max(dj[j], dv[j])
            dj[i] = np.inf
            best_d[:] = np.inf
            best_i[:] = -1
            for j in range(n):
                d = dj[j]
                if d < best_d[k - 1]:
                    pos = k - 1
                    while pos > 0 and best_d[pos - 1] > d:
                        best_d[pos] = best_d[pos - 1]
                        best_i[pos] = best_i[pos - 1]
                        pos -= 1
                    best_d[pos] = d
                    best_i[pos] = j
            e = best_d[k - 1]
            eps[i] = e
            for s in range(m):
                mask = sub_masks[s]
                dj[:] = 0.0
                for v in range(n_vars):
                    if (mask >> v) & 1:
                        dv = dvar[v]
                        for j in range(n):
                            dj[j] = max(dj[j], dv[j])
                if mode == 1:
                    c = 0
                    for j in range(n):
                        c += dj[j] < e
                    counts[i, s] = c - (1 if e > 0.0 else 0)  # sample i itself is at distance 0
                else:
                    r = 0.0
                    for q in range(k):
                        r = max(r, dj[best_i[q]])
                    c = 0
                    for j in range(n):
                        c += dj[j] <= r
                    counts[i, s] = c - 1
    return eps, counts


# --------------------------------------------------------------------------------------------------------------------
# neighbour search and counts (private; inputs are clean float64 (n, d) arrays)
# --------------------------------------------------------------------------------------------------------------------
def _layout(variables: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    joint = np.ascontiguousarray(np.hstack(variables)) if len(variables) > 1 else variables[0]
    var_of_col = np.concatenate([np.full(v.shape[1], i, dtype=np.int64) for i, v in enumerate(variables)])
    return joint, var_of_col


def _sweep_block_size(n: int, k: int) -> int:
    """Samples per sweep block: about the number of samples in a strip of width 2ε, ~sqrt(k N), a power of 2."""
    return int(min(4096, max(16, 2 ** round(math.log2(math.sqrt(k * n) + 1)))))


def _sweep_eps(joint, var_of_col, n_vars, k, track, workers, block=None):
    """eps (and per-variable radii) by the block sweep; also returns the argsorts of joint columns 0 and ``c1``."""
    n, dim = joint.shape
    if block is None:
        block = _sweep_block_size(n, k)
    c1 = 1 if dim > 1 else 0
    order0 = np.argsort(joint[:, 0])
    order1 = np.argsort(joint[:, 1]) if dim > 1 else order0
    data, order = _sweep_layout(joint, order0, order1, block)
    eps = np.empty(n)
    eps_var = None
    with _numba_threads(workers):
        if dim == 2:
            eps_s, ex, ey = _knn_sweep2(data, k, block, track)
            if track:
                eps_var = np.zeros((n, n_vars))
                for c, col in enumerate((ex, ey)):
                    v = var_of_col[c]
                    eps_var[order, v] = np.maximum(eps_var[order, v], col)
        else:
            eps_s, eps_var_s = _knn_sweep(data, var_of_col, n_vars, k, block, track)
            if track:
                eps_var = np.empty((n, n_vars))
                eps_var[order] = eps_var_s
    eps[order] = eps_s
    return eps, eps_var, order0, (order1 if c1 == 1 else None)


def _kdtree_eps(joint, var_of_col, n_vars, k, track, workers):
    perm, pts, *tree = _kd_build(joint, _KNN_LEAF)
    with _numba_threads(workers):
        eps_t, eps_var_t = _kd_knn(pts, var_of_col, n_vars, k, track, *tree)
    eps = np.empty(joint.shape[0])
    eps[perm] = eps_t
    if not track:
        return eps, None
    eps_var = np.empty_like(eps_var_t)
    eps_var[perm] = eps_var_t
    return eps, eps_var


def _radius_counts(arr: np.ndarray, radius: np.ndarray, strict: bool, workers: int, order=None) -> np.ndarray:
    """``#{j ≠ i : ‖a_j - a_i‖∞ < r_i}`` (``strict``) or ``<= r_i``; ``order``: argsort of a 1-D ``arr``."""
    if arr.shape[1] == 1:
        col = arr[:, 0]
        if order is None:
            order = np.argsort(col)
        with _numba_threads(workers):
            counts_sorted = _count_sorted(col[order], radius[order], strict)
        counts = np.empty_like(counts_sorted)
        counts[order] = counts_sorted
        return counts
    perm, pts, *tree = _kd_build(arr, _LEAF)
    with _numba_threads(workers):
        counts_tree = _kd_count(pts, np.ascontiguousarray(radius[perm]), strict, *tree)
    counts = np.empty_like(counts_tree)
    counts[perm] = counts_tree
    return counts


def knn_distances(
    variables: list[np.ndarray], k: int, *, per_variable: bool = False, algorithm: str = "auto", workers: int = -1
):
    """Distance to the k-th neighbour in the joint max-norm space of ``variables`` (and per-variable maxima).

    Returns ``eps`` (n,) and, with ``per_variable``, ``eps_var`` (n, n_vars): the largest distance in each variable
    among the ``k`` joint neighbours (KSG algorithm 2), else ``None``.
    """
    joint, var_of_col = _layout(variables)
    algo = _choose(algorithm, joint.shape[0], joint.shape[1])
    workers = _check_workers(workers, joint.shape[0])
    n_vars = len(variables)
    if algo == "sweep":
        return _sweep_eps(joint, var_of_col, n_vars, k, per_variable, workers)[:2]
    if algo == "kdtree":
        return _kdtree_eps(joint, var_of_col, n_vars, k, per_variable, workers)
    masks = np.array([1 << v for v in range(n_vars)], dtype=np.int64)
    with _numba_threads(workers):
        eps, _ = _brute_counts(np.ascontiguousarray(joint.T), var_of_col, n_vars, masks[:0], k, 1)
    if not per_variable:
        return eps, None
    # per-variable radii via the brute kernel's mode 2 would need counts; recompute from the kdtree neighbours
    return _kdtree_eps(joint, var_of_col, n_vars, k, True, workers)


def ksg_counts(
    variables: list[np.ndarray],
    subspaces: list[tuple[int, ...]],
    k: int,
    *,
    mode: int = 1,
    algorithm: str = "auto",
    workers: int = -1,
) -> np.ndarray:
    """Neighbour counts of the KSG family, shape (n, len(subspaces)).

    Parameters
    ----------
    variables : list of float64 arrays (n, d_v)
        The joint space is their concatenation under the max-norm.
    subspaces : list of tuples of variable indices
        Where to count neighbours.
    k : int
    mode : {1, 2}
        1: strict counts within the k-th joint distance (KSG-1, Frenzel–Pompe). 2: counts ``<=`` the largest
        subspace distance among the k joint neighbours (KSG-2).
    algorithm : {"auto", "sweep", "kdtree", "brute"}
    workers : int
        Threads (-1: all).
    """
    joint, var_of_col = _layout(variables)
    n, dim = joint.shape
    algo = _choose(algorithm, n, dim)
    workers = _check_workers(workers, joint.shape[0])
    n_vars = len(variables)
    if algo == "brute":
        masks = np.array([sum(1 << v for v in s) for s in subspaces], dtype=np.int64)
        with _numba_threads(workers):
            _, counts = _brute_counts(np.ascontiguousarray(joint.T), var_of_col, n_vars, masks, k, mode)
        return counts
    sorted_by = {}  # variable -> its argsort, when the sweep already sorted that 1-D variable's column
    if algo == "sweep":
        eps, eps_var, order0, order1 = _sweep_eps(joint, var_of_col, n_vars, k, mode == 2, workers)
        if variables[0].shape[1] == 1:
            sorted_by[0] = order0
        if order1 is not None and n_vars > 1 and variables[0].shape[1] == 1:
            sorted_by[1] = order1  # joint column 1 is variable 1's only column
    else:
        eps, eps_var = _kdtree_eps(joint, var_of_col, n_vars, k, mode == 2, workers)
    out = np.empty((n, len(subspaces)), dtype=np.int64)
    for s, sub in enumerate(subspaces):
        arr = variables[sub[0]] if len(sub) == 1 else np.ascontiguousarray(np.hstack([variables[v] for v in sub]))
        radius = eps if mode == 1 else np.ascontiguousarray(eps_var[:, list(sub)].max(axis=1))
        reuse = sorted_by.get(sub[0]) if len(sub) == 1 else None
        out[:, s] = _radius_counts(arr, radius, mode == 1, workers, reuse)
    return out


# --------------------------------------------------------------------------------------------------------------------
# estimators in nats (private: clean inputs)
# --------------------------------------------------------------------------------------------------------------------
def _mean_digamma(counts: np.ndarray, shift: float) -> float:
    """``mean(ψ(counts + shift))`` for non-negative integer counts, evaluating ψ once per distinct count."""
    freq = np.bincount(counts)
    vals = np.flatnonzero(freq)
    return float(np.dot(freq[vals], digamma(vals + shift)) / counts.shape[0])


def ksg_mi_nats(x, y, k: int, *, mode: int = 1, algorithm: str = "auto", workers: int = -1) -> float:
    """KSG estimate of ``I(X;Y)`` in nats (algorithm ``mode`` 1 or 2) from clean (n, d) arrays."""
    n = x.shape[0]
    counts = ksg_counts([x, y], [(0,), (1,)], k, mode=mode, algorithm=algorithm, workers=workers)
    if mode == 1:
        return float(digamma(k) + digamma(n) - _mean_digamma(counts[:, 0], 1.0) - _mean_digamma(counts[:, 1], 1.0))
    return float(
        digamma(k) - 1.0 / k + digamma(n) - _mean_digamma(counts[:, 0], 0.0) - _mean_digamma(counts[:, 1], 0.0)
    )


def ksg_multi_info_nats(variables, k: int, *, mode: int = 1, algorithm: str = "auto", workers: int = -1) -> float:
    """KSG estimate of the multi-information of ``m >= 2`` clean (n, d) arrays in nats (algorithm ``mode`` 1 or 2).

    Kraskov et al. (2004), the ``m``-variable forms of eqs. 8 and 9 (JIDT's ``MultiInfoCalculatorKraskov1/2``):
    ``ψ(k) + (m − 1) ψ(N) − Σ_i ⟨ψ(n_i + 1)⟩`` with strict counts ``n_i`` within the joint ``ε``, or
    ``ψ(k) − (m − 1)/k + (m − 1) ψ(N) − Σ_i ⟨ψ(n_i)⟩`` with per-variable radii and ``≤``. For ``m = 2`` the same
    operations as :func:`ksg_mi_nats`, so the same bits.
    """
    n = variables[0].shape[0]
    m = len(variables)
    counts = ksg_counts(variables, [(i,) for i in range(m)], k, mode=mode, algorithm=algorithm, workers=workers)
    if mode == 1:
        total = digamma(k) + (m - 1) * digamma(n)
        for i in range(m):
            total = total - _mean_digamma(counts[:, i], 1.0)
    else:
        total = digamma(k) - (m - 1) / k + (m - 1) * digamma(n)
        for i in range(m):
            total = total - _mean_digamma(counts[:, i], 0.0)
    return float(total)


def fp_cmi_nats(x, y, z, k: int, *, algorithm: str = "auto", workers: int = -1) -> float:
    """Frenzel–Pompe estimate of ``I(X;Y|Z)`` in nats from clean (n, d) arrays."""
    counts = ksg_counts([x, y, z], [(0, 2), (1, 2), (2,)], k, mode=1, algorithm=algorithm, workers=workers)
    return float(
        digamma(k)
        - _mean_digamma(counts[:, 0], 1.0)
        - _mean_digamma(counts[:, 1], 1.0)
        + _mean_digamma(counts[:, 2], 1.0)
    )


def kl_entropy_nats(x, k: int, *, algorithm: str = "auto", workers: int = -1) -> float:
    """Kozachenko–Leonenko differential entropy (max-norm) in nats from a clean (n, d) array."""
    n, d = x.shape
    eps, _ = knn_distances([x], k, algorithm=algorithm, workers=workers)
    if np.any(eps <= 0.0):
        m = int(np.sum(eps <= 0.0))
        raise ValueError(
            f"{m} samples have at least k = {k} exact duplicates, so their k-th neighbour distance is 0 and the "
            "differential entropy is -inf. Pass jitter > 0 or use a discrete estimator"
        )
    return float(digamma(n) - digamma(k) + d * np.mean(np.log(2.0 * eps)))
