"""Every O-information of sizes 3..5 (and 3..8) of a 30-variable, N = 10⁴ Gaussian-copula data set, side by side with
THOI's ``multi_order_measures`` (float64) and hoi's ``Oinfo`` in one run.

    python -m pytest benchmarks/bench_higher_order.py --benchmark-only     # peers timed when importable
    PYTHONPATH=/work/main /work/venv-peers/bin/python benchmarks/bench_higher_order.py [--hoi]   # standalone

hoi (JAX) and THOI (PyTorch) pin their own stacks, so they live in a separate virtual environment; the standalone mode
runs there with pidlearn on ``PYTHONPATH`` and prints the times and ratios. Every call is the library call on the raw
data matrix: validation, copula transform, covariance and the search. THOI applies the Ince et al. (2017) bias
correction on raw data, so pidlearn runs with ``bias_correction=True`` against it, and the values are checked equal
(1e-9, nats) before the times are reported. hoi takes about a minute for sizes 3..5 and runs only with ``--hoi``
(``PIDLEARN_BENCH_SLOW_PEERS=1`` under pytest).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time

import numpy as np

try:
    import pytest
except ImportError:  # standalone mode in a peers' environment without pytest
    pytest = None

from pidlearn.higher_order import multiplets

N_SAMPLES, N_VARS = 10_000, 30
SLOW_PEERS = os.environ.get("PIDLEARN_BENCH_SLOW_PEERS") == "1"


def copula_data(n: int = N_SAMPLES, p: int = N_VARS, seed: int = 0) -> np.ndarray:
    """Three latent factors (redundancy), sums of pairs (synergy), then monotone non-Gaussian marginals."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n, 3))
    load = rng.normal(0.0, 1.0, (3, p)) * (rng.random((3, p)) < 0.4)
    x = factors @ load + rng.standard_normal((n, p))
    for j in range(0, p - 2, 5):  # x_{j+2} ≈ x_j + x_{j+1}: synergistic triplets
        x[:, j + 2] = x[:, j] + x[:, j + 1] + 0.5 * rng.standard_normal(n)
    x[:, ::3] = np.exp(0.5 * x[:, ::3])
    x[:, 1::3] = x[:, 1::3] ** 3
    return x


def _warm() -> None:
    """Load numba's cache (first call in a process) outside the timings."""
    multiplets(copula_data(200, 8), (3, 4), bias_correction=True)


def _thoi(x: np.ndarray, lo: int, hi: int):
    import torch
    from thoi.measures.gaussian_copula import multi_order_measures

    return multi_order_measures(torch.as_tensor(x, dtype=torch.float64), lo, hi)


def _thoi_o(df, res) -> float:
    """Largest |Ω_THOI − Ω_pidlearn| (nats) over THOI's rows."""
    var = [c for c in df.columns if c.startswith("var_")]
    mask = df[var].to_numpy().astype(bool)
    ours = {res.multiplet(i): v for i, v in enumerate(res.values)}
    theirs = df["o"].to_numpy()
    return max(abs(theirs[r] - ours[tuple(np.flatnonzero(mask[r]).tolist())]) for r in range(len(df)))


def _hoi(x: np.ndarray, lo: int, hi: int):
    import jax

    jax.config.update("jax_enable_x64", True)
    from hoi.metrics import Oinfo

    return Oinfo(x).fit(minsize=lo, maxsize=hi, method="gc")


# ---------------------------------------------------------------------------------------------------------------------
# pytest-benchmark
# ---------------------------------------------------------------------------------------------------------------------
GROUP = f"O-information sizes 3..5 of {N_VARS} variables, N={N_SAMPLES}"


def test_pidlearn_3_5(benchmark):
    x = copula_data()
    _warm()
    benchmark.group = GROUP
    benchmark.extra_info["impl"] = "pidlearn"
    res = benchmark(multiplets, x, (3, 5), bias_correction=True, base=math.e)
    assert len(res) == 173_971


def test_thoi_3_5(benchmark):
    pytest.importorskip("thoi")
    x = copula_data()
    benchmark.group = GROUP
    benchmark.extra_info["impl"] = "thoi"
    df = benchmark.pedantic(_thoi, args=(x, 3, 5), rounds=3)
    assert _thoi_o(df, multiplets(x, (3, 5), bias_correction=True, base=math.e)) < 1e-9


@(
    pytest.mark.skipif(not SLOW_PEERS, reason="hoi takes about a minute: PIDLEARN_BENCH_SLOW_PEERS=1")
    if pytest
    else (lambda f: f)
)
def test_hoi_3_5(benchmark):
    pytest.importorskip("hoi")
    x = copula_data()
    benchmark.group = GROUP
    benchmark.extra_info["impl"] = "hoi"
    benchmark.pedantic(_hoi, args=(x, 3, 5), rounds=1)


def test_pidlearn_3_8(benchmark):
    x = copula_data()
    _warm()
    benchmark.group = f"O-information sizes 3..8 of {N_VARS} variables, N={N_SAMPLES}"
    benchmark.extra_info["impl"] = "pidlearn"
    res = benchmark.pedantic(multiplets, args=(x, (3, 8)), kwargs={"bias_correction": True}, rounds=3)
    assert len(res) == 8_656_471


# ---------------------------------------------------------------------------------------------------------------------
# standalone
# ---------------------------------------------------------------------------------------------------------------------
def _time(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv) -> int:
    x = copula_data()
    t0 = time.perf_counter()
    _warm()
    print(f"numba cache load / compile: {time.perf_counter() - t0:.2f} s")
    t_ours, res = _time(lambda: multiplets(x, (3, 5), bias_correction=True, base=math.e), 7)
    print(f"pidlearn multiplets(X, (3, 5))  {len(res):>9,} multiplets  {t_ours:8.3f} s (median of 7)")
    try:
        import thoi  # noqa: F401
    except ImportError:
        print("thoi not installed in this environment: skipped")
    else:
        t_thoi, df = _time(lambda: _thoi(x, 3, 5), 3)
        err = _thoi_o(df, res)
        print(f"THOI multi_order_measures(3, 5) {len(df):>9,} multiplets  {t_thoi:8.3f} s (median of 3)")
        print(f"  max |Ω_THOI − Ω_pidlearn| = {err:.1e} nats; THOI / pidlearn = {t_thoi / t_ours:.1f}x")
        if err > 1e-9:
            print("  VALUES DIFFER")
            return 1
    if "--hoi" in argv:
        t_hoi, _ = _time(lambda: _hoi(x, 3, 5), 1)
        print(f"hoi Oinfo(gc).fit(3, 5)          {len(res):>9,} multiplets  {t_hoi:8.3f} s (once)")
        print(f"  hoi / pidlearn = {t_hoi / t_ours:.1f}x")
    t8, res8 = _time(lambda: multiplets(x, (3, 8), bias_correction=True), 3)
    print(f"pidlearn multiplets(X, (3, 8))  {len(res8):>9,} multiplets  {t8:8.3f} s (median of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
