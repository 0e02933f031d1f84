"""One MOLE module training step, NumPy backend beside torch (CPU), for every module kind.

    python -m pytest benchmarks/bench_numpy_mole.py --benchmark-only     # pytest-benchmark, grouped per case
    python benchmarks/bench_numpy_mole.py [--rounds 20] [--objective renyi] [--clock cpu]   # median ms per step

A step = forward of the module on a detached input, the objective (Rényi α = 1.01 by default; ``infonce``, ``pid``)
and its gradient, the backward pass to the module's parameters and one Adam step — the inner loop of
``MOLE._epoch_asynchronous``. Same network, weights, batch and float32 in both backends; synthetic data of the
shapes of the MOLE experiments (``pidlearn.backends.torch.mole_data``): MNIST-MLP (batch 256, 784 → 256),
Fashion-MNIST-CNN (batch 256, 1 × 28 × 28, conv 5 × 5 to 16 channels, pool), Cora-GCN (2708 nodes, 1433 sparse
features, 140 training nodes), MUTAG-GIN (64 graphs of ~18 nodes, 7 node tags). Threads: ``PIDLEARN_BENCH_THREADS``
(default 1) for torch, BLAS and numba. ``--clock cpu`` times the process's CPU seconds instead of the wall clock: on a
machine shared with other jobs a 1-thread step's CPU time hardly moves while its wall time doubles (with several
threads it sums them, so it is the work, not the latency).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

THREADS = int(os.environ.get("PIDLEARN_BENCH_THREADS", "1"))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))

import numpy as np  # noqa: E402

CASES = ("MNIST-MLP", "Fashion-MNIST-CNN", "Cora-GCN", "MUTAG-GIN")


def _graphs(rng, n_graphs, mean_nodes, n_tags):
    sizes = rng.integers(mean_nodes - 6, mean_nodes + 6, n_graphs)
    graph = np.repeat(np.arange(n_graphs), sizes)
    edges, start = [], 0
    for s in sizes:
        for i in range(1, s):
            j = int(rng.integers(0, i))
            edges += [(start + i, start + j), (start + j, start + i)]
        start += s
    x = np.eye(n_tags, dtype=np.float32)[rng.integers(0, n_tags, len(graph))]
    return x, np.asarray(edges).T, graph


def make_case(case: str, objective: str = "renyi", seed: int = 0):
    """(numpy step, torch step): callables that each run one training step of the first module of the case."""
    import torch

    from pidlearn.backends.numpy import nn
    from pidlearn.backends.numpy.mole import MOLE
    from pidlearn.backends.torch import graph as tg
    from pidlearn.backends.torch import mole as tm

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    n_classes = 10
    if case == "MNIST-MLP":
        tmod = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU())
        nmod = nn.Sequential(nn.Linear(784, 256), nn.ReLU())
        x = rng.normal(size=(256, 784)).astype(np.float32)
        tin, nin, n = torch.tensor(x), x, 256
    elif case == "Fashion-MNIST-CNN":
        tmod = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
        nmod = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        x = rng.normal(size=(256, 1, 28, 28)).astype(np.float32)
        tin, nin, n = torch.tensor(x), x, 256
    elif case == "Cora-GCN":
        n_nodes, n_classes = 2708, 7
        x = (rng.random((n_nodes, 1433)) < 0.013).astype(np.float32)
        x /= np.maximum(x.sum(1, keepdims=True), 1)
        src = rng.integers(0, n_nodes, 5278)
        dst = rng.integers(0, n_nodes, 5278)
        edges = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], 1)
        idx = np.arange(140)
        tmod, nmod = tg.GCNBlock(1433, 64), nn.GCNBlock(1433, 64)
        tin = tg.GraphBatch(torch.tensor(x), torch.tensor(edges), index=torch.tensor(idx))
        nin, n = nn.GraphBatch(x, edges, index=idx), 140
    elif case == "MUTAG-GIN":
        n_classes = 2
        x, edges, graph = _graphs(rng, 64, 18, 7)
        tmod, nmod = tg.GINBlock(7, 64), nn.GINBlock(7, 64)
        tin = tg.GraphBatch(torch.tensor(x), torch.tensor(edges), graph=torch.tensor(graph))
        nin, n = nn.GraphBatch(x, edges, graph=graph), 64
    else:
        raise ValueError(f"case must be one of {CASES}")
    nmod.load_state_dict({k: v.numpy() for k, v in tmod.state_dict().items()})
    y = (np.arange(n) % n_classes).astype(np.int64)
    ty = torch.tensor(y)

    tobj = tm.make_objective(objective, n_classes)
    with torch.no_grad():
        tobj(tm._represent(tmod(tin)), ty)
    topt = torch.optim.Adam([*tmod.parameters(), *tobj.parameters()], lr=1e-3)
    tmod.train()

    def torch_step():
        t = tm._represent(tmod(tin))
        loss = -tobj(t, ty)
        topt.zero_grad(set_to_none=True)
        loss.backward()
        topt.step()

    trainer = MOLE([nmod], objective, n_classes=n_classes, progress=False)
    trainer.prepare([(nin, y)])

    def numpy_step():
        trainer.module_step(0, nin, None, y)

    return numpy_step, torch_step


def median_ms(fn, rounds: int, clock=time.perf_counter) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(rounds):
        t0 = clock()
        fn()
        ts.append(clock() - t0)
    return 1000 * statistics.median(ts)


try:
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

if pytest is not None and __name__ != "__main__":
    torch = pytest.importorskip("torch")

    @pytest.fixture(autouse=True)
    def _threads():
        old = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        yield
        torch.set_num_threads(old)

    @pytest.mark.parametrize("case", CASES)
    @pytest.mark.parametrize("impl", ["numpy", "torch"])
    def test_module_step(benchmark, case, impl):
        numpy_step, torch_step = make_case(case)
        benchmark.group = f"mole module step {case}"
        benchmark.extra_info.update({"impl": impl, "case": case, "threads": THREADS})
        benchmark.pedantic(numpy_step if impl == "numpy" else torch_step, rounds=10, iterations=1, warmup_rounds=2)


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description="median ms per MOLE module step, NumPy vs torch")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--objective", default="renyi", choices=("renyi", "renyi2", "renyi-norm", "infonce", "pid"))
    p.add_argument("--only", nargs="+", choices=CASES)
    p.add_argument("--clock", default="wall", choices=("wall", "cpu"), help="wall clock or process CPU time")
    args = p.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    torch.set_num_threads(THREADS)
    print(
        f"| case | NumPy ms/step | torch ms/step | NumPy / torch |   ({args.objective}, {THREADS} thread(s), "
        f"{args.clock} clock)"
    )
    print("|---|---|---|---|")
    for case in args.only or CASES:
        numpy_step, torch_step = make_case(case, args.objective)
        # interleave the two so that load from other processes hits both alike
        tn, tt = [], []
        for _ in range(3):
            tn.append(median_ms(numpy_step, max(1, args.rounds // 3), clock))
            tt.append(median_ms(torch_step, max(1, args.rounds // 3), clock))
        a, b = statistics.median(tn), statistics.median(tt)
        print(f"| {case} | {a:.1f} | {b:.1f} | {a / b:.2f}× |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
