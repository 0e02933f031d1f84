"""``pidlearn train --backend numpy``: the supervised task of :mod:`pidlearn._cli_train` with the NumPy backend.

Same flags, output and ``--json`` keys as the torch backend (plus ``"backend": "numpy"``); no torch needed.
``--threads`` sets the numba threads (and the BLAS threads when ``threadpoolctl`` is installed).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

__all__ = ["run"]


def _limits(threads: int):
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: BLAS keeps its own default
        return contextlib.nullcontext()
    return threadpool_limits(threads)


def _supervised(args):
    import numpy as np

    from pidlearn._cli_train import _DEFAULT_GOAL, _load
    from pidlearn.backends.numpy.train import InfomorphicNetwork, Trainer, standardise
    from pidlearn.goals import preset

    sets, source = _load(args)
    data, mean, std = {}, None, None
    for name in ("train", *[k for k in sets if k != "train"]):
        x, y = sets[name]
        xs, mean, std = standardise(x, mean, std)
        data[name] = (xs, np.asarray(y, dtype=np.int64))
    x, y = data["train"]
    # --goal is the hidden neurons' goal; without hidden neurons it is the single layer's (the readout's) goal
    goal = args.goal or _DEFAULT_GOAL["supervised"]
    readout_goal = args.goal if (args.goal and not args.hidden) else "readout"
    preset(goal if args.hidden else readout_goal)  # an unknown preset fails here, with the list of presets
    net = InfomorphicNetwork(
        n_inputs=x.shape[1], hidden=args.hidden, hidden_goal=goal, readout_goal=readout_goal, seed=args.seed
    )
    trainer = Trainer(net, batch_size=args.batch_size, seed=args.seed, progress=not args.json and sys.stderr.isatty())
    if args.checkpoint:
        from pathlib import Path

        if Path(args.checkpoint).is_file():
            trainer.load(args.checkpoint)
    epochs = args.epochs or 20
    evals = {k: v for k, v in data.items() if k != "train"}
    trainer.fit(x, y, epochs, eval_sets=evals, checkpoint=args.checkpoint)
    last = trainer.history[-1]
    payload = {
        "task": "supervised",
        "backend": "numpy",
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
        f"supervised (numpy backend), {source}: "
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


def run(args) -> int:
    """Run ``pidlearn train --backend numpy`` (arguments already checked by :func:`pidlearn._cli_train.run`)."""
    from pidlearn._cli_train import _atom_lines, _plot

    if args.task != "supervised":
        raise ValueError(
            f"--backend numpy trains the supervised networks only; --task {args.task} needs the torch backend"
        )
    t0 = time.perf_counter()
    with _limits(args.threads):
        payload, head, history, epochs = _supervised(args)
    seconds = time.perf_counter() - t0
    plot = None if args.plot.lower() == "none" else _plot(history, args.plot, args.task)
    payload = {"command": "train", **payload, "epochs": epochs, "seconds": seconds, "plot": plot, "seed": args.seed}
    if args.json:
        print(json.dumps(payload))
        return 0
    lines = [head, *_atom_lines(payload["atoms"])]
    if plot:
        lines.append(f"plot: {plot}")
    elif args.plot.lower() != "none":
        lines.append("(no plot: matplotlib or torch is not installed)")
    lines.append(f"({seconds:.1f} s)")
    print("\n".join(lines))
    return 0
