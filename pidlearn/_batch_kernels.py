"""Fused numba kernels for the SxPID of many variable tuples of one encoded data matrix (and the batch counting of
the native PID measures, :func:`count_tables`).

One kernel call decomposes a whole batch of ``(target, source_1, .., source_n)`` tuples with the same number of
sources, in parallel over chunks of tuples. Per tuple, everything happens in thread-local scratch:

1. **Count** the joint ``(S_1, .., S_n, T)`` into a dense table of ``k_1 ⋯ k_n k_T`` cells (target fastest). For
   small tables of small-alphabet columns the count is a popcount of ANDed one-hot bitsets (``N / 64`` words per
   value, so a binary cell costs ``n N / 64`` word operations instead of ``N`` loads); otherwise one pass over the
   samples.
2. **Agreement counts.** For every source set ``h`` the marginal table of ``(S_h, T)`` is summed from the occupied
   cells; for an occupied cell ``r`` the counts ``C[r, h]`` (samples agreeing with ``r`` on the sources in ``h``)
   and ``C_t[r, h]`` (and on the target) are read off it, and the superset Möbius transform gives ``W[r, g]`` and
   ``W_t[r, g]`` (agreement on exactly ``g``) — the same integers as :class:`pidlearn.sxpid._Support` computes.
3. **Pointwise redundancy** of every antichain by the lattice's spanning tree of covers (one integer addition per
   antichain, as in :func:`pidlearn.sxpid._redundancy_row`), ``i⁺ = (ln N - ln D) / ln b`` and
   ``i⁻ = (ln N_t - ln D_t) / ln b`` with the logarithms of the integer counts taken from a table of ``ln 0..N``
   (the same ``math.log`` values the per-call kernel computes), accumulated with weight ``count / N``.
4. **Möbius inversion** of the averages with the lattice's sparse matrix (CSR arrays), written into row ``i`` of
   the preallocated outputs.

All integer quantities equal those of :func:`pidlearn.sxpid` exactly and every pointwise value is computed by the
same expression; only the order of the final weighted sums differs (``sxpid`` averages with a BLAS matrix-vector
product), so atoms agree to a few ulp (far below 1e-12). Each tuple is computed serially by one thread, so the result
of a tuple does not depend on the chunking or the thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

__all__ = ["bitsets", "count_log_table", "count_tables", "sxpid_tuples"]

#: Tuples per parallel work item (each allocates its scratch once).
_CHUNK = 32


@intrinsic
def _popcount(typingctx, x):
    """Number of set bits of a uint64 (LLVM ``ctpop``: one instruction on CPUs with POPCNT)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(cache=True)
def count_log_table(n):
    """``ln 0..n`` (``ln 0`` is never read), computed with ``math.log`` like the per-call kernel."""
    out = np.zeros(n + 1)
    for i in range(1, n + 1):
        out[i] = math.log(float(i))
    return out


@njit(cache=True)
def bitsets(codes, ks, bit_row, n_rows):
    """One-hot bitsets: row ``bit_row[c] + v`` has bit ``j`` set when sample ``j`` of column ``c`` has code ``v``.

    Columns with ``bit_row[c] < 0`` get none. Shape ``(n_rows, ceil(N / 64))``, uint64.
    """
    n = codes.shape[1]
    n_words = (n + 63) >> 6
    out = np.zeros((n_rows, n_words), np.uint64)
    for c in range(codes.shape[0]):
        b = bit_row[c]
        if b < 0:
            continue
        for j in range(n):
            out[b + np.int64(codes[c, j]), j >> 6] |= np.uint64(1) << np.uint64(j & 63)
    return out


@njit(cache=True)
def _count_bits(bits, bit_row, ks, tup, n, table, prefix, digits):
    """Dense joint counts of (sources..., target) from one-hot bitsets; every cell of the table is written."""
    n_words = bits.shape[1]
    t_row = bit_row[tup[0]]
    kt = ks[tup[0]]
    for i in range(n):
        digits[i] = 0
    changed = 0
    base = 0
    while True:
        # prefix[l] = AND of the bitsets of sources 0..l at their current digits (recomputed from `changed` down)
        nonzero = False
        for lev in range(changed, n):
            row = bit_row[tup[lev + 1]] + digits[lev]
            any_bit = np.uint64(0)
            if lev == 0:
                for w in range(n_words):
                    x = bits[row, w]
                    prefix[0, w] = x
                    any_bit |= x
            else:
                for w in range(n_words):
                    x = prefix[lev - 1, w] & bits[row, w]
                    prefix[lev, w] = x
                    any_bit |= x
            nonzero = any_bit != 0  # the deepest level (n - 1) is always recomputed last
        if nonzero:
            for v in range(kt):
                tr = t_row + v
                c = np.uint64(0)
                for w in range(n_words):
                    c += _popcount(prefix[n - 1, w] & bits[tr, w])
                table[base + v] = np.int64(c)
        else:
            for v in range(kt):
                table[base + v] = 0
        # next combination of source digits (odometer, last source fastest)
        lev = n - 1
        while lev >= 0:
            digits[lev] += 1
            if digits[lev] < ks[tup[lev + 1]]:
                break
            digits[lev] = 0
            lev -= 1
        if lev < 0:
            return
        changed = lev
        base += kt


@njit(cache=True)
def _count_direct(codes, tup, n, strides, cells, table):
    """Dense joint counts of (sources..., target) by one pass over the samples."""
    for q in range(cells):
        table[q] = 0
    t = tup[0]
    n_samples = codes.shape[1]
    if n == 2:
        a, b = tup[1], tup[2]
        sa, sb = strides[0], strides[1]
        for j in range(n_samples):
            table[np.int64(codes[a, j]) * sa + np.int64(codes[b, j]) * sb + np.int64(codes[t, j])] += 1
    elif n == 3:
        a, b, c = tup[1], tup[2], tup[3]
        sa, sb, sc = strides[0], strides[1], strides[2]
        for j in range(n_samples):
            idx = np.int64(codes[a, j]) * sa + np.int64(codes[b, j]) * sb + np.int64(codes[c, j]) * sc
            table[idx + np.int64(codes[t, j])] += 1
    else:
        for j in range(n_samples):
            idx = np.int64(codes[t, j])
            for i in range(n):
                idx += np.int64(codes[tup[i + 1], j]) * strides[i]
            table[idx] += 1


@njit(cache=True)
def _decompose_table(
    table, cells, n, kt, ks_src, strides, digits, mstride, moff, marg, c_row, ct_row, dis, dis_t, avg_plus,
    avg_minus, logtab, total, parent, added, mob_ptr, mob_idx, mob_val, scale, inf_out, mis_out, i_out,
):  # fmt: skip
    """SxPID average atoms of one dense count table, written into row ``i_out`` of ``inf_out`` / ``mis_out``.

    Returns ``(mutual_information, entropy_target, occupied_cells)``.
    """
    n_masks = 1 << n
    n_atoms = parent.shape[0]
    # marginal tables of (S_h, T) for every source set h, summed from the occupied cells
    size = moff[n_masks]
    for q in range(size):
        marg[q] = 0
    occupied = 0
    for q in range(cells):
        cnt = table[q]
        if cnt == 0:
            continue
        occupied += 1
        t = q % kt
        for i in range(n):
            digits[i] = (q // strides[i]) % ks_src[i]
        for h in range(n_masks):
            idx = moff[h] + t
            for i in range(n):
                idx += digits[i] * mstride[h, i]
            marg[idx] += cnt
    for j in range(n_atoms):
        avg_plus[j] = 0.0
        avg_minus[j] = 0.0
    h_acc = 0.0
    ln_total = math.log(total)
    for q in range(cells):
        cnt = table[q]
        if cnt == 0:
            continue
        t = q % kt
        for i in range(n):
            digits[i] = (q // strides[i]) % ks_src[i]
        for h in range(n_masks):
            b = moff[h]
            for i in range(n):
                b += digits[i] * mstride[h, i]
            ct_row[h] = marg[b + t]
            s = 0
            for v in range(kt):
                s += marg[b + v]
            c_row[h] = s
        n_t = ct_row[0]  # samples with this target value
        # superset Möbius transform: agreement on exactly the sources in g
        bit = 1
        while bit < n_masks:
            for g in range(n_masks):
                if not g & bit:
                    c_row[g] -= c_row[g | bit]
                    ct_row[g] -= ct_row[g | bit]
            bit <<= 1
        # disjunction counts down the spanning tree of covers (top first), then the weighted log ratios
        p = cnt / total
        lt = logtab[n_t]
        for j in range(n_atoms - 1, -1, -1):
            g = added[j]
            par = parent[j]
            if par < 0:
                dis[j] = c_row[g]
                dis_t[j] = ct_row[g]
            else:
                dis[j] = dis[par] + c_row[g]
                dis_t[j] = dis_t[par] + ct_row[g]
            avg_plus[j] += p * ((ln_total - logtab[dis[j]]) * scale)
            avg_minus[j] += p * ((lt - logtab[dis_t[j]]) * scale)
        h_acc += p * math.log(n_t / total)
    for a in range(n_atoms):
        sp = 0.0
        sm = 0.0
        for k in range(mob_ptr[a], mob_ptr[a + 1]):
            sp += mob_val[k] * avg_plus[mob_idx[k]]
            sm += mob_val[k] * avg_minus[mob_idx[k]]
        inf_out[i_out, a] = sp
        mis_out[i_out, a] = sm
    top = n_atoms - 1
    return avg_plus[top] - avg_minus[top], -h_acc * scale, occupied


@njit(parallel=True, cache=True)
def sxpid_tuples(
    codes, ks, bits, bit_row, tuples, use_bits, max_cells, logtab, total, parent, added, mob_ptr, mob_idx, mob_val,
    scale, inf_out, mis_out, mi_out, h_out, occ_out,
):  # fmt: skip
    """Average SxPID atoms (informative and misinformative parts) of many tuples with the same number of sources.

    Parameters
    ----------
    codes : ndarray of uint16, shape (n_columns, n_samples)
        Codes ``0..ks[c]-1`` of each column (C-contiguous rows).
    ks : ndarray of int64, shape (n_columns,)
        Alphabet size of each column.
    bits : ndarray of uint64, shape (n_bit_rows, n_words)
        One-hot bitsets from :func:`bitsets` (any shape when no tuple uses them).
    bit_row : ndarray of int64, shape (n_columns,)
        First bitset row of each column, -1 for none.
    tuples : ndarray of int64, shape (n_tuples, n_sources + 1)
        Rows of ``codes``: ``(target, source_1, .., source_n)``; ``k_1 ⋯ k_n k_T <= max_cells`` for each.
    use_bits : ndarray of bool, shape (n_tuples,)
        Count this tuple from the bitsets (all its columns have them) rather than from the codes.
    max_cells : int
        Largest table of the batch (sizes the scratch).
    logtab : ndarray of float64
        ``ln 0..n_samples`` (:func:`count_log_table`).
    total : int
        Number of samples.
    parent, added : ndarray of int64
        The lattice's spanning tree of covers (``Lattice._cover_parent``, ``Lattice._cover_added``).
    mob_ptr, mob_idx, mob_val : ndarray
        The lattice's Möbius matrix in CSR form.
    scale : float
        ``1 / ln(base)``.
    inf_out, mis_out : ndarray of float64, shape (n_tuples, n_atoms)
        Filled with the informative and misinformative average atoms.
    mi_out, h_out : ndarray of float64, shape (n_tuples,)
        Filled with ``I(T; S_1..S_n)`` and ``H(T)``.
    occ_out : ndarray of int64, shape (n_tuples,)
        Filled with the number of occupied joint cells.
    """
    n_tuples = tuples.shape[0]
    n = tuples.shape[1] - 1
    n_masks = 1 << n
    n_atoms = parent.shape[0]
    n_chunks = (n_tuples + _CHUNK - 1) // _CHUNK
    for ch in prange(n_chunks):
        table = np.empty(max_cells, np.int64)
        marg = np.empty(n_masks * max_cells, np.int64)
        prefix = np.empty((n, bits.shape[1]), np.uint64)
        digits = np.empty(n, np.int64)
        ks_src = np.empty(n, np.int64)
        strides = np.empty(n, np.int64)
        mstride = np.empty((n_masks, n), np.int64)
        moff = np.empty(n_masks + 1, np.int64)
        c_row = np.empty(n_masks, np.int64)
        ct_row = np.empty(n_masks, np.int64)
        dis = np.empty(n_atoms, np.int64)
        dis_t = np.empty(n_atoms, np.int64)
        avg_plus = np.empty(n_atoms)
        avg_minus = np.empty(n_atoms)
        for it in range(ch * _CHUNK, min(n_tuples, (ch + 1) * _CHUNK)):
            tup = tuples[it]
            kt = ks[tup[0]]
            cells = kt
            for i in range(n - 1, -1, -1):
                ks_src[i] = ks[tup[i + 1]]
                strides[i] = cells
                cells *= ks_src[i]
            # marginal (S_h, T) tables: stride of source i inside h's table, and each table's offset
            moff[0] = 0
            for h in range(n_masks):
                s = kt
                for i in range(n - 1, -1, -1):
                    if h >> i & 1:
                        mstride[h, i] = s
                        s *= ks_src[i]
                    else:
                        mstride[h, i] = 0
                moff[h + 1] = moff[h] + s
            if use_bits[it]:
                _count_bits(bits, bit_row, ks, tup, n, table, prefix, digits)
            else:
                _count_direct(codes, tup, n, strides, cells, table)
            mi_out[it], h_out[it], occ_out[it] = _decompose_table(
                table, cells, n, kt, ks_src, strides, digits, mstride, moff, marg, c_row, ct_row, dis, dis_t, avg_plus,
                avg_minus, logtab, total, parent, added, mob_ptr, mob_idx, mob_val, scale, inf_out, mis_out, it,
            )  # fmt: skip


@njit(parallel=True, cache=True)
def count_tables(codes, ks, tuples, offsets, out):
    """Dense joint count tables of many tuples, in parallel: the native PID measures' batch counting.

    Parameters
    ----------
    codes : ndarray of uint16, shape (n_columns, n_samples)
        Codes ``0..ks[c]-1`` of each column.
    ks : ndarray of int64, shape (n_columns,)
        Alphabet size of each column.
    tuples : ndarray of int64, shape (n_tuples, n_sources + 1)
        Rows of ``codes``: ``(target, source_1, .., source_n)``.
    offsets : ndarray of int64, shape (n_tuples + 1,)
        Tuple ``i``'s table is ``out[offsets[i]:offsets[i + 1]]``, of ``k_1 ⋯ k_n k_T`` cells in C order of the
        axes ``(S_1, .., S_n, T)`` (so its occupied cells come in the lexicographic order of
        :func:`pidlearn._counting.joint_support`).
    out : ndarray of int64
        Filled with the counts.
    """
    n_tuples = tuples.shape[0]
    n = tuples.shape[1] - 1
    for it in prange(n_tuples):
        tup = tuples[it]
        strides = np.empty(n, np.int64)
        cells = ks[tup[0]]
        for i in range(n - 1, -1, -1):
            strides[i] = cells
            cells *= ks[tup[i + 1]]
        _count_direct(codes, tup, n, strides, cells, out[offsets[it] : offsets[it + 1]])
