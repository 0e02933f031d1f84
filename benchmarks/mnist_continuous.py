"""Binary and continuous-output infomorphic networks on full MNIST, side by side (issue #19; long: not a test).

Both networks have the same width and the same hidden goal in atoms (the binary network's default, the context
heuristic ``{1}{2}: 1``: redundancy of the image and the label), the same readout, optimiser settings and batch size
(:class:`pidlearn.backends.torch.train.Trainer` defaults, batch 1024); only the hidden neurons differ:

* binary: ``Y ∈ {−1, +1}``, goal in the plug-in atoms of 20 adaptive bins per drive;
* continuous: ``Y = A(r, c) + σ ε``, goal in the continuous SxPID atoms of the unbinned drives
  (:class:`~pidlearn.backends.torch.continuous_layers.ContinuousInfomorphicLayer`; ``--estimator``: soft neighbour
  counts ``knn``, the default, or the linear-binned ``binned``).

They are trained one after the other in one process on the first 48 000 training images; the accuracy (label input
zeroed, as the binary network is evaluated) is measured on the other 12 000 (validation, for choosing settings) and on
the 10 000 test images after every epoch. Seconds per epoch are the training pass only (``Trainer.history``); the
table gives their median over the epochs (the first epoch includes numba's compilation).

Usage::

    nice -n 5 python benchmarks/mnist_continuous.py --hidden 100 --epochs 10 --threads 1 --json out.jsonl
    # settings chosen on the validation set only (test not evaluated)
    python benchmarks/mnist_continuous.py --networks continuous --sigma 0.3 --lr-hidden 1e-2 --eval validation
    # the linear-binned estimator (``--estimator binned``) instead of the soft neighbour counts
    nice python benchmarks/mnist_continuous.py --networks continuous --estimator binned --eval validation

Prints one JSON line per network and epoch, then a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import numba
import torch

from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer, standardise
from pidlearn.idx import load_mnist

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ("binary", "continuous")


def _run(kind, args, data, log) -> dict:
    (x, y), eval_sets = data
    torch.manual_seed(args.seed)
    continuous = kind == "continuous"
    net = InfomorphicNetwork(
        hidden=args.hidden,
        hidden_goal=args.goal,
        hidden_neurons=kind,
        hidden_sigma=args.sigma if continuous else None,
        hidden_estimator=args.estimator if continuous else None,
    )
    lr = {} if args.lr_hidden is None else {"lr_hidden": args.lr_hidden}
    trainer = Trainer(net, seed=args.seed, progress=False, **lr)
    for epoch in range(1, args.epochs + 1):
        trainer.fit(x, y, epoch, eval_sets=eval_sets)
        h = trainer.history[-1]
        row = {
            "network": kind,
            "hidden": args.hidden,
            "goal": args.goal,
            "sigma": args.sigma if continuous else None,
            "estimator": args.estimator if continuous else None,
            "lr_hidden": trainer.optimizers["hidden"].param_groups[0]["lr"],
            "seed": args.seed,
            "threads": args.threads,
            "epoch": epoch,
            "epoch_seconds": h["seconds"],
            **{f"{name}_accuracy": acc for name, acc in h["accuracy"].items()},
            # H_res of a real-valued output is undefined (NaN): null in JSON
            "hidden_atoms": {k: None if math.isnan(v) else v for k, v in h["atoms"]["hidden"].items()},
        }
        print(json.dumps(row), flush=True)
        if log:
            log.write(json.dumps(row) + "\n")
            log.flush()
    return row | {"median_epoch_seconds": statistics.median(r["seconds"] for r in trainer.history)}


def _table(rows: list[dict], names: list[str]) -> str:
    head = "| hidden neurons | σ | lr hidden | " + " | ".join(f"{n} accuracy" for n in names) + " | s/epoch (median) |"
    lines = [head, "|---" * (4 + len(names)) + "|"]
    for r in rows:
        sigma = "–" if r["sigma"] is None else f"{r['sigma']:g}"
        kind = r["network"] if r["estimator"] is None else f"{r['network']} ({r['estimator']})"
        accs = " | ".join(f"{100 * r[f'{n}_accuracy']:.2f} %" for n in names)
        lines.append(f"| {kind} | {sigma} | {r['lr_hidden']:g} | {accs} | {r['median_epoch_seconds']:.1f} |")
    if len(rows) == 2:
        ratio = rows[1]["median_epoch_seconds"] / rows[0]["median_epoch_seconds"]
        lines.append(f"\ns/epoch {rows[1]['network']} / {rows[0]['network']}: {ratio:.1f}×")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--goal", default="context_heuristic", help="hidden goal of both networks (2 sources, no H_res)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--networks", nargs="+", choices=NETWORKS, default=list(NETWORKS))
    ap.add_argument("--sigma", type=float, default=0.1, help="output noise of the continuous neurons")
    ap.add_argument(
        "--estimator",
        choices=("knn", "binned"),
        default="knn",
        help="continuous SxPID estimator of the continuous neurons (soft neighbour counts, or linear-binned)",
    )
    ap.add_argument("--lr-hidden", type=float, default=None, help="Adam lr of the hidden layers (Trainer's 2e-3)")
    ap.add_argument("--eval", choices=("validation", "test", "both"), default="both")
    ap.add_argument("--json", default=None, help="append one JSON line per network and epoch to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    x_tr, y_tr = load_mnist(args.data, "train")
    x, mean, std = standardise(x_tr[:48000])
    y = torch.as_tensor(y_tr[:48000], dtype=torch.int64)
    eval_sets = {}
    if args.eval in ("validation", "both"):
        eval_sets["validation"] = (standardise(x_tr[48000:], mean, std)[0], torch.as_tensor(y_tr[48000:]).long())
    if args.eval in ("test", "both"):
        x_te, y_te = load_mnist(args.data, "test")
        eval_sets["test"] = (standardise(x_te, mean, std)[0], torch.as_tensor(y_te).long())
    t0 = time.perf_counter()
    log = open(args.json, "a") if args.json else None
    rows = [_run(kind, args, ((x, y), eval_sets), log) for kind in args.networks]
    if log:
        log.close()
    print(
        f"\n{args.epochs} epochs each, hidden {args.hidden}, goal {args.goal}, seed {args.seed}, "
        f"{args.threads} thread(s), {time.perf_counter() - t0:.0f} s in all\n"
    )
    print(_table(rows, list(eval_sets)))


if __name__ == "__main__":
    main()
