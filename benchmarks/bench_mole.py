"""Time of one training epoch of MOLE (asynchronous; Rényi α = 1.01, InfoNCE or PID) beside backprop on the same net.

    python -m pytest benchmarks/bench_mole.py --benchmark-only   # pytest-benchmark ("pidlearn" = MOLE with Rényi)
    python benchmarks/bench_mole.py [--rounds 3] [--objective infonce]   # median s per epoch, a Markdown table

Objectives: ``renyi`` (default), ``renyi2``, ``renyi-norm``, ``infonce``, ``pid``. Threads:
``PIDLEARN_BENCH_THREADS`` (default 1). Data from ``../shared/datasets`` (skipped when absent). What one epoch is here
(the networks and settings of ``pidlearn.backends.torch.mole_data``):

* MNIST-MLP — 12 800 training images (50 batches of 256; a full epoch of 60 000 is 234 batches, ≈ 4.7× this);
* Fashion-MNIST-CNN — 5 120 training images (20 batches of 256; the table of docs/results/mole.md trains on 20 000);
* Cora-GCN, Citeseer-GCN — one full-graph step (the loss on the 140 / 120 training nodes);
* MUTAG-GIN, PROTEINS-GIN — the training part of fold 1 of 10 (169 / 1001 graphs, batches of 64).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch") if __name__ != "__main__" else __import__("torch")

THREADS = int(os.environ.get("PIDLEARN_BENCH_THREADS", "1"))
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
CASES = {
    "MNIST-MLP": ("vector", "mnist", 12800),
    "Fashion-MNIST-CNN": ("grid", "fashion-mnist", 5120),
    "Cora-GCN": ("node", "cora", None),
    "Citeseer-GCN": ("node", "citeseer", None),
    "MUTAG-GIN": ("graph", "mutag", None),
    "PROTEINS-GIN": ("graph", "proteins", None),
}


def make_trainers(case: str, objective: str = "renyi"):
    """(MOLE, Backprop, training data) of a case, both trainers prepared (lazy layers sized, optimisers made)."""
    import numpy as np

    from pidlearn.backends.torch import mole_data as md
    from pidlearn.backends.torch.mole import MOLE, Backprop

    data_type, name, n_train = CASES[case]
    path = md.find_dataset(data_type, name, DATA)
    cfg = md.DEFAULTS[data_type]
    if data_type in ("vector", "grid"):
        train, _ = md.load_images(path, train_size=n_train, flatten=data_type == "vector")
        in_features, n_classes = train[0].shape[1], 10
    elif data_type == "node":
        d = md.load_planetoid(path)
        train = [(d["graph"].with_index(d["train"]), d["labels"][d["train"]])]
        in_features, n_classes = d["graph"].x.shape[1], d["n_classes"]
    else:
        ds = md.load_tu(path)
        test_ids = md.stratified_folds(ds.labels, 10, 0)[0]
        train = ds.loader(np.setdiff1d(np.arange(len(ds)), test_ids), cfg["batch_size"])
        in_features, n_classes = ds.n_features, ds.n_classes
    common = {"batch_size": cfg["batch_size"], "lr": cfg["lr"], "weight_decay": cfg["weight_decay"], "progress": False}
    torch.manual_seed(0)
    mods, head = md.build_network(data_type, in_features, n_classes, cfg["hidden"])
    mole = MOLE(mods, objective, head, n_classes=n_classes, head_lr=cfg["head_lr"], **common)
    torch.manual_seed(0)
    mods, head = md.build_network(data_type, in_features, n_classes, cfg["hidden"])
    bp = Backprop(mods, head, n_classes=n_classes, **common)
    mole.prepare(train)
    bp.prepare(train)
    return mole, bp, train


def one_epoch(trainer, data) -> None:
    trainer.fit(data, trainer.epoch + 1)


@pytest.fixture(autouse=True)
def _threads():
    old = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", ["pidlearn", "pidlearn-infonce", "backprop"])
def test_epoch_time(benchmark, case, impl):
    if not DATA.is_dir():
        pytest.skip(f"datasets not found at {DATA}")
    mole, bp, train = make_trainers(case, "infonce" if impl == "pidlearn-infonce" else "renyi")
    trainer = bp if impl == "backprop" else mole
    benchmark.group = f"mole epoch {case}"
    benchmark.extra_info.update({"impl": impl, "case": case, "threads": THREADS})
    benchmark.pedantic(one_epoch, args=(trainer, train), rounds=3, iterations=1, warmup_rounds=1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="median seconds per epoch, MOLE vs backprop")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", nargs="+", choices=list(CASES))
    p.add_argument("--objective", default="renyi", choices=("renyi", "renyi2", "renyi-norm", "infonce", "pid"))
    args = p.parse_args(argv)
    torch.set_num_threads(THREADS)
    print(
        f"| case | MOLE ({args.objective}) s/epoch | backprop s/epoch | ratio |   "
        f"({THREADS} thread(s), median of {args.rounds})"
    )
    print("|---|---|---|---|")
    for case in args.only or CASES:
        mole, bp, train = make_trainers(case, args.objective)
        times = {}
        for name, trainer in (("mole", mole), ("bp", bp)):
            one_epoch(trainer, train)  # warm-up
            ts = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                one_epoch(trainer, train)
                ts.append(time.perf_counter() - t0)
            times[name] = statistics.median(ts)
        print(f"| {case} | {times['mole']:.3f} | {times['bp']:.3f} | {times['mole'] / times['bp']:.1f}× |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
