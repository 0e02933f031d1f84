"""The ``pidlearn`` command: subcommands, --json, errors."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from pidlearn import discrete
from pidlearn.cli import main
from pidlearn.datasets import load_example, read_table


def _json(capsys, argv):
    rc = main([*argv, "--json"])
    out = capsys.readouterr().out
    return rc, json.loads(out)


def test_demo_json(capsys):
    rc, res = _json(capsys, ["demo"])
    assert rc == 0 and res["command"] == "demo"
    rows = {r["target"]: r for r in res["mutual_information"]}
    d = load_example("gates")
    assert rows["xor"]["I(T;s1,s2)"] == pytest.approx(discrete.entropy(d["xor"]), abs=1e-12)
    assert rows["xor"]["I(T;s1)"] < 0.01
    assert res["permutation_tests"]["I(xor;s1|s2)"]["p_value"] < 0.01


def test_demo_text(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Mutual information" in out and "xor" in out


def test_mi_on_csv_with_permutations(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 500)
    y = np.where(rng.random(500) < 0.5, x, rng.integers(0, 3, 500))
    z = rng.integers(0, 2, 500)
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "\n".join(f"{i},{j},{k}" for i, j, k in zip(x, y, z, strict=True)))
    rc, res = _json(capsys, ["mi", str(path), "--x", "a", "--y", "b", "--permutations", "99", "--seed", "1"])
    assert rc == 0
    assert res["mutual_information"] == pytest.approx(discrete.mutual_information(x, y), abs=1e-12)
    assert res["p_value"] == pytest.approx(0.01)
    rc, res = _json(capsys, ["mi", str(path), "--x", "a", "c", "--y", "1", "--z", "c", "--base", str(math.e)])
    assert res["mutual_information"] == pytest.approx(
        discrete.mutual_information(np.stack([x, z], 1), y, z, base=math.e), abs=1e-12
    )
    assert res["unit"] == "nats" and res["p_value"] is None


def test_mi_on_npy(tmp_path, capsys):
    arr = np.array([[0, 0], [1, 1], [0, 0], [1, 1]])
    np.save(tmp_path / "a.npy", arr)
    rc, res = _json(capsys, ["mi", str(tmp_path / "a.npy"), "--x", "0", "--y", "1"])
    assert rc == 0 and res["mutual_information"] == pytest.approx(1.0)


def test_errors_are_clear(tmp_path, capsys):
    rc, res = _json(capsys, ["mi", str(tmp_path / "missing.csv"), "--x", "a", "--y", "b"])
    assert rc == 2 and "no such file" in res["error"]
    path = tmp_path / "f.csv"
    path.write_text("a,b\n0.5,1\n1.5,0\n")
    rc, res = _json(capsys, ["mi", str(path), "--x", "a", "--y", "zz"])
    assert rc == 2 and "no column 'zz'" in res["error"]
    rc, res = _json(capsys, ["mi", str(path), "--x", "a", "--y", "b"])
    assert rc == 2 and "non-integer floats" in res["error"]
    assert main(["mi", str(path), "--x", "a", "--y", "b"]) == 2
    assert "error" in capsys.readouterr().err


def test_read_table_variants(tmp_path):
    (tmp_path / "h.tsv").write_text("x\ty\nu\t1\nv\t2\n")
    names, cols = read_table(tmp_path / "h.tsv")
    assert names == ["x", "y"] and cols["x"].tolist() == ["u", "v"] and cols["y"].dtype.kind == "i"
    (tmp_path / "n.csv").write_text("1,2\n3,4\n")
    names, cols = read_table(tmp_path / "n.csv")
    assert names == ["0", "1"] and cols["1"].tolist() == [2, 4]
    np.savez(tmp_path / "z.npz", a=np.arange(3), b=np.ones(3))
    names, cols = read_table(tmp_path / "z.npz")
    assert names == ["a", "b"]


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "pidlearn.cli", "mi", "--help"], capture_output=True, text=True, check=True
    )
    assert "--permutations" in out.stdout
