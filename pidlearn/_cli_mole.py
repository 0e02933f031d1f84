"""The ``pidlearn mole`` subcommand: module-wise training by MI maximisation (torch, or ``--backend numpy``).

``pidlearn mole --data-type vector|grid|node|graph --dataset NAME --data DIR [--recipe default|legacy]
[--schedule asynchronous|sequential] [--objective renyi|renyi2|renyi-norm|infonce|pid] [--epochs E]
[--select last|val|early-stop|val-patience] [--patience P] [--checkpoint PATH] [--baseline] [--json]``. Trains MOLE
on the network of the data type (MLP, CNN, GCN, GIN; see :mod:`pidlearn.backends.torch.mole_data`) and prints its
test accuracy and, with ``--baseline``, that of backprop on the same network from the same initial weights. Options
not given come from the recipe (``mole_data.RECIPES``): ``default`` is the validated one per data type (node: Kipf &
Welling's GCN, Rényi objective, early stopping on the validation loss; vector: MLP 784-256-256, grid: CNN 16-32, both
InfoNCE, cosine decay, best validation epoch; graph: Xu et al.'s GIN-0 under Errica et al.'s protocol, PID objective,
learning rate halved every 50 epochs, the epoch chosen on an inner hold-out with patience 50, at most 200 epochs;
``--seed S`` gives the numbers of ``benchmarks/gin_protocols.py --protocol errica --iters-per-epoch 0`` for seed S),
``legacy`` the settings before recipes existed. With ``--json`` exactly one JSON object is printed on stdout
(``test_accuracy``, ``baseline_accuracy``, ``epochs``, ``seconds``, ``recipe``, ...; graph data also
``fold_accuracy``, ``fold_baseline_accuracy``, ``fold_best_epoch``, ``fold_baseline_best_epoch`` and ``per_fold``).

``--backend numpy`` trains the NumPy MOLE (:func:`pidlearn.backends.numpy.mole.run_experiment`, no torch imported)
under the ``--threads`` limits of numba and BLAS, with the same flags, recipes and JSON keys (plus ``"backend":
"numpy"``) except those it does not support (``--baseline``: it has no backprop trainer, ``--select val``,
``--select val-patience``, ``--patience``), which it refuses; it has the ``default`` recipe of node data only (other
data types run ``legacy`` when no ``--recipe`` is given); its checkpoints are ``.npz``.
"""

from __future__ import annotations

import json
import sys

__all__ = ["add_parser", "run"]

_DATA_TYPES = ("vector", "grid", "node", "graph")


def add_parser(subparsers) -> None:
    """Add the ``mole`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "mole",
        help="MOLE: train a network module by module, each maximising I(T_k; Y) (MLP/CNN/GCN/GIN); torch or numpy",
        description=(
            "Train a network cut into modules, each maximising the mutual information between its output and the "
            "label (matrix-based Renyi, InfoNCE, or a PID goal of binary units), gradients isolated between modules, "
            "a linear head trained with cross-entropy. Prints the test accuracy; --baseline also trains the same "
            "network with backprop."
        ),
    )
    p.add_argument(
        "--data-type", required=True, choices=_DATA_TYPES, help="vector (MLP), grid (CNN), node (GCN), graph (GIN)"
    )
    p.add_argument(
        "--dataset",
        required=True,
        metavar="NAME",
        help="vector/grid: mnist, fashion-mnist; node: cora, citeseer; graph: mutag, proteins, ptc, nci1",
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="the dataset (IDX folder or .npz), its parent folder, or the datasets root (planetoid/, tu/ inside)",
    )
    p.add_argument(
        "--backend",
        choices=("torch", "numpy"),
        default="torch",
        help="numpy: the NumPy MOLE, no torch, same recipes (no --baseline, no --select val; checkpoints are .npz)",
    )
    p.add_argument(
        "--recipe",
        choices=("default", "legacy"),
        help="settings of the options not given: default = the validated recipe of the data type (node: Kipf & "
        "Welling's 2-layer GCN at width 64, renyi objective, early stopping on the validation loss; vector: MLP "
        "784-256-256, infonce, 20 epochs cosine, best validation epoch; grid: CNN 16-32, infonce, 15 epochs cosine, "
        "best validation epoch; graph: GIN-0 (4 layers of 32, all-layer read-out), pid objective, lr 0.01 halved "
        "every 50 epochs, batch 32, at most 200 epochs, the epoch chosen on a 10%% inner hold-out with patience 50 "
        "(Errica et al.)); legacy = the settings before recipes (node: GCN 64-64 + linear head; graph: GIN 64 x 3; "
        "renyi, last epoch); the numpy backend has the node default and legacy",
    )
    p.add_argument("--schedule", choices=("asynchronous", "sequential"), help="default from the recipe (asynchronous)")
    p.add_argument(
        "--objective",
        choices=("renyi", "renyi2", "renyi-norm", "infonce", "pid"),
        help="renyi: alpha = 1.01 (eigvalsh); renyi2: alpha = 2 (Frobenius); renyi-norm: alpha = 1.01 on unit-length "
        "rows; infonce: contrastive bound; pid: PID goal (readout preset) of binary units on each module's output "
        "with the label as context; default from the recipe (renyi; vector, grid: infonce; graph: pid)",
    )
    p.add_argument("--epochs", type=int, metavar="E", help="epochs (sequential: per module); default from the recipe")
    p.add_argument("--beta", type=float, default=0.0, help="weight of I(T_k; T_{k-1}) in each module's loss")
    p.add_argument(
        "--head-epochs",
        type=int,
        default=0,
        metavar="E",
        help="asynchronous: epochs of the head alone on the trained modules afterwards (default 0)",
    )
    p.add_argument("--baseline", action="store_true", help="also train the same network with backprop")
    p.add_argument("--train-size", type=int, metavar="N", help="vector/grid: use the first N training images")
    p.add_argument("--hidden", type=int, metavar="H", help="width (vector/node/graph) or first conv channels (grid)")
    p.add_argument("--folds", type=int, metavar="F", help="graph: run only the first F of the 10 folds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="threads (torch; numpy: numba and BLAS); default 1")
    p.add_argument("--plot", metavar="FILE", help="save the plot of I(T_k; Y) per module over epochs")
    p.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="save the training state after every epoch and resume from it when it exists (backprop: PATH.baseline; "
        "graph data: PATH.fold<f> per fold)",
    )
    p.add_argument(
        "--select",
        choices=("last", "val", "early-stop", "val-patience"),
        help="last: train on all training data, report the last epoch; val: hold out validation data (node: the "
        "Planetoid validation split; vector/grid: the last 10%% of the training images; graph: 10%% of each fold's "
        "training graphs) and report the epoch with the best validation accuracy; early-stop: hold out the same "
        "data and stop when its loss exceeds the mean of the 10 epochs before (Kipf & Welling); val-patience: hold "
        "out the same data, report the epoch with the best validation accuracy (ties: lower loss) and stop "
        "--patience epochs after it (Errica et al.); default from the recipe (node: early-stop, vector and grid: "
        "val, graph: val-patience)",
    )
    p.add_argument(
        "--patience",
        type=int,
        metavar="P",
        help="--select val-patience: stop P epochs after the best validation accuracy; default from the recipe "
        "(graph: 50)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _check(args) -> None:
    from pidlearn.cli import check_plot_option

    check_plot_option(args.plot)
    if getattr(args, "backend", "torch") == "numpy":
        unsupported = [flag for flag, used in _NUMPY_UNSUPPORTED.items() if used(args)]
        if unsupported:
            raise ValueError(f"--backend numpy does not support {', '.join(unsupported)}; use --backend torch")
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.head_epochs < 0:
        raise ValueError(f"--head-epochs must be >= 0, got {args.head_epochs}")
    if args.beta < 0:
        raise ValueError(f"--beta must be >= 0, got {args.beta}")
    if args.train_size is not None and args.train_size < 2:
        raise ValueError(f"--train-size must be at least 2, got {args.train_size}")
    if args.hidden is not None and args.hidden < 1:
        raise ValueError(f"--hidden must be at least 1, got {args.hidden}")
    if args.folds is not None and not 1 <= args.folds <= 10:
        raise ValueError(f"--folds must be between 1 and 10, got {args.folds}")
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.patience is not None and args.patience < 1:
        raise ValueError(f"--patience must be at least 1, got {args.patience}")
    if args.checkpoint is not None and args.select in ("val", "val-patience"):
        raise ValueError(
            f"--checkpoint cannot resume --select {args.select} runs (the best epoch's weights are not saved): use "
            "--select last or early-stop"
        )


# options of the torch MOLE that the NumPy one lacks (refused before any data is read)
_NUMPY_UNSUPPORTED = {
    "--baseline": lambda a: a.baseline,
    "--select val": lambda a: a.select == "val",
    "--select val-patience": lambda a: a.select == "val-patience",
    "--patience": lambda a: a.patience is not None,
}


def _experiment(args) -> dict:
    """The result of the backend's ``run_experiment`` (under its thread limits), ``history`` included."""
    kwargs = dict(
        schedule=args.schedule,
        objective=args.objective,
        epochs=args.epochs,
        seed=args.seed,
        beta=args.beta,
        head_epochs=args.head_epochs,
        train_size=args.train_size,
        hidden=args.hidden,
        folds=args.folds,
        checkpoint=args.checkpoint,
        progress=not args.json and sys.stderr.isatty(),
    )
    if getattr(args, "backend", "torch") == "numpy":
        from pidlearn._cli_train_numpy import _limits
        from pidlearn.backends.numpy.mole import run_experiment

        with _limits(args.threads):
            return run_experiment(
                args.data_type, args.dataset, args.data, select=args.select, recipe=args.recipe, **kwargs
            )
    try:
        import torch
    except ImportError:
        raise ImportError("pidlearn mole needs PyTorch (or --backend numpy): pip install 'pidlearn[torch]'") from None
    from pidlearn.backends.torch.mole_data import find_dataset, run_experiment

    find_dataset(args.data_type, args.dataset, args.data)  # fails early with a clear message
    torch.set_num_threads(args.threads)
    return run_experiment(
        args.data_type,
        args.dataset,
        args.data,
        baseline=args.baseline,
        select=args.select,
        recipe=args.recipe or "default",
        patience=args.patience,
        **kwargs,
    )


def run(args) -> int:
    """Run ``pidlearn mole``; returns the exit status (errors are raised for the caller to report)."""
    _check(args)
    res = _experiment(args)
    history = res.pop("history")
    plot = None
    if args.plot:
        from pidlearn._cli_train_common import plots

        try:
            plots().plot_mi_history(history, args.plot)  # saves the file, returns (fig, ax)
            plot = str(args.plot)
        except ImportError:
            plot = None
    mi_last = {}
    for h in history:
        mi_last.update(h.get("mi", {}))
    payload = {"command": "mole", **res, "mi_bits": mi_last, "plot": plot}
    if args.json:
        print(json.dumps(payload))
        return 0
    where = f"{args.dataset} ({args.data_type})"
    backend = " (numpy backend)" if res.get("backend") == "numpy" else ""
    if args.data_type == "graph":
        where += f", {res['folds']}-fold mean"
    epochs = f"{res['epochs']} epochs"
    if "patience" in res:  # --select val-patience
        epochs = f"at most {res['epochs']} epochs (patience {res['patience']})"
    lines = [
        f"MOLE{backend} on {where}: {res['objective']} objective, {res['schedule']} schedule, {epochs}, "
        f"seed {args.seed}, {res.get('recipe', 'legacy')} recipe, selection {res['select']}",
        f"test accuracy MOLE:     {100 * res['test_accuracy']:.2f} %",
    ]
    if args.baseline:
        lines.append(
            f"test accuracy backprop: {100 * res['baseline_accuracy']:.2f} % (same network and initial weights)"
        )
    if res["select"] == "early-stop" and args.data_type != "graph":  # graph runs: per fold, in --json
        stop = f"MOLE {res['epochs_run']}" + (f", backprop {res['baseline_epochs_run']}" if args.baseline else "")
        lines.append(f"stopped on the validation loss after epochs: {stop}")
    if "fold_best_epoch" in res:  # graph data, --select val or val-patience: the epoch of each fold
        chosen = f"MOLE {res['fold_best_epoch']}"
        if "fold_baseline_best_epoch" in res:
            chosen += f", backprop {res['fold_baseline_best_epoch']}"
        lines.append(f"epoch chosen on each fold's validation graphs: {chosen}")
        folds = " ".join(f"{100 * a:.1f}" for a in res["fold_accuracy"])
        lines.append(f"test accuracy per fold, MOLE (%): {folds}")
        if args.baseline:
            folds = " ".join(f"{100 * a:.1f}" for a in res["fold_baseline_accuracy"])
            lines.append(f"test accuracy per fold, backprop (%): {folds}")
    if res["select"] == "val" and "best_epoch" in res:
        chosen = f"MOLE {res['best_epoch']}" + (f", backprop {res['baseline_best_epoch']}" if args.baseline else "")
        lines.append(f"epoch chosen on the validation data: {chosen}")
    if mi_last:
        lines.append(
            "I(T_k; Y) of the last training epoch (bits): " + ", ".join(f"{k} {v:.3f}" for k, v in mi_last.items())
        )
    if plot:
        lines.append(f"plot: {plot}")
    lines.append(f"({res['seconds']:.1f} s)")
    print("\n".join(lines))
    return 0
