"""Permutation tests (continuous MI, SxPID atoms), their size and power, and the plug-in bias warning."""

import json
import warnings

import numpy as np
import pytest

from pidlearn import continuous, discrete, sxpid
from pidlearn.continuous.permutation import permutation_test, permutation_test_pid
from pidlearn.results import PermutationTestResult
from pidlearn.significance import (
    MAX_NULL_BYTES,
    BiasWarning,
    check_n_permutations,
    local_neighbours,
    local_permutation,
    p_values,
)


# --------------------------------------------------------------------------------------------------------------------
# result type and shared machinery
def test_result_type_moved_and_printable():
    assert discrete.PermutationTestResult is PermutationTestResult
    r = discrete.permutation_test([0, 1] * 50, [0, 1] * 50, n_permutations=99, seed=0)
    assert repr(r) == "PermutationTestResult(statistic=1, p_value=0.01, n_permutations=99)"
    assert str(r) == "statistic = 1, p = 0.01 (99 permutations)"


def test_p_values_formula():
    null = np.array([[0.0, 1.0], [2.0, 1.0], [3.0, -1.0]])
    assert p_values(null, [2.0, 5.0]) == pytest.approx([3 / 4, 1 / 4])
    assert p_values(null[:, 0], 0.0) == 1.0


@pytest.mark.parametrize(("value", "exc"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("9", TypeError)])
def test_check_n_permutations_rejects(value, exc):
    with pytest.raises(exc, match="n_permutations"):
        check_n_permutations(value)


def test_check_n_permutations_memory_and_zero():
    assert check_n_permutations(0, allow_zero=True) == 0
    with pytest.raises(ValueError, match=">= 1"):
        check_n_permutations(0)
    n = MAX_NULL_BYTES // (8 * 166) + 1
    with pytest.raises(ValueError, match="GiB"):
        check_n_permutations(n, n_statistics=166)
    with pytest.raises(ValueError, match="GiB"):
        sxpid(np.zeros(10, int), np.zeros((10, 2), int), n_permutations=10**9)


def test_local_permutation_stays_in_neighbourhood():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 1))
    nb = local_neighbours(z, 5)
    assert np.all(nb[:, 0] == np.arange(500))  # the sample itself is its nearest neighbour
    perm = local_permutation(nb, 7)
    assert np.all((nb == perm[:, None]).any(axis=1))
    assert len(np.unique(perm)) > 0.9 * 500  # mostly without replacement (Runge 2018)
    assert np.array_equal(perm, local_permutation(nb, 7))
    assert not np.array_equal(perm, np.arange(500))


# --------------------------------------------------------------------------------------------------------------------
# discrete SxPID atom p-values
def _independent(rng, n, alphabet=3):
    return rng.integers(0, alphabet, n), rng.integers(0, alphabet, (n, 2))


def test_sxpid_p_values_attached_printed_serialised():
    rng = np.random.default_rng(1)
    t, s = _independent(rng, 300)
    plain = sxpid(t, s)
    assert plain.p_values is None and plain.n_permutations is None and " p\n" not in plain.table() + "\n"
    r = sxpid(t, s, n_permutations=49, seed=3)
    assert r.atoms == plain.atoms and r.n_permutations == 49
    assert set(r.p_values) == set(r.atom_names)
    assert all(v in {(1 + c) / 50 for c in range(50)} for v in r.p_values.values())
    assert "p" in r.table().splitlines()[0].split() and "49 permutations" in repr(r)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["p_values"] == pytest.approx(r.p_values) and d["n_permutations"] == 49
    assert sxpid(t, s, n_permutations=49, seed=3).p_values == r.p_values  # seeded
    assert sxpid.sxpid(t, s, n_permutations=49, seed=4).p_values != r.p_values


def test_sxpid_n_permutations_validated():
    t, s = _independent(np.random.default_rng(0), 50)
    with pytest.raises(ValueError, match="n_permutations"):
        sxpid(t, s, n_permutations=-1)
    with pytest.raises(TypeError, match="n_permutations"):
        sxpid(t, s, n_permutations=2.0)


@pytest.mark.parametrize(("gate", "atom"), [("xor", "{12}"), ("and", "{12}")])
def test_sxpid_power_on_gates(gate, atom):
    rng = np.random.default_rng(5)
    s = rng.integers(0, 2, (300, 2))
    t = s[:, 0] ^ s[:, 1] if gate == "xor" else s[:, 0] & s[:, 1]
    r = sxpid(t, s, n_permutations=99, seed=0)
    assert r.p_values[atom] == pytest.approx(0.01)


def _rejection_rates(n_reps, n_perm=199, n=300):
    hits = {"{1}{2}": 0, "{12}": 0}
    for rep in range(n_reps):
        rng = np.random.default_rng(10_000 + rep)
        t, s = _independent(rng, n)
        p = sxpid(t, s, n_permutations=n_perm, seed=rep).p_values
        for a in hits:
            hits[a] += p[a] < 0.05
    return {a: h / n_reps for a, h in hits.items()}


def test_sxpid_atom_test_size_quick():
    """Independent data: few rejections at 5 % (binomial 99 % range for 100 reps: 0..11)."""
    rates = _rejection_rates(100, n_perm=99)
    assert all(r <= 0.11 for r in rates.values()), rates


@pytest.mark.slow
def test_sxpid_atom_test_size():
    """Independent data, 400 seeded repetitions, 199 permutations: 2.5 %..8 % rejections at 5 % per atom."""
    rates = _rejection_rates(400)
    print("rejection rates", rates)
    assert all(0.025 <= r <= 0.08 for r in rates.values()), rates


# --------------------------------------------------------------------------------------------------------------------
# continuous permutation test
def test_continuous_power_size_and_statistic():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(400)
    y = x + rng.standard_normal(400)
    r = permutation_test(x, y, n_permutations=99, seed=2)
    assert r.p_value == pytest.approx(0.01)
    assert r.statistic == pytest.approx(continuous.mutual_information(x, y, seed=2), abs=1e-12)
    assert r.null_distribution.shape == (99,)
    ind = permutation_test(x, rng.standard_normal(400), n_permutations=99, seed=2)
    assert ind.p_value > 0.01


def test_continuous_seeded_whatever_the_threads():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 300))
    a = permutation_test(x, y, n_permutations=40, seed=9, workers=1)
    b = permutation_test(x, y, n_permutations=40, seed=9, workers=2)
    assert np.array_equal(a.null_distribution, b.null_distribution) and a.p_value == b.p_value
    c = permutation_test(x, y, n_permutations=40, seed=10, workers=2)
    assert not np.array_equal(a.null_distribution, c.null_distribution)


def test_continuous_conditional_local_permutation():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(400)
    x = z + 0.5 * rng.standard_normal(400)
    y = z + 0.5 * rng.standard_normal(400)  # X and Y dependent, but independent given Z
    assert permutation_test(x, y, n_permutations=49, seed=1).p_value == pytest.approx(0.02)
    cond = permutation_test(x, y, z, n_permutations=49, seed=1)
    assert cond.p_value > 0.05
    y2 = y + x  # direct dependence
    assert permutation_test(x, y2, z, n_permutations=49, seed=1).p_value == pytest.approx(0.02)


def test_continuous_generic_path_gaussian():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(300)
    y = 0.4 * x + rng.standard_normal(300)
    key = "estimator" if "estimator" in continuous.mutual_information.__code__.co_varnames else "method"
    r = permutation_test(x, y, n_permutations=49, seed=0, **{key: "gaussian"})
    assert r.p_value == pytest.approx(0.02)
    assert r.statistic == pytest.approx(continuous.mutual_information(x, y, **{key: "gaussian"}))


def test_continuous_argument_errors():
    x = np.arange(50.0)
    with pytest.raises(ValueError, match="n_permutations"):
        permutation_test(x, x, n_permutations=0)
    with pytest.raises(ValueError, match="k_perm"):
        permutation_test(x, x, x, n_permutations=5, k_perm=0)
    with pytest.raises(TypeError, match="got both estimator"):
        permutation_test(x, x, n_permutations=5, estimator="ksg1", method="ksg1")


def test_continuous_pid_atom_p_values():
    rng = np.random.default_rng(6)
    s1, s2 = rng.standard_normal((2, 150))
    r = permutation_test_pid(s1 + s2, [s1, s2], n_permutations=19, seed=0)
    assert r.n_permutations == 19 and r.p_values["{12}"] == pytest.approx(0.05)
    again = permutation_test_pid(s1 + s2, [s1, s2], n_permutations=19, seed=0)
    assert again.p_values == r.p_values and again.atoms == r.atoms


# --------------------------------------------------------------------------------------------------------------------
# bias warning
def test_bias_warning_when_undersampled():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 8, (1797, 5))  # like the digits example: almost every sample its own joint cell
    t = rng.integers(0, 10, 1797)
    with pytest.warns(BiasWarning, match=r"1797 samples over \d+ occupied joint cells.*grassberger"):
        mi = discrete.mutual_information(t, s)
    assert mi > 3.0  # independent, yet close to H(T): the bias the warning is about
    with pytest.warns(BiasWarning, match="I\\(T;S\\)"):
        sxpid(t, s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        discrete.mutual_information(t, s, estimator="grassberger")  # corrected estimators do not warn


def test_no_bias_warning_when_well_sampled():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 2, (2000, 2))
    t = s[:, 0] ^ s[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        discrete.mutual_information(t, s)
        discrete.mutual_information(t, s[:, 0], s[:, 1])
        sxpid(t, s)
        discrete.mutual_information(np.zeros(10), np.arange(10))  # zero estimate: nothing to warn about


def test_continuous_mixed_discrete_y():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 3, 400)
    x = labels + rng.standard_normal(400)
    r = permutation_test(x, labels, n_permutations=49, seed=0, discrete="y")
    assert r.p_value == pytest.approx(0.02)
    assert r.statistic == pytest.approx(continuous.mutual_information(x, labels, discrete="y", seed=0), abs=1e-12)
    ind = permutation_test(rng.standard_normal(400), labels, n_permutations=49, seed=0, discrete="y")
    assert ind.p_value > 0.02
    # the mixed path agrees with the public estimator per permutation on the same permutations
    assert permutation_test(labels, x, n_permutations=49, seed=0, discrete="x").statistic == pytest.approx(r.statistic)


def test_continuous_discrete_z_shuffles_within_strata():
    rng = np.random.default_rng(8)
    z = rng.integers(0, 3, 300)
    x = z + 0.5 * rng.standard_normal(300)
    y = z + 0.5 * rng.standard_normal(300)
    assert permutation_test(x, y, z, n_permutations=49, seed=0, discrete="z").p_value > 0.05
    assert permutation_test(x, x + y, z, n_permutations=49, seed=0, discrete="z").p_value == pytest.approx(0.02)
