"""Plots of training histories, for both backends (need matplotlib, imported only when a plot is drawn; no torch).
Epoch axes have whole-number ticks.

* :func:`plot_history` — accuracy and the mean atoms of each layer over epochs (either backend's ``Trainer``), the
  atoms' legend beside their panel;
* :func:`plot_mi_history` — the training ``I(T_k; Y)`` of every module of either backend's ``MOLE``.

Both follow the plot contract of :mod:`pidlearn.plotting`: they draw into ``ax=`` (a new figure when omitted), return
``(fig, ax)`` / ``(fig, axes)``, and save the figure to ``path=`` when it is given.

Re-exported from their old places, :mod:`pidlearn.backends.torch.plots`, :mod:`pidlearn.backends.torch.train` and
:mod:`pidlearn.backends.torch.mole`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

from pidlearn.goals import RESIDUAL

__all__ = ["plot_history", "plot_mi_history"]

_DPI = 110


def _integer_ticks(axes) -> None:
    """Epochs (and stored patterns) are counts: ticks on whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _records(history, what: str) -> list[Mapping]:
    """``history`` checked to be a non-empty sequence of records (dicts) with an ``epoch``."""
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
        raise TypeError(f"history must be a list of records (dicts, the {what} of a fit); got {type(history).__name__}")
    if not history:
        raise ValueError("the history is empty: train at least one epoch before plotting")
    for i, h in enumerate(history):
        if not isinstance(h, Mapping) or "epoch" not in h:
            raise ValueError(f"history[{i}] must be a dict with an 'epoch' (a record of the {what}); got {h!r:.80}")
    return list(history)


def _layer_atoms(history) -> dict[str, list[str]]:
    """``{layer: atom names}`` of the first record; every record must hold them all."""
    first = history[0].get("atoms")
    if not isinstance(first, Mapping) or not all(isinstance(v, Mapping) for v in first.values()):
        raise ValueError("history records must hold 'atoms': {layer: {atom: bits}} (Trainer.history)")
    layers = {layer: list(values) for layer, values in first.items()}
    for i, h in enumerate(history):
        atoms = h.get("atoms")
        if not isinstance(atoms, Mapping) or any(
            not isinstance(atoms.get(layer), Mapping) or any(k not in atoms[layer] for k in keys)
            for layer, keys in layers.items()
        ):
            raise ValueError(f"history[{i}]['atoms'] lacks layers or atoms of history[0]: every record needs them all")
    return layers


def plot_history(history: list[dict], path=None, *, ax=None, xlabel: str = "epoch", ylabel: str = "accuracy (%)"):
    """Plot accuracy and the mean atoms of each layer over epochs (needs matplotlib); save it when ``path`` is given.

    One panel of accuracies (in per cent), then one panel per layer with the mean over neurons of each PID atom and
    of the residual entropy ``H_res`` (atoms below 1e-3 bits throughout are left out when a layer has more than five).

    Parameters
    ----------
    history : list of dict
        :attr:`Trainer.history` (or records of the same shape: ``epoch``, ``accuracy`` {name: fraction},
        ``atoms`` {layer: {atom: bits}}); accuracies missing in some records are skipped there.
    path : str or path, optional
        Also write the figure to this file (its suffix chooses the format, e.g. ``.png``, ``.pdf``, ``.svg``).
    ax : sequence of matplotlib Axes, optional
        ``1 + n_layers`` Axes of one figure (the accuracy panel, then one per layer, in the order of
        ``history[0]["atoms"]``); a new figure with one row of panels when omitted.
    xlabel : str, default "epoch"
        Label of the (whole-number) x axis, e.g. "patterns stored" for the memory task.
    ylabel : str, default "accuracy (%)"
        Label of the accuracy panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : tuple of matplotlib.axes.Axes
        The accuracy panel, then one panel per layer.

    Raises
    ------
    TypeError
        ``history`` is not a list of records, ``ax`` not a sequence of ``1 + n_layers`` Axes, ``path`` not a file name.
    ValueError
        An empty history, records without ``epoch`` or ``atoms``, a ``path`` in a missing folder or of an unknown
        format.
    """
    from pidlearn.plotting import _axes_list, _path_arg, _pyplot

    history = _records(history, "Trainer.history")
    layers = _layer_atoms(history)
    path = _path_arg(path)
    plt = _pyplot()
    if ax is None:
        n = 1 + len(layers)
        fig, grid = plt.subplots(1, n, figsize=(5.2 * n, 4.0), squeeze=False, layout="constrained")
        axes = list(grid[0])
    else:
        axes = _axes_list(ax, 1 + len(layers), "the accuracy panel, then one per layer: " + ", ".join(layers))
        fig = axes[0].figure
    epochs = [h["epoch"] for h in history]
    acc = axes[0]
    acc_names = list(dict.fromkeys(name for h in history for name in h.get("accuracy", {})))
    for name in acc_names:
        pts = [(h["epoch"], 100 * h["accuracy"][name]) for h in history if name in h.get("accuracy", {})]
        acc.plot(*zip(*pts, strict=True), marker="o", ms=3, label=name)
    acc.set(xlabel=xlabel, ylabel=ylabel, title=ylabel.split(" (")[0])
    if acc_names:
        acc.legend(fontsize=8)
    colours = plt.get_cmap("tab20").colors  # 20 distinct colours: a trivariate layer has 18 atoms + H_res
    for panel, (layer, keys) in zip(axes[1:], layers.items(), strict=True):
        for i, key in enumerate(keys):
            values = [h["atoms"][layer][key] for h in history]
            if key == RESIDUAL or max(abs(v) for v in values) > 1e-3 or len(keys) <= 5:
                panel.plot(epochs, values, label=key, color=colours[(2 * i) % 20 + (2 * i) // 20])
        panel.set(xlabel=xlabel, ylabel="bits (mean over neurons)", title=f"{layer} atoms")
        if panel.get_lines():
            ncol = 1 if len(panel.get_lines()) <= 10 else 2
            panel.legend(fontsize=7, ncol=ncol, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _integer_ticks(axes)
    if path is not None:
        fig.savefig(path, dpi=_DPI)
    return fig, tuple(axes)


def plot_mi_history(history: list[dict], path=None, *, ax=None, n_classes: int | None = None):
    """Plot the mean training I(T_k; Y) of every module over epochs (needs matplotlib); save it when ``path`` is given.

    Parameters
    ----------
    history : list of dict
        :attr:`MOLE.history` (records with ``epoch`` and ``mi`` {module: bits}; records without ``mi`` are skipped).
    path : str or path, optional
        Also write the figure to this file (its suffix chooses the format).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    n_classes : int, optional
        Draws the ``log2 C`` ceiling of the delta-kernel estimate, ``I(T; Y) <= H(Y) <= log2 C``.

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError
        ``history`` is not a list of records, ``ax`` not an Axes, ``path`` not a file name.
    ValueError
        An empty history, records without ``epoch``, ``n_classes`` not an int >= 2, a bad ``path``.
    """
    from pidlearn.plotting import _axes_list, _path_arg, _pyplot

    history = _records(history, "MOLE.history")
    if n_classes is not None and (
        isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2
    ):
        raise ValueError(f"n_classes must be an int >= 2 (the number of classes) or None; got {n_classes!r}")
    path = _path_arg(path)
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    else:
        ax = _axes_list(ax, 1)[0]
        fig = ax.figure
    names = list(dict.fromkeys(name for h in history for name in h.get("mi", {})))
    for name in names:
        pts = [(h["epoch"], h["mi"][name]) for h in history if name in h.get("mi", {})]
        ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=f"I(T; Y), {name}")
    if n_classes is not None:
        ax.axhline(math.log2(n_classes), color="grey", ls="--", lw=1, label=f"log2 {n_classes}")
    ax.set(xlabel="epoch", ylabel="bits (mean over batches)", title="MOLE: I(T_k; Y) per module")
    if ax.get_lines():
        ax.legend(fontsize=8)
    _integer_ticks([ax])
    if path is not None:
        fig.savefig(path, dpi=_DPI)
    return fig, ax
