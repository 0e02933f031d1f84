"""``pidlearn train``: the three tasks end to end on small settings, --json, plots, errors."""

import json

import pytest

pytest.importorskip("torch")

from pidlearn.cli import main


def _json(capsys, argv):
    rc = main(["train", *argv, "--json"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one line"
    return rc, json.loads(out)


def test_supervised_single_layer_json_and_plot(capsys, tmp_path):
    plot = tmp_path / "p.png"
    rc, res = _json(capsys, ["--hidden", "0", "--epochs", "3", "--plot", str(plot)])
    assert rc == 0 and res["command"] == "train" and res["task"] == "supervised"
    assert res["epochs"] == 3 and res["seconds"] > 0 and len(res["accuracy_per_epoch"]) == 3
    assert res["test_accuracy"] > 0.6  # bundled subset, 3 epochs; chance is 0.1
    assert set(res["atoms"]["readout"]) == {"{1}{2}", "{1}", "{2}", "{12}", "H_res"}
    if res["plot"] is not None:  # matplotlib installed
        assert plot.stat().st_size > 1000


def test_supervised_text_output(capsys, tmp_path):
    rc = main(["train", "--hidden", "8", "--goal", "context_heuristic", "--epochs", "1", "--plot", "none"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "test accuracy after 1 epochs" in out and "hidden:" in out and "readout:" in out


def test_unsupervised_probe(capsys):
    rc, res = _json(capsys, ["--task", "unsupervised", "--hidden", "16", "--epochs", "1", "--plot", "none"])
    assert rc == 0 and res["task"] == "unsupervised"
    assert 0.1 < res["test_accuracy"] <= 1 and 0.1 < res["random_projection_accuracy"] <= 1
    assert "{1}" in res["atoms"]["unsupervised"]


def test_memory_capacity(capsys):
    rc, res = _json(capsys, ["--task", "memory", "--hidden", "20", "--epochs", "60", "--plot", "none"])
    assert rc == 0 and res["task"] == "memory"
    assert res["capacity"] >= res["hopfield_capacity"]
    assert [r["patterns"] for r in res["recall"]] == sorted(r["patterns"] for r in res["recall"])
    assert res["setup"] == "default"


def test_memory_authors_setup(capsys):
    rc, res = _json(
        capsys, ["--task", "memory", "--hidden", "20", "--epochs", "60", "--authors-setup", "--plot", "none"]
    )
    assert rc == 0 and res["setup"] == "authors" and res["capacity"] >= res["hopfield_capacity"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--goal", "best"], "unknown goal preset 'best'"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--data", "/nonexistent/mnist"], "does not exist"),
        (["--task", "memory", "--hidden", "1"], "--hidden >= 2"),
        (["--authors-setup"], "--authors-setup is an option of --task memory"),
        (["--task", "memory", "--hidden", "8", "--checkpoint", "m.pt"], "--checkpoint applies to"),
    ],
)
def test_errors_follow_the_house_rule(capsys, argv, message):
    rc, res = _json(capsys, [*argv, "--plot", "none"])
    assert rc == 2 and message in res["error"]


def test_checkpoint_resume_and_mismatch(capsys, tmp_path):
    ckpt = tmp_path / "c.pt"
    rc, first = _json(capsys, ["--hidden", "0", "--epochs", "1", "--checkpoint", str(ckpt), "--plot", "none"])
    rc, res = _json(capsys, ["--hidden", "0", "--epochs", "2", "--checkpoint", str(ckpt), "--plot", "none"])
    assert rc == 0 and res["accuracy_per_epoch"][0] == first["test_accuracy"] and len(res["accuracy_per_epoch"]) == 2
    rc, res = _json(capsys, ["--hidden", "5", "--epochs", "3", "--checkpoint", str(ckpt), "--plot", "none"])
    assert rc == 2 and "does not match" in res["error"]


def test_unsupervised_checkpoint_resumes(capsys, tmp_path):
    ckpt = tmp_path / "u.pt"
    args = ["--task", "unsupervised", "--hidden", "8", "--checkpoint", str(ckpt), "--plot", "none"]
    rc, _ = _json(capsys, [*args, "--epochs", "1"])
    assert rc == 0 and ckpt.is_file()
    rc, res = _json(capsys, [*args, "--epochs", "2"])
    assert rc == 0 and res["epochs"] == 2
    rc, straight = _json(capsys, ["--task", "unsupervised", "--hidden", "8", "--epochs", "2", "--plot", "none"])
    assert res["test_accuracy"] == straight["test_accuracy"] and res["atoms"] == straight["atoms"]


def test_goal_of_the_single_layer(capsys):
    rc, res = _json(capsys, ["--hidden", "0", "--goal", "context_heuristic", "--epochs", "1", "--plot", "none"])
    assert rc == 0 and res["readout_goal"] == "context_heuristic" and res["goal"] is None
    rc, res = _json(capsys, ["--hidden", "0", "--goal", "trivariate_optimised", "--epochs", "1", "--plot", "none"])
    assert rc == 2 and "defined for 3 sources" in res["error"]


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--hidden", "0", "--epochs", "1"],
        ["mole", "--data-type", "vector", "--dataset", "mnist", "--data", "DIR", "--epochs", "1"],
        ["higher-order", "TABLE"],
    ],
    ids=["train", "mole", "higher-order"],
)
@pytest.mark.parametrize("bad", ["folder", "missing folder", "format"])
def test_unwritable_plot_refused_before_any_work(capsys, tmp_path, monkeypatch, argv, bad):
    """A --plot that cannot be written is one line and exit 2 before loading data or training (was: after)."""
    pytest.importorskip("matplotlib")
    table = tmp_path / "t.csv"
    table.write_text("a,b\n0,1\n1,0\n")
    plot = {"folder": tmp_path, "missing folder": tmp_path / "no" / "p.png", "format": tmp_path / "p.foo"}[bad]
    import pidlearn._cli_train_common as common

    monkeypatch.setattr(common, "_load", lambda *a, **k: pytest.fail("data loaded before --plot was checked"))
    argv = [{"TABLE": str(table), "DIR": str(tmp_path)}.get(a, a) for a in argv]
    assert main([*argv, "--plot", str(plot)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--plot" in err and str(plot) in err
