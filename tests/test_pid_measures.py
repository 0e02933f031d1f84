"""pid(measure=...): SxPID and the measures delegated to dit; the ``pidlearn pid`` subcommand."""

from __future__ import annotations

import csv
import json
import math
import sys

import numpy as np
import pytest

from pidlearn.discrete import entropy, mutual_information
from pidlearn.lattice import lattice
from pidlearn.measures import MEASURES, pid, pid_from_pmf
from pidlearn.sxpid import sxpid

S1 = np.array([0, 0, 1, 1] * 5)
S2 = np.array([0, 1, 0, 1] * 5)
AND = S1 & S2


def test_sx_is_ours():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 3, size=(100, 3))
    t = (s[:, 0] + s[:, 2]) % 3
    a, b = pid(t, s, "sx"), sxpid(t, s)
    assert a.atoms == b.atoms and a.local is not None
    assert pid(t, s, "SxPID").atoms == b.atoms


def test_unknown_measure():
    with pytest.raises(ValueError, match=r"unknown PID measure 'nope'.*broja"):
        pid(AND, [S1, S2], "nope")
    with pytest.raises(TypeError):
        pid(AND, [S1, S2], 3)


def test_missing_dit_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dit", None)
    with pytest.raises(ImportError, match=r'pip install "pidlearn\[dit\]"'):
        pid(AND, [S1, S2], "mmi")
    assert pid(AND, [S1, S2], "sx").synergy > 0  # SxPID never needs dit


def test_mmi_matches_its_formula():
    pytest.importorskip("dit")
    rng = np.random.default_rng(1)
    s = rng.integers(0, 3, size=(300, 2))
    t = np.where(rng.random(300) < 0.2, rng.integers(0, 3, 300), (s[:, 0] * s[:, 1]) % 3)
    res = pid(t, s, "mmi")
    i1, i2, i12 = mutual_information(t, s[:, 0]), mutual_information(t, s[:, 1]), mutual_information(t, s)
    red = min(i1, i2)
    assert res.redundancy == pytest.approx(red, abs=1e-9)
    assert res.unique(1) == pytest.approx(i1 - red, abs=1e-9)
    assert res.unique(2) == pytest.approx(i2 - red, abs=1e-9)
    assert res.synergy == pytest.approx(i12 - i1 - i2 + red, abs=1e-9)
    assert res.mutual_information == pytest.approx(i12, abs=1e-12)
    assert res.entropy_target == pytest.approx(entropy(t), abs=1e-12)
    assert res.local is None and res.informative is None and res.misinformative is None
    assert res.measure == "mmi"


@pytest.mark.parametrize("measure", ["imin", "broja", "PID_WB"])
def test_and_gate_literature_values(measure):
    """AND of two fair bits: I_min and I_BROJA both give redundancy 0.311 (= I(T;S_i)), no unique, synergy 1/2."""
    pytest.importorskip("dit")
    res = pid(AND, [S1, S2], measure)
    i1 = -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)) - 0.5  # H(T) - H(T|S1) = 0.811278 - 0.5
    assert res.redundancy == pytest.approx(i1, abs=1e-6)
    assert res.unique(1) == pytest.approx(0.0, abs=1e-6)
    assert res.synergy == pytest.approx(0.5, abs=1e-6)
    assert list(res.atoms) == list(lattice(2).names)


def test_three_sources_names_and_sum():
    pytest.importorskip("dit")
    rng = np.random.default_rng(2)
    s = rng.integers(0, 2, size=(40, 3))
    t = s[:, 0] ^ (s[:, 1] & s[:, 2])
    res = pid(t, s, "ccs", base=math.e)
    assert res.atom_names == lattice(3).names
    assert sum(res.atoms.values()) == pytest.approx(mutual_information(t, s, base=math.e), abs=1e-9)
    assert res.unit == "nats"
    with pytest.raises(ValueError, match="two sources"):
        _ = res.synergy


def test_sx_dit_agrees_with_ours_on_a_pmf():
    pytest.importorskip("dit")
    rng = np.random.default_rng(3)
    p = rng.random((2, 3, 2)) + 0.1
    p /= p.sum()
    np.testing.assert_allclose(pid_from_pmf(p, "sx_dit").values, pid_from_pmf(p).values, atol=1e-9)


def test_measure_table_is_documented():
    assert "sx" in MEASURES and MEASURES["sx"][0] is None
    for key in ("imin", "mmi", "broja", "ccs", "dep"):
        assert MEASURES[key][0].startswith("PID_")


def test_bad_input_goes_through_the_same_checks():
    with pytest.raises(ValueError, match="at least 2 sources"):
        pid(AND, [S1], "mmi")
    with pytest.raises(ValueError, match="mismatched"):
        pid(AND, [S1, S2[:-1]], "mmi")


# --------------------------------------------------------------------------------------------------------------------
# CLI
@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(4)
    s = rng.integers(0, 2, size=(64, 3))
    path = tmp_path / "data.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "c", "xor"])
        for row in s:
            w.writerow([*row.tolist(), int(row[0] ^ row[1])])
    return path, s


def test_cli_json_and_local(table, tmp_path, capsys):
    from pidlearn.cli import main

    path, s = table
    out = tmp_path / "local.csv"
    rc = main(["pid", str(path), "--target", "xor", "--sources", "a", "b", "--json", "--local", str(out)])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    ref = sxpid(s[:, 0] ^ s[:, 1], s[:, :2])
    assert payload["atoms"] == pytest.approx(ref.atoms)
    assert payload["sources"] == {"1": "a", "2": "b"} and payload["measure"] == "sx"
    rows = list(csv.reader(out.open()))
    assert rows[0] == list(ref.atom_names) and len(rows) == 65
    np.testing.assert_allclose(np.array(rows[1:], dtype=float), ref.local, atol=1e-12)


def test_cli_text(table, capsys):
    from pidlearn.cli import main

    path, _ = table
    assert main(["pid", str(path), "--target", "xor", "--sources", "a", "b", "c"]) == 0
    text = capsys.readouterr().out
    assert "{12}{13}{23}" in text and "1 = a" in text


def test_cli_errors(table, capsys):
    from pidlearn.cli import main

    path, _ = table
    assert main(["pid", str(path), "--target", "xor", "--sources", "a", "xor", "--json"]) != 0
    assert "target" in json.loads(capsys.readouterr().out)["error"]
    assert main(["pid", str(path), "--target", "xor", "--sources", "a", "--json"]) != 0
    assert "at least 2" in json.loads(capsys.readouterr().out)["error"]
    assert main(["pid", str(path), "--target", "xor", "--sources", "a", "zz", "--json"]) != 0
    assert "zz" in json.loads(capsys.readouterr().out)["error"]
