"""The ``pidlearn train`` subcommand: train infomorphic networks (needs the ``torch`` extra).

``pidlearn train [--task supervised|unsupervised|memory] [--data DIR] [--hidden N] [--goal PRESET] [--epochs E]
[--authors-setup] [--json]``. Without ``--data`` it trains on the MNIST subset shipped with pidlearn (6000 training,
1000 test images); ``--data`` names a folder of MNIST-layout IDX files (MNIST or Fashion-MNIST): then the first
48 000 training images train, the other 12 000 validate and the 10 000 test images test. Prints the test accuracy
(memory: the recall capacity) and the mean atoms per layer, and saves a plot of atoms and accuracy over epochs. With
``--json`` exactly one JSON object is printed on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

__all__ = ["add_parser", "run"]

_DEFAULT_GOAL = {"supervised": "trivariate_optimised", "unsupervised": "lateral_heuristic", "memory": "memory"}


def add_parser(subparsers) -> None:
    """Add the ``train`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "train",
        help="train infomorphic neurons (supervised MNIST, unsupervised codes, associative memory); needs torch",
        description=(
            "Train a network of infomorphic neurons, each maximising a weighted sum of PID atoms of its output with "
            "its inputs. supervised: image classification with label context (test accuracy); unsupervised: codes "
            "scored by a linear probe beside a random projection; memory: recall capacity of random patterns "
            "beside a Hopfield network."
        ),
    )
    p.add_argument("--task", choices=("supervised", "unsupervised", "memory"), default="supervised")
    p.add_argument(
        "--backend", choices=("torch", "numpy"), default="torch", help="numpy: analytic local rule, no torch"
    )
    p.add_argument("--data", metavar="DIR", help="folder of MNIST-layout IDX files (default: the bundled subset)")
    p.add_argument(
        "--hidden",
        type=int,
        default=100,
        metavar="N",
        help="hidden neurons (supervised: 0 = a single infomorphic layer; memory: neurons); default 100",
    )
    p.add_argument(
        "--goal",
        metavar="PRESET",
        help="goal preset of the hidden/unsupervised neurons (supervised default trivariate_optimised; "
        "a 2-source preset such as context_heuristic makes a bivariate layer); with --hidden 0 the goal of the "
        "single layer (default readout)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        metavar="E",
        help="epochs (default: 20 supervised, 10 unsupervised, 100 full-batch steps for memory, 1000 with "
        "--authors-setup)",
    )
    p.add_argument(
        "--authors-setup",
        action="store_true",
        help="memory: the setup of the authors' code (receptive weight fixed at 2.3, no receptive bias, 60 fixed "
        "bins on [-20, 20]) and 1000 steps unless --epochs; stores about 1.6 N patterns",
    )
    p.add_argument("--batch-size", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--plot",
        default="pidlearn_train.png",
        metavar="FILE",
        help="where to save the plot of atoms and accuracy over epochs ('none': no plot)",
    )
    p.add_argument(
        "--checkpoint", metavar="FILE", help="supervised, unsupervised: save after every epoch and resume from it"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _load(args):
    if args.data:
        from pidlearn.idx import load_mnist

        x_tr, y_tr = load_mnist(args.data, "train")
        x_te, y_te = load_mnist(args.data, "test")
        n_train = min(48000, len(x_tr) - len(x_tr) // 5)
        return {
            "train": (x_tr[:n_train], y_tr[:n_train]),
            "validation": (x_tr[n_train:], y_tr[n_train:]),
            "test": (x_te, y_te),
        }, str(args.data)
    from pidlearn.idx import load_mnist_small

    d = load_mnist_small()
    source = f"bundled MNIST subset ({len(d['y_train'])} train, {len(d['y_test'])} test)"
    return {"train": (d["x_train"], d["y_train"]), "test": (d["x_test"], d["y_test"])}, source


def _tensors(sets):
    import numpy as np
    import torch

    from pidlearn.backends.torch.train import standardise

    out, mean, std = {}, None, None
    for name in ("train", *[k for k in sets if k != "train"]):
        x, y = sets[name]
        xs, mean, std = standardise(x, mean, std)
        out[name] = (xs, torch.as_tensor(np.asarray(y, dtype=np.int64)))
    return out


def _check(args) -> None:
    if args.epochs is not None and args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.hidden < 0:
        raise ValueError(f"--hidden must be >= 0, got {args.hidden}")
    if args.task != "supervised" and args.hidden < 2:
        raise ValueError(f"--task {args.task} needs --hidden >= 2 neurons, got {args.hidden}")
    if args.batch_size < 2:
        raise ValueError(f"--batch-size must be at least 2, got {args.batch_size}")
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.task == "memory" and args.data:
        raise ValueError("--task memory stores random patterns; it takes no --data")
    if args.authors_setup and args.task != "memory":
        raise ValueError("--authors-setup is an option of --task memory")
    if args.checkpoint and args.task == "memory":
        raise ValueError("--checkpoint applies to --task supervised and unsupervised (memory runs are short)")


def _resume(trainer, checkpoint) -> None:
    """Load ``checkpoint`` into ``trainer`` when the file exists (a new run otherwise)."""
    if checkpoint and Path(checkpoint).is_dir():
        raise ValueError(f"--checkpoint {checkpoint} is a directory; name a file, e.g. {Path(checkpoint) / 'run.ckpt'}")
    if checkpoint and Path(checkpoint).is_file():
        trainer.load(checkpoint)


def fit_supervised(args, data: dict, source: str, make_network, trainer_cls, backend: str | None = None):
    """The supervised task on either backend: goals from the flags, training with checkpoints, the result.

    ``data`` maps "train" (and evaluation sets) to standardised ``(x, y)``; ``make_network(n_inputs, hidden_goal,
    readout_goal)`` builds the backend's network; ``trainer_cls`` is its ``Trainer``. Returns the JSON payload, the
    text head, the history and the number of epochs trained.
    """
    from pidlearn.goals import preset

    x, y = data["train"]
    # --goal is the hidden neurons' goal; without hidden neurons it is the single layer's (the readout's) goal
    goal = args.goal or _DEFAULT_GOAL["supervised"]
    readout_goal = args.goal if (args.goal and not args.hidden) else "readout"
    preset(goal if args.hidden else readout_goal)  # an unknown preset fails here, with the list of presets
    net = make_network(x.shape[1], goal, readout_goal)
    trainer = trainer_cls(
        net, batch_size=args.batch_size, seed=args.seed, progress=not args.json and sys.stderr.isatty()
    )
    _resume(trainer, args.checkpoint)
    epochs = args.epochs or 20
    evals = {k: v for k, v in data.items() if k != "train"}
    trainer.fit(x, y, epochs, eval_sets=evals, checkpoint=args.checkpoint)
    last = trainer.history[-1]
    payload = {
        "task": "supervised",
        **({"backend": backend} if backend else {}),
        "data": source,
        "hidden": args.hidden,
        "goal": goal if args.hidden else None,
        "readout_goal": readout_goal,
        "test_accuracy": last["accuracy"]["test"],
        "validation_accuracy": last["accuracy"].get("validation"),
        "accuracy_per_epoch": [h["accuracy"]["test"] for h in trainer.history],
        "atoms": last["atoms"],
    }
    head = (
        ("supervised" if backend is None else f"supervised ({backend} backend)")
        + f", {source}: "
        + (
            f"{args.hidden} hidden neurons ({goal}) + readout"
            if args.hidden
            else f"single infomorphic layer ({readout_goal})"
        )
        + f"\ntest accuracy after {trainer.epoch} epochs: {100 * payload['test_accuracy']:.2f} %"
    )
    if payload["validation_accuracy"] is not None:
        head += f" (validation {100 * payload['validation_accuracy']:.2f} %)"
    return payload, head, trainer.history, trainer.epoch


def _supervised(args, torch):
    from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer

    sets, source = _load(args)

    def make_network(n_inputs, goal, readout_goal):
        torch.manual_seed(args.seed)
        return InfomorphicNetwork(n_inputs=n_inputs, hidden=args.hidden, hidden_goal=goal, readout_goal=readout_goal)

    return fit_supervised(args, _tensors(sets), source, make_network, Trainer)


def _unsupervised(args, torch):
    from pidlearn.backends.torch.unsupervised import UnsupervisedTrainer, linear_probe, random_projection_codes

    sets, source = _load(args)
    data = _tensors(sets)
    x, y = data["train"]
    xt, yt = data["test"]
    goal = args.goal or _DEFAULT_GOAL["unsupervised"]
    trainer = UnsupervisedTrainer(
        x.shape[1],
        args.hidden,
        goal=goal,
        batch_size=args.batch_size,
        seed=args.seed,
        progress=not args.json and sys.stderr.isatty(),
    )
    _resume(trainer, args.checkpoint)
    epochs = args.epochs or 10
    trainer.fit(x, epochs, checkpoint=args.checkpoint)
    acc = linear_probe(trainer.codes(x), y, trainer.codes(xt), yt, seed=args.seed)
    acc_rp = linear_probe(
        random_projection_codes(x, args.hidden, args.seed),
        y,
        random_projection_codes(xt, args.hidden, args.seed),
        yt,
        seed=args.seed,
    )
    for h in trainer.history:
        h["accuracy"] = {}
    trainer.history[-1]["accuracy"] = {"probe (test)": acc, "random projection probe (test)": acc_rp}
    payload = {
        "task": "unsupervised",
        "data": source,
        "hidden": args.hidden,
        "goal": goal,
        "test_accuracy": acc,
        "random_projection_accuracy": acc_rp,
        "atoms": trainer.history[-1]["atoms"],
    }
    head = (
        f"unsupervised, {source}: {args.hidden} neurons ({goal}), {epochs} epochs\n"
        f"linear probe on the frozen codes: test accuracy {100 * acc:.2f} % "
        f"(random projection of the same size: {100 * acc_rp:.2f} %)"
    )
    return payload, head, trainer.history, epochs


def _memory(args, torch):
    from pidlearn.backends.torch.memory import recall_capacity

    n = args.hidden
    counts = sorted({max(1, round(f * n)) for f in (0.05, 0.1, 0.14, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.6, 2.0)})
    setup = dict(input_weight=2.3, binning="fixed", n_bins=60) if args.authors_setup else {}
    epochs = args.epochs or (1000 if args.authors_setup else 100)
    res = recall_capacity(n, counts, epochs=epochs, seed=args.seed, **setup)
    payload = {
        "task": "memory",
        "hidden": n,
        "goal": args.goal or "memory",
        "setup": "authors" if args.authors_setup else "default",
        "capacity": res["capacity"],
        "hopfield_capacity": res["hopfield_capacity"],
        "min_fraction": res["min_fraction"],
        "recall": [{k: r[k] for k in ("patterns", "recalled", "hopfield_recalled")} for r in res["rows"]],
        "atoms": {f"P={r['patterns']}": r["atoms"] for r in res["rows"]},
    }
    lines = [
        f"memory: {n} neurons, random patterns, {epochs} full-batch steps each"
        + (" (authors' setup: receptive weight 2.3, 60 fixed bins)" if args.authors_setup else "")
        + "; recalled = fixed point with cosine >= 0.95 from the clean cue",
        f"{'patterns':>9} {'infomorphic':>12} {'Hopfield':>9}",
    ]
    lines += [
        f"{r['patterns']:>9} {100 * r['recalled']:>11.0f}% {100 * r['hopfield_recalled']:>8.0f}%" for r in res["rows"]
    ]
    lines.append(
        f"capacity (largest P with >= {100 * res['min_fraction']:.0f} % recalled, per neuron): "
        f"infomorphic {res['capacity']:.2f} N, Hopfield {res['hopfield_capacity']:.2f} N"
    )
    history = [
        {
            "epoch": r["patterns"],
            "accuracy": {"infomorphic": r["recalled"], "Hopfield": r["hopfield_recalled"]},
            "atoms": {"memory": r["atoms"]},
        }
        for r in res["rows"]
    ]
    return payload, "\n".join(lines), history, epochs


def _atom_lines(atoms: dict) -> list[str]:
    lines = ["mean atoms per neuron (bits):"]
    for layer, values in atoms.items():
        lines.append(f"  {layer}: " + ", ".join(f"{k} {v:+.4f}" for k, v in values.items()))
    return lines


def _plot(history, path, task):
    try:
        from pidlearn.backends.torch.train import plot_history

        return str(
            plot_history(
                history,
                path,
                xlabel="patterns stored" if task == "memory" else "epoch",
                ylabel="recalled (%)" if task == "memory" else "accuracy (%)",
            )
        )
    except ImportError:
        return None


def run(args) -> int:
    """Run ``pidlearn train``; returns the exit status (errors are raised for the caller to report)."""
    _check(args)
    if getattr(args, "backend", "torch") == "numpy":
        from pidlearn.backends.numpy._cli import run as run_numpy

        return run_numpy(args)
    try:
        import torch
    except ImportError:
        raise ImportError("pidlearn train needs PyTorch: pip install 'pidlearn[torch]'") from None
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    task = {"supervised": _supervised, "unsupervised": _unsupervised, "memory": _memory}[args.task]
    payload, head, history, epochs = task(args, torch)
    return report(args, payload, head, history, epochs, time.perf_counter() - t0, "matplotlib is not installed")


def report(args, payload: dict, head: str, history, epochs: int, seconds: float, no_plot_reason: str) -> int:
    """Plot the history (unless ``--plot none``) and print the result: one JSON object with ``--json``, else text."""
    plot = None if args.plot.lower() == "none" else _plot(history, args.plot, args.task)
    payload = {"command": "train", **payload, "epochs": epochs, "seconds": seconds, "plot": plot, "seed": args.seed}
    if args.json:
        print(json.dumps(payload))
        return 0
    lines = [head, *(_atom_lines(payload["atoms"]) if args.task != "memory" else [])]
    if plot:
        lines.append(f"plot: {plot}")
    elif args.plot.lower() != "none":
        lines.append(f"(no plot: {no_plot_reason})")
    lines.append(f"({seconds:.1f} s)")
    print("\n".join(lines))
    return 0
