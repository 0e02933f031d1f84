"""Figures of a benchmark run (matplotlib, imported only when a figure is drawn).

* :func:`plot_estimates` — one panel per task: each estimator's mean estimate ± one standard deviation over seeds
  against the sample size (log axis), the truth as a dashed line.
* :func:`plot_runtime` — one panel per task kind: each estimator's median time against the sample size, log axes.
* :func:`plot_atom_errors` — discrete PID tasks: the largest atom error ``max_α |Π̂(α) − Π(α)|`` against N.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["plot_atom_errors", "plot_estimates", "plot_runtime", "save_figures"]


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


def _colors(names):
    plt = _plt()
    palette = [*plt.get_cmap("tab10").colors, *plt.get_cmap("Dark2").colors, *plt.get_cmap("Set1").colors]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def _style(name: str) -> dict:
    """pidlearn's estimators solid with circles, peers dashed with squares (equal values stay visible)."""
    if name.startswith("pidlearn"):
        return {"ls": "-", "marker": "o"}
    return {"ls": "--", "marker": "s", "mfc": "none"}


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
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
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


def plot_estimates(rows: Sequence[dict], *, ncols: int = 4, exclude: Sequence[str] = ()):
    """Estimate vs truth per task (mean ± std over seeds, against N), without the estimators in ``exclude``;
    returns the matplotlib Figure."""
    rows = [r for r in _ok(rows) if r["estimator"] not in set(exclude)]
    tasks = _ordered(r["task"] for r in rows)
    ests = _ordered(r["estimator"] for r in rows)
    colors = _colors(ests)
    fig, axes = _grid(len(tasks), ncols)
    for ax, task in zip(axes, tasks, strict=False):
        trs = [r for r in rows if r["task"] == task]
        for est in _ordered(r["estimator"] for r in trs):
            ns, by_n = _stats([r for r in trs if r["estimator"] == est], "estimate")
            mean = np.array([np.mean(by_n[n]) for n in ns])
            std = np.array([np.std(by_n[n]) for n in ns])
            ax.plot(ns, mean, ms=4, lw=1.2, color=colors[est], label=est, **_style(est))
            ax.fill_between(ns, mean - std, mean + std, color=colors[est], alpha=0.15, lw=0)
        ax.axhline(trs[0]["truth"], color="k", ls=":", lw=1.2, label="truth")
        _log_x(ax, sorted({r["n"] for r in trs}))
        ax.set_title(f"{task} ({trs[0]['kind']})", fontsize=8)
        ax.set_xlabel("N", fontsize=8)
        ax.set_ylabel("bits", fontsize=8)
        ax.tick_params(labelsize=7)
    _legend(fig, colors)
    return fig


def _legend(fig, colors):
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, ms=4, label=n, **_style(n)) for n, c in colors.items()]
    handles.append(Line2D([], [], color="k", ls=":", label="truth"))
    fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04 + 0.02 * math.ceil(len(handles) / 6), 1, 1))


def _log_log_panels(rows, key: str, field: str, stat, floor: float, title: str, ylabel: str, ncols: int, **grid):
    """One log-log panel per value of ``rows[key]``: ``stat`` of ``field`` over the seeds against N, one line per
    estimator (values below ``floor`` drawn at ``floor``); ``title`` is formatted with the panel's value."""
    groups = _ordered(r[key] for r in rows)
    colors = _colors(_ordered(r["estimator"] for r in rows))
    fig, axes = _grid(len(groups), ncols, **grid)
    for ax, group in zip(axes, groups, strict=False):
        grs = [r for r in rows if r[key] == group]
        for est in _ordered(r["estimator"] for r in grs):
            ns, by_n = _stats([r for r in grs if r["estimator"] == est], field)
            ys = [max(float(stat(by_n[n])), floor) for n in ns]
            ax.plot(ns, ys, ms=4, color=colors[est], label=est, **_style(est))
        _log_x(ax, sorted({r["n"] for r in grs}))
        ax.set_yscale("log")
        ax.set_title(title.format(group), fontsize=8)
        ax.set_xlabel("N", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    return fig


def plot_runtime(rows: Sequence[dict]):
    """Median run time against N per estimator, one panel per task kind, log-log; returns the Figure."""
    return _log_log_panels(
        _ok(rows), "kind", "seconds", np.median, 1e-6, "{}: median time per estimate", "seconds", 2, size=(5.0, 3.6)
    )


def plot_atom_errors(rows: Sequence[dict], *, ncols: int = 4):
    """Largest atom error against N for the discrete PID tasks (mean over seeds); ``None`` without such rows."""
    rows = [r for r in _ok(rows) if not math.isnan(r["atom_error"])]
    if not rows:
        return None
    return _log_log_panels(rows, "task", "atom_error", np.mean, 1e-12, "{}: max |atom error|", "bits", ncols)


def save_figures(rows: Sequence[dict], out, *, prefix: str = "") -> dict[str, str]:
    """Draw every figure of ``rows`` into the folder ``out`` as PNG (the estimates without :data:`NOT_SHANNON`);
    returns ``{figure: path}``."""
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
