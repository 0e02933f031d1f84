"""Start-up cost: ``python -c "import pidlearn"`` and the first discrete call, with numba's cache warm."""

import subprocess
import sys


def _run(code):
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_pidlearn(benchmark):
    _run("import pidlearn.discrete")  # warm numba's on-disk cache
    benchmark.group = "start-up"
    benchmark.extra_info["impl"] = "pidlearn"
    benchmark.pedantic(_run, args=("import pidlearn",), rounds=5)


def test_import_and_first_mi(benchmark):
    benchmark.group = "start-up"
    benchmark.extra_info["impl"] = "pidlearn import + first MI"
    code = "from pidlearn.discrete import mutual_information as m; m([0, 1, 1], [1, 0, 0])"
    benchmark.pedantic(_run, args=(code,), rounds=5)


def test_python_baseline(benchmark):
    benchmark.group = "start-up"
    benchmark.extra_info["impl"] = "python -c pass"
    benchmark.pedantic(_run, args=("pass",), rounds=5)
