"""The ``pidlearn`` command: subcommands, --json, errors."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from pidlearn import continuous, discrete, discretise
from pidlearn.cli import Columns, main
from pidlearn.datasets import load_example, read_table, select_table


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
    rc, res = _json(capsys, ["mi", str(path), "--x", "a", "--y", "b", "--estimator", "plugin"])
    assert rc == 2 and "column 'a' (--x) holds non-integer numbers" in res["error"] and "--bins N" in res["error"]
    assert main(["mi", str(path), "--x", "a", "--y", "b", "--estimator", "plugin"]) == 2
    assert "error" in capsys.readouterr().err


def test_read_table_variants(tmp_path):
    (tmp_path / "h.tsv").write_text("x\ty\nu\t1\nv\t2\n")
    names, cols = read_table(tmp_path / "h.tsv")
    assert names == ["x", "y"] and cols["x"].tolist() == ["u", "v"] and cols["y"].dtype.kind == "i"
    (tmp_path / "n.csv").write_text("1,2\n3,4\n")
    names, cols = read_table(tmp_path / "n.csv")
    assert names == ["0", "1"] and cols["1"].tolist() == [2, 4]
    (tmp_path / "s.txt").write_text("a b\n1  2.5\n3 4.5\n")  # runs of spaces
    names, cols = read_table(tmp_path / "s.txt")
    assert names == ["a", "b"] and cols["b"].tolist() == [2.5, 4.5]
    np.savez(tmp_path / "z.npz", a=np.arange(3), b=np.ones(3))
    names, cols = read_table(tmp_path / "z.npz")
    assert names == ["a", "b"]


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "pidlearn.cli", "mi", "--help"], capture_output=True, text=True, check=True
    )
    assert "--permutations" in out.stdout


# ------------------------------------------------------------------------------------------------------------------
# Real tables: scikit-learn's bundled data sets written to CSV, with a text class column.
def _write_csv(path, loader, *, label="class"):
    datasets = pytest.importorskip("sklearn.datasets")
    d = getattr(datasets, loader)()
    names = [n.replace(" (cm)", "").replace(" ", "_").replace("/", "_") for n in d.feature_names]
    cols = {n: d.data[:, j] for j, n in enumerate(names)}
    lines = [",".join([*names, label] if label else names)]
    for i in range(len(d.data)):
        row = [repr(float(cols[n][i])) for n in names]
        if label:
            row.append(str(d.target_names[d.target[i]]) if hasattr(d, "target_names") else repr(float(d.target[i])))
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")
    labels = np.array([str(d.target_names[t]) for t in d.target]) if hasattr(d, "target_names") else d.target
    return path, cols, labels


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    return _write_csv(tmp_path_factory.mktemp("iris") / "iris.csv", "load_iris", label="species")


def test_iris_all_discrete_by_type_after_bins(iris, capsys):
    path, cols, species = iris
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_length", "--y", "species", "--bins", "4"])
    assert rc == 0 and res["estimator"] == "plugin" and res["k"] is None
    assert res["binned_columns"] == ["sepal_length"] and res["continuous_columns"] == []
    assert res["discrete_columns"] == ["sepal_length", "species"] and res["strategy"] == "quantile"
    want = discrete.mutual_information(discretise(cols["sepal_length"], 4), species)
    assert res["mutual_information"] == pytest.approx(want, abs=1e-12)
    argv = ["mi", str(path), "--x", "sepal_length", "--y", "species", "--bins", "3", "--strategy", "uniform"]
    rc, res = _json(capsys, [*argv, "--estimator", "miller_madow"])
    want = discrete.mutual_information(
        discretise(cols["sepal_length"], 3, strategy="uniform"), species, estimator="miller_madow"
    )
    assert res["estimator"] == "miller_madow" and res["mutual_information"] == pytest.approx(want, abs=1e-12)


def test_iris_continuous_columns_use_ksg(iris, capsys):
    path, cols, _ = iris
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_length", "--y", "petal_length"])
    assert rc == 0 and res["estimator"] == "ksg1" and res["k"] == 3
    assert res["continuous_columns"] == ["sepal_length", "petal_length"] and res["discrete_columns"] == []
    want = continuous.mutual_information(cols["sepal_length"], cols["petal_length"], seed=0)
    assert res["mutual_information"] == pytest.approx(want, abs=1e-12)
    argv = ["mi", str(path), "--x", "sepal_length", "sepal_width", "--y", "petal_length", "--estimator", "gaussian"]
    rc, res = _json(capsys, argv)
    x = np.stack([cols["sepal_length"], cols["sepal_width"]], 1)
    est = {"estimator": "gaussian"}
    assert res["estimator"] == "gaussian" and res["k"] is None
    assert res["mutual_information"] == pytest.approx(
        continuous.mutual_information(x, cols["petal_length"], **est), abs=1e-12
    )
    assert main(["mi", str(path), "--x", "sepal_length", "--y", "petal_length", "--k", "5"]) == 0
    out = capsys.readouterr().out
    assert "[ksg1, k = 5, n = 150]" in out and "continuous: sepal_length, petal_length" in out


def test_iris_continuous_with_discrete_column_uses_mixed_mi(iris, capsys):
    path, cols, species = iris
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_length", "--y", "species"])
    assert rc == 0 and res["estimator"] == "ross"
    assert res["discrete_columns"] == ["species"] and res["continuous_columns"] == ["sepal_length"]
    want = continuous.mutual_information(cols["sepal_length"], species, discrete="y", seed=0)
    assert res["mutual_information"] == pytest.approx(want, abs=1e-12)
    assert main(["mi", str(path), "--x", "sepal_length", "--y", "species"]) == 0
    assert "[ross, k = 3, n = 150]" in capsys.readouterr().out


def test_continuous_permutations(iris, capsys):
    path, cols, _ = iris
    argv = ["mi", str(path), "--x", "sepal_length", "--y", "petal_length", "--permutations", "20", "--json"]
    rc = main(argv)
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["estimator"] == "ksg1" and 0 < res["p_value"] <= 1
    want = continuous.permutation_test(cols["sepal_length"], cols["petal_length"], n_permutations=20, seed=0)
    assert res["p_value"] == pytest.approx(want.p_value) and res["mutual_information"] == pytest.approx(want.statistic)


def test_type_mixes_are_refused_with_the_columns_named(iris, capsys):
    path, _, _ = iris
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_length", "species", "--y", "petal_length"])
    assert rc == 2 and "--x mixes discrete (species) and continuous (sepal_length)" in res["error"]
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_length", "--y", "petal_length", "--bins", "3", "--k", "2"])
    assert rc == 2 and "--k" in res["error"]
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_length", "--y", "species", "--estimator", "nope"])
    assert rc == 2 and "unknown --estimator 'nope'" in res["error"] and "plugin" in res["error"]
    rc, res = _json(capsys, ["mi", str(path), "--x", "0", "--y", "1", "--bins", "3", "--estimator", "ksg1"])
    assert rc == 2 and "--bins makes every column discrete" in res["error"]


def test_constant_continuous_column_is_named(tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_text("a,b\n" + "".join(f"1.5,{0.1 * i}\n" for i in range(20)))
    rc, res = _json(capsys, ["mi", str(path), "--x", "a", "--y", "b"])
    assert rc == 2 and "column 'a' (--x) is constant" in res["error"]


def test_library_errors_get_column_names():
    cols = Columns.__new__(Columns)
    cols.groups = {"--x": ["a", "b"], "--y": ["c"], "--sources s": ["s"]}
    variables = {"x": "--x", "y": "--y", "source 1": "--sources s"}
    exc = cols.rename_errors(ValueError("x[:, 1] contains NaN (sample 3)"), variables)
    assert type(exc) is ValueError and str(exc) == "column 'b' contains NaN (sample 3)"
    assert str(cols.rename_errors(ValueError("y is constant"), variables)) == "column 'c' is constant"
    assert str(cols.rename_errors(TypeError("x has dtype"), variables)) == "--x (a, b) has dtype"
    assert str(cols.rename_errors(ValueError("source 1 is constant"), variables)) == "column 's' is constant"


# Missing values: refused with row and column, or dropped with --dropna
def _iris_with_gaps(tmp_path, iris):
    path, _, _ = iris
    lines = path.read_text().splitlines()
    for row, cell in ((4, ""), (10, "NA"), (11, "nan"), (12, "null")):  # data rows, 1-based
        fields = lines[row].split(",")
        fields[1] = cell  # sepal_width
        lines[row] = ",".join(fields)
    fields = lines[30].split(",")
    fields[3] = "NaN"  # petal_width, data row 30
    lines[30] = ",".join(fields)
    out = tmp_path / "gaps.csv"
    out.write_text("\n".join(lines) + "\n")
    return out


def test_missing_values_name_row_and_column(tmp_path, iris, capsys):
    path = _iris_with_gaps(tmp_path, iris)
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_width", "--y", "species"])
    assert rc == 2 and "column 'sepal_width'" in res["error"] and "in row 4 " in res["error"]
    assert "4 rows in all" in res["error"] and "--dropna" in res["error"] and str(path) in res["error"]
    # a missing value in a column that is not selected does not matter
    rc, res = _json(capsys, ["mi", str(path), "--x", "sepal_length", "--y", "species", "--bins", "3"])
    assert rc == 0 and res["n_dropped"] == 0 and res["n_samples"] == 150
    assert main(["mi", str(path), "--x", "petal_width", "--y", "species", "--bins", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "column 'petal_width'" in err and "row 30 " in err


def test_dropna_drops_rows_with_missing_selected_values(tmp_path, iris, capsys):
    _, cols, species = iris
    path = _iris_with_gaps(tmp_path, iris)
    argv = ["mi", str(path), "--x", "sepal_width", "--y", "petal_width", "--z", "species", "--bins", "3", "--dropna"]
    rc, res = _json(capsys, argv)
    keep = np.ones(150, dtype=bool)
    keep[[3, 9, 10, 11, 29]] = False
    assert rc == 0 and res["n_dropped"] == 5 and res["n_rows_read"] == 150 and res["n_samples"] == 145
    want = discrete.mutual_information(
        discretise(cols["sepal_width"][keep], 3), discretise(cols["petal_width"][keep], 3), species[keep]
    )
    assert res["mutual_information"] == pytest.approx(want, abs=1e-12)
    assert main(argv) == 0
    assert "dropped 5 of 150 rows with a missing value (--dropna)" in capsys.readouterr().out


def test_inf_is_named(tmp_path, capsys):
    path = tmp_path / "inf.csv"
    path.write_text("a,b\n" + "".join(f"{0.1 * i},{i % 3}\n" for i in range(9)) + "inf,1\n")
    rc, res = _json(capsys, ["mi", str(path), "--x", "a", "--y", "b"])
    assert rc == 2 and "column 'a' holds inf in row 10" in res["error"]


# PID of real tables
def test_pid_discrete_after_bins_and_continuous(iris, capsys):
    from pidlearn.sxpid import sxpid

    path, cols, species = iris
    argv = ["pid", str(path), "--target", "species", "--sources", "sepal_length", "petal_length", "--bins", "3"]
    rc, res = _json(capsys, argv)
    want = sxpid(species, [discretise(cols["sepal_length"], 3), discretise(cols["petal_length"], 3)])
    assert rc == 0 and res["estimator"] == "sx" and res["binned_columns"] == ["sepal_length", "petal_length"]
    assert res["atoms"] == pytest.approx(want.atoms, abs=1e-12)
    rc, res = _json(capsys, ["pid", str(path), "--target", "species", "--sources", "sepal_length", "petal_length"])
    assert rc == 2 and "species are discrete" in res["error"] and "--bins N" in res["error"]
    argv = ["pid", str(path), "--target", "petal_width", "--sources", "sepal_length", "petal_length"]
    rc, res = _json(capsys, [*argv, "--measure", "mmi"])
    assert rc == 2 and "--measure mmi takes discrete data" in res["error"]
    rc, res = _json(capsys, [*argv, "--k", "4"])
    want = continuous.sxpid(cols["petal_width"], [cols["sepal_length"], cols["petal_length"]], k=4)
    assert rc == 0 and res["estimator"] == "continuous_sx" and res["k"] == 4
    assert res["continuous_columns"] == ["petal_width", "sepal_length", "petal_length"]
    assert res["atoms"] == pytest.approx(want.atoms, abs=1e-12)


# Bad files: one clear line (or one JSON object), exit code 2, never a traceback
def _bad_files(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "blank.csv").write_text("\n \n\n")
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "garbage.npz").write_bytes(b"PK\x03\x04" + bytes(range(256)))
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY" + bytes(range(256)))
    (tmp_path / "text.npz").write_text("a,b\n1,2\n")
    (tmp_path / "latin1.csv").write_bytes("a,b\ncaf\xe9,1\nthe,2\n".encode("latin-1"))
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3,4,5\n")
    (tmp_path / "dup.csv").write_text("a,a\n1,2\n")
    return {
        "nope.csv": "no such file",
        "dir.csv": "is a directory",
        "empty.csv": "is empty (0 bytes)",
        "header.csv": "has a header but no data rows",
        "blank.csv": "could not be read as a CSV/TSV table",
        "garbage.csv": "is a binary file, not a text table",
        "garbage.npz": "could not be read as an .npz archive",
        "garbage.npy": "could not be read as a .npy array",
        "text.npz": "is not a .npz file",
        "latin1.csv": "is not UTF-8 text",
        "ragged.csv": "Expected 2 fields in line 3, saw 3",
        "dup.csv": "names column(s) 'a' more than once",
    }


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    for name, message in _bad_files(tmp_path).items():
        argv = ["mi", str(tmp_path / name), "--x", "a", "--y", "b"]
        assert main(argv) == 2, name
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.count("\n") == 1, (name, cap.err)
        assert cap.err.startswith("pidlearn mi: error: ") and message in cap.err and name in cap.err, cap.err
        rc, res = _json(capsys, argv)
        assert rc == 2 and set(res) == {"command", "error"} and message in res["error"], (name, res)
        assert main(["pid", str(tmp_path / name), "--target", "a", "--sources", "b", "c"]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_long_fields_and_huge_integers_are_labels(tmp_path, capsys):
    path = tmp_path / "odd.csv"
    big = ["1" * 30, "2" * 30, "3" * 30]
    rows = [f'"{"x" * 200_000 if i == 0 else "y"}",{big[i % 3]},{i % 3}' for i in range(30)]
    path.write_text("text,id,k\n" + "\n".join(rows) + "\n")
    names, cols = read_table(path)
    assert names == ["text", "id", "k"] and len(cols["text"][0]) == 200_000 and cols["id"][0] == "1" * 30
    rc, res = _json(capsys, ["mi", str(path), "--x", "id", "--y", "k"])
    assert rc == 0 and res["estimator"] == "plugin" and res["mutual_information"] == pytest.approx(np.log2(3))
    assert res["discrete_columns"] == ["id", "k"]


def test_read_table_types_and_missing(tmp_path):
    path = tmp_path / "types.csv"
    path.write_text('i,f,w,b,s\n1,1.0,1.5,True,"a, b"\n2,2.0,2.5,false,c\n3,3.0,,True,d\n')
    with pytest.raises(ValueError, match=r"column 'w' has a missing value .* in row 3 "):
        read_table(path)
    sel = select_table(path, {"--x": ["i", "f", "b", "s"], "--y": ["w"]}, dropna=True)
    assert sel.n_dropped == 1 and sel.n_rows == 2
    assert {nm: sel.kind(nm) for nm in sel.columns} == {
        "i": "discrete",
        "f": "continuous",  # a decimal point makes a float column, even of whole numbers
        "b": "discrete",
        "s": "discrete",
        "w": "continuous",
    }
    assert sel.columns["i"].dtype == np.int64 and sel.columns["s"].tolist() == ["a, b", "c"]
    assert sel.columns["b"].dtype == bool


def test_wine_and_diabetes_tables(tmp_path, capsys):
    path, cols, labels = _write_csv(tmp_path / "wine.csv", "load_wine")
    rc, res = _json(capsys, ["mi", str(path), "--x", "alcohol", "--y", "class", "--bins", "5"])
    assert rc == 0 and res["n_samples"] == 178
    want = discrete.mutual_information(discretise(cols["alcohol"], 5), labels)
    assert res["mutual_information"] == pytest.approx(want, abs=1e-12)
    path, cols, target = _write_csv(tmp_path / "diabetes.csv", "load_diabetes", label="target")
    rc, res = _json(capsys, ["mi", str(path), "--x", "bmi", "--y", "target", "--estimator", "copula"])
    est = {"estimator": "copula"}
    assert rc == 0 and res["estimator"] == "copula" and res["continuous_columns"] == ["bmi", "target"]
    assert res["mutual_information"] == pytest.approx(continuous.mutual_information(cols["bmi"], target, **est))


def test_usage_errors_are_one_line_and_exit_2(capsys):
    # argparse's own errors (missing or unknown arguments, unknown commands) are reported like every other error
    assert main(["mi", "--json"]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and json.loads(out) == {
        "command": "mi",
        "error": "the following arguments are required: file, --x, --y (see pidlearn mi --help)",
    }
    assert main(["mi", "data.csv", "--x", "a", "--y", "b", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pidlearn mi: error: unrecognized arguments: --bogus")
    assert main(["nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_npz_and_npy_of_raw_bytes_or_complex_are_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "raw.npz", a=np.frombuffer(rng.bytes(64), dtype="V8"))
    np.save(tmp_path / "cplx.npy", np.ones((4, 2), dtype=complex))
    assert main(["mi", str(tmp_path / "raw.npz"), "--x", "a", "--y", "a"]) == 2
    assert "array 'a' has dtype |V8 (raw bytes)" in capsys.readouterr().err
    assert main(["mi", str(tmp_path / "cplx.npy"), "--x", "0", "--y", "1"]) == 2
    assert "its array has dtype complex128" in capsys.readouterr().err
