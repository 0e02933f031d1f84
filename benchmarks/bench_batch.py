"""Throughput of ``batch_sxpid``: the fused kernel (``output="array"``) beside the per-call path (``"results"``).

    python -m pytest benchmarks/bench_batch.py --benchmark-only
    python benchmarks/bench_batch.py          # standalone: prints tuples per second, the ratio and the load average

Cases (N = 10⁴ samples of independent fair bits):

* ``2src``: 20,000 random ``(target, source, source)`` tuples of 60 binary variables;
* ``3src-all``: every three-source PID among 30 binary variables, each variable the target of each triple of the
  others (30 × C(29, 3) = 109,620 tuples).

Every call is the public call on the raw data matrix (validation, encoding, counting, decomposition). The per-call
path (one :func:`pidlearn.sxpid` per tuple) is timed on the first ``SUBSET`` tuples only and reported per tuple, and
its atoms are checked equal to the fused kernel's (1e-12) on that subset. The machine may be shared: the standalone
mode prints the load average before and after.
"""

from __future__ import annotations

import itertools
import os
import time
import warnings

import numpy as np

try:
    import pytest
except ImportError:  # pragma: no cover - standalone mode without pytest
    pytest = None

from pidlearn.bench.batch import batch_sxpid

N = 10_000
SUBSET = 300  # tuples timed on the per-call path


def _case(name: str):
    rng = np.random.default_rng(0)
    if name == "2src":
        data = rng.integers(0, 2, (N, 60))
        tuples = np.array([rng.choice(60, 3, replace=False) for _ in range(20_000)])
    else:
        data = rng.integers(0, 2, (N, 30))
        tuples = np.array(
            [(t, *c) for t in range(30) for c in itertools.combinations([v for v in range(30) if v != t], 3)]
        )
    return data, tuples


def _check(data, tuples, fast) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = batch_sxpid(data, tuples[:SUBSET])
    for i, r in enumerate(slow):
        assert np.abs(r.values - fast.values[i]).max() <= 1e-12
        assert abs(r.mutual_information - fast.mutual_information[i]) <= 1e-12


if pytest is not None:

    @pytest.fixture(scope="module", params=["2src", "3src-all"])
    def case(request):
        data, tuples = _case(request.param)
        batch_sxpid(data, tuples[:10], output="array")  # load numba's cache outside the timing
        return request.param, data, tuples

    def test_batch_fused(benchmark, case):
        name, data, tuples = case
        benchmark.group = f"batch_sxpid {name}: fused kernel, {len(tuples)} tuples"
        benchmark.extra_info["impl"] = "pidlearn"
        res = benchmark.pedantic(batch_sxpid, args=(data, tuples), kwargs={"output": "array"}, rounds=3, iterations=1)
        benchmark.extra_info["tuples_per_s"] = len(tuples) / benchmark.stats.stats.median
        _check(data, tuples, res)

    def test_batch_per_call(benchmark, case):
        name, data, tuples = case
        benchmark.group = f"batch_sxpid {name}: per-call path, {SUBSET} tuples"
        benchmark.extra_info["impl"] = "pidlearn per-call"
        benchmark.pedantic(batch_sxpid, args=(data, tuples[:SUBSET]), rounds=1, iterations=1)
        benchmark.extra_info["tuples_per_s"] = SUBSET / benchmark.stats.stats.median


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    import numba

    print(f"load average before: {os.getloadavg()}; numba threads: {numba.get_num_threads()}; N = {N}")
    for name in ("2src", "3src-all"):
        data, tuples = _case(name)
        batch_sxpid(data, tuples[:10], output="array")
        fused = _best(lambda data=data, tuples=tuples: batch_sxpid(data, tuples, output="array"), 3)
        _check(data, tuples, batch_sxpid(data, tuples, output="array"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            per_call = _best(lambda data=data, tuples=tuples: batch_sxpid(data, tuples[:SUBSET]), 1)
        fast_rate, slow_rate = len(tuples) / fused, SUBSET / per_call
        print(
            f"{name:9s} {len(tuples):7d} tuples: fused {fused:6.3f} s = {fast_rate:9,.0f} tuples/s | per-call "
            f"{slow_rate:7,.0f} tuples/s (on {SUBSET}) | ratio {fast_rate / slow_rate:6.0f}x"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
