"""The NumPy backend's continuous SxPID and the analytic gradient of a goal in its atoms (issue #19).

Atoms against the torch backend's estimator (same kernel, float64: to 1e-12); the analytic gradient against torch
autograd (1e-8 relative; torch's own trigamma is only good to ~5e-10 relative at small counts, scipy's to 1e-16)
and against central finite differences; bad input; no torch in the NumPy path.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from pidlearn.backends.numpy.continuous_sxpid import ContinuousGoalGradient, continuous_sxpid, continuous_sxpid_goal
from pidlearn.goals import goal_vector
from pidlearn.lattice import lattice


def _data(n: int, neurons: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian sources of different scales and a target with a product term (synergy) and noise."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((batch, neurons, n)) * np.array([1.0, 3.0, 0.2, 5.0][:n])
    t = s[..., 0] * s[..., -1] + s.sum(-1) + 0.4 * rng.standard_normal((batch, neurons))
    return t, s


def _goals(n: int, seed: int) -> dict[str, np.ndarray]:
    na = lattice(n).n_atoms
    goals = {"all atoms": np.ones(na), "random": np.random.default_rng(seed).standard_normal(na)}
    if n == 2:
        goals["context heuristic"] = goal_vector({"{1}{2}": 1.0}, 2)[0]
    if n == 3:
        goals["three-source mix"] = goal_vector({"{1}{2}{3}": 1.0, "{12}": -0.5, "{123}": 0.2}, 3)[0]
    return {name: np.asarray(g, dtype=np.float64) for name, g in goals.items()}  # torch.tensor(list) is float32


# ---------------------------------------------------------------------------------------------------------------
# against the torch backend (same estimator; atoms to rounding, gradient = autograd)


@pytest.mark.parametrize(("n", "neurons", "batch"), [(2, 3, 250), (3, 2, 160)])
@pytest.mark.parametrize("normalize", [True, False])
def test_atoms_and_goal_gradient_equal_torch_autograd(n, neurons, batch, normalize):
    torch = pytest.importorskip("torch")
    from pidlearn.backends.torch import continuous_sxpid as tc

    t, s = _data(n, neurons, batch, seed=n + 10 * normalize)
    atoms = continuous_sxpid(t, s, normalize=normalize)
    ref = tc.continuous_sxpid(torch.tensor(t), torch.tensor(s), normalize=normalize).numpy()
    assert atoms.shape == (neurons, lattice(n).n_atoms) and atoms.dtype == np.float64
    np.testing.assert_allclose(atoms, ref, rtol=0, atol=1e-12)
    for name, gamma in _goals(n, seed=n).items():
        res = continuous_sxpid_goal(t, s, gamma, normalize=normalize, return_grad=True)
        tt, ss = torch.tensor(t, requires_grad=True), torch.tensor(s, requires_grad=True)
        goal = tc.continuous_sxpid_goal(tt, ss, torch.tensor(gamma), normalize=normalize)
        goal.sum().backward()
        np.testing.assert_allclose(res.goal, goal.detach().numpy(), rtol=0, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(res.goal, atoms @ gamma, rtol=0, atol=1e-12, err_msg=name)
        for mine, theirs in ((res.dtarget, tt.grad.numpy()), (res.dsources, ss.grad.numpy())):
            assert mine.shape == theirs.shape
            assert np.count_nonzero(theirs) > theirs.size // 2, name  # gradients reach the samples: not 0 = 0
            scale = np.abs(theirs).max()
            np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-8 * scale, err_msg=name)


def test_single_neuron_list_sources_and_nats_equal_torch():
    torch = pytest.importorskip("torch")
    from pidlearn.backends.torch import continuous_sxpid as tc

    t, s = _data(2, 1, 200, seed=7)
    t, s = t[:, 0], s[:, 0]  # (batch,) and (batch, 2)
    cols = [s[:, 0], s[:, 1]]
    gamma = [0.3, -1.0, 0.5, 2.0]
    res = continuous_sxpid_goal(t, cols, gamma, base=math.e, return_grad=True)
    tt = torch.tensor(t, requires_grad=True)
    ss = [torch.tensor(c, requires_grad=True) for c in cols]
    goal = tc.continuous_sxpid_goal(tt, ss, gamma, base=math.e)
    goal.backward()
    assert np.ndim(res.goal) == 0 and res.dtarget.shape == t.shape
    assert isinstance(res.dsources, list) and [d.shape for d in res.dsources] == [t.shape, t.shape]
    assert res.goal == pytest.approx(goal.item(), abs=1e-12)
    for mine, theirs in ((res.dtarget, tt.grad), *zip(res.dsources, (x.grad for x in ss), strict=True)):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=0, atol=1e-8 * float(theirs.abs().max()))
    np.testing.assert_allclose(continuous_sxpid(t, s), tc.continuous_sxpid(tt, ss).detach().numpy(), atol=1e-12)


def test_float32_atoms_close_to_torch_float32():
    torch = pytest.importorskip("torch")
    from pidlearn.backends.torch import continuous_sxpid as tc

    t, s = _data(2, 2, 300, seed=3)
    t32, s32 = t.astype(np.float32), s.astype(np.float32)
    atoms = continuous_sxpid(t32, s32)
    res = continuous_sxpid_goal(t32, s32, [1.0, 0.0, 0.0, 0.0], return_grad=True)
    assert atoms.dtype == res.goal.dtype == res.dtarget.dtype == res.dsources.dtype == np.float32
    with torch.no_grad():
        ref = tc.continuous_sxpid(torch.tensor(t32), torch.tensor(s32)).numpy()
    np.testing.assert_allclose(atoms, ref, rtol=0, atol=1e-4)  # torch standardises and takes ψ in float32
    np.testing.assert_allclose(atoms, continuous_sxpid(t, s), rtol=0, atol=2e-4)


# ---------------------------------------------------------------------------------------------------------------
# independent of torch


def test_gradient_equals_central_finite_differences():
    """Every coordinate of a tiny case: the analytic gradient against (G(x + h) − G(x − h)) / 2h."""
    rng = np.random.default_rng(4)
    s = rng.standard_normal((14, 2))
    t = s[:, 0] + s[:, 1] ** 2 + 0.3 * rng.standard_normal(14)
    gamma = rng.standard_normal(4)
    res = continuous_sxpid_goal(t, s, gamma, tau=0.1, return_grad=True)
    h = 1e-6

    def fd(x, which):
        out = np.empty(x.size)
        for i in range(x.size):
            up, down = x.copy(), x.copy()
            up.flat[i] += h
            down.flat[i] -= h
            args = [(up, s), (down, s)] if which == "t" else [(t, up), (t, down)]
            g = [continuous_sxpid_goal(a, b, gamma, tau=0.1) for a, b in args]
            out[i] = (g[0] - g[1]) / (2 * h)
        return out.reshape(x.shape)

    num_t, num_s = fd(t, "t"), fd(s, "s")
    assert np.count_nonzero(res.dtarget) == t.size
    np.testing.assert_allclose(res.dtarget, num_t, rtol=0, atol=1e-6 * np.abs(num_t).max())
    np.testing.assert_allclose(res.dsources, num_s, rtol=0, atol=1e-6 * np.abs(num_s).max())


def test_goal_equals_atoms_and_zero_goal_has_zero_gradient():
    t, s = _data(2, 2, 120, seed=5)
    gamma = np.asarray(goal_vector({"{1}{2}": 1.0, "{12}": 0.1}, 2)[0])
    atoms = continuous_sxpid(t, s)
    np.testing.assert_allclose(continuous_sxpid_goal(t, s, gamma), atoms @ gamma, rtol=0, atol=1e-12)
    res = continuous_sxpid_goal(t, s, np.zeros(4), return_grad=True)
    assert isinstance(res, ContinuousGoalGradient)
    assert not res.goal.any() and not res.dtarget.any() and not res.dsources.any()
    # nats = bits × ln 2; standardisation makes the atoms scale-free
    np.testing.assert_allclose(continuous_sxpid(t, s, base=math.e) / math.log(2), atoms, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(continuous_sxpid(3.0 * t, 0.5 * s), atoms, rtol=0, atol=1e-10)


def test_standardisation_gradient_is_scale_invariant():
    """With normalize, G(c x) = G(x): the gradient is orthogonal to x per neuron and variable, Σ_b x_b ∂G/∂x_b = 0."""
    t, s = _data(2, 2, 150, seed=6)
    res = continuous_sxpid_goal(t, s, np.ones(4), return_grad=True)
    assert np.abs(res.dtarget).max() > 1e-3 and np.abs(res.dsources).max() > 1e-3  # not 0 = 0
    scale = np.abs(res.dtarget).max() * np.abs(t).max() * len(t)
    np.testing.assert_allclose((res.dtarget * t).sum(0), 0.0, atol=1e-12 * scale)
    np.testing.assert_allclose((res.dsources * s).sum(0), 0.0, atol=1e-12 * scale)
    plain = continuous_sxpid_goal(t, s, np.ones(4), normalize=False, return_grad=True)
    assert np.abs((plain.dtarget * t).sum(0)).max() > 1e-6 * scale  # without it, not orthogonal: the check can fail


def test_repeated_samples_give_finite_values_and_gradients():
    rng = np.random.default_rng(6)
    s = np.tile(rng.standard_normal((40, 2)), (4, 1))  # every sample four times: ε = 0 at k = 3
    t = s.sum(1) + 0.1 * np.tile(rng.standard_normal(40), 4)
    res = continuous_sxpid_goal(t, s, np.ones(4), return_grad=True)
    assert np.isfinite(res.goal) and np.isfinite(res.dtarget).all() and np.isfinite(res.dsources).all()


def test_numpy_path_does_not_import_torch():
    code = (
        "import sys, numpy as np; from pidlearn.backends.numpy.continuous_sxpid import continuous_sxpid_goal; "
        "x = np.random.default_rng(0).standard_normal((30, 2)); "
        "continuous_sxpid_goal(x.sum(1), x, [1.0, 0, 0, 0], return_grad=True); "
        "continuous_sxpid_goal(x.sum(1), x, [1.0, 0, 0, 0], return_grad=True, method='binned'); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr


def test_binned_gradient_matches_central_differences():
    """``method="binned"``: the kernel's gradient through the standardisation, every coordinate of a small case,
    against central differences of the goal (float64; the torch side: tests/test_binned_sxpid.py)."""
    t, s = _data(2, 1, 14, seed=9)
    gamma = np.array([1.0, -0.5, 0.3, 0.7])
    res = continuous_sxpid_goal(t, s, gamma, return_grad=True, method="binned", bin_width=0.6)
    eps = 1e-6
    for arr, grad in ((t, res.dtarget), (s, res.dsources)):
        for idx in np.ndindex(arr.shape):
            up, down = arr.copy(), arr.copy()
            up[idx] += eps
            down[idx] -= eps
            args_up = (up, s) if arr is t else (t, up)
            args_down = (down, s) if arr is t else (t, down)
            kw = {"method": "binned", "bin_width": 0.6}
            fd = (continuous_sxpid_goal(*args_up, gamma, **kw) - continuous_sxpid_goal(*args_down, gamma, **kw)) / (
                2 * eps
            )
            assert fd.item() == pytest.approx(grad[idx], rel=1e-5, abs=1e-7)


# ---------------------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda t, s: ("abc", s), TypeError, "target must be a floating-point array"),
        (lambda t, s: (t.astype(int), s), TypeError, "floating-point"),
        (lambda t, s: (t[:, :, None], s), ValueError, "target must have shape"),
        (lambda t, s: (t, s[:10]), ValueError, "sources has shape"),
        (lambda t, s: (t, [s[..., 0], s[:5, :, 1]]), ValueError, r"sources\[1\] has shape"),
        (lambda t, s: (t, [s[..., 0], s[..., 1].astype(np.float32)]), TypeError, "share one dtype"),
        (lambda t, s: (t, []), ValueError, "sources is empty"),
        (lambda t, s: (t, np.concatenate([s, s, s], -1)), ValueError, "1 to 4 sources"),
        (lambda t, s: (t.astype(np.float32), s), TypeError, "share dtype"),
        (lambda t, s: (np.where(t > 1, np.nan, t), s), ValueError, "target contains NaN or inf"),
        (lambda t, s: (t, np.where(s > 1, np.inf, s)), ValueError, "sources contains NaN or inf"),
        (lambda t, s: (t, np.concatenate([s[..., :1], np.ones_like(s[..., :1])], -1)), ValueError, "source 2 of"),
        (lambda t, s: (np.ones_like(t), s), ValueError, "the target of neuron 0 is constant"),
        (lambda t, s: (t[:3], s[:3]), ValueError, "k = 3 nearest neighbours need"),
        (lambda t, s: (t[:, :0], s[:, :0]), ValueError, "0 neurons"),
    ],
)
def test_bad_input(make, error, match):
    rng = np.random.default_rng(0)
    t, s = rng.standard_normal((20, 2)), rng.standard_normal((20, 2, 2))
    a, b = make(t, s)
    with pytest.raises(error, match=match):
        continuous_sxpid(a, b)
    with pytest.raises(error, match=match):
        continuous_sxpid_goal(a, b, np.ones(4), return_grad=True)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"tau": 0.0}, "tau"),
        ({"tau": math.nan}, "tau"),
        ({"k": 0}, "k "),
        ({"k": 2.5}, "k "),
        ({"k": True}, "k "),
        ({"base": 1}, "base"),
        ({"base": "e"}, "base"),
        ({"normalize": "yes"}, "normalize"),
    ],
)
def test_bad_hyper_parameters(kw, match):
    rng = np.random.default_rng(0)
    t, s = rng.standard_normal((20, 2)), rng.standard_normal((20, 2, 2))
    with pytest.raises((ValueError, TypeError), match=match):
        continuous_sxpid(t, s, **kw)


@pytest.mark.parametrize(
    ("gamma", "kw", "error", "match"),
    [
        ([1.0, 0.0], {}, ValueError, "gamma must hold 4"),
        ([1.0, 0.0, math.nan, 0.0], {}, ValueError, "gamma must hold 4 finite"),
        ("context_heuristic", {}, ValueError, "gamma must hold 4"),
        ([1.0, 0.0, 0.0, 0.0], {"return_grad": 1}, TypeError, "return_grad"),
    ],
)
def test_bad_goal(gamma, kw, error, match):
    rng = np.random.default_rng(0)
    t, s = rng.standard_normal((20, 2)), rng.standard_normal((20, 2, 2))
    with pytest.raises(error, match=match):
        continuous_sxpid_goal(t, s, gamma, **kw)
