"""GIN on TU graph classification under Xu et al.'s and Errica et al.'s protocols, backprop and MOLE side by side.

    python benchmarks/gin_protocols.py [--data ../shared/datasets] [--datasets mutag proteins]
        [--protocol xu errica] [--method backprop mole] [--seeds 0 1 2] [--folds 0 1 ... 9] [--epochs 350]
        [--iters-per-epoch 50 | 0 (one pass)] [--lr-step 50] [--patience 100] [--objective renyi]
        [--out results.jsonl] [--markdown] [--table-only]

Network (both protocols, both methods; Xu et al. 2019, section 7;
:func:`~pidlearn.backends.torch.graph.gin_network`): GIN-0 with 5 GNN layers counting the input layer — 4
:class:`~pidlearn.backends.torch.graph.GINBlock` (MLP Linear-BatchNorm-ReLU-Linear, then BatchNorm-ReLU, ε fixed at
0) — and the read-out over *all* layers: ``score = Σ_{l=0}^{4} Dropout(W_l · Σ_{v ∈ G} h_v^{(l)})`` (sum pooling of
every layer's node features, the input one-hot node tags included, one linear map per layer, dropout after each).
Adam, learning rate 0.01 halved every 50 epochs; an epoch is ``--iters-per-epoch`` (50, as in the authors' code)
mini-batches, each drawn without replacement from the training graphs. MOLE (Li & Pei 2023) trains the same four GIN
blocks as its modules (each on its own I(T_l; Y), input detached) and the same read-out as its head (cross-entropy
on the detached features of every layer), asynchronous schedule, the same optimiser, learning-rate schedule, epochs
and selection rule.

Protocols (10-fold stratified cross-validation, folds seeded by the seed:
:func:`~pidlearn.backends.torch.mole_data.stratified_folds`):

* ``xu`` — train on the 9 training folds for ``--epochs`` epochs, evaluating the test fold after every epoch; the
  reported accuracy is, over the epochs, the best *mean over the 10 folds of the test-fold accuracy* (Xu et al.'s
  rule: one epoch for all folds, chosen on the test folds — an optimistic selection, not a held-out estimate).
* ``errica`` — Errica et al. (2020): a stratified 10 % of each outer training fold is held out (inner hold-out,
  :func:`~pidlearn.backends._selection.holdout_split`); the network trains on the rest, the hold-out accuracy (ties:
  lower hold-out loss) chooses the epoch, training stops ``--patience`` epochs after the last improvement or at
  ``--epochs``, and the outer test fold is evaluated once, with the chosen epoch's weights
  (:func:`~pidlearn.backends.torch.mole_data.fit_holdout`; the graph default recipe of ``pidlearn mole`` runs the
  same protocol, and its ``--seed S`` gives this script's numbers of seed S with ``--iters-per-epoch 0``). The test
  fold plays no part in training or selection. (Errica et al. also select the hyper-parameters on the inner hold-out
  from a grid and average 3 final trainings per fold; here the hyper-parameters are fixed, one training per fold.)

Each (dataset, protocol, method, seed, fold) run appends one JSON line to ``--out``; a run already in the file is
skipped (resumable). ``--markdown`` prints the table: per (dataset, protocol, method), the mean ± standard
deviation over seeds of the fold-mean accuracy, the anchor and the gap. One torch thread.

References
----------
K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph neural networks?", ICLR 2019.
F. Errica, M. Podda, D. Bacciu and A. Micheli, "A fair comparison of graph neural networks for graph
classification", ICLR 2020.
Y. Li and Y. Pei, "MOLE: MOdular Learning FramEwork via Mutual Information Maximization", arXiv:2308.07772 (2023).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pidlearn.backends._selection import holdout_split
from pidlearn.backends.torch.graph import gin_network
from pidlearn.backends.torch.mole import MOLE, Backprop
from pidlearn.backends.torch.mole_data import (
    LR_STEP,
    find_dataset,
    fit_holdout,
    load_tu,
    set_learning_rates,
    stratified_folds,
)

#: Literature anchors (test accuracy %, mean ± sd over the 10 folds): Xu et al. 2019, GIN-0 row of their results
#: table; Errica et al. 2020, GIN row of their chemical-datasets table (MUTAG is not in their study).
ANCHORS = {("mutag", "xu"): (89.4, 5.6), ("proteins", "xu"): (76.2, 2.8), ("proteins", "errica"): (73.3, 4.0)}
#: Per dataset, one point of Xu et al.'s grid (hidden {16, 32}, batch {32, 128}, dropout {0, 0.5}); fixed here.
SETTINGS = {
    "mutag": {"hidden": 32, "batch_size": 32, "dropout": 0.5},
    "proteins": {"hidden": 32, "batch_size": 32, "dropout": 0.5},
}
PROTOCOLS = ("xu", "errica")
METHODS = ("backprop", "mole")
LR = 0.01


# data -------------------------------------------------------------------------------------------------------------
def sampled_batches(ds, ids, batch_size: int, iters: int | None):
    """Training data ``f(generator)``: ``iters`` batches, each ``batch_size`` graphs drawn without replacement
    (Xu et al.'s epoch); ``iters=None``: one shuffled pass (the library loader)."""
    ids = np.asarray(ids, dtype=np.int64)
    if iters is None:
        return ds.loader(ids, batch_size)
    bs = min(batch_size, len(ids))

    def batches(generator):
        if generator is None:
            return [ds.collate(ids[k : k + bs]) for k in range(0, len(ids), bs)]
        return [ds.collate(ids[torch.randperm(len(ids), generator=generator)[:bs].numpy()]) for _ in range(iters)]

    return batches


# training ---------------------------------------------------------------------------------------------------------
def make_trainer(method: str, in_features: int, n_classes: int, cfg: dict, seed: int, objective: str = "renyi"):
    """A :class:`Backprop` or :class:`MOLE` trainer on a fresh GIN (weights from ``torch.manual_seed(seed)``)."""
    torch.manual_seed(seed)
    modules, head = gin_network(in_features, n_classes, cfg["hidden"], cfg["dropout"])
    common = {"n_classes": n_classes, "batch_size": cfg["batch_size"], "lr": LR, "seed": seed, "progress": False}
    if method == "backprop":
        return Backprop(modules, head, **common)
    if method == "mole":
        return MOLE(modules, objective, head, schedule="asynchronous", head_lr=LR, **common)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def train_one_epoch(trainer, train, step: int = LR_STEP) -> float:
    """One epoch at the step-decayed learning rate (``lr · 0.5^⌊e / step⌋``); its training seconds."""
    set_learning_rates(trainer, train, 0, "step", lr_step=step)
    t0 = time.perf_counter()
    trainer.fit(train, trainer.epoch + 1)
    return time.perf_counter() - t0


@torch.no_grad()
def evaluate(trainer, data) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of the trainer on ``data``."""
    logits, y = trainer.predict_logits(data)
    return float((logits.argmax(1) == y).float().mean()), float(F.cross_entropy(logits, y))


def run_xu(trainer, train, test, epochs: int, step: int = LR_STEP) -> dict:
    """Train ``epochs`` epochs; the test-fold accuracy after every epoch (``curve``; selection is across folds)."""
    curve, seconds = [], 0.0
    for _ in range(epochs):
        seconds += train_one_epoch(trainer, train, step)
        curve.append(evaluate(trainer, test)[0])
    return {"curve": curve, "seconds_per_epoch": seconds / epochs, "epochs_run": trainer.epoch}


def run_errica(trainer, train, val, test, epochs: int, patience: int, step: int = LR_STEP) -> dict:
    """Errica et al.'s fold protocol (:func:`~pidlearn.backends.torch.mole_data.fit_holdout`, learning rate halved
    every ``step`` epochs): early stopping on the inner hold-out, the test fold evaluated once, with the chosen
    epoch's weights (ties: the lower hold-out loss, then the earlier epoch)."""
    res = fit_holdout(trainer, train, val, test, epochs, patience=patience, lr_schedule="step", lr_step=step)
    keys = ("val_curve", "best_epoch", "val_accuracy", "test_accuracy", "seconds_per_epoch", "epochs_run")
    return {k: res[k] for k in keys}


def run_spec(args, dataset: str, protocol: str, method: str, seed: int, fold: int) -> dict:
    """The settings of one (dataset, protocol, method, seed, fold) run from the command line's ``args``."""
    spec = {"dataset": dataset, "protocol": protocol, "method": method, "seed": seed, "fold": fold}
    spec.update(SETTINGS[dataset])
    for key in ("hidden", "batch_size", "dropout"):
        if getattr(args, key, None) is not None:
            spec[key] = getattr(args, key)
    spec.update(epochs=args.epochs, iters_per_epoch=args.iters_per_epoch, lr_step=args.lr_step)
    spec["objective"] = args.objective
    if protocol == "errica":
        spec["patience"] = args.patience
    return spec


def run_fold(ds, spec: dict) -> dict:
    """Run :func:`run_spec`'s ``spec`` on the TU dataset ``ds``: the spec plus the results, JSON-ready.

    Fold ``spec["fold"]`` of :func:`stratified_folds` (seeded by ``spec["seed"]``) is the test fold; the trainer
    (and, for Errica, the hold-out split) is seeded by ``1000 · seed + fold``, the same for both methods.
    """
    row = dict(spec)
    seed, fold, bs = spec["seed"], spec["fold"], spec["batch_size"]
    test_ids = stratified_folds(ds.labels, 10, seed)[fold]
    train_ids = np.setdiff1d(np.arange(len(ds)), test_ids)
    test = ds.loader(test_ids, bs)
    trainer_seed = 1000 * seed + fold
    if spec["protocol"] == "errica":
        keep, held = holdout_split(ds.labels[train_ids], 0.1, trainer_seed)
        train_ids, val_ids = train_ids[keep], train_ids[held]
        row["n_val"] = len(val_ids)
    train = sampled_batches(ds, train_ids, bs, spec["iters_per_epoch"])
    trainer = make_trainer(spec["method"], ds.n_features, ds.n_classes, spec, trainer_seed, spec["objective"])
    torch.manual_seed(trainer_seed)  # dropout and BatchNorm draws start from the same state for both methods
    t0 = time.perf_counter()
    if spec["protocol"] == "xu":
        row.update(run_xu(trainer, train, test, spec["epochs"], spec["lr_step"]))
    else:
        val = ds.loader(val_ids, bs)
        row.update(run_errica(trainer, train, val, test, spec["epochs"], spec["patience"], spec["lr_step"]))
    row.update(n_train=len(train_ids), n_test=len(test_ids), seconds=time.perf_counter() - t0)
    return row


# selection and table ----------------------------------------------------------------------------------------------
def xu_select(curves) -> tuple[int, float]:
    """Xu et al.'s rule: the epoch (1-based) whose mean test accuracy over the folds is highest, and that mean."""
    mean = np.mean(np.asarray(curves, dtype=float), axis=0)
    best = int(np.argmax(mean))  # the first best
    return best + 1, float(mean[best])


def seed_score(rows) -> tuple[float, float, float]:
    """One seed's accuracy (fold mean), its sd over the folds, and its epoch (Xu: the selected one; Errica: the
    mean chosen one)."""
    rows = sorted(rows, key=lambda r: r["fold"])
    if rows[0]["protocol"] == "xu":
        epoch, acc = xu_select([r["curve"] for r in rows])
        return acc, float(np.std([r["curve"][epoch - 1] for r in rows])), epoch
    accs = [r["test_accuracy"] for r in rows]
    return float(np.mean(accs)), float(np.std(accs)), float(np.mean([r["best_epoch"] for r in rows]))


def _config(r: dict) -> tuple:
    return (
        r["epochs"],
        r["iters_per_epoch"],
        r["lr_step"],
        r["hidden"],
        r["batch_size"],
        r["dropout"],
        r.get("patience"),
    )


def markdown(rows: list[dict], n_folds: int = 10) -> str:
    """Per (dataset, protocol, method, settings): mean ± sd over the seeds that have ``n_folds`` folds of the
    fold-mean accuracy (Xu: at the epoch chosen by :func:`xu_select`), the anchor and the gap (ours − anchor)."""
    groups: dict[tuple, dict[int, list]] = {}
    for r in rows:
        key = (r["dataset"], r["protocol"], r["method"], r["objective"] if r["method"] == "mole" else "", _config(r))
        groups.setdefault(key, {}).setdefault(r["seed"], []).append(r)
    lines = [
        "| dataset | protocol | method | settings | seeds × folds | accuracy (%), seeds | sd over folds "
        "| epoch (Xu: chosen; Errica: mean) "
        "| s / epoch | anchor (%) | gap (points) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, protocol, method, objective, cfg), by_seed in sorted(groups.items(), key=lambda kv: str(kv[0])):
        complete = {s: rs for s, rs in by_seed.items() if len({r["fold"] for r in rs}) >= n_folds}
        if not complete:
            continue
        scores = [seed_score(complete[s]) for s in sorted(complete)]
        accs = [100 * a for a, _, _ in scores]
        fold_sd = 100 * statistics.mean(f for _, f, _ in scores)
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        anchor = ANCHORS.get((dataset, protocol))
        gap = f"{statistics.mean(accs) - anchor[0]:+.1f}" if anchor else "-"
        anchor_text = f"{anchor[0]} ± {anchor[1]}" if anchor else "- (not in the paper)"
        epochs, iters, step, hidden, bs, dropout, patience = cfg
        settings = f"{epochs} epochs" + (f" of {iters} batches" if iters else " (one pass each)")
        settings += f", lr ÷2 every {step}, hidden {hidden}, batch {bs}"
        settings += f", dropout {dropout}"
        if patience is not None:
            settings += f", patience {patience}"
        name = f"MOLE ({objective}, asynchronous)" if method == "mole" else "backprop"
        spe = statistics.mean(r["seconds_per_epoch"] for rs in complete.values() for r in rs)
        ep = statistics.mean(e for _, _, e in scores)
        seeds = f"{','.join(map(str, sorted(complete)))} × {n_folds}"
        lines.append(
            f"| {dataset.upper()} | {protocol} | {name} | {settings} | {seeds} "
            f"| {statistics.mean(accs):.1f} ± {sd:.1f} | {fold_sd:.1f} | {ep:.0f} | {spe:.2f} | {anchor_text} | {gap} |"
        )
    return "\n".join(lines)


def _key(r: dict) -> str:
    spec = {k: r[k] for k in ("dataset", "protocol", "method", "seed", "fold", "epochs", "iters_per_epoch", "lr_step")}
    spec.update(objective=r["objective"] if r["method"] == "mole" else None, patience=r.get("patience"))
    spec.update({k: r[k] for k in ("hidden", "batch_size", "dropout")})
    return json.dumps(spec, sort_keys=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    p.add_argument("--datasets", nargs="+", choices=tuple(SETTINGS), default=["mutag"])
    p.add_argument("--protocol", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    p.add_argument("--method", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--folds", type=int, nargs="+", default=list(range(10)), help="which of the 10 folds to run")
    p.add_argument("--epochs", type=int, default=350, help="Xu: epochs; Errica: the most epochs")
    p.add_argument("--iters-per-epoch", type=int, default=50, help="mini-batches per epoch; 0: one pass over the data")
    p.add_argument("--lr-step", type=int, default=LR_STEP, help="halve the learning rate every this many epochs")
    p.add_argument("--patience", type=int, default=100, help="Errica: epochs without a better hold-out accuracy")
    p.add_argument("--objective", default="renyi", choices=("renyi", "renyi2", "infonce", "pid"), help="MOLE's")
    p.add_argument("--hidden", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--dropout", type=float)
    p.add_argument("--out", default="gin_protocols.jsonl")
    p.add_argument("--markdown", action="store_true", help="print the table of --out (after the runs)")
    p.add_argument("--table-only", action="store_true", help="run nothing: print the table of --out")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.patience < 1 or args.iters_per_epoch < 0:
        p.error("--epochs and --patience must be at least 1, --iters-per-epoch at least 0")
    if any(not 0 <= f < 10 for f in args.folds):
        p.error("--folds are indices 0..9")
    args.iters_per_epoch = args.iters_per_epoch or None
    torch.set_num_threads(1)

    out = Path(args.out)
    done = {json.loads(line)["key"] for line in out.read_text().splitlines() if line.strip()} if out.exists() else set()
    for dataset in [] if args.table_only else args.datasets:
        ds = load_tu(find_dataset("graph", dataset, args.data))
        for protocol in args.protocol:
            for seed in args.seeds:
                for method in args.method:
                    for fold in args.folds:
                        spec = run_spec(args, dataset, protocol, method, seed, fold)
                        if _key(spec) in done:
                            continue
                        row = run_fold(ds, spec)
                        row["key"] = _key(row)
                        with out.open("a") as fh:
                            fh.write(json.dumps(row) + "\n")
                        acc = max(row["curve"]) if protocol == "xu" else row["test_accuracy"]
                        what = "best epoch of this fold" if protocol == "xu" else f"epoch {row['best_epoch']}"
                        print(
                            f"{dataset} {protocol} {method} seed {seed} fold {fold}: {100 * acc:.1f} % ({what}), "
                            f"{row['seconds_per_epoch']:.3f} s/epoch",
                            flush=True,
                        )
    if (args.markdown or args.table_only) and out.exists():
        rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        print(markdown(rows, len(set(args.folds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
