"""The NumPy backend's training-step shortcuts give the numbers of the plain expressions they replace, bit for bit.

Each shortcut (tiled transpose of the goal gradient, lateral passes without derivatives, a zero lateral input as the
bias alone, the sampling, Adam in place) is checked against the straightforward NumPy expression on random inputs,
float32 and float64, so that a change in either is caught here rather than as drift in a trained network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pidlearn.backends.numpy import activations as act
from pidlearn.backends.numpy._step_kernels import transpose_add
from pidlearn.backends.numpy.neurons import InfomorphicLayer
from pidlearn.backends.numpy.train import Adam

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 17), (10, 16), (100, 1024), (7, 33)])
def test_transpose_add_equals_numpy(shape, dtype):
    rng = np.random.default_rng(0)
    a = rng.normal(size=shape).astype(dtype)
    v = rng.normal(size=shape[0]).astype(dtype)
    got = transpose_add(a, v)
    assert got.dtype == dtype and got.shape == shape[::-1] and got.flags.c_contiguous
    np.testing.assert_array_equal(got, a.T + v)


def test_transpose_add_takes_a_strided_input():
    a = np.random.default_rng(1).normal(size=(12, 40))[::2, ::3]
    v = np.arange(6.0)
    np.testing.assert_array_equal(transpose_add(a, v), a.T + v)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_value_alone_equals_the_value_with_derivatives(name, dtype):
    """The derivative-free pass (lateral layers' earlier steps) gives the same A and θ as the full one."""
    fn, n_inputs = act.ACTIVATIONS[name]
    rng = np.random.default_rng(2)
    inputs = [(rng.normal(size=(64, 5)) * 6).astype(dtype) for _ in range(n_inputs)]
    a, _ = fn(*inputs)
    np.testing.assert_array_equal(act.VALUES[name](*inputs), a)
    a[0, :3] = [-40.0, 40.0, 0.0]  # both clamps and the middle
    theta, _ = act.firing_probability(a)
    np.testing.assert_array_equal(act.firing_probability(a, grad=False), theta)


def _layer(dtype, **kw):
    return InfomorphicLayer(9, 4, 6, goal="trivariate_optimised", lateral=True, seed=3, dtype=dtype, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("binning", ["fixed", "adaptive"])
def test_absent_lateral_input_equals_zeros(dtype, binning):
    """No ``x_lateral``: ``l = b_L`` without the product with zeros; θ, samples, goal, gradients as with zeros."""
    rng = np.random.default_rng(4)
    x_r, x_c = rng.normal(size=(50, 9)) * 3, rng.normal(size=(50, 4))
    layer = _layer(dtype, binning=binning)
    for steps in (1, 2):
        got = layer.local_update(x_r, x_c, rng=np.random.default_rng(5), steps=steps)
        ref = layer.local_update(x_r, x_c, np.zeros((50, 6)), rng=np.random.default_rng(5), steps=steps)
        for name in ("theta", "y", "goal", "atoms"):
            np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
        assert set(got.grads) == set(ref.grads)
        for k in ref.grads:
            np.testing.assert_array_equal(got.grads[k], ref.grads[k], err_msg=k)
        if steps == 1:  # the pass that counts had a zero lateral input: no lateral weight change
            assert not got.grads["lateral_map.weight"].any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_two_passes_equal_the_passes_written_out(dtype):
    """``steps=2`` = one pass drawing lateral samples from ``U < θ`` (float64 uniforms), then the pass that counts."""
    rng = np.random.default_rng(6)
    x_r, x_c = rng.normal(size=(40, 9)) * 3, rng.normal(size=(40, 4))
    x_l = np.where(rng.random((40, 6)) < 0.5, 1.0, -1.0)
    layer = _layer(dtype)
    theta, y = layer.forward(x_r, x_c, x_l, rng=np.random.default_rng(7), steps=2)

    p = layer.params
    w_l = p["lateral_map.weight"].copy()
    np.fill_diagonal(w_l, 0.0)
    xr, xc, xl = (v.astype(dtype) for v in (x_r, x_c, x_l))
    r = xr @ p["receptive.weight"].T + p["receptive.bias"]
    c = xc @ p["context.weight"].T + p["context.bias"]
    draws = np.random.default_rng(7)
    for _ in range(2):
        a, _ = act.trivariate(r, c, xl @ w_l.T + p["lateral_map.bias"])
        ref_theta, _ = act.firing_probability(a)
        xl = np.where(draws.random(ref_theta.shape) < ref_theta, 1.0, -1.0).astype(dtype)
    np.testing.assert_array_equal(theta, ref_theta)
    np.testing.assert_array_equal(y, xl)
    assert y.dtype == dtype and set(np.unique(y)) <= {-1.0, 1.0}


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_in_place_equals_the_textbook_expression(dtype):
    rng = np.random.default_rng(8)
    p0 = rng.normal(size=(5, 7)).astype(dtype)
    params = {"w": p0.copy()}
    opt = Adam(params, lr=3e-3, weight_decay=1.5e-4)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t in range(1, 6):
        g = rng.normal(size=p0.shape).astype(dtype)
        opt.step({"w": g})
        g = g + 1.5e-4 * p
        m = 0.9 * m + (1.0 - 0.9) * g
        v = 0.999 * v + (1.0 - 0.999) * g * g
        p = p - (3e-3 / (1.0 - 0.9**t)) * m / (np.sqrt(v) / math.sqrt(1.0 - 0.999**t) + 1e-8)
    assert params["w"].dtype == dtype
    np.testing.assert_array_equal(params["w"], p)
