"""ContinuousInfomorphicLayer: real-valued infomorphic neurons with goals in continuous SxPID atoms (issue #19)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pidlearn.backends.torch.continuous_layers import ContinuousInfomorphicLayer  # noqa: E402
from pidlearn.backends.torch.continuous_sxpid import continuous_sxpid, continuous_sxpid_goal  # noqa: E402
from pidlearn.backends.torch.train import InfomorphicNetwork, Trainer  # noqa: E402
from pidlearn.continuous import sxpid  # noqa: E402

MI_GOAL = {"{1}{2}": 1.0, "{1}": 1.0, "{2}": 1.0, "{12}": 1.0}  # Σ atoms = I(Y; R, C)


def _batch(n, g, dtype=torch.float32):
    return torch.randn(n, 4, generator=g, dtype=dtype), torch.randn(n, 4, generator=g, dtype=dtype)


def _adam_goal(layer, g, steps: int = 20):
    """The layer's goal on a fixed evaluation batch before and after ``steps`` Adam steps (lr 0.1, batches of 256
    drawn from ``g``)."""
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    x_eval = _batch(1000, torch.Generator().manual_seed(2))

    def evaluate():
        with torch.no_grad():
            layer(*x_eval, generator=torch.Generator().manual_seed(3))
            return layer.goal_value()

    before = evaluate()
    for _ in range(steps):
        layer(*_batch(256, g), generator=g)
        loss = layer.loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return before, evaluate()


def test_shapes_and_consistency():
    torch.manual_seed(0)
    layer = ContinuousInfomorphicLayer(4, 3, 5, goal={"{1}": 1.0, "{12}": 0.5})
    g = torch.Generator().manual_seed(1)
    x_r = torch.randn(200, 4, generator=g)
    x_c = torch.randint(0, 2, (200, 3), generator=g)  # integer inputs are converted, as in the binary layer
    y = layer(x_r, x_c, generator=g)
    assert y.shape == (200, 5) and y.dtype == torch.float32 and y.requires_grad
    r, c = layer.drives(x_r, x_c)
    a = layer._activation(r, c)
    noise = (y - a).detach() / layer.sigma  # Y = A + σ ε with ε standard normal
    assert abs(float(noise.mean())) < 0.1 and abs(float(noise.std()) - 1) < 0.1
    goal = layer.goal_value()
    atoms = layer.atoms()
    assert goal.shape == (5,) and sorted(atoms) == ["{12}", "{1}", "{1}{2}", "{2}"]
    # the goal (only the redundancies it needs) equals the weighted full decomposition
    torch.testing.assert_close(goal.detach(), atoms["{1}"] + 0.5 * atoms["{12}"], rtol=0, atol=1e-5)
    with torch.no_grad():
        ref = continuous_sxpid(y, torch.stack((r, c), -1), k=3, tau=0.02)
    torch.testing.assert_close(atoms["{1}{2}"], ref[:, 0])
    assert layer.loss().shape == () and torch.isclose(layer.loss(), -goal.sum())


def test_atoms_match_the_ksg_type_core_estimator():
    """The layer's atoms (soft counts) on its own outputs agree with pidlearn.continuous.sxpid (hard counts)."""
    torch.manual_seed(2)
    layer = ContinuousInfomorphicLayer(4, 4, 2, sigma=0.3).double()
    g = torch.Generator().manual_seed(3)
    y = layer(*_batch(400, g, torch.float64), generator=g).detach()
    r, c = layer._last[1:]
    soft = np.stack([v.numpy() for v in layer.atoms().values()], 1)
    r, c = r.detach().numpy(), c.detach().numpy()
    hard = np.array([sxpid(y[:, j].numpy(), [r[:, j], c[:, j]], workers=1).values for j in range(2)])
    np.testing.assert_allclose(soft, hard, atol=0.03)


def _goal_of(layer, x_r, x_c, seed):
    def f(w_r, b_r, w_c):
        params = {"receptive.weight": w_r, "receptive.bias": b_r, "context.weight": w_c}
        g = torch.Generator().manual_seed(seed)  # the same noise at every call: a deterministic function
        torch.func.functional_call(layer, params, (x_r, x_c), {"generator": g})
        return layer.goal_value()

    return f


def _tiny_layer(drive_gradient):
    torch.manual_seed(4)
    layer = ContinuousInfomorphicLayer(3, 2, 2, goal=MI_GOAL, sigma=0.5, k=2, drive_gradient=drive_gradient)
    layer.double()
    g = torch.Generator().manual_seed(5)
    x_r = torch.randn(14, 3, dtype=torch.float64, generator=g)
    x_c = torch.randn(14, 2, dtype=torch.float64, generator=g)
    params = [
        p.detach().clone().requires_grad_()
        for p in (layer.receptive.weight, layer.receptive.bias, layer.context.weight)
    ]
    return layer, x_r, x_c, params


def test_gradcheck_float64_with_drive_gradient():
    """drive_gradient=True: the full derivative of the goal with respect to the weights, checked numerically."""
    layer, x_r, x_c, params = _tiny_layer(True)
    f = _goal_of(layer, x_r, x_c, seed=6)
    assert torch.autograd.gradcheck(f, params)
    grads = torch.autograd.grad(f(*params).sum(), params)
    assert all(bool((gr != 0).any()) for gr in grads)  # every weight gets a gradient: not a 0 = 0 check


def test_gradcheck_float64_detached_drives():
    """drive_gradient=False (default): the derivative through Y with the sources held at their current values,
    checked numerically on that function, and equal to the layer's gradient."""
    layer, x_r, x_c, params = _tiny_layer(False)
    f = _goal_of(layer, x_r, x_c, seed=6)
    layer_grads = torch.autograd.grad(f(*params).sum(), params)
    _, r0, c0 = layer._last
    r0, c0 = r0.detach(), c0.detach()

    def through_y(w_r, b_r, w_c):  # sources fixed at r0, c0; only Y moves with the weights
        r = x_r @ w_r.T + b_r
        c = x_c @ w_c.T + layer.context.bias
        noise = torch.randn(r.shape, generator=torch.Generator().manual_seed(6), dtype=r.dtype)
        y = layer._activation(r, c) + layer.sigma * noise
        return continuous_sxpid_goal(y, [r0, c0], [1.0, 1.0, 1.0, 1.0], k=2)

    assert torch.autograd.gradcheck(through_y, params)
    ref = torch.autograd.grad(through_y(*params).sum(), params)
    for a, b in zip(layer_grads, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    assert all(bool((gr != 0).any()) for gr in layer_grads)


def test_drive_gradient_is_detached_by_default():
    """By default the goal's gradient reaches the weights only through Y; with drive_gradient also via the sources."""
    g = torch.Generator().manual_seed(7)
    x_r, x_c = _batch(120, g, torch.float64)
    grads = []
    for flag in (False, True):
        torch.manual_seed(8)
        layer = ContinuousInfomorphicLayer(4, 4, 2, goal=MI_GOAL, drive_gradient=flag).double()
        layer(x_r, x_c, generator=torch.Generator().manual_seed(9))
        _, r, c = layer._last
        grads.append(torch.autograd.grad(layer.goal_value().sum(), (r, c), allow_unused=True))
    (gr0, gc0), (gr1, _) = grads
    assert gr0 is not None and gc0 is not None  # through A(r, c) into Y
    assert not torch.allclose(gr0, gr1)  # the sources' own gradient is added with drive_gradient=True


def test_goal_increases_with_adam_and_passes_the_binary_cap():
    """Toy task (docs/figures/make_continuous_toy.py, shorter): the goal I(Y; R, C) in atoms rises over Adam steps
    and passes 1 bit, which no binary neuron can (every SxPID atom sum is at most H(Y) ≤ 1 bit)."""
    torch.manual_seed(0)
    layer = ContinuousInfomorphicLayer(4, 4, 2, goal=MI_GOAL, sigma=1.0)
    before, after = _adam_goal(layer, torch.Generator().manual_seed(1))
    assert float(before.max()) < 0.5
    assert float(after.min()) > 1.0, (before, after)


def test_bad_input():
    layer = ContinuousInfomorphicLayer(4, 4, 2)
    with pytest.raises(RuntimeError, match="call the layer on a batch first"):
        layer.goal_value()
    with pytest.raises(ValueError, match="x_receptive must have shape"):
        layer(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="x_context has 9"):
        layer(torch.randn(10, 4), torch.randn(9, 4))
    assert layer(torch.randn(3, 4), torch.randn(3, 4)).shape == (3, 2)  # inference works on any batch...
    with pytest.raises(ValueError, match="at least 4"):  # ...the goal's k = 3 neighbours need 4 samples
        layer.goal_value()
    with pytest.raises(TypeError, match="noise must be True or False"):
        layer(torch.randn(10, 4), torch.randn(10, 4), noise=0)
    with pytest.raises(TypeError, match=r"layer\.to"):
        layer(torch.randn(10, 4, dtype=torch.float64), torch.randn(10, 4))
    with pytest.raises(TypeError, match=r"must be a torch\.Tensor"):
        layer(np.zeros((10, 4)), torch.randn(10, 4))
    with pytest.raises(ValueError, match="NaN or inf"):
        layer(torch.full((10, 4), math.nan), torch.randn(10, 4))
    with torch.no_grad():
        layer.receptive.weight.zero_()
    layer(torch.randn(10, 4), torch.randn(10, 4))
    with pytest.raises(ValueError, match="constant over the batch"):  # r = b_R for every sample: no information
        layer.goal_value()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sigma": 0.0}, ValueError, "sigma must be a finite positive"),
        ({"sigma": math.nan}, ValueError, "sigma"),
        ({"sigma": "0.1"}, TypeError, "sigma must be a real number"),
        ({"k": 0}, ValueError, "k \\(nearest neighbours"),
        ({"k": 2.5}, ValueError, "k \\(nearest neighbours"),
        ({"tau": -0.1}, ValueError, "tau must be a finite positive"),
        ({"drive_gradient": 1}, TypeError, "drive_gradient must be True or False"),
        ({"goal": "context_optimised"}, ValueError, "H_res"),
        ({"goal": "trivariate_heuristic"}, ValueError, "defined for 3 sources"),
        ({"goal": {"{3}": 1.0}}, ValueError, "not an atom"),
        ({"activation": "trivariate"}, ValueError, "takes 3 input classes"),
        ({"activation": "relu"}, ValueError, "unknown activation"),
        ({"activation_kwargs": {"beta": 1.0}}, ValueError, "does not take"),
        ({"n_neurons": 0}, ValueError, "n_neurons must be a positive int"),
        ({"estimator": "kde"}, ValueError, "estimator must be 'knn'"),
        ({"bin_width": 0.5}, ValueError, "bin_width is a setting of estimator='binned'"),
        ({"estimator": "binned", "bin_width": 0.0}, ValueError, "bin_width must be a finite positive"),
        ({"estimator": "binned", "bin_width": "0.5"}, TypeError, "bin_width must be a real number"),
    ],
)
def test_bad_hyper_parameters(kwargs, error, match):
    args = {"n_receptive": 4, "n_context": 4, "n_neurons": 2, **kwargs}
    with pytest.raises(error, match=match):
        ContinuousInfomorphicLayer(**args)


def test_noise_free_output_is_the_activation():
    torch.manual_seed(10)
    layer = ContinuousInfomorphicLayer(4, 4, 3, sigma=0.5)
    x_r, x_c = _batch(50, torch.Generator().manual_seed(11))
    a = layer(x_r, x_c, noise=False)
    torch.testing.assert_close(a, layer._activation(*layer.drives(x_r, x_c)), rtol=0, atol=0)
    pid = layer.pid()  # the binary layer's form: atoms (neurons, 4); H_res undefined for a real output
    assert pid.atoms.shape == (3, 4) and bool(pid.residual_entropy.isnan().all())


# ------------------------------------------------------------------------------------------------------------------
# InfomorphicNetwork(hidden_neurons="continuous") with the binary network's Trainer


def _tiny_data(n=256, d=12, classes=4):
    g = torch.Generator().manual_seed(20)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, d, generator=g) + torch.eye(classes, d)[y] * 2.0  # classes a little apart
    return x, y


def _continuous_net(**kw):
    torch.manual_seed(21)
    return InfomorphicNetwork(12, 4, hidden=6, hidden_neurons="continuous", **kw)


def test_continuous_network_local_gradients():
    """The hidden goal's gradient reaches the hidden weights; the readout's goal does not (Y reaches it detached)."""
    net = _continuous_net()
    x, y = _tiny_data()
    ctx = torch.eye(4)[y]
    theta, _ = net(x, ctx, generator=torch.Generator().manual_seed(22))
    assert theta.shape == (256, 4) and isinstance(net.hidden, ContinuousInfomorphicLayer)
    assert net.hidden.n_neurons == 6 and net.hidden.goal == "context_heuristic"  # the binary network's default goal
    net.readout.loss().backward()
    assert net.hidden.receptive.weight.grad is None and net.readout.receptive.weight.grad.abs().sum() > 0
    loss = net.hidden.loss()
    assert torch.isfinite(loss)
    loss.backward()
    assert net.hidden.receptive.weight.grad.abs().sum() > 0 and net.hidden.context.weight.grad.abs().sum() > 0


def test_continuous_network_trains_and_is_reproducible(tmp_path):
    x, y = _tiny_data()
    runs = []
    for _ in range(2):
        trainer = Trainer(_continuous_net(), batch_size=128, progress=False, monitor_every=1, seed=3)
        before = trainer.network.hidden.receptive.weight.detach().clone()
        history = trainer.fit(x, y, 1, eval_sets={"train": (x, y)})
        runs.append((trainer, history))
        assert not torch.equal(before, trainer.network.hidden.receptive.weight)  # two Adam steps moved it
    (trainer, history), (other, history2) = runs
    record = history[-1]
    assert all(math.isfinite(v) for v in record["loss"].values())
    assert list(record["atoms"]["hidden"]) == ["{1}{2}", "{1}", "{2}", "{12}", "H_res"]
    assert math.isnan(record["atoms"]["hidden"]["H_res"]) and math.isfinite(record["atoms"]["hidden"]["{1}{2}"])
    assert 0.0 <= record["accuracy"]["train"] <= 1.0
    # the same seeds give the same weights, losses and predictions
    for a, b in zip(trainer.network.state_dict().values(), other.network.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert record["loss"] == history2[-1]["loss"]
    pred = trainer.predict(x[:3])  # inference on fewer samples than the goal needs
    assert pred.shape == (3,) and torch.equal(pred, other.predict(x[:3]))
    # a checkpoint resumes to the same state (weights_only load)
    trainer.save(tmp_path / "c.pt")
    resumed = Trainer(_continuous_net(), batch_size=128, progress=False, monitor_every=1, seed=3)
    resumed.load(tmp_path / "c.pt")
    for a, b in zip(trainer.network.state_dict().values(), resumed.network.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_continuous_network_evaluation_modes():
    """At evaluation "max" and "mean" pass the noise-free A(r, c) to the readout, "sample" a noisy Y."""
    net = _continuous_net(hidden_sigma=0.3).eval()
    x, _ = _tiny_data(40)
    zeros = torch.zeros(40, 4)
    with torch.no_grad():
        a = net.hidden._activation(*net.hidden.drives(x, zeros))
        outs = {}
        for how in ("sample", "max", "mean"):
            net(x, zeros, generator=torch.Generator().manual_seed(0), hidden_output=how)
            outs[how] = net.readout._last
    assert net.hidden.sigma == 0.3
    torch.testing.assert_close(net.readout.receptive(a), outs["mean"][1][0], rtol=0, atol=1e-6)
    torch.testing.assert_close(outs["max"][1][0], outs["mean"][1][0], rtol=0, atol=0)
    assert not torch.allclose(outs["sample"][1][0], outs["mean"][1][0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"hidden_neurons": "spiking"}, ValueError, "hidden_neurons must be 'binary' or 'continuous'"),
        ({"hidden_sigma": 0.2}, ValueError, "hidden_sigma is the output noise of continuous"),
        ({"hidden_neurons": "continuous", "hidden_sigma": 0.0}, ValueError, "hidden_sigma must be a finite positive"),
        ({"hidden_neurons": "continuous", "hidden_sigma": "0.1"}, TypeError, "hidden_sigma must be a real number"),
        ({"hidden_neurons": "continuous", "hidden_goal": "context_optimised"}, ValueError, "H_res"),
        ({"hidden_neurons": "continuous", "hidden_goal": "trivariate_optimised"}, ValueError, "3 sources"),
        ({"hidden_neurons": "continuous", "lateral_connections": 3}, ValueError, "no lateral inputs"),
        ({"hidden": 0, "hidden_neurons": "continuous"}, ValueError, "hidden=0 has none"),
        ({"hidden_estimator": "binned"}, ValueError, "hidden_estimator configures continuous hidden neurons"),
        ({"hidden_bin_width": 0.5}, ValueError, "hidden_bin_width configures continuous hidden neurons"),
        ({"hidden_neurons": "continuous", "hidden_estimator": "kde"}, ValueError, "estimator must be 'knn'"),
    ],
)
def test_continuous_network_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        InfomorphicNetwork(12, 4, **{"hidden": 6, **kwargs})


def test_binned_estimator_layer_and_network():
    """``estimator="binned"``: the layer's goal and atoms are the binned estimator's; the goal rises over Adam steps
    (the toy task above, the binned estimator); the network passes the option through."""
    torch.manual_seed(0)
    layer = ContinuousInfomorphicLayer(4, 4, 2, goal=MI_GOAL, sigma=1.0, estimator="binned", bin_width=0.4)
    g = torch.Generator().manual_seed(1)
    y = layer(*_batch(512, g), generator=g)
    r, c = layer._last[1:]
    expected = continuous_sxpid_goal(y, [r, c], [1.0] * 4, method="binned", bin_width=0.4)
    torch.testing.assert_close(layer.goal_value(), expected)
    torch.testing.assert_close(layer.pid().atoms, continuous_sxpid(y, [r, c], method="binned", bin_width=0.4))
    before, after = _adam_goal(layer, g)
    assert float(after.min()) > float(before.max()) + 0.3, (before, after)
    net = InfomorphicNetwork(12, 4, hidden=6, hidden_neurons="continuous", hidden_estimator="binned")
    assert net.hidden.estimator == "binned" and net.hidden.bin_width is None
    assert "estimator='binned'" in repr(net.hidden)
