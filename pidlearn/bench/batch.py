"""SxPID of many variable tuples of one data matrix, serial or on a Dask cluster, and the Dask client helper.

``batch_sxpid(data, tuples)`` decomposes ``I(T; S_1..S_n)`` for every ``(T, S_1, .., S_n)`` column tuple of a
discrete data matrix. The columns are encoded once; on a cluster the encoded matrix is scattered to the workers once
and the tuples run in chunks. Both paths compute each tuple with :func:`pidlearn.sxpid`, so the results are
identical.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["batch_sxpid", "dask_client", "single_threaded_blas"]


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


def batch_sxpid(data, tuples, *, base: float = 2, client=None, chunk_size: int | None = None) -> list:
    """Shared-exclusion PID of many ``(target, sources...)`` column tuples of one discrete data matrix.

    Parameters
    ----------
    data : array-like of shape (n_samples, n_variables)
        Discrete labels, one column per variable.
    tuples : sequence of sequences of int
        Column indices ``(target, source_1, .., source_n)``, 2 to 5 sources each; tuples may differ in length.
    base : float, default 2
        Logarithm base (2: bits).
    client : dask.distributed.Client, optional
        Run on this Dask cluster: the encoded matrix is scattered once, the tuples run in chunks. The results equal
        the serial run's bit for bit (both run BLAS on one thread, see :func:`single_threaded_blas`).
    chunk_size : int, optional
        Tuples per Dask task; default: about four chunks per worker.

    Returns
    -------
    list of PIDResult
        One per tuple, in order: average atoms, ``informative``, ``misinformative``, ``mutual_information`` and
        ``entropy_target``. No local atoms (``result.local`` is ``None``): call :func:`pidlearn.sxpid` on one tuple
        for those.

    Examples
    --------
    >>> import numpy as np
    >>> from pidlearn import batch_sxpid
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, (1000, 3))
    >>> data = np.column_stack([s, s[:, 0] ^ s[:, 1], s[:, 0] & s[:, 2]])
    >>> res = batch_sxpid(data, [(3, 0, 1), (4, 0, 2), (3, 0, 1, 2)])
    >>> [round(r.mutual_information, 2) for r in res]
    [1.0, 0.81, 1.0]
    """
    from pidlearn._validation import check_base

    base = check_base(base)
    n_vars = np.asarray(data).shape[1] if np.ndim(data) == 2 else 0
    tups = _check_tuples(tuples, n_vars) if n_vars else None
    if tups is None:
        raise ValueError(f"data must be a 2-D array (n_samples, n_variables), got shape {np.shape(data)}")
    if not tups:
        return []
    used = sorted({v for t in tups for v in t})
    codes = _encode(data, used)
    if client is None:
        compact = _compact(codes, tups, base)
    else:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = chunk_size or max(1, math.ceil(len(tups) / (4 * n_workers)))
        chunks = [tups[i : i + size] for i in range(0, len(tups), size)]
        shared = client.scatter(codes, broadcast=True)
        futures = client.map(_compact, [shared] * len(chunks), chunks, [base] * len(chunks), pure=False)
        compact = [c for part in client.gather(futures) for c in part]
    return [_result(c, base) for c in compact]


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
