"""The benchmark harness: ground truth of the tasks, the runner (resume, CSV/JSON), Dask = serial, batch_sxpid, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pidlearn.bench import batch_sxpid, load_results, run_grid
from pidlearn.bench.batch import single_threaded_blas
from pidlearn.bench.estimators import Estimator, all_estimators, get_estimator
from pidlearn.bench.runner import COLUMNS, grid_cells, summarize, write_csv
from pidlearn.bench.tasks import (
    additive_uniform_mi,
    all_tasks,
    dense_cov,
    gaussian_mi,
    get_task,
    sparse_cov,
    student_t_mi,
)
from pidlearn.sxpid import sxpid

LN2 = math.log(2)


# --------------------------------------------------------------------------------------------------------------------
# ground truth
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "nats"),
    [
        ("gauss-1x1", 0.4133),
        ("gauss-dense-2x2", 0.2939),
        ("gauss-dense-3x3", 0.4133),
        ("gauss-dense-5x5", 0.5928),
        ("gauss-dense-25x25", 1.2922),
        ("gauss-sparse-3x3", 1.0217),
        ("spiral-sparse-3x3", 1.0217),
        ("student-1x1-dof1", 0.2242),
        ("student-2x2-dof1", 0.4319),
        ("student-2x2-dof2", 0.1931),
        ("student-3x3-dof2", 0.2909),
        ("student-5x5-dof3", 0.2985),
        ("uniform-noise-c0.1", 1.7094),
        ("uniform-noise-c0.75", 0.3333),
    ],
)
def test_continuous_truth_matches_bmi_values(name, nats):
    assert get_task(name).truth * LN2 == pytest.approx(nats, abs=6e-5)


def test_gaussian_closed_form_equals_sum_of_eigen_correlations():
    # for a 2-pair sparse design, MI is the sum of the pairs' -1/2 ln(1 - rho^2)
    assert gaussian_mi(sparse_cov(5, 5, 2, 0.8), 5) == pytest.approx(-math.log(1 - 0.64), rel=1e-12)
    # dense 2x2 by the determinant of a matrix with equal off-diagonals: eigenvalues 1 + 3 c and (1 - c) x 3
    c = 0.5
    expected = 0.5 * math.log((1 + c) ** 2 * (1 - c) ** 2 / ((1 + 3 * c) * (1 - c) ** 3))
    assert gaussian_mi(dense_cov(2, 2, c), 2) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["student-1x1-dof1", "student-2x2-dof2"])
def test_student_t_closed_form_against_exact_log_density_ratio(name):
    """I = E[ln p(x, y) - ln p(x) - ln p(y)], averaged over the task's own samples with scipy's exact densities."""
    from scipy import stats

    task = get_task(name)
    d, dof = task.dims[0], {"student-1x1-dof1": 1, "student-2x2-dof2": 2}[name]
    x, y = task.sample(200_000, seed=0)
    joint = stats.multivariate_t(loc=np.zeros(2 * d), shape=np.eye(2 * d), df=dof)
    marginal = stats.multivariate_t(loc=np.zeros(d), shape=np.eye(d), df=dof)
    ratio = joint.logpdf(np.hstack([x, y])) - marginal.logpdf(x) - marginal.logpdf(y)
    se = ratio.std() / math.sqrt(len(ratio))
    assert ratio.mean() / LN2 == pytest.approx(task.truth, abs=5 * se / LN2)
    assert student_t_mi(np.eye(2 * d), d, dof) / LN2 == task.truth


def test_additive_uniform_closed_form_against_a_numerical_integral():
    from scipy import integrate

    # Y = X + U(-c, c): I = h(Y) - ln(2c), h(Y) from the trapezoid-shaped density of Y
    for c in (0.1, 0.75):

        def density(y, c=c):
            return max(0.0, min(1.0, y + c) - max(0.0, y - c)) / (2 * c)

        def integrand(y, density=density):
            p = density(y)
            return -p * math.log(p) if p > 0 else 0.0

        h, _ = integrate.quad(integrand, -c, 1 + c, points=sorted({c, 1 - c}), limit=200)
        assert h - math.log(2 * c) == pytest.approx(additive_uniform_mi(c), abs=1e-7)


@pytest.mark.parametrize("name", ["gauss-1x1", "gauss-dense-3x3", "gauss-sparse-5x5", "gauss-pid-sum"])
def test_gaussian_samplers_have_the_stated_mi(name):
    """The Gaussian estimator at large N converges to the closed form (checks covariance and sampler)."""
    from pidlearn.continuous import mutual_information

    task = get_task(name)
    a, b = task.sample(200_000, seed=0)
    if task.kind == "continuous-pid":
        a, b = b, a
    assert mutual_information(a, b, estimator="gaussian") == pytest.approx(task.truth, abs=0.01)


@pytest.mark.parametrize("name", ["halfcube-gauss-1x1", "wiggly-gauss-1x1", "student-1x1-dof1", "uniform-noise-c0.75"])
def test_non_gaussian_samplers_against_ksg_at_large_n(name):
    from pidlearn.continuous import mutual_information

    task = get_task(name)
    x, y = task.sample(50_000, seed=1)
    assert mutual_information(x, y, estimator="ksg1") == pytest.approx(task.truth, abs=0.03)


def test_discrete_samplers_follow_their_pmf():
    from pidlearn.discrete import mutual_information

    task = get_task("channel-a4")
    x, y = task.sample(200_000, seed=0)
    assert mutual_information(x, y, estimator="miller_madow") == pytest.approx(task.truth, abs=0.005)


def test_gates_equal_the_reference_atoms(shared_dir):
    ref = json.loads((shared_dir / "reference" / "sxpid_gates.json").read_text())["gates"]
    ours = {"XOR": "xor", "AND": "and", "COPY": "copy", "UNQ": "unq", "RDN": "rdn", "XOR3": "parity3", "AND3": "and3"}
    for ref_name, name in ours.items():
        task = get_task(name)
        atoms = ref[ref_name]["atoms"]
        assert set(task.atoms) == set(atoms)
        for atom, (_, _, net) in atoms.items():
            assert task.atoms[atom] == pytest.approx(net, abs=1e-9), (name, atom)
        assert task.truth == pytest.approx(sum(v[2] for v in atoms.values()), abs=1e-9)


def test_pid_sampler_recovers_the_exact_atoms():
    task = get_task("random-pmf-3src-a2")
    target, sources = task.sample(400_000, seed=0)
    res = sxpid(target, sources)
    for atom, value in task.atoms.items():
        assert res.atoms[atom] == pytest.approx(value, abs=0.01)


def test_samplers_are_seeded_per_run():
    task = get_task("gauss-dense-2x2")
    a1, _ = task.sample(50, seed=3)
    a2, _ = task.sample(50, seed=3)
    a3, _ = task.sample(50, seed=4)
    np.testing.assert_array_equal(a1, a2)
    assert not np.array_equal(a1, a3)


def test_every_task_samples_the_declared_shapes():
    for task in all_tasks():
        a, b = task.sample(20, seed=0)
        if task.kind.endswith("pid"):
            assert a.shape == (20,) and b.shape == (20, task.dims[0])
        else:
            assert len(a) == len(b) == 20
            assert np.asarray(a).reshape(20, -1).shape[1] == task.dims[0]


# --------------------------------------------------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------------------------------------------------
def _small_grid():
    tasks = [get_task("gauss-1x1"), get_task("channel-a8"), get_task("xor"), get_task("random-pmf-3src-a2")]
    names = ["pidlearn-ksg1", "pidlearn-gaussian", "pidlearn-plugin", "pidlearn-miller_madow", "pidlearn-sxpid"]
    return tasks, [get_estimator(n) for n in names]


def _without_time(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def _same(a, b):
    assert len(a) == len(b)
    for ra, rb in zip(_without_time(a), _without_time(b), strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            if isinstance(ra[k], float) and math.isnan(ra[k]):
                assert math.isnan(rb[k]), k
            else:
                assert ra[k] == rb[k], (k, ra, rb)


def test_runner_resume_and_file_round_trip(tmp_path):
    tasks, ests = _small_grid()
    rows, stats = run_grid(tasks, ests, (200, 500), (0, 1), out=tmp_path, progress=False)
    assert stats["computed"] == stats["cells"] == len(rows) == 2 * 2 * (2 + 2 + 1 + 1)
    assert all(r["status"] == "ok" for r in rows)
    assert list(rows[0]) == list(COLUMNS)
    # a second run computes nothing and returns the same rows
    again, stats2 = run_grid(tasks, ests, (200, 500), (0, 1), out=tmp_path, progress=False)
    assert stats2["computed"] == 0 and stats2["skipped"] == stats["cells"]
    _same(again, rows)
    assert [r["seconds"] for r in again] == [r["seconds"] for r in rows]
    # CSV and JSON both round-trip exactly (floats written with repr)
    from_csv = load_results(tmp_path / "results.csv")
    from_json = load_results(tmp_path / "results.json")
    _same(from_csv, rows)
    _same(from_json, rows)
    assert [r["seconds"] for r in from_csv] == [r["seconds"] for r in rows]
    # a bigger grid computes only the new cells
    _, stats3 = run_grid(tasks, ests, (200, 500), (0, 1, 2), out=tmp_path, progress=False)
    assert stats3["computed"] == stats["cells"] // 2


def test_runner_resumes_an_interrupted_csv(tmp_path):
    tasks, ests = _small_grid()
    rows, _ = run_grid(tasks, ests, (200,), (0,), out=tmp_path, progress=False)
    lines = (tmp_path / "results.csv").read_text().splitlines(keepends=True)
    (tmp_path / "results.csv").write_text("".join(lines[:4]))  # header + 3 rows, as if killed
    (tmp_path / "results.json").unlink()
    again, stats = run_grid(tasks, ests, (200,), (0,), out=tmp_path, progress=False)
    assert stats["computed"] == len(rows) - 3
    _same(again, rows)


@pytest.mark.parametrize("cut", [1, 5, 40])
def test_runner_repairs_a_torn_last_row(tmp_path, cut):
    """A run killed mid-write leaves a partial last line: resume drops it with a warning and recomputes its cell."""
    tasks, ests = _small_grid()
    rows, _ = run_grid(tasks, ests, (200,), (0,), out=tmp_path, progress=False)
    csv_path = tmp_path / "results.csv"
    data = csv_path.read_bytes()
    csv_path.write_bytes(data[:-cut])  # the last row torn by a few bytes (at least its newline)
    (tmp_path / "results.json").unlink()
    with pytest.warns(RuntimeWarning, match=r"results\.csv: line \d+ is not a complete result row"):
        again, stats = run_grid(tasks, ests, (200,), (0,), out=tmp_path, progress=False)
    assert stats["computed"] == 1
    _same(again, rows)
    _same(load_results(csv_path), rows)  # the file is repaired: one valid row per cell
    assert csv_path.read_bytes().count(b"\n") == len(rows) + 1


def test_runner_drops_an_invalid_row_and_the_rows_after_it(tmp_path):
    tasks, ests = _small_grid()
    rows, _ = run_grid(tasks, ests, (200,), (0,), out=tmp_path, progress=False)
    csv_path = tmp_path / "results.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace(",200,", ",2x0,", 1)  # an unparseable sample size in row 3
    csv_path.write_text("".join(lines))
    with pytest.warns(RuntimeWarning, match=r"line 4 is not a complete result row.*and the \d+ line\(s\) after it"):
        assert len(load_results(csv_path)) == 2
    with pytest.warns(RuntimeWarning, match="line 4"):
        again, stats = run_grid(tasks, ests, (200,), (0,), out=tmp_path, progress=False)
    assert stats["computed"] == len(rows) - 2
    _same(again, rows)


def test_runner_keeps_multiline_messages_and_refuses_foreign_files(tmp_path):
    row = dict.fromkeys(COLUMNS, "")
    row.update(task="t", kind="mi", estimator="e", n=10, seed=0, truth=1.0, estimate=math.nan, error=math.nan,
               atom_error=math.nan, seconds=0.5, status="error", message="ValueError: line one\nline two")  # fmt: skip
    write_csv(tmp_path / "results.csv", [row, row])
    got = load_results(tmp_path / "results.csv")
    assert len(got) == 2 and got[1]["message"] == "ValueError: line one\nline two"
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a pidlearn bench results file"):
        load_results(tmp_path / "other.csv")
    (tmp_path / "torn.csv").write_text("task,kind,est")  # killed while writing the header
    with pytest.warns(RuntimeWarning, match="header is torn"):
        assert load_results(tmp_path / "torn.csv") == []


def test_pid_rows_carry_atoms_and_atom_error():
    tasks, ests = _small_grid()
    rows, _ = run_grid(tasks[2:3], ests, (300,), (0,), progress=False)
    (row,) = rows
    atoms = json.loads(row["atoms"])
    assert row["estimate"] == pytest.approx(sum(atoms.values()))
    assert row["atom_error"] == pytest.approx(max(abs(atoms[k] - v) for k, v in tasks[2].atoms.items()))
    assert row["error"] == pytest.approx(row["estimate"] - row["truth"])


def test_failing_estimator_is_recorded_not_raised():
    def broken(a, b, seed):
        raise RuntimeError("boom")

    est = Estimator("broken", ("discrete-mi",), broken)
    rows, _ = run_grid([get_task("channel-a4")], [est], (50,), (0,), progress=False)
    assert rows[0]["status"] == "error" and "boom" in rows[0]["message"]
    assert summarize(rows)[0]["failed"] == 1


def test_estimators_declare_what_they_support():
    small = get_task("gauss-dense-3x3")
    assert not any(e.supports(small) for e in all_estimators("discrete-pid"))
    cells = grid_cells(all_tasks(), all_estimators(), (100, 10**6), (0,))
    for c in cells:
        assert c.estimator.supports(c.task, c.n)
    if any(e.name == "sklearn-ksg" for e in all_estimators()):
        assert not get_estimator("sklearn-ksg").supports(small)


def test_peers_agree_with_pidlearn_where_they_compute_the_same_thing():
    names = {e.name for e in all_estimators()}
    x, y = get_task("channel-a8").sample(2000, seed=0)
    ours = get_estimator("pidlearn-plugin")(x, y, 0)
    for peer in ("sklearn-plugin", "npeet-plugin", "dit-plugin"):
        if peer in names:
            assert get_estimator(peer)(x, y, 0) == pytest.approx(ours, abs=1e-9), peer
    t, s = get_task("and").sample(2000, seed=0)
    ours = get_estimator("pidlearn-sxpid")(t, s, 0)
    for peer in ("idtxl-sxpid", "dit-sxpid"):
        if peer in names:
            theirs = get_estimator(peer)(t, s, 0)
            for k, v in ours.items():
                assert theirs[k] == pytest.approx(v, abs=1e-9), (peer, k)


# --------------------------------------------------------------------------------------------------------------------
# batch_sxpid
# --------------------------------------------------------------------------------------------------------------------
def _batch_data():
    rng = np.random.default_rng(5)
    s = rng.integers(0, 3, (1500, 5))
    noisy = np.where(rng.random(1500) < 0.2, rng.integers(0, 3, 1500), (s[:, 0] + s[:, 1]) % 3)
    bits = rng.integers(0, 2, (1500, 5))
    data = np.column_stack([s, noisy, s[:, 2] * (s[:, 3] > 0), bits, bits.sum(axis=1) % 3])
    # 2, 3 and 4 sources of 3 values, 5 binary sources (7579 atoms)
    tuples = [(5, 0, 1), (6, 2, 3), (5, 0, 1, 2), (6, 2, 3, 4), (0, 1, 2), (5, 0, 1, 2, 3), (12, 7, 8, 9, 10, 11)]
    return data, tuples


def _assert_same_pid(a, b):
    assert a.atom_names == b.atom_names
    np.testing.assert_array_equal(a.values, b.values)
    assert a.informative == b.informative and a.misinformative == b.misinformative
    assert a.mutual_information == b.mutual_information and a.entropy_target == b.entropy_target


def test_batch_sxpid_equals_a_loop_of_sxpid():
    data, tuples = _batch_data()
    results = batch_sxpid(data, tuples)
    assert len(results) == len(tuples)
    with single_threaded_blas():  # the same BLAS summation order as batch_sxpid
        for tup, res in zip(tuples, results, strict=True):
            _assert_same_pid(res, sxpid(data[:, tup[0]], data[:, list(tup[1:])]))
            assert res.local is None


def test_batch_sxpid_encodes_any_labels_and_checks_its_input():
    data, tuples = _batch_data()
    labels = np.array(["a", "b", "c"])[data]
    for a, b in zip(batch_sxpid(labels, tuples[:2]), batch_sxpid(data, tuples[:2]), strict=True):
        _assert_same_pid(a, b)
    assert batch_sxpid(data, []) == []
    with pytest.raises(ValueError, match="also a source"):
        batch_sxpid(data, [(0, 0, 1)])
    with pytest.raises(ValueError, match="2 to 5 sources"):
        batch_sxpid(data, [(0, 1)])
    with pytest.raises(ValueError, match="out of range"):
        batch_sxpid(data, [(0, 1, 99)])
    with pytest.raises(ValueError, match="2-D"):
        batch_sxpid(data[:, 0], [(0, 1, 2)])


def test_batch_sxpid_is_exposed_lazily():
    import pidlearn

    assert pidlearn.batch_sxpid is batch_sxpid


# --------------------------------------------------------------------------------------------------------------------
# Dask: equal to serial, cell for cell
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed", reason='Dask is an optional extra: pip install "pidlearn[dask]"')
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    client = distributed.Client(cluster, timeout=60)
    yield client
    client.close()
    cluster.close()


def test_dask_grid_equals_serial_grid(tmp_path, dask_client):
    tasks, ests = _small_grid()
    serial, _ = run_grid(tasks, ests, (200, 800), (0, 1), out=tmp_path / "serial", progress=False)
    dist, stats = run_grid(tasks, ests, (200, 800), (0, 1), out=tmp_path / "dask", client=dask_client, progress=False)
    assert stats["computed"] == len(serial)
    _same(dist, serial)
    _same(load_results(tmp_path / "dask"), load_results(tmp_path / "serial"))
    # resume works the same on Dask: nothing left to compute
    _, again = run_grid(tasks, ests, (200, 800), (0, 1), out=tmp_path / "dask", client=dask_client, progress=False)
    assert again["computed"] == 0


def test_dask_batch_sxpid_equals_serial(dask_client):
    data, tuples = _batch_data()
    serial = batch_sxpid(data, tuples)
    for chunk_size in (None, 1, 3):
        for a, b in zip(batch_sxpid(data, tuples, client=dask_client, chunk_size=chunk_size), serial, strict=True):
            _assert_same_pid(a, b)


# --------------------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------------------
def test_cli_bench_json_small_grid(tmp_path, capsys):
    from pidlearn.cli import main

    args = ["bench", "--quick", "--out", str(tmp_path), "--json", "--no-plots", "--sizes", "200", "--seeds", "0"]
    args += ["--tasks", "gauss-1x1", "xor", "channel-a4", "--estimators", "pidlearn-ksg1", "pidlearn-sxpid"]
    args += ["pidlearn-plugin"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["command"] == "bench" and payload["cells"] == 3 and payload["computed"] == 3
    assert {s["estimator"] for s in payload["summary"]} == {"pidlearn-ksg1", "pidlearn-sxpid", "pidlearn-plugin"}
    assert (tmp_path / "summary.md").exists() and len(load_results(tmp_path)) == 3
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["computed"] == 0


def test_cli_bench_errors_are_one_json_object(tmp_path, capsys):
    from pidlearn.cli import main

    assert main(["bench", "--out", str(tmp_path), "--tasks", "no-such-task", "--json"]) == 2
    assert "no-such-task" in json.loads(capsys.readouterr().out)["error"]
    assert main(["bench", "--list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {t["name"] for t in listing["tasks"]} == {t.name for t in all_tasks()}


@pytest.mark.slow
def test_cli_bench_quick_grid_with_plots(tmp_path, capsys):
    from pidlearn.cli import main

    assert main(["bench", "--quick", "--out", str(tmp_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["failed"] == 0
    for key in ("estimates", "runtime", "atom_errors"):
        assert (tmp_path / f"{key}.png").stat().st_size > 0


def test_summaries_and_figures_of_a_small_grid(tmp_path):
    pytest.importorskip("matplotlib")
    from pidlearn.bench.plots import save_figures
    from pidlearn.bench.runner import per_task_markdown, summary_markdown

    tasks, ests = _small_grid()
    rows, _ = run_grid(tasks, ests, (200, 400), (0, 1), progress=False)
    summary = summarize(rows)
    assert {s["estimator"] for s in summary} == {e.name for e in ests}
    sx = next(s for s in summary if s["estimator"] == "pidlearn-sxpid")
    assert sx["n_max"] == 400 and sx["max_atom_error_at_n_max"] > 0
    table = summary_markdown(summary)
    assert table.count("\n") == len(summary) + 1 and "pidlearn-ksg1" in table
    per_task = per_task_markdown(rows)
    assert "**discrete-pid**" in per_task and "| xor | 1.0000 |" in per_task
    assert "median time (ms)" in per_task_markdown(rows, field="seconds")
    paths = save_figures(rows, tmp_path)
    assert set(paths) == {"estimates", "runtime", "atom_errors"}
    assert all((tmp_path / f"{k}.png").stat().st_size > 0 for k in paths)
