"""Reproduce the MOLE results table of docs/results/mole.md: MOLE beside backprop on the same network, per
dataset and seed.

    python benchmarks/mole_results.py [--data ../shared/datasets] [--datasets Cora-GCN Citeseer-GCN ...]
        [--seeds 0 1 2 ...] [--recipe default] [--objective O] [--schedule S] [--select last|val|early-stop]
        [--epochs E] [--train-size N] [--lr LR] [--head-lr LR] [--hidden H]
        [--out mole_results.jsonl] [--markdown table.md] [--summary]

Each run appends one JSON line (accuracies, epochs, seconds, settings, and ``key``: what identifies the run) to
``--out``; a run whose key is already in the file is skipped, so an interrupted invocation resumes where it stopped.
Options not given come from the recipe of ``pidlearn.backends.torch.mole_data.RECIPES`` (as in ``pidlearn mole``).
At the end it prints the per-run table of the file and writes (``--markdown``) the docs table: per dataset and
protocol, backprop and MOLE test accuracy as mean ± standard deviation over seeds, the gap and the seeds. One torch
thread (the runs are meant to share a small machine).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: The table's runs: name -> (data type, dataset, keyword arguments of run_experiment).
RUNS = {
    "MNIST-MLP": ("vector", "mnist", {}),  # epochs, batch, schedule: the recipe
    "Fashion-MNIST-CNN": ("grid", "fashion-mnist", {}),  # all 60 000 training images; the rest: the recipe
    "Cora-GCN": ("node", "cora", {"epochs": 200}),
    "Citeseer-GCN": ("node", "citeseer", {"epochs": 200}),
    "MUTAG-GIN": ("graph", "mutag", {}),  # the recipe: GIN-0, Errica's protocol (also benchmarks/gin_protocols.py)
    "PROTEINS-GIN": ("graph", "proteins", {}),
}


def table(rows: list[dict]) -> str:
    head = (
        "| run | objective / schedule | seed | epochs | train / test | MOLE acc. (%) | backprop acc. (%) | gap (pts) "
        "| MOLE s | backprop s |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        if r["data_type"] == "graph":
            size = f"10-fold CV of {r['n_graphs']} graphs"
            if r["folds"] < 10:
                size = f"first {r['folds']} of 10 folds, {r['n_graphs']} graphs"
            mole = f"{100 * r['test_accuracy']:.1f} ± {100 * r['test_accuracy_std']:.1f}"
            bp = f"{100 * r['baseline_accuracy']:.1f} ± {100 * r['baseline_accuracy_std']:.1f}"
        else:
            size = f"{r['n_train']} / {r['n_test']}"
            mole, bp = f"{100 * r['test_accuracy']:.1f}", f"{100 * r['baseline_accuracy']:.1f}"
        gap = 100 * (r["baseline_accuracy"] - r["test_accuracy"])
        lines.append(
            f"| {r['run']} | {r['objective']} / {r['schedule']} | {r['seed']} | {r['epochs']} | {size} | {mole} | {bp} "
            f"| {gap:+.1f} | {r['seconds_mole']:.0f} | {r['seconds_baseline']:.0f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    """Mean ± standard deviation over seeds per (run, objective, schedule, selection, settings) of the rows.

    Graph rows: each seed's accuracy is its mean over folds. Selection ``val``: the test accuracy at the epoch with
    the best validation accuracy; the validation accuracy (mean over seeds) is shown, and the mean chosen epoch.
    """
    import statistics

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        s = r.get("settings", {})
        key = (r["run"], r["objective"], r["schedule"], r.get("select", "last"), r.get("pool", "-"), s.get("lr"),
               s.get("batch_size"), r["epochs"], r.get("folds", "-"))  # fmt: skip
        groups.setdefault(key, []).append(r)

    def ms(values):
        values = [100 * v for v in values]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.1f} ± {sd:.1f}"

    lines = [
        "| run | objective / schedule | select | epochs | seeds | MOLE test (%) | backprop test (%) | gap (pts) "
        "| MOLE val (%) | backprop val (%) | MOLE / backprop s per epoch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, rs in groups.items():
        run, objective, schedule, select, pool, lr, bs, epochs, folds = key
        mole = [r["test_accuracy"] for r in rs]
        bp = [r["baseline_accuracy"] for r in rs]
        gap = 100 * (statistics.mean(bp) - statistics.mean(mole))
        val = ms([r["val_accuracy"] for r in rs]) if select == "val" else "-"
        bval = ms([r["baseline_val_accuracy"] for r in rs]) if select == "val" else "-"
        sec = "-"
        if "train_seconds_per_epoch" in rs[0]:
            a = statistics.mean(r["train_seconds_per_epoch"] for r in rs)
            b = statistics.mean(r["baseline_train_seconds_per_epoch"] for r in rs)
            sec = f"{a:.2f} / {b:.2f}"
        extra = f", pool {pool}" if pool != "-" else ""
        extra += f", lr {lr}, batch {bs}" if lr is not None else ""
        extra += f", {folds} folds" if folds != "-" else ""
        seeds = ",".join(str(r["seed"]) for r in rs)
        lines.append(
            f"| {run} | {objective} / {schedule}{extra} | {select} | {epochs} | {seeds} | {ms(mole)} | {ms(bp)} "
            f"| {gap:+.1f} | {val} | {bval} | {sec} |"
        )
    return "\n".join(lines)


PROTOCOLS = {
    "kipf": "2-layer GCN, {hidden} hidden, dropout 0.5 (input and hidden), Adam lr {lr}, weight decay {wd} on layer 1",
    "legacy": "the legacy network of the data type (mole_data.build_network)",
    "mlp": "MLP 784-{hidden}-{hidden}-10 (ReLU), Adam lr {lr}, batch {bs}",
    "cnn": "CNN Conv5×5({hidden})-ReLU-MaxPool2-Conv5×5({hidden2})-ReLU-MaxPool2-Linear(10), no dropout, no "
    "augmentation, Adam lr {lr}, batch {bs}",
}
SELECT_TEXT = {
    "early-stop": "early stopping on the validation loss (window 10), test accuracy at the stop",
    "val": "test accuracy at the epoch of best validation accuracy",
    "last": "test accuracy after the last epoch",
    "val-patience": "epoch of best validation accuracy (ties: lower loss), stop after patience epochs without a "
    "better one, test read once",
}


def _protocol(r: dict) -> str:
    s = r.get("settings", {})
    network = {"vector": "mlp", "grid": "cnn"}.get(r["data_type"], s.get("network", "legacy"))
    hidden = s.get("hidden")
    text = PROTOCOLS[network].format(
        hidden=hidden,
        hidden2=2 * hidden if hidden else None,
        lr=s.get("lr"),
        wd=s.get("weight_decay"),
        bs=s.get("batch_size"),
    )
    if r.get("lr_schedule", "constant") != "constant":
        text += f", {r['lr_schedule']} learning-rate decay to 0 over the epochs"
    split = "Planetoid split" if r["data_type"] == "node" else "10-fold CV" if r["data_type"] == "graph" else ""
    if r["data_type"] in ("vector", "grid"):
        split = f"{r['n_train']} training images"
        if r.get("n_val"):
            split += f", validation: the last {r['n_val']} training images (not trained on)"
    parts = [text, split, f"≤ {r['epochs']} epochs", SELECT_TEXT[r.get("select", "last")]]
    mole = f"MOLE: {r['objective']} objective, {r['schedule']} schedule, head lr {s.get('head_lr')}"
    parts.append(f"{mole}, recipe {r.get('recipe', 'legacy')}")
    return "; ".join(p for p in parts if p)


def markdown(rows: list[dict]) -> str:
    """The docs table: one row per (run, protocol), mean ± sample standard deviation over seeds."""
    import statistics

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["run"], _protocol(r)), []).append(r)

    def ms(values):
        values = [100 * v for v in values]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.1f} ± {sd:.1f}"

    lines = [
        "| dataset, network | protocol | backprop test (%) | MOLE test (%) | gap (points) | backprop val (%) "
        "| MOLE val (%) | epochs run, backprop / MOLE | seeds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (run, protocol), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        bp, mole = [r["baseline_accuracy"] for r in rs], [r["test_accuracy"] for r in rs]
        gap = 100 * (statistics.mean(bp) - statistics.mean(mole))
        val_key = "validation_accuracy" if "baseline_validation_accuracy" in rs[0] else "val_accuracy"
        bval = ms([r[f"baseline_{val_key}"] for r in rs]) if f"baseline_{val_key}" in rs[0] else "-"
        mval = ms([r[val_key] for r in rs]) if val_key in rs[0] else "-"
        ep_bp = statistics.mean(r["baseline_epochs_run"] for r in rs)
        ep = f"{ep_bp:.0f} / {statistics.mean(r['epochs_run'] for r in rs):.0f}"
        if "best_epoch" in rs[0] and "baseline_best_epoch" in rs[0]:  # select="val": the epochs reported
            best_bp = statistics.mean(r["baseline_best_epoch"] for r in rs)
            ep += f" (best on validation: {best_bp:.1f} / {statistics.mean(r['best_epoch'] for r in rs):.1f})"
        seeds = ", ".join(str(r["seed"]) for r in rs)
        lines.append(
            f"| {run} | {protocol} | {ms(bp)} | {ms(mole)} | {gap:+.1f} | {bval} | {mval} | {ep} "
            f"| {seeds} ({len(rs)}) |"
        )
    return "\n".join(lines)


def _key(name: str, seed: int, kw: dict, args) -> str:
    """What identifies a run in ``--out`` (a run with the same key is not run again)."""
    spec = {"run": name, "seed": seed, "recipe": args.recipe, **kw}
    for k in ("objective", "schedule", "select"):
        spec[k] = getattr(args, k)
    return json.dumps(spec, sort_keys=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    p.add_argument("--datasets", "--only", dest="only", nargs="+", choices=list(RUNS), help="run only these rows")
    p.add_argument("--recipe", default="default", choices=("default", "legacy"), help="settings not given here")
    p.add_argument("--objective", choices=("renyi", "renyi2", "renyi-norm", "infonce", "pid"), help="default: recipe")
    p.add_argument("--schedule", choices=("asynchronous", "sequential"), help="default: recipe")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", help="run every row for each of these seeds (overrides --seed)")
    p.add_argument(
        "--select",
        choices=("last", "val", "early-stop"),
        help="val: report the epoch with the best validation accuracy (validation data held out of training); "
        "early-stop: stop on the validation loss (Kipf & Welling); default: recipe",
    )
    p.add_argument("--markdown", help="write the docs table (mean ± sd over seeds) to this file")
    p.add_argument("--lr", type=float, help="learning rate of the modules (and of backprop)")
    p.add_argument("--head-lr", type=float, help="learning rate of MOLE's head")
    p.add_argument("--hidden", type=int, help="width of the network")
    p.add_argument("--pool", choices=("sum", "mean"), default="sum", help="graph rows: read-out")
    p.add_argument("--epochs", type=int, help="override the epochs of every run")
    p.add_argument("--train-size", type=int, help="vector/grid rows: only the first N training images")
    p.add_argument("--folds", type=int, help="graph rows: only the first F of the 10 folds")
    p.add_argument("--out", default="mole_results.jsonl")
    p.add_argument("--table-only", action="store_true", help="print the table of --out and stop")
    p.add_argument("--summary", action="store_true", help="also print mean ± std over seeds per setting")
    args = p.parse_args(argv)

    import torch

    from pidlearn.backends.torch.mole_data import run_experiment

    torch.set_num_threads(1)
    out = Path(args.out)
    done = set()
    if out.exists():
        done = {json.loads(line).get("key") for line in out.read_text().splitlines() if line.strip()}
    if not args.table_only:
        for seed, name in ((s, n) for s in (args.seeds or [args.seed]) for n in (args.only or RUNS)):
            data_type, dataset, kw = RUNS[name]
            kw = dict(kw)
            if args.epochs:
                kw["epochs"] = args.epochs
            if args.train_size and data_type in ("vector", "grid"):
                kw["train_size"] = args.train_size
            if data_type == "graph":
                kw["pool"] = args.pool
                if args.folds:
                    kw["folds"] = args.folds
            for key in ("lr", "head_lr", "hidden"):
                if getattr(args, key) is not None:
                    kw[key] = getattr(args, key)
            key = _key(name, seed, kw, args)
            if key in done:
                print(f"done already: {name}, seed {seed}", flush=True)
                continue
            res = run_experiment(
                data_type,
                dataset,
                args.data,
                schedule=args.schedule,
                objective=args.objective,
                baseline=True,
                seed=seed,
                select=args.select,
                recipe=args.recipe,
                **kw,
            )
            res.pop("history")
            res["run"], res["key"] = name, key
            with out.open("a") as fh:
                fh.write(json.dumps(res) + "\n")
            print(table([res]).splitlines()[-1], flush=True)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []
    print(table(rows))
    if args.summary:
        print(summary(rows))
    if args.markdown and rows:
        Path(args.markdown).write_text(markdown(rows) + "\n")
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
