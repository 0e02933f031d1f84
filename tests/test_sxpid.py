"""Discrete SxPID: reference gates, the naive twin (tests/naive_sxpid.py), dit and IDTxl, invariants, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pidlearn.sxpid as sxmod
from pidlearn.discrete import entropy, mutual_information
from pidlearn.lattice import lattice
from pidlearn.results import PIDResult
from pidlearn.sxpid import sxpid, sxpid_from_pmf
from tests import naive_sxpid as naive

# Many cases here are deliberately small (truth tables, N = 500 over 40 labels): the BiasWarning they raise is
# tested in tests/test_significance.py, not here.
pytestmark = pytest.mark.filterwarnings("ignore::pidlearn.significance.BiasWarning")

ATOL = 1e-9


# --------------------------------------------------------------------------------------------------------------------
# helpers
def _gates(shared_dir):
    return json.loads((shared_dir / "reference" / "sxpid_gates.json").read_text())["gates"]


def _gate_arrays(gate):
    rows = np.array(gate["pmf"], dtype=float)
    values = rows[:, :-1].astype(np.int64)
    probs = rows[:, -1]
    pmf = np.zeros(values.max(axis=0) + 1)
    for v, p in zip(values, probs, strict=True):
        pmf[tuple(v)] += p
    return values, probs, pmf


def _random_pmf(rng, shape, n_zero=0):
    p = rng.random(shape) + 0.05
    flat = p.reshape(-1)
    flat[rng.choice(flat.size, size=n_zero, replace=False)] = 0.0
    return p / p.sum()


def _pmf_dict(pmf):
    return {tuple(int(i) for i in idx): float(pmf[idx]) for idx in zip(*np.nonzero(pmf), strict=True)}


def _assert_matches_naive(result, expected, atol=ATOL):
    assert set(result.atom_names) == set(expected)
    for name, (plus, minus, net) in expected.items():
        assert result.informative[name] == pytest.approx(plus, abs=atol), name
        assert result.misinformative[name] == pytest.approx(minus, abs=atol), name
        assert result.atoms[name] == pytest.approx(net, abs=atol), name


def _random_samples(rng, n_sources, alphabet, n_samples, noise=True):
    sources = rng.integers(0, alphabet, size=(n_samples, n_sources))
    target = sources.sum(axis=1) % alphabet
    if noise:
        flip = rng.random(n_samples) < 0.3
        target = np.where(flip, rng.integers(0, alphabet, n_samples), target)
    return target, sources


# --------------------------------------------------------------------------------------------------------------------
# reference gates
def test_reference_gates_from_pmf(shared_dir):
    gates = _gates(shared_dir)
    assert {"XOR", "AND", "OR", "COPY", "UNQ", "SUM", "RDN", "XOR3", "AND3", "COPY3"} <= set(gates)
    for name, gate in gates.items():
        _, _, pmf = _gate_arrays(gate)
        res = sxpid_from_pmf(pmf)
        assert res.n_sources == gate["n_sources"]
        assert set(res.atom_names) == set(gate["atoms"]), name
        for atom, (plus, minus, net) in gate["atoms"].items():
            assert abs(res.informative[atom] - plus) < ATOL, (name, atom)
            assert abs(res.misinformative[atom] - minus) < ATOL, (name, atom)
            assert abs(res.atoms[atom] - net) < ATOL, (name, atom)


def test_reference_gates_from_samples(shared_dir):
    for name, gate in _gates(shared_dir).items():
        values, probs, _ = _gate_arrays(gate)
        reps = np.round(probs * 8).astype(int)
        assert np.allclose(reps / 8, probs)
        data = np.repeat(values, reps, axis=0)
        res = sxpid(data[:, -1], data[:, :-1])
        for atom, (plus, minus, net) in gate["atoms"].items():
            assert abs(res.informative[atom] - plus) < ATOL, (name, atom)
            assert abs(res.misinformative[atom] - minus) < ATOL, (name, atom)
            assert abs(res.atoms[atom] - net) < ATOL, (name, atom)


def test_reference_gates_from_dit_distribution(shared_dir):
    dit = pytest.importorskip("dit")
    for name, gate in _gates(shared_dir).items():
        values, probs, _ = _gate_arrays(gate)
        dist = dit.Distribution(["".join(map(str, v)) for v in values], probs.tolist())
        res = sxpid_from_pmf(dist)
        for atom, (_, _, net) in gate["atoms"].items():
            assert abs(res.atoms[atom] - net) < ATOL, (name, atom)
        assert res.realisations.shape == (len(values), values.shape[1])


def test_known_values():
    xor = sxpid([0, 1, 1, 0], [[0, 0, 1, 1], [0, 1, 0, 1]])
    assert xor.redundancy == pytest.approx(math.log2(2 / 3), abs=1e-12)
    assert xor.unique(1) == pytest.approx(math.log2(3 / 2), abs=1e-12)
    assert xor.synergy == pytest.approx(math.log2(4 / 3), abs=1e-12)
    s = np.array(list(np.ndindex(2, 2, 2)))
    parity = sxpid(s.sum(axis=1) % 2, s)
    assert parity["{1}{2}{3}"] == pytest.approx(math.log2(8 / 7), abs=1e-12)
    assert parity["{12}{13}{23}"] == pytest.approx(math.log2(875 / 1024), abs=1e-12)
    assert parity["{123}"] == pytest.approx(math.log2(32 / 27), abs=1e-12)


# --------------------------------------------------------------------------------------------------------------------
# the naive twin
@pytest.mark.parametrize(
    ("shape", "n_zero", "seed"),
    [((2, 3, 2), 0, 0), ((3, 2, 3), 5, 1), ((2, 2, 2, 3), 4, 2), ((3, 2, 2, 2), 9, 3), ((2, 2, 2, 2, 2), 14, 4)],
)
def test_pmf_matches_naive(shape, n_zero, seed, monkeypatch):
    rng = np.random.default_rng(seed)
    pmf = _random_pmf(rng, shape, n_zero)
    n_sources = len(shape) - 1
    expected, local = naive.sxpid(_pmf_dict(pmf), n_sources)
    for pair_max in (sxmod.PAIR_MAX, 0):  # pair sums, then the marginal route for float masses
        monkeypatch.setattr(sxmod, "PAIR_MAX", pair_max)
        res = sxpid_from_pmf(pmf)
        _assert_matches_naive(res, expected)
        # local atoms, one row per realisation with p > 0
        for row, real in enumerate(res.realisations):
            want = local[tuple(int(v) for v in real)]
            got = res.local[row]
            for j, name in enumerate(res.atom_names):
                assert got[j] == pytest.approx(want[name][2], abs=ATOL)
                assert res.local_informative[row, j] == pytest.approx(want[name][0], abs=ATOL)


@pytest.mark.parametrize(
    ("n_sources", "alphabet", "n_samples", "seed"), [(2, 4, 200, 0), (3, 3, 120, 1), (4, 2, 60, 2)]
)
def test_samples_match_naive(n_sources, alphabet, n_samples, seed):
    rng = np.random.default_rng(seed)
    target, sources = _random_samples(rng, n_sources, alphabet, n_samples)
    cols = [sources[:, i].tolist() for i in range(n_sources)]
    expected, local = naive.sxpid(naive.empirical_pmf(target.tolist(), cols), n_sources)
    res = sxpid(target, sources)
    _assert_matches_naive(res, expected)
    assert res.local.shape == (n_samples, len(res))
    for j in rng.choice(n_samples, 10, replace=False):
        want = local[(*sources[j].tolist(), int(target[j]))]
        np.testing.assert_allclose(res.local[j], [want[nm][2] for nm in res.atom_names], atol=ATOL)
        np.testing.assert_allclose(res.local_misinformative[j], [want[nm][1] for nm in res.atom_names], atol=ATOL)


def test_kernel_variants_agree(monkeypatch):
    """Serial and parallel kernels, one chunk or many, pairs or marginals: the same numbers."""
    rng = np.random.default_rng(7)
    target, sources = _random_samples(rng, 4, 3, 400)
    ref = sxpid(target, sources)
    pmf = np.zeros((3, 3, 3, 3, 3))
    np.add.at(pmf, (*sources.T, target), 1.0 / len(target))
    monkeypatch.setattr(sxmod, "_PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(sxmod, "_CHUNK_CELLS", 1000)
    for res in (sxpid(target, sources), sxpid_from_pmf(pmf)):
        np.testing.assert_allclose(res.values, ref.values, atol=1e-12)
        np.testing.assert_allclose(
            np.array(list(res.informative.values())), np.array(list(ref.informative.values())), atol=1e-12
        )
    np.testing.assert_allclose(sxpid(target, sources).local, ref.local, atol=1e-12)


def test_five_sources():
    rng = np.random.default_rng(5)
    target, sources = _random_samples(rng, 5, 2, 300)
    res = sxpid(target, sources)
    lat = lattice(5)
    assert len(res) == 7579 and res.atom_names == lat.names
    assert sum(res.atoms.values()) == pytest.approx(mutual_information(target, sources), abs=1e-9)
    for i in range(1, 6):
        below = res.values[lat.down_set(f"{{{i}}}")].sum()
        assert below == pytest.approx(mutual_information(target, sources[:, i - 1]), abs=1e-9)
    # pointwise redundancies, summed directly over the samples, equal the local atoms summed below α
    local = res.local
    for name in ("{1}{2}{3}{4}{5}", "{1}{23}{45}", "{12}{34}", "{125}{345}", "{12345}", "{13}{24}{5}"):
        alpha = lat.antichains[lat.index(name)]
        below = lat.down_set(name)
        for j in (0, 17, 123):
            sat = np.zeros(len(target), bool)
            for a in alpha:
                sat |= np.all(sources[:, [i - 1 for i in a]] == sources[j, [i - 1 for i in a]], axis=1)
            same_t = target == target[j]
            i_sx = math.log2((sat & same_t).mean() / (same_t.mean() * sat.mean()))
            assert local[j, below].sum() == pytest.approx(i_sx, abs=1e-9)
    # the pmf route (pair sums) agrees with the sample route (integer marginals)
    pmf = np.zeros((2,) * 6)
    np.add.at(pmf, (*sources.T, target), 1.0 / len(target))
    np.testing.assert_allclose(sxpid_from_pmf(pmf).values, res.values, atol=1e-9)


def test_base_and_entropy():
    rng = np.random.default_rng(3)
    target, sources = _random_samples(rng, 3, 3, 150)
    bits = sxpid(target, sources)
    nats = sxpid(target, sources, base=math.e)
    np.testing.assert_allclose(nats.values, bits.values * math.log(2), atol=1e-12)
    assert nats.unit == "nats" and bits.unit == "bits"
    assert bits.entropy_target == pytest.approx(entropy(target), abs=1e-12)
    assert bits.residual_entropy == pytest.approx(entropy(target) - mutual_information(target, sources), abs=1e-9)
    assert bits.mutual_information == pytest.approx(mutual_information(target, sources), abs=1e-12)


def test_multicolumn_and_label_types():
    rng = np.random.default_rng(4)
    target, sources = _random_samples(rng, 3, 2, 100)
    joint_t = np.column_stack([target, rng.integers(0, 2, 100)])
    res = sxpid(joint_t, [sources[:, 0], sources[:, 1:]])  # second source is the joint of two columns
    t_code = joint_t[:, 0] * 2 + joint_t[:, 1]
    s_code = sources[:, 1] * 2 + sources[:, 2]
    ref = sxpid(t_code, [sources[:, 0], s_code])
    np.testing.assert_allclose(res.values, ref.values, atol=1e-12)
    words = np.array(["a", "b"])[sources]
    np.testing.assert_allclose(sxpid(target.astype(float), words).values, sxpid(target, sources).values, atol=1e-12)


# --------------------------------------------------------------------------------------------------------------------
# peers
def _dit_dist(dit, pmf):
    d = _pmf_dict(pmf)
    return dit.Distribution(list(d), list(d.values()))


@pytest.mark.parametrize(("shape", "n_zero", "seed"), [((2, 3, 2), 1, 10), ((3, 3, 2), 6, 11), ((2, 2, 2, 2), 8, 12)])
def test_matches_dit(shape, n_zero, seed):
    dit = pytest.importorskip("dit")
    from dit.pid import PID_SX

    pmf = _random_pmf(np.random.default_rng(seed), shape, n_zero)
    ours = sxpid_from_pmf(pmf)
    theirs = PID_SX(_dit_dist(dit, pmf))
    for node in theirs._lattice:
        name = "".join("{" + "".join(str(i + 1) for i in a) + "}" for a in sorted(node, key=lambda a: (len(a), a)))
        assert ours.atoms[name] == pytest.approx(theirs.get_pi(node), abs=ATOL), name


@pytest.mark.slow
def test_matches_dit_four_sources():
    dit = pytest.importorskip("dit")
    from dit.pid import PID_SX

    pmf = _random_pmf(np.random.default_rng(13), (2, 2, 2, 2, 2), 26)
    ours = sxpid_from_pmf(pmf)
    theirs = PID_SX(_dit_dist(dit, pmf))
    for node in theirs._lattice:
        name = "".join("{" + "".join(str(i + 1) for i in a) + "}" for a in sorted(node, key=lambda a: (len(a), a)))
        assert ours.atoms[name] == pytest.approx(theirs.get_pi(node), abs=ATOL), name


@pytest.mark.parametrize(
    ("n_sources", "alphabet", "n_samples", "seed"), [(2, 3, 80, 20), (3, 2, 60, 21), (4, 2, 24, 22)]
)
def test_matches_idtxl(n_sources, alphabet, n_samples, seed):
    pytest.importorskip("idtxl.estimators_multivariate_pid")
    from idtxl.estimators_multivariate_pid import SxPID

    rng = np.random.default_rng(seed)
    target, sources = _random_samples(rng, n_sources, alphabet, n_samples)
    theirs = SxPID({}).estimate([sources[:, i] for i in range(n_sources)], target)
    ours = sxpid(target, sources)
    for node, (plus, minus, net) in theirs["avg"].items():
        name = "".join("{" + "".join(map(str, a)) + "}" for a in sorted(node, key=lambda a: (len(a), a)))
        assert ours.informative[name] == pytest.approx(plus, abs=ATOL)
        assert ours.misinformative[name] == pytest.approx(minus, abs=ATOL)
        assert ours.atoms[name] == pytest.approx(net, abs=ATOL)
    # pointwise: IDTxl keys realisations (s_1, ..., s_n, t)
    real, net = next(iter(theirs["ptw"].items()))
    j = int(np.flatnonzero(np.all(np.column_stack([sources, target]) == np.array(real), axis=1))[0])
    for node, (_, _, value) in net.items():
        name = "".join("{" + "".join(map(str, a)) + "}" for a in sorted(node, key=lambda a: (len(a), a)))
        assert ours.local[j, ours.atom_names.index(name)] == pytest.approx(value, abs=ATOL)


# --------------------------------------------------------------------------------------------------------------------
# invariants (hypothesis)
@st.composite
def samples(draw, max_sources=4):
    n_sources = draw(st.integers(2, max_sources))
    n = draw(st.integers(3, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    alphabet = draw(st.integers(2, 3))
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, alphabet, size=(n, n_sources))
    target = (sources[:, 0] + sources[:, 1] * rng.integers(0, 2)) % alphabet
    noise = rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0]))
    target = np.where(noise, rng.integers(0, alphabet + 1, n), target)
    return target, sources, rng


@settings(max_examples=25, deadline=None)
@given(samples())
def test_atoms_sum_to_mutual_information(data):
    target, sources, _ = data
    res = sxpid(target, sources)
    assert sum(res.atoms.values()) == pytest.approx(mutual_information(target, sources), abs=1e-9)
    lat = lattice(sources.shape[1])
    for i in range(1, sources.shape[1] + 1):
        below = res.values[lat.down_set(f"{{{i}}}")].sum()
        assert below == pytest.approx(mutual_information(target, sources[:, i - 1]), abs=1e-9)
    np.testing.assert_allclose(
        np.array(list(res.informative.values())) - np.array(list(res.misinformative.values())), res.values, atol=1e-12
    )


@settings(max_examples=20, deadline=None)
@given(samples())
def test_relabelling_values_changes_nothing(data):
    target, sources, rng = data
    res = sxpid(target, sources)
    new_t = np.array([f"t{v}" for v in (target * 7 + 3)])
    new_s = [rng.permutation(10)[sources[:, i]] * (i + 2) - 5 for i in range(sources.shape[1])]
    res2 = sxpid(new_t, new_s)
    np.testing.assert_allclose(res2.values, res.values, atol=1e-10)
    np.testing.assert_allclose(list(res2.misinformative.values()), list(res.misinformative.values()), atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(samples())
def test_permuting_sources_permutes_atom_names(data):
    target, sources, rng = data
    n = sources.shape[1]
    perm = rng.permutation(n)  # new source k+1 is old source perm[k]+1
    res = sxpid(target, sources)
    res2 = sxpid(target, sources[:, perm])
    lat = lattice(n)
    for name, chain in zip(lat.names, lat.antichains, strict=True):
        old = [[int(perm[i - 1]) + 1 for i in a] for a in chain]
        assert res2[name] == pytest.approx(res[old], abs=1e-10)


@settings(max_examples=20, deadline=None)
@given(samples())
def test_local_atoms_average_to_atoms(data):
    target, sources, _ = data
    res = sxpid(target, sources)
    assert res.local.shape == (len(target), len(res))
    np.testing.assert_allclose(res.local.mean(axis=0), res.values, atol=1e-10)
    np.testing.assert_allclose(res.local_informative.mean(axis=0), list(res.informative.values()), atol=1e-10)
    np.testing.assert_allclose(res.local_misinformative.mean(axis=0), list(res.misinformative.values()), atol=1e-10)
    np.testing.assert_allclose(res.local, res.local_informative - res.local_misinformative, atol=1e-12)
    assert np.all(np.isfinite(res.local))


# --------------------------------------------------------------------------------------------------------------------
# bad input
def test_bad_input_messages():
    t = np.array([0, 1, 1, 0])
    s1, s2 = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="mismatched"):
        sxpid(t, [s1, s2[:3]])
    with pytest.raises(ValueError, match="NaN"):
        sxpid(t, [s1, np.array([0.0, np.nan, 1.0, 1.0])])
    with pytest.raises(ValueError, match="empty"):
        sxpid([], [[], []])
    with pytest.raises(ValueError, match="at least 2 sources"):
        sxpid(t, [s1])
    with pytest.raises(ValueError, match="single source"):
        sxpid(t, s1)
    with pytest.raises(ValueError, match="single source"):
        sxpid(t, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="6 sources"):
        sxpid(t, np.zeros((4, 6), dtype=int))
    with pytest.raises(ValueError, match="continuous"):
        sxpid(t, [s1, np.array([0.1, 0.5, 0.2, 0.9])])
    with pytest.raises(ValueError, match="shape"):
        sxpid(t, np.zeros((4, 2, 2)))
    with pytest.raises(TypeError):
        sxpid(t, None)
    with pytest.raises(ValueError, match="base"):
        sxpid(t, [s1, s2], base=1)


def test_target_among_sources():
    data = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
    t = data[:, 2]
    with pytest.raises(ValueError, match="target"):
        sxpid(t, [data[:, 0], t])
    with pytest.raises(ValueError, match="target"):
        sxpid(t, data)
    ok = sxpid(t, data[:, :2])  # a view of the other columns of the same array is fine
    assert ok.synergy == pytest.approx(math.log2(4 / 3))


def test_bad_pmf():
    with pytest.raises(ValueError, match="sums to"):
        sxpid_from_pmf(np.full((2, 2, 2), 0.2))
    with pytest.raises(ValueError, match="negative"):
        sxpid_from_pmf(np.array([[[0.5, -0.25], [0.25, 0.25]], [[0.25, 0], [0, 0]]]))
    with pytest.raises(ValueError, match="at least 2 sources"):
        sxpid_from_pmf(np.full((2, 2), 0.25))
    with pytest.raises(ValueError, match="axis"):
        sxpid_from_pmf(np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="6 sources"):
        sxpid_from_pmf(np.full((2,) * 7, 1 / 128))
    with pytest.raises(ValueError, match="NaN"):
        sxpid_from_pmf(np.full((2, 2, 2), np.nan))


# --------------------------------------------------------------------------------------------------------------------
# the result object
def test_result_object(tmp_path):
    rng = np.random.default_rng(9)
    target, sources = _random_samples(rng, 3, 2, 50)
    res = sxpid(target, sources)
    d = res.to_dict()
    back = json.loads(json.dumps(d))
    assert back["atoms"] == pytest.approx(res.atoms) and back["measure"] == "sx" and back["n_sources"] == 3
    assert "local" not in d and len(json.loads(json.dumps(res.to_dict(local=True)))["local"]) == 50
    assert "{12}{13}{23}" in res.table() and "pi+" in res.table() and "{1}{2}{3}" in repr(res)
    assert res["{23}{1}"] == res.atoms["{1}{23}"]
    with pytest.raises(ValueError, match="two sources"):
        _ = res.synergy
    with pytest.raises(ValueError, match=r"1\.\.3"):
        res.unique(0)
    with pytest.raises(KeyError):
        res["{4}"]
    assert res.redundancy == res.atoms["{1}{2}{3}"]
    assert list(res.atoms) == list(lattice(3).names)
    with pytest.raises(ValueError):
        res.local[0, 0] = 1.0  # read-only


def test_result_validation():
    with pytest.raises(ValueError, match="non-finite"):
        PIDResult(["{1}"], [np.nan], mutual_information=0.0, n_sources=1)
    with pytest.raises(ValueError, match="entries"):
        PIDResult(["{1}", "{2}"], [1.0], mutual_information=1.0, n_sources=2)
    r = PIDResult(["{1}{2}", "{1}", "{2}", "{12}"], [0.1, 0.2, 0.3, 0.4], mutual_information=1.0, n_sources=2)
    assert r.informative is None and r.local is None and r.residual_entropy is None
    assert r.synergy == 0.4 and r.unique(2) == 0.3


@pytest.mark.parametrize("n_sources", [2, 3, 4])
def test_plot(n_sources):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(n_sources)
    target, sources = _random_samples(rng, n_sources, 2, 60)
    fig, ax = sxpid(target, sources).plot()
    assert ax.figure is fig and ax.get_title().startswith("sx PID")
    assert len(ax.patches) == (len(lattice(n_sources)) if n_sources <= 3 else 40)
    plt.close("all")
