"""Figures: the PID lattice and bar chart (pidlearn.plotting), the benchmark panels and the training histories.

Every figure is checked for what a reader needs: the values printed on it are the result's values, no two pieces of
text overlap and all text lies inside the figure (bounding boxes from the Agg renderer), a colour bar exists, and
the functions return ``(Figure, Axes)`` and draw into a given ``ax``. ``test_plot_contract`` enumerates every public
plot function and method of pidlearn and checks the one contract they share (see :mod:`pidlearn.plotting`).
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pidlearn import PIDResult, sxpid, sxpid_from_pmf  # noqa: E402
from pidlearn.backends import plots as backend_plots  # noqa: E402
from pidlearn.bench import plots as bench_plots  # noqa: E402
from pidlearn.bench.tasks import gate_pmf  # noqa: E402
from pidlearn.lattice import lattice  # noqa: E402
from pidlearn.plotting import atom_label, plot_atoms, plot_lattice  # noqa: E402

GATES = {
    "xor": (lambda a, b: a ^ b, 2),
    "and": (lambda a, b: a & b, 2),
    "copy": (lambda a, b: 2 * a + b, 2),
    "parity3": (lambda a, b, c: a ^ b ^ c, 3),
    "and3": (lambda a, b, c: a & b & c, 3),
}


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _gate(name):
    fn, n = GATES[name]
    return sxpid_from_pmf(gate_pmf(fn, n))


def _ticks_in_view(axis, coord):
    """Tick labels the renderer draws (the locator also names ticks outside the view limits)."""
    lo, hi = sorted(axis.get_view_interval())
    eps = 1e-9 * max(1.0, abs(hi - lo))
    return [t for t in axis.get_ticklabels() if lo - eps <= t.get_position()[coord] <= hi + eps]


def _drawn_texts(fig):
    """Every non-empty text the renderer draws: axes texts, titles, axis labels and visible tick labels."""
    fig.canvas.draw()
    out = [t for t in fig.texts if t.get_visible() and t.get_text().strip()]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        cand = [*ax.texts, ax.title, ax._left_title, ax._right_title]
        if ax.axison:
            cand += [ax.xaxis.label, ax.yaxis.label, *_ticks_in_view(ax.xaxis, 0), *_ticks_in_view(ax.yaxis, 1)]
        leg = ax.get_legend()
        if leg is not None:
            cand += [*leg.get_texts(), leg.get_title()]
        out += [t for t in cand if t.get_visible() and t.get_text().strip()]
    for leg in fig.legends:
        out += [t for t in [*leg.get_texts(), leg.get_title()] if t.get_visible() and t.get_text().strip()]
    return out


def _assert_readable(fig):
    """No two drawn texts intersect, and all lie inside the figure."""
    renderer = fig.canvas.get_renderer()
    texts = _drawn_texts(fig)
    boxes = [t.get_window_extent(renderer) for t in texts]
    whole = fig.bbox
    for t, b in zip(texts, boxes, strict=True):
        assert b.x0 >= whole.x0 - 0.5 and b.y0 >= whole.y0 - 0.5, f"{t.get_text()!r} leaves the figure"
        assert b.x1 <= whole.x1 + 0.5 and b.y1 <= whole.y1 + 0.5, f"{t.get_text()!r} leaves the figure"
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            overlap = min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5
            assert not overlap, f"{texts[i].get_text()!r} overlaps {texts[j].get_text()!r}"
    return texts


def _node_values(ax):
    """``{label without value: value}`` of the nodes of one lattice panel."""
    out = {}
    for t in ax.texts:
        *name, value = t.get_text().split("\n")
        out["".join(name)] = float(value)
    return out


def _assert_nodes_apart(ax):
    """Node boxes (the patches) do not overlap, and each node's text lies inside its box."""
    renderer = ax.figure.canvas.get_renderer()
    boxes = [p.get_window_extent(renderer) for p in ax.patches]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert min(a.x1, b.x1) - max(a.x0, b.x0) <= 0.5 or min(a.y1, b.y1) - max(a.y0, b.y0) <= 0.5
    for t in ax.texts:  # each text inside its own node and clear of every other
        e = t.get_window_extent(renderer)
        hit = [b for b in boxes if min(e.x1, b.x1) - max(e.x0, b.x0) > 0.5 and min(e.y1, b.y1) - max(e.y0, b.y0) > 0.5]
        assert len(hit) == 1, f"{t.get_text()!r} touches {len(hit)} nodes"
        b = hit[0]
        assert b.x0 <= e.x0 + 0.5 and e.x1 <= b.x1 + 0.5 and b.y0 <= e.y0 + 0.5 and e.y1 <= b.y1 + 0.5


@pytest.mark.parametrize("gate", list(GATES))
def test_lattice_of_gates_is_readable_and_exact(gate):
    res = _gate(gate)
    fig, ax = plot_lattice(res)
    assert isinstance(fig, Figure) and isinstance(ax, Axes) and ax.figure is fig
    assert len(ax.patches) == len(res) == len(ax.texts)  # one node per atom
    digits = 3
    assert _node_values(ax) == pytest.approx(res.atoms, abs=0.5 * 10**-digits + 1e-12)
    assert sorted(_node_values(ax)) == sorted(res.atom_names)
    cbar = [a for a in fig.axes if a is not ax]
    assert len(cbar) == 1 and cbar[0].get_ylabel() == "atom (bits)"
    lo, hi = cbar[0].get_ylim()
    assert lo == pytest.approx(-hi) and hi == pytest.approx(max(abs(v) for v in res.atoms.values()))  # centred at 0
    _assert_readable(fig)
    _assert_nodes_apart(ax)


def test_lattice_nodes_sit_on_ranks_and_edges_are_the_covers():
    res = _gate("and3")
    lat = lattice(3)
    _, ax = plot_lattice(res)
    ys = {}
    for t in ax.texts:
        name = "".join(t.get_text().split("\n")[:-1])
        ys[name] = t.get_position()[1]
    for a, b in lat.covers:  # the upper cover is drawn higher
        assert ys[lat.names[b]] > ys[lat.names[a]]
    for r in range(int(lat.rank.max()) + 1):  # one height per rank
        assert len({round(ys[lat.names[i]], 6) for i in np.flatnonzero(lat.rank == r)}) == 1
    assert len(ax.lines) == len(lat.covers)


def test_colour_is_value_on_a_diverging_map_centred_at_zero():
    res = _gate("xor")
    _, ax = plot_lattice(res, cmap="RdBu")
    cmap = plt.get_cmap("RdBu")
    m = max(abs(v) for v in res.atoms.values())
    for t, patch in zip(ax.texts, ax.patches, strict=True):
        v = float(t.get_text().split("\n")[-1])
        assert patch.get_facecolor() == pytest.approx(cmap(0.5 + 0.5 * v / m), abs=0.01)


def test_plus_minus_side_by_side():
    res = _gate("and")
    fig, (ax_p, ax_m) = plot_lattice(res, kind="plus_minus")
    assert ax_p.figure is fig and ax_m.figure is fig
    assert _node_values(ax_p) == pytest.approx(res.informative, abs=5e-4)
    assert _node_values(ax_m) == pytest.approx(res.misinformative, abs=5e-4)
    assert "pi^+" in ax_p.get_title() and "pi^-" in ax_m.get_title()
    assert len(fig.axes) == 3  # two panels, one shared colour bar
    _assert_readable(fig)
    for a in (ax_p, ax_m):
        _assert_nodes_apart(a)


def test_given_axes_are_used_and_the_font_shrinks_to_fit():
    fig, ax = plt.subplots(figsize=(5, 4))
    res = _gate("parity3")
    fig2, ax2 = plot_lattice(res, ax=ax, fontsize=12)
    assert fig2 is fig and ax2 is ax
    assert fig.get_size_inches() == pytest.approx((5, 4))
    assert max(t.get_fontsize() for t in ax.texts) < 12
    _assert_readable(fig)
    _assert_nodes_apart(ax)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5), layout="constrained")  # the layout runs before the measuring
    _, pair = plot_lattice(res, ax=axes, kind="plus_minus")
    assert pair == tuple(axes)
    _assert_readable(fig)
    for a in pair:
        _assert_nodes_apart(a)


def test_axes_too_small_warn():
    fig, ax = plt.subplots(figsize=(1.2, 1.0))
    with pytest.warns(UserWarning, match="does not fit"):
        plot_lattice(_gate("and3"), ax=ax)
    with pytest.raises(AssertionError, match=r"leaves the figure|overlaps"):  # the check of the other tests bites
        _assert_readable(fig)
    fig, ax = plt.subplots()
    ax.text(0.5, 0.5, "{1}{2}")
    ax.text(0.52, 0.5, "{12}")
    with pytest.raises(AssertionError, match="overlaps"):
        _assert_readable(fig)


def test_source_names_from_the_data():
    assert atom_label("{1}{23}", ("bmi", "age", "sex")) == "{bmi}{age,sex}"
    assert atom_label("{1}{23}") == "{1}{23}"
    wrapped = "{aaaaaaaa,bbbbbbbb}\n{aaaaaaaa,cccccccc}\n{bbbbbbbb,cccccccc}"  # one set per line past 28 chars
    assert atom_label("{12}{13}{23}", ("a" * 8, "b" * 8, "c" * 8), wrap=28) == wrapped
    res = _gate("xor")
    _, ax = plot_lattice(res, source_names=["bmi", "age"])
    assert set(_node_values(ax)) == {"{bmi}{age}", "{bmi}", "{age}", "{bmi,age}"}


def test_real_data_example_wine():
    """Three discretised wine measurements (scikit-learn's bundled data), named by their columns."""
    datasets = pytest.importorskip("sklearn.datasets")
    from pidlearn import discretise

    data = datasets.load_wine()
    cols = ["alcohol", "flavanoids", "color_intensity"]
    idx = [list(data.feature_names).index(c) for c in cols]
    res = sxpid(data.target, discretise(data.data[:, idx], 3))
    fig, ax = plot_lattice(res, source_names=cols)
    values = _node_values(ax)
    expected = {atom_label(k, cols, wrap=10**6): v for k, v in res.atoms.items()}
    assert values == pytest.approx(expected, abs=5e-4)
    assert any(v < -0.05 for v in values.values()) and any(v > 0.05 for v in values.values())
    _assert_readable(fig)
    _assert_nodes_apart(ax)


def _four_sources():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, (4000, 4))
    return sxpid((s[:, 0] & s[:, 1]) ^ (s[:, 2] | s[:, 3]), s)


def test_four_sources_fall_back_to_the_bar_chart():
    res = _four_sources()
    fig, ax = plot_lattice(res, max_bars=20)
    assert len(ax.patches) == 20
    shown = [t.get_text() for t in ax.get_yticklabels()]
    top = sorted(res.atoms, key=lambda k: -abs(res.atoms[k]))[:20]
    assert set(shown) == set(top) and shown[-1] == top[0]  # largest on top
    values = sorted(float(t.get_text()) for t in ax.texts)
    assert values == pytest.approx(sorted(res.atoms[k] for k in top), abs=5e-4)
    assert "146 smaller atoms not shown" in ax.get_xlabel()
    _assert_readable(fig)


def test_bar_chart_into_given_axes_and_plus_minus():
    res = _gate("and3")
    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    fig2, ax2 = plot_atoms(res, ax=ax, source_names=["x", "y", "z"])
    assert fig2 is fig and ax2 is ax and len(ax.patches) == 18
    assert "{x,y,z}" in [t.get_text() for t in ax.get_yticklabels()]
    _assert_readable(fig)
    fig, ax = plot_atoms(res, kind="plus_minus", max_bars=6)
    assert len(ax.patches) == 12
    _assert_readable(fig)


def test_result_plot_delegates():
    res = _gate("and3")
    fig, ax = res.plot()
    assert isinstance(fig, Figure) and isinstance(ax, Axes) and ax.figure is fig
    assert ax.get_title().startswith("sx PID") and len(ax.patches) == 18
    _, ax = res.plot(source_names=["a", "b", "c"])
    assert "{a,b,c}" in _node_values(ax)
    fig, pair = res.plot(kind="plus_minus")
    assert len(pair) == 2 and all(a.figure is fig for a in pair)
    _, ax = _four_sources().plot(max_bars=12)
    assert len(ax.patches) == 12


def test_bad_input_is_named():
    res = _gate("xor")
    with pytest.raises(TypeError, match="result must be a PIDResult"):
        plot_lattice({"{1}": 1.0})
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_lattice(res, kind="bars")
    with pytest.raises(ValueError, match="source_names has 3 names"):
        plot_lattice(res, source_names=["a", "b", "c"])
    with pytest.raises(TypeError, match="source_names must be a sequence"):
        plot_lattice(res, source_names="ab")
    with pytest.raises(ValueError, match="distinct"):
        plot_lattice(res, source_names=["a", "a"])
    with pytest.raises(TypeError, match="ax must be one matplotlib Axes"):
        plot_lattice(res, ax="left")
    with pytest.raises(TypeError, match="sequence of 2 matplotlib Axes"):
        plot_lattice(res, kind="plus_minus", ax=plt.subplots()[1])
    with pytest.raises(ValueError, match="digits"):
        plot_lattice(res, digits=-1)
    with pytest.raises(ValueError, match="max_bars"):
        plot_atoms(res, max_bars=0)
    plain = PIDResult(["{1}{2}", "{1}", "{2}", "{12}"], [0.1, 0.2, 0.3, 0.4], mutual_information=1.0, n_sources=2)
    with pytest.raises(ValueError, match=r"plus_minus.*use kind='atoms'"):
        plot_lattice(plain, kind="plus_minus")
    _, ax = plot_lattice(plain)  # a measure without the split draws its atoms
    assert _node_values(ax) == pytest.approx(plain.atoms)


def test_import_pidlearn_does_not_import_matplotlib():
    code = (
        "import sys, pidlearn, pidlearn.plotting, pidlearn.results, pidlearn.bench.plots, pidlearn.backends.plots, "
        "pidlearn.higher_order; "
        "assert 'matplotlib' not in sys.modules"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


# ----------------------------------------------------------------------------------------------------------------------
# benchmark panels and training histories
def _bench_rows():
    rows = []
    kinds = {
        "continuous-mi": (["gauss-1x1", "gauss-2x2"], ["pidlearn-ksg1", "pidlearn-ksg2", "npeet-ksg", "sklearn-ksg"]),
        "discrete-mi": (["channel-a4"], ["pidlearn-plugin", "dit-plugin", "sklearn-plugin"]),
        "discrete-pid": (["xor", "and"], ["pidlearn-sxpid", "idtxl-sxpid", "dit-sxpid"]),
    }
    for kind, (tasks, ests) in kinds.items():
        for task in tasks:
            for est in ests:
                for n in (100, 1000):
                    for seed in (0, 1):
                        est_value = 0.5 + 0.01 * seed  # identical estimators give identical values
                        rows.append(
                            {"task": task, "kind": kind, "estimator": est, "n": n, "seed": seed, "truth": 0.5,
                             "estimate": est_value, "seconds": 1e-3 * n, "atom_error": 0.01 if "pid" in kind else
                             float("nan"), "status": "ok"}
                        )  # fmt: skip
    return rows


def test_bench_estimates_one_legend_per_kind_with_distinct_markers():
    from pidlearn.bench.plots import plot_estimates

    fig, axes = plot_estimates(_bench_rows())
    assert [a.get_title() for a in axes] == ["gauss-1x1", "gauss-2x2", "channel-a4", "xor", "and"]
    legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    titles = [leg.get_title().get_text() for leg in legends]
    assert len(legends) == 3 and all(any(k in t for t in titles) for k in ("continuous MI", "discrete MI", "PID"))
    for leg in legends:
        labels = [t.get_text() for t in leg.get_texts()]
        assert "truth" in labels
        handles = [h for h, lab in zip(leg.legend_handles, labels, strict=True) if lab != "truth"]
        styles = [(h.get_marker(), h.get_linestyle()) for h in handles]
        assert len(set(styles)) == len(styles), labels  # each estimator of a kind looks different
    pid = next(leg for leg in legends if "PID" in leg.get_title().get_text())
    assert {t.get_text() for t in pid.get_texts()} == {"pidlearn-sxpid", "idtxl-sxpid", "dit-sxpid", "truth"}
    _assert_readable(fig)


def test_bench_runtime_and_atom_errors_are_readable():
    from pidlearn.bench.plots import plot_atom_errors, plot_runtime

    rows = _bench_rows()
    fig, axes = plot_runtime(rows)
    assert [a.get_title().split(":")[0] for a in axes] == ["continuous-mi", "discrete-mi", "discrete-pid"]
    _assert_readable(fig)
    fig, axes = plot_atom_errors(rows)
    assert [a.get_title().split(":")[0] for a in axes] == ["xor", "and"]
    _assert_readable(fig)
    no_pid = [r for r in rows if r["kind"] != "discrete-pid"]
    with pytest.raises(ValueError, match="no successful row has an atom error"):
        plot_atom_errors(no_pid)
    failed = [{**r, "status": "error"} for r in rows]
    with pytest.raises(ValueError, match="nothing to draw"):
        plot_runtime(failed)


def test_bench_task_panel_takes_ax():
    from pidlearn.bench.plots import plot_task_estimates

    fig, ax = plt.subplots()
    fig2, ax2 = plot_task_estimates(_bench_rows(), "xor", ax=ax)
    assert fig2 is fig and ax2 is ax and ax.get_title().startswith("xor")
    with pytest.raises(ValueError, match="no rows of task 'nope'"):
        plot_task_estimates(_bench_rows(), "nope")


def _history(n_epochs):
    names = [*lattice(3).names, "H_res"]
    return [
        {
            "epoch": e,
            "accuracy": {"train": 0.5 + 0.01 * e, "test": 0.45 + 0.01 * e},
            "atoms": {"hidden": {k: 0.01 * (i + e) for i, k in enumerate(names)}},
        }
        for e in range(1, n_epochs + 1)
    ]


@pytest.mark.parametrize("n_epochs", [3, 10, 25])
def test_training_history_has_integer_epoch_ticks(n_epochs):
    from pidlearn.backends.plots import plot_history, plot_mi_history

    fig, axes = plot_history(_history(n_epochs))
    assert len(axes) == 2 and [a.get_title() for a in axes] == ["accuracy", "hidden atoms"]
    mi = [{"epoch": e, "mi": {"module 1": 0.1 * e, "module 2": 0.05 * e}} for e in range(1, n_epochs + 1)]
    fig2, ax2 = plot_mi_history(mi, n_classes=4)
    for f in (fig, fig2):
        f.canvas.draw()
        for ax in f.axes:
            ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
        _assert_readable(f)
    # the drawn values are the history's: accuracies in per cent, atoms in bits, the log2 C ceiling
    test_line = next(line for line in axes[0].get_lines() if line.get_label() == "test")
    np.testing.assert_allclose(test_line.get_ydata(), [100 * (0.45 + 0.01 * e) for e in range(1, n_epochs + 1)])
    res_line = next(line for line in axes[1].get_lines() if line.get_label() == "H_res")
    np.testing.assert_allclose(res_line.get_ydata(), [0.01 * (18 + e) for e in range(1, n_epochs + 1)])
    ceiling = next(line for line in ax2.get_lines() if line.get_label() == "log2 4")
    assert ceiling.get_ydata()[0] == pytest.approx(2.0)


def test_training_history_saves_to_path_and_refuses_bad_input(tmp_path):
    from pidlearn.backends.plots import plot_history, plot_mi_history

    history = _history(3)
    plot_history(history, tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot_mi_history([{"epoch": 1, "mi": {"m": 0.5}}], str(tmp_path / "mi.svg"))
    assert b"<svg" in (tmp_path / "mi.svg").read_bytes()[:1000]  # the suffix chooses the format
    with pytest.raises(ValueError, match="does not exist"):
        plot_history(history, tmp_path / "missing" / "h.png")
    with pytest.raises(ValueError, match=r"cannot write '\.xyz'"):
        plot_history(history, tmp_path / "h.xyz")
    with pytest.raises(TypeError, match="path must be a file name"):
        plot_history(history, 3)
    with pytest.raises(TypeError, match="history must be a list of records"):
        plot_history({"epoch": 1})
    with pytest.raises(ValueError, match="empty"):
        plot_mi_history([])
    with pytest.raises(ValueError, match=r"history\[1\] must be a dict with an 'epoch'"):
        plot_mi_history([{"epoch": 1}, {"mi": {}}])
    with pytest.raises(ValueError, match=r"history\[2\]\['atoms'\] lacks"):
        plot_history([*history[:2], {"epoch": 3, "atoms": {"hidden": {}}}])
    with pytest.raises(ValueError, match="n_classes must be an int >= 2"):
        plot_mi_history([{"epoch": 1}], n_classes=1)
    with pytest.raises(TypeError, match=r"sequence of 2 matplotlib Axes \(the accuracy panel"):
        plot_history(history, ax=plt.subplots()[1])
    assert not list(tmp_path.glob("*.xyz"))  # refused before anything was drawn or written


# ----------------------------------------------------------------------------------------------------------------------
# one contract for every public plot function and method
def _ho_result():
    from pidlearn.higher_order import multiplets

    x = np.random.default_rng(0).integers(0, 2, (300, 5))
    return multiplets(x, (3, 4))


def _mi_history():
    return [{"epoch": e, "mi": {"module 1": 0.1 * e}} for e in (1, 2, 3)]


#: name -> (draw(**where), how it is told where to draw: ("ax", number of panels) or ("fig", None)).
#: Every public plot function (named plot* in a module's __all__) and every ``plot`` method must have a case here.
CASES = {
    "pidlearn.plotting.plot_lattice": (lambda **w: plot_lattice(_gate("and"), **w), ("ax", 1)),
    "pidlearn.plotting.plot_lattice[plus_minus]": (
        lambda **w: plot_lattice(_gate("and"), kind="plus_minus", **w),
        ("ax", 2),
    ),
    "pidlearn.plotting.plot_atoms": (lambda **w: plot_atoms(_gate("and3"), **w), ("ax", 1)),
    "pidlearn.results.PIDResult.plot": (lambda **w: _gate("xor").plot(**w), ("ax", 1)),
    "pidlearn.results.PIDResult.plot[plus_minus]": (lambda **w: _gate("xor").plot(kind="plus_minus", **w), ("ax", 2)),
    "pidlearn.higher_order.MultipletResult.plot": (lambda **w: _ho_result().plot(**w), ("ax", 2)),
    "pidlearn.backends.plots.plot_history": (
        lambda **w: backend_plots.plot_history(_history(3), **w),
        ("ax", 2),
    ),
    "pidlearn.backends.plots.plot_mi_history": (
        lambda **w: backend_plots.plot_mi_history(_mi_history(), **w),
        ("ax", 1),
    ),
    "pidlearn.bench.plots.plot_task_estimates": (
        lambda **w: bench_plots.plot_task_estimates(_bench_rows(), "xor", **w),
        ("ax", 1),
    ),
    "pidlearn.bench.plots.plot_estimates": (
        lambda **w: bench_plots.plot_estimates(_bench_rows(), **w),
        ("fig", None),
    ),
    "pidlearn.bench.plots.plot_runtime": (
        lambda **w: bench_plots.plot_runtime(_bench_rows(), **w),
        ("fig", None),
    ),
    "pidlearn.bench.plots.plot_atom_errors": (
        lambda **w: bench_plots.plot_atom_errors(_bench_rows(), **w),
        ("fig", None),
    ),
}


def _public_plot_names() -> set[str]:
    """Every public plot function (``plot*`` in ``__all__``) and ``plot`` method of pidlearn's plotting modules and
    result classes."""
    import importlib
    import inspect

    names = set()
    for mod_name in ("pidlearn", "pidlearn.plotting", "pidlearn.results", "pidlearn.higher_order",
                     "pidlearn.backends.plots", "pidlearn.bench.plots"):  # fmt: skip
        mod = importlib.import_module(mod_name)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if inspect.isclass(obj) and callable(getattr(obj, "plot", None)):
                names.add(f"{obj.__module__}.{obj.__qualname__}.plot")
            elif inspect.isfunction(obj) and name.startswith("plot"):
                names.add(f"{obj.__module__}.{name}")
    return names


def test_every_public_plot_has_a_contract_case():
    covered = {name.split("[")[0] for name in CASES}
    missing = _public_plot_names() - covered
    assert not missing, f"public plot functions without a case in CASES: {sorted(missing)}"
    assert "pidlearn.higher_order.MultipletResult.plot" in _public_plot_names()  # the scan sees methods


def _drawn_on(ax) -> bool:
    return ax.has_data() or bool(ax.texts)


def _as_tuple(axes):
    return axes if isinstance(axes, tuple) else (axes,)


@pytest.mark.parametrize("name", list(CASES))
def test_plot_contract(name):
    """A new figure without ``ax``/``fig``; the given axes or figure are used (and returned) otherwise; a wrong one
    is refused with a TypeError/ValueError that names the argument."""
    from matplotlib.figure import FigureBase

    draw, (how, n_panels) = CASES[name]
    fig, axes = draw()
    assert isinstance(fig, Figure)
    panels = _as_tuple(axes)
    assert all(isinstance(a, Axes) and a.figure is fig for a in panels)
    assert all(_drawn_on(a) for a in panels)
    if how == "ax":
        assert len(panels) == n_panels and isinstance(axes, Axes if n_panels == 1 else tuple)
        given_fig, given = plt.subplots(1, n_panels, figsize=(6 * n_panels, 5), squeeze=False, layout="constrained")
        given = list(given[0])
        fig2, axes2 = draw(ax=given[0] if n_panels == 1 else given)
        assert fig2 is given_fig and list(_as_tuple(axes2)) == given
        assert all(_drawn_on(a) for a in given)
        assert given_fig.get_size_inches() == pytest.approx((6 * n_panels, 5))  # a given figure keeps its size
        with pytest.raises(TypeError, match="ax must be"):
            draw(ax="left")
        wrong = plt.subplots(1, n_panels + 1)[1]
        with pytest.raises(TypeError, match=f"ax must be .*{n_panels}|ax must be one matplotlib Axes"):
            draw(ax=list(wrong))
    else:
        given_fig = plt.figure(figsize=(9, 7))
        fig2, axes2 = draw(fig=given_fig)
        assert fig2 is given_fig and len(_as_tuple(axes2)) == len(panels)
        assert all(a in given_fig.axes and _drawn_on(a) for a in axes2)
        assert given_fig.get_size_inches() == pytest.approx((9, 7))
        sub = plt.figure(figsize=(12, 6)).subfigures(1, 2)[1]  # a SubFigure: one part of a larger figure
        fig3, axes3 = draw(fig=sub)
        assert fig3 is sub and isinstance(sub, FigureBase) and all(a in sub.axes for a in axes3)
        with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
            draw(fig="left")
        with pytest.raises(ValueError, match="fig already holds 1 axes"):
            draw(fig=plt.subplots()[0])


def test_plots_leave_the_backend_and_pyplot_alone():
    """No plot function switches matplotlib's backend or closes figures (the command line selects Agg itself)."""
    from pidlearn.backends.plots import plot_history, plot_mi_history
    from pidlearn.bench.plots import plot_estimates

    plt.switch_backend("svg")
    try:
        keep = plt.figure()
        plot_history(_history(2))
        plot_mi_history(_mi_history())
        plot_estimates(_bench_rows())
        _gate("xor").plot()
        _ho_result().plot()
        assert mpl.get_backend() == "svg"
        assert plt.fignum_exists(keep.number) and len(plt.get_fignums()) == 6
    finally:
        plt.switch_backend("agg")


def test_bad_grid_arguments_are_named():
    from pidlearn.bench.plots import plot_estimates

    with pytest.raises(ValueError, match="ncols must be a positive int"):
        plot_estimates(_bench_rows(), ncols=0)
    with pytest.raises(TypeError, match="exclude must be a sequence"):
        plot_estimates(_bench_rows(), exclude="npeet-ksg")
    rows = _bench_rows()
    with pytest.raises(ValueError, match="nothing to draw"):
        plot_estimates(rows, exclude=sorted({r["estimator"] for r in rows}))


def test_labels_round_like_the_values():
    res = _gate("xor")
    _, ax = plot_lattice(res, digits=5)
    for text in (t.get_text() for t in ax.texts):
        assert re.fullmatch(r"-?\d\.\d{5}", text.split("\n")[-1])


@pytest.mark.parametrize("n_vars, top", [(4, 10), (5, 3), (6, 5)])
def test_multiplet_plot_lists_each_multiplet_once(n_vars, top):
    """Fewer multiplets than the two top lists hold: each is drawn once, values ascending (was: listed twice)."""
    from pidlearn.higher_order import multiplets

    x = np.random.default_rng(1).integers(0, 2, (300, n_vars))
    res = multiplets(x, (3, 3))
    _, (_, ax_t) = res.plot(n=top)
    labels = [t.get_text() for t in ax_t.get_yticklabels()]
    assert len(labels) == len(set(labels)) == min(len(res.values), 2 * top)
    widths = [p.get_width() for p in ax_t.patches]
    assert widths == sorted(widths)
    plt.close("all")
