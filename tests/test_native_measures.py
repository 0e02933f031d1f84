"""pidlearn's own I_min, I_MMI, I_ccs, I_dep and I_BROJA (pidlearn.redundancy) against dit's PID_WB, PID_MMI,
PID_CCS, PID_dep and PID_BROJA, and against independent naive computations."""

from __future__ import annotations

import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pidlearn.discrete import mutual_information
from pidlearn.lattice import lattice
from pidlearn.measures import pid, pid_from_pmf
from pidlearn.redundancy import NATIVE
from tests.test_pid_measures import DIT_TEST_VALUES, _check_atoms, _dit_dist, _samples

ANY_SOURCES = ("imin", "mmi", "ccs")
TWO_SOURCES = ("dep", "broja")
MEASURES = ANY_SOURCES + TWO_SOURCES
# ccs: dit's max-ent IPF stops at a marginal deviation of 1e-10; broja: dit's optimisers (SLSQP with restarts) stop
# ~1e-6 from the optimum, and further on some distributions (DIT_BROJA_INEXACT)
TOL = {"imin": 1e-9, "mmi": 1e-9, "ccs": 1e-8, "dep": 1e-9, "broja": 1e-6}
DIT_CLASS = {"imin": "PID_WB", "mmi": "PID_MMI", "ccs": "PID_CCS", "dep": "PID_dep", "broja": "PID_BROJA"}
# dit's max-ent distribution is inexact on these (its IPF stalls on induced zeros and its SLSQP fallback misses the
# constraints by ~5e-5): dit's I_ccs is off by up to 1.2e-4 bits there; ours meets the constraints to 1e-14
DIT_MAXENT_INEXACT = {("tri", "sum"), ("bi", "rand"), ("bi", "jeff")}
S1 = np.array([0, 0, 1, 1] * 5)
S2 = np.array([0, 1, 0, 1] * 5)


def _pmf(shape, seed):
    p = np.random.default_rng(seed).random(shape) + 0.05
    return p / p.sum()


@pytest.mark.filterwarnings(r"ignore:I\(T;S\) = .* is a plug-in estimate")
@pytest.mark.parametrize(
    ("measure", "kind", "name"),
    [(m, k, d) for m in MEASURES for (k, d) in DIT_TEST_VALUES[m] if m in ANY_SOURCES or k == "bi"],
    ids=str,
)
def test_dits_own_test_values(measure, kind, name):
    pytest.importorskip("dit")
    expected, rest0, tol = DIT_TEST_VALUES[measure][(kind, name)]
    dist = _dit_dist(kind, name)
    for res in (pid(*_samples(dist), measure), pid_from_pmf(dist, measure)):
        _check_atoms(res, measure, name, expected, rest0, tol)
        assert res.measure == measure and res.atom_names == lattice(res.n_sources).names


def _dit_cases():
    pytest.importorskip("dit")
    from dit.pid.distributions import bivariates, trivariates

    return [("bi", n) for n in bivariates] + [("tri", n) for n in trivariates]


def _dit_atoms(cls, dist, n_sources):
    ref = cls(dist)
    lat = lattice(n_sources)
    theirs = np.empty(lat.n_atoms)
    for node in ref._lattice:
        theirs[lat.index([[i + 1 for i in a] for a in node])] = ref.get_pi(node)
    return theirs


@pytest.mark.parametrize("measure", ANY_SOURCES)
def test_equal_to_dit_on_dits_distributions(measure):
    dit_pid = pytest.importorskip("dit.pid")
    cls = getattr(dit_pid, DIT_CLASS[measure])
    worst = 0.0
    for kind, name in _dit_cases():
        dist = _dit_dist(kind, name)
        ours = pid_from_pmf(dist, measure)
        ref = cls(dist)
        lat = lattice(ours.n_sources)
        theirs = np.empty(lat.n_atoms)
        for node in ref._lattice:
            theirs[lat.index([[i + 1 for i in a] for a in node])] = ref.get_pi(node)
        err = float(np.abs(ours.values - theirs).max())
        if (kind, name) in DIT_MAXENT_INEXACT and measure == "ccs":
            assert err < 2e-4, (kind, name)
            continue
        assert err <= TOL[measure], (kind, name, err)
        worst = max(worst, err)
    assert worst <= TOL[measure]


@pytest.mark.parametrize("measure", ANY_SOURCES)
@pytest.mark.parametrize(("shape", "seed"), [((2, 2, 2), 0), ((3, 4, 2), 1), ((4, 4, 4), 2), ((2, 2, 2, 2), 3)])
def test_equal_to_dit_on_random_pmfs(measure, shape, seed):
    pytest.importorskip("dit")
    p = _pmf(shape, seed)
    ours = pid_from_pmf(p, measure)
    theirs = pid_from_pmf(p, f"{measure}_dit", max_seconds=None)
    assert theirs.measure == f"{measure}_dit" and ours.measure == measure
    np.testing.assert_allclose(ours.values, theirs.values, rtol=0, atol=TOL[measure])
    assert ours.mutual_information == pytest.approx(theirs.mutual_information, abs=1e-12)


def test_equal_to_dit_on_random_samples_three_sources():
    pytest.importorskip("dit")
    rng = np.random.default_rng(5)
    s = rng.integers(0, 3, size=(200, 3))
    t = np.where(rng.random(200) < 0.3, rng.integers(0, 2, 200), (s[:, 0] + s[:, 1] * s[:, 2]) % 2)
    for measure in ANY_SOURCES:
        np.testing.assert_allclose(
            pid(t, s, measure).values, pid(t, s, f"{measure}_dit", max_seconds=None).values, atol=TOL[measure]
        )


def test_native_measures_need_no_dit(monkeypatch):
    monkeypatch.setitem(sys.modules, "dit", None)
    # AND; ccs and dep: dit's PID_CCS and PID_dep give the same
    expected = {"imin": 0.5, "mmi": 0.5, "ccs": 0.29248125036057815, "dep": 0.27042604, "broja": 0.5}
    for measure in MEASURES:
        assert pid(S1 & S2, [S1, S2], measure).synergy == pytest.approx(expected[measure], abs=1e-8)
    with pytest.raises(ImportError, match="pidlearn\\[dit\\]"):
        pid(S1 & S2, [S1, S2], "imin_dit")
    assert set(NATIVE) == set(MEASURES)


def test_local_atoms():
    rng = np.random.default_rng(7)
    s = rng.integers(0, 3, size=(500, 2))
    t = (s[:, 0] + rng.integers(0, 2, 500) * s[:, 1]) % 3
    imin = pid(t, s, "imin")
    assert imin.local.shape == (500, 4)
    np.testing.assert_allclose(imin.local.mean(axis=0), imin.values, atol=1e-12)  # per-target atoms average to atoms
    for v in np.unique(t):  # they depend on the target value only
        assert np.ptp(imin.local[t == v], axis=0).max() == 0
    for measure in ("mmi", "dep", "broja"):
        assert pid(t, s, measure).local is None
    ccs = pid(t, s, "ccs")
    assert ccs.local.shape == (500, 4)
    # single-set antichains are evaluated on the data's own distribution: local redundancies average to I(T; S_A)
    m = lattice(2).zeta.toarray()
    red_local = ccs.local @ m.T
    assert red_local[:, 3].mean() == pytest.approx(mutual_information(t, s), abs=1e-9)
    assert red_local[:, 1].mean() == pytest.approx(mutual_information(t, s[:, 0]), abs=1e-9)
    p = _pmf((2, 3, 2), 8)
    res = pid_from_pmf(p, "ccs")
    assert res.local.shape == (12, 4) and res.realisations.shape == (12, 3)


_pmfs = st.tuples(st.integers(0, 2**32 - 1), st.sampled_from([(2, 2, 2), (3, 2, 3), (2, 2, 2, 2), (2, 3, 2, 2)]))


@settings(max_examples=25, deadline=None)
@given(_pmfs, st.sampled_from(MEASURES))
def test_invariants(case, measure):
    seed, shape = case
    if measure in TWO_SOURCES:
        shape = shape[:2] + shape[-1:]
    rng = np.random.default_rng(seed)
    p = rng.random(shape) * (rng.random(shape) < 0.8)
    p.flat[0] += 0.01
    p /= p.sum()
    res = pid_from_pmf(p, measure)
    n = len(shape) - 1
    assert sum(res.atoms.values()) == pytest.approx(res.mutual_information, abs=1e-9)
    if n == 2:
        for i in (1, 2):
            marg = p.sum(axis=1 if i == 1 else 0)  # p(s_i, t)
            pt = marg.sum(axis=0)
            ps = marg.sum(axis=1)
            nz = marg > 0
            mi = float((marg[nz] * np.log2(marg[nz] / np.outer(ps, pt)[nz])).sum())
            assert res.unique(i) + res.redundancy == pytest.approx(mi, abs=1e-9)
    # relabelling sources permutes atom names
    perm = list(rng.permutation(n))
    swapped = pid_from_pmf(np.transpose(p, [*perm, n]), measure)
    for name, value in res.atoms.items():
        renamed = [[perm.index(int(c) - 1) + 1 for c in part] for part in name[1:-1].split("}{")]
        assert swapped[renamed] == pytest.approx(value, abs=1e-9), (name, perm)


def test_bases():
    p = _pmf((2, 3, 2), 9)
    for measure in MEASURES:
        bits, nats = pid_from_pmf(p, measure), pid_from_pmf(p, measure, base=math.e)
        np.testing.assert_allclose(nats.values, bits.values * math.log(2), atol=1e-12)
        assert nats.unit == "nats"


def test_bad_input():
    with pytest.raises(ValueError, match=r"unknown PID measure 'immi'.*imin_dit"):
        pid(S1 & S2, [S1, S2], "immi")
    with pytest.raises(ValueError, match="unknown PID measure"):
        pid(S1 & S2, [S1, S2], "pm_dit")  # only native measures have a _dit twin
    for measure in MEASURES:
        with pytest.raises(ValueError, match="at least 2 sources"):
            pid(S1, [S2], measure)
        with pytest.raises(ValueError, match="mismatched"):
            pid(S1 & S2, [S1, S2[:-1]], measure)
        with pytest.raises(ValueError, match="at least 2 sources"):
            pid_from_pmf(np.full((2, 2), 0.25), measure)
        with pytest.raises(ValueError, match="axis"):
            pid_from_pmf(np.full(4, 0.25), measure)
        with pytest.raises(ValueError):
            pid_from_pmf(np.full((2, 2, 2), 0.2), measure)  # does not sum to 1
        with pytest.raises(ValueError, match="max_seconds must be > 0"):
            pid(S1 & S2, [S1, S2], measure, max_seconds=0)
        with pytest.raises(ValueError, match="supported"):
            pid_from_pmf(np.full((2,) * 7, 1 / 128), measure)


# --------------------------------------------------------------------------------------------------------------------
# I_dep and I_BROJA (two sources)
# dit's BROJA optimiser stops short of the optimum on these (pidlearn's U_1 is lower, i.e. better, by 8e-6..9e-3 bits
# while meeting the marginals to 1e-15): "rand", "jeff", "wb 3", "not two", "erase", "null", "rdn xor" (dit 2.3)
# dit's BROJA is not reproducible even with NumPy's global seed fixed: on "prob. 1" and "boom" it returned the optimum
# in some runs and stopped 1.4e-6 / 5e-4 bits short in others; these four it always solves
_TWO_SOURCE_DIT_CASES = ["and", "synergy", "reduced or", "diff"]


def _unique_1(p, q):
    """I_Q(T; S_1 | S_2) in bits for a dense q[s1, s2, t] (plain NumPy)."""
    q_b = q.sum(axis=(0, 2))
    q_ab = q.sum(axis=2)
    q_bt = q.sum(axis=0)
    out = 0.0
    for a, b, t in zip(*np.nonzero(q), strict=True):
        out += q[a, b, t] * math.log2(q[a, b, t] * q_b[b] / (q_ab[a, b] * q_bt[b, t]))
    return out


def _naive_maxent(p, keep, iters=400):
    """Maximum-entropy q on the full grid with the marginals of p on the axis sets in ``keep`` (plain IPF)."""
    q = np.full(p.shape, 1 / p.size)
    for _ in range(iters):
        for axes in keep:
            drop = tuple(i for i in range(3) if i not in axes)
            target, have = p.sum(axis=drop, keepdims=True), q.sum(axis=drop, keepdims=True)
            q = q * np.divide(target, have, out=np.zeros_like(have), where=have > 0)
    return q


def _mi_joint(q):
    """I(S_1 S_2; T) in bits of q[s1, s2, t]."""
    qs, qt = q.sum(axis=2, keepdims=True), q.sum(axis=(0, 1), keepdims=True)
    nz = q > 0
    return float((q[nz] * np.log2(q[nz] / (qs * qt)[nz])).sum())


def _naive_dep_redundancy(p):
    """I_dep's redundancy from the dependency lattice written out: the six max-ent fits by plain IPF, four edges."""
    s1t, s2t, s12, s1, s2, t = (0, 2), (1, 2), (0, 1), (0,), (1,), (2,)
    i = {c: _mi_joint(_naive_maxent(p, c)) for c in [
        (s12, s1t, s2t), (s12, s2t), (s12, s1t), (s12, t), (s1t, s2t), (s2t, s1), (s1t, s2), (s1, s2, t)]}  # fmt: skip
    u1 = min(i[(s12, s1t, s2t)] - i[(s12, s2t)], i[(s12, s1t)] - i[(s12, t)], i[(s1t, s2t)] - i[(s2t, s1)],
             i[(s1t, s2)] - i[(s1, s2, t)])  # fmt: skip
    return _mi_joint(p.sum(axis=1, keepdims=True)) - u1


@pytest.mark.parametrize(("shape", "seed"), [((2, 2, 2), 0), ((3, 2, 3), 1), ((2, 3, 2), 2)])
def test_dep_equals_the_dependency_lattice_written_out(shape, seed):
    p = _pmf(shape, seed)
    assert pid_from_pmf(p, "dep").redundancy == pytest.approx(_naive_dep_redundancy(p), abs=1e-9)


def _brute_force_broja_unique(p):
    """min over Δ_P of I_Q(T; S_1 | S_2) for binary S_1, S_2: one free cell per target value, nested 1-D searches
    (the objective is convex, so its partial minimum over one coordinate is convex in the other)."""
    from scipy.optimize import minimize_scalar

    pat, pbt = p.sum(axis=1), p.sum(axis=0)

    def table(x):
        q = np.zeros_like(p)
        for t, x_t in enumerate(x):
            q[0, 0, t] = x_t
            q[0, 1, t] = pat[0, t] - x_t
            q[1, 0, t] = pbt[0, t] - x_t
            q[1, 1, t] = pat[1, t] - pbt[0, t] + x_t
        return np.clip(q, 0, None)

    bounds = [(max(0.0, pbt[0, t] - pat[1, t]), min(pat[0, t], pbt[0, t])) for t in range(p.shape[2])]

    def inner(x0):
        res = minimize_scalar(lambda x1: _unique_1(p, table([x0, x1])), bounds=bounds[1], method="bounded",
                              options={"xatol": 1e-13})  # fmt: skip
        return res.fun

    return minimize_scalar(inner, bounds=bounds[0], method="bounded", options={"xatol": 1e-13}).fun


@pytest.mark.parametrize("seed", range(4))
def test_broja_equals_brute_force_on_binary_pmfs(seed):
    rng = np.random.default_rng(seed)
    p = rng.random((2, 2, 2)) ** 3  # skewed, so optima lie on the boundary as well as inside
    p /= p.sum()
    res = pid_from_pmf(p, "broja")
    assert res.unique(1) == pytest.approx(_brute_force_broja_unique(p), abs=1e-7)


def test_broja_equals_brute_force_on_dits_prob_1():
    """dit's "prob. 1" (binary, 5 outcomes), where dit's own result varies by 1.4e-6 from run to run."""
    p = np.zeros((2, 2, 2))
    pytest.importorskip("dit")
    from dit.pid.distributions import bivariates

    d = bivariates["prob. 1"]
    for outcome, prob in zip(d.outcomes, d.pmf, strict=True):
        p[tuple(int(c) for c in outcome)] += prob
    assert pid_from_pmf(p, "broja").unique(1) == pytest.approx(_brute_force_broja_unique(p), abs=1e-9)


def test_broja_optimiser_is_feasible_and_gives_its_value():
    from pidlearn.redundancy import broja, set_tables

    p = _pmf((3, 4, 3), 11)
    mask = p > 0
    tables = set_tables(np.argwhere(mask), p[mask], 2)
    cells, u1 = broja.optimum(tables)
    q = np.zeros_like(p)
    q[cells[:, 0].astype(int), cells[:, 1].astype(int), cells[:, 2].astype(int)] = cells[:, 3]
    assert q.min() >= 0
    np.testing.assert_allclose(q.sum(axis=1), p.sum(axis=1), atol=1e-14)  # (S_1, T) marginal
    np.testing.assert_allclose(q.sum(axis=0), p.sum(axis=0), atol=1e-14)  # (S_2, T) marginal
    assert u1 / math.log(2) == pytest.approx(_unique_1(p, q), abs=1e-12)
    assert u1 / math.log(2) <= _unique_1(p, p) + 1e-12  # no worse than P itself


def _gate(fn, kt=2):
    p = np.zeros((2, 2, kt))
    for a, b in itertools.product((0, 1), repeat=2):
        p[a, b, fn(a, b)] += 0.25
    return p


def test_two_source_measures_on_gates():
    """Literature values: BROJA's AND is redundancy 0.311 + synergy 1/2, its XOR pure synergy, its two-bit COPY two
    unique bits (Bertschinger et al. 2014); I_dep's AND (James et al. 2018, table 1) 0.0817 / 0.2296 / 0.2704."""
    i_and = 0.8112781244591328 - 0.5
    cases = {
        ("broja", "and"): (_gate(lambda a, b: a & b), [i_and, 0, 0, 0.5]),
        ("broja", "xor"): (_gate(lambda a, b: a ^ b), [0, 0, 0, 1]),
        ("broja", "copy"): (_gate(lambda a, b: 2 * a + b, 4), [0, 1, 1, 0]),
        ("dep", "and"): (
            _gate(lambda a, b: a & b),
            [0.0817041659455, 0.2295739585136, 0.2295739585136, 0.2704260414864],
        ),
        ("dep", "xor"): (_gate(lambda a, b: a ^ b), [0, 0, 0, 1]),
        ("dep", "copy"): (_gate(lambda a, b: 2 * a + b, 4), [0, 1, 1, 0]),
    }
    for (measure, _), (p, expected) in cases.items():
        np.testing.assert_allclose(pid_from_pmf(p, measure).values, expected, atol=1e-9)


@pytest.mark.parametrize("measure", TWO_SOURCES)
def test_two_source_measures_equal_dit(measure):
    dit_pid = pytest.importorskip("dit.pid")
    cls = getattr(dit_pid, DIT_CLASS[measure])
    for name in _TWO_SOURCE_DIT_CASES:
        dist = _dit_dist("bi", name)
        ours = pid_from_pmf(dist, measure).values
        # dit's stochastic BROJA optimiser: up to 5 seeded attempts, as tests/test_pid_measures.py's DIT_FLAKY
        for attempt in range(5 if measure == "broja" else 1):
            np.random.seed(attempt)  # noqa: NPY002 - dit's BROJA draws its starting points from this generator
            theirs = _dit_atoms(cls, dist, 2)
            if np.abs(ours - theirs).max() <= TOL[measure]:
                break
        np.testing.assert_allclose(ours, theirs, atol=TOL[measure], err_msg=name)
    for shape, seed in [((2, 2, 2), 0), ((3, 2, 3), 1)]:
        p = _pmf(shape, seed)
        ours = pid_from_pmf(p, measure).values
        if measure == "broja":
            # dit's optimiser starts from random points and is unreliable on these pmfs: in fresh-clone runs it
            # stopped up to 9e-3 bits above the minimum, and once 1.4e-4 bits below it (on the binary pmf, where
            # ours equals the brute-force minimum to 1e-16: dit's point misses the marginal constraints). The
            # reference is the brute-force search where it applies (binary); dit is only asked to lie within its
            # observed error.
            if shape == (2, 2, 2):
                assert ours[1] == pytest.approx(_brute_force_broja_unique(p), abs=1e-9)
            np.random.seed(0)  # noqa: NPY002
            theirs = pid_from_pmf(p, f"{measure}_dit", max_seconds=None).values
            assert np.abs(ours - theirs).max() < 2e-2  # dit seen up to 9e-3 bits off
            continue
        np.random.seed(0)  # noqa: NPY002
        theirs = pid_from_pmf(p, f"{measure}_dit", max_seconds=None).values
        np.testing.assert_allclose(ours, theirs, atol=TOL[measure])


@pytest.mark.slow
@pytest.mark.parametrize("measure", TWO_SOURCES)
def test_two_source_measures_against_dit_on_all_its_bivariates(measure):
    """Every dit bivariate: I_dep equal to 1e-9; I_BROJA equal to 1e-6 or, where dit's optimiser stops short, with a
    lower (better) minimum U_1 than dit's."""
    dit_pid = pytest.importorskip("dit.pid")
    from dit.pid.distributions import bivariates

    cls = getattr(dit_pid, DIT_CLASS[measure])
    for name, dist in bivariates.items():
        ours = pid_from_pmf(dist, measure).values
        np.random.seed(0)  # noqa: NPY002
        theirs = _dit_atoms(cls, dist, 2)
        if measure == "broja" and np.abs(ours - theirs).max() > TOL[measure]:
            i_1, i_2 = ours[0] + ours[1], ours[0] + ours[2]
            if abs(theirs[0] + theirs[1] - i_1) > 1e-7 or abs(theirs[0] + theirs[2] - i_2) > 1e-7:
                continue  # dit's atoms do not even add up to I(T; S_i) ("wb 3": by 2e-5)
            assert ours[1] < theirs[1] + 1e-9 and ours[2] < theirs[2] + 1e-9, name
            continue
        np.testing.assert_allclose(ours, theirs, atol=TOL[measure], err_msg=name)
    p = _pmf((4, 4, 4), 2)
    np.random.seed(0)  # noqa: NPY002
    theirs = pid_from_pmf(p, f"{measure}_dit", max_seconds=None).values
    ours = pid_from_pmf(p, measure).values
    if measure == "dep":
        np.testing.assert_allclose(ours, theirs, atol=TOL[measure])
    else:
        assert ours[1] < theirs[1] + 1e-9


def test_broja_atoms_are_nonnegative():
    """Bertschinger et al. (2014), Lemma 6: every I_BROJA atom is >= 0 (dit's can be negative: see the report)."""
    rng = np.random.default_rng(12)
    for _ in range(20):
        shape = tuple(rng.integers(2, 5, 3))
        p = rng.random(shape) * (rng.random(shape) < 0.7)
        p.flat[0] += 0.01
        p /= p.sum()
        assert pid_from_pmf(p, "broja").values.min() > -1e-9


def test_two_source_measures_delegate_three_sources_to_dit(monkeypatch):
    s = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 0], [1, 1, 0]] * 2)
    monkeypatch.setitem(sys.modules, "dit", None)
    for measure in TWO_SOURCES:
        assert pid(s[:, 0] ^ s[:, 1], s[:, :2], measure).synergy == pytest.approx(1.0, abs=1e-9)
        with pytest.raises(ImportError, match="pidlearn\\[dit\\]"):
            pid(s[:, 0] ^ s[:, 1], s, measure)
