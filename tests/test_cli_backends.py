"""``--backend numpy`` in the CLI: every ``pidlearn train`` task and ``pidlearn mole``, without torch, with the same
``--json`` keys as the torch backend (plus ``"backend"``), checkpoints that resume, and the thread limits."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pidlearn.cli import main


def _json(capsys, argv):
    rc = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one line"
    return rc, json.loads(out)


def _no_torch(calls: list[list[str]], cwd) -> None:
    """Run ``main(argv)`` for each argv in a fresh interpreter and check that torch was never imported."""
    code = (
        "import sys\nfrom pidlearn.cli import main\n"
        + "".join(f"assert main({argv!r}) == 0, {argv!r}\n" for argv in calls)
        + "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]


UNSUPERVISED = ["train", "--task", "unsupervised", "--hidden", "8", "--epochs", "1", "--plot", "none"]
MEMORY = ["train", "--task", "memory", "--hidden", "10", "--epochs", "20", "--plot", "none"]


# ------------------------------------------------------------------------------------------------------------------
# pidlearn train --backend numpy
def test_train_numpy_never_imports_torch(tmp_path):
    _no_torch(
        [
            ["train", "--backend", "numpy", "--hidden", "0", "--epochs", "1", "--plot", "none", "--json"],
            [*UNSUPERVISED, "--backend", "numpy", "--json"],
            [*MEMORY[:-2], "--backend", "numpy", "--plot", str(tmp_path / "m.png")],  # the plot needs no torch
        ],
        tmp_path,
    )


def test_train_numpy_unsupervised_and_memory(capsys):
    rc, res = _json(capsys, [*UNSUPERVISED, "--backend", "numpy"])
    assert rc == 0 and res["backend"] == "numpy" and res["task"] == "unsupervised" and res["epochs"] == 1
    assert 0.1 < res["test_accuracy"] <= 1 and 0.1 < res["random_projection_accuracy"] <= 1
    assert set(res["atoms"]["unsupervised"]) == {"{1}{2}", "{1}", "{2}", "{12}", "H_res"}
    rc, res = _json(capsys, [*MEMORY, "--backend", "numpy"])
    assert rc == 0 and res["backend"] == "numpy" and res["task"] == "memory" and res["setup"] == "default"
    assert res["capacity"] >= res["hopfield_capacity"]
    assert [r["patterns"] for r in res["recall"]] == sorted(r["patterns"] for r in res["recall"])


def test_train_numpy_text_output(capsys):
    assert main([*MEMORY, "--backend", "numpy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("memory (numpy backend): 10 neurons") and "capacity (largest P" in out


@pytest.mark.parametrize("task", ["unsupervised", "memory"])
def test_train_json_keys_match_torch(capsys, task):
    pytest.importorskip("torch")
    argv = UNSUPERVISED if task == "unsupervised" else MEMORY
    _, torch_res = _json(capsys, argv)
    _, numpy_res = _json(capsys, [*argv, "--backend", "numpy"])
    assert set(numpy_res) == set(torch_res) | {"backend"}
    assert set(numpy_res["atoms"]) == set(torch_res["atoms"])


def test_train_numpy_unsupervised_checkpoint_resumes(capsys, tmp_path):
    ckpt = tmp_path / "u.npz"
    argv = [*UNSUPERVISED[:-4], "--backend", "numpy", "--plot", "none", "--checkpoint", str(ckpt)]
    rc, _ = _json(capsys, [*argv, "--epochs", "1"])
    assert rc == 0 and ckpt.is_file()
    with np.load(ckpt, allow_pickle=False) as d:  # a plain .npz, no pickle
        assert int(d["epoch"]) == 1
    rc, resumed = _json(capsys, [*argv, "--epochs", "2"])
    rc, straight = _json(capsys, [*UNSUPERVISED[:-4], "--backend", "numpy", "--plot", "none", "--epochs", "2"])
    assert rc == 0 and resumed["epochs"] == 2
    assert resumed["test_accuracy"] == straight["test_accuracy"] and resumed["atoms"] == straight["atoms"]


def test_train_numpy_refuses_a_torch_checkpoint(capsys, tmp_path):
    pytest.importorskip("torch")
    ckpt = tmp_path / "u.pt"
    assert _json(capsys, [*UNSUPERVISED, "--checkpoint", str(ckpt)])[0] == 0
    rc, res = _json(capsys, [*UNSUPERVISED, "--backend", "numpy", "--epochs", "2", "--checkpoint", str(ckpt)])
    assert rc == 2 and "torch" in res["error"]


def test_thread_limits_apply_and_are_restored():
    numba = pytest.importorskip("numba")
    from pidlearn._cli_train_numpy import _limits

    before = numba.get_num_threads()
    with _limits(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with _limits(10_000):  # capped at what numba was started with
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
    assert numba.get_num_threads() == before


def test_train_numpy_runs_under_the_thread_limits(capsys, monkeypatch):
    import pidlearn._cli_train_numpy as front

    seen = []
    real = front._limits

    def spy(threads):
        seen.append(threads)
        return real(threads)

    monkeypatch.setattr(front, "_limits", spy)
    assert _json(capsys, [*MEMORY, "--backend", "numpy", "--threads", "1"])[0] == 0
    assert seen == [1]


# ------------------------------------------------------------------------------------------------------------------
# pidlearn mole --backend numpy
@pytest.fixture
def planetoid(tmp_path):
    """A tiny Planetoid-layout data set (``<root>/planetoid/cora.npz``): 60 nodes, 3 classes, a ring of edges."""
    rng = np.random.default_rng(0)
    n, n_classes = 60, 3
    labels = np.arange(n) % n_classes
    features = (rng.random((n, 12)) < 0.2).astype(np.uint8)
    features[np.arange(n), labels] = 1  # the class shows in the features
    src = np.arange(n)
    edges = np.concatenate([np.stack([src, (src + 3) % n]), np.stack([(src + 3) % n, src])], axis=1)
    (tmp_path / "planetoid").mkdir()
    np.savez(
        tmp_path / "planetoid" / "cora.npz",
        features=features,
        labels=labels.astype(np.int64),
        edges=edges.astype(np.int64),
        train_idx=np.arange(0, 30),
        val_idx=np.arange(30, 40),
        test_idx=np.arange(40, 60),
    )
    return tmp_path


def _mole(root, *extra, epochs=2):
    return ["mole", "--data-type", "node", "--dataset", "cora", "--data", str(root), "--epochs", str(epochs), *extra]


def test_mole_numpy_json_and_no_torch(capsys, planetoid):
    rc, res = _json(capsys, _mole(planetoid, "--backend", "numpy"))
    assert rc == 0 and res["command"] == "mole" and res["backend"] == "numpy" and res["epochs"] == 2
    assert 0 <= res["test_accuracy"] <= 1 and res["n_train"] == 30 and res["n_test"] == 20
    # the default node recipe: Kipf & Welling's GCN, one MOLE module, early stopping on the validation loss
    assert res["recipe"] == "default" and res["select"] == "early-stop" and set(res["mi_bits"]) == {"module 1"}
    assert res["settings"]["hidden"] == 64 and res["settings"]["head_weight_decay"] == 0.0
    rc, res = _json(capsys, _mole(planetoid, "--backend", "numpy", "--recipe", "legacy"))
    assert rc == 0 and res["recipe"] == "legacy" and res["select"] == "last"
    assert set(res["mi_bits"]) == {"module 1", "module 2"}
    _no_torch([[*_mole(planetoid, "--backend", "numpy"), "--json"]], planetoid)


@pytest.mark.parametrize(
    "extra, recipe, select",
    [
        (["--recipe", "default"], "default", "early-stop"),
        (["--select", "early-stop"], "default", "early-stop"),
        (["--recipe", "legacy", "--select", "early-stop"], "legacy", "early-stop"),
        (["--recipe", "default", "--select", "last"], "default", "last"),
    ],
)
def test_mole_numpy_accepts_recipes_and_early_stop(capsys, planetoid, extra, recipe, select):
    rc, res = _json(capsys, _mole(planetoid, "--backend", "numpy", *extra, epochs=30))
    assert rc == 0 and res["backend"] == "numpy" and res["recipe"] == recipe and res["select"] == select
    assert 1 <= res["epochs_run"] <= 30 and 0 <= res["validation_accuracy"] <= 1
    if select == "last":
        assert res["epochs_run"] == 30


def test_mole_numpy_text_and_plot(capsys, planetoid):
    pytest.importorskip("matplotlib")
    plot = planetoid / "mi.png"
    assert main([*_mole(planetoid, "--backend", "numpy"), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("MOLE (numpy backend) on cora (node)") and "test accuracy MOLE" in out
    assert plot.stat().st_size > 1000


def test_mole_json_keys_match_torch(capsys, planetoid):
    pytest.importorskip("torch")
    _, torch_res = _json(capsys, _mole(planetoid))
    _, numpy_res = _json(capsys, _mole(planetoid, "--backend", "numpy"))
    assert "backend" not in torch_res and set(numpy_res) == set(torch_res) | {"backend"}


def test_mole_numpy_checkpoint_resumes_with_dropout(capsys, planetoid):
    ckpt = planetoid / "m.npz"
    rc, _ = _json(capsys, _mole(planetoid, "--backend", "numpy", "--checkpoint", str(ckpt), epochs=1))
    assert rc == 0 and ckpt.is_file()
    rc, resumed = _json(capsys, _mole(planetoid, "--backend", "numpy", "--checkpoint", str(ckpt)))
    rc, straight = _json(capsys, _mole(planetoid, "--backend", "numpy"))
    assert rc == 0 and resumed["epochs_run"] == 2
    assert resumed["test_accuracy"] == straight["test_accuracy"] and resumed["mi_bits"] == straight["mi_bits"]


@pytest.mark.parametrize(
    "extra, flag",
    [
        (["--baseline"], "--baseline"),
        (["--select", "val"], "--select val"),
        (["--baseline", "--select", "val"], ""),
        (["--recipe", "legacy", "--baseline"], "--baseline"),
    ],
)
def test_mole_numpy_refuses_what_it_lacks(capsys, tmp_path, extra, flag):
    rc, res = _json(capsys, _mole(tmp_path / "absent", "--backend", "numpy", *extra))
    assert rc == 2 and flag in res["error"] and "use --backend torch" in res["error"]
    assert "\n" not in res["error"]


def test_mole_numpy_on_mnist_and_checkpoint_resumes(capsys, shared_dir, tmp_path):
    mnist = shared_dir / "datasets" / "mnist"
    if not mnist.is_dir():
        pytest.skip(f"MNIST IDX files not found in {mnist}")
    argv = ["mole", "--backend", "numpy", "--data-type", "vector", "--dataset", "mnist", "--data", str(mnist)]
    rc, res = _json(capsys, [*argv, "--epochs", "1", "--train-size", "512"])
    assert rc == 0 and res["backend"] == "numpy" and res["n_train"] == 512 and res["n_test"] == 10000
    assert res["test_accuracy"] > 0.2  # chance is 0.1
    # resume equals uninterrupted (the MLP has no dropout)
    small, ckpt = [*argv, "--train-size", "256", "--hidden", "32"], str(tmp_path / "v.npz")
    assert _json(capsys, [*small, "--epochs", "1", "--checkpoint", ckpt])[0] == 0
    rc, resumed = _json(capsys, [*small, "--epochs", "2", "--checkpoint", ckpt])
    rc, straight = _json(capsys, [*small, "--epochs", "2"])
    assert rc == 0 and resumed["epochs_run"] == 2
    assert resumed["test_accuracy"] == straight["test_accuracy"] and resumed["mi_bits"] == straight["mi_bits"]
