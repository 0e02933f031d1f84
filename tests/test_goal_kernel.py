"""The fused CPU goal kernel (``backends/_goal_kernels``) against the pure-torch path and the numba core.

Every comparison runs both paths of :mod:`pidlearn.backends.torch.functional` through the ``goal_path`` fixture,
which flips ``_FUSED_CPU_GOAL`` (restored afterwards) and checks that the kernel really ran on the fused path and
did not run on the torch path, so no test compares a path with itself.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pidlearn  # noqa: E402
from pidlearn import discrete  # noqa: E402
from pidlearn.backends import _goal_kernels  # noqa: E402
from pidlearn.backends._settings import NON_FINITE_DRIVES  # noqa: E402
from pidlearn.backends.torch import functional as F  # noqa: E402
from pidlearn.backends.torch.binning import adaptive_bins, fixed_bins  # noqa: E402
from pidlearn.backends.torch.layers import InfomorphicLayer  # noqa: E402
from pidlearn.lattice import lattice  # noqa: E402

torch.set_num_threads(1)  # the tests run beside other work on 2 shared cores

#: Bins per source, unequal, for 1 to 4 sources.
N_BINS = {1: (5,), 2: (4, 3), 3: (3, 2, 5), 4: (2, 3, 2, 4)}
#: Batches: binned drives (adaptive, fixed) and constructed cell patterns (see :func:`_bins`).
KINDS = ("adaptive", "fixed", "uniform", "distinct", "grid", "few", "single", "sparse", "mixed")
F32 = torch.finfo(torch.float32).eps


class _GoalPath:
    """``run(fused, fn, *args)``: ``fn(*args)`` on the chosen path, asserting that the kernel ran exactly when fused."""

    def __init__(self, monkeypatch):
        self._mp = monkeypatch
        self.calls = 0
        kernel = F.redundancies

        def counted(*args, **kwargs):
            self.calls += 1
            return kernel(*args, **kwargs)

        monkeypatch.setattr(F, "redundancies", counted)

    def use(self, fused: bool) -> None:
        self._mp.setattr(F, "_FUSED_CPU_GOAL", fused)

    def run(self, fused: bool, fn, *args):
        self.use(fused)
        before = self.calls
        out = fn(*args)
        assert (self.calls > before) == fused, f"fused={fused} but the kernel ran {self.calls - before} time(s)"
        return out


@pytest.fixture
def goal_path(monkeypatch):
    """Flip ``functional._FUSED_CPU_GOAL`` per call; monkeypatch restores it (and the kernel) after the test."""
    saved = F._FUSED_CPU_GOAL
    yield _GoalPath(monkeypatch)
    monkeypatch.undo()
    assert saved == F._FUSED_CPU_GOAL and F.redundancies.__module__.endswith("_goal_kernels")


# ------------------------------------------------------------------------------------------------------ inputs
def _cells_to_bins(flat: torch.Tensor, n_bins) -> torch.Tensor:
    """Row-major flat cell indices (batch, neurons) -> bins (batch, neurons, n)."""
    cols = []
    for k in reversed(n_bins):
        cols.append(flat % k)
        flat = flat // k
    return torch.stack(cols[::-1], dim=-1)


def _bins(kind: str, n_bins, batch: int, neurons: int, g: torch.Generator) -> torch.Tensor:
    """Bin indices (batch, neurons, n) int64 of one kind of batch.

    adaptive / fixed: Gaussian drives binned as the layer does (fixed on [−20, 20]: the few middle bins);
    uniform: independent uniform bins (many cells); distinct: every sample its own cell (``batch`` cells, the
    kernel's worst case); grid: every cell of the grid occupied equally; few: two cells per neuron; single: one
    cell per neuron; sparse: the two end bins of every source plus a few single samples elsewhere (most bins empty);
    mixed: the kinds above on different neurons of one call (the kernel's scratch tables go from neuron to neuron).
    """
    n = len(n_bins)
    size = math.prod(n_bins)
    if kind in ("adaptive", "fixed"):
        x = torch.randn(batch, neurons, n, generator=g, dtype=torch.float64) * 4.0
        cols = [
            adaptive_bins(x[..., i], k) if kind == "adaptive" else fixed_bins(x[..., i], k, -20.0, 20.0)
            for i, k in enumerate(n_bins)
        ]
        return torch.stack(cols, dim=-1)
    if kind == "uniform":
        return torch.stack([torch.randint(k, (batch, neurons), generator=g) for k in n_bins], dim=-1)
    if kind == "distinct":
        assert batch <= size
        flat = torch.stack([torch.randperm(size, generator=g)[:batch] for _ in range(neurons)], dim=1)
        return _cells_to_bins(flat, n_bins)
    if kind == "grid":
        flat = torch.stack([torch.randperm(batch, generator=g) % size for _ in range(neurons)], dim=1)
        return _cells_to_bins(flat, n_bins)
    if kind == "few":
        pair = torch.randint(size, (2, neurons), generator=g)
        pick = torch.randint(2, (batch, neurons), generator=g)
        return _cells_to_bins(torch.where(pick == 0, pair[0], pair[1]), n_bins)
    if kind == "single":
        return _cells_to_bins(torch.randint(size, (1, neurons), generator=g).expand(batch, neurons), n_bins)
    if kind == "sparse":
        ends = torch.stack([torch.randint(2, (batch, neurons), generator=g) * (k - 1) for k in n_bins], dim=-1)
        ends[:3] = torch.stack([torch.randint(k, (3, neurons), generator=g) for k in n_bins], dim=-1)
        return ends
    assert kind == "mixed"
    kinds = ("distinct", "single", "uniform", "few", "grid", "single", "sparse")
    return torch.cat([_bins(k, n_bins, batch, 1, g) for k in kinds[:neurons]], dim=1)


def _case(n: int, kind: str, dtype=torch.float64, neurons: int = 7, seed: int = 0):
    """θ (batch, neurons), bins, n_bins, γ over every atom and γ_res, seeded."""
    g = torch.Generator().manual_seed(1000 * n + KINDS.index(kind) + seed)
    n_bins = N_BINS[n]
    size = math.prod(n_bins)
    batch = {"distinct": min(size, 40), "grid": 2 * size}.get(kind, 64)
    if kind == "mixed":
        batch = size  # distinct needs batch <= size, grid = one sample per cell
    bins = _bins(kind, n_bins, batch, neurons, g)
    theta = (0.02 + 0.96 * torch.rand(batch, neurons, generator=g, dtype=torch.float64)).to(dtype)
    gamma = tuple((torch.rand(lattice(n).n_atoms, generator=g, dtype=torch.float64) * 2 - 1).tolist())
    return theta, bins, n_bins, gamma, 0.3


def _goal_and_grad(theta, bins, n_bins, gamma, gamma_res, v):
    """The goal (N,) and the vector–Jacobian product ``vᵀ ∂G/∂θ`` (batch, N)."""
    t = theta.detach().clone().requires_grad_(True)
    goal = F.sample_sxpid_goal(t, bins, n_bins, gamma, gamma_res)
    (grad,) = torch.autograd.grad(goal, t, v)
    return goal.detach(), grad


def _atoms(theta, bins, n_bins):
    with torch.no_grad():
        return F.sample_sxpid_atoms(theta, bins, n_bins)


def _both(goal_path, theta, bins, n_bins, gamma, gamma_res):
    v = torch.linspace(-1.0, 2.0, theta.shape[1], dtype=theta.dtype)  # a weighted backward, not only ones
    out = {}
    for fused in (True, False):
        goal, grad = goal_path.run(fused, _goal_and_grad, theta, bins, n_bins, gamma, gamma_res, v)
        pid = goal_path.run(fused, _atoms, theta, bins, n_bins)
        out[fused] = goal, grad, pid.atoms, pid.residual_entropy
    return out


# ------------------------------------------------------------------------------------------- kernel == torch
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_kernel_equals_torch_path_float64(goal_path, n, kind):
    theta, bins, n_bins, gamma, gamma_res = _case(n, kind)
    out = _both(goal_path, theta, bins, n_bins, gamma, gamma_res)
    for name, fused, plain in zip(("goal", "gradient", "atoms", "H_res"), out[True], out[False], strict=True):
        assert fused.dtype == plain.dtype == torch.float64, name
        assert fused.shape == plain.shape, name
        assert torch.isfinite(fused).all(), name
        scale = max(1.0, float(plain.abs().max()))
        err = float((fused - plain).abs().max())
        assert err <= 1e-12 * scale, f"{name}: kernel and torch path differ by {err:.3g}"
    # the goal is the γ-weighted atoms plus γ_res H_res (one more independent route through the kernel)
    goal, _, atoms, h_res = out[True]
    torch.testing.assert_close(goal, atoms @ torch.tensor(gamma, dtype=torch.float64) + 0.3 * h_res, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["adaptive", "fixed", "uniform", "distinct", "single", "mixed"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_kernel_equals_torch_path_float32(goal_path, n, kind):
    theta, bins, n_bins, gamma, gamma_res = _case(n, kind)
    ref = _both(goal_path, theta, bins, n_bins, gamma, gamma_res)[False]  # float64 truth
    out = _both(goal_path, theta.float(), bins, n_bins, gamma, gamma_res)
    batch = theta.shape[0]
    w = float(np.abs(gamma).sum()) + 0.3
    # the goal sums O(batch) terms of size w·O(ln batch), each rounded at float32; a sample's gradient is 1/batch
    # of such terms. Measured worst over these cases, in units of eps·w·ln B (goal), eps·w·ln B / B (gradient) and
    # eps (atoms, H_res): 2.1, 5.9, 26, 8.9 on the torch path, 0.6, 3.9, 9.6, 2.6 on the kernel.
    goal_tol = 8 * F32 * w * math.log(batch)
    tols = {"goal": goal_tol, "gradient": 2 * goal_tol / batch, "atoms": 64 * F32, "H_res": 64 * F32}
    for fused in (True, False):
        for name, got, want in zip(tols, out[fused], ref, strict=True):
            assert got.dtype == torch.float32, name
            err = float((got.double() - want).abs().max())
            assert err <= tols[name], f"{name} (fused={fused}) off the float64 value by {err:.3g} > {tols[name]:.3g}"


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_kernel_equals_torch_path_saturated(goal_path, n):
    """θ at the layer's clamp (1e−6, 1 − 1e−6), a neuron that always fires and one that never does: P(T = 0) or
    P(T = 1) is ~1e−6 and the gradient's ln P(1) − ln P(0) must not lose digits (it did while P(T = 0) was 1 − P(1))."""
    theta, bins, n_bins, gamma, gamma_res = _case(n, "uniform", neurons=5)
    g = torch.Generator().manual_seed(3)
    low = torch.full(theta.shape, 1e-6, dtype=torch.float64)
    theta = torch.where(torch.rand(theta.shape, generator=g, dtype=torch.float64) < 0.5, low, 1 - low)
    theta[:, 0], theta[:, 1] = 1 - 1e-6, 1e-6
    theta[0, 2] = 0.5
    out = _both(goal_path, theta, bins, n_bins, gamma, gamma_res)
    for name, fused, plain in zip(("goal", "gradient", "atoms", "H_res"), out[True], out[False], strict=True):
        assert torch.isfinite(fused).all(), name
        err = (fused - plain).abs().amax(0) if name == "gradient" else (fused - plain).abs()
        scale = plain.abs().amax(0) if name == "gradient" else torch.ones_like(plain)
        assert bool((err <= 1e-12 * scale).all()), f"{name}: relative error {float((err / scale).max()):.3g}"


# ----------------------------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_gradcheck_through_kernel(goal_path, n):
    theta, bins, n_bins, gamma, gamma_res = _case(n, "uniform", neurons=3)
    theta, bins = theta[:24].clone().requires_grad_(True), bins[:24]

    def goal(t):
        return F.sample_sxpid_goal(t, bins, n_bins, gamma, gamma_res)

    def check():
        return torch.autograd.gradcheck(goal, (theta,), eps=1e-6, atol=1e-7, rtol=1e-5)

    assert goal_path.run(True, check)


# ------------------------------------------------------------------------------------------------- threads
def _thread_case():
    """14 neurons of every kind (an uneven split over 2 threads) and 40 adaptive neurons of a batch of 256."""
    theta, bins, n_bins, gamma, gamma_res = _case(3, "mixed")
    small = (torch.cat([theta, theta.flip(1)], dim=1), torch.cat([bins, bins.flip(1)], dim=1), n_bins, gamma, gamma_res)
    g = torch.Generator().manual_seed(5)
    n_bins = (20, 20)
    x = torch.randn(256, 40, 2, generator=g, dtype=torch.float64)
    bins = torch.stack([adaptive_bins(x[..., i], k) for i, k in enumerate(n_bins)], dim=-1)
    theta = 0.02 + 0.96 * torch.rand(256, 40, generator=g, dtype=torch.float64)
    return small, (theta, bins, n_bins, (0.04, 0.32, 0.78, 0.15), 0.0076)


def test_two_threads_equal_one_bit_for_bit(goal_path):
    """Goal and gradient bit for bit; the kernel's redundancies too. The atoms add torch's Möbius matmul
    (``red @ M.T``), whose BLAS blocking changes with the thread count: they agree to 1e-15, not bit for bit."""
    saved = torch.get_num_threads()
    runs = {1: [], 2: []}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            assert torch.get_num_threads() == threads
            for theta, bins, n_bins, gamma, gamma_res in _thread_case():
                for dtype in (torch.float64, torch.float32):
                    t = theta.to(dtype)
                    v = torch.ones(t.shape[1], dtype=dtype)
                    goal, grad = goal_path.run(True, _goal_and_grad, t, bins, n_bins, gamma, gamma_res, v)
                    pid = goal_path.run(True, _atoms, t, bins, n_bins)
                    k_theta, k_cols = F._kernel_inputs(t, bins, len(n_bins))
                    red, _ = F.redundancies(k_theta, k_cols, n_bins, tuple(range(pid.atoms.shape[1])), None, threads)
                    runs[threads].append((goal, grad, torch.from_numpy(red), pid.atoms))
    finally:
        torch.set_num_threads(saved)
    assert 2 in _goal_kernels._POOL  # the neurons really went to two threads
    for one, two in zip(runs[1], runs[2], strict=True):
        for name, a, b in zip(("goal", "gradient", "redundancies"), one, two, strict=False):
            assert torch.equal(a, b), f"{name} differs between 1 and 2 threads by {float((a - b).abs().max()):.3g}"
        torch.testing.assert_close(one[3], two[3], rtol=0, atol=1e-15 if one[3].dtype == torch.float64 else 1e-6)


# ------------------------------------------------------------------------------------- against the numba core
def _expanded(theta_q: np.ndarray, bins: np.ndarray, m: int):
    """Samples whose plug-in joint is the soft joint: sample b repeated m times, θ_b m of them with T = 1."""
    k = np.rint(theta_q * m).astype(int)
    t = (np.arange(m)[None, :] < k[:, None]).astype(int).ravel()
    return t, np.repeat(bins, m, axis=0)


@pytest.mark.parametrize("kind", ["adaptive", "uniform", "sparse", "single"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_atoms_equal_numba_core(goal_path, n, kind):
    """θ in quarters: the soft joint is the plug-in joint of 4 copies of each sample with T = 1 on θ·4 of them."""
    _, bins, n_bins, _, _ = _case(n, kind, neurons=3)
    g = torch.Generator().manual_seed(7 + n)
    theta = torch.randint(1, 4, bins.shape[:2], generator=g).double() / 4
    pid = goal_path.run(True, _atoms, theta, bins, n_bins)
    for j in range(theta.shape[1]):
        t, s = _expanded(theta[:, j].numpy(), bins[:, j].numpy(), 4)
        if n == 1:
            want = np.array([discrete.mutual_information(t, s[:, 0])])
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the small-sample bias warning: the numbers are what we compare
                want = np.asarray(pidlearn.sxpid(t, s).values)
        np.testing.assert_allclose(pid.atoms[j].numpy(), want, rtol=0, atol=1e-9)
        h_t = discrete.entropy(t)
        assert abs(float(pid.residual_entropy[j]) - (h_t - want.sum())) < 1e-9


def test_goal_equals_dense_joint(goal_path):
    """Both paths against the dense soft joint of :func:`functional.sxpid_atoms` (no sample tables at all)."""
    theta, bins, n_bins, gamma, gamma_res = _case(3, "uniform")
    dense = F.sxpid_atoms(F.soft_joint(theta, bins, n_bins), 3)
    want = dense.atoms @ torch.tensor(gamma, dtype=torch.float64) + gamma_res * dense.residual_entropy
    for fused in (True, False):
        goal = goal_path.run(fused, F.sample_sxpid_goal, theta, bins, n_bins, gamma, gamma_res)
        torch.testing.assert_close(goal, want, rtol=0, atol=1e-12)


def test_torch_path_forced_on_cpu(goal_path, monkeypatch):
    """``_FUSED_CPU_GOAL = False`` runs the pure-torch path on the CPU: the kernel is never called, even for atoms."""

    def refuse(*args, **kwargs):
        raise AssertionError("the kernel ran although _FUSED_CPU_GOAL is False")

    monkeypatch.setattr(F, "_FUSED_CPU_GOAL", False)
    monkeypatch.setattr(F, "redundancies", refuse)
    theta, bins, n_bins, gamma, gamma_res = _case(2, "adaptive")
    theta.requires_grad_(True)
    goal = F.sample_sxpid_goal(theta, bins, n_bins, gamma, gamma_res)
    goal.sum().backward()
    assert goal.grad_fn is not None and theta.grad is not None and torch.isfinite(theta.grad).all()
    with torch.no_grad():
        pid = F.sample_sxpid_atoms(theta, bins, n_bins)
    dense = F.sxpid_atoms(F.soft_joint(theta.detach(), bins, n_bins), 2)
    torch.testing.assert_close(pid.atoms, dense.atoms, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------- the layer
def _layer_grads(layer, fused_path, fused: bool):
    def run():
        loss = layer.loss()
        params = [p for p in layer.parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        with torch.no_grad():
            atoms = layer.atoms()
        return loss.detach(), grads, atoms

    return fused_path.run(fused, run)


@pytest.mark.parametrize(
    ("kwargs", "dtype"),
    [
        ({"goal": "context_optimised"}, torch.float64),  # adaptive binning, H_res in the goal
        ({"goal": "lateral_optimised", "binning": "fixed", "bin_range": 3.0, "n_bins": 7}, torch.float64),
        ({"goal": "trivariate_optimised", "lateral": True, "lateral_connections": 3}, torch.float64),  # fixed
        ({"goal": "context_heuristic"}, torch.float32),
        ({"goal": "trivariate_optimised", "lateral": True}, torch.float32),
    ],
    ids=["adaptive-f64", "fixed-f64", "trivariate-f64", "adaptive-f32", "trivariate-f32"],
)
def test_layer_gradients_equal(goal_path, kwargs, dtype):
    """Loss, every parameter's gradient and the atoms of an InfomorphicLayer agree between the two paths."""
    torch.manual_seed(0)
    layer = InfomorphicLayer(12, 3, 6, **kwargs).to(dtype)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 12, generator=g, dtype=dtype) * 3
    c = torch.eye(3, dtype=dtype)[torch.randint(3, (96,), generator=g)]
    layer(x, c, generator=g, **({"steps": 2} if layer.lateral else {}))
    (loss_k, grads_k, atoms_k), (loss_t, grads_t, atoms_t) = (_layer_grads(layer, goal_path, f) for f in (True, False))
    # float32 tolerances: measured loss 3.4e-6 (relative), gradients 9.8e-6 (of the largest entry), atoms 8.9e-7 (bits)
    tol, tol_atoms = (1e-12, 1e-12) if dtype == torch.float64 else (1e-4, 1e-5)
    torch.testing.assert_close(loss_k, loss_t, rtol=tol / 3, atol=0)
    n_grads = 0
    for a, b in zip(grads_k, grads_t, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            n_grads += 1
            scale = max(1e-3, float(b.abs().max()))
            torch.testing.assert_close(a, b, rtol=0, atol=tol * scale)
    assert n_grads >= 4
    for name in atoms_t:
        torch.testing.assert_close(atoms_k[name], atoms_t[name], rtol=0, atol=tol_atoms)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("fused", [True, False])
def test_nan_gives_clear_errors(goal_path, fused):
    """NaN inputs or weights stop at the layer's check, NaN θ at the functional check, on both paths; the kernel
    never sees them."""
    goal_path.use(fused)
    layer = InfomorphicLayer(5, 3, 4)
    x = torch.randn(16, 5)
    c = torch.eye(3)[torch.arange(16) % 3]
    x_nan = x.clone()
    x_nan[3, 2] = float("nan")
    with pytest.raises(ValueError, match="contain NaN or inf") as err:
        layer(x_nan, c)
    assert str(err.value) == NON_FINITE_DRIVES
    with torch.no_grad():
        layer.receptive.weight[0, 0] = float("nan")  # diverged weights
    with pytest.raises(ValueError, match="weights diverged"):
        layer(x, c)
    theta, bins, n_bins, gamma, _ = _case(2, "uniform")
    theta[5, 1] = float("nan")
    with pytest.raises(ValueError, match="theta must lie strictly between 0 and 1"):
        F.sample_sxpid_goal(theta.requires_grad_(True), bins, n_bins, gamma)
    with torch.no_grad(), pytest.raises(ValueError, match="theta must lie strictly between 0 and 1"):
        F.sample_sxpid_atoms(theta, bins, n_bins)
    assert goal_path.calls == 0


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
def test_half_precision_theta_refused_clearly(goal_path, dtype, fused):
    goal_path.use(fused)
    theta, bins, n_bins, gamma, _ = _case(2, "uniform")
    with pytest.raises(TypeError, match="float32 or float64"):
        F.sample_sxpid_goal(theta.to(dtype), bins, n_bins, gamma)
