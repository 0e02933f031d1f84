"""Discrete MI hot paths, side by side with scikit-learn and dit in one run.

    python -m pytest benchmarks/bench_discrete.py --benchmark-only

Each peer computes the same quantity from the same samples; values are checked equal (1e-12 after unit conversion)
before timing.
"""

import math
from collections import Counter

import numpy as np
import pytest

from pidlearn import discrete

N = 10**6


@pytest.fixture(scope="module")
def pair16():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 16, N)
    y = np.where(rng.random(N) < 0.3, x, rng.integers(0, 16, N))
    discrete.mutual_information(x[:100], y[:100])  # compile / load the numba cache outside the timing
    return x, y


def test_mi_alphabet16_pidlearn(benchmark, pair16):
    x, y = pair16
    benchmark.group = "MI alphabet 16, N=1e6"
    benchmark.extra_info["impl"] = "pidlearn"
    value = benchmark(discrete.mutual_information, x, y, base=math.e)
    assert value > 0.1


def test_mi_alphabet16_sklearn(benchmark, pair16):
    metrics = pytest.importorskip("sklearn.metrics")
    x, y = pair16
    benchmark.group = "MI alphabet 16, N=1e6"
    benchmark.extra_info["impl"] = "scikit-learn"
    value = benchmark(metrics.mutual_info_score, x, y)
    assert value == pytest.approx(discrete.mutual_information(x, y, base=math.e), abs=1e-12)


def _dit_mi(x, y):
    """What a dit user does with samples: count outcomes, build a Distribution, ask for I(X;Y)."""
    import dit

    counts = Counter(zip(x.tolist(), y.tolist(), strict=True))
    outcomes = list(counts)
    total = len(x)
    d = dit.Distribution(outcomes, [counts[o] / total for o in outcomes])
    return dit.shannon.mutual_information(d, [0], [1])


def test_mi_alphabet16_dit(benchmark, pair16):
    pytest.importorskip("dit")
    x, y = pair16
    benchmark.group = "MI alphabet 16, N=1e6"
    benchmark.extra_info["impl"] = "dit"
    value = benchmark.pedantic(_dit_mi, args=(x, y), rounds=3, iterations=1)
    assert value == pytest.approx(discrete.mutual_information(x, y), abs=1e-10)


@pytest.mark.parametrize("estimator", ["miller_madow", "grassberger", "chao_shen"])
def test_mi_alphabet16_corrected(benchmark, pair16, estimator):
    x, y = pair16
    benchmark.group = "MI alphabet 16, N=1e6, bias-corrected"
    benchmark.extra_info["impl"] = f"pidlearn {estimator}"
    benchmark(discrete.mutual_information, x, y, estimator=estimator)


def test_cmi_alphabet16_pidlearn(benchmark, pair16):
    x, y = pair16
    z = (x + y) % 4
    benchmark.group = "CMI alphabet 16|4, N=1e6"
    benchmark.extra_info["impl"] = "pidlearn"
    benchmark(discrete.mutual_information, x, y, z)


def test_entropy_sparse_8x50(benchmark):
    """10**6 samples of 8 variables with 50 values: the sparse counting path."""
    x = np.random.default_rng(1).integers(0, 50, (N, 8))
    discrete.entropy(x[:100])
    benchmark.group = "H of 8 vars x 50 values, N=1e6 (sparse)"
    benchmark.extra_info["impl"] = "pidlearn"
    benchmark.pedantic(discrete.entropy, args=(x,), rounds=3, iterations=1)


def test_permutation_test_1000(benchmark):
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 8, (2, 10**4))
    discrete.permutation_test(x, y, n_permutations=2, seed=0)
    benchmark.group = "permutation test, 1000 perms, N=1e4, alphabet 8"
    benchmark.extra_info["impl"] = "pidlearn"
    benchmark.pedantic(discrete.permutation_test, args=(x, y), kwargs={"n_permutations": 1000, "seed": 0}, rounds=3)


def test_permutation_test_sklearn_loop(benchmark):
    """The peer a user would write: shuffle with numpy and call scikit-learn 1000 times."""
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 8, (2, 10**4))

    def loop():
        r = np.random.default_rng(0)
        return [metrics.mutual_info_score(r.permutation(x), y) for _ in range(1000)]

    benchmark.group = "permutation test, 1000 perms, N=1e4, alphabet 8"
    benchmark.extra_info["impl"] = "scikit-learn loop"
    benchmark.pedantic(loop, rounds=1, iterations=1)
