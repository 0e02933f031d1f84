"""The linear-binned continuous SxPID (``method="binned"``, issue #19): kernel against the dense soft joint, gradients,
backends, consistency with the KSG-type core estimator, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from pidlearn.backends._binned_sxpid import _log, binned_redundancies, default_bin_width  # noqa: E402
from pidlearn.backends.numpy import continuous_sxpid as np_cs  # noqa: E402
from pidlearn.backends.torch.continuous_sxpid import (  # noqa: E402
    _binned_atoms_dense,
    continuous_sxpid,
    continuous_sxpid_goal,
)
from pidlearn.continuous import sxpid  # noqa: E402
from pidlearn.lattice import lattice  # noqa: E402

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "csxpid_bivariate"


def _data(batch: int, neurons: int, n: int, seed: int, dtype=torch.float64):
    """Gaussian sources and a target with a product term, (batch, neurons) and (batch, neurons, n)."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(batch, neurons, n, generator=g, dtype=dtype)
    t = s.sum(-1) + s[..., 0] * s[..., -1] + 0.5 * torch.randn(batch, neurons, generator=g, dtype=dtype)
    return t, s


def _gaussian(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, 2))
    return s[:, 0] + 0.5 * s[:, 1] + 0.5 * rng.standard_normal(n), s


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("normalize", [True, False])
def test_kernel_equals_the_dense_soft_joint(n, normalize):
    """The numba kernel's atoms = ``sxpid_atoms`` of the explicitly built soft joint (autograd path), float64."""
    t, s = _data(200, 2, n, seed=n)
    for h in (0.4, 0.8):
        fast = continuous_sxpid(t, s, method="binned", bin_width=h, normalize=normalize, base=math.e)
        dense = _binned_atoms_dense(t, s, h, normalize)
        assert float((fast - dense).abs().max()) < 1e-12


def test_kernel_equals_a_naive_histogram():
    """One neuron, one source set by hand: the corners' weights and the plug-in MI ``I(T; S)`` of the soft joint."""
    rng = np.random.default_rng(0)
    t, s = rng.standard_normal(200), rng.standard_normal(200)
    h = 0.5
    p = {}
    for tj, sj in zip(t / h, s / h, strict=True):
        a, b = math.floor(tj), math.floor(sj)
        fa, fb = tj - a, sj - b
        for da, wa in ((0, 1 - fa), (1, fa)):
            for db, wb in ((0, 1 - fb), (1, fb)):
                p[a + da, b + db] = p.get((a + da, b + db), 0.0) + wa * wb / len(t)
    pt, ps = {}, {}
    for (a, b), v in p.items():
        pt[a] = pt.get(a, 0.0) + v
        ps[b] = ps.get(b, 0.0) + v
    mi = sum(v * math.log(v / (pt[a] * ps[b])) for (a, b), v in p.items() if v > 0)
    red, _, _ = binned_redundancies(t[None], s[None, None], h, [0])
    assert red[0, 0] == pytest.approx(mi, abs=1e-13)  # one source: the only antichain is {1}, I_sx = I(T; S)


@pytest.mark.parametrize("n", [1, 2, pytest.param(3, marks=pytest.mark.slow)])
@pytest.mark.parametrize("normalize", [True, False])
def test_gradcheck_float64(n, normalize):
    t, s = _data(16, 2, n, seed=10 + n)
    t.requires_grad_()
    s.requires_grad_()
    gamma = [1.0] + [0.5] * (lattice(n).n_atoms - 1)
    kw = {"method": "binned", "bin_width": 0.6, "normalize": normalize}
    assert torch.autograd.gradcheck(lambda a, b: continuous_sxpid(a, b, **kw), (t, s), eps=1e-7, atol=1e-6)
    assert torch.autograd.gradcheck(lambda a, b: continuous_sxpid_goal(a, b, gamma, **kw), (t, s), eps=1e-7, atol=1e-6)


def test_dense_path_gradcheck():
    """The off-CPU path (dense soft joint under autograd) is differentiable too."""
    t, s = _data(12, 1, 2, seed=3)
    t.requires_grad_()
    s.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: _binned_atoms_dense(a, b, 0.7, True), (t, s), eps=1e-7, atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("normalize", [True, False])
def test_numpy_gradient_equals_autograd_of_the_dense_joint(n, normalize):
    """NumPy's analytic gradient (kernel + chain rule) = torch autograd through the dense soft joint (independent)."""
    t, s = _data(200, 2, n, seed=20 + n)
    rng = np.random.default_rng(n)
    gamma = rng.standard_normal(lattice(n).n_atoms)
    res = np_cs.continuous_sxpid_goal(
        t.numpy(), s.numpy(), gamma, method="binned", bin_width=0.5, normalize=normalize, return_grad=True
    )
    tt, ss = t.clone().requires_grad_(), s.clone().requires_grad_()
    goal = (_binned_atoms_dense(tt, ss, 0.5, normalize) / math.log(2)) @ torch.tensor(gamma)
    goal.sum().backward()
    np.testing.assert_allclose(res.goal, goal.detach().numpy(), rtol=0, atol=1e-12)
    for mine, ref in ((res.dtarget, tt.grad), (res.dsources, ss.grad)):
        ref = ref.numpy()
        assert np.abs(mine - ref).max() <= 1e-8 * np.abs(ref).max()


def test_backends_and_goal_agree():
    t, s = _data(256, 4, 2, seed=5)
    gamma = [1.0, -0.5, 0.25, 2.0]
    atoms = continuous_sxpid(t, s, method="binned")
    np.testing.assert_allclose(np_cs.continuous_sxpid(t.numpy(), s.numpy(), method="binned"), atoms, atol=1e-12)
    goal = continuous_sxpid_goal(t, [s[..., 0], s[..., 1]], gamma, method="binned")
    np.testing.assert_allclose(goal, atoms @ torch.tensor(gamma, dtype=atoms.dtype), atol=1e-12)
    one = continuous_sxpid(t[:, 1], s[:, 1], method="binned")
    np.testing.assert_allclose(one, atoms[1], atol=1e-12)  # each neuron on its own, the shared lattice table aside


def test_float32_close_to_float64_and_threads_equal():
    t, s = _data(512, 3, 2, seed=6)
    ref = continuous_sxpid(t, s, method="binned")
    low = continuous_sxpid(t.float(), s.float(), method="binned")
    assert low.dtype == torch.float32
    np.testing.assert_allclose(low.numpy(), ref.numpy(), atol=2e-5)
    x = np.concatenate([t.T.numpy()[:, None], s.permute(1, 2, 0).numpy()], axis=1)
    one = binned_redundancies(x[:, 0], x[:, 1:], 0.4, range(4), np.ones(4), threads=1)
    two = binned_redundancies(x[:, 0], x[:, 1:], 0.4, range(4), np.ones(4), threads=2)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_samples_on_the_lattice_give_finite_gradients():
    """ReLU-like outputs (many exact zeros, on the lattice): finite atoms and gradients."""
    t, s = _data(256, 2, 2, seed=7)
    t = torch.relu(t).requires_grad_()
    goal = continuous_sxpid_goal(t, s, [1.0, 0.0, 0.0, 0.0], method="binned")
    goal.sum().backward()
    assert torch.isfinite(goal).all() and torch.isfinite(t.grad).all()


def test_default_bin_width_rule():
    assert default_bin_width(1024, 2) == pytest.approx(2 * 1024 ** (-1 / 4))
    t, s = _data(400, 1, 2, seed=8)
    a = continuous_sxpid(t, s, method="binned")
    b = continuous_sxpid(t, s, method="binned", bin_width=default_bin_width(400, 2))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_gaussian_agreement_with_the_core_shrinks_with_n():
    """Binned atoms against ``pidlearn.continuous.sxpid`` (KSG-type) on the same Gaussian data, at two sizes (the
    guide's table: mean |binned − KSG| 0.053 bits at N = 500, 0.038 at N = 4000)."""
    gap = {}
    for n, seeds in ((500, range(4)), (4000, range(1))):
        diffs = []
        for seed in seeds:
            t, s = _gaussian(n, seed)
            ksg = sxpid(t, [s[:, 0], s[:, 1]], workers=1).values
            diffs.append(np.abs(np_cs.continuous_sxpid(t, s, method="binned") - ksg))
        gap[n] = np.mean(diffs, axis=0)
        assert gap[n].max() < 0.12, (n, gap[n])  # KSG's own spread over seeds is ~0.03-0.09 bits at N = 500
    assert gap[4000].mean() < gap[500].mean(), gap


def test_reference_data():
    """The authors' 80 samples: too few for a lattice (h = 0.67 standard deviations), the binned redundancy is biased
    low (1.01 bits against 1.49 with ``normalize=True``; the guide discusses it); pinned here so a change shows."""
    if not REF.with_suffix(".npz").exists():
        pytest.skip(f"reference data not found at {REF}.npz (../shared beside the clone)")
    data = np.load(REF.with_suffix(".npz"), allow_pickle=False)
    expected = json.loads(REF.with_suffix(".json").read_text())["redundancy_{1}{2}"]
    t, s = data["t"], np.column_stack([data["s1"], data["s2"]])
    atoms = np_cs.continuous_sxpid(t, s, method="binned")
    assert atoms[0] == pytest.approx(1.0092, abs=1e-3)
    assert expected - 0.6 < atoms[0] < expected


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"method": "kde"}, ValueError, "method must be 'knn'"),
        ({"method": None}, ValueError, "method must be 'knn'"),
        ({"method": "binned", "bin_width": 0.0}, ValueError, "bin_width must be a finite positive"),
        ({"method": "binned", "bin_width": -1}, ValueError, "bin_width must be a finite positive"),
        ({"method": "binned", "bin_width": math.nan}, ValueError, "bin_width must be a finite positive"),
        ({"method": "binned", "bin_width": math.inf}, ValueError, "bin_width must be a finite positive"),
        ({"method": "binned", "bin_width": "0.5"}, ValueError, "bin_width must be a finite positive"),
        ({"method": "binned", "bin_width": True}, ValueError, "bin_width must be a finite positive"),
        ({"bin_width": 0.5}, ValueError, "bin_width is a setting of method='binned'"),
        ({"method": "binned", "bin_width": 1e-7}, ValueError, "bin_width"),
    ],
)
@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_bad_settings(kw, error, match, backend):
    t, s = _data(64, 2, 3, seed=9)
    with pytest.raises(error, match=match):
        if backend == "torch":
            continuous_sxpid(t, s, **kw)
        else:
            np_cs.continuous_sxpid_goal(t.numpy(), s.numpy(), np.ones(18), **kw)


def test_bad_input_same_messages_as_knn():
    t, s = _data(20, 2, 2, seed=11)
    s[:, 1, 0] = 1.0
    with pytest.raises(ValueError, match="source 1 of neuron 1 is constant"):
        continuous_sxpid(t, s, method="binned")
    with pytest.raises(ValueError, match="NaN or inf"):
        continuous_sxpid(t.masked_fill(t > 1, math.nan), s, method="binned")
    t, s = _data(20, 2, 2, seed=12)
    with pytest.raises(ValueError, match="gamma must hold 4"):
        continuous_sxpid_goal(t, s, [1.0], method="binned")


def test_gradient_of_one_input_only():
    """With only the target (or only the sources) requiring a gradient, that gradient is the same as with both, and
    the kernel leaves the other out (``need_grad``)."""
    t, s = _data(300, 3, 2, seed=11)
    gamma = [1.0, -0.5, 0.25, 2.0]
    t_both, s_both = t.clone().requires_grad_(), s.clone().requires_grad_()
    continuous_sxpid_goal(t_both, s_both, gamma, method="binned").sum().backward()
    t_one = t.clone().requires_grad_()
    continuous_sxpid_goal(t_one, s, gamma, method="binned").sum().backward()
    s_one = s.clone().requires_grad_()
    continuous_sxpid_goal(t, s_one, gamma, method="binned").sum().backward()
    np.testing.assert_allclose(t_one.grad, t_both.grad, rtol=0, atol=1e-14)
    np.testing.assert_allclose(s_one.grad, s_both.grad, rtol=0, atol=1e-14)
    x_t, x_s = t.T.numpy().copy(), s.permute(1, 2, 0).numpy().copy()
    full = binned_redundancies(x_t, x_s, 0.4, range(4), np.ones(4), normalize=True)
    only_t = binned_redundancies(x_t, x_s, 0.4, range(4), np.ones(4), normalize=True, need_grad=(True, False))
    only_s = binned_redundancies(x_t, x_s, 0.4, range(4), np.ones(4), normalize=True, need_grad=(False, True))
    assert only_t[2] is None and only_s[1] is None
    np.testing.assert_array_equal(only_t[1], full[1])
    np.testing.assert_array_equal(only_s[2], full[2])
    np.testing.assert_array_equal(only_t[0], full[0])


def test_calls_of_other_shapes_and_data_in_between_change_nothing():
    """The kernel keeps its standardised copy of the samples between calls: results do not depend on earlier calls
    (same shape with other data, another shape, float32 views of a (batch, neurons) layout)."""
    t, s = _data(256, 3, 2, seed=12)
    x_t, x_s = t.T.numpy().copy(), s.permute(1, 2, 0).numpy().copy()
    first = binned_redundancies(x_t, x_s, 0.4, range(4), np.ones(4), normalize=True)
    for batch, neurons, seed in ((256, 3, 13), (100, 2, 14)):  # same shape, other data; another shape
        t2, s2 = _data(batch, neurons, 2, seed=seed)
        binned_redundancies(t2.T.numpy().copy(), s2.permute(1, 2, 0).numpy().copy(), 0.4, range(4), np.ones(4), 1, True)
    again = binned_redundancies(x_t, x_s, 0.4, range(4), np.ones(4), normalize=True)
    views = binned_redundancies(t.T.numpy(), s.permute(1, 2, 0).numpy(), 0.4, range(4), np.ones(4), normalize=True)
    for a, b, c in zip(first, again, views, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_listed_sources_are_read_in_place_with_a_gradient_each():
    """Sources given as a list of (batch, neurons) tensors (as the continuous layer passes its drives) give the atoms,
    goal and gradients of the stacked tensor; a source without ``requires_grad`` gets none, and columns of mixed
    layouts and dtypes reach the kernel (copied to one type) with the same result."""
    t, s = _data(300, 3, 2, seed=15)
    gamma = [1.0, -0.5, 0.25, 2.0]
    t_a, s_a = t.clone().requires_grad_(), s.clone().requires_grad_()
    stacked = continuous_sxpid_goal(t_a, s_a, gamma, method="binned")
    stacked.sum().backward()
    t_b = t.clone().requires_grad_()
    cols = [s[..., 0].clone().requires_grad_(), s[..., 1].clone()]
    listed = continuous_sxpid_goal(t_b, cols, gamma, method="binned")
    listed.sum().backward()
    np.testing.assert_array_equal(listed.detach(), stacked.detach())
    np.testing.assert_array_equal(t_b.grad, t_a.grad)
    np.testing.assert_array_equal(cols[0].grad, s_a.grad[..., 0])
    assert cols[1].grad is None
    atoms = continuous_sxpid(t, [s[..., 0], s[..., 1]], method="binned")
    np.testing.assert_array_equal(atoms, continuous_sxpid(t, s, method="binned"))
    x_t, x_s = t.T.numpy().copy(), s.permute(1, 2, 0).numpy().copy()
    low = x_s[:, 1].astype(np.float32)
    mixed = [np.asfortranarray(x_s[:, 0]), low]  # float64 'F' and float32 'C'
    same = np.stack([x_s[:, 0], low.astype(np.float64)], axis=1)
    np.testing.assert_array_equal(
        binned_redundancies(x_t, mixed, 0.4, range(4))[0], binned_redundancies(x_t, same, 0.4, range(4))[0]
    )


def test_kernel_finds_bad_values_of_listed_sources_with_the_input_checks_messages():
    """On the CPU the binned path leaves NaN, inf and constant variables to the kernel's first pass: same messages as
    the other estimators' checks, for listed and stacked sources; values too large to add up are named as such, and a
    constant variable is allowed without standardisation."""
    t, s = _data(64, 3, 2, seed=16)
    cols = [s[..., 0].clone(), s[..., 1].clone()]
    cols[1][5, 2] = math.inf
    with pytest.raises(ValueError, match="sources contains NaN or inf"):
        continuous_sxpid_goal(t, cols, [1.0, 0, 0, 0], method="binned")
    bad_t = t.clone()
    bad_t[0, 0] = math.nan
    with pytest.raises(ValueError, match="target contains NaN or inf"):
        continuous_sxpid(bad_t, cols, method="binned")  # the target is named first, as by the other checks
    cols = [s[..., 0].clone(), s[..., 1].clone()]
    cols[0][:, 2] = 3.0
    with pytest.raises(ValueError, match="source 1 of neuron 2 is constant"):
        continuous_sxpid(t, cols, method="binned")
    assert torch.isfinite(continuous_sxpid(t, cols, method="binned", normalize=False, bin_width=0.5)).all()
    huge = s.clone()
    huge[:, 1, 0] = 1e308
    huge[0, 1, 0] = -1e308
    with pytest.raises(ValueError, match="too large to add up"):
        continuous_sxpid(t, huge, method="binned")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=5e-324, max_value=1.7e308, allow_nan=False), min_size=1, max_size=40))
def test_vectorised_log_within_2_ulp_of_the_c_library(values):
    """The kernel's vectorised log (exponent from the bits, atanh series) is within 2 ulp of ``np.log`` over every
    positive double, subnormals and exact powers of 2 included (``ln 1 = 0`` exactly)."""
    x = np.array([*values, 1.0, 2.0, 0.5, math.sqrt(2.0), 5e-324])
    out = np.empty_like(x)
    _log(x, np.empty_like(x), out)
    ref = np.log(x)
    np.testing.assert_array_less(np.abs(out - ref), 2.0001 * np.spacing(np.abs(ref)) + 1e-320)
    assert out[len(values)] == 0.0
