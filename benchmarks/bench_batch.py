"""Throughput of ``batch_sxpid``: the fused kernel (``output="array"``) beside the per-call path (``"results"``).

    python -m pytest benchmarks/bench_batch.py --benchmark-only
    python benchmarks/bench_batch.py          # standalone: prints tuples per second, the ratio and the load average

Cases (N = 10⁴ samples of independent fair bits):

* ``2src``: 20,000 random ``(target, source, source)`` tuples of 60 binary variables;
* ``3src-all``: every three-source PID among 30 binary variables, each variable the target of each triple of the
  others (30 × C(29, 3) = 109,620 tuples).

Every call is the public call on the raw data matrix (validation, encoding, counting, decomposition). The per-call
path (one :func:`pidlearn.sxpid` per tuple) is timed on the first ``SUBSET`` tuples only and reported per tuple, and
its atoms are checked equal to the fused kernel's (1e-12) on that subset. ``batch_pid`` (the native measures I_min,
I_MMI, I_ccs, I_dep, I_BROJA) is timed on the first 2,000 tuples of ``2src`` beside one ``pid()`` call per tuple
(standalone: on 200), and checked equal to it bit for bit on 20. The machine may be shared: the standalone mode
prints the load average before and after.
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


NATIVE_TUPLES = 2_000  # tuples of the "2src" case decomposed by batch_pid with a native measure
NATIVE_SUBSET = 200  # of them, by one pid() call each


def _native_case():
    data, tuples = _case("2src")
    return data, tuples[:NATIVE_TUPLES]


def _check_native(data, tuples, measure, fast) -> None:
    from pidlearn.measures import pid

    for i, (t, a, b) in enumerate(tuples[:20]):
        assert np.array_equal(pid(data[:, t], data[:, [a, b]], measure).values, fast.values[i])


def _per_call_native(data, tuples, measure):
    from pidlearn.measures import pid

    return [pid(data[:, t], data[:, [a, b]], measure) for t, a, b in tuples]


if pytest is not None:

    @pytest.mark.parametrize("measure", ["imin", "ccs", "dep", "broja"])
    @pytest.mark.parametrize("impl", ["pidlearn batch_pid", "pidlearn per-call pid"])
    def test_batch_native(benchmark, measure, impl):
        from pidlearn.measures import batch_pid

        data, tuples = _native_case()
        fast = batch_pid(data, tuples[:10], measure)  # numba cache
        benchmark.group = f"batch_pid {measure} 2src: {NATIVE_TUPLES} tuples"
        benchmark.extra_info["impl"] = "pidlearn" if impl == "pidlearn batch_pid" else impl
        if impl == "pidlearn batch_pid":
            fast = benchmark.pedantic(batch_pid, args=(data, tuples, measure), rounds=3, iterations=1)
            _check_native(data, tuples, measure, fast)
            benchmark.extra_info["tuples_per_s"] = len(tuples) / benchmark.stats.stats.median
        else:
            benchmark.pedantic(_per_call_native, args=(data, tuples, measure), rounds=1, iterations=1)
            benchmark.extra_info["tuples_per_s"] = len(tuples) / benchmark.stats.stats.median


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
    from pidlearn.measures import batch_pid

    data, tuples = _native_case()
    for measure in ("imin", "mmi", "ccs", "dep", "broja"):
        batch_pid(data, tuples[:10], measure)
        fused = _best(lambda data=data, tuples=tuples, m=measure: batch_pid(data, tuples, m), 3)
        _check_native(data, tuples, measure, batch_pid(data, tuples, measure))
        per_call = _best(lambda data=data, m=measure: _per_call_native(data, tuples[:NATIVE_SUBSET], m), 1)
        fast_rate, slow_rate = len(tuples) / fused, NATIVE_SUBSET / per_call
        print(
            f"batch_pid {measure:6s} {len(tuples):6d} tuples: {fast_rate:9,.0f} tuples/s | per-call pid "
            f"{slow_rate:7,.0f} tuples/s (on {NATIVE_SUBSET}) | ratio {fast_rate / slow_rate:5.1f}x"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
