"""Infomorphic training time over the time of a plain network of the same shapes, side by side in one process.

    python benchmarks/bench_train_ratio.py                                   # Markdown table of the ratios
    python benchmarks/bench_train_ratio.py --hidden 100 --goal trivariate --threads 1 --steps 20 --rounds 5
    python -m pytest benchmarks/bench_train_ratio.py --benchmark-only       # the same under pytest-benchmark

The plain network has the infomorphic network's layers: ``784 → N`` receptive and ``10 → N`` context maps (plus an
``N → N`` lateral map run twice, the first pass with the lateral bias only, for the trivariate network), a sigmoid
hidden layer and an ``N → 10`` readout with a context bias, trained end to end by backpropagation of the
cross-entropy with the same optimisers (one Adam per layer, the trainer's learning rates and weight decays), the same
batches of 1024 and the same shuffling and batch slicing. The infomorphic network is :class:`Trainer` on
:class:`InfomorphicNetwork` (hidden goal ``context_heuristic`` for bivariate, ``trivariate_optimised`` for
trivariate; atoms recorded on every 10th batch, the trainer's default). Inputs are MNIST-sized random rows.

Both run ``--steps`` training steps per round, alternating round by round (``--rounds``), so that a change in the
machine's load hits both; the ratio is of the median per-step times, wall clock and process CPU time (on a shared
machine with one thread the CPU time is the steadier number). The floor moves with the machine; the ratio does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pytest

torch = pytest.importorskip("torch") if __name__ != "__main__" else __import__("torch")

from torch import nn  # noqa: E402

BATCH = 1024
N_INPUTS = 784
N_CLASSES = 10
GOALS = {"bivariate": "context_heuristic", "trivariate": "trivariate_optimised"}
STEPS = int(os.environ.get("PIDLEARN_BENCH_STEPS", "10"))


class PlainNetwork(nn.Module):
    """The infomorphic network's shapes as a plain sigmoid network trained by backpropagation."""

    def __init__(self, hidden: int, lateral: bool):
        super().__init__()
        self.receptive = nn.Linear(N_INPUTS, hidden)
        self.context = nn.Linear(N_CLASSES, hidden)
        self.lateral_map = nn.Linear(hidden, hidden) if lateral else None
        self.readout = nn.Linear(hidden, N_CLASSES)
        self.readout_context_bias = nn.Parameter(torch.zeros(N_CLASSES))

    def forward(self, x, context):
        drive = self.receptive(x) + self.context(context)
        if self.lateral_map is None:
            h = torch.sigmoid(drive)
        else:  # two lateral passes, the first with lateral input 0 (bias only) and no gradient
            with torch.no_grad():
                first = torch.sigmoid(drive + self.lateral_map.bias)
            h = torch.sigmoid(drive + self.lateral_map(first))
        return self.readout(h) + self.readout_context_bias

    def layer_parameters(self):
        hidden = [*self.receptive.parameters(), *self.context.parameters()]
        if self.lateral_map is not None:
            hidden += list(self.lateral_map.parameters())
        return hidden, [*self.readout.parameters(), self.readout_context_bias]


class PlainTrainer:
    """Adam per layer with the infomorphic trainer's settings; the same permutation and slicing of the batches."""

    def __init__(self, net: PlainNetwork, seed: int = 0):
        hidden, readout = net.layer_parameters()
        self.net = net
        self.optimizers = [
            torch.optim.Adam(hidden, lr=2e-3, weight_decay=3.5e-4),
            torch.optim.Adam(readout, lr=3e-3, weight_decay=1.5e-4),
        ]
        self.generator = torch.Generator().manual_seed(seed)
        self.eye = torch.eye(N_CLASSES)

    def train_epoch(self, x, labels):
        order = torch.randperm(len(x), generator=self.generator)
        for k in range(max(1, len(x) // BATCH)):
            idx = order[k * BATCH : (k + 1) * BATCH]
            xb, yb = x[idx], labels[idx]
            loss = nn.functional.cross_entropy(self.net(xb, self.eye[yb]), yb)
            for opt in self.optimizers:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in self.optimizers:
                opt.step()


def make_pair(hidden: int, goal: str):
    """(infomorphic trainer, plain trainer) of the same shapes, seeded."""
    from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer

    torch.manual_seed(0)
    info = Trainer(InfomorphicNetwork(hidden=hidden, hidden_goal=GOALS[goal]), batch_size=BATCH, progress=False)
    torch.manual_seed(0)
    plain = PlainTrainer(PlainNetwork(hidden, lateral=goal == "trivariate"))
    return info, plain


def _data(steps: int):
    g = torch.Generator().manual_seed(0)
    return torch.randn(steps * BATCH, N_INPUTS, generator=g), torch.randint(N_CLASSES, (steps * BATCH,), generator=g)


def _timed(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def measure(hidden: int, goal: str, threads: int, steps: int = STEPS, rounds: int = 3) -> dict:
    """Median seconds per step of both networks (wall and CPU), alternating round by round, and their ratios."""
    torch.set_num_threads(threads)
    info, plain = make_pair(hidden, goal)
    x, y = _data(steps)
    x1, y1 = x[: 2 * BATCH], y[: 2 * BATCH]
    info.train_epoch(x1, y1)  # warm-up: workspaces, numba compilation, allocator
    plain.train_epoch(x1, y1)
    times = {"infomorphic": [], "plain": []}
    for _ in range(rounds):
        times["infomorphic"].append(_timed(lambda: info.train_epoch(x, y)))
        times["plain"].append(_timed(lambda: plain.train_epoch(x, y)))
    out = {"hidden": hidden, "goal": goal, "threads": threads, "steps": steps, "rounds": rounds}
    for name, ts in times.items():
        out[f"{name}_wall_s"] = statistics.median(t[0] for t in ts) / steps
        out[f"{name}_cpu_s"] = statistics.median(t[1] for t in ts) / steps
    out["ratio_wall"] = out["infomorphic_wall_s"] / out["plain_wall_s"]
    out["ratio_cpu"] = out["infomorphic_cpu_s"] / out["plain_cpu_s"]
    return out


# pytest-benchmark: one group per shape and thread count, the plain network as the peer -----------------------------
CASES = [(h, g, t) for t in (1, 2) for g in ("bivariate", "trivariate") for h in (100, 500)]


@pytest.mark.parametrize("impl", ["pidlearn", "plain torch"])
@pytest.mark.parametrize(("hidden", "goal", "threads"), CASES)
def test_train_steps(benchmark, hidden, goal, threads, impl):
    torch.set_num_threads(threads)
    info, plain = make_pair(hidden, goal)
    trainer = info if impl == "pidlearn" else plain
    x, y = _data(STEPS)
    trainer.train_epoch(x[: 2 * BATCH], y[: 2 * BATCH])
    benchmark.group = f"{STEPS} train steps, {hidden} {goal} neurons, {threads} thread(s)"
    benchmark.extra_info.update(impl=impl, threads=threads, steps=STEPS)
    benchmark.pedantic(lambda: trainer.train_epoch(x, y), rounds=3, iterations=1)


def _table(rows: list[dict]) -> str:
    head = (
        "| neurons | goal | threads | infomorphic s/step | plain s/step | ratio (wall) | ratio (CPU) |\n"
        "|---:|---|---:|---:|---:|---:|---:|"
    )
    lines = [
        f"| {r['hidden']} | {r['goal']} | {r['threads']} | {r['infomorphic_wall_s']:.4f} | {r['plain_wall_s']:.4f} "
        f"| {r['ratio_wall']:.2f} | {r['ratio_cpu']:.2f} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="*", default=[100, 500])
    ap.add_argument("--goal", nargs="*", default=["bivariate", "trivariate"], choices=sorted(GOALS))
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--steps", type=int, default=STEPS, help="training steps per round (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported (default 3)")
    a = ap.parse_args()
    results = [measure(h, g, t, a.steps, a.rounds) for t in a.threads for g in a.goal for h in a.hidden]
    print(_table(results))
