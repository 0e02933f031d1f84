"""``pidlearn train --backend numpy``: the three tasks of :mod:`pidlearn._cli_train` with the NumPy backend.

The CLI layer's front end of :mod:`pidlearn.backends.numpy` (moved here from ``pidlearn.backends.numpy._cli``: a
backend never imports the CLI).

Same flags, output and ``--json`` keys as the torch backend (plus ``"backend": "numpy"``); torch is never imported.
``--threads`` sets the numba threads (and the BLAS/OpenMP threads when ``threadpoolctl`` is installed) for the whole
run: :func:`_limits`, also used by ``pidlearn mole --backend numpy``. ``--checkpoint`` (supervised, unsupervised)
writes a NumPy ``.npz`` checkpoint (no pickle).
"""

from __future__ import annotations

import contextlib
import time

from pidlearn._cli_train_common import _load, fit_memory, fit_supervised, fit_unsupervised, report

__all__ = ["run"]

_BACKEND = "numpy"


@contextlib.contextmanager
def _limits(threads: int):
    """Run the block with at most ``threads`` numba threads (and BLAS/OpenMP threads with ``threadpoolctl``)."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: BLAS keeps its own default
        blas = contextlib.nullcontext()
    else:
        blas = threadpool_limits(threads)
    try:
        with blas:
            yield
    finally:
        numba.set_num_threads(before)


def _arrays(sets) -> dict:
    """Standardise every set with the training set's mean and std; labels as int64."""
    import numpy as np

    from pidlearn.backends.numpy.train import standardise

    data, mean, std = {}, None, None
    for name in ("train", *[k for k in sets if k != "train"]):
        x, y = sets[name]
        xs, mean, std = standardise(x, mean, std)
        data[name] = (xs, np.asarray(y, dtype=np.int64))
    return data


def _supervised(args):
    from pidlearn.backends.numpy.train import InfomorphicNetwork, Trainer

    sets, source = _load(args)

    def make_network(n_inputs, goal, readout_goal):
        return InfomorphicNetwork(
            n_inputs=n_inputs, hidden=args.hidden, hidden_goal=goal, readout_goal=readout_goal, seed=args.seed
        )

    return fit_supervised(args, _arrays(sets), source, make_network, Trainer, backend=_BACKEND)


def _unsupervised(args):
    from pidlearn.backends.numpy.unsupervised import UnsupervisedTrainer, linear_probe, random_projection_codes

    sets, source = _load(args)
    return fit_unsupervised(
        args, _arrays(sets), source, UnsupervisedTrainer, linear_probe, random_projection_codes, backend=_BACKEND
    )


def _memory(args):
    from pidlearn.backends.numpy.memory import recall_capacity

    return fit_memory(args, recall_capacity, backend=_BACKEND)


def run(args) -> int:
    """Run ``pidlearn train --backend numpy`` (arguments already checked by :func:`pidlearn._cli_train.run`)."""
    t0 = time.perf_counter()
    task = {"supervised": _supervised, "unsupervised": _unsupervised, "memory": _memory}[args.task]
    with _limits(args.threads):
        payload, head, history, epochs = task(args)
    return report(args, payload, head, history, epochs, time.perf_counter() - t0, "matplotlib is not installed")
