"""Epoch selection rules and validation hold-outs shared by both backends' MOLE experiments (no torch, no numba).

:func:`stopped` is Kipf & Welling's early stopping on the validation loss, which
``pidlearn.backends.torch.mole_data`` and ``pidlearn.backends.numpy.mole`` both apply (``select="early-stop"``) to
the ``eval_loss`` their trainers record in ``history``.

References
----------
T. N. Kipf and M. Welling, "Semi-supervised classification with graph convolutional networks", ICLR 2017.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STOP_WINDOW", "holdout_split", "stopped"]

#: Early stopping (``select="early-stop"``, Kipf & Welling): stop after epoch n > STOP_WINDOW + 1 when the validation
#: loss exceeds the mean of the STOP_WINDOW epochs before it; the weights at that epoch are reported.
STOP_WINDOW = 10


def stopped(history: list[dict], window: int = STOP_WINDOW) -> bool:
    """Kipf & Welling's early stopping: the last validation loss exceeds the mean of the ``window`` before it.

    With ``ℓ_1, …, ℓ_n`` the validation losses of the evaluated epochs, training stops after epoch ``n`` when
    ``n > window + 1`` and ``ℓ_n > (1/window) Σ_{i=n−window}^{n−1} ℓ_i``. Only evaluated epochs count (MOLE's
    sequential schedule evaluates while its head trains); the rule applies from the ``window + 2``-th of them on, as
    in their code (``epoch > window`` counting from 0).

    Parameters
    ----------
    history : list of dict
        A trainer's history; records with ``eval_loss["val"]`` count.
    window : int, default :data:`STOP_WINDOW`

    Returns
    -------
    bool
    """
    losses = [r["eval_loss"]["val"] for r in history if "val" in r.get("eval_loss", {})]
    return len(losses) > window + 1 and losses[-1] > float(np.mean(losses[-window - 1 : -1]))


def holdout_split(labels, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) positions: a stratified ``fraction`` of each class (seeded) is held out.

    Each class's positions are shuffled by ``numpy.random.default_rng(seed + 7919)`` and the first
    ``max(1, round(fraction · n_c))`` of them are held out.

    Parameters
    ----------
    labels : array (n,)
    fraction : float in (0, 1)
    seed : int

    Returns
    -------
    train, validation : int64 arrays, sorted
    """
    labels = np.asarray(labels)
    if not 0 < fraction < 1:
        raise ValueError(f"the validation fraction must lie in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed + 7919)
    val = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        val.extend(idx[: max(1, round(fraction * len(idx)))].tolist())
    val = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), val), val
