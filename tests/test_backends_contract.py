"""The backend contract (issue #16): one suite, both learning backends, the same expectations.

Every test here runs once per backend (the ``backend`` fixture: ``"numpy"`` and ``"torch"``, the latter skipped
when torch is not installed) and states one expectation for both: constructor validation (the same bad setting, the
same exception type, a message naming the argument), shapes and dtypes of outputs, the keys of ``fit``'s history,
learning on a tiny separable task (supervised network, unsupervised layer and its probe, associative memory, MOLE
with every module kind and objective), checkpoint resume equal to an uninterrupted run, foreign-backend checkpoints
refused, NaN inputs refused, ``predict``/``accuracy`` agreeing, and seeds reproducible. The last section checks that
the two backends give the same numbers for the same weights and data.

Where the backends differ for no good reason, or both miss the contract, the test states the contract and carries
``xfail(strict=True)`` with the finding as its reason (built by :func:`both` / :func:`cases`): a fix makes the
test pass, and strictness then asks for the mark to go.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np
import pytest

from pidlearn.backends._settings import NON_FINITE_INPUTS
from pidlearn.lattice import lattice
from tests._backend_helpers import BACKEND_NAMES, TASKS, Backend, blobs

OBJECTIVES = ("renyi", "renyi2", "renyi-norm", "infonce", "pid")
KINDS = ("mlp", "cnn", "gcn", "gin")
NAN = math.nan


@pytest.fixture(params=BACKEND_NAMES)
def backend(request) -> Backend:
    """The backend under test (torch runs on one thread: the tests share two cores)."""
    if request.param == "torch":
        torch = pytest.importorskip("torch", reason='the torch backend needs torch: pip install "pidlearn[torch]"')
        torch.set_num_threads(1)
    return Backend(request.param)


def both(**gaps: str) -> list:
    """Both backend names as parameters of ``backend``; ``gaps[name]``: that run is a known finding (xfail, strict)."""
    unknown = set(gaps) - set(BACKEND_NAMES)
    assert not unknown, unknown
    return [
        pytest.param(n, id=n, marks=[pytest.mark.xfail(strict=True, reason=gaps[n])] if n in gaps else [])
        for n in BACKEND_NAMES
    ]


class Case(NamedTuple):
    """A bad call and what every backend must raise for it."""

    id: str
    call: object  # callable(backend) that must raise
    exc: type
    match: str  # regex the message must contain (the argument's name)
    gaps: dict | None = None  # backend name -> finding (xfail, strict)


def cases(table: list[Case]) -> list:
    """``(case, backend)`` parameters for every case and backend, the known findings marked xfail (strict)."""
    return [
        pytest.param(
            c,
            n,
            id=f"{c.id}-{n}",
            marks=[pytest.mark.xfail(strict=True, reason=c.gaps[n])] if n in (c.gaps or {}) else [],
        )
        for c in table
        for n in BACKEND_NAMES
    ]


def _check_case(case: Case, backend: Backend) -> None:
    with pytest.raises(case.exc, match=case.match):
        case.call(backend)


def _without_seconds(history) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ------------------------------------------------------------------------------------------------------------------
# the package
SHARED_NAMES = (
    "InfomorphicLayer",
    "InfomorphicNetwork",
    "Trainer",
    "standardise",
    "plot_history",
    "UnsupervisedTrainer",
    "linear_probe",
    "random_projection_codes",
    "InfomorphicMemory",
    "random_patterns",
    "hopfield_weights",
    "recall",
    "recall_capacity",
    "MOLE",
    "atom_names",
    "plot_mi_history",
)


def test_backend_package_exports_the_shared_api(backend):
    missing = [n for n in SHARED_NAMES if not hasattr(backend.module, n)]
    assert not missing, f"{backend.name} lacks {missing}"
    assert set(SHARED_NAMES) <= set(backend.module.__all__)
    for name in SHARED_NAMES:  # the package's name is the submodule's object, not a second copy
        obj = getattr(backend.module, name)
        assert obj.__module__.startswith(("pidlearn.backends." + backend.name, "pidlearn.backends.plots")), name


def test_backend_submodules_hold_the_shared_api(backend):
    for module, names in (
        (backend.train, ("InfomorphicNetwork", "Trainer", "standardise")),
        (backend.unsupervised, ("UnsupervisedTrainer", "linear_probe", "random_projection_codes")),
        (backend.memory, ("InfomorphicMemory", "random_patterns", "hopfield_weights", "recall", "recall_capacity")),
        (backend.mole, ("MOLE",)),
    ):
        assert all(callable(getattr(module, n, None)) for n in names), module.__name__
    assert tuple(backend.mole.SCHEDULES) == ("asynchronous", "sequential")


# ------------------------------------------------------------------------------------------------------------------
# supervised: InfomorphicNetwork and Trainer
def _net(b: Backend, **kw):
    return b.network(10, 3, seed=0, **kw)


def _trainer(b: Backend, net=None, **kw):
    kw = {"batch_size": 128, "lr_readout": 3e-2, "lr_hidden": 3e-2, "seed": 0, "progress": False, **kw}
    return b.train.Trainer(_net(b) if net is None else net, **kw)


def _blob_split(seed=0, n_train=384, n_test=192):
    x, y = blobs(n_train + n_test, 10, 3, seed=seed)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


SUPERVISED_CASES = [
    Case("hidden=-1", lambda b: _net(b, hidden=-1), ValueError, "hidden"),
    Case("hidden_goal", lambda b: _net(b, hidden=4, hidden_goal="bogus"), ValueError, "goal"),
    Case("readout_goal", lambda b: _net(b, readout_goal="bogus"), ValueError, "goal"),
    Case("n_classes=0", lambda b: b.network(10, 0), ValueError, "n_classes"),
    Case("n_classes=1", lambda b: b.network(10, 1), ValueError, "n_classes"),
    Case("n_inputs=0", lambda b: b.network(0, 3), ValueError, "n_inputs"),
    Case("n_inputs=2.0", lambda b: b.network(2.0, 3), ValueError, "n_inputs"),
    Case("batch_size=1", lambda b: _trainer(b, batch_size=1), ValueError, "batch_size"),
    Case("seed=-1", lambda b: _trainer(b, seed=-1), ValueError, "seed"),
    Case("seed=1.5", lambda b: _trainer(b, seed=1.5), ValueError, "seed"),
    Case("monitor_every=0", lambda b: _trainer(b, monitor_every=0), ValueError, "monitor_every"),
    Case("eval_samples=0", lambda b: _trainer(b, eval_samples=0), ValueError, "eval_samples"),
    Case("lr_readout=nan", lambda b: _trainer(b, lr_readout=NAN), ValueError, "lr_readout"),
    Case("lr_hidden=0", lambda b: _trainer(b, lr_hidden=0.0), ValueError, "lr_hidden"),
    Case("lr_hidden='a'", lambda b: _trainer(b, lr_hidden="a"), TypeError, "lr_hidden"),
    Case("weight_decay_readout=-1", lambda b: _trainer(b, weight_decay_readout=-1.0), ValueError,
         "weight_decay_readout"),
    Case("weight_decay_hidden=inf", lambda b: _trainer(b, weight_decay_hidden=math.inf), ValueError,
         "weight_decay_hidden"),
    Case("network='net'", lambda b: b.train.Trainer("net", progress=False), TypeError, "network"),
]  # fmt: skip


@pytest.mark.parametrize("case, backend", cases(SUPERVISED_CASES), indirect=["backend"])
def test_supervised_settings_are_validated(case, backend):
    _check_case(case, backend)


def test_supervised_trainer_refuses_a_network_of_the_other_backend(backend):
    other = _other(backend)
    with pytest.raises(TypeError, match="network must be an InfomorphicNetwork of this trainer's backend"):
        backend.train.Trainer(other.network(10, 3), progress=False)


def test_supervised_outputs_shapes_and_dtypes(backend):
    b = backend
    x, _, mean, std = _standardised(b)
    assert b.is_array(x) and b.dtype_name(x) == "float32" and tuple(x.shape) == (6, 4)
    assert isinstance(mean, float) and isinstance(std, float)
    xt, yt, xe, _ = _blob_split()
    trainer = _trainer(b)
    trainer.fit(b.array(xt), b.array(yt), 1)
    theta = trainer.predict_theta(b.array(xe))
    assert b.is_array(theta) and b.dtype_name(theta) == "float32" and tuple(theta.shape) == (len(xe), 3)
    assert ((b.numpy(theta) > 0) & (b.numpy(theta) < 1)).all()
    pred = trainer.predict(b.array(xe))
    assert b.is_array(pred) and b.dtype_name(pred) == "int64" and tuple(pred.shape) == (len(xe),)
    assert set(np.unique(b.numpy(pred))) <= {0, 1, 2}


def _standardised(b: Backend):
    images = (np.arange(6 * 4).reshape(6, 2, 2) * 10).astype(np.uint8)
    x, mean, std = b.train.standardise(images)
    ref = images.reshape(6, -1) / 255.0
    np.testing.assert_allclose(b.numpy(x), (ref - ref.mean()) / ref.std(ddof=1), rtol=1e-5, atol=1e-6)
    return x, images, mean, std


def test_supervised_history_records(backend):
    b = backend
    xt, yt, xe, ye = _blob_split(n_train=256)
    net = _net(b, hidden=4, hidden_goal="trivariate_optimised")
    history = _trainer(b, net).fit(b.array(xt), b.array(yt), 2, eval_sets={"test": (b.array(xe), b.array(ye))})
    assert [r["epoch"] for r in history] == [1, 2]
    for record in history:
        assert set(record) == {"epoch", "seconds", "loss", "atoms", "accuracy"}
        assert set(record["loss"]) == set(record["atoms"]) == {"hidden", "readout"}
        assert set(record["atoms"]["hidden"]) == {*lattice(3).names, "H_res"}
        assert set(record["atoms"]["readout"]) == {*lattice(2).names, "H_res"}
        assert set(record["accuracy"]) == {"test"} and 0.0 <= record["accuracy"]["test"] <= 1.0
        assert all(isinstance(v, float) and math.isfinite(v) for v in record["loss"].values())


def test_supervised_learns_separable_blobs(backend):
    b = backend
    xt, yt, xe, ye = _blob_split()
    trainer = _trainer(b)
    history = trainer.fit(b.array(xt), b.array(yt), 6, eval_sets={"test": (b.array(xe), b.array(ye))})
    assert history[-1]["accuracy"]["test"] >= 0.9  # chance 1/3; measured 1.0 in both backends
    red = [r["atoms"]["readout"]["{1}{2}"] for r in history]  # the readout goal rewards redundancy of R and C
    assert red[-1] > red[0] + 0.1, red  # measured 0.13 -> 0.77 (NumPy), 0.06 -> 0.79 (torch)


def test_supervised_predict_and_accuracy_agree(backend):
    b = backend
    xt, yt, xe, ye = _blob_split(n_train=256)
    trainer = _trainer(b)
    trainer.fit(b.array(xt), b.array(yt), 2)
    pred = b.numpy(trainer.predict(b.array(xe)))
    assert trainer.accuracy(b.array(xe), b.array(ye)) == pytest.approx(np.mean(pred == ye), abs=1e-12)


def test_supervised_checkpoint_resume_equals_uninterrupted(backend, tmp_path):
    b = backend
    xt, yt, _, _ = _blob_split(n_train=256)
    x, y = b.array(xt), b.array(yt)

    def make():
        return _trainer(b, _net(b, hidden=4))

    straight = make()
    straight.fit(x, y, 3)
    path = tmp_path / f"sup{b.suffix}"
    first = make()
    first.fit(x, y, 1, checkpoint=path)
    resumed = make()
    resumed.load(path)
    assert resumed.epoch == 1
    resumed.fit(x, y, 3)
    _assert_same_state(b.state(resumed.network), b.state(straight.network))
    assert _without_seconds(resumed.history) == _without_seconds(straight.history)


def _other(b: Backend) -> Backend:
    other = "torch" if b.name == "numpy" else "numpy"
    if other == "torch":
        pytest.importorskip("torch", reason="a torch checkpoint needs torch")
    return Backend(other)


def test_supervised_foreign_checkpoint_is_refused(backend, tmp_path):
    b, other = backend, _other(backend)
    path = tmp_path / f"foreign{other.suffix}"
    _trainer(other).save(path)
    trainer = _trainer(b)
    before = b.state(trainer.network)
    with pytest.raises(ValueError, match=f"written by the {other.name} backend, not the {b.name} one; load it with"):
        trainer.load(path)
    _assert_same_state(b.state(trainer.network), before)  # nothing half-loaded


def test_supervised_nan_input_is_refused(backend):
    b = backend
    xt, yt, _, _ = _blob_split(n_train=128)
    bad = xt.copy()
    bad[5, 3] = NAN
    trainer = _trainer(b)
    with pytest.raises(ValueError, match="x_train contains NaN"):
        trainer.fit(b.array(bad), b.array(yt), 1)
    assert trainer.epoch == 0 and not trainer.history
    with pytest.raises(ValueError, match="NaN"):
        trainer.accuracy(b.array(bad), b.array(yt))
    with pytest.raises(ValueError, match="NaN"):
        trainer.predict(b.array(bad))


def _blob_x(b: Backend, n=128):
    return b.array(_blob_split(n_train=n)[0])


def _fit_supervised(b: Backend, epochs) -> None:
    xt, yt, _, _ = _blob_split(n_train=128)
    _trainer(b).fit(b.array(xt), b.array(yt), epochs)


def _fit_memory(b: Backend, epochs) -> None:
    b.memory_net(8).fit(b.memory.random_patterns(3, 8), epochs=epochs)


# -1 would return without training and 1.5 train two epochs: fit refuses both, before touching anything
FIT_EPOCHS_CASES = [
    Case("Trainer-epochs=-1", lambda b: _fit_supervised(b, -1), ValueError, "epochs"),
    Case("Trainer-epochs=0", lambda b: _fit_supervised(b, 0), ValueError, "epochs"),
    Case("Trainer-epochs=1.5", lambda b: _fit_supervised(b, 1.5), ValueError, "epochs"),
    Case("UnsupervisedTrainer-epochs=-1", lambda b: _unsup(b, batch_size=64).fit(_blob_x(b), -1), ValueError, "epochs"),
    Case("UnsupervisedTrainer-epochs=1.5", lambda b: _unsup(b, batch_size=64).fit(_blob_x(b), 1.5), ValueError,
         "epochs"),
    Case("InfomorphicMemory-epochs=-1", lambda b: _fit_memory(b, -1), ValueError, "epochs"),
    Case("InfomorphicMemory-epochs=1.5", lambda b: _fit_memory(b, 1.5), ValueError, "epochs"),
    Case("MOLE-epochs=0", lambda b: _mole(b).fit(b.mole_data(TASKS["mlp"](0))[0], 0), ValueError, "epochs"),
]  # fmt: skip


@pytest.mark.parametrize("case, backend", cases(FIT_EPOCHS_CASES), indirect=["backend"])
def test_fit_epochs_must_be_a_positive_int(case, backend):
    _check_case(case, backend)


def test_supervised_seed_reproducible(backend):
    b = backend
    xt, yt, _, _ = _blob_split(n_train=256)
    x, y = b.array(xt), b.array(yt)
    runs = []
    for seed in (0, 0, 1):
        trainer = _trainer(b, _net(b, hidden=4), seed=seed)
        trainer.fit(x, y, 2)
        runs.append((b.state(trainer.network), _without_seconds(trainer.history)))
    _assert_same_state(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert runs[0][1] != runs[2][1]  # another trainer seed: other batches and samples


# ------------------------------------------------------------------------------------------------------------------
# unsupervised: UnsupervisedTrainer, codes and the linear probe
def _unsup(b: Backend, **kw):
    kw = {"batch_size": 128, "seed": 0, "progress": False, **kw}
    return b.unsupervised.UnsupervisedTrainer(10, 8, **kw)


UNSUPERVISED_CASES = [
    Case("n_inputs=0", lambda b: b.unsupervised.UnsupervisedTrainer(0, 4), ValueError, "n_inputs"),
    # each neuron's context is the other neurons' samples: one neuron has none
    Case("n_neurons=1", lambda b: b.unsupervised.UnsupervisedTrainer(10, 1), ValueError, "n_neurons"),
    Case("batch_size=1", lambda b: _unsup(b, batch_size=1), ValueError, "batch_size"),
    Case("lr=nan", lambda b: _unsup(b, lr=NAN), ValueError, "lr"),
    Case("lr=-1", lambda b: _unsup(b, lr=-1.0), ValueError, "lr"),
    Case("lr=0", lambda b: _unsup(b, lr=0.0), ValueError, "lr"),
    Case("lr='a'", lambda b: _unsup(b, lr="a"), TypeError, "lr"),
    Case("weight_decay=-1", lambda b: _unsup(b, weight_decay=-1.0), ValueError, "weight_decay"),
    Case("goal", lambda b: _unsup(b, goal="bogus"), ValueError, "goal"),
    Case("3-source goal", lambda b: _unsup(b, goal="trivariate_optimised"), ValueError, "goal|source|atom"),
    Case("seed=-1", lambda b: _unsup(b, seed=-1), ValueError, "seed"),
    Case("seed=1.5", lambda b: _unsup(b, seed=1.5), ValueError, "seed"),
    Case("seed=2**63", lambda b: _unsup(b, seed=2**63), ValueError, "seed"),
]


@pytest.mark.parametrize("case, backend", cases(UNSUPERVISED_CASES), indirect=["backend"])
def test_unsupervised_settings_are_validated(case, backend):
    _check_case(case, backend)


def test_unsupervised_codes_history_and_probe(backend):
    """Shapes, dtypes and history keys; the goal Π({1}) rises and the probe of the codes beats chance by far."""
    b = backend
    xt, yt, xe, ye = _blob_split()
    trainer = _unsup(b)
    history = trainer.fit(b.array(xt), 4)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    for record in history:
        assert set(record) == {"epoch", "seconds", "accuracy", "atoms"}
        assert set(record["atoms"]) == {"unsupervised"}
        assert set(record["atoms"]["unsupervised"]) == {*lattice(2).names, "H_res"}
    unique = [r["atoms"]["unsupervised"]["{1}"] for r in history]  # lateral_heuristic: γ_{1} = 1
    assert unique[-1] > unique[0], unique  # measured 0.0783 -> 0.0860 (NumPy), 0.0880 -> 0.0925 (torch)
    codes_t, codes_e = trainer.codes(b.array(xt)), trainer.codes(b.array(xe))
    assert b.is_array(codes_t) and b.dtype_name(codes_t) == "float32" and tuple(codes_t.shape) == (len(xt), 8)
    assert set(np.unique(b.numpy(codes_t))) <= {-1.0, 1.0}
    _assert_same_state({"c": b.numpy(trainer.codes(b.array(xt)))}, {"c": b.numpy(codes_t)})  # deterministic
    acc = b.unsupervised.linear_probe(codes_t, b.array(yt), codes_e, b.array(ye), epochs=100, seed=0)
    # chance 1/3; measured 1.0 in both backends (blobs are easy: random codes score high too, the goal's rise
    # above is the sign of learning)
    assert isinstance(acc, float) and acc >= 0.8
    proj = b.unsupervised.random_projection_codes(b.array(xt), 5, seed=0)
    assert b.dtype_name(proj) == "float32" and tuple(proj.shape) == (len(xt), 5)
    assert set(np.unique(b.numpy(proj))) <= {-1.0, 1.0}


def test_unsupervised_takes_numpy_arrays_everywhere(backend):
    """fit, codes, the probe and the projection take NumPy arrays as well as the backend's arrays (same results)."""
    b = backend
    xt, yt, xe, ye = _blob_split(n_train=256, n_test=64)
    trainer = _unsup(b)
    trainer.fit(xt.astype(np.float64), 1)  # any real array: converted to the layer's dtype
    codes = trainer.codes(xe)
    assert b.is_array(codes) and b.dtype_name(codes) == "float32"
    np.testing.assert_array_equal(b.numpy(codes), b.numpy(trainer.codes(b.array(xe))))
    proj = b.unsupervised.random_projection_codes(xt, 4, seed=0)
    np.testing.assert_array_equal(b.numpy(proj), b.numpy(b.unsupervised.random_projection_codes(b.array(xt), 4)))
    ct, ce = b.numpy(trainer.codes(xt)), b.numpy(codes)
    acc = b.unsupervised.linear_probe(ct, yt, ce, ye, epochs=20, seed=0)
    assert acc == b.unsupervised.linear_probe(b.array(ct), b.array(yt), b.array(ce), b.array(ye), epochs=20, seed=0)


PROBE_CASES = [
    Case("codes 1-d", lambda b: _probe(b, train_codes=np.ones(8)), ValueError, "codes must be 2-d"),
    Case("widths differ", lambda b: _probe(b, test_codes=np.ones((4, 3))), ValueError, "same width"),
    Case("labels per code", lambda b: _probe(b, train_labels=np.zeros(7, np.int64)), ValueError, "train_labels"),
    Case("negative label", lambda b: _probe(b, test_labels=-np.ones(4, np.int64)), ValueError, "test_labels"),
    Case("no test codes", lambda b: _probe(b, test_codes=np.ones((0, 2)), test_labels=np.zeros(0, np.int64)),
         ValueError, "test_codes is empty"),
    Case("NaN codes", lambda b: _probe(b, train_codes=np.full((8, 2), NAN)), ValueError, "train_codes contains NaN"),
]  # fmt: skip


def _probe(b: Backend, **kw):
    args = {"train_codes": np.ones((8, 2)), "train_labels": np.arange(8) % 2, "test_codes": np.ones((4, 2)),
            "test_labels": np.arange(4) % 2, **kw}  # fmt: skip
    return b.unsupervised.linear_probe(**{k: b.array(v) for k, v in args.items()}, epochs=1)


@pytest.mark.parametrize("case, backend", cases(PROBE_CASES), indirect=["backend"])
def test_linear_probe_inputs_are_validated(case, backend):
    _check_case(case, backend)


def test_unsupervised_checkpoint_resume_equals_uninterrupted(backend, tmp_path):
    b = backend
    x = b.array(_blob_split(n_train=256)[0])
    straight = _unsup(b)
    straight.fit(x, 3)
    path = tmp_path / f"unsup{b.suffix}"
    _unsup(b).fit(x, 1, checkpoint=path)
    resumed = _unsup(b)
    resumed.load(path)
    assert resumed.epoch == 1
    resumed.fit(x, 3)
    _assert_same_state(b.state(resumed.layer), b.state(straight.layer))
    assert _without_seconds(resumed.history) == _without_seconds(straight.history)


def test_unsupervised_foreign_checkpoint_is_refused(backend, tmp_path):
    b, other = backend, _other(backend)
    path = tmp_path / f"foreign{other.suffix}"
    _unsup(other).save(path)
    trainer = _unsup(b)
    before = b.state(trainer.layer)
    with pytest.raises(ValueError, match=f"written by the {other.name} backend, not the {b.name} one; load it with"):
        trainer.load(path)
    _assert_same_state(b.state(trainer.layer), before)


def test_unsupervised_nan_input_is_refused(backend):
    b = backend
    bad = _blob_split(n_train=128)[0].copy()
    bad[7, 2] = NAN
    trainer = _unsup(b)
    with pytest.raises(ValueError, match="NaN"):
        trainer.fit(b.array(bad), 1)
    with pytest.raises(ValueError, match="NaN"):
        trainer.codes(b.array(bad))


def test_unsupervised_seed_reproducible(backend):
    b = backend
    x = b.array(_blob_split(n_train=256)[0])
    runs = []
    for seed in (3, 3, 4):
        trainer = _unsup(b, seed=seed)
        trainer.fit(x, 2)
        runs.append((b.state(trainer.layer), _without_seconds(trainer.history)))
    _assert_same_state(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert runs[0][1] != runs[2][1]


# ------------------------------------------------------------------------------------------------------------------
# associative memory: InfomorphicMemory, recall, recall_capacity
AUTHORS = {"input_weight": 2.3, "binning": "fixed", "n_bins": 60}

MEMORY_CASES = [
    Case("n_neurons=1", lambda b: b.memory_net(1), ValueError, "n_neurons"),
    Case("n_neurons=True", lambda b: b.memory_net(True), ValueError, "n_neurons"),
    Case("n_neurons=2.0", lambda b: b.memory_net(2.0), ValueError, "n_neurons"),
    Case("n_bins=1", lambda b: b.memory_net(8, n_bins=1), ValueError, "n_bins"),
    Case("n_bins=2.5", lambda b: b.memory_net(8, n_bins=2.5), TypeError, "n_bins"),
    Case("beta=nan", lambda b: b.memory_net(8, beta=NAN), ValueError, "beta"),
    Case("beta='a'", lambda b: b.memory_net(8, beta="a"), TypeError, "beta"),
    Case("binning", lambda b: b.memory_net(8, binning="quantile"), ValueError, "binning"),
    Case("bin_range=0", lambda b: b.memory_net(8, bin_range=0), ValueError, "bin_range"),
    Case("input_weight=nan", lambda b: b.memory_net(8, input_weight=NAN), ValueError, "input_weight"),
    Case("goal", lambda b: b.memory_net(8, goal="bogus"), ValueError, "goal"),
    Case("init", lambda b: b.memory.recall_capacity(8, (2,), epochs=1, init="zeros"), ValueError, "init"),
    Case("capacity seed=-1", lambda b: b.memory.recall_capacity(8, (2,), epochs=1, seed=-1), ValueError, "seed"),
    Case("capacity epochs=0", lambda b: b.memory.recall_capacity(8, (2,), epochs=0), ValueError, "epochs"),
    Case("lr=-1", lambda b: b.memory_net(8).fit(b.memory.random_patterns(3, 8), epochs=1, lr=-1.0), ValueError, "lr"),
    Case("lr='a'", lambda b: b.memory_net(8).fit(b.memory.random_patterns(3, 8), epochs=1, lr="a"), TypeError, "lr"),
    Case("patterns (P, 7)", lambda b: b.memory_net(8).fit(b.array(np.ones((3, 7), np.float32)), epochs=1),
         ValueError, r"patterns must have shape \(P, 8\)"),
    Case("no patterns", lambda b: b.memory_net(8).fit(b.array(np.ones((0, 8), np.float32)), epochs=1),
         ValueError, "P >= 1"),
    Case("complex patterns", lambda b: b.memory_net(8).fit(b.array(np.ones((3, 8), np.complex64)), epochs=1),
         TypeError, "patterns"),
    Case("hebbian_init_ (P, 3)", lambda b: b.memory_net(8).hebbian_init_(b.array(np.ones((3, 3), np.float32))),
         ValueError, "patterns"),
]  # fmt: skip


@pytest.mark.parametrize("case, backend", cases(MEMORY_CASES), indirect=["backend"])
def test_memory_settings_are_validated(case, backend):
    _check_case(case, backend)


def test_memory_takes_a_numpy_integer_size_and_numpy_patterns(backend):
    b = backend
    mem = b.memory_net(np.int64(8))
    assert mem.n_neurons == 8 and type(mem.n_neurons) is int
    patterns = b.numpy(b.memory.random_patterns(3, 8, seed=0))
    history = mem.fit(patterns.astype(np.float64), epochs=2)  # a NumPy array of any real dtype, as in NumPy
    assert [r["epoch"] for r in history] == [1, 2]
    ref = b.memory_net(8)
    assert ref.fit(b.array(patterns), epochs=2) == history  # the same training as from the backend's array


def test_memory_outputs_shapes_and_dtypes(backend):
    b = backend
    patterns = b.memory.random_patterns(5, 12, seed=0)
    assert b.is_array(patterns) and b.dtype_name(patterns) == "float32" and tuple(patterns.shape) == (5, 12)
    assert set(np.unique(b.numpy(patterns))) == {-1.0, 1.0}
    w = b.memory.hopfield_weights(patterns)
    assert tuple(w.shape) == (12, 12) and not np.diag(b.numpy(w)).any()
    mem = b.memory_net(12)
    assert set(mem.state_dict()) == {"input_weight", "input_bias", "weight", "context_bias"}
    step = mem.step(patterns)
    assert b.dtype_name(step) == "float32" and tuple(step.shape) == (5, 12)
    ok = b.memory.recall(mem.step, patterns)
    assert b.dtype_name(ok) == "bool" and tuple(ok.shape) == (5,)
    history = mem.fit(patterns, epochs=2)
    assert [r["epoch"] for r in history] == [1, 2]
    assert all(set(r) == {"epoch", "atoms"} and set(r["atoms"]) == {*lattice(2).names, "H_res"} for r in history)


CAPACITY_ROW = {"patterns", "accuracy", "recalled", "hopfield_accuracy", "hopfield_recalled", "epochs", "atoms"}


def test_memory_capacity_rows_and_interrupt(backend):
    """The capacity sweep's rows, its capacity rule, and ``interrupt``: the sweep stops at the first failing count,
    whose rows are a prefix of the uninterrupted sweep's (every count has its own seeded patterns and memory)."""
    b = backend
    counts = (1, 2, 24)  # 24 patterns of 12 bits (2 N) after 3 steps: no memory recalls them
    full = b.memory.recall_capacity(12, counts, epochs=3, seed=0, interrupt=False)
    assert {"rows", "capacity", "hopfield_capacity", "n_neurons", "min_accuracy", "interrupt"} <= set(full)
    assert [r["patterns"] for r in full["rows"]] == list(counts) and full["interrupt"] is False
    for r in full["rows"]:
        assert set(r) == CAPACITY_ROW and 1 <= r["epochs"] <= 3
        assert all(-1.0 <= r[k] <= 1.0 for k in ("accuracy", "hopfield_accuracy"))
        assert all(0.0 <= r[k] <= 1.0 for k in ("recalled", "hopfield_recalled"))
        assert set(r["atoms"]) == {*lattice(2).names, "H_res"}
    failed = [i for i, r in enumerate(full["rows"]) if r["accuracy"] < full["min_accuracy"]]
    assert failed and failed[-1] == 2, [r["accuracy"] for r in full["rows"]]
    stored = [r["patterns"] for r in full["rows"][: failed[0]]]
    assert full["capacity"] == (stored[-1] if stored else 0) / 12
    cut = b.memory.recall_capacity(12, counts, epochs=3, seed=0)  # interrupt=True, the default
    assert cut["rows"] == full["rows"][: failed[0] + 1] and cut["capacity"] == full["capacity"]


def test_memory_learns_to_recall(backend):
    """From small random recurrent weights nothing is recalled; the goal's training recalls all 10 patterns of 30
    bits (0.33 N, beyond a Hopfield network's 0.14 N), and the redundancy it maximises rises."""
    b = backend
    patterns = b.memory.random_patterns(10, 30, seed=0)
    mem = b.memory_net(30, seed=0, **AUTHORS)
    assert not b.numpy(b.memory.recall(mem.step, patterns)).any()
    history = mem.fit(patterns, epochs=60)
    assert b.numpy(b.memory.recall(mem.step, patterns)).all()  # measured: all recalled in both backends, 4 seeds
    assert history[-1]["atoms"]["{1}{2}"] > history[0]["atoms"]["{1}{2}"] + 0.5  # measured 0.24 -> 0.92
    # recall and step agree: a recalled pattern is a fixed point of step
    assert np.array_equal(b.numpy(mem.step(patterns)), b.numpy(patterns))


def test_memory_nan_input_is_refused(backend):
    b = backend
    patterns = b.numpy(b.memory.random_patterns(4, 8, seed=0)).copy()
    patterns[1, 2] = NAN
    mem = b.memory_net(8)
    before = b.state(mem)
    with pytest.raises(ValueError, match="patterns contain NaN or inf"):
        mem.fit(b.array(patterns), epochs=1)
    with pytest.raises(ValueError, match="patterns contain NaN or inf"):
        mem.hebbian_init_(b.array(patterns))
    _assert_same_state(b.state(mem), before)


def test_memory_seed_reproducible(backend):
    b = backend
    patterns = b.memory.random_patterns(4, 10, seed=1)
    assert np.array_equal(b.numpy(patterns), b.numpy(b.memory.random_patterns(4, 10, seed=1)))
    runs = []
    for seed in (0, 0, 1):
        mem = b.memory_net(10, seed=seed)
        runs.append((b.state(mem), mem.fit(patterns, epochs=3)))
    _assert_same_state(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    assert runs[0][1] != runs[2][1]


# ------------------------------------------------------------------------------------------------------------------
# MOLE
def _mole(b: Backend, kind="mlp", objective="renyi", *, hidden=8, seed=0, **kw):
    task_in = {"mlp": 8, "cnn": 1, "gcn": 3, "gin": 3}[kind]
    n_classes = 2 if kind == "gin" else 3
    kw = {"n_classes": n_classes, "batch_size": 64, "lr": 1e-2, "seed": seed, "progress": False, **kw}
    return b.mole.MOLE(b.mole_modules(kind, task_in, hidden, seed=seed), objective, **kw)


def _mole_seeded(b: Backend, seed):
    """A MOLE with trainer seed ``seed`` on modules built from seed 0 (the module builder takes valid seeds only)."""
    return b.mole.MOLE(b.mole_modules("mlp", 8, 8, seed=0), n_classes=3, seed=seed, progress=False)


MOLE_CASES = [
    Case("objective", lambda b: _mole(b, objective="bogus"), ValueError, "objective"),
    Case("schedule", lambda b: _mole(b, schedule="bogus"), ValueError, "schedule"),
    Case("batch_size=1", lambda b: _mole(b, batch_size=1), ValueError, "batch_size"),
    Case("lr=0", lambda b: _mole(b, lr=0.0), ValueError, "lr"),
    Case("lr=nan", lambda b: _mole(b, lr=NAN), ValueError, "lr"),
    Case("lr='a'", lambda b: _mole(b, lr="a"), TypeError, "lr"),
    Case("beta=-1", lambda b: _mole(b, beta=-1.0), ValueError, "beta"),
    Case("beta=inf", lambda b: _mole(b, beta=math.inf), ValueError, "beta"),
    # a bool is not a number here, as for every real-valued setting (check_finite_number): TypeError
    Case("beta=True", lambda b: _mole(b, beta=True), TypeError, "beta"),
    Case("beta_on", lambda b: _mole(b, beta_on="x"), ValueError, "beta_on"),
    Case("head_epochs=-1", lambda b: _mole(b, head_epochs=-1), ValueError, "head_epochs"),
    Case("weight_decay=-1", lambda b: _mole(b, weight_decay=-1.0), ValueError, "weight_decay"),
    Case("head_lr=-1", lambda b: _mole(b, head_lr=-1.0), ValueError, "head_lr"),
    Case("head_lr=0", lambda b: _mole(b, head_lr=0.0), ValueError, "head_lr"),  # was silently lr (head_lr or lr)
    Case("patience=-1", lambda b: _mole(b, patience=-1), ValueError, "patience"),
    Case("patience=0", lambda b: _mole(b, patience=0), ValueError, "patience"),
    Case("patience=1.5", lambda b: _mole(b, patience=1.5), ValueError, "patience"),
    Case("min_delta=-1", lambda b: _mole(b, min_delta=-1.0), ValueError, "min_delta"),
    Case("min_delta=nan", lambda b: _mole(b, min_delta=NAN), ValueError, "min_delta"),
    Case("n_classes=0", lambda b: _mole(b, n_classes=0), ValueError, "n_classes"),
    Case("n_classes=1", lambda b: _mole(b, n_classes=1), ValueError, "n_classes"),
    Case("n_classes=2.5", lambda b: _mole(b, n_classes=2.5), ValueError, "n_classes"),
    Case("seed=-1", lambda b: _mole_seeded(b, -1), ValueError, "seed"),
    Case("seed=2**63", lambda b: _mole_seeded(b, 2**63), ValueError, "seed"),
    Case("seed=1.5", lambda b: _mole_seeded(b, 1.5), ValueError, "seed"),
    Case("infonce without n_classes", lambda b: _mole(b, objective="infonce", n_classes=None), ValueError, "n_classes"),
    Case("no modules", lambda b: b.mole.MOLE([], n_classes=3), ValueError, "module"),
    Case("not a module", lambda b: b.mole.MOLE([object()], n_classes=3), TypeError, "module 0"),
]


@pytest.mark.parametrize("case, backend", cases(MOLE_CASES), indirect=["backend"])
def test_mole_settings_are_validated(case, backend):
    _check_case(case, backend)


MOLE_RECORD = {"epoch", "stage", "mi", "head_loss", "seconds"}


def test_mole_history_records(backend):
    b = backend
    train, test = b.mole_data(TASKS["mlp"](0))
    mole = _mole(b, head_epochs=1)
    history = mole.fit(train, 2, eval_sets={"test": test})
    assert [r["stage"] for r in history] == ["all", "all", "head"]
    assert all(set(r["mi"]) == {"module 1", "module 2"} for r in history[:2]) and history[2]["mi"] == {}
    assert all(set(r) == MOLE_RECORD | {"accuracy", "eval_loss"} for r in history)
    # the last record's eval_loss is the mean cross-entropy (nats) of the final logits, computed here independently
    logits, labels = (b.numpy(a) for a in mole.predict_logits(test))
    z = logits.astype(np.float64)
    log_p = z - z.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    assert history[-1]["eval_loss"]["test"] == pytest.approx(-log_p[np.arange(len(labels)), labels].mean(), rel=1e-5)
    assert history[-1]["accuracy"]["test"] == pytest.approx(np.mean(logits.argmax(1) == labels), abs=1e-12)


def test_mole_history_records_without_eval_sets(backend):
    b = backend
    train, _ = b.mole_data(TASKS["mlp"](0))
    history = _mole(b, schedule="sequential", patience=1).fit(train, 1)
    assert [r["stage"] for r in history] == [0, 1, "head"]
    assert [set(r) for r in history] == [MOLE_RECORD - {"head_loss"}] * 2 + [MOLE_RECORD]
    assert all(isinstance(v, float) and math.isfinite(v) for r in history for v in r["mi"].values())


# epochs, head epochs, lr, head lr of the tiny tasks; test accuracy measured over task/weight seeds 0-4, every
# objective: MLP ≥ 0.71 (NumPy) / 0.86 (torch), CNN ≥ 0.98 / 0.96, GCN ≥ 0.96 / 0.98, GIN ≥ 0.81 / 0.94 (2 classes)
MOLE_RECIPE = {
    "mlp": (4, 3, 1e-2, 3e-2),
    "cnn": (3, 2, 1e-2, 3e-2),
    "gcn": (10, 20, 5e-2, 5e-2),
    "gin": (6, 20, 1e-2, 5e-2),
}


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("kind", KINDS)
def test_mole_learns_every_module_kind_with_every_objective(backend, kind, objective):
    b = backend
    task = TASKS[kind](0)
    train, test = b.mole_data(task)
    epochs, head_epochs, lr, head_lr = MOLE_RECIPE[kind]
    mole = _mole(b, kind, objective, lr=lr, head_lr=head_lr, head_epochs=head_epochs)
    history = mole.fit(train, epochs)
    # chance 1/3 (2 classes for GIN: 1/2); measured at seed 0: ≥ 0.94 for 3 classes, ≥ 0.95 for 2, both backends
    assert mole.accuracy(test) >= {3: 0.75, 2: 0.85}[task["n_classes"]]
    assert all(math.isfinite(v) for r in history for v in r["mi"].values())


def test_mole_outputs_and_accuracy_agree(backend):
    b = backend
    train, test = b.mole_data(TASKS["mlp"](0))
    mole = _mole(b)
    mole.fit(train, 2)
    logits, labels = mole.predict_logits(test)
    assert b.dtype_name(logits) == "float32" and tuple(logits.shape) == (96, 3)
    assert b.dtype_name(labels) == "int64" and tuple(labels.shape) == (96,)
    pred = b.numpy(logits).argmax(1)
    assert mole.accuracy(test) == pytest.approx(np.mean(pred == b.numpy(labels)), abs=1e-6)
    mi = mole.mutual_information(*test)
    assert len(mi) == 2 and all(isinstance(v, float) and 0 < v <= math.log2(3) + 1e-6 for v in mi)


def test_mole_checkpoint_resume_equals_uninterrupted(backend, tmp_path):
    b = backend
    train, _ = b.mole_data(TASKS["mlp"](0))

    def make():
        return _mole(b, objective="infonce", head_epochs=1)

    straight = make()
    straight.fit(train, 3)
    path = tmp_path / f"mole{b.suffix}"
    make().fit(train, 3, checkpoint=path, stop_after=2)
    resumed = make()
    resumed.prepare(train)
    resumed.load(path)
    assert resumed.epoch == 2
    resumed.fit(train, 3)
    assert resumed.epoch == straight.epoch == 4
    _assert_same_state(b.module_weights(resumed), b.module_weights(straight))
    assert _without_seconds(resumed.history) == _without_seconds(straight.history)


def test_mole_load_before_prepare_is_refused(backend, tmp_path):
    b = backend
    train, _ = b.mole_data(TASKS["mlp"](0))
    path = tmp_path / f"mole{b.suffix}"
    _mole(b).fit(train, 1, checkpoint=path)
    mole = _mole(b)
    with pytest.raises(FileNotFoundError):  # a bad file is reported first
        mole.load(tmp_path / "missing")
    with pytest.raises(RuntimeError, match=re.escape("call prepare(data) before load(path)")):
        mole.load(path)
    assert mole.epoch == 0 and not mole.history
    mole.prepare(train)  # the refused trainer is still usable
    mole.load(path)
    assert mole.epoch == 1 and len(mole.history) == 1


def test_mole_foreign_checkpoint_is_refused(backend, tmp_path):
    b, other = backend, _other(backend)
    path = tmp_path / f"foreign{other.suffix}"
    train, _ = other.mole_data(TASKS["mlp"](0))
    _mole(other).fit(train, 1, checkpoint=path)
    mole = _mole(b)
    mole.prepare(b.mole_data(TASKS["mlp"](0))[0])
    with pytest.raises(ValueError, match=f"written by the {other.name} backend, not the {b.name} one; load it with"):
        mole.load(path)


def test_mole_nan_training_input_is_refused(backend):
    b = backend
    (x, y), _ = b.mole_data(TASKS["mlp"](0))
    bad = b.numpy(x).copy()
    bad[3, 1] = NAN
    mole = _mole(b)
    with pytest.raises(ValueError, match=re.escape(NON_FINITE_INPUTS)):
        mole.fit((b.array(bad), y), 1)
    assert mole.epoch == 0 and not mole.history
    g = TASKS["gcn"](0)
    g["x"] = g["x"].copy()
    g["x"][0, 0] = NAN
    train, _ = b.mole_data(g)
    with pytest.raises(ValueError, match=re.escape(NON_FINITE_INPUTS)):
        _mole(b, "gcn").fit(train, 1)


def test_mole_nan_evaluation_input_is_refused(backend):
    b = backend
    train, (x, y) = b.mole_data(TASKS["mlp"](0))
    mole = _mole(b)
    mole.fit(train, 1)
    bad = b.numpy(x).copy()
    bad[0, 0] = NAN
    with pytest.raises(ValueError, match="data contains NaN or inf"):
        mole.accuracy((b.array(bad), y))
    with pytest.raises(ValueError, match="data contains NaN or inf"):
        mole.predict_logits([(b.array(bad), y)])
    bad[0, 0] = math.inf
    with pytest.raises(ValueError, match="data contains NaN or inf"):
        mole.predict_logits((b.array(bad), y))
    state, history = b.module_weights(mole), list(mole.history)
    with pytest.raises(ValueError, match=re.escape("eval_sets['test'] contains NaN or inf")):
        mole.fit(train, 2, eval_sets={"test": (b.array(bad), y)})
    assert mole.epoch == 1 and mole.history == history  # refused before training
    _assert_same_state(b.module_weights(mole), state)


def test_mole_mutual_information_of_nan_input_is_refused(backend):
    b = backend
    train, (x, y) = b.mole_data(TASKS["mlp"](0))
    mole = _mole(b)
    mole.fit(train, 1)
    bad = b.numpy(x).copy()
    bad[0, 0] = NAN
    with pytest.raises(ValueError, match="inp contains NaN or inf"):
        mole.mutual_information(b.array(bad), y)


@pytest.mark.parametrize(
    "values, finite",
    [
        ([1.0, -2.0, 3.5], True),
        ([1.0, NAN, 3.0], False),
        ([1.0, math.inf, 3.0], False),
        ([-math.inf, 0.0], False),
        ([math.inf, -math.inf], False),  # the sum is NaN
        ([3e38, 3e38, -1.0], True),  # finite entries whose float32 sum overflows to inf: the exact test decides
        ([], True),
    ],
)
def test_all_finite_is_exact(backend, values, finite):
    """``all_finite`` (the check behind every "contains NaN or inf" refusal) sums a torch tensor first; the sum must
    never change the answer."""
    from pidlearn.backends._settings import all_finite

    x = backend.array(np.array(values, dtype=np.float32).reshape(-1, 1))
    assert all_finite(x) is finite
    assert all_finite(backend.array(np.arange(4))) is True  # integers


def _relabelled(b: Backend, y, index, value):
    y = b.numpy(y).copy()
    y[index] = value
    return b.array(y)


# bad evaluation data: each must raise before a layer or estimator sees it (was: a shape error from deep inside a
# layer, a silently truncated float label, an IndexError, or an accuracy over labels the head cannot output)
MOLE_EVAL_CASES = [
    Case("narrow inputs", lambda b, m, x, y: m.accuracy((x[:, :5], y)), ValueError, r"data has shape \(96, 5\)"),
    Case("3-d inputs", lambda b, m, x, y: m.accuracy((x[:, :, None], y)), ValueError, "prepared on 2-d inputs"),
    Case("label = n_classes", lambda b, m, x, y: m.accuracy((x, _relabelled(b, y, 3, 3))), ValueError,
         "labels hold 3 but n_classes=3"),
    Case("label -2", lambda b, m, x, y: m.accuracy((x, _relabelled(b, y, 3, -2))), ValueError, "labels hold -2"),
    Case("float labels", lambda b, m, x, y: m.accuracy((x, b.array(b.numpy(y).astype(np.float32)))), TypeError,
         "labels must be an integer"),
    Case("one label short", lambda b, m, x, y: m.predict_logits([(x, y[:-1])]), ValueError,
         "95 labels for 96 samples"),
    Case("no labels", lambda b, m, x, y: m.predict_logits([(x[:0], y[:0])]), ValueError, "non-empty"),
    Case("MI narrow inputs", lambda b, m, x, y: m.mutual_information(x[:, :5], y), ValueError, "inp has shape"),
    Case("MI unlabelled", lambda b, m, x, y: m.mutual_information(x, _relabelled(b, y, 0, -1)), ValueError,
         "labels hold -1"),
]  # fmt: skip


@pytest.mark.parametrize("case, backend", cases(MOLE_EVAL_CASES), indirect=["backend"])
def test_mole_bad_evaluation_data_is_refused(case, backend):
    b = backend
    train, (x, y) = b.mole_data(TASKS["mlp"](0))
    mole = _mole(b)
    mole.fit(train, 1)
    with pytest.raises(case.exc, match=case.match):
        case.call(b, mole, x, y)


def test_mole_unlabelled_evaluation_samples_are_skipped(backend):
    b = backend
    train, (x, y) = b.mole_data(TASKS["mlp"](0))
    mole = _mole(b)
    mole.fit(train, 1)
    logits, labels = (b.numpy(a) for a in mole.predict_logits((x, y)))
    half = _relabelled(b, y, slice(0, 48), -1)
    assert mole.accuracy((x, half)) == pytest.approx(np.mean(logits[48:].argmax(1) == labels[48:]), abs=1e-6)


@pytest.mark.parametrize("kind", ["mlp", "gin"])
def test_mole_seed_reproducible(backend, kind):
    b = backend
    train, test = b.mole_data(TASKS[kind](0))
    runs = []
    for seed in (5, 5, 6):
        mole = _mole(b, kind, "infonce", seed=seed)
        mole.fit(train, 2)
        runs.append((b.module_weights(mole), _without_seconds(mole.history), mole.accuracy(test)))
    _assert_same_state(runs[0][0], runs[1][0])
    assert runs[0][1:] == runs[1][1:]
    assert runs[0][1] != runs[2][1]


# ------------------------------------------------------------------------------------------------------------------
# the same numbers in both backends for the same weights and data
def _layer_pair(lateral: bool, binning: str, np_dtype):
    torch = pytest.importorskip("torch", reason="comparing the backends needs torch")
    from pidlearn.backends.numpy.neurons import InfomorphicLayer as NumpyLayer
    from pidlearn.backends.torch.layers import InfomorphicLayer as TorchLayer

    goal = "trivariate_optimised" if lateral else {"{1}{2}": 1.0, "{12}": 0.3, "{1}": -0.2, "H_res": -0.1}
    torch.manual_seed(0)
    tl = TorchLayer(12, 3, 5, goal=goal, lateral=lateral, binning=binning).to(getattr(torch, np.dtype(np_dtype).name))
    nl = NumpyLayer(12, 3, 5, goal=goal, lateral=lateral, binning=binning, dtype=np_dtype)
    nl.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(200, 12)), np.eye(3)[rng.integers(0, 3, 200)]]
    if lateral:
        xs.append(np.where(rng.random((200, 5)) < 0.5, 1.0, -1.0))
    xs = [x.astype(np_dtype) for x in xs]
    tl.zero_grad()
    tl(*(torch.from_numpy(x) for x in xs))  # one pass: theta and bins do not depend on the samples
    g_torch = tl.goal_value()
    (-g_torch.sum()).backward()  # each neuron's goal depends on its own weights only: ∂(Σ G)/∂w_j = ∂G_j/∂w_j
    nl.forward(*xs)
    grads_torch = {k: -p.grad.numpy() for k, p in tl.named_parameters()}
    return nl.goal_value(), g_torch.detach().numpy(), nl.gradients(), grads_torch


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("binning", ["adaptive", "fixed"])
@pytest.mark.parametrize("lateral", [False, True], ids=["bivariate", "trivariate"])
def test_layer_goal_and_gradient_equal_across_backends_float64(lateral, binning):
    g_np, g_t, grads_np, grads_t = _layer_pair(lateral, binning, np.float64)
    assert _rel(g_np, g_t) < 1e-10  # measured ≤ 3e-13
    assert grads_np.keys() == grads_t.keys()
    for k in grads_t:
        assert _rel(grads_np[k], grads_t[k]) < 1e-10, k  # measured ≤ 6e-13


@pytest.mark.xfail(
    strict=True,
    reason="the torch layer computes the atoms in float32: against float64 its goal is off by up to 5e-5 and its "
    "gradient by up to 1e-3 (relative to the largest entry), NumPy's float32 layer (float64 inside) by 1e-7 / 3e-6",
)
@pytest.mark.parametrize("binning", ["adaptive", "fixed"])
@pytest.mark.parametrize("lateral", [False, True], ids=["bivariate", "trivariate"])
def test_layer_goal_and_gradient_equal_across_backends_float32(lateral, binning):
    g_np, g_t, grads_np, grads_t = _layer_pair(lateral, binning, np.float32)
    assert _rel(g_np, g_t) < 1e-6
    for k in grads_t:
        assert _rel(grads_np[k], grads_t[k]) < 1e-6, k


@pytest.mark.parametrize("binning", ["adaptive", "fixed"])
@pytest.mark.parametrize("lateral", [False, True], ids=["bivariate", "trivariate"])
def test_layer_goal_and_gradient_close_across_backends_float32(lateral, binning):
    """What float32 gives today (a guard until the strict test above passes)."""
    g_np, g_t, grads_np, grads_t = _layer_pair(lateral, binning, np.float32)
    assert _rel(g_np, g_t) < 2e-4  # measured ≤ 5e-5
    for k in grads_t:
        assert _rel(grads_np[k], grads_t[k]) < 5e-3, k  # measured ≤ 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_mole_runs_equal_across_backends_float64(kind):
    """Same initial weights, the same list of batches, Rényi objective (no parameters of its own), float64: the two
    MOLE trainers follow the same trajectory."""
    torch = pytest.importorskip("torch", reason="comparing the backends needs torch")
    nb, tb = Backend("numpy"), Backend("torch")
    task = TASKS[kind](0)
    n_in = {"mlp": 4, "cnn": 4 * 2 * 2, "gcn": 4, "gin": 4}[kind]
    tmods = [m.double() for m in tb.mole_modules(kind, task["in_features"], 4, seed=0)]
    nmods = [m.astype(np.float64) for m in nb.mole_modules(kind, task["in_features"], 4, seed=0)]
    for t, n in zip(tmods, nmods, strict=True):
        n.load_state_dict({k: v.numpy() for k, v in t.state_dict().items() if k in n.state_dict()})
    thead = torch.nn.Linear(n_in, task["n_classes"]).double()
    nhead = nb.module.nn.Linear(n_in, task["n_classes"], dtype=np.float64)
    nhead.load_state_dict({k: v.numpy() for k, v in thead.state_dict().items()})
    data = {}
    for b in (nb, tb):
        train, test = b.mole_data(task)
        if not isinstance(train, list):  # arrays: a list of batches (not shuffled, so the generators do not matter)
            x, y = train
            train, test = [(x[k : k + 64], y[k : k + 64]) for k in range(0, len(y), 64)], [test]
        data[b.name] = [[(_as_float64(b, inp), y) for inp, y in part] for part in (train, test)]
    kw = {"n_classes": task["n_classes"], "lr": 1e-2, "head_lr": 3e-2, "head_epochs": 1, "progress": False}
    runs = {}
    for b, mods, head in ((nb, nmods, nhead), (tb, tmods, thead)):
        mole = b.mole.MOLE(mods, "renyi", head, **kw)
        mole.fit(data[b.name][0], 2)
        runs[b.name] = mole
    hn, ht = runs["numpy"].history, runs["torch"].history
    assert [r["stage"] for r in hn] == [r["stage"] for r in ht]
    # measured: module 1's MI equal to 2e-14, module 2's to 1.4e-10, head loss to 1.5e-9, weights to 4e-8 (Adam's
    # m/√v turns round-off in near-zero gradients, e.g. of biases, into steps of up to lr)
    for rn, rt in zip(hn, ht, strict=True):
        for k in rt["mi"]:
            assert rn["mi"][k] == pytest.approx(rt["mi"][k], rel=1e-8)
        assert rn["head_loss"] == pytest.approx(rt["head_loss"], rel=1e-7)
    wn, wt = nb.module_weights(runs["numpy"]), tb.module_weights(runs["torch"])
    assert len(wn.keys() & wt.keys()) >= 4
    for k in wn.keys() & wt.keys():
        np.testing.assert_allclose(wn[k], wt[k], rtol=0, atol=1e-6, err_msg=k)
    assert runs["numpy"].accuracy(data["numpy"][1]) == pytest.approx(runs["torch"].accuracy(data["torch"][1]))


def _as_float64(b: Backend, inp):
    if b.torch is not None:
        return inp.to(b.torch.float64)
    if isinstance(inp, np.ndarray):
        return inp.astype(np.float64)
    return inp.with_x(inp.x.astype(np.float64))
