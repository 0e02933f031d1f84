"""Full-MNIST accuracy runs of infomorphic networks (long: not part of the test suite).

Usage::

    python benchmarks/mnist_accuracy.py --hidden 0 --epochs 20                       # single layer (paper 91.9 %)
    python benchmarks/mnist_accuracy.py --hidden 100 --goal context_heuristic        # paper 92.5 %
    python benchmarks/mnist_accuracy.py --hidden 100 --goal trivariate_optimised     # paper 95.2 %
    python benchmarks/mnist_accuracy.py --hidden 500 --goal trivariate_optimised --lateral-connections 100  # 96.7 %
    # context heuristic with a context that gates the drive (diverse neurons), readout trained on unlabelled passes
    python benchmarks/mnist_accuracy.py --hidden 100 --goal context_heuristic --k1 0.1 --context-init-gain 5 \
        --readout-input unlabelled --eval-hidden max
    # any of them with the readout θ averaged over 50 stochastic passes at evaluation
    python benchmarks/mnist_accuracy.py --hidden 100 --goal context_heuristic --eval-samples 50

Trains on the first 48 000 training images, reports validation accuracy on the other 12 000 and test accuracy on
the 10 000 test images after every epoch; one JSON line per epoch goes to ``--log``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer, standardise
from pidlearn.idx import load_mnist

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    ap.add_argument("--hidden", type=int, default=0)
    ap.add_argument("--goal", default="context_heuristic")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log", default=None)
    ap.add_argument("--lateral-connections", type=int, default=None, help="sparse lateral inputs per neuron")
    ap.add_argument("--k1", type=float, default=None, help="k1 of the hidden layer's bivariate activation (ref. 0.9)")
    ap.add_argument("--context-init-gain", type=float, default=1.0, help="scale of the initial context weights")
    ap.add_argument("--readout-input", choices=("labelled", "unlabelled"), default="labelled")
    ap.add_argument("--eval-hidden", choices=("sample", "max", "mean"), default="sample")
    ap.add_argument("--eval-samples", type=int, default=1, help="stochastic passes averaged at evaluation (ref. 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x_tr, y_tr = load_mnist(args.data, "train")
    x_te, y_te = load_mnist(args.data, "test")
    x, mean, std = standardise(x_tr[:48000])
    xv, _, _ = standardise(x_tr[48000:], mean, std)
    xt, _, _ = standardise(x_te, mean, std)
    y, yv, yt = (torch.as_tensor(a, dtype=torch.int64) for a in (y_tr[:48000], y_tr[48000:], y_te))
    torch.manual_seed(args.seed)
    net = InfomorphicNetwork(
        hidden=args.hidden,
        hidden_goal=args.goal,
        lateral_connections=args.lateral_connections,
        hidden_activation_kwargs=None if args.k1 is None else {"k1": args.k1},
        context_init_gain=args.context_init_gain,
        readout_input=args.readout_input,
    )
    trainer = Trainer(net, seed=args.seed, progress=False, eval_hidden=args.eval_hidden, eval_samples=args.eval_samples)
    t0 = time.perf_counter()
    log = open(args.log, "a") if args.log else None
    for epoch in range(1, args.epochs + 1):
        trainer.fit(x, y, epoch, eval_sets={"validation": (xv, yv), "test": (xt, yt)})
        h = trainer.history[-1]
        row = {
            "hidden": args.hidden,
            "goal": args.goal if args.hidden else "readout",
            "seed": args.seed,
            "k1": args.k1,
            "context_init_gain": args.context_init_gain,
            "readout_input": args.readout_input,
            "eval_hidden": args.eval_hidden,
            "eval_samples": args.eval_samples,
            "epoch": epoch,
            "epoch_seconds": h["seconds"],
            "wall_seconds": time.perf_counter() - t0,
            "validation_accuracy": h["accuracy"]["validation"],
            "test_accuracy": h["accuracy"]["test"],
            "atoms": h["atoms"],
        }
        print(json.dumps({k: v for k, v in row.items() if k != "atoms"}), flush=True)
        if log:
            log.write(json.dumps(row) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
