"""The NumPy backend: analytic local rule against torch autograd, atoms against the numba core, no torch import,
bad input, layers, Adam, checkpoints and a brief training run on the bundled MNIST subset."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pidlearn import sxpid_from_pmf
from pidlearn.backends.numpy import (
    Adam,
    InfomorphicLayer,
    InfomorphicNetwork,
    Trainer,
    atom_names,
    standardise,
    sxpid_goal_gradient,
)
from pidlearn.backends.numpy.activations import kay_phillips as kay_phillips_np
from pidlearn.backends.numpy.binning import adaptive_bins, fixed_bins
from pidlearn.goals import PRESETS, goal_vector
from pidlearn.idx import load_mnist_small
from pidlearn.lattice import lattice

BIVARIATE = sorted(k for k, (n, _) in PRESETS.items() if n == 2)
TRIVARIATE = sorted(k for k, (n, _) in PRESETS.items() if n == 3)
RTOL = 1e-8  # analytic vs autograd, float64, relative to the largest entry


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _batch(rng, n_sources, batch=300, neurons=4, n_bins=(5, 3, 4)):
    theta = rng.uniform(0.01, 0.99, (batch, neurons))
    theta[::7] = rng.uniform(1e-5, 1e-3, theta[::7].shape)  # some confident neurons
    k = n_bins[:n_sources]
    bins = np.stack([rng.integers(0, kk, (batch, neurons)) for kk in k], axis=-1)
    return theta, bins, k


def _rel(got, ref) -> float:
    scale = np.abs(ref).max()
    return float(np.abs(got - ref).max() / scale) if scale > 0 else float(np.abs(got).max())


# ------------------------------------------------------------------------------------------- the rule vs autograd
@pytest.mark.parametrize("goal", BIVARIATE + TRIVARIATE)
def test_goal_gradient_equals_torch_autograd(goal):
    torch = _torch()
    from pidlearn.backends.torch.functional import sample_sxpid_atoms

    n = PRESETS[goal][0]
    rng = np.random.default_rng(len(goal))
    for _ in range(2):
        theta, bins, k = _batch(rng, n)
        res = sxpid_goal_gradient(theta, bins, k, goal)
        th = torch.tensor(theta, requires_grad=True)
        pid = sample_sxpid_atoms(th, torch.tensor(bins), k)
        gamma, gamma_res = goal_vector(goal, n)
        g = pid.atoms @ torch.tensor(gamma, dtype=torch.float64) + gamma_res * pid.residual_entropy
        g.sum().backward()
        assert _rel(res.dtheta, th.grad.numpy()) < RTOL
        np.testing.assert_allclose(res.goal, g.detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.atoms, pid.atoms.detach().numpy(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(res.residual_entropy, pid.residual_entropy.detach().numpy(), rtol=0, atol=1e-10)


def _layer_pair(torch, kw, n_r=23, n_c=10, n_neurons=10):
    from pidlearn.backends.torch.layers import InfomorphicLayer as TorchLayer

    tl = TorchLayer(n_r, n_c, n_neurons, **kw).double()
    nl = InfomorphicLayer(n_r, n_c, n_neurons, dtype=np.float64, **kw)
    nl.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    return tl, nl


_LAYERS = [
    *[("bivariate", {"goal": g}) for g in BIVARIATE],
    ("kay_phillips", {"goal": "context_optimised", "activation": "kay_phillips"}),
    ("memory", {"goal": "memory", "activation": "memory"}),
    ("readout", {"goal": "readout", "activation_kwargs": {"k1": 1.0}, "context_identity": True}),
    ("no_self", {"goal": "lateral_optimised", "context_no_self": True}),
    *[("trivariate", {"goal": g, "lateral": True}) for g in TRIVARIATE],
    ("trivariate_adaptive", {"goal": "trivariate_optimised", "lateral": True, "binning": "adaptive", "n_bins": 6}),
]


def test_non_finite_drives_are_a_clear_error():
    layer = InfomorphicLayer(6, 3, 4, goal="context_heuristic", seed=0)
    x, c = np.random.default_rng(0).normal(size=(2, 32, 6))[0], np.eye(3)[np.arange(32) % 3]
    x[5, 1] = np.inf
    with pytest.raises(ValueError, match="contain NaN or inf"):
        layer.forward(x, c)
    a, (da_dr, da_dc) = kay_phillips_np(np.array([20.0, 0.5]), np.array([20.0, 0.5]))
    assert np.isfinite(a).all() and np.isfinite(da_dr).all() and da_dc[0] == 0.0  # clipped exponent: no overflow


@pytest.mark.parametrize("kind, kw", _LAYERS, ids=[f"{k}-{kw['goal']}" for k, kw in _LAYERS])
def test_layer_gradients_equal_torch_autograd(kind, kw):
    """Every parameter's gradient, chained through θ, the activation and the linear maps, equals autograd's."""
    torch = _torch()
    rng = np.random.default_rng(7)
    tl, nl = _layer_pair(torch, kw)
    x_r = rng.normal(size=(256, 23)) * 2.0
    x_c = np.eye(10)[rng.integers(10, size=256)] if kind == "readout" else rng.normal(size=(256, 10))
    args = [x_r, x_c]
    if kw.get("lateral"):
        args.append(np.where(rng.random((256, 10)) < 0.5, 1.0, -1.0))
    theta_t, _ = tl(*[torch.tensor(a) for a in args])
    tl.loss().backward()
    upd = nl.local_update(*args)
    np.testing.assert_allclose(upd.theta, theta_t.detach().numpy(), rtol=0, atol=1e-12)
    names = dict(tl.named_parameters())
    assert set(upd.grads) == set(names)
    for name, p in names.items():
        ref = -p.grad.numpy()  # the torch loss is −Σ G
        assert upd.grads[name].shape == ref.shape
        if np.abs(ref).max() == 0:  # e.g. the readout's context bias (k1 = 1: the label enters only the goal)
            assert np.abs(upd.grads[name]).max() == 0
        else:
            assert _rel(upd.grads[name], ref) < RTOL, name
    assert nl.loss() == pytest.approx(float(tl.loss().detach()), abs=1e-10)


def test_adam_equals_torch_adam():
    torch = _torch()
    rng = np.random.default_rng(3)
    p0 = rng.normal(size=(4, 5))
    ours = {"w": p0.copy()}
    opt = Adam(ours, lr=3e-3, weight_decay=1.5e-4)
    tp = torch.tensor(p0, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=3e-3, weight_decay=1.5e-4)
    for _ in range(5):
        g = rng.normal(size=(4, 5))
        opt.step({"w": g})
        tp.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours["w"], tp.detach().numpy(), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------- without torch
def _soft_joint(theta, bins, k, j):
    p = np.zeros((*k, 2))
    for b in range(len(theta)):
        p[(*bins[b, j], 1)] += theta[b, j] / len(theta)
        p[(*bins[b, j], 0)] += (1 - theta[b, j]) / len(theta)
    return p


@pytest.mark.parametrize("n", [2, 3])
def test_atoms_equal_numba_core(n):
    rng = np.random.default_rng(n)
    theta, bins, k = _batch(rng, n, batch=120, neurons=3)
    res = sxpid_goal_gradient(theta, bins, k, "context_heuristic" if n == 2 else "trivariate_heuristic")
    for j in range(3):
        p = _soft_joint(theta, bins, k, j)
        ref = sxpid_from_pmf(p)
        assert tuple(ref.atom_names) == atom_names(n) == lattice(n).names
        np.testing.assert_allclose(res.atoms[j], ref.values, rtol=0, atol=1e-10)
        p_y = p.reshape(-1, 2).sum(0)
        h_y = -float(np.sum(p_y * np.log2(p_y)))
        assert res.residual_entropy[j] == pytest.approx(h_y - ref.values.sum(), abs=1e-10)


@pytest.mark.parametrize("goal", ["readout", "trivariate_optimised"])
def test_goal_gradient_equals_finite_differences(goal):
    """Central differences of the goal in θ (a torch-free check of the same derivative)."""
    n = PRESETS[goal][0]
    rng = np.random.default_rng(11)
    theta, bins, k = _batch(rng, n, batch=40, neurons=2)
    theta = np.clip(theta, 0.05, 0.95)
    res = sxpid_goal_gradient(theta, bins, k, goal)
    h = 1e-6
    for b, j in [(0, 0), (5, 1), (17, 0), (39, 1)]:
        up, down = theta.copy(), theta.copy()
        up[b, j] += h
        down[b, j] -= h
        fd = (sxpid_goal_gradient(up, bins, k, goal).goal[j] - sxpid_goal_gradient(down, bins, k, goal).goal[j]) / (
            2 * h
        )
        assert res.dtheta[b, j] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_import_does_not_pull_torch():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import pidlearn.backends.numpy as nb
        layer = nb.InfomorphicLayer(12, 3, 4, seed=0)
        upd = layer.local_update(np.random.default_rng(0).normal(size=(64, 12)), np.eye(3)[np.arange(64) % 3])
        assert np.isfinite(upd.grads["receptive.weight"]).all()
        print("torch" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_cli_numpy_backend_runs_without_torch():
    """``pidlearn train --backend numpy`` with torch made unimportable: same JSON keys, a real accuracy."""
    code = textwrap.dedent(
        """
        import sys
        class _NoTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked in this test")
        sys.meta_path.insert(0, _NoTorch())
        from pidlearn.cli import main
        main(["train", "--backend", "numpy", "--hidden", "0", "--epochs", "2", "--json", "--plot", "none"])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["backend"] == "numpy" and res["epochs"] == 2 and res["seconds"] > 0
    assert {"test_accuracy", "accuracy_per_epoch", "atoms", "hidden", "goal"} <= set(res)
    assert res["test_accuracy"] > 0.5  # bundled subset, 2 epochs; chance is 0.1
    assert res["readout_goal"] == "readout" and res["goal"] is None
    assert set(res["atoms"]["readout"]) == {"{1}{2}", "{1}", "{2}", "{12}", "H_res"}


def test_cli_numpy_backend_text_output_and_errors(capsys):
    from pidlearn.cli import main

    rc = main(["train", "--backend", "numpy", "--hidden", "8", "--goal", "context_heuristic", "--epochs", "1",
               "--plot", "none"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0 and "numpy backend" in out and "test accuracy after 1 epochs" in out and "hidden:" in out
    # --task unsupervised and memory with --backend numpy: tests/test_cli_backends.py


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"goal": {"{13}": 1.0}}, ValueError, "not an atom of the 2-source lattice"),
        ({"goal": {"{1}{2}{3}": 1.0}}, ValueError, "not an atom of the 2-source lattice"),
        ({"goal": "trivariate_optimised"}, ValueError, "defined for 3 sources"),
        ({"goal": "best"}, ValueError, "unknown goal preset"),
        ({"goal": {"{1}": math.nan}}, ValueError, "finite"),
        ({"n_bins": 1}, ValueError, "at least 2"),
        ({"activation": "relu"}, ValueError, "unknown activation"),
        ({"activation": "trivariate"}, ValueError, "takes 3 input classes"),
        ({"binning": "quantile"}, ValueError, "adaptive' or 'fixed"),
        ({"context_identity": True}, ValueError, "as many context inputs as neurons"),
    ],
)
def test_layer_rejects_bad_settings(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        InfomorphicLayer(8, 3, 5, **kwargs)


def test_layer_rejects_mismatched_inputs():
    layer = InfomorphicLayer(8, 3, 5, seed=0)
    with pytest.raises(ValueError, match=r"x_receptive must have shape \(batch, 8\)"):
        layer.local_update(np.zeros((16, 7)), np.zeros((16, 3)))
    with pytest.raises(ValueError, match=r"x_context must have shape \(batch, 3\)"):
        layer.local_update(np.zeros((16, 8)), np.zeros((16, 4)))
    with pytest.raises(ValueError, match="16 samples but x_context has 15"):
        layer.local_update(np.zeros((16, 8)), np.zeros((15, 3)))
    lateral = InfomorphicLayer(8, 3, 5, goal="trivariate_heuristic", lateral=True, seed=0)
    with pytest.raises(ValueError, match=r"x_lateral must have shape \(batch, 5\)"):
        lateral.local_update(np.zeros((16, 8)), np.zeros((16, 3)), np.zeros((16, 4)))
    with pytest.raises(RuntimeError, match="call the layer on a batch first"):
        InfomorphicLayer(8, 3, 5).atoms()


def test_goal_gradient_rejects_bad_batches():
    rng = np.random.default_rng(0)
    theta, bins, k = _batch(rng, 2, batch=20, neurons=3)
    with pytest.raises(ValueError, match="at least 2 per source"):
        sxpid_goal_gradient(theta, np.zeros_like(bins), 1, "memory")
    with pytest.raises(ValueError, match=r"bin indices must lie in 0\.\.n_bins-1"):
        sxpid_goal_gradient(theta, bins + 5, k, "memory")
    with pytest.raises(ValueError, match=r"bins must have shape \(batch, neurons, n_sources\)"):
        sxpid_goal_gradient(theta[:10], bins, k, "memory")
    with pytest.raises(ValueError, match="strictly inside"):
        sxpid_goal_gradient(np.ones_like(theta), bins, k, "memory")
    with pytest.raises(ValueError, match="n_bins lists 3 sizes for 2 sources"):
        sxpid_goal_gradient(theta, bins, (3, 3, 3), "memory")
    with pytest.raises(ValueError, match="not an atom"):
        sxpid_goal_gradient(theta, bins, k, {"{23}": 1.0})


# ------------------------------------------------------------------------------------------- layers and training
def test_binning_matches_definition():
    x = np.array([[-2.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert adaptive_bins(x, 4).tolist() == [[0, 2], [3, 2], [3, 2]]
    assert fixed_bins(np.array([-30.0, -20.0, 0.0, 19.9, 25.0]), 20).tolist() == [0, 0, 10, 19, 19]


def test_local_update_is_local_and_leaves_parameters():
    """Neuron j's update depends only on neuron j: changing another neuron's weights leaves row j unchanged."""
    rng = np.random.default_rng(5)
    layer = InfomorphicLayer(16, 4, 6, goal="context_optimised", seed=1, dtype=np.float64)
    x_r, x_c = rng.normal(size=(128, 16)), rng.normal(size=(128, 4))
    before = layer.state_dict()
    a = layer.local_update(x_r, x_c, rng=np.random.default_rng(0))
    for k, v in layer.params.items():
        assert np.array_equal(v, before[k])
    layer.params["receptive.weight"][3] += 0.5
    b = layer.local_update(x_r, x_c, rng=np.random.default_rng(0))
    keep = np.arange(6) != 3
    np.testing.assert_array_equal(a.grads["receptive.weight"][keep], b.grads["receptive.weight"][keep])
    np.testing.assert_array_equal(a.goal[keep], b.goal[keep])
    assert set(layer.atoms()) == {*atom_names(2), "H_res"}


@pytest.fixture(scope="module")
def small_mnist():
    d = load_mnist_small()
    x, mean, std = standardise(d["x_train"])
    xt, _, _ = standardise(d["x_test"], mean, std)
    return x, d["y_train"].astype(np.int64), xt, d["y_test"].astype(np.int64)


def test_single_layer_learns_bundled_mnist(small_mnist):
    x, y, xt, yt = small_mnist
    trainer = Trainer(InfomorphicNetwork(hidden=0, seed=0), seed=0, progress=False)
    hist = trainer.fit(x, y, 3, eval_sets={"test": (xt, yt)})
    assert len(hist) == 3 and hist[-1]["epoch"] == 3
    assert hist[-1]["accuracy"]["test"] > 0.6  # 3 epochs of 6000 images; chance is 0.1
    assert set(hist[-1]["atoms"]["readout"]) == {*atom_names(2), "H_res"}


@pytest.mark.parametrize("goal", ["context_heuristic", "trivariate_optimised"])
def test_hidden_networks_train_and_resume(small_mnist, tmp_path, goal):
    """1 + 1 epochs through a checkpoint give exactly the 2-epoch run."""
    x, y, xt, yt = small_mnist
    x, y = x[:2048], y[:2048]

    def trainer():
        return Trainer(InfomorphicNetwork(hidden=12, hidden_goal=goal, seed=0), batch_size=512, seed=0, progress=False)

    full = trainer()
    full.fit(x, y, 2, eval_sets={"test": (xt[:200], yt[:200])})
    ckpt = tmp_path / "ckpt.npz"
    first = trainer()
    first.fit(x, y, 1, eval_sets={"test": (xt[:200], yt[:200])}, checkpoint=ckpt)
    resumed = trainer()
    resumed.load(ckpt)
    resumed.fit(x, y, 2, eval_sets={"test": (xt[:200], yt[:200])})
    for k, v in full.network.state_dict().items():
        np.testing.assert_array_equal(v, resumed.network.state_dict()[k])
    assert [h["accuracy"] for h in full.history] == [h["accuracy"] for h in resumed.history]
    assert full.network.hidden.lateral == (goal == "trivariate_optimised")


def test_eval_samples_average_stochastic_passes(small_mnist):
    """``eval_samples = K`` is the mean readout θ of K passes from the same evaluation generator."""
    x, y, xt, _ = small_mnist
    tr = Trainer(InfomorphicNetwork(hidden=12, seed=0), batch_size=512, seed=0, progress=False)
    tr.fit(x[:1024], y[:1024], 1)
    one = tr.predict_theta(xt[:300])
    np.testing.assert_array_equal(one, tr.predict_theta(xt[:300]))  # repeatable
    tr.eval_samples = 3
    rng = tr._eval_generator()
    passes = [tr._theta_pass(xt[:300], rng, 512) for _ in range(3)]
    np.testing.assert_array_equal(passes[0], one)
    np.testing.assert_allclose(tr.predict_theta(xt[:300]), sum(passes) / 3, rtol=0, atol=1e-12)
    assert not np.array_equal(passes[0], passes[1])  # the hidden samples differ between passes
    with pytest.raises(ValueError, match="eval_samples"):
        Trainer(InfomorphicNetwork(hidden=0, seed=0), eval_samples=0)


@pytest.mark.slow
def test_single_layer_full_mnist(shared_dir):
    """Full MNIST, 5 epochs (about a minute on one core)."""
    from pidlearn.idx import load_mnist

    x, y = load_mnist(shared_dir / "datasets" / "mnist", "train")
    xt, yt = load_mnist(shared_dir / "datasets" / "mnist", "test")
    xs, mean, std = standardise(x[:48000])
    xts, _, _ = standardise(xt, mean, std)
    trainer = Trainer(InfomorphicNetwork(hidden=0, seed=0), seed=0, progress=False)
    trainer.fit(xs, y[:48000].astype(np.int64), 5, eval_sets={"test": (xts, yt.astype(np.int64))})
    assert trainer.history[-1]["accuracy"]["test"] > 0.88
