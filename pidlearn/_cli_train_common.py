"""Helpers of ``pidlearn train`` shared by both backends' front ends (:mod:`pidlearn._cli_train`, torch, and
:mod:`pidlearn._cli_train_numpy`, numpy): the data sets, goals and checkpoints, the three tasks given a backend's
classes and functions, the plot and the printed result. Part of the CLI layer: it imports the backends only inside
functions, and no backend imports it. Nothing here imports torch unless the torch backend is already loaded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["DEFAULT_GOAL", "fit_memory", "fit_supervised", "fit_unsupervised", "load_sets", "plots", "report"]

DEFAULT_GOAL = {"supervised": "trivariate_optimised", "unsupervised": "lateral_heuristic", "memory": "memory"}
_DEFAULT_GOAL = DEFAULT_GOAL


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
    goal = args.goal or DEFAULT_GOAL["supervised"]
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


def _tagged(task: str, backend: str | None) -> dict:
    return {"task": task, **({"backend": backend} if backend else {})}


def _named(task: str, backend: str | None) -> str:
    return task if backend is None else f"{task} ({backend} backend)"


def fit_unsupervised(
    args, data: dict, source: str, trainer_cls, linear_probe, random_projection_codes, backend: str | None = None
):
    """The unsupervised task on either backend: train the layer (with checkpoints), probe its codes and a random
    projection of the same size.

    ``data`` maps "train" and "test" to standardised ``(x, y)`` of the backend's array type; ``trainer_cls``,
    ``linear_probe`` and ``random_projection_codes`` are the backend's (same API in both). Returns the JSON payload,
    the text head, the history and the number of epochs.
    """
    x, y = data["train"]
    xt, yt = data["test"]
    goal = args.goal or DEFAULT_GOAL["unsupervised"]
    trainer = trainer_cls(
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
        **_tagged("unsupervised", backend),
        "data": source,
        "hidden": args.hidden,
        "goal": goal,
        "test_accuracy": acc,
        "random_projection_accuracy": acc_rp,
        "atoms": trainer.history[-1]["atoms"],
    }
    head = (
        f"{_named('unsupervised', backend)}, {source}: {args.hidden} neurons ({goal}), {epochs} epochs\n"
        f"linear probe on the frozen codes: test accuracy {100 * acc:.2f} % "
        f"(random projection of the same size: {100 * acc_rp:.2f} %)"
    )
    return payload, head, trainer.history, epochs


def fit_memory(args, recall_capacity, backend: str | None = None):
    """The memory task on either backend: ``recall_capacity`` (the backend's) over the loads 0.1 N ... 2 N.

    The authors' protocol (:mod:`pidlearn.backends._capacity`): early stop once stored; every load is trained and
    shown (their ``extensive`` scan), the capacity is the largest load before the first whose recall accuracy (mean
    cosine similarity) is below 0.95. Returns the JSON payload, the text head, the history (one record per pattern
    count) and the most steps per count.
    """
    n = args.hidden
    setup = dict(input_weight=2.3, binning="fixed", n_bins=60) if args.authors_setup else {}
    epochs = args.epochs or (1000 if args.authors_setup else 100)
    res = recall_capacity(n, epochs=epochs, seed=args.seed, interrupt=False, **setup)
    keys = ("patterns", "accuracy", "recalled", "hopfield_accuracy", "hopfield_recalled", "epochs")
    payload = {
        **_tagged("memory", backend),
        "hidden": n,
        "goal": args.goal or "memory",
        "setup": "authors" if args.authors_setup else "default",
        "capacity": res["capacity"],
        "hopfield_capacity": res["hopfield_capacity"],
        "min_accuracy": res["min_accuracy"],
        "recall": [{k: r[k] for k in keys} for r in res["rows"]],
        "atoms": {f"P={r['patterns']}": r["atoms"] for r in res["rows"]},
    }
    lines = [
        f"{_named('memory', backend)}: {n} neurons, random patterns, at most {epochs} full-batch steps each"
        + (" (authors' setup: receptive weight 2.3, 60 fixed bins)" if args.authors_setup else "")
        + "; accuracy = mean cosine of the settled state with its pattern, recalled = fixed point with cosine >= 0.95",
        f"{'patterns':>9} {'steps':>6} {'accuracy':>9} {'recalled':>9} {'Hopfield':>9} {'recalled':>9}",
    ]
    lines += [
        f"{r['patterns']:>9} {r['epochs']:>6} {r['accuracy']:>9.3f} {100 * r['recalled']:>8.0f}% "
        f"{r['hopfield_accuracy']:>9.3f} {100 * r['hopfield_recalled']:>8.0f}%"
        for r in res["rows"]
    ]
    lines.append(
        f"capacity (largest P before the first with accuracy < {res['min_accuracy']:.2f}, per neuron): "
        f"infomorphic {res['capacity']:.2f} N, Hopfield {res['hopfield_capacity']:.2f} N"
    )
    history = [
        {
            "epoch": r["patterns"],
            "accuracy": {"infomorphic": r["accuracy"], "Hopfield": r["hopfield_accuracy"]},
            "atoms": {"memory": r["atoms"]},
        }
        for r in res["rows"]
    ]
    return payload, "\n".join(lines), history, epochs


def plots():
    """The module of the training plots, :mod:`pidlearn.backends.plots` (matplotlib only, no torch), with matplotlib's
    file backend selected (the command line only writes files); ImportError without matplotlib."""
    from pidlearn.backends import plots as module
    from pidlearn.plotting import _use_file_backend

    _use_file_backend()
    return module


def _atom_lines(atoms: dict) -> list[str]:
    lines = ["mean atoms per neuron (bits):"]
    for layer, values in atoms.items():
        lines.append(f"  {layer}: " + ", ".join(f"{k} {v:+.4f}" for k, v in values.items()))
    return lines


def _plot(history, path, task):
    """Save the plot of ``history`` to ``path``; its path as a string, or None without matplotlib."""
    try:
        module = plots()
    except ImportError:
        return None
    fig, _ = module.plot_history(
        history,
        path,
        xlabel="patterns stored" if task == "memory" else "epoch",
        ylabel="recalled (%)" if task == "memory" else "accuracy (%)",
    )
    import matplotlib.pyplot as plt

    plt.close(fig)
    return str(path)


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


load_sets = _load
