"""``pidlearn train --backend numpy``: the supervised task of :mod:`pidlearn._cli_train` with the NumPy backend.

The CLI layer's front end of :mod:`pidlearn.backends.numpy` (moved here from ``pidlearn.backends.numpy._cli``: a
backend never imports the CLI).

Same flags, output and ``--json`` keys as the torch backend (plus ``"backend": "numpy"``); no torch needed.
``--threads`` sets the numba threads (and the BLAS threads when ``threadpoolctl`` is installed).
"""

from __future__ import annotations

import contextlib
import time

from pidlearn._cli_train_common import _load, fit_supervised, report

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

    from pidlearn.backends.numpy.train import InfomorphicNetwork, Trainer, standardise

    sets, source = _load(args)
    data, mean, std = {}, None, None
    for name in ("train", *[k for k in sets if k != "train"]):
        x, y = sets[name]
        xs, mean, std = standardise(x, mean, std)
        data[name] = (xs, np.asarray(y, dtype=np.int64))

    def make_network(n_inputs, goal, readout_goal):
        return InfomorphicNetwork(
            n_inputs=n_inputs, hidden=args.hidden, hidden_goal=goal, readout_goal=readout_goal, seed=args.seed
        )

    return fit_supervised(args, data, source, make_network, Trainer, backend="numpy")


def run(args) -> int:
    """Run ``pidlearn train --backend numpy`` (arguments already checked by :func:`pidlearn._cli_train.run`)."""
    if args.task != "supervised":
        raise ValueError(
            f"--backend numpy trains the supervised networks only; --task {args.task} needs the torch backend"
        )
    t0 = time.perf_counter()
    with _limits(args.threads):
        payload, head, history, epochs = _supervised(args)
    return report(
        args, payload, head, history, epochs, time.perf_counter() - t0, "matplotlib or torch is not installed"
    )
