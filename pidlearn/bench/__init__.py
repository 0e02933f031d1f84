"""Benchmark harness: estimators against ground truth, on a grid, serial or on Dask.

* :mod:`pidlearn.bench.tasks` — tasks with exact MI / SxPID values and seeded samplers.
* :mod:`pidlearn.bench.estimators` — pidlearn's estimators and the installed peers behind one interface.
* :mod:`pidlearn.bench.runner` — the grid (``run_grid``), resumable, with CSV/JSON results and a summary.
* :mod:`pidlearn.bench.plots` — estimate vs truth and run time vs N (matplotlib, imported lazily).
* :mod:`pidlearn.bench.batch` — ``batch_sxpid`` (many variable tuples of one data matrix) and ``dask_client``.

From the command line: ``pidlearn bench --quick``.
"""

from pidlearn.bench.batch import batch_sxpid, dask_client
from pidlearn.bench.estimators import Estimator, all_estimators, get_estimator
from pidlearn.bench.runner import FULL, QUICK, Grid, load_results, run_grid, summarize
from pidlearn.bench.tasks import Task, all_tasks, get_task

__all__ = [
    "FULL",
    "QUICK",
    "Estimator",
    "Grid",
    "Task",
    "all_estimators",
    "all_tasks",
    "batch_sxpid",
    "dask_client",
    "get_estimator",
    "get_task",
    "load_results",
    "run_grid",
    "summarize",
]
