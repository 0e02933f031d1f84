"""Plots of training histories, for both backends (need matplotlib, imported only when a plot is drawn; no torch).
Epoch axes have whole-number ticks.

* :func:`plot_history` — accuracy and the mean atoms of each layer over epochs (either backend's ``Trainer``), the
  atoms' legend beside their panel;
* :func:`plot_mi_history` — the training ``I(T_k; Y)`` of every module of either backend's ``MOLE``.

Re-exported from their old places, :mod:`pidlearn.backends.torch.plots`, :mod:`pidlearn.backends.torch.train` and
:mod:`pidlearn.backends.torch.mole`.
"""

from __future__ import annotations

import math
from pathlib import Path

from pidlearn.goals import RESIDUAL

__all__ = ["plot_history", "plot_mi_history"]


def _integer_ticks(axes) -> None:
    """Epochs (and stored patterns) are counts: ticks on whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_history(history: list[dict], path, *, xlabel: str = "epoch", ylabel: str = "accuracy (%)") -> Path:
    """Plot accuracy and the mean atoms of each layer over epochs into ``path`` (PNG/PDF/SVG; needs matplotlib).

    Parameters
    ----------
    history : list of dict
        :attr:`Trainer.history` (or records of the same shape: ``epoch``, ``accuracy`` {name: fraction},
        ``atoms`` {layer: {atom: bits}}); accuracies missing in some records are skipped there.
    path : str or path
        The file to write; its suffix chooses the format.
    xlabel : str, default "epoch"
        Label of the (whole-number) x axis, e.g. "patterns stored" for the memory task.
    ylabel : str, default "accuracy (%)"
        Label of the accuracy panel.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("the history is empty: train at least one epoch before plotting")
    epochs = [h["epoch"] for h in history]
    layer_names = list(history[0]["atoms"])
    fig, axes = plt.subplots(
        1, 1 + len(layer_names), figsize=(5.2 * (1 + len(layer_names)), 4.0), squeeze=False, layout="constrained"
    )
    ax = axes[0, 0]
    acc_names = list(dict.fromkeys(name for h in history for name in h.get("accuracy", {})))
    for name in acc_names:
        pts = [(e, 100 * h["accuracy"][name]) for e, h in zip(epochs, history, strict=True) if name in h["accuracy"]]
        ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=ylabel.split(" (")[0])
    if acc_names:
        ax.legend(fontsize=8)
    for ax, layer in zip(axes[0, 1:], layer_names, strict=True):
        keys = list(history[0]["atoms"][layer])
        colours = plt.get_cmap("tab20").colors  # 20 distinct colours: a trivariate layer has 18 atoms + H_res
        for i, key in enumerate(keys):
            values = [h["atoms"][layer][key] for h in history]
            if key == RESIDUAL or max(abs(v) for v in values) > 1e-3 or len(keys) <= 5:
                ax.plot(epochs, values, label=key, color=colours[(2 * i) % 20 + (2 * i) // 20])
        ax.set(xlabel=xlabel, ylabel="bits (mean over neurons)", title=f"{layer} atoms")
        ax.legend(fontsize=7, ncol=1 if len(ax.get_lines()) <= 10 else 2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _integer_ticks(axes.ravel())
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_mi_history(history: list[dict], path, *, n_classes: int | None = None) -> Path:
    """Plot the mean training I(T_k; Y) of every module over epochs into ``path`` (needs matplotlib).

    Parameters
    ----------
    history : list of dict
        :attr:`MOLE.history` (records with ``epoch`` and ``mi`` {module: bits}).
    path : str or path
        The file to write.
    n_classes : int, optional
        Draws the ``log2 C`` ceiling of the delta-kernel estimate.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("the history is empty: train at least one epoch before plotting")
    names = list(dict.fromkeys(name for h in history for name in h.get("mi", {})))
    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    for name in names:
        pts = [(h["epoch"], h["mi"][name]) for h in history if name in h.get("mi", {})]
        ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=f"I(T; Y), {name}")
    if n_classes:
        ax.axhline(math.log2(n_classes), color="grey", ls="--", lw=1, label=f"log2 {n_classes}")
    ax.set(xlabel="epoch", ylabel="bits (mean over batches)", title="MOLE: I(T_k; Y) per module")
    ax.legend(fontsize=8)
    _integer_ticks([ax])
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
