"""The NumPy backend's fast grid layers against obviously-correct references: the numba max-pool kernels against a
loop over windows, and Conv2d / ReLU / MaxPool2d (forward, parameter and input gradients) against torch autograd."""

from __future__ import annotations

import numpy as np
import pytest

from pidlearn.backends.numpy import nn
from pidlearn.backends.numpy._conv_kernels import max_pool_backward, max_pool_forward


def _naive_pool(x, s):
    """Maxima and flat in-plane indices by a plain loop, with torch's rule: larger or NaN replaces."""
    n, c, h, w = x.shape
    out = np.empty((n, c, h // s, w // s), x.dtype)
    arg = np.empty(out.shape, np.int64)
    for a, b, i, j in np.ndindex(out.shape):
        best, where = x[a, b, i * s, j * s], (i * s) * w + j * s
        for di in range(s):
            for dj in range(s):
                v = x[a, b, i * s + di, j * s + dj]
                if v > best or np.isnan(v):
                    best, where = v, (i * s + di) * w + j * s + dj
        out[a, b, i, j], arg[a, b, i, j] = best, where
    return out, arg


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("shape", "s"), [((3, 2, 8, 8), 2), ((2, 3, 7, 9), 2), ((2, 2, 9, 10), 3)])
def test_max_pool_kernels_equal_naive_loop(shape, s, dtype):
    rng = np.random.default_rng(sum(shape) + s)
    x = np.maximum(rng.normal(size=shape), 0).astype(dtype)  # ReLU output: many tied zero windows
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 5.0  # a tie between two maxima: the first (row-major) wins
    out = np.empty((shape[0], shape[1], shape[2] // s, shape[3] // s), dtype)
    arg = np.empty(out.shape, np.int32)
    for nan in (False, True):  # without NaN in x both scans must agree
        max_pool_forward(x, s, nan, out, arg)
        ref_out, ref_arg = _naive_pool(x, s)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(arg, ref_arg)
    assert arg[0, 0, 0, 0] == 1
    g = rng.normal(size=out.shape).astype(dtype)
    dx = np.zeros((shape[0], shape[1], shape[2] * shape[3]), dtype)
    max_pool_backward(g, arg, dx)
    ref = np.zeros_like(dx)
    for a, b, i, j in np.ndindex(g.shape):
        ref[a, b, ref_arg[a, b, i, j]] += g[a, b, i, j]
    np.testing.assert_array_equal(dx, ref)


def test_max_pool_nan_windows_give_nan():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float64).reshape(2, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan  # last cell of window (0, 0)
    x[1, 0, 2, 2] = np.nan  # first cell of window (1, 1)
    out = nn.MaxPool2d(2).forward(x)
    ref_out, _ = _naive_pool(x, 2)
    np.testing.assert_array_equal(out, ref_out)
    assert np.isnan(out[0, 0, 0, 0]) and np.isnan(out[1, 0, 1, 1])
    assert np.isfinite(np.delete(out.ravel(), [0, 7])).all()


def _torch_pair(n, c_in, c_out, k, p, hw, rng, dtype):
    torch = pytest.importorskip("torch")
    tmod = torch.nn.Sequential(torch.nn.Conv2d(c_in, c_out, k, padding=p), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    tmod = tmod.to(torch.float64 if dtype == np.float64 else torch.float32)
    nmod = nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=p, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2))
    nmod.load_state_dict({key: v.detach().numpy() for key, v in tmod.state_dict().items()})
    x = rng.normal(size=(n, c_in, *hw)).astype(dtype)
    return torch, tmod, nmod, x


@pytest.mark.parametrize(
    ("dtype", "tol"),
    [(np.float64, 1e-12), (np.float32, 1e-5)],  # relative to the largest |value|
)
@pytest.mark.parametrize(("c_in", "c_out", "k", "p", "hw"), [(1, 4, 5, 2, (12, 12)), (3, 5, 3, 0, (9, 11))])
def test_conv_relu_pool_forward_and_gradients_equal_torch(c_in, c_out, k, p, hw, dtype, tol):
    rng = np.random.default_rng(c_in * 100 + k)
    torch, tmod, nmod, x = _torch_pair(6, c_in, c_out, k, p, hw, rng, dtype)
    tx = torch.tensor(x, requires_grad=True)
    tout = tmod(tx)
    g = rng.normal(size=tuple(tout.shape)).astype(dtype)
    tout.backward(torch.tensor(g))
    out = nmod.forward(x)
    gx = nmod.backward(g, need_input=True)

    def rel(a, b):
        b = b.detach().numpy()
        return np.max(np.abs(a - b)) / np.max(np.abs(b))

    assert out.dtype == dtype and gx.dtype == dtype
    assert rel(out, tout) < tol
    assert rel(gx, tx.grad) < tol
    for key, v in tmod.named_parameters():
        assert nmod.grads[key].dtype == dtype, key  # no silent float64 upcast in float32
        assert nmod.grads[key].shape == tuple(v.shape)
        assert rel(nmod.grads[key], v.grad) < tol, key


def test_relu_keeps_nan_and_zero_gradient_at_zero():
    torch = pytest.importorskip("torch")
    x = np.array([[-1.0, 0.0, 2.0, np.nan]], dtype=np.float32)
    relu = nn.ReLU()
    out = relu.forward(x)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.relu(tx)
    tout.backward(torch.ones_like(tout))
    np.testing.assert_array_equal(out, tout.detach().numpy())
    assert out.dtype == np.float32
    np.testing.assert_array_equal(relu.backward(np.ones_like(x))[0, :3], tx.grad.numpy()[0, :3])


@pytest.mark.parametrize(
    ("layer", "shape", "match"),
    [
        (nn.Conv2d(2, 3, 3), (4, 3, 8, 8), "2 channels"),
        (nn.Conv2d(1, 3, 3), (4, 8, 8), "1 channels"),
        (nn.Conv2d(1, 3, 5), (4, 1, 3, 3), "larger than the padded input"),
        (nn.MaxPool2d(2), (4, 1, 1, 5), "height >= 2"),
        (nn.MaxPool2d(2), (4, 5), "expects"),
    ],
)
def test_grid_layers_reject_bad_shapes(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer.forward(np.zeros(shape, np.float32))


def test_conv_input_dtypes_follow_numpy_promotion():
    """uint8 images give the float32 result of the same pixels as floats; float64 input a float64 result."""
    rng = np.random.default_rng(7)
    conv = nn.Conv2d(1, 2, 3, padding=1, seed=0)
    img = rng.integers(0, 256, (3, 1, 5, 5)).astype(np.uint8)
    ref = conv.forward(img.astype(np.float32))
    out = conv.forward(img)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref)
    out64 = conv.forward(img.astype(np.float64))
    assert out64.dtype == np.float64
    np.testing.assert_allclose(out64, ref, rtol=1e-5, atol=1e-4)
