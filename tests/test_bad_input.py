"""Bad input never crashes: every public entry raises a ValueError/TypeError that names the argument and the fix."""

from __future__ import annotations

import gzip
import json
import math
import struct

import numpy as np
import pytest

from pidlearn import _validation, discrete, idx
from pidlearn.backends.numpy import local_rule
from pidlearn.backends.numpy.neurons import InfomorphicLayer as NumpyLayer
from pidlearn.goals import goal_vector
from pidlearn.lattice import lattice

torch = pytest.importorskip("torch")

from pidlearn.backends.torch import functional  # noqa: E402
from pidlearn.backends.torch.layers import InfomorphicLayer  # noqa: E402
from pidlearn.backends.torch.memory import InfomorphicMemory  # noqa: E402
from pidlearn.backends.torch.mole import MOLE, Backprop  # noqa: E402

LABELS = torch.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1]]


# torch dtype mismatch ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_layer_refuses_other_float_dtypes(dtype):
    layer = InfomorphicLayer(4, 3, 3)
    with pytest.raises(TypeError, match=r"x_receptive has dtype .*layer\.double\(\)"):
        layer(torch.randn(8, 4).to(dtype), LABELS)
    with pytest.raises(TypeError, match="x_context"):
        layer(torch.randn(8, 4), LABELS.to(dtype))


def test_layer_converts_integer_and_bool_inputs():
    layer = InfomorphicLayer(4, 3, 3)
    x = torch.randint(0, 2, (8, 4))
    theta, _ = layer(x, LABELS.bool())
    ref, _ = layer(x.float(), LABELS)
    assert theta.dtype == torch.float32 and torch.equal(theta, ref)
    layer.double()
    theta, _ = layer(torch.randn(8, 4, dtype=torch.float64), LABELS.long())
    assert theta.dtype == torch.float64


def test_layer_refuses_empty_batch():
    with pytest.raises(ValueError, match="x_receptive is an empty batch"):
        InfomorphicLayer(4, 3, 3)(torch.randn(0, 4), torch.zeros(0, 3))


# empty tensors -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2, 0), (0, 3)])
def test_sample_functions_refuse_empty(shape):
    theta, bins = torch.rand(shape), torch.zeros((*shape, 2), dtype=torch.long)
    with pytest.raises(ValueError, match="theta is empty"):
        functional.sample_sxpid_atoms(theta, bins, 4)
    with pytest.raises(ValueError, match="theta is empty"):
        functional.sample_sxpid_goal(theta, bins, 4, [0, 0, 0, 1])
    with pytest.raises(ValueError, match="theta is empty"):
        functional.soft_joint(theta, bins, 4)


def test_sxpid_atoms_refuses_empty_joint():
    with pytest.raises(ValueError, match="joint is empty"):
        functional.sxpid_atoms(torch.zeros(0, 2, 2, dtype=torch.float64), 2)


# bad atom name -----------------------------------------------------------------------------------------------------
def test_lattice_index_unknown_atom_is_value_error():
    with pytest.raises(
        ValueError, match=r"name '\{9\}' is not an atom .*valid atoms are \{1\}\{2\}, \{1\}, \{2\}, \{12\}"
    ):
        lattice(2).index("{9}")
    with pytest.raises(KeyError):  # older callers caught KeyError
        lattice(2).index("{3}")


# None arguments ----------------------------------------------------------------------------------------------------
def test_as_discrete_and_continuous_refuse_none():
    with pytest.raises(TypeError, match="y must be an array-like of samples, got None"):
        _validation.as_discrete(None, "y")
    with pytest.raises(TypeError, match="x must be an array-like of samples, got None"):
        _validation.as_continuous(None, "x")


def test_mutual_information_refuses_none():
    with pytest.raises(TypeError, match="y must be"):
        discrete.mutual_information([0, 1, 0, 1], None)


# bases -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("base", [0.5, 1, 0, -2, math.inf, math.nan])
def test_base_must_exceed_one(base):
    with pytest.raises(ValueError, match="base must be a finite number greater than 1"):
        _validation.check_base(base)


def test_entropy_base_below_one():
    with pytest.raises(ValueError, match="base"):
        discrete.entropy([0, 1], base=0.5)
    assert discrete.entropy([0, 1], base=math.e) == pytest.approx(math.log(2))


# corrupt or mismatched checkpoints -----------------------------------------------------------------------------------
def _torch_trainer():
    from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer

    torch.manual_seed(0)
    return Trainer(InfomorphicNetwork(16, 3, hidden=4), batch_size=8, progress=False)


def _numpy_trainer():
    from pidlearn.backends.numpy.train import InfomorphicNetwork, Trainer

    return Trainer(InfomorphicNetwork(16, 3, hidden=4), batch_size=8, progress=False)


def _mole():
    torch.manual_seed(0)
    return MOLE(torch.nn.Linear(4, 3), n_classes=3, batch_size=8, progress=False)


@pytest.fixture(params=["torch", "numpy", "mole"])
def trainer(request):
    return {"torch": _torch_trainer, "numpy": _numpy_trainer, "mole": _mole}[request.param]()


def _mole_data(n=16):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 4, generator=g), torch.arange(n) % 3


def _saved(trainer, path):
    if isinstance(trainer, MOLE):
        trainer.fit(_mole_data(), 1)
    trainer.save(path)
    return path.read_bytes()


def test_checkpoint_roundtrip_still_works(trainer, tmp_path):
    _saved(trainer, tmp_path / "ok.ckpt")
    trainer.load(tmp_path / "ok.ckpt")


def test_truncated_checkpoint(trainer, tmp_path):
    data = _saved(trainer, tmp_path / "ok.ckpt")
    bad = tmp_path / "cut.ckpt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"checkpoint .*cut\.ckpt is truncated or corrupt"):
        trainer.load(bad)


def test_empty_checkpoint(trainer, tmp_path):
    (tmp_path / "empty.ckpt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"checkpoint .*empty\.ckpt is truncated or corrupt \(the file is empty"):
        trainer.load(tmp_path / "empty.ckpt")


def test_directory_checkpoint(trainer, tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        trainer.load(tmp_path)


def test_garbage_checkpoint(trainer, tmp_path):
    (tmp_path / "junk.ckpt").write_bytes(b"hello, not a checkpoint" * 10)
    with pytest.raises(ValueError, match="is not a pidlearn checkpoint"):
        trainer.load(tmp_path / "junk.ckpt")


def test_missing_checkpoint(trainer, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        trainer.load(tmp_path / "nope.ckpt")


@pytest.mark.parametrize("make", [_torch_trainer, _mole])
def test_bare_tensor_checkpoint(make, tmp_path):
    torch.save(torch.zeros(3), tmp_path / "t.pt")
    with pytest.raises(ValueError, match="not a pidlearn checkpoint: it holds a Tensor"):
        make().load(tmp_path / "t.pt")


def test_numpy_trainer_given_torch_checkpoint(tmp_path):
    _torch_trainer().save(tmp_path / "torch.ckpt")
    with pytest.raises(ValueError, match=r"written by the torch backend.*load it with pidlearn\.backends\.torch"):
        _numpy_trainer().load(tmp_path / "torch.ckpt")


def test_torch_trainer_given_numpy_checkpoint(tmp_path):
    _numpy_trainer().save(tmp_path / "np.ckpt")
    with pytest.raises(ValueError, match=r"written by the numpy backend.*pidlearn\.backends\.numpy \(Trainer\.load"):
        _torch_trainer().load(tmp_path / "np.ckpt")


def test_mole_given_trainer_checkpoint(tmp_path):
    _torch_trainer().save(tmp_path / "t.ckpt")
    with pytest.raises(ValueError, match="written by a Trainer, not a MOLE"):
        _mole().load(tmp_path / "t.ckpt")


def test_numpy_checkpoint_of_other_network(tmp_path):
    from pidlearn.backends.numpy.train import InfomorphicNetwork, Trainer

    _numpy_trainer().save(tmp_path / "a.ckpt")
    other = Trainer(InfomorphicNetwork(16, 3, hidden=0), batch_size=8, progress=False)
    with pytest.raises(ValueError, match="does not match this Trainer"):
        other.load(tmp_path / "a.ckpt")


# labels out of range -----------------------------------------------------------------------------------------------
def test_mole_fit_empty():
    with pytest.raises(ValueError, match="data is empty"):
        _mole().fit((torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)), 1)
    with pytest.raises(ValueError, match="data holds no batches"):
        _mole().fit([], 1)


@pytest.mark.parametrize("label, match", [(100, "labels hold 100 but n_classes=3"), (-3, "labels hold -3")])
def test_mole_labels_out_of_range(label, match):
    x, y = _mole_data()
    y[5] = label
    with pytest.raises(ValueError, match=match):
        _mole().fit((x, y), 1)


def test_mole_unlabelled_training_labels():
    x, y = _mole_data()
    y[5] = -1
    with pytest.raises(ValueError, match=r"labels hold -1.*unlabelled"):
        _mole().fit((x, y), 1)
    torch.manual_seed(0)
    Backprop(torch.nn.Linear(4, 3), n_classes=3, batch_size=8, progress=False).fit((x, y), 1)  # -1 is skipped


def test_mole_float_labels():
    x, y = _mole_data()
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        _mole().fit([(x, y.float())], 1)


def test_mole_custom_head_label_range():
    x, y = _mole_data()
    y[0] = 7
    torch.manual_seed(0)
    bp = Backprop(torch.nn.Linear(4, 3), head=torch.nn.Linear(3, 3), batch_size=8, progress=False)
    with pytest.raises(ValueError, match="labels hold 7 but the head has 3 outputs"):
        bp.fit((x, y), 1)


@pytest.mark.parametrize("make", [_torch_trainer, _numpy_trainer])
@pytest.mark.parametrize("label", [3, 10, -1])
def test_trainer_labels_out_of_range(make, label):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 16)).astype(np.float32), np.arange(16) % 3
    y[4] = label
    with pytest.raises(ValueError, match=r"y_train holds labels .* labels must lie in 0\.\.2"):
        make().fit(x, y, 1)
    with pytest.raises(ValueError, match=r"labels holds labels"):
        make().accuracy(x, y)


@pytest.mark.parametrize("make", [_torch_trainer, _numpy_trainer])
def test_trainer_non_integer_labels_and_nan_inputs(make):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 16)).astype(np.float32), (np.arange(16) % 3).astype(float)
    y[2] = 0.5
    with pytest.raises(ValueError, match="y_train holds non-integer values"):
        make().fit(x, y, 1)
    x[3, 3] = np.nan
    with pytest.raises(ValueError, match="x_train contains NaN or inf"):
        make().fit(x, np.arange(16) % 3, 1)


def test_torch_trainer_converts_float64_arrays():
    rng = np.random.default_rng(0)
    trainer = _torch_trainer()
    trainer.fit(rng.normal(size=(16, 16)), np.arange(16) % 3, 1)  # float64 in, float32 network
    assert 0.0 <= trainer.accuracy(rng.normal(size=(8, 16)), np.arange(8) % 3) <= 1.0


def _idx(path, data: np.ndarray, code: int = 0x08, gz: bool = True):
    raw = bytes([0, 0, code, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape) + data.tobytes()
    (gzip.open if gz else open)(path, "wb").write(raw)


def _mnist_dir(tmp_path, labels, images=None, code=0x08):
    n = len(labels)
    images = np.zeros((n, 28, 28), np.uint8) if images is None else images
    for prefix in ("train", "t10k"):
        _idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images, code)
        _idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.asarray(labels, np.uint8))
    return tmp_path


def test_load_mnist_label_range(tmp_path):
    _mnist_dir(tmp_path, [0, 1, 200, 3])
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte\.gz holds labels up to 200 \(first at sample 2\)"):
        idx.load_mnist(tmp_path)


def test_load_mnist_float_images(tmp_path):
    _mnist_dir(tmp_path, [0, 1], images=np.zeros((2, 28, 28), ">f4"), code=0x0D)
    with pytest.raises(ValueError, match=r"images-idx3-ubyte\.gz holds float32 data .* MNIST images are uint8"):
        idx.load_mnist(tmp_path)


def test_load_mnist_truncated_gzip(tmp_path):
    _mnist_dir(tmp_path, [0, 1])
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match=r"images-idx3-ubyte\.gz is a truncated or corrupt gzip file"):
        idx.load_mnist(tmp_path)


def test_cli_train_labels_out_of_range(tmp_path, capsys):
    from pidlearn.cli import main

    _mnist_dir(tmp_path, [0, 1, 12, 3, 4])
    assert main(["train", "--data", str(tmp_path), "--epochs", "1", "--json"]) == 2
    assert "holds labels up to 12" in json.loads(capsys.readouterr().out)["error"]


def test_cli_train_checkpoint_directory(tmp_path, capsys):
    from pidlearn.cli import main

    rc = main(["train", "--epochs", "1", "--hidden", "0", "--checkpoint", str(tmp_path), "--json"])
    assert rc == 2
    assert "--checkpoint" in json.loads(capsys.readouterr().out)["error"]


# NaN reaching a solver ---------------------------------------------------------------------------------------------
def test_mole_refuses_nan_inputs():
    x, y = _mole_data()
    x[3, 1] = float("nan")
    with pytest.raises(ValueError, match="training inputs contain NaN or inf"):
        _mole().fit((x, y), 1)


def test_mole_divergence_names_the_epoch():
    mole = _mole()
    x, y = _mole_data()
    mole.fit((x, y), 1)
    with torch.no_grad():
        mole.modules[0].weight.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"training diverged in epoch 2: .*smaller learning rate"):
        mole.fit((x, y), 2)


def test_layered_trainer_divergence_names_the_epoch():
    rng = np.random.default_rng(0)
    trainer = _numpy_trainer()
    x, y = rng.normal(size=(16, 16)), np.arange(16) % 3
    trainer.fit(x, y, 1)
    for layer in trainer.network.layers().values():
        state = layer.state_dict()
        layer.load_state_dict({k: np.full_like(v, np.nan) if v.dtype.kind == "f" else v for k, v in state.items()})
    with pytest.raises(ValueError, match=r"training diverged in epoch 2: .*smaller learning rates"):
        trainer.fit(x, y, 2)


# degenerate parameters ---------------------------------------------------------------------------------------------
def test_numpy_goal_gradient_huge_n_bins():
    rng = np.random.default_rng(0)
    theta, bins = rng.uniform(0.1, 0.9, (16, 2)), rng.integers(0, 4, (16, 2, 2))
    with pytest.raises(ValueError, match=r"needs .* GiB .*n_bins=\(1000000000, 1000000000\).*reduce n_bins"):
        local_rule.sxpid_goal_gradient(theta, bins, 10**9, "context_heuristic")


@pytest.mark.parametrize("layer_cls", [InfomorphicLayer, NumpyLayer])
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation_kwargs": {"k1": float("nan")}}, r"activation_kwargs\['k1'\] must be a finite number"),
        ({"activation_kwargs": {"k2": float("inf")}}, r"activation_kwargs\['k2'\]"),
        ({"activation_kwargs": {"beta": 1.0}}, "activation_kwargs names 'beta'.*k1, k2"),
        ({"bin_range": float("nan")}, "bin_range must be a finite positive number"),
        ({"goal": {"{1}{2}": float("nan")}}, r"goal weight of '\{1\}\{2\}' must be a finite number"),
    ],
)
def test_layers_refuse_non_finite_hyperparameters(layer_cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        layer_cls(4, 3, 3, **kwargs)


def test_goal_vector_refuses_nan():
    with pytest.raises(ValueError, match="goal weight of 'H_res'"):
        goal_vector({"{1}{2}": 1.0, "H_res": float("nan")}, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": float("nan")}, "beta"),
        ({"bin_range": float("inf")}, "bin_range"),
        ({"input_weight": math.nan}, "input_weight"),
    ],
)
def test_memory_refuses_non_finite(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InfomorphicMemory(8, **kwargs)


# silently wrong ----------------------------------------------------------------------------------------------------
def test_sxpid_atoms_refuses_non_pmf():
    p = torch.tensor([[[0.5, -0.1], [0.3, 0.3]], [[0.0, 0.0], [0.0, 0.0]]], dtype=torch.float64)
    with pytest.raises(ValueError, match="joint has negative entries"):
        functional.sxpid_atoms(p, 2)
    with pytest.raises(ValueError, match="joint contains NaN"):
        functional.sxpid_atoms(torch.full((2, 2, 2), float("nan"), dtype=torch.float64), 2)
    with pytest.raises(ValueError, match="joint does not sum to 1"):
        functional.sxpid_atoms(torch.full((2, 2, 2), 0.25, dtype=torch.float64), 2)
    ok = torch.full((3, 2, 2, 2), 0.125, dtype=torch.float32)
    assert functional.sxpid_atoms(ok, 2).atoms.shape == (3, 4)


# memory ------------------------------------------------------------------------------------------------------------
def test_layer_memory_estimate():
    with pytest.raises(ValueError, match=r"needs .* GiB \(2000 neurons × .* table slots .*reduce n_bins"):
        InfomorphicLayer(10, 3, 2000, n_bins=100_000)


def test_memory_limit_environment(monkeypatch):
    monkeypatch.setenv("PIDLEARN_MEMORY_LIMIT_GIB", "1")
    with pytest.raises(ValueError, match=r"needs 7\.47 GiB .*limit of 1 GiB.*reduce n_bins"):
        InfomorphicLayer(10, 3, 1000, n_bins=1000)
    with pytest.raises(ValueError, match="reduce n_bins"):
        functional.sample_sxpid_atoms(
            torch.full((4, 1000), 0.5), torch.zeros(4, 1000, 2, dtype=torch.long), (1000, 1000)
        )
    monkeypatch.setenv("PIDLEARN_MEMORY_LIMIT_GIB", "lots")
    with pytest.raises(ValueError, match="PIDLEARN_MEMORY_LIMIT_GIB must be a number"):
        InfomorphicLayer(4, 3, 3)


# NumPy-backend seeds -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [-1, 1.5, 2**63, "0"])
def test_numpy_backend_seeds_name_the_argument(seed):
    """The NumPy objects that draw initial weights take a Generator, None or a seed int checked by
    :func:`pidlearn.backends._settings.check_seed` (not NumPy's SeedSequence error)."""
    from pidlearn.backends.numpy.memory import InfomorphicMemory as NumpyMemory
    from pidlearn.backends.numpy.train import InfomorphicNetwork

    for make in (
        lambda: NumpyLayer(4, 3, 3, seed=seed),
        lambda: InfomorphicNetwork(4, 3, seed=seed),
        lambda: NumpyMemory(8, seed=seed),
    ):
        with pytest.raises(ValueError, match="seed must be an int"):
            make()
    rng = np.random.default_rng(0)
    assert NumpyLayer(4, 3, 3, seed=rng).rng is rng
