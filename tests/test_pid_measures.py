"""pid(measure=...): SxPID and the measures delegated to dit; the ``pidlearn pid`` subcommand."""

from __future__ import annotations

import csv
import json
import math
import sys
import time

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
        pid(AND, [S1, S2], "mmi_dit")  # "mmi" itself is native now
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
# Every measure against the values in dit's own test suite (dit/dit, tests/pid/test_<file>.py; dit 2.3), on the same
# distributions (dit.pid.distributions), reached through pid() on samples that reproduce the distribution exactly and
# through pid_from_pmf. Only the numbers are ported; atoms a dit test does not assert are not checked unless the test
# says "all other atoms are 0" (rest0). Measures slower than ~5 s on these tiny distributions are in the slow set.
L3 = math.log2


def _markov_chain():
    """X -> Y -> Z with the transition matrices of dit's tests/pid/test_ict.py::_markov_chain (integer outcomes)."""
    import dit

    px, py_x, pz_y = [0.5, 0.5], [[0.8, 0.2], [0.3, 0.7]], [[0.9, 0.1], [0.2, 0.8]]
    cells = [((x, y, z), px[x] * py_x[x][y] * pz_y[y][z]) for x in range(2) for y in range(2) for z in range(2)]
    return dit.Distribution([c for c, _ in cells], [p for _, p in cells])


_AND = {"{1}{2}": 0.31127812445913294, "{1}": 0.0, "{2}": 0.0, "{12}": 0.5}
_DIFF_UNQ = {"{1}{2}": 0.12255624891826589, "{1}": 0.18872187554086706, "{2}": 0.18872187554086706, "{12}": 0.0}
_RDN = {"{1}{2}": 1.0, "{1}": 0.0, "{2}": 0.0, "{12}": 0.0}
_SYN = {"{1}{2}": 0.0, "{1}": 0.0, "{2}": 0.0, "{12}": 1.0}
_UNQ1 = {"{1}{2}": 0.0, "{1}": 0.0, "{2}": 1.0, "{12}": 0.0}
_CAT = {"{1}{2}": 0.0, "{1}": 1.0, "{2}": 1.0, "{12}": 0.0}
_RDR_ROR = {"{1}{2}": 0.31127812445913305, "{1}": 0.0, "{2}": 0.0, "{12}": 0.6887218755408672}
_CCS_ANDDUP = {"{1}{2}{3}": 0.10375937481971094, "{1}{3}": 0.20751874963942191, "{2}": 0.20751874963942191}
_CCS_ANDDUP |= dict.fromkeys(["{3}{12}", "{1}{23}", "{12}{13}", "{12}{23}", "{13}{23}", "{123}"], 0.14624062518028902)
_CCS_ANDDUP |= dict.fromkeys(["{3}", "{1}", "{12}{13}{23}", "{13}"], -0.14624062518028902)
_SUM3 = {"{1}{2}{3}": 0.31127812445913294, "{12}{13}{23}": 0.5, "{123}": 1.0}
_GK_SUM3 = dict.fromkeys(["{123}", "{1}", "{2}", "{3}"], 0.31127812445913294)
_GK_SUM3 |= dict.fromkeys(["{12}", "{13}", "{23}"], 0.18872187554086706)
_SX_SYN3 = {
    "{1}": L3(5 / 4), "{2}": L3(5 / 4), "{3}": L3(5 / 4), "{12}": L3(9 / 8), "{13}": L3(9 / 8), "{23}": L3(9 / 8),
    "{123}": L3(32 / 27), "{1}{2}": L3(7 / 8), "{1}{3}": L3(7 / 8), "{1}{23}": L3(32 / 35), "{2}{3}": L3(7 / 8),
    "{2}{13}": L3(32 / 35), "{3}{12}": L3(32 / 35), "{12}{13}": L3(16 / 15), "{12}{23}": L3(16 / 15),
    "{13}{23}": L3(16 / 15), "{1}{2}{3}": L3(8 / 7), "{12}{13}{23}": L3(875 / 1024),
}  # fmt: skip
_SX = {  # test_isx.py
    ("bi", "pnt. unq."): ({"{1}{2}": 0.0, "{1}": 0.5, "{2}": 0.5, "{12}": 0.0}, False, 1e-9),
    ("bi", "unique 1"): ({"{1}{2}": L3(4 / 3), "{1}": -L3(4 / 3), "{2}": L3(3 / 2), "{12}": L3(4 / 3)}, False, 1e-9),
    ("bi", "reduced or"): (
        {
            "{1}{2}": L3(4 / 3) / 2 - 0.5,
            "{1}": L3(4 / 3) / 2 + L3(3) / 4,
            "{2}": L3(4 / 3) / 2 + L3(3) / 4,
            "{12}": L3(9 / 8) / 2,
        },
        False,
        1e-9,
    ),
    ("tri", "synergy"): (_SX_SYN3, False, 1e-9),
}
_DEG_MC = {  # test_ideg.py and test_imc.py (same values): uniques and redundancy; synergy only where asserted
    ("bi", "and"): ({"{1}{2}": 0.3113, "{1}": 0.0, "{2}": 0.0}, False, 1e-3),
    ("bi", "sum"): ({"{1}{2}": 0.5, "{1}": 0.0, "{2}": 0.0}, False, 1e-3),
    ("bi", "unique 1"): ({"{1}{2}": 0.0, "{1}": 0.0, "{2}": 1.0}, False, 1e-3),
    ("bi", "redundant"): (_RDN, False, 1e-3),
    ("bi", "synergy"): (_SYN, False, 1e-3),
    ("bi", "cat"): ({"{1}{2}": 0.0, "{1}": 1.0, "{2}": 1.0}, False, 1e-3),
}
# measure -> {(bi|tri|custom, distribution): (expected atoms, rest0, abs tolerance)}; file: tests/pid/test_i<...>.py
DIT_TEST_VALUES = {
    "broja": {  # test_ibroja.py (reduced or: test_irdr.py "same as broja", test_ibroja.py broja == proj)
        ("bi", "diff"): (_DIFF_UNQ, False, 1e-4),
        ("tri", "anddup"): ({"{1}{2}{3}": 0.31127812445913305, "{12}{23}": 0.5}, True, 1e-4),
        ("bi", "reduced or"): (_RDR_ROR, False, 1e-4),
    },
    "ccs": {  # test_iccs.py
        ("bi", "gband"): ({"{1}{2}": 0.81127812445913283, "{1}": 0.5, "{2}": 0.5, "{12}": 0.0}, False, 1e-9),
        ("tri", "anddup"): (_CCS_ANDDUP, True, 1e-9),
    },
    "ct": {  # test_ict.py
        ("bi", "reduced or"): ({"{1}{2}": 0.02712, "{1}": 0.28416, "{2}": 0.28416, "{12}": 0.40456}, False, 1e-4),
        ("custom", "markov chain"): ({"{1}{2}": 0.093281}, False, 1e-5),
    },
    "dep": {  # test_idep.py
        ("bi", "reduced or"): (
            {
                "{1}{2}": 0.073761301440421256,
                "{1}": 0.23751682301871169,
                "{2}": 0.23751682301871169,
                "{12}": 0.45120505252215537,
            },
            False,
            1e-4,
        ),
        ("tri", "anddup"): (
            {
                "{1}{2}{3}": 0.081704409646414788,
                "{12}{23}": 0.27042624480113808,
                "{1}{3}": 0.22957374150893717,
                "{2}": 0.22957374150893717,
            },
            True,
            1e-4,
        ),
    },
    "ra": {  # test_idep.py
        ("bi", "and"): ({"{1}{2}": -0.18872, "{1}": 0.5, "{2}": 0.5, "{12}": 0.0}, False, 1e-4),
        ("tri", "cat"): ({"{1}": 1.0, "{2}": 1.0, "{3}": 1.0}, True, 1e-4),
    },
    "gh": {  # test_igh.py
        ("bi", "and"): ({"{1}{2}": 0.1226, "{1}": 0.1887, "{2}": 0.1887, "{12}": 0.3113}, False, 1e-4),
        ("bi", "sum"): ({"{1}{2}": 0.0, "{1}": 0.5, "{2}": 0.5, "{12}": 0.5}, False, 1e-4),
        ("bi", "pnt. unq."): ({"{1}{2}": 0.0, "{1}": 0.5, "{2}": 0.5, "{12}": 0.0}, False, 1e-4),
    },
    "ig": {  # test_iig.py
        ("bi", "and"): ({"{1}{2}": 0.08283, "{1}": 0.22845, "{2}": 0.22845, "{12}": 0.27155}, False, 1e-4),
        ("bi", "reduced or"): ({"{1}{2}": -0.03122, "{1}": 0.34250, "{2}": 0.34250, "{12}": 0.34622}, False, 1e-4),
    },
    "mes": {  # test_imes.py
        ("bi", "pnt. unq."): ({"{1}{2}": 0.25, "{1}": 0.25, "{2}": 0.25, "{12}": 0.25}, False, 1e-4),
    },
    "imin": {  # test_imin.py
        ("bi", "prob. 1"): (
            {"{1}{2}": 0.019973094021974794, "{1}": 0.15097750043269376, "{2}": 0.0, "{12}": 0.0},
            False,
            1e-9,
        ),
        ("tri", "sum"): (_SUM3, True, 1e-9),
    },
    "mmi": {  # test_immi.py
        ("bi", "prob. 1"): (
            {"{1}{2}": 0.019973094021974794, "{1}": 0.15097750043269376, "{2}": 0.0, "{12}": 0.0},
            False,
            1e-9,
        ),
        ("tri", "sum"): (_SUM3, True, 1e-9),
    },
    "pm": {  # test_ipm.py
        ("bi", "pnt. unq."): ({"{1}{2}": 0.0, "{1}": 0.5, "{2}": 0.5, "{12}": 0.0}, False, 1e-9),
        ("bi", "unique 1"): ({"{1}{2}": 1.0, "{1}": -1.0, "{2}": 0.0, "{12}": 1.0}, False, 1e-9),
    },
    "prec": {  # test_iprec.py
        ("bi", "and"): (_AND, False, 1e-3),
        ("bi", "sum"): ({"{1}{2}": 0.5, "{1}": 0.0, "{2}": 0.0, "{12}": 1.0}, False, 1e-3),
    },
    "proj": {  # test_iproj.py
        ("bi", "diff"): (
            {
                "{1}{2}": 0.16503749927884365,
                "{1}": 0.1462406251802893,
                "{2}": 0.1462406251802893,
                "{12}": 0.04248125036057776,
            },
            False,
            1e-6,
        ),
        ("tri", "anddup"): ({"{12}{23}": 0.5, "{1}{2}{3}": 0.31127812445913305}, True, 1e-6),
        ("tri", "xor shared"): ({"{1}{23}": 1.0}, True, 1e-6),
    },
    "rav": {  # test_irav.py
        ("bi", "diff"): (_DIFF_UNQ, False, 1e-6),
        ("tri", "xor shared"): ({"{1}{23}": 1.0}, True, 1e-6),
    },
    "rdr": {  # test_irdr.py (xor cat, dbl xor: dit asserts only complete + consistent)
        ("bi", "diff"): (_DIFF_UNQ, False, 1e-4),
        ("bi", "reduced or"): (_RDR_ROR, False, 1e-4),
        ("tri", "xor cat"): ({}, False, 1e-4),
        ("tri", "dbl xor"): ({}, False, 1e-4),
    },
    "rr": {  # test_irr.py
        ("bi", "diff"): ({"{1}{2}": 0.15107, "{1}": 0.16021, "{2}": 0.16021, "{12}": 0.02851}, False, 1e-5),
        ("tri", "anddup"): ({"{12}{23}": 0.18872, "{1}{3}": 0.31128, "{2}": 0.31128}, True, 1e-5),
    },
    "gk": {  # test_iwedge.py
        ("bi", "imp. rdn"): ({"{1}{2}": 0.0, "{1}": 1.0, "{2}": 0.98959, "{12}": -0.98959}, False, 1e-5),
        ("tri", "sum"): (_GK_SUM3, True, 1e-9),
    },
    "deg": _DEG_MC,
    "mc": _DEG_MC,
    "do": {  # test_ido.py
        ("bi", "redundant"): (_RDN, False, 1e-9),
        ("bi", "synergy"): (_SYN, False, 1e-9),
        ("bi", "unique 1"): (_UNQ1, False, 1e-9),
        ("bi", "cat"): (_CAT, False, 1e-9),
        ("bi", "sum"): ({"{1}{2}": 2 * (0.375 * L3(1.5) + 0.125 * L3(0.5))}, False, 1e-9),
    },
    "ipid": {  # test_iipid.py ("and": dit asserts only symmetry)
        ("bi", "redundant"): (_RDN, False, 1e-3),
        ("bi", "synergy"): (_SYN, False, 1e-3),
        ("bi", "cat"): (_CAT, False, 1e-3),
        ("bi", "unique 1"): (_UNQ1, False, 1e-3),
        ("bi", "sum"): ({"{1}{2}": 0.5, "{1}": 0.0, "{2}": 0.0, "{12}": 1.0}, False, 1e-2),
    },
    "delta": {  # test_idelta.py
        ("bi", "synergy"): (_SYN, False, 1e-4),
        ("bi", "redundant"): (_RDN, False, 1e-4),
        ("bi", "and"): ({"{1}{2}": 0.311268, "{1}": 0.0, "{2}": 0.0, "{12}": 0.5}, False, 1e-4),
    },
    "sx_dit": _SX,
    "sx": _SX,  # pidlearn's own SxPID must give dit's PID_SX test values too
    "skar_nw": {("bi", "sum"): ({"{1}{2}": 0.5, "{1}": 0.0, "{2}": 0.0, "{12}": 1.0}, False, 1e-4)},  # test_iskar.py
    "skar_owa": {("bi", "pnt. unq."): ({"{1}{2}": 0.0, "{1}": 0.5, "{2}": 0.5, "{12}": 0.0}, False, 1e-4)},
    "skar_owb": {
        ("bi", "pnt. unq."): ({"{1}{2}": 0.5, "{1}": 0.0, "{2}": 0.0, "{12}": 0.5}, False, 1e-4),
        ("bi", "prob. 2"): ({"{1}{2}": 0.31128, "{1}": 0.0, "{2}": 0.18872, "{12}": 0.5}, False, 1e-4),
    },
    "skar_tw": {("bi", "erase"): ({"{1}{2}": 0.125, "{1}": 0.125, "{2}": 0.125, "{12}": 0.0}, False, 1e-4)},
    # dit has no test file for PID_DeltaLambda: test_measures_without_dit_test_values compares it with dit directly
}
# (measure, distribution) cases that take > ~5 s here (optimisations); run with -m slow
SLOW = (
    {("deg", d) for (_, d) in _DEG_MC}
    | {("mc", d) for (_, d) in _DEG_MC}
    | {("skar_tw", "erase"), ("skar_owb", "prob. 2"), ("skar_owa", "pnt. unq.")}
)
SLOW |= {("gh", "and"), ("gh", "sum"), ("gh", "pnt. unq."), ("delta", "and"), ("delta", "redundant"), ("dep", "anddup")}
SLOW |= {("ra", "cat"), ("rav", "xor shared")}
CASES = [(m, kind, d) for m, table in DIT_TEST_VALUES.items() for (kind, d) in table]


def _dit_dist(kind: str, name: str):
    from dit.pid.distributions import bivariates, trivariates

    if kind == "custom":
        return {"markov chain": _markov_chain}[name]()
    return (bivariates if kind == "bi" else trivariates)[name]


def _samples(dist):
    """Rows (sources..., target) whose empirical distribution is exactly ``dist`` (its pmf is rational)."""
    from fractions import Fraction

    d = dist.copy(base="linear")
    fracs = [Fraction(float(p)).limit_denominator(10_000) for p in d.pmf]
    n = math.lcm(*(f.denominator for f in fracs))
    rows = [list(map(str, o)) for o, f in zip(d.outcomes, fracs, strict=True) for _ in range(int(f * n))]
    arr = np.array(rows, dtype=object)
    assert abs(sum(fracs) - 1) == 0 and len(arr) == n
    return arr[:, -1], [arr[:, j] for j in range(arr.shape[1] - 1)]


# dit marks the tests of these stochastic optimisers @pytest.mark.flaky(reruns=5); here: up to 5 seeded attempts
DIT_FLAKY = {"broja", "gh", "mes", "deg", "mc", "ipid", "skar_owa", "skar_owb", "skar_tw"}


def _check_atoms(res, measure, name, expected, rest0, tol):
    got = res.atoms
    assert set(expected) <= set(got)
    for atom, value in expected.items():
        assert got[atom] == pytest.approx(value, abs=tol), f"{measure} on {name!r}: atom {atom}"
    if rest0:
        others = {a: v for a, v in got.items() if a not in expected}
        assert others == pytest.approx(dict.fromkeys(others, 0.0), abs=tol)
    assert sum(got.values()) == pytest.approx(res.mutual_information, abs=1e-4)


def _check_dit_values(measure: str, kind: str, name: str):
    pytest.importorskip("dit")
    if measure == "prec":
        pytest.importorskip("pypoman", reason="dit's PID_Prec needs pypoman")
    expected, rest0, tol = DIT_TEST_VALUES[measure][(kind, name)]
    dist = _dit_dist(kind, name)
    target, sources = _samples(dist)
    calls = {
        "pid": lambda: pid(target, sources, measure, max_seconds=None),
        "pid_from_pmf": lambda: pid_from_pmf(dist, measure, max_seconds=None),
    }
    for call in calls.values():
        attempts = 5 if measure in DIT_FLAKY else 1
        for attempt in range(attempts):
            np.random.seed(attempt)  # noqa: NPY002 - dit's optimisers draw starting points from this generator
            res = call()
            try:
                _check_atoms(res, measure, name, expected, rest0, tol)
                break
            except AssertionError:
                if attempt == attempts - 1:
                    raise
        assert res.n_sources == len(sources) and res.measure == measure


@pytest.mark.filterwarnings(r"ignore:I\(T;S\) = .* is a plug-in estimate")  # tiny exact samples, by design
@pytest.mark.parametrize(
    ("measure", "kind", "name"), [c for c in CASES if (c[0], c[2]) not in SLOW], ids=lambda v: str(v)
)
def test_measures_give_dits_test_values(measure, kind, name):
    _check_dit_values(measure, kind, name)


# dit itself did not finish these within 15 minutes on this project's 2-core machine
DIT_DOES_NOT_FINISH = {("skar_tw", "erase")}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("measure", "kind", "name"),
    [
        pytest.param(*c, marks=pytest.mark.skip(reason="dit's own computation did not finish in 15 min here"))
        if (c[0], c[2]) in DIT_DOES_NOT_FINISH
        else c
        for c in CASES
        if (c[0], c[2]) in SLOW
    ],
    ids=lambda v: str(v),
)
def test_slow_measures_give_dits_test_values(measure, kind, name):
    _check_dit_values(measure, kind, name)


def test_every_measure_is_covered():
    assert set(MEASURES) == set(DIT_TEST_VALUES) | {"deltalambda"}


@pytest.mark.parametrize("name", ["and", "diff"])
def test_measures_without_dit_test_values(name):
    """dit has no test file for PID_DeltaLambda: it must agree with dit run on dit's own distribution."""
    dit = pytest.importorskip("dit")
    dist = _dit_dist("bi", name)
    ref = dit.pid.PID_DeltaLambda(dist)
    res = pid(*_samples(dist), "deltalambda")
    assert res.atoms["{1}{2}"] == pytest.approx(ref[((0,), (1,))], abs=1e-4)
    assert res.atoms["{12}"] == pytest.approx(ref[((0, 1),)], abs=1e-4)


def test_integer_labels_are_not_mishandled():
    """Regression: integer outcomes made dit's PID_RDR return zeros and PID_Proj raise; AND gives I_min's values."""
    pytest.importorskip("dit")
    for measure in ("rdr", "proj"):
        assert pid(AND, [S1, S2], measure).atoms == pytest.approx(dict(_AND), abs=1e-6)
    p = np.zeros((2, 2, 2))
    p[0, 0, 0] = p[0, 1, 0] = p[1, 0, 0] = p[1, 1, 1] = 0.25
    assert pid_from_pmf(p, "rdr").atoms == pytest.approx(dict(_AND), abs=1e-6)


def test_undetermined_atoms_are_refused():
    """dit's BROJA on 3 sources of xor cat leaves atoms undetermined (dit: `not pid.complete`): a clear error."""
    pytest.importorskip("dit")
    dist = _dit_dist("tri", "xor cat")
    with pytest.raises(ValueError, match=r"PID_BROJA leaves 4 of the 18 atoms.*undetermined.*\{12\}\{13\}.*'sx'"):
        pid_from_pmf(dist, "broja")
    with pytest.raises(ValueError, match="undetermined"):
        pid(*_samples(dist), "proj")


@pytest.mark.parametrize("measure", ["ipid", "deltalambda", "mes"])
def test_two_source_measures_refuse_three_up_front(measure, monkeypatch):
    pytest.importorskip("dit")
    import dit.pid

    monkeypatch.setattr(dit.pid, MEASURES[measure][0], None)  # refused before dit is ever called
    s = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 0], [1, 1, 0]] * 2)
    with pytest.raises(ValueError, match=rf"'{measure}'.*only defined for 2 sources, got 3.*'sx', 'imin'"):
        pid(s[:, 0] ^ s[:, 1], s, measure)


def test_prec_without_pypoman_is_a_clear_import_error(monkeypatch):
    pytest.importorskip("dit")
    monkeypatch.setitem(sys.modules, "pypoman", None)
    with pytest.raises(ImportError, match="pip install pypoman"):
        pid(AND, [S1, S2], "prec")


def test_time_limit_stops_a_slow_measure():
    pytest.importorskip("dit")
    import multiprocessing

    from pidlearn.measures import MeasureTimeoutError

    rng = np.random.default_rng(0)
    s, t = rng.integers(0, 3, size=(30, 2)), rng.integers(0, 3, size=30)
    pid(t, s, "mmi")  # compile the counting code first, so that the clock below times dit only
    t0 = time.perf_counter()
    with pytest.raises(MeasureTimeoutError, match=r"'skar_tw' did not finish within max_seconds=0.5 s") as info:
        pid(t, s, "skar_tw", max_seconds=0.5)
    assert time.perf_counter() - t0 < 10
    assert isinstance(info.value, ValueError) and isinstance(info.value, TimeoutError)
    assert multiprocessing.active_children() == []  # the computation was stopped, not left running


def test_max_seconds_is_checked():
    pytest.importorskip("dit")
    with pytest.raises(ValueError, match="max_seconds must be > 0"):
        pid(AND, [S1, S2], "mmi", max_seconds=0)
    with pytest.raises(TypeError, match="max_seconds"):
        pid(AND, [S1, S2], "mmi", max_seconds="10")
    assert pid(AND, [S1, S2], "mmi", max_seconds=None).atoms == pytest.approx(pid(AND, [S1, S2], "mmi").atoms)


def test_dit_errors_are_value_errors(monkeypatch):
    pytest.importorskip("dit")
    import dit.pid

    class Broken:
        def __init__(self, *args, **kwargs):
            raise KeyError("boom")

    monkeypatch.setattr(dit.pid, "PID_MMI", Broken)
    with pytest.raises(ValueError, match=r"dit's PID_MMI failed on this 2-source distribution.*boom"):
        pid(AND, [S1, S2], "mmi_dit", max_seconds=None)
    with pytest.raises(ValueError, match=r"dit's PID_MMI failed.*boom"):
        pid(AND, [S1, S2], "mmi_dit")  # the same through the time-limited (forked) call


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
