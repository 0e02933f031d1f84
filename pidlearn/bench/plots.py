"""Figures of a benchmark run (matplotlib, imported only when a figure is drawn).

* :func:`plot_estimates` — one panel per task (:func:`plot_task_estimates`): each estimator's mean estimate ± one
  standard deviation over seeds against the sample size (log axis), the truth dotted; the tasks of each kind on their
  own rows with one legend for the kind's estimators (each with its own marker).
* :func:`plot_runtime` — one panel per task kind: each estimator's median time against the sample size, log axes.
* :func:`plot_atom_errors` — discrete PID tasks: the largest atom error ``max_α |Π̂(α) − Π(α)|`` against N.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["plot_atom_errors", "plot_estimates", "plot_runtime", "plot_task_estimates", "save_figures"]


def _plt():
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('benchmark plots need matplotlib: pip install "pidlearn[plot]"') from exc
    return plt


def _ok(rows):
    return [r for r in rows if r["status"] == "ok" and not math.isnan(r["estimate"])]


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
    plt = _plt()
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


def _grid(n_panels: int, ncols: int, size=(3.6, 2.8)):
    plt = _plt()
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return fig, axes.ravel()


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
        fig, ax = _plt().subplots(figsize=(4.2, 3.0), layout="constrained")
    else:
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


def plot_estimates(rows: Sequence[dict], *, ncols: int = 4, exclude: Sequence[str] = ()):
    """Estimate vs truth per task (mean ± std over seeds, against N), one panel per task.

    The tasks of each kind (continuous MI, discrete MI, discrete and continuous PID) fill rows of their own, with one
    legend for that kind's estimators beside them; each estimator of a kind has its own marker.

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows (:func:`pidlearn.bench.run_grid`); failed rows and NaN estimates are left out.
    ncols : int, default 4
        Panels per row.
    exclude : sequence of str, default ()
        Estimators not drawn (e.g. :data:`NOT_SHANNON`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = [r for r in _ok(rows) if r["estimator"] not in set(exclude)]
    kinds = _ordered(r["kind"] for r in rows)
    tasks = {k: _ordered(r["task"] for r in rows if r["kind"] == k) for k in kinds}
    ncols = max(1, min(ncols, max((len(t) for t in tasks.values()), default=1)))
    n_rows = {k: math.ceil(len(t) / ncols) for k, t in tasks.items()}
    total = max(1, sum(n_rows.values()))
    fig = _plt().figure(figsize=(3.6 * ncols + 2.6, 2.9 * total), layout="constrained")
    grid = fig.add_gridspec(total, ncols + 1, width_ratios=[1.0] * ncols + [0.75])
    styles = _styles(rows)
    top = 0
    for kind in kinds:
        for i, task in enumerate(tasks[kind]):
            plot_task_estimates(rows, task, ax=fig.add_subplot(grid[top + i // ncols, i % ncols]), styles=styles)
        leg_ax = fig.add_subplot(grid[top : top + n_rows[kind], ncols])
        leg_ax.set_axis_off()
        _legend(leg_ax, kind, [est for k, est in styles if k == kind], styles)
        top += n_rows[kind]
    return fig


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
    return fig


def plot_runtime(rows: Sequence[dict]):
    """Median run time against N per estimator, one panel per task kind, log-log.

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _log_log_panels(
        _ok(rows), "kind", "seconds", np.median, 1e-6, "{}: median time per estimate", "seconds", 2, size=(5.0, 3.6)
    )


def plot_atom_errors(rows: Sequence[dict], *, ncols: int = 4):
    """Largest atom error ``max_α |Π̂(α) − Π(α)|`` against N for the discrete PID tasks (mean over seeds).

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows; only those with an atom error are drawn.
    ncols : int, default 4
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure or None
        None when no row has an atom error.
    """
    rows = [r for r in _ok(rows) if not math.isnan(r["atom_error"])]
    if not rows:
        return None
    return _log_log_panels(rows, "task", "atom_error", np.mean, 1e-12, "{}: max |atom error|", "bits", ncols)


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
        ``{figure: path}`` for ``estimates``, ``runtime`` and (with PID rows) ``atom_errors``.
    """
    from pathlib import Path

    plt = _plt()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    figures = (
        ("estimates", lambda r: plot_estimates(r, exclude=NOT_SHANNON)),
        ("runtime", plot_runtime),
        ("atom_errors", plot_atom_errors),
    )
    for name, fn in figures:
        fig = fn(rows)
        if fig is None:
            continue
        path = out / f"{prefix}{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths[name] = str(path)
    return paths
