"""The grid runner: tasks × estimators × sample sizes × seeds, serial or on a Dask cluster, resumable.

One *cell* is ``(task, estimator, n, seed)``: draw ``n`` samples of the task with the run's seed, time the
estimator on them (BLAS on one thread, as on Dask's workers; numba kernels keep their threads), and compare with
the truth. Cells are independent, so they run in any order and on any worker;
the rows are returned (and written) in grid order, so a Dask run and a serial run give the same table (all columns
but ``seconds``).

Results go to ``results.csv`` (appended one row per finished cell, so an interrupted run keeps its progress) and
``results.json`` (the whole table, written at the end). A run given an ``out`` folder that already holds results
skips the cells computed there.

Kill-safety: each row is appended with one ``write`` of its whole line, then flushed and ``fsync``-ed; whole-file
rewrites (the final CSV, the JSON) go to a temporary file renamed over the old one. A run killed mid-write can thus
leave at most a torn last line in ``results.csv``; on resume every row is validated (a final newline, the right
number of fields, parseable numbers) and the first invalid row and any after it are dropped with a
``RuntimeWarning`` naming the file and line, and their cells are computed again — never trusted.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pidlearn.bench.batch import single_threaded_blas
from pidlearn.bench.estimators import Estimator, all_estimators, get_estimator
from pidlearn.bench.tasks import Task, all_tasks, get_task

__all__ = [
    "COLUMNS",
    "FULL",
    "QUICK",
    "Cell",
    "Grid",
    "grid_cells",
    "load_results",
    "per_task_markdown",
    "run_cell",
    "run_grid",
    "summarize",
    "summary_markdown",
]

#: Columns of a result row, in file order.
COLUMNS = (
    "task",
    "kind",
    "estimator",
    "package",
    "n",
    "seed",
    "truth",
    "estimate",
    "error",
    "atom_error",
    "seconds",
    "status",
    "message",
    "atoms",
)
_INT = {"n", "seed"}
_FLOAT = {"truth", "estimate", "error", "atom_error", "seconds"}


@dataclass(frozen=True)
class Grid:
    """A benchmark grid: task names, estimator names (``None``: every available one but ``exclude``), sizes, seeds,
    and ``(task, estimator)`` pairs to ``skip``."""

    tasks: tuple
    sizes: tuple
    seeds: tuple
    estimators: tuple | None = None
    exclude: tuple = ()
    skip: tuple = ()

    def resolve(self) -> tuple[list[Task], list[Estimator]]:
        """The tasks and the estimators (those available here) of this grid."""
        tasks = [get_task(t) for t in self.tasks]
        if self.estimators is None:
            ests = [e for e in all_estimators() if e.name not in self.exclude]
        else:
            ests = [get_estimator(e) for e in self.estimators]
        return tasks, ests


#: Under a minute on 2 cores: one task of each family, 2 sizes, 3 seeds, every available estimator but the
#: cubic-cost matrix-based Rényi MI.
QUICK = Grid(
    tasks=(
        "gauss-1x1",
        "halfcube-gauss-1x1",
        "gauss-dense-3x3",
        "gauss-sparse-3x3",
        "student-1x1-dof1",
        "uniform-noise-c0.1",
        "channel-a8",
        "channel-a32",
        "xor",
        "and",
        "random-pmf-2src-a3",
        "parity3",
        "gauss-pid-sum",
    ),
    sizes=(300, 3000),
    seeds=(0, 1, 2),
    estimators=None,
    exclude=("pidlearn-renyi",),
    skip=(("random-pmf-2src-a3", "dit-sxpid"),),  # seconds per cell
)

#: The full grid of the docs: every task, sizes 10² .. 3·10⁴ (capped per estimator), 5 seeds.
FULL = Grid(
    tasks=tuple(t.name for t in all_tasks() if t.name != "gauss-dense-25x25"),
    sizes=(100, 300, 1000, 3000, 10000, 30000),
    seeds=(0, 1, 2, 3, 4),
    estimators=None,
)


@dataclass(frozen=True)
class Cell:
    """One point of the grid."""

    task: Task
    estimator: Estimator
    n: int
    seed: int

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.task.name, self.estimator.name, int(self.n), int(self.seed))


def grid_cells(tasks: Sequence[Task], estimators: Sequence[Estimator], sizes, seeds, skip=()) -> list[Cell]:
    """Every supported ``(task, estimator, n, seed)``, in grid order (task, estimator, n, seed), but the
    ``(task name, estimator name)`` pairs in ``skip``."""
    skip = {tuple(p) for p in skip}
    return [
        Cell(t, e, int(n), int(s))
        for t in tasks
        for e in estimators
        if (t.name, e.name) not in skip
        for n in sizes
        if e.supports(t, int(n))
        for s in seeds
    ]


def _key(row) -> tuple[str, str, int, int]:
    return (row["task"], row["estimator"], int(row["n"]), int(row["seed"]))


# --------------------------------------------------------------------------------------------------------------------
# one cell
# --------------------------------------------------------------------------------------------------------------------
_WARM: set[tuple] = set()


def _warm_up(cell: Cell) -> None:
    """Run the estimator once on a small sample of the task's kind and shape, so that imports, numba's compilation
    or cache load are not timed (numba compiles once per argument type and code path)."""
    key = (cell.estimator.name, cell.task.kind, tuple(cell.task.dims))
    if key in _WARM:
        return
    _WARM.add(key)
    a, b = cell.task.sample(min(cell.n, 200), seed=10**6)
    try:
        with warnings.catch_warnings(), single_threaded_blas():
            warnings.simplefilter("ignore")
            cell.estimator(a, b, 0)
    except Exception:  # the timed call reports it
        pass


def run_cell(cell: Cell, *, warm_up: bool = True) -> dict:
    """Compute one cell and return its result row (see :data:`COLUMNS`); exceptions become ``status="error"``."""
    task, est = cell.task, cell.estimator
    row = {
        "task": task.name,
        "kind": task.kind,
        "estimator": est.name,
        "package": est.package,
        "n": int(cell.n),
        "seed": int(cell.seed),
        "truth": float(task.truth),
        "estimate": math.nan,
        "error": math.nan,
        "atom_error": math.nan,
        "seconds": math.nan,
        "status": "ok",
        "message": "",
        "atoms": "",
    }
    if warm_up:
        _warm_up(cell)
    a, b = task.sample(cell.n, cell.seed)
    try:
        with warnings.catch_warnings(), single_threaded_blas():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            value = est(a, b, cell.seed)
            row["seconds"] = time.perf_counter() - t0
    except Exception as exc:  # one failing cell must not end the grid
        row["status"] = "error"
        row["message"] = f"{type(exc).__name__}: {exc}"
        return row
    if isinstance(value, dict):
        atoms = {str(k): float(v) for k, v in value.items()}
        row["atoms"] = json.dumps(atoms, sort_keys=True)
        row["estimate"] = float(sum(atoms.values()))
        if task.atoms is not None:
            row["atom_error"] = float(max(abs(atoms.get(k, math.nan) - v) for k, v in task.atoms.items()))
    else:
        row["estimate"] = float(value)
    row["error"] = row["estimate"] - row["truth"]
    return row


# --------------------------------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------------------------------
def _typed(row: dict) -> dict:
    out = {}
    for c in COLUMNS:
        v = row.get(c, "")
        if c in _INT:
            v = int(v)
        elif c in _FLOAT:
            v = math.nan if v in ("", None) else float(v)
        else:
            v = "" if v is None else str(v)
        out[c] = v
    return out


def load_results(path) -> list[dict]:
    """Read a ``results.csv`` or ``results.json`` (or the folder holding them) into typed rows."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.csv" if (path / "results.csv").exists() else path / "results.json"
    if not path.exists():
        return []
    if path.suffix == ".json":
        with open(path) as f:
            data = json.load(f)
        return [_typed(r) for r in data["rows"]]
    rows, _ = _read_csv(path)
    return rows


def _read_csv(path: Path) -> tuple[list[dict], bool]:
    """The valid rows of a ``results.csv``, and whether the whole file was valid.

    A run killed while writing leaves a torn last row (no final newline, too few fields, an unparseable number).
    Rows are read up to the first invalid one; it and anything after it are dropped with a ``RuntimeWarning`` naming
    the file and the line (their cells are computed again on resume). A header other than :data:`COLUMNS` is an
    error; a torn header means an empty file.
    """
    text = path.read_bytes().decode("utf-8", errors="replace")
    if not text:
        return [], True
    lines = io.StringIO(text, newline="")
    last = [""]
    line_no = [0]

    def feed():
        for line in lines:
            last[0] = line
            line_no[0] += 1
            yield line

    reader = csv.reader(feed(), strict=True)
    try:
        header = next(reader)
    except (csv.Error, StopIteration):
        header = []
    if tuple(header) != COLUMNS or not last[0].endswith(("\n", "\r")):
        if line_no[0] <= 1 and not text.endswith(("\n", "\r")) and ",".join(COLUMNS).startswith(text):
            msg = f"{path}: the header is torn (an interrupted run); starting the file anew"
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            return [], False
        raise ValueError(
            f"{path} is not a pidlearn bench results file: its header is {header!r}, expected {list(COLUMNS)}; "
            "move it away or pass --fresh"
        )
    rows = []
    while True:
        first = line_no[0] + 1
        try:
            fields = next(reader)
        except StopIteration:
            return rows, True
        except csv.Error:
            fields = None
        row = None
        # every complete row ends with its newline: a row without one was cut mid-write
        if fields is not None and len(fields) == len(COLUMNS) and last[0].endswith(("\n", "\r")):
            try:
                row = _typed(dict(zip(COLUMNS, fields, strict=True)))
            except ValueError:
                row = None
        if row is None:
            more = sum(1 for _ in lines)
            warnings.warn(
                f"{path}: line {first} is not a complete result row (a run interrupted while writing it?); dropping "
                f"it{f' and the {more} line(s) after it' if more else ''}: their cells are computed again",
                RuntimeWarning,
                stacklevel=3,
            )
            return rows, False
        rows.append(row)


def _csv_value(c: str, v):
    if c in _FLOAT:
        return repr(float(v))  # round-trips exactly
    return v


def _csv_line(values) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _append_csv(path: Path, rows: Iterable[dict]) -> None:
    """Append rows, each as one ``write`` of its whole line followed by a flush and ``fsync`` (a killed run tears
    at most the last line, which :func:`load_results` drops)."""
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="", encoding="utf-8") as f:
        if new:
            f.write(_csv_line(COLUMNS))
        for r in rows:
            f.write(_csv_line([_csv_value(c, r[c]) for c in COLUMNS]))
            f.flush()
            os.fsync(f.fileno())


def _json_value(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def write_json(path, rows: Sequence[dict], meta: dict | None = None) -> None:
    """The whole table as JSON: ``{"columns": [...], "rows": [...], "meta": {...}}`` (NaN written as null)."""
    payload = {
        "columns": list(COLUMNS),
        "rows": [{c: _json_value(r[c]) for c in COLUMNS} for r in rows],
        "meta": meta or {},
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1)
    os.replace(tmp, path)  # a killed run leaves the previous file, never a torn one


def write_csv(path, rows: Sequence[dict]) -> None:
    """The whole table as CSV, written to a temporary file and renamed over ``path`` (never half-written)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        f.write("".join(_csv_line(v) for v in [COLUMNS, *([_csv_value(c, r[c]) for c in COLUMNS] for r in rows)]))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------------------------
# the grid
# --------------------------------------------------------------------------------------------------------------------
def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="pidlearn bench", unit="cell")


def run_grid(
    tasks: Sequence[Task] | None = None,
    estimators: Sequence[Estimator] | None = None,
    sizes: Sequence[int] = (1000,),
    seeds: Sequence[int] = (0,),
    *,
    out=None,
    client=None,
    progress: bool = True,
    resume: bool = True,
    skip=(),
) -> tuple[list[dict], dict]:
    """Run the grid of ``tasks × estimators × sizes × seeds``.

    Parameters
    ----------
    tasks, estimators : sequences of :class:`~pidlearn.bench.tasks.Task` / :class:`~pidlearn.bench.estimators.Estimator`
        ``None``: every built-in task / every available estimator. Unsupported pairs (kind, size caps) are left out.
    sizes, seeds : sequences of int
    out : path, optional
        Folder for ``results.csv`` and ``results.json``. With ``resume=True`` the cells already there are skipped.
    client : dask.distributed.Client, optional
        Run the cells on this cluster (one Dask task per cell); the rows equal the serial run's, but ``seconds``.
    progress : bool
        A tqdm progress bar on stderr (when tqdm is installed).
    resume : bool
        Skip the cells found in ``out``; ``False`` starts the files anew.
    skip : sequence of (task name, estimator name)
        Pairs left out of the grid (e.g. a peer that takes seconds per cell on one task).

    Returns
    -------
    rows : list of dict
        Every row of the grid (computed now or found in ``out``), in grid order.
    stats : dict
        ``{"cells": total, "computed": n_new, "skipped": n_found, "seconds": wall time}``.
    """
    t_start = time.perf_counter()
    tasks = list(all_tasks() if tasks is None else tasks)
    estimators = list(all_estimators() if estimators is None else estimators)
    cells = grid_cells(tasks, estimators, sizes, seeds, skip)
    csv_path = json_path = None
    done: dict[tuple, dict] = {}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv_path, json_path = out / "results.csv", out / "results.json"
        if resume:
            if csv_path.exists():
                found, clean = _read_csv(csv_path)
                if not clean:  # torn or invalid rows at the end: cut them off before appending
                    write_csv(csv_path, found)
            else:
                found = load_results(json_path)
            done = {_key(r): r for r in found}
            if not csv_path.exists() and done:  # only the JSON was kept: start the CSV from it
                write_csv(csv_path, list(done.values()))
        else:
            csv_path.unlink(missing_ok=True)
            json_path.unlink(missing_ok=True)
    todo = [c for c in cells if c.key not in done]
    bar = _progress(len(todo), progress and bool(todo))
    new: dict[tuple, dict] = {}

    def finish(row):
        new[_key(row)] = row
        if csv_path is not None:
            _append_csv(csv_path, [row])
        if bar is not None:
            bar.update(1)

    try:
        if client is None:
            for cell in todo:
                finish(run_cell(cell))
        elif todo:
            from distributed import as_completed

            futures = client.map(run_cell, todo, pure=False)
            for fut in as_completed(futures):
                finish(fut.result())
    finally:
        if bar is not None:
            bar.close()
    everything = {**done, **new}
    wanted = {c.key for c in cells}
    rows = [everything[c.key] for c in cells]
    # rows of other grids kept in the same folder stay in the files, after this grid's rows
    extra = [r for k, r in everything.items() if k not in wanted]
    stats = {
        "cells": len(cells),
        "computed": len(new),
        "skipped": len(cells) - len(new),
        "seconds": time.perf_counter() - t_start,
    }
    if out is not None:
        write_csv(csv_path, rows + extra)
        write_json(json_path, rows + extra, meta={"sizes": list(map(int, sizes)), "seeds": list(map(int, seeds))})
    return rows, stats


# --------------------------------------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------------------------------------
def summarize(rows: Sequence[dict]) -> list[dict]:
    """One line per estimator: tasks, cells, failures, mean |error| (all sizes and at the largest size it ran),
    max atom error at the largest size (discrete PID), median seconds at the largest size."""
    by_est: dict[str, list[dict]] = {}
    for r in rows:
        by_est.setdefault(r["estimator"], []).append(r)
    out = []
    for name, rs in by_est.items():
        ok = [r for r in rs if r["status"] == "ok"]
        n_max = max((r["n"] for r in ok), default=0)
        at_max = [r for r in ok if r["n"] == n_max]
        atom = [r["atom_error"] for r in at_max if not math.isnan(r["atom_error"])]
        out.append(
            {
                "estimator": name,
                "package": rs[0]["package"],
                "kind": rs[0]["kind"],
                "tasks": len({r["task"] for r in rs}),
                "cells": len(rs),
                "failed": len(rs) - len(ok),
                "mean_abs_error": float(np.mean([abs(r["error"]) for r in ok])) if ok else math.nan,
                "n_max": int(n_max),
                "mean_abs_error_at_n_max": float(np.mean([abs(r["error"]) for r in at_max])) if at_max else math.nan,
                "max_atom_error_at_n_max": float(max(atom)) if atom else math.nan,
                "median_seconds_at_n_max": float(np.median([r["seconds"] for r in at_max])) if at_max else math.nan,
            }
        )
    return out


def _fmt(v, spec: str) -> str:
    return "—" if isinstance(v, float) and math.isnan(v) else format(v, spec)


def summary_markdown(summary: Sequence[dict]) -> str:
    """The summary as a Markdown table (errors in bits)."""
    lines = [
        "| estimator | kind | tasks | cells | failed | mean \\|error\\| (bits) | largest N"
        " | mean \\|error\\| at largest N | max atom error at largest N | median time at largest N |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s['estimator']} | {s['kind']} | {s['tasks']} | {s['cells']} | {s['failed']} "
            f"| {_fmt(s['mean_abs_error'], '.4f')} | {s['n_max']} | {_fmt(s['mean_abs_error_at_n_max'], '.4f')} "
            f"| {_fmt(s['max_atom_error_at_n_max'], '.4f')} | {_fmt(s['median_seconds_at_n_max'] * 1e3, '.2f')} ms |"
        )
    return "\n".join(lines)


def per_task_markdown(rows: Sequence[dict], *, field: str = "error") -> str:
    """Per kind of task, a Markdown table task × estimator at each task's largest N: the mean ``|error|`` over seeds
    (``field="error"``, bits; the truth in the first column), or the median ``seconds`` (``field="seconds"``, ms)."""
    if field not in ("error", "seconds"):
        raise ValueError(f"field must be 'error' or 'seconds', got {field!r}")
    ok = [r for r in rows if r["status"] == "ok"]
    out = []
    for kind in dict.fromkeys(r["kind"] for r in ok):
        krs = [r for r in ok if r["kind"] == kind]
        ests = list(dict.fromkeys(r["estimator"] for r in krs))
        what = "mean |error| (bits)" if field == "error" else "median time (ms)"
        out.append(f"**{kind}**, {what} at the largest N of each estimator and task\n")
        head = "| task | truth (bits) | " + " | ".join(ests) + " |"
        out += [head.replace("|error|", "\\|error\\|"), "|---" * (len(ests) + 2) + "|"]
        for task in dict.fromkeys(r["task"] for r in krs):
            cells = []
            trs = [r for r in krs if r["task"] == task]
            for est in ests:
                ers = [r for r in trs if r["estimator"] == est]
                if not ers:
                    cells.append("")
                    continue
                n_max = max(r["n"] for r in ers)
                at = [r for r in ers if r["n"] == n_max]
                if field == "error":
                    cells.append(f"{np.mean([abs(r['error']) for r in at]):.4f}")
                else:
                    cells.append(f"{np.median([r['seconds'] for r in at]) * 1e3:.2f}")
            out.append(f"| {task} | {trs[0]['truth']:.4f} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)
