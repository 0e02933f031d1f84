"""Kill-and-resume: ``pidlearn train``, ``pidlearn mole`` and ``pidlearn bench`` killed (SIGKILL) mid-run and rerun
end in the result of an uninterrupted run; a torn last row of ``results.csv`` is repaired, not trusted.

Each run is a subprocess (``python -m pidlearn.cli``). The kill is deterministic in what it waits for: the
checkpoint (or a results row) must exist first, then SIGKILL. Should a run finish before the kill lands, the rerun
still has to give the uninterrupted result (it then resumes from a finished checkpoint).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pidlearn.bench import load_results

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
TIMEOUT = 240


def _cmd(*args) -> list[str]:
    return [sys.executable, "-m", "pidlearn.cli", *map(str, args)]


def _run(args, cwd) -> dict:
    """Run to completion; the one JSON object printed with ``--json``."""
    res = subprocess.run(_cmd(*args), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=TIMEOUT)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


def _kill_when(args, cwd, ready) -> int:
    """Start the command, poll ``ready()`` every 10 ms and SIGKILL the process once it holds; its return code
    (``-9`` when the kill landed mid-run, 0 when the run had finished first)."""
    proc = subprocess.Popen(_cmd(*args), cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT
    try:
        while proc.poll() is None:
            if ready():
                proc.send_signal(signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the run neither became ready to kill nor finished"
            time.sleep(0.01)
        proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in (0, -signal.SIGKILL), proc.returncode
    return proc.returncode


def _same_payload(resumed: dict, straight: dict) -> None:
    a = {k: v for k, v in resumed.items() if k != "plot" and not k.startswith("seconds")}
    b = {k: v for k, v in straight.items() if k != "plot" and not k.startswith("seconds")}
    assert a == b


needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs the torch extra")

# train -----------------------------------------------------------------------------------------------------------

TRAIN = {
    "supervised": ["--task", "supervised", "--hidden", "0", "--epochs", "3"],
    "unsupervised": ["--task", "unsupervised", "--hidden", "8", "--epochs", "3"],
}


@needs_torch
@pytest.mark.parametrize("task", ["supervised", pytest.param("unsupervised", marks=pytest.mark.slow)])
def test_train_killed_and_resumed_equals_uninterrupted(tmp_path, task):
    common = ["train", *TRAIN[task], "--batch-size", "1024", "--plot", "none", "--json"]
    straight = _run(common, tmp_path)
    ckpt = tmp_path / "run.ckpt"
    args = [*common, "--checkpoint", ckpt]
    rc = _kill_when(args, tmp_path, lambda: ckpt.is_file())  # the checkpoint of epoch 1 is written
    assert ckpt.is_file()
    if rc == 0:
        pytest.fail("the run finished before the kill; make it longer")  # the kill must land mid-run
    resumed = _run(args, tmp_path)
    _same_payload(resumed, straight)
    assert resumed["epochs"] == 3


@needs_torch
def test_train_memory_has_no_checkpoint(tmp_path):
    res = subprocess.run(
        _cmd("train", "--task", "memory", "--hidden", "8", "--checkpoint", tmp_path / "m.ckpt", "--json"),
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert res.returncode == 2
    assert "--checkpoint applies to --task supervised and unsupervised" in json.loads(res.stdout)["error"]
    assert not (tmp_path / "m.ckpt").exists()


# mole ------------------------------------------------------------------------------------------------------------
def _write_idx(folder: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    stem = "train" if split == "train" else "t10k"
    n = len(labels)
    (folder / f"{stem}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes())
    (folder / f"{stem}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.tobytes())


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory) -> Path:
    """The bundled MNIST subset (1000 training, 500 test images) as an MNIST-layout IDX folder."""
    from pidlearn.idx import load_mnist_small

    d = load_mnist_small()
    folder = tmp_path_factory.mktemp("mnist")
    _write_idx(folder, "train", d["x_train"][:1000], d["y_train"][:1000])
    _write_idx(folder, "test", d["x_test"][:500], d["y_test"][:500])
    return folder


@needs_torch
@pytest.mark.slow  # about 20 s: three MOLE runs with torch start-up
def test_mole_killed_and_resumed_equals_uninterrupted(tmp_path, small_mnist):
    common = ["mole", "--data-type", "vector", "--dataset", "mnist", "--data", small_mnist, "--epochs", "4"]
    common += ["--hidden", "16", "--baseline", "--json"]
    straight = _run(common, tmp_path)
    ckpt = tmp_path / "mole.ckpt"
    args = [*common, "--checkpoint", ckpt]
    rc = _kill_when(args, tmp_path, lambda: ckpt.is_file())  # MOLE's epoch 1 is saved; backprop not yet run
    if rc == 0:
        pytest.fail("the run finished before the kill; make it longer")
    resumed = _run(args, tmp_path)
    _same_payload(resumed, straight)
    assert resumed["epochs_run"] == 4 == resumed["baseline_epochs_run"]


# bench -----------------------------------------------------------------------------------------------------------
BENCH = ["bench", "--no-plots", "--json", "--tasks", "gauss-1x1", "xor", "channel-a8", "gauss-pid-sum"]
BENCH += ["--estimators", "pidlearn-ksg1", "pidlearn-gaussian", "pidlearn-plugin", "pidlearn-sxpid"]
BENCH += ["--sizes", "200", "1000", "--seeds", "0", "1", "2", "3"]


def _rows_without_seconds(path) -> list[dict]:
    out = []
    for r in load_results(path):
        r = {k: v for k, v in r.items() if k != "seconds"}
        out.append({k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()})
    return out


def _data_rows(path: Path) -> int:
    return max(0, path.read_bytes().count(b"\n") - 1) if path.is_file() else 0


@pytest.fixture(scope="module")
def bench_straight(tmp_path_factory) -> tuple[dict, Path]:
    """The uninterrupted bench run: its JSON payload and its folder."""
    folder = tmp_path_factory.mktemp("bench") / "straight"
    return _run([*BENCH, "--out", folder], folder.parent), folder


@pytest.mark.parametrize("tear", [False, True])
def test_bench_killed_and_resumed_equals_uninterrupted(tmp_path, tear, bench_straight):
    straight, straight_dir = bench_straight
    out = tmp_path / "resumed"
    csv_path = out / "results.csv"
    rc = _kill_when([*BENCH, "--out", out], tmp_path, lambda: _data_rows(csv_path) >= 3)
    if rc == 0:
        pytest.fail("the run finished before the kill; make the grid larger")
    n_found = _data_rows(csv_path)
    assert 3 <= n_found < straight["cells"]
    if tear:  # as if killed while writing the last row: a few bytes of it are missing
        csv_path.write_bytes(csv_path.read_bytes()[:-7])
    res = subprocess.run(
        _cmd(*BENCH, "--out", out), cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert res.returncode == 0, res.stderr
    resumed = json.loads(res.stdout)
    assert (resumed["cells"], resumed["failed"]) == (straight["cells"], straight["failed"])
    assert resumed["skipped"] == (n_found - 1 if tear else n_found)
    if tear:
        assert "is not a complete result row" in res.stderr
    assert _rows_without_seconds(csv_path) == _rows_without_seconds(straight_dir / "results.csv")
    assert _rows_without_seconds(out / "results.json") == _rows_without_seconds(straight_dir / "results.json")
