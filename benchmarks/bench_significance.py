"""Permutation tests: 1000 permutations of continuous KSG MI at N = 10^4, and the SxPID atom test.

    python -m pytest benchmarks/bench_significance.py --benchmark-only

Goal (issue "Real data in, right numbers out"): the continuous test in under 10 s on two cores.
"""

import numpy as np
import pytest

from pidlearn import sxpid
from pidlearn.continuous.permutation import permutation_test

N = 10**4


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(N)
    y = 0.3 * x + rng.standard_normal(N)
    permutation_test(x[:200], y[:200], n_permutations=4, seed=0)  # compile / load the numba cache outside the timing
    return x, y


@pytest.mark.parametrize("workers", [1, 2])
def test_continuous_permutation_test_1000(benchmark, pair, workers):
    x, y = pair
    benchmark.group = "continuous KSG MI permutation test, 1000 permutations, N=1e4"
    benchmark.extra_info["impl"] = "pidlearn" if workers == 2 else f"pidlearn workers={workers}"
    r = benchmark.pedantic(permutation_test, (x, y), {"n_permutations": 1000, "seed": 1, "workers": workers}, rounds=1)
    assert r.p_value == pytest.approx(1 / 1001)


def test_sxpid_atom_permutation_test(benchmark):
    rng = np.random.default_rng(1)
    s = rng.integers(0, 3, (1000, 2))
    t = (s[:, 0] + s[:, 1]) % 3
    sxpid(t, s, n_permutations=2, seed=0)
    benchmark.group = "SxPID atom permutation test, 2 sources, N=1e3, 1000 permutations"
    benchmark.extra_info["impl"] = "pidlearn"
    r = benchmark.pedantic(sxpid, (t, s), {"n_permutations": 1000, "seed": 0}, rounds=1)
    assert r.p_values["{12}"] == pytest.approx(1 / 1001)
