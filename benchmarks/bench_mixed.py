"""Continuous vs discrete MI (Ross 2014), side by side with scikit-learn's ``mutual_info_classif`` in one run.

    python -m pytest benchmarks/bench_mixed.py --benchmark-only

Data: 1-D ``x = label + N(0, 1)`` with 4 equiprobable labels at N = 10⁴ and 10⁵, k = 3.

* scikit-learn scales ``x``, adds 1e-10 noise, then runs one ``NearestNeighbors`` per label and a KDTree radius count
  over all samples. pidlearn gets exactly those noisy inputs (tests/test_continuous.py's ``_sklearn_preprocess``),
  with ``normalize=False`` (already scaled), so both values are asserted equal to 1e-12 nats.
* pidlearn runs with its defaults (all cores) and once more with ``workers=1``; scikit-learn is single-threaded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pidlearn import continuous

SIZES = {"1e4": 10_000, "1e5": 100_000}
K = 3


@pytest.fixture(scope="module")
def warm():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 500)
    continuous.mutual_information(labels + rng.standard_normal(500), labels, discrete="y")  # numba cache


@pytest.fixture(scope="module", params=list(SIZES))
def data(request, warm):
    helper = pytest.importorskip("tests.test_continuous")
    n = SIZES[request.param]
    rng = np.random.default_rng(n)
    labels = rng.integers(0, 4, n)
    x = labels + rng.standard_normal(n)
    xs, _ = helper._sklearn_preprocess(x, labels, 0, discrete_target=True)
    return request.param, x, xs, labels


def _ours(xs, labels, **kw):
    return continuous.mutual_information(xs, labels, discrete="y", k=K, base=math.e, normalize=False, **kw)


def test_ross_pidlearn(benchmark, data):
    label, _, xs, labels = data
    benchmark.group = f"MI continuous x vs 4 labels, N={label}"
    benchmark.extra_info["impl"] = "pidlearn"
    value = benchmark(_ours, xs, labels)
    assert value == pytest.approx(0.3996, abs=0.01)  # I(X; L) = h(mixture) - ½ ln(2πe) = 0.3996 nats (quadrature)


def test_ross_pidlearn_1thread(benchmark, data):
    label, _, xs, labels = data
    benchmark.group = f"MI continuous x vs 4 labels, N={label}"
    benchmark.extra_info["impl"] = "pidlearn (1 thread)"
    benchmark(_ours, xs, labels, workers=1)


def test_ross_sklearn(benchmark, data):
    fs = pytest.importorskip("sklearn.feature_selection")
    label, x, xs, labels = data
    benchmark.group = f"MI continuous x vs 4 labels, N={label}"
    benchmark.extra_info["impl"] = "scikit-learn"
    value = benchmark.pedantic(
        lambda: fs.mutual_info_classif(x[:, None], labels, n_neighbors=K, random_state=0)[0], rounds=3, iterations=1
    )
    assert abs(value - max(0.0, _ours(xs, labels))) <= 1e-12
