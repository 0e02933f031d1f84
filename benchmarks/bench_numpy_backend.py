"""Time per training step of the NumPy (analytic local rule, numba) and the torch (autograd) backends, side by side.

    python -m pytest benchmarks/bench_numpy_backend.py --benchmark-only

Both backends train the same network from the same initial weights (the torch network's, copied into the NumPy
one) on the same data: 5 batches of 1024 standardised images of the bundled MNIST subset, i.e. one timed call is
5 training steps (forward, goal and gradient of every layer, one Adam step per layer), all atoms recorded on the
first of them (``monitor_every=5`` in both trainers). Networks: the single infomorphic layer (784 → 10 readout), one
hidden layer of 100 bivariate neurons (context heuristic) + readout, one hidden layer of 100 trivariate neurons
(optimised goal, two lateral passes) + readout.

Threads: ``PIDLEARN_BENCH_THREADS`` (default 1) for torch, numba and BLAS (through threadpoolctl when installed).
``extra_info`` holds the median seconds per step and the process CPU time per step (the steadier number on a shared
machine); the NumPy entry also holds ``torch_over_numpy``, the ratio of the two medians of the same group.
"""

from __future__ import annotations

import contextlib
import os
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

THREADS = int(os.environ.get("PIDLEARN_BENCH_THREADS", "1"))
BATCH = 1024
STEPS = 5
NETWORKS = {
    "single layer": (0, "context_heuristic"),
    "100 bivariate hidden": (100, "context_heuristic"),
    "100 trivariate hidden": (100, "trivariate_optimised"),
}
_MEDIANS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _threads():
    import numba

    torch.set_num_threads(THREADS)
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(THREADS)
    with limits:
        yield


@pytest.fixture(scope="module")
def data():
    from pidlearn.backends.numpy.train import standardise
    from pidlearn.idx import load_mnist_small

    d = load_mnist_small()
    x, _, _ = standardise(d["x_train"][: STEPS * BATCH])
    return x, d["y_train"][: STEPS * BATCH].astype(np.int64)


def _trainers(name):
    from pidlearn.backends.numpy import train as np_train
    from pidlearn.backends.torch import train as torch_train

    hidden, goal = NETWORKS[name]
    torch.manual_seed(0)
    t_net = torch_train.InfomorphicNetwork(hidden=hidden, hidden_goal=goal)
    n_net = np_train.InfomorphicNetwork(hidden=hidden, hidden_goal=goal)
    n_net.load_state_dict({k: v.numpy() for k, v in t_net.state_dict().items()})
    kw = {"batch_size": BATCH, "seed": 0, "progress": False, "monitor_every": STEPS}
    return np_train.Trainer(n_net, **kw), torch_train.Trainer(t_net, **kw)


def _run(benchmark, name, impl, fn):
    fn()  # warm-up (numba cache load, torch allocator)
    cpu = []

    def timed():
        c0 = time.process_time()
        fn()
        cpu.append(time.process_time() - c0)

    benchmark.group = f"{STEPS} training steps, batch {BATCH}: {name}"
    benchmark.extra_info.update(impl=impl, threads=THREADS, steps=STEPS)
    benchmark.pedantic(timed, rounds=5, iterations=1)
    median = benchmark.stats.stats.median
    _MEDIANS[(name, impl)] = median
    benchmark.extra_info["seconds_per_step"] = median / STEPS
    benchmark.extra_info["cpu_seconds_per_step"] = float(np.median(cpu)) / STEPS
    return median


@pytest.mark.parametrize("name", list(NETWORKS))
def test_step_torch(benchmark, data, name):
    x, y = data
    _, trainer = _trainers(name)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    _run(benchmark, name, "pidlearn torch", lambda: trainer.train_epoch(xt, yt))


@pytest.mark.parametrize("name", list(NETWORKS))
def test_step_numpy(benchmark, data, name):
    x, y = data
    trainer, _ = _trainers(name)
    median = _run(benchmark, name, "pidlearn numpy", lambda: trainer.train_epoch(x, y))
    other = _MEDIANS.get((name, "pidlearn torch"))
    if other is not None:
        benchmark.extra_info["torch_over_numpy"] = other / median
