"""Continuous-output neurons' goal against binary neurons' goal: forward + backward, same batch and neurons (#19).

    python -m pytest benchmarks/bench_continuous_goal.py --benchmark-only
    python benchmarks/bench_continuous_goal.py [--neurons 100] [--batch 1024] [--rounds 3] [--pairs 31] [--reference]
        # medians and ratios (binary, kernel and binned steps interleaved round by round, the ratio the median of
        # the rounds' ratios); --reference also times the dense all-pairs path once (about a minute)

Both evaluate the context-heuristic goal ``γ = {1}{2}`` (redundancy of the receptive and the contextual input in the
output) of 2-source neurons on one batch and backpropagate it to the outputs:

* binary: the layer's path (what :meth:`~pidlearn.backends.torch.InfomorphicLayer.goal_value` runs): the two drives
  binned (20 adaptive bins, the layer's default) and :func:`pidlearn.backends.torch.functional._sample_goal` on the
  bins with a kept workspace, gradient to ``θ``; also the goal kernel alone, on bins computed outside the step;
* continuous, ``method="knn"``: :func:`pidlearn.backends.torch.continuous_sxpid.continuous_sxpid_goal` (soft-count
  KSG-type, k = 3, the sample pairs near each ball's edge, one numba kernel forward and backward), gradient to the
  real-valued outputs; with ``--reference`` also the same goal from all ``N²`` pairs (the dense path it replaced on
  CPU);
* continuous, ``method="binned"``: the same function's linear-binned plug-in estimator (default bin width
  ``2 N^{-1/4}`` for two sources, one fused numba pass per neuron for the goal and its gradient).

Each continuous step starts from the raw drives as a list ``[r, c]``, as
:meth:`~pidlearn.backends.torch.continuous_layers.ContinuousInfomorphicLayer.goal_value` passes them (the estimator
standardises and places them on its lattice inside the step), so both sides time what their layer runs per step. The
issue's goal is a ratio continuous / binary ≤ 3. Threads: ``PIDLEARN_BENCH_THREADS`` (default 1).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import pytest

torch = pytest.importorskip("torch") if __name__ != "__main__" else __import__("torch")

THREADS = int(os.environ.get("PIDLEARN_BENCH_THREADS", "1"))
N_BINS = 20


def _inputs(batch: int, neurons: int):
    g = torch.Generator().manual_seed(0)
    r, c = torch.randn(batch, neurons, generator=g), torch.randn(batch, neurons, generator=g)
    out = torch.tanh(r + 0.5 * c + 0.3 * torch.randn(batch, neurons, generator=g))
    return r, c, out


def binary_step(batch: int, neurons: int, bins_in_step: bool = True):
    """A closure running one forward + backward of the binary neurons' goal on the batch's drives.

    ``bins_in_step`` (default): what :meth:`InfomorphicLayer.goal_value` runs — the drives binned (20 adaptive bins,
    the layer's default) and the goal of the bins; ``False``: the bins computed once outside the step (20 fixed bins
    on [−3, 3]), the goal kernel alone.
    """
    from pidlearn.backends.torch.binning import adaptive_bins, fixed_bins
    from pidlearn.backends.torch.functional import _sample_goal, _Workspace
    from pidlearn.goals import goal_vector

    r, c, out = _inputs(batch, neurons)
    theta = torch.sigmoid(out).clamp(1e-6, 1 - 1e-6).detach().requires_grad_()
    fixed = [fixed_bins(x, N_BINS, -3.0, 3.0) for x in (r, c)]
    gamma, gamma_res = goal_vector("context_heuristic", 2)
    ws = _Workspace()

    def step():
        theta.grad = None
        bins = [adaptive_bins(x, N_BINS) for x in (r, c)] if bins_in_step else fixed
        _sample_goal(theta, bins, (N_BINS, N_BINS), tuple(gamma), float(gamma_res), ws).sum().backward()

    return step


def binary_kernel_step(batch: int, neurons: int):
    """:func:`binary_step` with the bins computed outside the step (the goal kernel alone)."""
    return binary_step(batch, neurons, bins_in_step=False)


def continuous_step(batch: int, neurons: int, dense: bool = False, method: str = "knn"):
    """A closure running one forward + backward of the continuous neurons' goal in continuous atoms.

    ``dense``: the same goal from the all-pairs reference path (private), for a before/after comparison;
    ``method``: the estimator (``"knn"`` or ``"binned"``).
    """
    from pidlearn.backends.torch import continuous_sxpid as cs
    from pidlearn.goals import goal_rows, goal_vector

    r, c, out = _inputs(batch, neurons)
    out = out.detach().requires_grad_()
    sources = [r, c]  # as ContinuousInfomorphicLayer.goal_value passes its drives
    gamma, _ = goal_vector("context_heuristic", 2)
    rows, weights = goal_rows(2, tuple(float(g) for g in gamma))

    def step():
        out.grad = None
        if dense:
            red = cs._redundancies_dense(out, torch.stack(sources, dim=-1), rows, 3, 0.02, True) / math.log(2)
            (red @ torch.tensor(weights, dtype=red.dtype)).sum().backward()
        else:
            cs.continuous_sxpid_goal(out, sources, gamma, method=method).sum().backward()

    return step


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(THREADS)


def binned_step(batch: int, neurons: int):
    """:func:`continuous_step` with the linear-binned estimator."""
    return continuous_step(batch, neurons, method="binned")


@pytest.mark.parametrize(
    ("impl", "make"),
    [
        ("pidlearn", binary_step),
        ("binary-kernel", binary_kernel_step),
        ("continuous", continuous_step),
        ("binned", binned_step),
    ],
)
def test_goal_forward_backward(benchmark, impl, make):
    step = make(1024, 100)
    step()  # warm-up
    benchmark.group = "context-heuristic goal fwd+bwd, 100 neurons, batch 1024 (continuous / binary)"
    benchmark.extra_info.update(impl=impl, threads=THREADS)
    benchmark.pedantic(step, rounds=5 if impl == "pidlearn" else 2, iterations=1)


def _median(step, rounds: int, warm_up: bool = True) -> float:
    if warm_up:
        step()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _interleaved(steps: dict, rounds: int) -> dict:
    """Seconds per call of each step, the steps run back to back in every round (after one warm-up call each), so
    that a drifting load on a shared machine falls on all of them alike; ratios are taken within a round."""
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3, help="calls of the (slow) soft-count step")
    ap.add_argument("--pairs", type=int, default=31, help="rounds of the binary, kernel and binned steps, interleaved")
    ap.add_argument("--reference", action="store_true", help="also time the dense all-pairs path once")
    args = ap.parse_args()
    torch.set_num_threads(THREADS)
    b, m = args.batch, args.neurons
    times = _interleaved(
        {"binary": binary_step(b, m), "kernel": binary_kernel_step(b, m), "binned": binned_step(b, m)}, args.pairs
    )
    binary, kernel, binned = (statistics.median(times[k]) for k in ("binary", "kernel", "binned"))
    ratio = statistics.median(x / y for x, y in zip(times["binned"], times["binary"], strict=True))
    ratio_kernel = statistics.median(x / y for x, y in zip(times["binned"], times["kernel"], strict=True))
    worst = max(x / y for x, y in zip(times["binned"], times["binary"], strict=True))
    cont = _median(continuous_step(b, m), args.rounds)
    if args.reference:
        dense = _median(continuous_step(b, m, dense=True), 1, warm_up=False)
    print(
        f"{m} neurons, batch {b}, {THREADS} thread(s), load {os.getloadavg()[0]:.1f}, {args.pairs} interleaved rounds"
    )
    print(f"binary goal      (fwd+bwd) median {binary * 1e3:10.2f} ms  (the layer's path: bins of the drives + goal)")
    print(f"binary kernel    (fwd+bwd) median {kernel * 1e3:10.2f} ms  (bins computed outside the step)")
    print(f"continuous goal  (fwd+bwd) median {cont * 1e3:10.2f} ms  (knn)")
    print(f"continuous goal  (fwd+bwd) median {binned * 1e3:10.2f} ms  (binned)")
    if args.reference:
        print(f"dense all pairs  (fwd+bwd) once   {dense * 1e3:10.2f} ms  ({dense / binary:.0f}x binary)")
    print(f"ratio continuous knn / binary:    {cont / binary:.1f}x")
    print(
        f"ratio continuous binned / binary: {ratio:.2f}x median of the rounds' ratios, {worst:.2f}x the largest "
        "(goal: <= 3x)"
    )
    print(f"ratio continuous binned / binary kernel alone: {ratio_kernel:.2f}x")


if __name__ == "__main__":
    main()
