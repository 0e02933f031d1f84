"""The infomorphic trainers' Adam (pidlearn.backends.torch.optim) against torch.optim.Adam."""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from pidlearn.backends.torch.optim import Adam  # noqa: E402


def _model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(7, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))


def _train(model, opt, steps, seed=1):
    g = torch.Generator().manual_seed(seed)
    dtype = next(model.parameters()).dtype
    for _ in range(steps):
        x = torch.randn(16, 7, generator=g).to(dtype)
        loss = model(x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@pytest.mark.parametrize("weight_decay", [0.0, 3.5e-4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_same_parameters_as_torch_adam_bit_for_bit(weight_decay, dtype):
    ours, theirs = _model(0).to(dtype), _model(0).to(dtype)
    _train(ours, Adam(ours.parameters(), lr=3e-2, weight_decay=weight_decay), 25)
    _train(theirs, torch.optim.Adam(theirs.parameters(), lr=3e-2, weight_decay=weight_decay, foreach=False), 25)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(ours[0].weight, _model(0)[0].weight.to(dtype))  # it did train


def test_state_dict_round_trips_with_torch_adam():
    """A checkpoint written by either optimiser resumes the other to the same parameters."""
    ref = _model(0)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-2, weight_decay=1e-3, foreach=False)
    _train(ref, ref_opt, 10)
    ours = _model(0)
    ours.load_state_dict(ref.state_dict())
    opt = Adam(ours.parameters(), lr=0.5)  # lr etc. come from the state
    opt.load_state_dict(ref_opt.state_dict())
    assert opt.param_groups[0]["lr"] == 1e-2 and opt.param_groups[0]["weight_decay"] == 1e-3
    _train(ref, ref_opt, 5, seed=2)
    _train(ours, opt, 5, seed=2)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)
    back = torch.optim.Adam(_model(0).parameters(), lr=0.5, foreach=False)
    back.load_state_dict(opt.state_dict())
    assert back.state_dict()["param_groups"][0]["lr"] == 1e-2
    for i, s in opt.state_dict()["state"].items():
        assert torch.equal(back.state_dict()["state"][i]["exp_avg_sq"], s["exp_avg_sq"])


def test_zero_grad_and_bad_state():
    model = _model(0)
    opt = Adam(model.parameters())
    _train(model, opt, 1)
    opt.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    other = Adam(torch.nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match="does not fit this network"):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="does not fit this network"):
        other.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match="no parameters"):
        Adam([])


def test_infomorphic_training_does_not_import_torch_dynamo():
    """torch.optim's first parameter group imports torch._dynamo (+~72 MB resident): the trainers avoid it."""
    code = (
        "import sys, torch\n"
        "from pidlearn.backends.torch import InfomorphicNetwork, Trainer\n"
        "from pidlearn.backends.torch.unsupervised import UnsupervisedTrainer\n"
        "net = InfomorphicNetwork(n_inputs=12, n_classes=3, hidden=4)\n"
        "tr = Trainer(net, batch_size=32, progress=False)\n"
        "g = torch.Generator().manual_seed(0)\n"
        "tr.train_epoch(torch.randn(64, 12, generator=g), torch.randint(3, (64,), generator=g))\n"
        "ut = UnsupervisedTrainer(12, 4, batch_size=32, progress=False)\n"
        "ut.fit(torch.randn(64, 12, generator=g), 1)\n"
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
