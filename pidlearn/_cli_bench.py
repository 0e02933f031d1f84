"""The ``pidlearn bench`` subcommand: estimators against ground truth on a grid, serial or on Dask.

``pidlearn bench [--quick] [--out DIR] [--workers N | --scheduler ADDR] [--tasks ..] [--estimators ..] [--sizes ..]
[--seeds ..] [--no-plots] [--fresh] [--list] [--json]``. Results go to ``DIR/results.csv`` and ``DIR/results.json``
(cells already there are skipped), a summary to ``DIR/summary.md``, figures to ``DIR/*.png``. With ``--json`` exactly
one JSON object is printed on stdout (the progress bar goes to stderr).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Add the ``bench`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "bench",
        help="benchmark MI and PID estimators (pidlearn's and installed peers) against ground truth",
        description=(
            "Run tasks with known MI / SxPID values x estimators x sample sizes x seeds, write results.csv, "
            "results.json, summary.md and figures to --out. Re-running with the same --out skips computed cells."
        ),
    )
    p.add_argument("--quick", action="store_true", help="the small grid (under a minute on 2 cores)")
    p.add_argument("--out", default="bench-results", metavar="DIR", help="output folder (default: bench-results)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="run on a local Dask cluster of N worker processes")
    where.add_argument("--scheduler", metavar="ADDR", help="run on the Dask cluster at ADDR (tcp://host:port)")
    p.add_argument("--tasks", nargs="+", metavar="NAME", help="tasks to run (default: those of the grid)")
    p.add_argument("--estimators", nargs="+", metavar="NAME", help="estimators to run (default: every available one)")
    p.add_argument("--sizes", nargs="+", type=int, metavar="N", help="sample sizes (default: those of the grid)")
    p.add_argument("--seeds", nargs="+", type=int, metavar="S", help="seeds (default: those of the grid)")
    p.add_argument("--no-plots", action="store_true", help="do not draw the figures")
    p.add_argument("--fresh", action="store_true", help="discard results already in --out instead of resuming")
    p.add_argument("--list", action="store_true", help="list the tasks and the available estimators, run nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _list(args) -> int:
    from pidlearn.bench import all_estimators, all_tasks

    tasks = [{"name": t.name, "kind": t.kind, "truth_bits": t.truth, "description": t.description} for t in all_tasks()]
    ests = [
        {"name": e.name, "kinds": list(e.kinds), "package": e.package, "max_n": e.max_n, "description": e.description}
        for e in all_estimators()
    ]
    if args.json:
        print(json.dumps({"command": "bench", "tasks": tasks, "estimators": ests}))
        return 0
    lines = ["tasks (truth in bits):"]
    lines += [f"  {t['name']:<22} {t['kind']:<15} {t['truth_bits']:8.4f}  {t['description']}" for t in tasks]
    lines.append("estimators available here:")
    lines += [f"  {e['name']:<22} {'/'.join(e['kinds']):<15} {e['package']:<13} {e['description']}" for e in ests]
    print("\n".join(lines))
    return 0


def _table(summary) -> str:
    head = f"{'estimator':<22} {'kind':<15} {'cells':>6} {'failed':>6} {'|err| all':>10} {'N max':>6}"
    head += f" {'|err| Nmax':>10} {'atom err':>9} {'time Nmax':>11}"
    lines = [head]

    def f(v, spec):
        return "-" if isinstance(v, float) and math.isnan(v) else format(v, spec)

    for s in summary:
        lines.append(
            f"{s['estimator']:<22} {s['kind']:<15} {s['cells']:>6} {s['failed']:>6} {f(s['mean_abs_error'], '10.4f')} "
            f"{s['n_max']:>6} {f(s['mean_abs_error_at_n_max'], '10.4f')} {f(s['max_atom_error_at_n_max'], '9.4f')} "
            f"{f(s['median_seconds_at_n_max'] * 1e3, '8.2f')} ms"
        )
    return "\n".join(lines)


def run(args) -> int:
    """Run ``pidlearn bench``; returns the exit status (errors are raised for the caller to report)."""
    if args.list:
        return _list(args)
    from pidlearn.bench import FULL, QUICK, dask_client, run_grid, summarize
    from pidlearn.bench.runner import Grid, per_task_markdown, summary_markdown

    base = QUICK if args.quick else FULL
    grid = Grid(
        tasks=tuple(args.tasks or base.tasks),
        sizes=tuple(args.sizes or base.sizes),
        seeds=tuple(args.seeds if args.seeds is not None else base.seeds),
        estimators=tuple(args.estimators) if args.estimators else None,
        exclude=base.exclude,
        skip=base.skip,
    )
    if any(n < 2 for n in grid.sizes):
        raise ValueError(f"--sizes must be at least 2 samples, got {list(grid.sizes)}")
    tasks, estimators = grid.resolve()
    out = Path(args.out)
    t0 = time.perf_counter()
    if args.workers is not None or args.scheduler is not None:
        where = dask_client(workers=args.workers, scheduler=args.scheduler)
        backend = f"dask ({args.scheduler or f'local cluster, {args.workers} workers'})"
    else:
        where = contextlib.nullcontext(None)
        backend = "serial"
    with where as client:
        rows, stats = run_grid(
            tasks,
            estimators,
            grid.sizes,
            grid.seeds,
            out=out,
            client=client,
            progress=True,
            resume=not args.fresh,
            skip=grid.skip,
        )
    summary = summarize(rows)
    sizes = ", ".join(map(str, grid.sizes))
    (out / "summary.md").write_text(
        f"Grid: {len(tasks)} tasks, sizes {sizes}, seeds {', '.join(map(str, grid.seeds))}; {backend}.\n\n"
        + summary_markdown(summary)
        + "\n\n"
        + per_task_markdown(rows, field="error")
        + "\n"
        + per_task_markdown(rows, field="seconds")
    )
    figures = {}
    if not args.no_plots:
        from pidlearn.bench.plots import save_figures
        from pidlearn.plotting import _use_file_backend

        _use_file_backend()
        figures = save_figures(rows, out)
    payload = {
        "command": "bench",
        "grid": "quick" if args.quick else "full",
        "backend": backend,
        "out": str(out),
        "tasks": [t.name for t in tasks],
        "estimators": [e.name for e in estimators],
        "sizes": list(grid.sizes),
        "seeds": list(grid.seeds),
        **stats,
        "failed": sum(r["status"] != "ok" for r in rows),
        "summary": summary,
        "files": {
            "csv": str(out / "results.csv"),
            "json": str(out / "results.json"),
            "summary": str(out / "summary.md"),
            **figures,
        },
        "seconds": time.perf_counter() - t0,
    }
    if args.json:
        print(json.dumps(_clean(payload)))
        return 0
    lines = [
        f"pidlearn bench ({payload['grid']} grid, {backend}): {stats['cells']} cells, {stats['computed']} computed, "
        f"{stats['skipped']} found in {out}, {payload['failed']} failed",
        "errors in bits (estimate - truth), times per estimate:",
        "",
        _table(summary),
        "",
        f"results: {payload['files']['csv']}, {payload['files']['json']}; summary: {payload['files']['summary']}",
    ]
    if figures:
        lines.append("figures: " + ", ".join(figures.values()))
    lines.append(f"({payload['seconds']:.1f} s)")
    print("\n".join(lines))
    return 0
