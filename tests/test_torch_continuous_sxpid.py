"""The differentiable continuous SxPID of the torch backend against the KSG-type core estimator (issue #19)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pidlearn.backends.torch.continuous_sxpid import (  # noqa: E402
    _redundancies,
    _redundancies_dense,
    continuous_sxpid,
    continuous_sxpid_goal,
)
from pidlearn.continuous import sxpid  # noqa: E402
from pidlearn.goals import goal_vector  # noqa: E402
from pidlearn.lattice import lattice  # noqa: E402

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "csxpid_bivariate"


def _gaussian(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, 2))
    return s[:, 0] + 0.5 * s[:, 1] + 0.5 * rng.standard_normal(n), s


def _both(t: np.ndarray, s: np.ndarray, tau: float = 0.02, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(soft torch atoms, KSG-type core atoms) in bits."""
    ksg = sxpid(t, [s[:, i] for i in range(s.shape[1])], workers=1, **kw).values
    with torch.no_grad():
        soft = continuous_sxpid(torch.tensor(t), torch.tensor(s), tau=tau, **kw).numpy()
    return soft, ksg


@pytest.mark.parametrize(
    ("n", "neurons", "batch", "k", "tau", "normalize"),
    [(2, 3, 200, 3, 0.02, True), (3, 2, 160, 2, 0.1, True), (4, 1, 100, 3, 0.02, False), (1, 2, 90, 5, 0.3, True)],
)
def test_band_kernel_equals_all_pairs(n, neurons, batch, k, tau, normalize):
    """The CPU kernel (pairs near each ball's edge only) = the dense O(N²) reference, values and gradients, float64."""
    g = torch.Generator().manual_seed(10 * n + k)
    s = torch.randn(batch, neurons, n, dtype=torch.float64, generator=g) * torch.tensor([1.0, 3.0, 0.2, 5.0][:n])
    t = s[..., 0] * s[..., -1] + s.sum(-1) + 0.4 * torch.randn(batch, neurons, dtype=torch.float64, generator=g)
    rows = tuple(range(lattice(n).n_atoms))
    weights = torch.rand(neurons, len(rows), dtype=torch.float64, generator=g)
    out = []
    for f in (_redundancies, _redundancies_dense):
        tt, ss = t.clone().requires_grad_(), s.clone().requires_grad_()
        red = f(tt, ss, rows, k, tau, normalize)
        (red * weights).sum().backward()
        out.append((red.detach(), tt.grad, ss.grad))
    (red, gt, gs), (red_ref, gt_ref, gs_ref) = out
    assert int((gt_ref != 0).sum()) > gt_ref.numel() // 2  # gradients reach the samples: not a 0 = 0 check
    torch.testing.assert_close(red, red_ref, rtol=0, atol=1e-10)
    torch.testing.assert_close(gt, gt_ref, rtol=0, atol=1e-10)
    torch.testing.assert_close(gs, gs_ref, rtol=0, atol=1e-10)


def test_band_kernel_float32_close_to_all_pairs():
    g = torch.Generator().manual_seed(3)
    s = torch.randn(400, 2, 2, generator=g)
    t = (s.sum(-1) + 0.5 * torch.randn(400, 2, generator=g)).requires_grad_()
    red, red_ref = (f(t, s, (0, 3), 3, 0.02, True) for f in (_redundancies, _redundancies_dense))
    assert red.dtype == torch.float32
    grads = [torch.autograd.grad(r.sum(), t)[0] for r in (red, red_ref)]
    torch.testing.assert_close(red, red_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=1e-4 * float(grads[1].abs().max()))


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(14, dtype=torch.float64, generator=g, requires_grad=True)
    s = torch.randn(14, 2, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: continuous_sxpid(a + b.sum(-1), b), (t, s))
    s3 = torch.randn(12, 2, 3, dtype=torch.float64, generator=g, requires_grad=True)  # two neurons, three sources
    assert torch.autograd.gradcheck(lambda b: continuous_sxpid(b.sum(-1), b, k=2), (s3,), fast_mode=True)


def test_gradient_reaches_every_sample():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(200, 2, dtype=torch.float64, generator=g)
    t = (s.sum(1) + 0.3 * torch.randn(200, dtype=torch.float64, generator=g)).requires_grad_()
    continuous_sxpid(t, s).sum().backward()  # the sum of the atoms is the MI
    assert torch.isfinite(t.grad).all()
    assert int((t.grad != 0).sum()) > 150


def test_gradient_matches_the_closed_form_derivative():
    """T = S1 + λE (Gaussian S1, E): I(T; S1, S2) = ½ log2(1 + 1/λ²), dI/dλ = −1/((λ³ + λ) ln 2) = −0.721 at λ = 1."""
    mi, grad = [], []
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        s = torch.randn(400, 2, dtype=torch.float64, generator=g)
        e = torch.randn(400, dtype=torch.float64, generator=g)
        lam = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        value = continuous_sxpid(s[:, 0] + lam * e, s).sum()  # atoms sum to the MI
        value.backward()
        mi.append(value.item())
        grad.append(lam.grad.item())
    assert np.mean(mi) == pytest.approx(0.5, abs=0.06)
    assert np.mean(grad) == pytest.approx(-1 / (2 * math.log(2)), abs=0.12)


def test_reference_data_matches_the_authors_value():
    if not REF.with_suffix(".npz").exists():
        pytest.skip(f"reference data not found at {REF}.npz (../shared beside the clone)")
    data = np.load(REF.with_suffix(".npz"), allow_pickle=False)
    expected = json.loads(REF.with_suffix(".json").read_text())["redundancy_{1}{2}"]
    t, s = data["t"], np.column_stack([data["s1"], data["s2"]])
    soft, ksg = _both(t, s, normalize=False)
    assert ksg[0] == pytest.approx(expected, abs=1e-9)
    # soft counts: within 0.02 bits of the authors' estimator on all four atoms (80 samples; their spread is ~0.1)
    np.testing.assert_allclose(soft, ksg, atol=0.02)


def test_gaussian_agreement_shrinks_with_n():
    """Soft and hard counts agree within the sampling spread, and closer at 4x the samples (mean over seeds)."""
    gap = {}
    for n, seeds in ((250, range(4)), (1000, range(2))):
        diffs = []
        for seed in seeds:
            soft, ksg = _both(*_gaussian(n, seed))
            diffs.append(np.abs(soft - ksg))
        gap[n] = np.mean(diffs, axis=0)
        assert gap[n].max() < 0.03, (n, gap[n])  # KSG's own spread over seeds is ~0.03-0.06 bits at these sizes
    assert gap[1000].sum() < gap[250].sum(), gap


def test_tau_to_zero_approaches_the_hard_counts():
    t, s = _gaussian(300, 3)
    errs = []
    for tau in (0.2, 0.05, 0.005):
        soft, ksg = _both(t, s, tau=tau)
        errs.append(np.abs(soft - ksg).max())
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.005


def test_batch_over_neurons_list_sources_and_goal():
    g = torch.Generator().manual_seed(2)
    s = torch.randn(150, 3, 2, dtype=torch.float64, generator=g)
    t = s[..., 0] * s[..., 1] + 0.2 * torch.randn(150, 3, dtype=torch.float64, generator=g)
    atoms = continuous_sxpid(t, s)
    assert atoms.shape == (3, 4)
    for j in range(3):
        torch.testing.assert_close(atoms[j], continuous_sxpid(t[:, j], s[:, j]), rtol=0, atol=1e-12)
    torch.testing.assert_close(continuous_sxpid(t, [s[..., 0], s[..., 1]]), atoms, rtol=0, atol=1e-12)
    gamma, _ = goal_vector({"{1}{2}": 1.0, "{12}": 0.1}, 2)
    goal = continuous_sxpid_goal(t, s, gamma)
    torch.testing.assert_close(goal, atoms @ torch.as_tensor(gamma, dtype=atoms.dtype), rtol=0, atol=1e-12)
    # nats and bits; atoms sum to the top redundancy, the KSG MI
    nats = continuous_sxpid(t, s, base=math.e)
    torch.testing.assert_close(nats / math.log(2), atoms, rtol=1e-12, atol=1e-12)


def test_repeated_samples_give_finite_atoms_and_gradients():
    g = torch.Generator().manual_seed(6)
    s = torch.randn(60, 2, dtype=torch.float64, generator=g).repeat(4, 1)  # every sample four times: ε = 0 at k = 3
    t = (s.sum(1) + 0.1 * torch.randn(60, dtype=torch.float64, generator=g).repeat(4)).requires_grad_()
    atoms = continuous_sxpid(t, s)
    atoms.sum().backward()
    assert torch.isfinite(atoms).all() and torch.isfinite(t.grad).all()


def test_float32_matches_float64():
    t, s = _gaussian(400, 4)
    with torch.no_grad():
        a64 = continuous_sxpid(torch.tensor(t), torch.tensor(s))
        a32 = continuous_sxpid(torch.tensor(t, dtype=torch.float32), torch.tensor(s, dtype=torch.float32))
    assert a32.dtype == torch.float32
    np.testing.assert_allclose(a32.double().numpy(), a64.numpy(), atol=2e-4)


def test_three_sources_match_the_core():
    rng = np.random.default_rng(5)
    s = rng.standard_normal((300, 3))
    t = s[:, 0] + s[:, 1] * s[:, 2] + 0.3 * rng.standard_normal(300)
    soft, ksg = _both(t, s)
    assert soft.shape == (18,)
    np.testing.assert_allclose(soft, ksg, atol=0.03)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda t, s: (t.numpy(), s), TypeError, "target must be a torch.Tensor"),
        (lambda t, s: (t.long(), s), TypeError, "floating-point"),
        (lambda t, s: (t[:, :, None], s), ValueError, "target must have shape"),
        (lambda t, s: (t, s[:10]), ValueError, "sources has shape"),
        (lambda t, s: (t, [s[..., 0], s[:5, :, 1]]), ValueError, r"sources\[1\] has shape"),
        (lambda t, s: (t, []), ValueError, "sources is empty"),
        (lambda t, s: (t, torch.cat([s, s, s], -1)), ValueError, "1 to 4 sources"),
        (lambda t, s: (t.float(), s), TypeError, "share dtype"),
        (lambda t, s: (t.masked_fill(t > 1, math.nan), s), ValueError, "NaN or inf"),
        (lambda t, s: (t, s.masked_fill(s > 1, math.inf)), ValueError, "NaN or inf"),
        (lambda t, s: (t, torch.cat([s[..., :1], torch.ones_like(s[..., :1])], -1)), ValueError, "constant"),
        (lambda t, s: (t[:3], s[:3]), ValueError, "k = 3 nearest neighbours need"),
    ],
)
def test_bad_input(make, error, match):
    g = torch.Generator().manual_seed(0)
    t = torch.randn(20, 2, dtype=torch.float64, generator=g)
    s = torch.randn(20, 2, 2, dtype=torch.float64, generator=g)
    a, b = make(t, s)
    with pytest.raises(error, match=match):
        continuous_sxpid(a, b)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"tau": 0.0}, "tau"),
        ({"tau": math.nan}, "tau"),
        ({"tau": -1}, "tau"),
        ({"k": 0}, "k "),
        ({"k": 2.5}, "k "),
        ({"base": 1}, "base"),
        ({"normalize": "yes"}, "normalize"),
    ],
)
def test_bad_hyper_parameters(kw, match):
    t, s = torch.randn(20, 2), torch.randn(20, 2, 2)
    with pytest.raises((ValueError, TypeError), match=match):
        continuous_sxpid(t, s, **kw)


def test_bad_goal():
    t, s = torch.randn(20, 2), torch.randn(20, 2, 2)
    with pytest.raises(ValueError, match="gamma must hold 4"):
        continuous_sxpid_goal(t, s, [1.0, 0.0])


def test_method_knn_is_the_default_and_binned_is_another_estimator():
    """``method="knn"`` (the soft counts above) is the default; ``"binned"`` (tests/test_binned_sxpid.py) differs."""
    t, s = _gaussian(300, 0)
    t, s = torch.tensor(t), torch.tensor(s)
    torch.testing.assert_close(continuous_sxpid(t, s), continuous_sxpid(t, s, method="knn"), rtol=0, atol=0)
    gamma = [1.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(
        continuous_sxpid_goal(t, s, gamma), continuous_sxpid_goal(t, s, gamma, method="knn"), rtol=0, atol=0
    )
    assert float((continuous_sxpid(t, s, method="binned") - continuous_sxpid(t, s)).abs().max()) > 1e-3
