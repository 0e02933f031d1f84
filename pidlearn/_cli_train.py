"""The ``pidlearn train`` subcommand: train infomorphic networks (torch backend, or ``--backend numpy`` without torch).

``pidlearn train [--task supervised|unsupervised|memory] [--backend torch|numpy] [--data DIR] [--hidden N]
[--goal PRESET] [--epochs E] [--authors-setup] [--json]``. Without ``--data`` it trains on the MNIST subset shipped
with pidlearn (6000 training, 1000 test images); ``--data`` names a folder of MNIST-layout IDX files (MNIST or
Fashion-MNIST): then the first 48 000 training images train, the other 12 000 validate and the 10 000 test images
test. Prints the test accuracy (memory: the recall capacity) and the mean atoms per layer, and saves a plot of atoms
and accuracy over epochs. With ``--json`` exactly one JSON object is printed on stdout. ``--backend numpy``
(:mod:`pidlearn._cli_train_numpy`) runs every task with the NumPy backend: same flags and JSON keys, plus
``"backend": "numpy"``.
"""

from __future__ import annotations

import time

# shared with the numpy front end (pidlearn._cli_train_numpy); re-exported under their old names here
from pidlearn._cli_train_common import (
    _atom_lines,  # noqa: F401  (re-export)
    _load,
    _plot,  # noqa: F401  (re-export)
    fit_memory,
    fit_supervised,
    fit_unsupervised,
    report,
)

__all__ = ["add_parser", "fit_supervised", "report", "run"]


def add_parser(subparsers) -> None:
    """Add the ``train`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "train",
        help="train infomorphic neurons (supervised MNIST, unsupervised codes, associative memory); torch or numpy",
        description=(
            "Train a network of infomorphic neurons, each maximising a weighted sum of PID atoms of its output with "
            "its inputs. supervised: image classification with label context (test accuracy); unsupervised: codes "
            "scored by a linear probe beside a random projection; memory: recall capacity of random patterns "
            "beside a Hopfield network."
        ),
    )
    p.add_argument("--task", choices=("supervised", "unsupervised", "memory"), default="supervised")
    p.add_argument(
        "--backend",
        choices=("torch", "numpy"),
        default="torch",
        help="numpy: analytic local rule, no torch (every task; checkpoints are .npz files)",
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
    p.add_argument("--threads", type=int, default=1, help="threads (torch; numpy: numba and BLAS); default 1")
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
    from pidlearn.cli import check_plot_option

    check_plot_option(args.plot)
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
    return fit_unsupervised(args, _tensors(sets), source, UnsupervisedTrainer, linear_probe, random_projection_codes)


def _memory(args, torch):
    from pidlearn.backends.torch.memory import recall_capacity

    return fit_memory(args, recall_capacity)


def run(args) -> int:
    """Run ``pidlearn train``; returns the exit status (errors are raised for the caller to report)."""
    _check(args)
    if getattr(args, "backend", "torch") == "numpy":
        from pidlearn._cli_train_numpy import run as run_numpy

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
