"""Reproduce the MOLE results table of docs/mole.md: MOLE beside backprop on the same network, per dataset.

    python benchmarks/mole_results.py [--data ../shared/datasets] [--only Cora-GCN MUTAG-GIN ...] [--objective renyi]
        [--schedule asynchronous] [--seeds 0 1 2] [--select val] [--out mole_results.jsonl] [--summary]

Each run appends one JSON line (accuracies, epochs, seconds, settings) to ``--out`` and prints a row; at the end the
Markdown table of all rows in the file. One torch thread (the runs are meant to share a small machine).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: The table's runs: name -> (data type, dataset, keyword arguments of run_experiment).
RUNS = {
    "MNIST-MLP": ("vector", "mnist", {"epochs": 10}),
    "Fashion-MNIST-CNN": ("grid", "fashion-mnist", {"epochs": 5, "train_size": 20000}),
    "Cora-GCN": ("node", "cora", {"epochs": 200}),
    "Citeseer-GCN": ("node", "citeseer", {"epochs": 200}),
    "MUTAG-GIN": ("graph", "mutag", {"epochs": 50}),
    "PROTEINS-GIN": ("graph", "proteins", {"epochs": 20}),
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    p.add_argument("--only", nargs="+", choices=list(RUNS), help="run only these rows")
    p.add_argument("--objective", default="renyi", choices=("renyi", "renyi2", "renyi-norm", "infonce", "pid"))
    p.add_argument("--schedule", default="asynchronous", choices=("asynchronous", "sequential"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", help="run every row for each of these seeds (overrides --seed)")
    p.add_argument(
        "--select",
        default="last",
        choices=("last", "val"),
        help="val: report the epoch with the best validation accuracy (validation data held out of training)",
    )
    p.add_argument("--lr", type=float, help="learning rate of the modules (and of backprop)")
    p.add_argument("--head-lr", type=float, help="learning rate of MOLE's head")
    p.add_argument("--hidden", type=int, help="width of the network")
    p.add_argument("--pool", choices=("sum", "mean"), default="sum", help="graph rows: read-out")
    p.add_argument("--epochs", type=int, help="override the epochs of every run")
    p.add_argument("--folds", type=int, help="graph rows: only the first F of the 10 folds")
    p.add_argument("--out", default="mole_results.jsonl")
    p.add_argument("--table-only", action="store_true", help="print the table of --out and stop")
    p.add_argument("--summary", action="store_true", help="also print mean ± std over seeds per setting")
    args = p.parse_args(argv)

    import torch

    from pidlearn.backends.torch.mole_data import run_experiment

    torch.set_num_threads(1)
    out = Path(args.out)
    if not args.table_only:
        for seed, name in ((s, n) for s in (args.seeds or [args.seed]) for n in (args.only or RUNS)):
            data_type, dataset, kw = RUNS[name]
            kw = dict(kw)
            if args.epochs:
                kw["epochs"] = args.epochs
            if data_type == "graph":
                kw["pool"] = args.pool
                if args.folds:
                    kw["folds"] = args.folds
            for key in ("lr", "head_lr", "hidden"):
                if getattr(args, key) is not None:
                    kw[key] = getattr(args, key)
            res = run_experiment(
                data_type,
                dataset,
                args.data,
                schedule=args.schedule,
                objective=args.objective,
                baseline=True,
                seed=seed,
                select=args.select,
                **kw,
            )
            res.pop("history")
            res["run"] = name
            with out.open("a") as fh:
                fh.write(json.dumps(res) + "\n")
            print(table([res]).splitlines()[-1], flush=True)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []
    print(table(rows))
    if args.summary:
        print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
