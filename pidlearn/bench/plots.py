"""Figures of a benchmark run (matplotlib, imported only when a figure is drawn).

* :func:`plot_estimates` — one panel per task (:func:`plot_task_estimates`): each estimator's mean estimate ± one
  standard deviation over seeds against the sample size (log axis), the truth dotted; the tasks of each kind on their
  own rows with one legend for the kind's estimators (each with its own marker).
* :func:`plot_runtime` — one panel per task kind: each estimator's median time against the sample size, log axes.
* :func:`plot_atom_errors` — discrete PID tasks: the largest atom error ``max_α |Π̂(α) − Π(α)|`` against N.
* :func:`save_figures` — all of them as PNG files.

They follow the plot contract of :mod:`pidlearn.plotting`: :func:`plot_task_estimates` draws one panel into ``ax=``
and returns ``(fig, ax)``; the others lay out a grid whose panels depend on the rows, so instead of one ``ax`` they
take ``fig=`` (an empty Figure or SubFigure; a new figure sized to the grid when omitted) and return
``(fig, axes)``, one Axes per panel.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from pidlearn.plotting import _axes_list, _figure_arg, _pyplot

__all__ = ["plot_atom_errors", "plot_estimates", "plot_runtime", "plot_task_estimates", "save_figures"]


def _ok(rows):
    return [r for r in rows if r["status"] == "ok" and not math.isnan(r["estimate"])]


def _atom_rows(rows):
    return [r for r in _ok(rows) if not math.isnan(r["atom_error"])]


class _NothingToDraw(ValueError):
    """None of the rows has what the figure draws."""


def _need(rows, what: str) -> None:
    if not rows:
        raise _NothingToDraw(f"nothing to draw: {what} (rows come from pidlearn.bench.run_grid)")


def _ordered(values):
    return list(dict.fromkeys(values))


#: Legend title of each kind of task: the estimators of one kind share a legend.
KIND_TITLES = {
    "continuous-mi": "continuous MI estimators",
    "discrete-mi": "discrete MI estimators",
    "discrete-pid": "discrete PID (sum of the atoms)",
    "continuous-pid": "continuous PID (sum of the atoms)",
}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p")


def _styles(rows) -> dict[tuple[str, str], dict]:
    """Line style of each ``(kind, estimator)``: one colour per estimator throughout, a marker of its own within its
    kind; pidlearn's estimators solid with small filled markers, peers dashed with larger hollow ones, so estimators
    that give identical values stay visible on top of each other."""
    plt = _pyplot()
    palette = [*plt.get_cmap("tab10").colors, *plt.get_cmap("Dark2").colors, *plt.get_cmap("Set1").colors]
    colour = {name: palette[i % len(palette)] for i, name in enumerate(_ordered(r["estimator"] for r in rows))}
    out = {}
    for kind in _ordered(r["kind"] for r in rows):
        for i, est in enumerate(_ordered(r["estimator"] for r in rows if r["kind"] == kind)):
            style = {"color": colour[est], "marker": _MARKERS[i % len(_MARKERS)], "lw": 1.2}
            if est.startswith("pidlearn"):
                style.update(ls="-", ms=4)
            else:
                style.update(ls="--", ms=7, mfc="none", mew=1.2)
            out[kind, est] = style
    return out


def _log_x(ax, ns) -> None:
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(ns)
    ax.set_xticklabels([f"{n:g}" for n in ns])
    ax.xaxis.set_minor_formatter(NullFormatter())


def _new_figure(fig, size):
    """``fig`` checked (an empty Figure or SubFigure), or a new constrained-layout figure of ``size`` inches."""
    if fig is None:
        return _pyplot().figure(figsize=size, layout="constrained")
    return _figure_arg(fig)


def _grid(n_panels: int, ncols: int, fig=None, size=(3.6, 2.8)):
    """``n_panels`` Axes in rows of ``ncols`` (the last row may be short)."""
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig = _new_figure(fig, (size[0] * ncols, size[1] * nrows))
    grid = fig.add_gridspec(nrows, ncols)
    return fig, [fig.add_subplot(grid[i // ncols, i % ncols]) for i in range(n_panels)]


def _stats(rows, field):
    by_n: dict[int, list[float]] = {}
    for r in rows:
        by_n.setdefault(r["n"], []).append(r[field])
    ns = sorted(by_n)
    return ns, by_n


#: Estimators left out of the estimate-vs-truth figure by :func:`save_figures`: the matrix-based Rényi functional is
#: not Shannon MI (several bits off on every task) and would squeeze every other line flat; its rows stay in the
#: tables and the CSV.
NOT_SHANNON = ("pidlearn-renyi",)


def plot_task_estimates(rows: Sequence[dict], task: str, *, ax=None, styles: dict | None = None):
    """One task's panel: each estimator's mean estimate ± one standard deviation over seeds against N (log axis),
    the truth dotted.

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows (:func:`pidlearn.bench.run_grid`); rows of other tasks are ignored.
    task : str
        The task to draw.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    styles : dict, optional
        ``{(kind, estimator): matplotlib line keywords}``; default: distinct markers per estimator.

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes

    Raises
    ------
    ValueError
        No successful rows of ``task``.
    """
    trs = [r for r in _ok(rows) if r["task"] == task]
    if not trs:
        known = ", ".join(_ordered(r["task"] for r in rows)) or "none"
        raise ValueError(f"no rows of task {task!r} with a finite estimate; the rows' tasks are: {known}")
    styles = styles or _styles(trs)
    if ax is None:
        fig, ax = _pyplot().subplots(figsize=(4.2, 3.0), layout="constrained")
    else:
        ax = _axes_list(ax, 1)[0]
        fig = ax.figure
    kind = trs[0]["kind"]
    for est in _ordered(r["estimator"] for r in trs):
        ns, by_n = _stats([r for r in trs if r["estimator"] == est], "estimate")
        mean = np.array([np.mean(by_n[n]) for n in ns])
        std = np.array([np.std(by_n[n]) for n in ns])
        style = styles[kind, est]
        ax.plot(ns, mean, label=est, **style)
        ax.fill_between(ns, mean - std, mean + std, color=style["color"], alpha=0.12, lw=0)
    ax.axhline(trs[0]["truth"], color="k", ls=":", lw=1.2, label="truth")
    _log_x(ax, sorted({r["n"] for r in trs}))
    ax.set_title(task, fontsize=9)
    ax.set_xlabel("N", fontsize=8)
    ax.set_ylabel("bits", fontsize=8)
    ax.tick_params(labelsize=7)
    return fig, ax


def plot_estimates(rows: Sequence[dict], *, fig=None, ncols: int = 4, exclude: Sequence[str] = ()):
    """Estimate vs truth per task (mean ± std over seeds, against N), one panel per task.

    The tasks of each kind (continuous MI, discrete MI, discrete and continuous PID) fill rows of their own, with one
    legend for that kind's estimators beside them; each estimator of a kind has its own marker.

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows (:func:`pidlearn.bench.run_grid`); failed rows and NaN estimates are left out.
    fig : matplotlib Figure or SubFigure, optional
        An empty figure to fill (its size is kept); a new figure sized to the grid when omitted. The grid's panels
        depend on the rows, so there is no ``ax=``; one task's panel alone is :func:`plot_task_estimates`.
    ncols : int, default 4
        Panels per row.
    exclude : sequence of str, default ()
        Estimators not drawn (e.g. :data:`NOT_SHANNON`).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : tuple of matplotlib.axes.Axes
        One per task, kind by kind in the order of the rows (the legend panels are in ``fig.axes`` too).

    Raises
    ------
    TypeError
        ``fig`` is not a Figure, ``exclude`` is a string.
    ValueError
        No successful rows of a drawn estimator; ``fig`` already holds axes; ``ncols`` not a positive int.
    """
    _check_ncols(ncols)
    if isinstance(exclude, str) or not isinstance(exclude, Sequence | set | frozenset):
        raise TypeError(f"exclude must be a sequence of estimator names, e.g. ({exclude!r},); got {exclude!r}")
    rows = [r for r in _ok(rows) if r["estimator"] not in set(exclude)]
    _need(rows, "no successful row with a finite estimate" + (f" outside {list(exclude)}" if exclude else ""))
    kinds = _ordered(r["kind"] for r in rows)
    tasks = {k: _ordered(r["task"] for r in rows if r["kind"] == k) for k in kinds}
    ncols = min(ncols, max(len(t) for t in tasks.values()))
    n_rows = {k: math.ceil(len(t) / ncols) for k, t in tasks.items()}
    total = sum(n_rows.values())
    fig = _new_figure(fig, (3.6 * ncols + 2.6, 2.9 * total))
    grid = fig.add_gridspec(total, ncols + 1, width_ratios=[1.0] * ncols + [0.75])
    styles = _styles(rows)
    top = 0
    axes = []
    for kind in kinds:
        for i, task in enumerate(tasks[kind]):
            ax = fig.add_subplot(grid[top + i // ncols, i % ncols])
            plot_task_estimates(rows, task, ax=ax, styles=styles)
            axes.append(ax)
        leg_ax = fig.add_subplot(grid[top : top + n_rows[kind], ncols])
        leg_ax.set_axis_off()
        _legend(leg_ax, kind, [est for k, est in styles if k == kind], styles)
        top += n_rows[kind]
    return fig, tuple(axes)


def _check_ncols(ncols) -> None:
    if isinstance(ncols, bool) or not isinstance(ncols, numbers.Integral) or ncols < 1:
        raise ValueError(f"ncols must be a positive int (panels per row); got {ncols!r}")


def _legend(ax, kind: str, estimators, styles) -> None:
    """The legend of one kind of task: its estimators and the truth, titled by the kind."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], label=est, **styles[kind, est]) for est in estimators]
    handles.append(Line2D([], [], color="k", ls=":", lw=1.2, label="truth"))
    ax.legend(
        handles=handles,
        loc="upper left",
        fontsize=8,
        title=KIND_TITLES.get(kind, kind),
        title_fontsize=8,
        frameon=False,
        handlelength=3.0,
    )


def _log_log_panels(rows, key: str, field: str, stat, floor: float, title: str, ylabel: str, ncols: int, **grid):
    """One log-log panel per value of ``rows[key]``: ``stat`` of ``field`` over the seeds against N, one line per
    estimator (values below ``floor`` drawn at ``floor``); ``title`` is formatted with the panel's value."""
    groups = _ordered(r[key] for r in rows)
    styles = _styles(rows)
    fig, axes = _grid(len(groups), ncols, **grid)
    for ax, group in zip(axes, groups, strict=False):
        grs = [r for r in rows if r[key] == group]
        for kind, est in _ordered((r["kind"], r["estimator"]) for r in grs):
            ns, by_n = _stats([r for r in grs if r["estimator"] == est and r["kind"] == kind], field)
            ys = [max(float(stat(by_n[n])), floor) for n in ns]
            ax.plot(ns, ys, label=est, **styles[kind, est])
        _log_x(ax, sorted({r["n"] for r in grs}))
        ax.set_yscale("log")
        ax.set_title(title.format(group), fontsize=8)
        ax.set_xlabel("N", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False, handlelength=3.0)
    return fig, tuple(axes)


def plot_runtime(rows: Sequence[dict], *, fig=None):
    """Median run time against N per estimator, one panel per task kind, log-log.

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows; failed rows and NaN estimates are left out.
    fig : matplotlib Figure or SubFigure, optional
        An empty figure to fill (its size is kept); a new figure when omitted (one panel per kind: no ``ax=``).

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : tuple of matplotlib.axes.Axes
        One per task kind, in the order of the rows.

    Raises
    ------
    TypeError, ValueError
        As :func:`plot_estimates`.
    """
    rows = _ok(rows)
    _need(rows, "no successful row with a finite estimate")
    title = "{}: median time per estimate"
    return _log_log_panels(rows, "kind", "seconds", np.median, 1e-6, title, "seconds", 2, fig=fig, size=(5.0, 3.6))


def plot_atom_errors(rows: Sequence[dict], *, fig=None, ncols: int = 4):
    """Largest atom error ``max_α |Π̂(α) − Π(α)|`` against N for the discrete PID tasks (mean over seeds).

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows; only those with an atom error are drawn.
    fig : matplotlib Figure or SubFigure, optional
        An empty figure to fill (its size is kept); a new figure when omitted (one panel per task: no ``ax=``).
    ncols : int, default 4
        Panels per row.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : tuple of matplotlib.axes.Axes
        One per PID task, in the order of the rows.

    Raises
    ------
    ValueError
        No row has an atom error (no discrete PID task ran); as :func:`plot_estimates` otherwise.
    """
    _check_ncols(ncols)
    rows = _atom_rows(rows)
    _need(rows, "no successful row has an atom error (only discrete PID tasks have one)")
    return _log_log_panels(rows, "task", "atom_error", np.mean, 1e-12, "{}: max |atom error|", "bits", ncols, fig=fig)


def save_figures(rows: Sequence[dict], out, *, prefix: str = "") -> dict[str, str]:
    """Draw every figure of ``rows`` into the folder ``out`` as PNG (the estimates without :data:`NOT_SHANNON`).

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows.
    out : str or path
        Folder, created if missing.
    prefix : str, default ""
        Put before each file name.

    Returns
    -------
    dict of str to str
        ``{figure: path}`` for ``estimates``, ``runtime`` and (with PID rows) ``atom_errors``; a figure with
        nothing to draw (every row failed) is left out.
    """
    from pathlib import Path

    plt = _pyplot()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    figures = {
        "estimates": lambda: plot_estimates(rows, exclude=NOT_SHANNON),
        "runtime": lambda: plot_runtime(rows),
        "atom_errors": lambda: plot_atom_errors(rows),
    }
    for name, draw in figures.items():
        try:
            fig, _ = draw()
        except _NothingToDraw:  # every row failed, or no PID task ran: no file
            continue
        path = out / f"{prefix}{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths[name] = str(path)
    return paths
