"""SxPID of many variable tuples of one data matrix, serial or on a Dask cluster, and the Dask client helper.

``batch_sxpid(data, tuples)`` decomposes ``I(T; S_1..S_n)`` for every ``(T, S_1, .., S_n)`` column tuple of a
discrete data matrix. The columns are encoded once; on a cluster the encoded matrix is scattered to the workers once
and the tuples run in chunks.

Two forms:

* ``output="results"`` (default): a list of :class:`~pidlearn.results.PIDResult`, each computed by
  :func:`pidlearn.sxpid` (bit for bit its results; ~1 ms of per-call overhead per tuple).
* ``output="array"``: a :class:`BatchSxPID` of ``(n_tuples, n_atoms)`` arrays from the fused numba kernels of
  :mod:`pidlearn._batch_kernels` (count each tuple's joint table, decompose it in place, in parallel over tuples),
  equal to :func:`pidlearn.sxpid` to a few ulp; tuples whose joint table has more than :data:`KERNEL_MAX_CELLS`
  cells take the per-call route inside it.

Both run the same way on Dask as serially, tuple for tuple bit for bit.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["KERNEL_MAX_CELLS", "BatchSxPID", "batch_sxpid", "dask_client", "single_threaded_blas"]

#: Largest joint table ``k_1 ⋯ k_n k_T`` that the fused kernel counts densely; larger tuples use the per-call path.
KERNEL_MAX_CELLS = 4096
#: Columns with at most this many values get one-hot bitsets (counting by popcount) ...
_BITSET_MAX_K = 16
#: ... while all bitsets together stay below this many bytes.
_BITSET_MAX_BYTES = 256 << 20
_OUTPUTS = ("results", "array")


def single_threaded_blas():
    """Limit BLAS to one thread (threadpoolctl, when installed), as Dask's workers do by default.

    The order of a multi-threaded BLAS summation depends on its thread count, which changes the last bits of a
    matrix product; with one thread everywhere, a run on Dask equals the serial run bit for bit.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the dask extra and with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _check_tuples(tuples, n_vars: int) -> list[tuple[int, ...]]:
    if isinstance(tuples, np.ndarray):
        tuples = tuples.tolist()
    out = []
    for i, tup in enumerate(tuples):
        try:
            idx = tuple(int(v) for v in tup)
        except (TypeError, ValueError):
            raise TypeError(
                f"tuple {i} ({tup!r}) is not a sequence of column indices (target, source, source, ...)"
            ) from None
        if not 3 <= len(idx) <= 6:
            raise ValueError(
                f"tuple {i} {idx} has {len(idx)} columns; give (target, source_1, .., source_n) with 2 to 5 sources"
            )
        bad = [v for v in idx if not -n_vars <= v < n_vars]
        if bad:
            raise ValueError(f"tuple {i} {idx}: column(s) {bad} out of range for data with {n_vars} columns")
        idx = tuple(v % n_vars for v in idx)
        if idx[0] in idx[1:]:
            raise ValueError(f"tuple {i} {idx}: the target column {idx[0]} is also a source")
        out.append(idx)
    return out


def _check_tuple_array(tuples, n_vars: int) -> np.ndarray:
    """:func:`_check_tuples` for many tuples at once: an int64 array (n_tuples, width), same checks and messages."""
    arr = None
    if not isinstance(tuples, np.ndarray) or tuples.dtype.kind in "iu":
        try:
            arr = np.asarray(tuples)
        except ValueError:  # ragged
            arr = None
    if arr is None or arr.ndim != 2 or arr.dtype.kind not in "iu" or not 3 <= arr.shape[1] <= 6:
        tups = _check_tuples(tuples, n_vars)
        widths = {len(t) for t in tups}
        if len(widths) > 1:
            raise ValueError(
                f'output="array" needs tuples with one number of sources, got {sorted(w - 1 for w in widths)}; '
                "call batch_sxpid once per number of sources"
            )
        return np.array(tups, dtype=np.int64) if tups else np.empty((0, 3), dtype=np.int64)
    arr = arr.astype(np.int64)
    out_of_range = ((arr < -n_vars) | (arr >= n_vars)).any(axis=1)
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range)[0])
        idx = tuple(arr[i].tolist())
        bad = [v for v in idx if not -n_vars <= v < n_vars]
        raise ValueError(f"tuple {i} {idx}: column(s) {bad} out of range for data with {n_vars} columns")
    arr = arr % n_vars
    target_is_source = (arr[:, 1:] == arr[:, :1]).any(axis=1)
    if target_is_source.any():
        i = int(np.flatnonzero(target_is_source)[0])
        raise ValueError(f"tuple {i} {tuple(arr[i].tolist())}: the target column {arr[i, 0]} is also a source")
    return arr


def _encode(data, used: Sequence[int]) -> np.ndarray:
    from pidlearn._validation import as_discrete

    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ValueError(f"data must be a 2-D array (n_samples, n_variables), got shape {arr.shape}")
    codes = np.zeros((arr.shape[0], arr.shape[1]), dtype=np.int64)
    for j in used:
        codes[:, j] = as_discrete(arr[:, j], f"column {j}")[0]
    return codes


def _compact(codes: np.ndarray, tuples: Sequence[tuple[int, ...]], base: float) -> list[tuple]:
    """The decompositions of ``tuples`` as plain arrays (picklable, without local atoms)."""
    from pidlearn.sxpid import sxpid

    out = []
    with single_threaded_blas():
        for tup in tuples:
            r = sxpid(codes[:, tup[0]], codes[:, list(tup[1:])], base=base)
            inf_d, mis_d = r.informative, r.misinformative
            inf = np.array([inf_d[k] for k in r.atom_names])
            mis = np.array([mis_d[k] for k in r.atom_names])
            out.append((r.atom_names, r.values.copy(), inf, mis, r.mutual_information, r.entropy_target, r.n_sources))
    return out


def _result(compact: tuple, base: float):
    from pidlearn.results import PIDResult

    names, values, inf, mis, mi, h, n_sources = compact
    return PIDResult(
        names,
        values,
        informative=inf,
        misinformative=mis,
        mutual_information=mi,
        entropy_target=h,
        n_sources=n_sources,
        base=base,
        measure="sx",
    )


class _Encoded:
    """The encoded columns the fused kernel reads, built once (and scattered once to a Dask cluster).

    ``codes[r]`` are the uint16 codes of the ``r``-th used column (``ks[r]`` values; columns with more than 65536
    values keep int64 codes in ``wide`` and always take the per-call path), ``bits`` their one-hot bitsets.
    """

    def __init__(self, data, used: Sequence[int]):
        from pidlearn import _batch_kernels as bk
        from pidlearn._validation import as_discrete

        arr = np.asarray(data)
        n = arr.shape[0]
        if n == 0:
            raise ValueError("data has no samples (shape[0] == 0)")
        self.n_samples = n
        self.codes = np.zeros((len(used), n), dtype=np.uint16)
        self.ks = np.ones(len(used), dtype=np.int64)
        self.wide: dict[int, np.ndarray] = {}
        for r, c in enumerate(used):
            col, k = as_discrete(arr[:, c], f"column {c}")
            self.ks[r] = k
            if k <= 1 << 16:
                self.codes[r] = col
            else:
                self.wide[r] = col
        self.bit_row = np.full(len(used), -1, dtype=np.int64)
        n_words = (n + 63) >> 6
        n_rows = 0
        for r in range(len(used)):
            k = int(self.ks[r])
            if k <= _BITSET_MAX_K and (n_rows + k) * n_words * 8 <= _BITSET_MAX_BYTES:
                self.bit_row[r] = n_rows
                n_rows += k
        self.bits = bk.bitsets(self.codes, self.ks, self.bit_row, n_rows)
        self.logtab = bk.count_log_table(n)

    def column(self, r: int) -> np.ndarray:
        return self.wide[r] if r in self.wide else self.codes[r].astype(np.int64)


def _per_call(enc: _Encoded, rows: tuple[int, ...], base: float):
    """One tuple by sxpid's own route (for tables too large for the kernel): bit for bit :func:`pidlearn.sxpid`."""
    from pidlearn import _counting
    from pidlearn.sxpid import _Support

    n = len(rows) - 1
    support, counts, _ = _counting.joint_support([enc.column(r) for r in (*rows[1:], rows[0])])
    sup = _Support(support, counts.astype(np.float64), n, base, exact_counts=True)
    with single_threaded_blas():
        avg_plus, avg_minus = sup.average_redundancies()
    mob = sup.lat.mobius
    top = sup.lat.top
    return mob @ avg_plus, mob @ avg_minus, float(avg_plus[top] - avg_minus[top]), sup.entropy_target(), len(support)


def _fast(enc: _Encoded, rows: np.ndarray, base: float):
    """Informative/misinformative atoms, MI, H(T) and occupied cells of tuples of ``enc``'s rows (one n_sources)."""
    from pidlearn import _batch_kernels as bk
    from pidlearn.lattice import lattice

    n_tuples, width = rows.shape
    lat = lattice(width - 1)
    inf = np.empty((n_tuples, lat.n_atoms))
    mis = np.empty((n_tuples, lat.n_atoms))
    mi = np.empty(n_tuples)
    h = np.empty(n_tuples)
    occ = np.empty(n_tuples, dtype=np.int64)
    if not n_tuples:
        return inf, mis, mi, h, occ
    ks = enc.ks[rows]  # (n_tuples, width), int64; cells via float to avoid overflow
    cells = np.prod(ks.astype(np.float64), axis=1)
    in_kernel = cells <= KERNEL_MAX_CELLS
    if enc.wide:
        in_kernel &= ~np.isin(rows, list(enc.wide)).any(axis=1)
    has_bits = (enc.bit_row[rows] >= 0).all(axis=1)
    use_bits = has_bits & (cells <= 32 * width)
    idx = np.flatnonzero(in_kernel)
    if idx.size:
        k_rows = np.ascontiguousarray(rows[idx])
        sub = [np.empty((idx.size, lat.n_atoms)), np.empty((idx.size, lat.n_atoms))]
        sub_mi, sub_h = np.empty(idx.size), np.empty(idx.size)
        sub_occ = np.empty(idx.size, dtype=np.int64)
        mob = lat.mobius
        bk.sxpid_tuples(
            enc.codes,
            enc.ks,
            enc.bits,
            enc.bit_row,
            k_rows,
            np.ascontiguousarray(use_bits[idx]),
            int(cells[idx].max()),
            enc.logtab,
            enc.n_samples,
            lat._cover_parent,
            lat._cover_added,
            mob.indptr.astype(np.int64),
            mob.indices.astype(np.int64),
            mob.data,
            1.0 / math.log(base),
            sub[0],
            sub[1],
            sub_mi,
            sub_h,
            sub_occ,
        )
        inf[idx], mis[idx], mi[idx], h[idx], occ[idx] = sub[0], sub[1], sub_mi, sub_h, sub_occ
    for i in np.flatnonzero(~in_kernel):
        inf[i], mis[i], mi[i], h[i], occ[i] = _per_call(enc, tuple(int(v) for v in rows[i]), base)
    return inf, mis, mi, h, occ


class BatchSxPID:
    """Average SxPID atoms of many tuples as arrays: the fast form of :func:`batch_sxpid` (``output="array"``).

    Attributes
    ----------
    atom_names : tuple of str
        The lattice's atom names, in lattice order (the columns of the arrays).
    tuples : ndarray of int64, shape (n_tuples, n_sources + 1)
        The column tuples ``(target, source_1, .., source_n)``, in the order given.
    values : ndarray of float64, shape (n_tuples, n_atoms)
        Average atoms ``Π = Π⁺ - Π⁻``; row ``i`` equals ``sxpid(data[:, t], data[:, sources]).values``.
    informative, misinformative : ndarray of float64, shape (n_tuples, n_atoms)
        ``Π⁺`` and ``Π⁻``.
    mutual_information, entropy_target : ndarray of float64, shape (n_tuples,)
        ``I(T; S_1..S_n)`` and ``H(T)``.
    occupied : ndarray of int64, shape (n_tuples,)
        Occupied cells of each joint ``(S_1..S_n, T)``.
    base : float
        Logarithm base.
    """

    def __init__(self, atom_names, tuples, informative, misinformative, mutual_information, entropy_target, occupied,
                 base):  # fmt: skip
        self.atom_names = tuple(atom_names)
        self.tuples = tuples
        self.informative = informative
        self.misinformative = misinformative
        self.values = informative - misinformative
        self.mutual_information = mutual_information
        self.entropy_target = entropy_target
        self.occupied = occupied
        self.base = base

    def __len__(self) -> int:
        return self.values.shape[0]

    def __repr__(self) -> str:
        return (
            f"BatchSxPID({len(self)} tuples of {self.tuples.shape[1] - 1} sources, {len(self.atom_names)} atoms, "
            f"base={self.base:g})"
        )

    def result(self, i: int):
        """Tuple ``i`` as a :class:`~pidlearn.results.PIDResult` (no local atoms)."""
        compact = (
            list(self.atom_names),
            self.values[i].copy(),
            self.informative[i].copy(),
            self.misinformative[i].copy(),
            float(self.mutual_information[i]),
            float(self.entropy_target[i]),
            self.tuples.shape[1] - 1,
        )
        return _result(compact, self.base)

    def to_results(self) -> list:
        """All tuples as :class:`~pidlearn.results.PIDResult` objects (costs ~10 µs each: build them only if needed)."""
        return [self.result(i) for i in range(len(self))]


def _warn_undersampled(n_samples: int, occupied: np.ndarray, mi_bits: np.ndarray, tuples: np.ndarray) -> None:
    """One :class:`~pidlearn.significance.BiasWarning` for all tuples that :func:`pidlearn.sxpid` would warn about."""
    import warnings

    from pidlearn.significance import MIN_SAMPLES_PER_CELL, BiasWarning

    bad = np.flatnonzero((occupied > 1) & (n_samples < MIN_SAMPLES_PER_CELL * occupied) & (mi_bits > 1e-12))
    if bad.size:
        worst = bad[np.argmax(occupied[bad])]
        warnings.warn(
            f"{bad.size} of {len(tuples)} tuples have fewer than {MIN_SAMPLES_PER_CELL} samples per occupied joint "
            f"cell ({n_samples} samples; worst: tuple {int(worst)} {tuple(int(v) for v in tuples[worst])} with "
            f"{int(occupied[worst])} occupied cells): their plug-in atoms are dominated by bias",
            BiasWarning,
            stacklevel=4,  # the caller of batch_sxpid
        )


def batch_sxpid(
    data, tuples, *, base: float = 2, client=None, chunk_size: int | None = None, output: str = "results"
) -> list | BatchSxPID:
    """Shared-exclusion PID of many ``(target, sources...)`` column tuples of one discrete data matrix.

    Parameters
    ----------
    data : array-like of shape (n_samples, n_variables)
        Discrete labels, one column per variable.
    tuples : sequence of sequences of int
        Column indices ``(target, source_1, .., source_n)``, 2 to 5 sources each; tuples may differ in length
        (``output="results"`` only).
    base : float, default 2
        Logarithm base (2: bits).
    client : dask.distributed.Client, optional
        Run on this Dask cluster: the encoded matrix is scattered once, the tuples run in chunks. The results equal
        the serial run's bit for bit (both run BLAS on one thread, see :func:`single_threaded_blas`; the fused
        kernel computes each tuple on one thread).
    chunk_size : int, optional
        Tuples per Dask task; default: about four chunks per worker.
    output : {"results", "array"}, default "results"
        ``"results"``: a list of :class:`~pidlearn.results.PIDResult`, each computed by :func:`pidlearn.sxpid`
        (identical to it bit for bit), at the cost of one full call per tuple (~1 ms: about 1,000 two-source PIDs
        per second). ``"array"``: a :class:`BatchSxPID` of arrays from the fused numba kernel, which counts each
        tuple's joint table and decomposes it in place, in parallel over tuples: equal to :func:`pidlearn.sxpid`
        to a few ulp (the same integer counts and pointwise terms, summed in another order), at about the cost of
        counting (~10⁵–10⁶ two-source binary PIDs per second at N = 10⁴ on 2 cores). All tuples must then have the
        same number of sources; tables of more than :data:`KERNEL_MAX_CELLS` cells take the per-call route.

    Returns
    -------
    list of PIDResult or BatchSxPID
        ``"results"``: one per tuple, in order: average atoms, ``informative``, ``misinformative``,
        ``mutual_information`` and ``entropy_target``. No local atoms (``result.local`` is ``None``): call
        :func:`pidlearn.sxpid` on one tuple for those. ``"array"``: rows in the order of ``tuples``
        (:meth:`BatchSxPID.result` turns a row into a PIDResult).

    Warns
    -----
    pidlearn.significance.BiasWarning
        As :func:`pidlearn.sxpid`: once per undersampled tuple with ``"results"``, once in all with ``"array"``.

    Raises
    ------
    ValueError
        ``data`` not 2-D or without samples, a tuple with fewer than 2 or more than 5 sources, a column out of
        range, the target among the sources, an unknown ``output``, tuples of different lengths with ``"array"``.
    TypeError
        A tuple that is not a sequence of integers.

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn import batch_sxpid
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, (1000, 3))
    >>> data = np.column_stack([s, s[:, 0] ^ s[:, 1], s[:, 0] & s[:, 2]])
    >>> res = batch_sxpid(data, [(3, 0, 1), (4, 0, 2), (3, 0, 1, 2)])
    >>> [round(r.mutual_information, 2) for r in res]
    [1.0, 0.83, 1.0]
    >>> fast = batch_sxpid(data, [(3, 0, 1), (4, 0, 2)], output="array")
    >>> fast.atom_names, fast.values.shape
    (('{1}{2}', '{1}', '{2}', '{12}'), (2, 4))
    >>> np.round(fast.mutual_information, 2)
    array([1.  , 0.83])
    """
    from pidlearn._validation import check_base

    base = check_base(base)
    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
    n_vars = np.asarray(data).shape[1] if np.ndim(data) == 2 else 0
    if not n_vars:
        raise ValueError(f"data must be a 2-D array (n_samples, n_variables), got shape {np.shape(data)}")
    if output == "array":
        return _batch_array(data, _check_tuple_array(tuples, n_vars), base, client, chunk_size)
    tups = _check_tuples(tuples, n_vars)
    if not tups:
        return []
    used = sorted({v for t in tups for v in t})
    codes = _encode(data, used)
    if client is None:
        compact = _compact(codes, tups, base)
    else:
        chunks = _chunks(tups, client, chunk_size)
        shared = client.scatter(codes, broadcast=True)
        futures = client.map(_compact, [shared] * len(chunks), chunks, [base] * len(chunks), pure=False)
        compact = [c for part in client.gather(futures) for c in part]
    return [_result(c, base) for c in compact]


def _chunks(items, client, chunk_size):
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    size = chunk_size or max(1, math.ceil(len(items) / (4 * n_workers)))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _batch_array(data, cols: np.ndarray, base, client, chunk_size) -> BatchSxPID:
    from pidlearn.lattice import lattice

    if not cols.shape[0]:
        raise ValueError('output="array" needs at least one tuple (the number of sources fixes the atoms)')
    lat = lattice(cols.shape[1] - 1)
    used = np.unique(cols)
    enc = _Encoded(data, used.tolist())
    lookup = np.zeros(int(used[-1]) + 1, dtype=np.int64)
    lookup[used] = np.arange(used.size)
    rows = lookup[cols]
    if client is None:
        inf, mis, mi, h, occ = _fast(enc, rows, base)
    else:
        chunks = _chunks(rows, client, chunk_size)
        shared = client.scatter(enc, broadcast=True)
        futures = client.map(_fast, [shared] * len(chunks), chunks, [base] * len(chunks), pure=False)
        parts = client.gather(futures)
        inf, mis, mi, h, occ = (np.concatenate([p[k] for p in parts]) for k in range(5))
    _warn_undersampled(enc.n_samples, occ, mi * math.log2(base), cols)
    return BatchSxPID(lat.names, cols, inf, mis, mi, h, occ, base)


@contextlib.contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None, threads_per_worker: int = 1):
    """A Dask ``Client``: connected to ``scheduler`` (``"tcp://host:port"``) or to a new local cluster of ``workers``
    processes on 127.0.0.1 (no dashboard), closed on exit.

    Needs the ``dask`` extra: ``pip install "pidlearn[dask]"``. Remote workers need pidlearn installed.
    """
    if (workers is None) == (scheduler is None):
        raise ValueError("give exactly one of workers (a local cluster) and scheduler (an address)")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError('running on Dask needs dask.distributed: pip install "pidlearn[dask]"') from exc
    if scheduler is not None:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    if int(workers) < 1:
        raise ValueError(f"workers must be a positive number of processes, got {workers}")
    with (
        LocalCluster(
            n_workers=int(workers),
            threads_per_worker=int(threads_per_worker),
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
