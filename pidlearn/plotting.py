"""Figures of a partial information decomposition (matplotlib, imported only when a figure is drawn).

* :func:`plot_lattice` — the redundancy lattice as a Hasse diagram (2 and 3 sources): one node per atom, coloured by
  its value on a diverging colour map centred at 0, labelled with the antichain (in the data's source names) and the
  value; ``kind="plus_minus"`` draws the informative and misinformative parts side by side on one colour scale.
* :func:`plot_atoms` — a compact horizontal bar chart of the atoms (any number of sources; what
  :func:`plot_lattice` draws for 4 and 5 sources, whose lattices have 166 and 7579 atoms).

Both take ``ax=`` and return ``(Figure, Axes)``; :meth:`pidlearn.PIDResult.plot` calls them.

One contract for every figure of pidlearn
-----------------------------------------
Every public plot function and method (this module, :meth:`pidlearn.PIDResult.plot`,
:meth:`pidlearn.higher_order.MultipletResult.plot`, :mod:`pidlearn.backends.plots`, :mod:`pidlearn.bench.plots`)
draws into what it is given and returns what it drew on:

* one panel: ``ax=None`` (a matplotlib Axes; a new figure when omitted), returns ``(fig, ax)``;
* a fixed number of panels (``kind="plus_minus"``, a training history, the higher-order histogram and top list):
  ``ax=`` is a sequence of that many Axes of one figure, returns ``(fig, axes)`` with ``axes`` a tuple;
* a grid whose panels depend on the data (the benchmark figures): ``fig=None`` (an empty Figure or SubFigure to fill;
  one ``ax`` cannot hold it), returns ``(fig, axes)`` with one Axes per panel.

Given axes or figures keep their size and layout engine; a new figure is sized to its content. Nothing is closed or
shown: close a figure with ``matplotlib.pyplot.close(fig)``. Matplotlib is imported only when a figure is drawn, and
the backend is left as the user set it (the command line selects Agg, it only writes files).

The Hasse diagram
-----------------
Atoms are the antichains α of the redundancy lattice (Williams & Beer 2010), ordered by ``β ≼ α`` iff every source set
of α contains one of β. Node ``α`` is drawn at the height of its rank ``rank(α) = (2^n − 1) − |↑α|`` (bottom
``{1}{2}..{n}``, full redundancy; top ``{12..n}``, full synergy) and joined to the nodes it covers, which lie exactly
one rank lower (:attr:`pidlearn.lattice.Lattice.covers`). Within a rank the nodes are ordered by the barycentre
heuristic (Sugiyama, Tagawa & Toda 1981) to reduce edge crossings. Label sizes are measured with the figure's
renderer and the layout (the figure size when the function makes the figure, the font size when it draws into a given
``ax``) is chosen so that no two nodes overlap.

References
----------
P. L. Williams and R. D. Beer, "Nonnegative decomposition of multivariate information", arXiv:1004.2515 (2010).
A. Makkeh, A. J. Gutknecht and M. Wibral, "Introducing a differentiable measure of pointwise shared information",
Phys. Rev. E 103, 032149 (2021) (the informative/misinformative split π = π⁺ − π⁻).
K. Sugiyama, S. Tagawa and M. Toda, "Methods for visual understanding of hierarchical system structures",
IEEE Trans. Syst. Man Cybern. 11, 109-125 (1981).
"""

from __future__ import annotations

import itertools
import numbers
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_atoms", "plot_lattice"]

KINDS = ("atoms", "plus_minus")
#: Largest number of sources drawn as a Hasse diagram (4 sources: 166 atoms on 15 ranks; drawn as bars instead).
MAX_HASSE_SOURCES = 3
_MIN_FONT = 4.0
_PAD = 0.4  # node padding around its text, in units of the font size


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('plotting needs matplotlib: pip install "pidlearn[plot]"') from exc
    return plt


def _use_file_backend() -> None:
    """Select matplotlib's Agg backend (no window, no display needed): for the command line, which writes files."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('plotting needs matplotlib: pip install "pidlearn[plot]"') from exc
    matplotlib.use("Agg")


# ----------------------------------------------------------------------------------------------------------------------
# validation
def _check(result, kind, source_names, digits, fontsize):
    from pidlearn.results import PIDResult

    if not isinstance(result, PIDResult):
        raise TypeError(
            f"result must be a PIDResult (from pidlearn.sxpid, pidlearn.pid, ...), got {type(result).__name__}"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(repr(k) for k in KINDS)}, got {kind!r}")
    if kind == "plus_minus" and result.informative is None:
        raise ValueError(
            f"kind='plus_minus' draws the informative and misinformative parts, which the {result.measure!r} measure "
            "does not have (SxPID does); use kind='atoms'"
        )
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or not 0 <= digits <= 12:
        raise ValueError(f"digits must be an int in 0..12 (decimals of the printed values), got {digits!r}")
    if isinstance(fontsize, bool) or not isinstance(fontsize, numbers.Real) or not _MIN_FONT <= fontsize <= 72:
        raise ValueError(f"fontsize must be a number of points in [{_MIN_FONT:g}, 72], got {fontsize!r}")
    return _source_names(result, source_names)


def _source_names(result, source_names) -> tuple[str, ...] | None:
    if source_names is None:
        source_names = getattr(result, "source_names", None)
    if source_names is None:
        return None
    if isinstance(source_names, str) or not isinstance(source_names, Sequence | np.ndarray):
        raise TypeError(
            f"source_names must be a sequence of {result.n_sources} names (e.g. a DataFrame's column names), "
            f"got {type(source_names).__name__}"
        )
    names = tuple(str(s) for s in source_names)
    if len(names) != result.n_sources:
        raise ValueError(
            f"source_names has {len(names)} names but the decomposition has {result.n_sources} sources; "
            "give one name per source, in the order of the sources"
        )
    if any(not s.strip() for s in names):
        raise ValueError("source_names must not contain empty names")
    if len(set(names)) != len(names):
        raise ValueError(f"source_names must be distinct, got {list(names)}")
    return names


def _panels(result, kind) -> list[tuple[str, np.ndarray]]:
    """``(title, values in the order of result.atom_names)`` for each panel of ``kind``."""
    if kind == "atoms":
        return [("atoms", np.asarray(result.values))]
    plus = np.array(list(result.informative.values()))
    minus = np.array(list(result.misinformative.values()))
    return [(r"informative $\pi^+$", plus), (r"misinformative $\pi^-$", minus)]


def _renderer(fig):
    """A renderer to measure text extents with, whatever the backend: Agg canvases (and the interactive ones built on
    Agg) keep one; a vector backend's canvas (SVG, PDF, PGF, Cairo) has none, and matplotlib makes one by a dry-run
    draw."""
    get = getattr(fig.canvas, "get_renderer", None)
    return get() if get is not None else fig._get_renderer()


def _axes_list(ax, n_panels: int, panels: str = "") -> list:
    """The ``ax=`` argument of a plot of ``n_panels`` panels (named ``panels``) as a list of Axes of one figure."""
    from matplotlib.axes import Axes

    if isinstance(ax, Axes):
        axes = [ax]
    elif isinstance(ax, np.ndarray):  # what plt.subplots returns
        axes = list(ax.ravel())
    elif isinstance(ax, Sequence) and not isinstance(ax, str):
        axes = list(ax)
    else:
        axes = None
    if axes is None or len(axes) != n_panels or not all(isinstance(a, Axes) for a in axes):
        what = f" ({panels})" if panels else ""
        need = "one matplotlib Axes" if n_panels == 1 else f"a sequence of {n_panels} matplotlib Axes{what}"
        raise TypeError(f"ax must be {need} for this kind of plot, or None for a new figure; got {ax!r}")
    if len({id(a.figure) for a in axes}) != 1:
        raise ValueError("the axes in ax must belong to one figure")
    return axes


def _figure_arg(fig):
    """The ``fig=`` argument of a grid of panels: an empty matplotlib Figure or SubFigure."""
    from matplotlib.figure import FigureBase

    if not isinstance(fig, FigureBase):
        raise TypeError(
            f"fig must be a matplotlib Figure or SubFigure to draw the panels into, or None for a new figure; "
            f"got {type(fig).__name__}"
        )
    if fig.axes:
        raise ValueError(
            f"fig already holds {len(fig.axes)} axes and the panels would cover them; give an empty figure, "
            "a SubFigure (fig.subfigures()) or None"
        )
    return fig


def _path_arg(path):
    """The ``path=`` argument of a plot that can save itself: None, or a file in an existing folder whose suffix
    (if any) is a format matplotlib writes."""
    if path is None:
        return None
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file name (str or path), or None for no file; got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path {str(path)!r} is a folder; name a file in it, e.g. {str(path / 'figure.png')!r}")
    if not path.name or not path.parent.is_dir():
        raise ValueError(f"path {str(path)!r}: the folder {str(path.parent)!r} does not exist; create it first")
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix and path.suffix[1:].lower() not in formats:
        raise ValueError(
            f"path {str(path)!r}: matplotlib cannot write {path.suffix!r} files; use one of "
            + ", ".join(f".{k}" for k in sorted(formats))
        )
    return path


# ----------------------------------------------------------------------------------------------------------------------
# labels
def atom_label(name: str, source_names: Sequence[str] | None = None, *, wrap: int = 28) -> str:
    """An atom's name in the data's source names: ``"{1}{23}"`` with ``("bmi", "age", "sex")`` is ``"{bmi}{age,sex}"``.

    Parameters
    ----------
    name : str
        Canonical antichain name (:func:`pidlearn.lattice.antichain_name`), e.g. ``"{1}{23}"``.
    source_names : sequence of str, optional
        Name of source ``i`` at position ``i - 1``; without it the numbers are kept.
    wrap : int, default 28
        The source sets go on several lines (whole sets only) when the name is longer than this many characters.

    Returns
    -------
    str
    """
    from pidlearn.lattice import parse_name

    sets = parse_name(name)
    if source_names is None:
        parts = ["{" + "".join(str(i) for i in s) + "}" for s in sets]
    else:
        parts = ["{" + ",".join(source_names[i - 1] for i in s) + "}" for s in sets]
    lines = [""]
    for part in parts:
        if lines[-1] and len(lines[-1]) + len(part) > wrap:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def _fmt(v: float, digits: int) -> str:
    return f"{round(float(v), digits) + 0.0:.{digits}f}"  # no "-0.000"


def _text_colour(rgba) -> str:
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def _norm(panels):
    from matplotlib.colors import Normalize

    m = max(float(np.max(np.abs(v))) for _, v in panels)
    m = m if m > 0 else 1.0
    return Normalize(-m, m)


# ----------------------------------------------------------------------------------------------------------------------
# Hasse layout
def _levels(lat) -> list[list[int]]:
    """Nodes of each rank, ordered by barycentre sweeps (the order with the fewest edge crossings seen)."""
    levels = [list(np.flatnonzero(lat.rank == r)) for r in range(int(lat.rank.max()) + 1)]
    down: dict[int, list[int]] = {i: [] for i in range(lat.n_atoms)}
    up: dict[int, list[int]] = {i: [] for i in range(lat.n_atoms)}
    for lo, hi in lat.covers:
        down[hi].append(lo)
        up[lo].append(hi)

    def place(lvls):
        return {i: (j + 0.5) / len(lv) for lv in lvls for j, i in enumerate(lv)}

    def crossings(lvls):
        pos = place(lvls)
        edges = [(pos[lo], pos[hi], lat.rank[lo]) for lo, hi in lat.covers]
        return sum(1 for (a, b, r), (c, d, s) in itertools.combinations(edges, 2) if r == s and (a - c) * (b - d) < 0)

    best, best_x = [lv[:] for lv in levels], crossings(levels)
    for sweep in range(4):
        pos = place(levels)
        ranks = range(1, len(levels)) if sweep % 2 == 0 else range(len(levels) - 2, -1, -1)
        for r in ranks:
            nbr = down if sweep % 2 == 0 else up
            levels[r].sort(key=lambda i: (np.mean([pos[k] for k in nbr[i]]), i))
            pos = place(levels)
        x = crossings(levels)
        if x < best_x:
            best, best_x = [lv[:] for lv in levels], x
    return best


def _spread(widths, total: float, gap: float) -> list[float]:
    """Centres of boxes of ``widths`` in ``[0, total]``: evenly spaced, pushed apart where they would overlap."""
    k = len(widths)
    c = [total * (j + 0.5) / k for j in range(k)]
    c[0] = max(c[0], widths[0] / 2)
    for j in range(1, k):
        c[j] = max(c[j], c[j - 1] + (widths[j - 1] + widths[j]) / 2 + gap)
    c[-1] = min(c[-1], total - widths[-1] / 2)
    for j in range(k - 2, -1, -1):
        c[j] = min(c[j], c[j + 1] - (widths[j] + widths[j + 1]) / 2 - gap)
    return c


def _measure(texts, renderer, pad_px):
    """Node box sizes (pixels) around each text."""
    ext = [t.get_window_extent(renderer) for t in texts]
    return np.array([e.width + 2 * pad_px for e in ext]), np.array([e.height + 2 * pad_px for e in ext])


def _content_size(levels, w, h, gap_x, gap_y, min_width):
    """Width and height (pixels) of a diagram whose ranks are rows as tall as their tallest node."""
    width = max(min_width, max(sum(w[i] for i in lv) + gap_x * (len(lv) - 1) for lv in levels))
    return width, sum(float(max(h[i] for i in lv)) for lv in levels) + (len(levels) - 1) * gap_y


def plot_lattice(
    result,
    *,
    ax=None,
    kind: str = "atoms",
    source_names: Sequence[str] | None = None,
    digits: int = 3,
    fontsize: float = 9.0,
    cmap: str = "RdBu",
    title: str | None = None,
    max_bars: int = 40,
):
    """Draw a PID result on the Hasse diagram of its redundancy lattice.

    Each atom Π(α) is a node at the rank of its antichain α (bottom ``{1}{2}..{n}`` = full redundancy, top
    ``{12..n}`` = full synergy), joined to the atoms it covers; its colour is its value on a diverging colour map
    centred at 0 (one colour bar) and its label the antichain and the value. With ``kind="plus_minus"`` two diagrams
    side by side show the informative and misinformative parts of SxPID, ``Π(α) = Π⁺(α) − Π⁻(α)`` (Makkeh,
    Gutknecht & Wibral 2021), on one colour scale. Labels never overlap: their extents are measured with the
    renderer, and the figure is made large enough (``ax=None``) or the font small enough (a given ``ax``).

    Results of four or more sources (166 and 7579 atoms) are drawn as the bar chart of :func:`plot_atoms`.

    Parameters
    ----------
    result : PIDResult
        A decomposition, e.g. from :func:`pidlearn.sxpid`.
    ax : matplotlib Axes, or a sequence of two Axes for ``kind="plus_minus"``, optional
        Where to draw; a new figure (sized to the diagram) when omitted. The colour bar takes space from them.
    kind : {"atoms", "plus_minus"}, default "atoms"
        The atoms Π, or Π⁺ and Π⁻ side by side (SxPID results only).
    source_names : sequence of str, optional
        One name per source, in the order of the sources (e.g. a DataFrame's columns): ``{1}{23}`` is labelled
        ``{bmi}{age,sex}``. Default: the result's ``source_names`` attribute if it has one, else the numbers.
    digits : int, default 3
        Decimals of the printed values.
    fontsize : float, default 9
        Label font size in points (the largest used; smaller when a given ``ax`` is too small).
    cmap : str, default "RdBu"
        A diverging matplotlib colour map (red negative, blue positive).
    title : str, optional
        Title of the (first) panel; default names the measure and ``I(T;S)``.
    max_bars : int, default 40
        For four and more sources: the number of largest atoms :func:`plot_atoms` shows.

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes, or a tuple of two Axes (π⁺, π⁻) for ``kind="plus_minus"``

    Raises
    ------
    TypeError
        ``result`` is not a :class:`~pidlearn.PIDResult`, ``ax`` is not (a pair of) Axes, ``source_names`` is a string.
    ValueError
        Unknown ``kind``; ``"plus_minus"`` for a measure without the split; ``source_names`` of the wrong length or
        with repeats; ``digits`` or ``fontsize`` out of range.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from pidlearn import sxpid_from_pmf
    >>> from pidlearn.bench.tasks import gate_pmf
    >>> from pidlearn.plotting import plot_lattice
    >>> fig, ax = plot_lattice(sxpid_from_pmf(gate_pmf(lambda a, b: a ^ b, 2)), source_names=["x", "y"])
    >>> sorted(t.get_text().replace("\\n", " ") for t in ax.texts)
    ['{x,y} 0.415', '{x} 0.585', '{x}{y} -0.585', '{y} 0.585']
    """
    names = _check(result, kind, source_names, digits, fontsize)
    if result.n_sources > MAX_HASSE_SOURCES:
        return plot_atoms(
            result, ax=ax, kind=kind, source_names=names, max_bars=max_bars, digits=digits, cmap=cmap, title=title
        )
    from pidlearn.lattice import lattice

    lat = lattice(result.n_sources)
    if set(lat.names) != set(result.atom_names):
        raise ValueError(
            f"the result's atoms are not those of the {result.n_sources}-source lattice; use plot_atoms for it"
        )
    plt = _pyplot()
    from matplotlib.cm import ScalarMappable
    from matplotlib.patches import FancyBboxPatch

    panels = _panels(result, kind)
    where = {name: i for i, name in enumerate(result.atom_names)}
    order = [where[name] for name in lat.names]  # result value index of each lattice node
    norm = _norm(panels)
    colours = plt.get_cmap(cmap)
    own = ax is None
    if own:
        fig = plt.figure()
        axes = [fig.add_axes((0.1 + 0.45 * k, 0.1, 0.4, 0.8)) for k in range(len(panels))]
    else:
        axes = _axes_list(ax, len(panels), "π⁺, π⁻")
        fig = axes[0].figure
    levels = _levels(lat)
    labels = [atom_label(name, names) for name in lat.names]
    texts = []
    for a, (_, vals) in zip(axes, panels, strict=True):
        a.set_axis_off()
        row = []
        for node, label in enumerate(labels):
            v = vals[order[node]]
            row.append(
                a.text(
                    0,
                    0,
                    f"{label}\n{_fmt(v, digits)}",
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color=_text_colour(colours(norm(v))),
                    zorder=3,
                    linespacing=1.15,
                )
            )
        texts.append(row)
    unit = result.unit
    head = title or f"{result.measure} PID, I(T;S) = {_fmt(result.mutual_information, digits)} {unit}"
    titles = [head] if kind == "atoms" else [f"{head}\n{t}" if k == 0 else f"\n{t}" for k, (t, _) in enumerate(panels)]
    for a, t in zip(axes, titles, strict=True):
        a.set_title(t, fontsize=fontsize + 1, pad=10)
    sm = ScalarMappable(norm=norm, cmap=colours)
    cb_label = f"atom ({unit})" if kind == "atoms" else rf"$\pi^+$, $\pi^-$ ({unit})"
    if not own:  # the colour bar takes its space before the axes are measured
        fig.colorbar(sm, ax=axes if len(axes) > 1 else axes[0], label=cb_label, shrink=0.9)
    renderer = _renderer(fig)
    dpi = fig.dpi
    size = fontsize
    for _ in range(8):
        if not own and fig.get_layout_engine() is not None:
            fig.draw_without_rendering()  # let a constrained/tight layout set the axes' size first
        pad = _PAD * size * dpi / 72
        w, h = _measure(texts[0], renderer, pad)
        for row in texts[1:]:
            w2, h2 = _measure(row, renderer, pad)
            w, h = np.maximum(w, w2), np.maximum(h, h2)
        gap_x, gap_y = 1.2 * size * dpi / 72, 2.5 * size * dpi / 72
        if own:  # the figure is made to fit: at least as wide as the titles, 3 inches in all
            title_w = max(a.title.get_window_extent(renderer).width for a in axes)
            need_w, need_h = _content_size(levels, w, h, gap_x, gap_y, max(title_w, 3.0 * dpi / len(panels)))
            break
        need_w, need_h = _content_size(levels, w, h, gap_x, gap_y, 0.0)
        boxes = [a.get_window_extent(renderer) for a in axes]
        scale = min(min(b.width for b in boxes) / need_w, min(b.height for b in boxes) / need_h)
        if scale >= 1:
            break
        if size <= _MIN_FONT:
            warnings.warn(
                f"the lattice does not fit into the given axes even at {_MIN_FONT:g} pt and its labels overlap; "
                f"give an axes of at least {need_w / dpi:.1f} x {need_h / dpi:.1f} inches, or ax=None",
                stacklevel=2,
            )
            break
        size = max(_MIN_FONT, size * scale * 0.97)
        for a, row in zip(axes, texts, strict=True):
            a.title.set_fontsize(size + 1)
            for t in row:
                t.set_fontsize(size)
    if own:
        margin, sep, cbar = 0.15 * dpi, 0.35 * dpi, 0.95 * dpi
        title_h = max(a.title.get_window_extent(renderer).height for a in axes) + 0.2 * dpi
        fig_w = 2 * margin + len(panels) * need_w + (len(panels) - 1) * sep + cbar
        fig_h = 2 * margin + need_h + title_h
        fig.set_size_inches(fig_w / dpi, fig_h / dpi)
        for k, a in enumerate(axes):
            left = margin + k * (need_w + sep)
            a.set_position((left / fig_w, margin / fig_h, need_w / fig_w, need_h / fig_h))
        cax = fig.add_axes(((fig_w - cbar + 0.1 * dpi) / fig_w, margin / fig_h, 0.12 * dpi / fig_w, need_h / fig_h))
        fig.colorbar(sm, cax=cax, label=cb_label)
    for a, row, (_, vals) in zip(axes, texts, panels, strict=True):
        box = a.get_window_extent(renderer)
        width, height = box.width, box.height
        a.set_xlim(0, width)
        a.set_ylim(0, height)
        x0 = (width - need_w) / 2
        y0 = (height - need_h) / 2
        centre, bottom = {}, y0
        for lv in levels:
            xs = _spread([w[i] for i in lv], need_w, gap_x)
            row_h = float(max(h[i] for i in lv))
            for i, x in zip(lv, xs, strict=True):
                centre[i] = (x0 + x, bottom + row_h / 2)
            bottom += row_h + gap_y
        for lo, hi in lat.covers:
            (xa, ya), (xb, yb) = centre[lo], centre[hi]
            a.plot([xa, xb], [ya, yb], color="0.6", lw=0.8, zorder=1)
        for node, t in enumerate(row):
            x, y = centre[node]
            t.set_position((x, y))
            v = vals[order[node]]
            a.add_patch(
                FancyBboxPatch(
                    (x - w[node] / 2, y - h[node] / 2),
                    w[node],
                    h[node],
                    zorder=2,
                    lw=0.6,
                    ec="0.35",
                    fc=colours(norm(v)),
                    boxstyle=f"round,pad=0,rounding_size={0.3 * size * dpi / 72:.2f}",
                )
            )
    return fig, (axes[0] if len(axes) == 1 else tuple(axes))


# ----------------------------------------------------------------------------------------------------------------------
# bar chart
def _fit_x(ax, texts) -> None:
    """Widen the x-limits until every text (value labels at the bar ends) lies inside the axes."""
    renderer = _renderer(ax.figure)
    margin = 4 * ax.figure.dpi / 72  # 4 pt between a label and the axes' edge (the tick labels beyond it)
    for _ in range(4):
        box = ax.get_window_extent(renderer)
        ext = [t.get_window_extent(renderer) for t in texts]
        left = max([0.0, *(box.x0 + margin - e.x0 for e in ext)])
        right = max([0.0, *(e.x1 + margin - box.x1 for e in ext)])
        if left <= 0.5 and right <= 0.5:
            return
        x0, x1 = ax.get_xlim()
        per_px = (x1 - x0) / box.width
        ax.set_xlim(x0 - 1.1 * left * per_px, x1 + 1.1 * right * per_px)


def plot_atoms(
    result,
    *,
    ax=None,
    kind: str = "atoms",
    source_names: Sequence[str] | None = None,
    max_bars: int = 40,
    digits: int = 3,
    fontsize: float = 8.0,
    cmap: str = "RdBu",
    title: str | None = None,
):
    """Draw the atoms as a compact horizontal bar chart: the ``max_bars`` largest ``|Π(α)|``, largest on top.

    Bars are coloured by value on the diverging colour map of :func:`plot_lattice` and carry their value; with
    ``kind="plus_minus"`` each atom has two bars, Π⁺(α) and Π⁻(α) (SxPID; chosen by the largest ``Π⁺ + Π⁻``).
    Readable for any number of sources (the 4-source lattice has 166 atoms, the 5-source one 7579).

    Parameters
    ----------
    result : PIDResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure whose height fits the bars when omitted.
    kind : {"atoms", "plus_minus"}, default "atoms"
    source_names : sequence of str, optional
        One name per source (see :func:`plot_lattice`).
    max_bars : int, default 40
        Number of atoms shown (the rest are the smallest; their count is given under the axis).
    digits, fontsize, cmap, title
        As in :func:`plot_lattice`.

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        As :func:`plot_lattice`; ``max_bars`` not a positive int.
    """
    names = _check(result, kind, source_names, digits, fontsize)
    if isinstance(max_bars, bool) or not isinstance(max_bars, numbers.Integral) or max_bars < 1:
        raise ValueError(f"max_bars must be a positive int, got {max_bars!r}")
    plt = _pyplot()
    panels = _panels(result, kind)
    norm = _norm(panels)
    colours = plt.get_cmap(cmap)
    size = np.abs(panels[0][1]) if kind == "atoms" else panels[0][1] + panels[1][1]
    top = np.argsort(-np.abs(size), kind="stable")[:max_bars][::-1]
    n_rows = len(top)
    per_row = 1 if kind == "atoms" else 2
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.2 * per_row * fontsize / 8 * n_rows))
    else:
        ax = _axes_list(ax, 1)[0]
        fig = ax.figure
        row_pt = ax.get_window_extent(_renderer(fig)).height / fig.dpi * 72 / (per_row * n_rows)
        fontsize = max(_MIN_FONT, min(fontsize, row_pt / 1.3))  # one line of text per bar
    labels = [atom_label(result.atom_names[i], names, wrap=10**6) for i in top]
    height = 0.8 / per_row
    for k, (_, vals) in enumerate(panels):
        y = np.arange(n_rows) + (0 if per_row == 1 else (0.2 if k == 0 else -0.2))
        v = vals[top]
        ax.barh(y, v, height=height, color=colours(norm(v)), edgecolor="0.35", lw=0.5, hatch=None if k == 0 else "//")
        for yy, vv in zip(y, v, strict=True):
            ax.annotate(
                _fmt(vv, digits),
                (vv, yy),
                xytext=(3 if vv >= 0 else -3, 0),
                textcoords="offset points",
                ha="left" if vv >= 0 else "right",
                va="center",
                fontsize=fontsize - 1,
            )
    ax.set_yticks(np.arange(n_rows))
    ax.set_yticklabels(labels, fontsize=fontsize)
    ax.set_ylim(-0.6, n_rows - 0.4)
    ax.axvline(0, color="0.4", lw=0.8)
    lo = min(0.0, *(float(vals[top].min()) for _, vals in panels))
    hi = max(0.0, *(float(vals[top].max()) for _, vals in panels))
    span = (hi - lo) or 1.0
    ax.set_xlim(lo - (0.02 * span if lo < 0 else 0), hi + 0.02 * span)
    ax.tick_params(axis="x", labelsize=fontsize)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    xlabel = f"atom ({result.unit})" if kind == "atoms" else rf"$\pi^+$ (plain), $\pi^-$ (hatched), {result.unit}"
    if n_rows < len(result):
        xlabel += f"; {len(result) - n_rows} smaller atoms not shown"
    ax.set_xlabel(xlabel, fontsize=fontsize)
    ax.set_title(
        title or f"{result.measure} PID, I(T;S) = {_fmt(result.mutual_information, digits)} {result.unit}",
        fontsize=fontsize + 1,
    )
    if own:
        fig.tight_layout()
    _fit_x(ax, ax.texts)  # room for the value labels
    return fig, ax
