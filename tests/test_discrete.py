"""Discrete estimators: closed forms, naive twins, dit and scikit-learn, invariants, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pidlearn import _counting, discrete
from tests import naive

# Many cases here are deliberately small (truth tables, N = 500 over 40 labels): the BiasWarning they raise is
# tested in tests/test_significance.py, not here.
pytestmark = pytest.mark.filterwarnings("ignore::pidlearn.significance.BiasWarning")

LN2 = math.log(2)


# ---------------------------------------------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 7, 16])
def test_uniform_entropy(k):
    x = np.repeat(np.arange(k), 5)
    assert discrete.entropy(x) == pytest.approx(math.log2(k), abs=1e-12)
    assert discrete.entropy(x, base=math.e) == pytest.approx(math.log(k), abs=1e-12)


def test_deterministic_and_copy():
    x = np.arange(40) % 4
    assert discrete.entropy(np.zeros(10, int)) == 0.0
    assert discrete.mutual_information(x, x) == pytest.approx(2.0, abs=1e-12)
    assert discrete.conditional_entropy(x, x) == pytest.approx(0.0, abs=1e-12)
    assert discrete.mutual_information(x, 3 - x) == pytest.approx(2.0, abs=1e-12)


def test_independent_full_product_has_zero_mi():
    x, y = np.meshgrid(np.arange(3), np.arange(5), indexing="ij")
    assert discrete.mutual_information(x.ravel(), y.ravel()) == pytest.approx(0.0, abs=1e-12)
    assert discrete.joint_entropy(x.ravel(), y.ravel()) == pytest.approx(math.log2(15), abs=1e-12)


def test_xor_triple():
    x, y = np.meshgrid([0, 1], [0, 1], indexing="ij")
    x, y = x.ravel(), y.ravel()
    z = x ^ y
    assert discrete.mutual_information(x, y) == pytest.approx(0.0, abs=1e-12)
    assert discrete.mutual_information(x, z) == pytest.approx(0.0, abs=1e-12)
    assert discrete.mutual_information(x, y, z) == pytest.approx(1.0, abs=1e-12)
    assert discrete.mutual_information(np.stack([x, y], 1), z) == pytest.approx(1.0, abs=1e-12)
    assert discrete.multi_information(x, y, z) == pytest.approx(1.0, abs=1e-12)


def test_labels_of_any_hashable_type():
    ints = [0, 1, 1, 2, 0, 2, 2]
    strs = ["a", "b", "b", "c", "a", "c", "c"]
    objs = [("t", 0), None, None, 2.5, ("t", 0), 2.5, 2.5]
    bools = [True, False, False, True, True, True, False]
    h = discrete.entropy(ints)
    assert discrete.entropy(strs) == h
    assert discrete.entropy(np.array(objs, dtype=object)) == h
    assert discrete.entropy(np.array(ints, dtype=float)) == h
    assert discrete.mutual_information(strs, bools) == pytest.approx(discrete.mutual_information(ints, bools))


def test_multicolumn_variable_is_joint():
    rng = np.random.default_rng(0)
    a, b, y = rng.integers(0, 3, (3, 500))
    joint = np.stack([a, b], axis=1)
    assert discrete.entropy(joint) == pytest.approx(discrete.joint_entropy(a, b), abs=1e-12)
    assert discrete.mutual_information(joint, y) == pytest.approx(
        discrete.joint_entropy(a, b) + discrete.entropy(y) - discrete.joint_entropy(a, b, y), abs=1e-12
    )


# ---------------------------------------------------------------------------------------------------------------
# naive twins, every estimator, dense and sparse counting paths
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", discrete.ESTIMATORS)
@pytest.mark.parametrize(("n", "k"), [(30, 2), (200, 5), (500, 40), (50, 1000)])
def test_matches_naive(estimator, n, k):
    rng = np.random.default_rng(n * k)
    x, y, z = rng.integers(0, k, (3, n))
    y = np.where(rng.random(n) < 0.5, x, y)
    xl, yl, zl = x.tolist(), y.tolist(), z.tolist()
    assert discrete.entropy(x, base=math.e, estimator=estimator) == pytest.approx(
        naive.entropy_nats(naive.rows(xl), estimator), abs=1e-11
    )
    assert discrete.mutual_information(x, y, base=math.e, estimator=estimator) == pytest.approx(
        naive.mutual_information_nats(xl, yl, estimator=estimator), abs=1e-11
    )
    assert discrete.mutual_information(x, y, z, base=math.e, estimator=estimator) == pytest.approx(
        naive.mutual_information_nats(xl, yl, zl, estimator=estimator), abs=1e-11
    )


def test_sparse_path_matches_naive():
    """Eight variables of 50 values: 50**8 joint cells would not fit; only observed combinations are counted."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 50, (3000, 8))
    x[1500:] = x[:1500]  # duplicates, so counts are not all 1
    y = x[:, 0] % 3
    assert 50**8 > _counting.DENSE_MAX_CELLS
    rows_x = [tuple(r) for r in x.tolist()]
    assert discrete.entropy(x, base=math.e) == pytest.approx(naive.entropy_nats(rows_x), abs=1e-12)
    assert discrete.mutual_information(x, y, base=math.e) == pytest.approx(
        naive.mutual_information_nats(rows_x, y.tolist()), abs=1e-12
    )


def test_key_overflow_refactorises():
    """Joint keys beyond int64 (20 columns of 10**6 values) still count correctly."""
    rng = np.random.default_rng(2)
    x = rng.integers(0, 10**6, (400, 20))
    x[200:] = x[:200]
    assert discrete.entropy(x) == pytest.approx(math.log2(200), abs=1e-12)


def test_large_sparse_input_runs_in_bounded_memory():
    """10**6 samples of 8 variables with 50 values each (the issue's case): runs on the sparse path."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 50, (10**6, 8), dtype=np.int16)
    h = discrete.entropy(x)
    # 50**8 >> 10**6, so (almost) every sample is distinct
    assert math.log2(10**6) - 1e-3 < h <= math.log2(10**6)
    _, counts = np.unique(x, axis=0, return_counts=True)
    p = counts / counts.sum()
    assert h == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-9)


def test_grassberger_and_miller_madow_reduce_bias():
    """On an undersampled uniform alphabet the corrections move the plug-in estimate towards the truth."""
    rng = np.random.default_rng(4)
    k, n, reps = 64, 64, 200
    err = {e: 0.0 for e in discrete.ESTIMATORS}
    for _ in range(reps):
        x = rng.integers(0, k, n)
        for e in err:
            err[e] += (discrete.entropy(x, estimator=e) - math.log2(k)) / reps
    assert err["plugin"] < 0
    for e in ("miller_madow", "grassberger", "chao_shen"):
        assert abs(err[e]) < abs(err["plugin"])


# ---------------------------------------------------------------------------------------------------------------
# independent implementations: scikit-learn and dit
# ---------------------------------------------------------------------------------------------------------------
def test_matches_sklearn_mutual_info_score():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    for k in (2, 16, 100):
        x = rng.integers(0, k, 20000)
        y = (x + rng.integers(0, 3, 20000)) % k
        ours = discrete.mutual_information(x, y, base=math.e)
        assert ours == pytest.approx(metrics.mutual_info_score(x, y), abs=1e-12)


def _random_pmf(rng, shape):
    p = rng.random(shape) ** 3
    p[rng.random(shape) < 0.2] = 0
    return p / p.sum()


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (2, 3, 4), (4, 2, 3, 2)])
def test_matches_dit_on_random_pmfs(shape):
    dit = pytest.importorskip("dit")
    rng = np.random.default_rng(sum(shape))
    for _ in range(5):
        pmf = _random_pmf(rng, shape)
        d = dit.Distribution.from_ndarray(pmf)
        n = len(shape)
        assert discrete.entropy_from_pmf(pmf) == pytest.approx(dit.shannon.entropy(d), abs=1e-10)
        assert discrete.mutual_information_from_pmf(pmf, 0, 1) == pytest.approx(
            dit.shannon.mutual_information(d, [0], [1]), abs=1e-10
        )
        assert discrete.conditional_entropy_from_pmf(pmf, 0, 1) == pytest.approx(
            dit.shannon.conditional_entropy(d, [0], [1]), abs=1e-10
        )
        assert discrete.multi_information_from_pmf(pmf) == pytest.approx(
            dit.multivariate.total_correlation(d), abs=1e-10
        )
        if n >= 3:
            rest = list(range(2, n))
            assert discrete.mutual_information_from_pmf(pmf, 0, 1, rest) == pytest.approx(
                dit.multivariate.coinformation(d, [[0], [1]], rest), abs=1e-10
            )
            assert discrete.mutual_information_from_pmf(pmf, [0, 1], rest) == pytest.approx(
                dit.shannon.mutual_information(d, [0, 1], rest), abs=1e-10
            )


def test_samples_match_dit_on_empirical_pmf():
    dit = pytest.importorskip("dit")
    rng = np.random.default_rng(6)
    x, y, z = rng.integers(0, 3, (3, 300))
    y = np.where(rng.random(300) < 0.6, (x + z) % 3, y)
    outcomes, counts = np.unique(np.stack([x, y, z], 1), axis=0, return_counts=True)
    d = dit.Distribution([tuple(o) for o in outcomes.tolist()], counts / counts.sum())
    assert discrete.mutual_information(x, y, z) == pytest.approx(
        dit.multivariate.coinformation(d, [[0], [1]], [2]), abs=1e-10
    )
    assert discrete.mutual_information(x, y) == pytest.approx(dit.shannon.mutual_information(d, [0], [1]), abs=1e-10)


# ---------------------------------------------------------------------------------------------------------------
# hypothesis properties
# ---------------------------------------------------------------------------------------------------------------
def _pair(n_max=60, k_max=6):
    return st.integers(1, n_max).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, n, elements=st.integers(0, k_max)),
            hnp.arrays(np.int64, n, elements=st.integers(0, k_max)),
            hnp.arrays(np.int64, n, elements=st.integers(0, 2)),
        )
    )


@settings(max_examples=60, deadline=None)
@given(_pair())
def test_mi_symmetric_nonnegative_chain_rule(xyz):
    x, y, z = xyz
    i_xy = discrete.mutual_information(x, y)
    assert i_xy >= -1e-12
    assert i_xy == pytest.approx(discrete.mutual_information(y, x), abs=1e-12)
    assert discrete.mutual_information(x, y, z) >= -1e-12
    assert discrete.joint_entropy(x, y) == pytest.approx(
        discrete.entropy(x) + discrete.conditional_entropy(y, x), abs=1e-12
    )
    # chain rule of MI: I(X; Y,Z) = I(X;Z) + I(X;Y|Z)
    assert discrete.mutual_information(x, np.stack([y, z], 1)) == pytest.approx(
        discrete.mutual_information(x, z) + discrete.mutual_information(x, y, z), abs=1e-12
    )
    assert i_xy <= min(discrete.entropy(x), discrete.entropy(y)) + 1e-12


@settings(max_examples=40, deadline=None)
@given(_pair(), st.randoms(use_true_random=False))
def test_relabelling_invariance(xyz, rnd):
    x, y, z = xyz
    perm = list(range(7))
    rnd.shuffle(perm)
    relabel = np.array(perm)[x] * 10 + 3  # injective map of the labels
    names = np.array([f"v{v}" for v in y])
    for est in discrete.ESTIMATORS:
        assert discrete.mutual_information(relabel, names, z, estimator=est) == pytest.approx(
            discrete.mutual_information(x, y, z, estimator=est), abs=1e-12
        )


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 4).flatmap(lambda n: hnp.arrays(np.float64, (2,) * n, elements=st.floats(0, 1))))
def test_pmf_identities(raw):
    if raw.sum() == 0:
        raw[(0,) * raw.ndim] = 1.0
    pmf = raw / raw.sum()
    n = pmf.ndim
    h = discrete.entropy_from_pmf
    assert discrete.mutual_information_from_pmf(pmf, 0, 1) >= -1e-12
    assert discrete.mutual_information_from_pmf(pmf, 0, 1) == pytest.approx(
        discrete.mutual_information_from_pmf(pmf, 1, 0), abs=1e-12
    )
    assert h(pmf, (0, 1)) == pytest.approx(h(pmf, 0) + discrete.conditional_entropy_from_pmf(pmf, 1, 0), abs=1e-12)
    assert discrete.multi_information_from_pmf(pmf) == pytest.approx(
        sum(h(pmf, a) for a in range(n)) - h(pmf), abs=1e-12
    )


# ---------------------------------------------------------------------------------------------------------------
# permutation test
# ---------------------------------------------------------------------------------------------------------------
def test_permutation_test_detects_dependence_and_is_seeded():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, 2000)
    y = np.where(rng.random(2000) < 0.3, x, rng.integers(0, 4, 2000))
    a = discrete.permutation_test(x, y, n_permutations=199, seed=42)
    b = discrete.permutation_test(x, y, n_permutations=199, seed=42)
    c = discrete.permutation_test(x, y, n_permutations=199, seed=43)
    assert a.p_value == pytest.approx(1 / 200)
    assert a.statistic == pytest.approx(discrete.mutual_information(x, y), abs=1e-12)
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    assert not np.array_equal(a.null_distribution, c.null_distribution)
    assert a.n_permutations == 199


def test_permutation_null_matches_shuffled_recomputation():
    """The null is I(x_perm; y): each value equals MI of some permutation of x (same marginal, bounded)."""
    rng = np.random.default_rng(8)
    x, y = rng.integers(0, 3, (2, 300))
    res = discrete.permutation_test(x, y, n_permutations=300, seed=1)
    assert np.all(res.null_distribution >= -1e-12)
    assert np.all(res.null_distribution <= discrete.entropy(x) + 1e-12)
    assert 0.0 < res.p_value <= 1.0
    # under independence the mean of the null is close to the plug-in bias (k-1)^2 / (2 N ln 2)
    assert res.null_distribution.mean() == pytest.approx(4 / (2 * 300 * LN2), rel=0.25)


def test_shuffle_within_groups_is_a_permutation():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 5, 500)
    z = rng.integers(0, 4, 500)
    order = np.argsort(z, kind="stable").astype(np.int64)
    starts = np.searchsorted(z[order], np.arange(5)).astype(np.int64)
    out = discrete._shuffle_within(x, order, starts, np.uint64(123))
    assert not np.array_equal(out, x)
    for g in range(4):
        np.testing.assert_array_equal(np.sort(out[z == g]), np.sort(x[z == g]))


def test_conditional_permutation_keeps_x_given_z():
    """When x is a function of z, shuffling x within z's strata changes nothing: every null equals the statistic."""
    rng = np.random.default_rng(10)
    z = rng.integers(0, 4, 400)
    x = z % 2
    y = rng.integers(0, 3, 400)
    res = discrete.permutation_test(x, y, z, n_permutations=50, seed=0)
    np.testing.assert_allclose(res.null_distribution, res.statistic, atol=1e-12)
    assert res.p_value == 1.0


# ---------------------------------------------------------------------------------------------------------------
# bad input: clear errors
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: discrete.mutual_information([0, 1, 1], [0, 1]), ValueError, "mismatched numbers of samples"),
        (lambda: discrete.entropy([]), ValueError, "empty"),
        (lambda: discrete.entropy(np.empty((5, 0))), ValueError, "0 columns"),
        (lambda: discrete.entropy([0.0, np.nan, 1.0]), ValueError, "NaN or inf"),
        (lambda: discrete.entropy([0.0, np.inf]), ValueError, "NaN or inf"),
        (lambda: discrete.entropy([0.5, 1.0]), ValueError, "non-integer floats.*pidlearn.continuous"),
        (lambda: discrete.entropy(np.zeros((2, 2, 2))), ValueError, "3 dimensions"),
        (lambda: discrete.entropy(3), ValueError, "scalar"),
        (lambda: discrete.entropy([[0, 1], [1]]), ValueError, "rectangular"),
        (lambda: discrete.entropy([1 + 2j]), TypeError, "complex"),
        (lambda: discrete.entropy(np.array([{1}, {2}], dtype=object)), TypeError, "unhashable"),
        (lambda: discrete.entropy(np.array([1, float("nan")], dtype=object)), ValueError, "nan"),
        (lambda: discrete.entropy(None), TypeError, "None"),
        (lambda: discrete.entropy("abc"), TypeError, "single string"),
        (lambda: discrete.entropy([0, 1], estimator="nsb2"), ValueError, "unknown estimator"),
        (lambda: discrete.entropy([0, 1], base=1), ValueError, "base"),
        (lambda: discrete.entropy([0, 1], base=-2), ValueError, "base"),
        (lambda: discrete.multi_information([0, 1]), ValueError, "at least two"),
        (lambda: discrete.joint_entropy(), ValueError, "at least one"),
        (lambda: discrete.permutation_test([0, 1], [1, 0], n_permutations=0), ValueError, ">= 1"),
        (lambda: discrete.permutation_test([0, 1], [1, 0], n_permutations=2.5), TypeError, "int"),
        (lambda: discrete.entropy_from_pmf([0.5, 0.6]), ValueError, "sums to 1.1"),
        (lambda: discrete.entropy_from_pmf([1.2, -0.2]), ValueError, "negative"),
        (lambda: discrete.entropy_from_pmf([np.nan, 1.0]), ValueError, "NaN"),
        (lambda: discrete.entropy_from_pmf([]), ValueError, "empty"),
        (lambda: discrete.entropy_from_pmf(1.0), ValueError, "scalar"),
        (lambda: discrete.entropy_from_pmf(["a", "b"]), TypeError, "probabilities"),
        (lambda: discrete.mutual_information_from_pmf(np.full((2, 2), 0.25), 0, 0), ValueError, "disjoint"),
        (lambda: discrete.mutual_information_from_pmf(np.full((2, 2), 0.25), 0, 2), ValueError, "has 2 axes"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_pmf_rounding_is_tolerated():
    pmf = np.array([0.1] * 10)  # sums to 0.9999999999999999
    assert discrete.entropy_from_pmf(pmf) == pytest.approx(math.log2(10), abs=1e-12)
    assert discrete.entropy_from_pmf([0.5, 0.5, -1e-12]) == pytest.approx(1.0, abs=1e-9)
