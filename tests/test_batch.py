"""``batch_sxpid(..., output="array")``: the fused numba kernel equals ``sxpid`` tuple for tuple."""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest

from pidlearn.bench import batch as batch_mod
from pidlearn.bench.batch import KERNEL_MAX_CELLS, BatchSxPID, batch_sxpid, single_threaded_blas
from pidlearn.significance import BiasWarning
from pidlearn.sxpid import sxpid

TOL = 1e-12


def _reference(data, tup):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BiasWarning)
        return sxpid(data[:, tup[0]], data[:, list(tup[1:])])


def _assert_matches_sxpid(data, tuples, res: BatchSxPID, tol=TOL):
    assert isinstance(res, BatchSxPID)
    assert len(res) == len(tuples)
    np.testing.assert_array_equal(res.tuples, np.asarray(tuples) % data.shape[1])
    for i, tup in enumerate(tuples):
        ref = _reference(data, tup)
        assert res.atom_names == tuple(ref.atom_names)
        np.testing.assert_allclose(res.values[i], ref.values, rtol=0, atol=tol, err_msg=str(tup))
        inf = np.array([ref.informative[k] for k in ref.atom_names])
        mis = np.array([ref.misinformative[k] for k in ref.atom_names])
        np.testing.assert_allclose(res.informative[i], inf, rtol=0, atol=tol, err_msg=str(tup))
        np.testing.assert_allclose(res.misinformative[i], mis, rtol=0, atol=tol, err_msg=str(tup))
        assert res.mutual_information[i] == pytest.approx(ref.mutual_information, abs=tol)
        assert res.entropy_target[i] == pytest.approx(ref.entropy_target, abs=tol)


def _random_data(n_samples, alphabets, seed):
    """Columns with the given alphabets, plus a noisy function of the first two as the last column."""
    rng = np.random.default_rng(seed)
    cols = [rng.integers(0, k, n_samples) for k in alphabets]
    k = max(alphabets)
    noisy = np.where(rng.random(n_samples) < 0.3, rng.integers(0, k, n_samples), (cols[0] + cols[1]) % k)
    return np.column_stack([*cols, noisy])


def _all_tuples(n_vars, n_sources, limit=None):
    out = [
        (t, *s) for t in range(n_vars) for s in itertools.combinations([v for v in range(n_vars) if v != t], n_sources)
    ]
    return out[:limit]


# --------------------------------------------------------------------------------------------------------------------
# equality with sxpid
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_sources", [2, 3])
@pytest.mark.parametrize("alphabet", [2, 3, 4])
def test_equals_sxpid_on_random_data(n_sources, alphabet):
    data = _random_data(2000, [alphabet] * 5, seed=10 * n_sources + alphabet)
    tuples = _all_tuples(data.shape[1], n_sources, limit=60)
    _assert_matches_sxpid(data, tuples, batch_sxpid(data, tuples, output="array"))


def test_equals_sxpid_with_mixed_alphabets_and_base():
    data = _random_data(1500, [2, 3, 4, 2, 3], seed=3)
    tuples = _all_tuples(data.shape[1], 3, limit=80)
    res = batch_sxpid(data, tuples, output="array", base=np.e)
    for i, tup in enumerate(tuples[:20]):
        ref = sxpid(data[:, tup[0]], data[:, list(tup[1:])], base=np.e)
        np.testing.assert_allclose(res.values[i], ref.values, rtol=0, atol=TOL)
        assert res.entropy_target[i] == pytest.approx(ref.entropy_target, abs=TOL)


@pytest.mark.filterwarnings("ignore::pidlearn.significance.BiasWarning")
@pytest.mark.parametrize(
    ("n_sources", "alphabet"),
    [(2, 5), (2, 12), (4, 2), (4, 3), (5, 2)],  # direct counting (2: 150 and 1728 cells; 4 x 3: 243), bitsets
)
def test_equals_sxpid_on_both_counting_paths_and_more_sources(n_sources, alphabet):
    data = _random_data(1200, [alphabet] * (n_sources + 1), seed=n_sources * alphabet)
    tuples = _all_tuples(data.shape[1], n_sources, limit=6)
    _assert_matches_sxpid(data, tuples, batch_sxpid(data, tuples, output="array"))


def test_bitset_and_direct_counting_give_identical_results(monkeypatch):
    data = _random_data(3000, [2, 3, 2, 4, 2], seed=8)
    tuples = _all_tuples(data.shape[1], 2, limit=40)
    with_bits = batch_sxpid(data, tuples, output="array")
    monkeypatch.setattr(batch_mod, "_BITSET_MAX_K", 0)
    direct = batch_sxpid(data, tuples, output="array")
    np.testing.assert_array_equal(with_bits.informative, direct.informative)
    np.testing.assert_array_equal(with_bits.misinformative, direct.misinformative)
    np.testing.assert_array_equal(with_bits.entropy_target, direct.entropy_target)


@pytest.mark.filterwarnings("ignore::pidlearn.significance.BiasWarning")
def test_tables_beyond_the_kernel_take_the_per_call_path_bit_for_bit():
    rng = np.random.default_rng(2)
    n = 20_000
    wide = rng.integers(0, 80, n)  # 80 x 80 x 2 = 12,800 cells > KERNEL_MAX_CELLS
    data = np.column_stack([wide, rng.integers(0, 80, n), (wide + rng.integers(0, 2, n)) % 2, rng.integers(0, 2, n)])
    tuples = [(2, 0, 1), (2, 0, 3), (3, 0, 1)]
    assert 80 * 80 * 2 > KERNEL_MAX_CELLS
    res = batch_sxpid(data, tuples, output="array")
    with single_threaded_blas():
        for i in (0, 2):  # per-call route: bit for bit
            ref = _reference(data, tuples[i])
            np.testing.assert_array_equal(res.values[i], ref.values)
            assert res.mutual_information[i] == ref.mutual_information
    _assert_matches_sxpid(data, tuples, res)


def test_gates_equal_sxpid_and_the_reference_atoms(shared_dir):
    gates = json.loads((shared_dir / "reference" / "sxpid_gates.json").read_text())["gates"]
    for name, gate in gates.items():
        rows = []
        for *outcome, p in gate["pmf"]:
            reps = round(p * 48)
            assert reps == pytest.approx(p * 48, abs=1e-9)
            rows += [outcome] * reps
        data = np.array(rows)
        n = gate["n_sources"]
        tup = (n, *range(n))
        res = batch_sxpid(data, [tup], output="array")
        _assert_matches_sxpid(data, [tup], res)
        for atom, (plus, minus, net) in gate["atoms"].items():
            j = res.atom_names.index(atom)
            assert res.values[0, j] == pytest.approx(net, abs=1e-12), (name, atom)
            assert res.informative[0, j] == pytest.approx(plus, abs=1e-12), (name, atom)
            assert res.misinformative[0, j] == pytest.approx(minus, abs=1e-12), (name, atom)


# --------------------------------------------------------------------------------------------------------------------
# edge cases and the result object
# --------------------------------------------------------------------------------------------------------------------
def test_constant_columns():
    rng = np.random.default_rng(4)
    data = np.column_stack([np.zeros(500, int), rng.integers(0, 2, 500), rng.integers(0, 3, 500), np.full(500, 7)])
    tuples = [(0, 1, 2), (1, 0, 2), (2, 1, 3), (0, 3, 1), (1, 0, 3)]
    res = batch_sxpid(data, tuples, output="array")
    _assert_matches_sxpid(data, tuples, res)
    assert res.entropy_target[0] == 0.0 and res.mutual_information[0] == 0.0
    np.testing.assert_array_equal(res.values[4], 0.0)  # both sources constant


def test_single_tuple_any_labels_and_negative_indices():
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 3, (800, 4))
    labels = np.array(["a", "b", "c"])[codes]
    res = batch_sxpid(labels, [(-1, 0, 1)], output="array")
    assert res.tuples.tolist() == [[3, 0, 1]]
    _assert_matches_sxpid(codes, [(3, 0, 1)], res)
    np.testing.assert_array_equal(res.values, batch_sxpid(codes, np.array([[3, 0, 1]]), output="array").values)


def test_result_rows_as_pid_results():
    data = _random_data(1000, [2, 2, 3], seed=1)
    res = batch_sxpid(data, [(3, 0, 1), (2, 0, 1)], output="array")
    assert "2 tuples of 2 sources" in repr(res)
    pids = res.to_results()
    for i, pid in enumerate(pids):
        assert tuple(pid.atom_names) == res.atom_names
        np.testing.assert_array_equal(pid.values, res.values[i])
        assert pid.mutual_information == res.mutual_information[i]
        assert pid.informative[res.atom_names[0]] == res.informative[i, 0]
        assert pid.local is None
    assert res.result(1).entropy_target == res.entropy_target[1]


def test_bad_tuples_and_arguments():
    data = _random_data(300, [2, 2, 2], seed=0)
    with pytest.raises(ValueError, match="also a source"):
        batch_sxpid(data, [(0, 1, 2), (0, 0, 1)], output="array")
    with pytest.raises(ValueError, match=r"tuple 1 \(0, 1, 99\): column\(s\) \[99\] out of range"):
        batch_sxpid(data, [(0, 1, 2), (0, 1, 99)], output="array")
    with pytest.raises(ValueError, match="2 to 5 sources"):
        batch_sxpid(data, [(0, 1)], output="array")
    with pytest.raises(ValueError, match="one number of sources"):
        batch_sxpid(data, [(0, 1, 2), (0, 1, 2, 3)], output="array")
    with pytest.raises(ValueError, match="at least one tuple"):
        batch_sxpid(data, [], output="array")
    with pytest.raises(TypeError, match="column indices"):
        batch_sxpid(data, [(0, 1, "x")], output="array")
    with pytest.raises(ValueError, match="output must be one of"):
        batch_sxpid(data, [(0, 1, 2)], output="dict")
    with pytest.raises(ValueError, match="2-D"):
        batch_sxpid(data[:, 0], [(0, 1, 2)], output="array")
    with pytest.raises(ValueError, match="no samples"):
        batch_sxpid(data[:0], [(0, 1, 2)], output="array")


def test_one_bias_warning_for_all_undersampled_tuples():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4, (60, 5))  # 64 cells of 3 variables, 60 samples
    with pytest.warns(BiasWarning, match=r"\d+ of 4 tuples have fewer than 5 samples per occupied joint cell") as rec:
        batch_sxpid(data, [(0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 0)], output="array")
    assert len([w for w in rec if issubclass(w.category, BiasWarning)]) == 1


def test_results_do_not_depend_on_the_thread_count():
    numba = pytest.importorskip("numba")
    data = _random_data(2000, [2, 3, 2, 2, 4], seed=9)
    tuples = _all_tuples(data.shape[1], 3)
    many = batch_sxpid(data, tuples, output="array")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = batch_sxpid(data, tuples, output="array")
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(many.values, one.values)
    np.testing.assert_array_equal(many.entropy_target, one.entropy_target)


@pytest.mark.filterwarnings("ignore::pidlearn.significance.BiasWarning")
# --------------------------------------------------------------------------------------------------------------------
# Dask: equal to serial, tuple for tuple
# --------------------------------------------------------------------------------------------------------------------
def test_dask_array_path_equals_serial():
    distributed = pytest.importorskip("distributed", reason='Dask is an optional extra: pip install "pidlearn[dask]"')
    data = _random_data(1500, [2, 3, 2, 80], seed=11)
    tuples = [(4, 0, 1), (4, 1, 2), (0, 1, 2), (4, 0, 3), (1, 3, 0)]  # the last two take the per-call path
    serial = batch_sxpid(data, tuples, output="array")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, timeout=60) as client,
    ):
        for chunk_size in (None, 1, 2):
            dist = batch_sxpid(data, tuples, output="array", client=client, chunk_size=chunk_size)
            np.testing.assert_array_equal(dist.values, serial.values)
            np.testing.assert_array_equal(dist.informative, serial.informative)
            np.testing.assert_array_equal(dist.mutual_information, serial.mutual_information)
            np.testing.assert_array_equal(dist.entropy_target, serial.entropy_target)
            np.testing.assert_array_equal(dist.occupied, serial.occupied)


# --------------------------------------------------------------------------------------------------------------------
# batch_pid: the native measures on many tuples, equal to pid() bit for bit
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::pidlearn.significance.BiasWarning")
@pytest.mark.parametrize(
    ("measure", "n_sources"), [("imin", 2), ("imin", 3), ("mmi", 3), ("ccs", 2), ("ccs", 3), ("dep", 2), ("broja", 2)]
)
def test_batch_pid_equals_pid(measure, n_sources):
    from pidlearn.measures import BatchPID, batch_pid, pid

    data = _random_data(600, [2, 3, 2, 4], seed=40 + n_sources)
    tuples = _all_tuples(data.shape[1], n_sources, limit=12)
    res = batch_pid(data, tuples, measure, base=np.e if measure == "mmi" else 2)
    assert isinstance(res, BatchPID) and len(res) == len(tuples) and res.measure == measure
    for i, tup in enumerate(tuples):
        ref = pid(data[:, tup[0]], data[:, list(tup[1:])], measure, base=res.base)
        np.testing.assert_array_equal(res.values[i], ref.values)
        assert res.mutual_information[i] == ref.mutual_information
        assert res.entropy_target[i] == ref.entropy_target
        assert res.result(i).atoms == ref.atoms
    assert res.atom_names == tuple(ref.atom_names)


@pytest.mark.filterwarnings("ignore::pidlearn.significance.BiasWarning")
def test_batch_pid_large_tables_and_labels():
    """Tables beyond BATCH_MAX_CELLS are counted one by one, string labels are encoded once: same atoms."""
    from pidlearn import measures
    from pidlearn.measures import batch_pid, pid

    rng = np.random.default_rng(3)
    data = np.column_stack([rng.integers(0, 40, 500), rng.integers(0, 30, 500), rng.integers(0, 3, 500)])
    labelled = np.array([[f"v{x}" for x in row] for row in data], dtype=object)
    tuples = [(2, 0, 1), (0, 1, 2)]
    assert 40 * 30 * 3 <= measures.BATCH_MAX_CELLS < 40 * 30 * 3 * 2  # fits; the next one does not
    res = batch_pid(labelled, tuples, "imin")
    for i, tup in enumerate(tuples):
        ref = pid(labelled[:, tup[0]], labelled[:, list(tup[1:])], "imin")
        np.testing.assert_array_equal(res.values[i], ref.values)
    old = measures.BATCH_MAX_CELLS
    try:
        measures.BATCH_MAX_CELLS = 0
        np.testing.assert_array_equal(batch_pid(labelled, tuples, "imin").values, res.values)
    finally:
        measures.BATCH_MAX_CELLS = old


def test_batch_pid_sx_is_batch_sxpid():
    from pidlearn.measures import batch_pid

    data = _random_data(400, [2, 2, 2], seed=5)
    res = batch_pid(data, [(3, 0, 1)], "sx")
    assert isinstance(res, BatchSxPID)
    np.testing.assert_array_equal(res.values, batch_sxpid(data, [(3, 0, 1)], output="array").values)


def test_batch_pid_bad_input():
    from pidlearn.measures import batch_pid

    data = _random_data(100, [2, 2, 2], seed=6)
    with pytest.raises(ValueError, match=r"not 'pm'.*pid\(\) once per tuple"):
        batch_pid(data, [(3, 0, 1)], "pm")
    with pytest.raises(ValueError, match="unknown PID measure"):
        batch_pid(data, [(3, 0, 1)], "nope")
    with pytest.raises(ValueError, match="'broja' is native for 2 sources only, got tuples of 3"):
        batch_pid(data, [(3, 0, 1, 2)], "broja")
    with pytest.raises(ValueError, match="tuples is empty"):
        batch_pid(data, [], "imin")
    with pytest.raises(ValueError, match="out of range"):
        batch_pid(data, [(9, 0, 1)], "imin")
    with pytest.raises(ValueError, match="also a source"):
        batch_pid(data, [(0, 0, 1)], "imin")
    with pytest.raises(ValueError, match="2-D"):
        batch_pid(data[:, 0], [(0, 1, 2)], "imin")
    with pytest.raises(ValueError, match="one number of sources"):
        batch_pid(data, [(3, 0, 1), (3, 0, 1, 2)], "imin")
    with pytest.raises(ValueError, match="base"):
        batch_pid(data, [(3, 0, 1)], "imin", base=-1)
