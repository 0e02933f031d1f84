"""The NumPy backend's unsupervised layer and associative memory: analytic gradients against torch autograd, the
same probe accuracy and memory capacity as the torch backend, speed, bad input, checkpoints, no torch import."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import numpy as np
import pytest

from pidlearn.backends.numpy import memory as nm
from pidlearn.backends.numpy import unsupervised as nu
from pidlearn.backends.numpy.train import standardise
from pidlearn.goals import goal_vector
from pidlearn.idx import load_mnist_small

RTOL = 1e-8  # analytic vs autograd, float64, relative to the largest entry


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def mem_gamma(goal):
    return goal_vector(goal, 2)[0]


def _rel(got, ref) -> float:
    scale = np.abs(ref).max()
    return float(np.abs(got - ref).max() / scale) if scale > 0 else float(np.abs(got).max())


class _TorchDraws:
    """A stand-in for ``numpy.random.Generator`` that replays a torch generator's draws (``rand``, ``randperm``),
    so that the NumPy trainer sees the samples and the batch order of the torch trainer with the same seed."""

    def __init__(self, torch, seed: int):
        self.torch = torch
        self.gen = torch.Generator().manual_seed(seed)

    def random(self, shape, dtype=np.float32):
        return self.torch.rand(shape, generator=self.gen, dtype=self.torch.float32).numpy().astype(dtype)

    def permutation(self, n):
        return self.torch.randperm(n, generator=self.gen).numpy()


@pytest.fixture(scope="module")
def images():
    d = load_mnist_small()
    x, mean, std = standardise(d["x_train"][:1024])
    xt, _, _ = standardise(d["x_test"][:512], mean, std)
    return x, d["y_train"][:1024].astype(np.int64), xt, d["y_test"][:512].astype(np.int64)


def test_import_does_not_pull_torch():
    code = (
        "import sys, pidlearn.backends.numpy.memory, pidlearn.backends.numpy.unsupervised; "
        "assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------------- gradients vs autograd
@pytest.mark.parametrize("goal", ["lateral_heuristic", "lateral_optimised", "context_optimised"])
def test_unsupervised_gradient_equals_torch_autograd(goal):
    """Both passes with the same uniform draws; every parameter's gradient of the second pass equals autograd's."""
    torch = _torch()
    from pidlearn.backends.torch.unsupervised import UnsupervisedTrainer as TorchTrainer

    tt = TorchTrainer(30, 9, goal=goal, batch_size=200, seed=3, progress=False)
    tt.layer.double()
    nt = nu.UnsupervisedTrainer(30, 9, goal=goal, batch_size=200, seed=3, progress=False, dtype=np.float64)
    nt.layer.load_state_dict({k: v.numpy() for k, v in tt.layer.state_dict().items()})
    x = np.random.default_rng(1).normal(size=(200, 30)) * 1.5
    theta_t, _ = tt._two_pass(torch.tensor(x), torch.Generator().manual_seed(5))
    tt.layer.loss().backward()
    draws = _TorchDraws(torch, 5)
    draws.random = lambda shape: torch.rand(shape, generator=draws.gen, dtype=torch.float64).numpy()
    theta_n, _ = nt._two_pass(x, draws)
    np.testing.assert_allclose(theta_n, theta_t.detach().numpy(), rtol=0, atol=1e-12)
    grads = nt.layer.gradients()
    names = dict(tt.layer.named_parameters())
    assert set(grads) == set(names)
    for name, p in names.items():
        assert _rel(grads[name], -p.grad.numpy()) < RTOL, name  # the torch loss is −Σ G
    assert np.all(np.diag(grads["context.weight"]) == 0)  # no neuron sees itself
    assert nt.layer.loss() == pytest.approx(float(tt.layer.loss().detach()), abs=1e-10)


_MEMORY = [
    {},
    {"input_weight": 2.3, "binning": "fixed", "n_bins": 60},
    {"beta": 1.7, "n_bins": 7},
    {"goal": "context_optimised", "binning": "fixed", "n_bins": 30},
]


@pytest.mark.parametrize("kw", _MEMORY, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_memory_gradient_equals_torch_autograd(kw):
    torch = _torch()
    from pidlearn.backends.torch.memory import InfomorphicMemory as TorchMemory
    from pidlearn.backends.torch.memory import random_patterns as torch_patterns

    torch.manual_seed(0)
    tmem = TorchMemory(30, **kw).double()
    # the torch module keeps γ in a float32 buffer (``.double()`` widens the rounded values: 0.0379 -> 0.03790000081):
    # give it the exact float64 γ that the NumPy backend uses, or non-dyadic presets differ by ~1e-8 relative
    tmem.gamma = torch.tensor(mem_gamma(kw.get("goal", "memory")), dtype=torch.float64)
    mem = nm.InfomorphicMemory(30, dtype=np.float64, **kw)
    mem.load_state_dict({k: v.numpy() for k, v in tmem.state_dict().items()})
    pats = torch_patterns(120, 30, seed=3).double()
    cue = pats.flip(0)  # a state other than x: W's gradient sees another input than a's
    pid = tmem.pid(pats, cue)
    loss = tmem.loss(pid)
    loss.backward()
    upd = mem.local_update(pats.numpy(), cue.numpy())
    names = dict(tmem.named_parameters())
    assert set(upd.grads) == set(names) == set(mem.params)
    for name, p in names.items():
        assert _rel(upd.grads[name], -p.grad.numpy()) < RTOL, name
    np.testing.assert_allclose(upd.atoms, pid.atoms.detach().numpy(), rtol=0, atol=1e-10)
    assert mem.loss(upd) == pytest.approx(float(loss.detach()), abs=1e-10)
    assert np.all(np.diag(upd.grads["weight"]) == 0)


# ------------------------------------------------------------------------------------------- unsupervised
def _make(**kw):
    return nu.UnsupervisedTrainer(784, 12, batch_size=256, seed=4, progress=False, **kw)


def test_probe_matches_torch_with_the_same_draws(images):
    """Same initial weights and the torch generator's draws: the two backends train the same codes (3 seeds)."""
    torch = _torch()
    from pidlearn.backends.torch import unsupervised as tu

    x, y, xt, yt = images
    acc = {"numpy": [], "torch": []}
    for seed in (0, 1, 2):
        tt = tu.UnsupervisedTrainer(784, 12, batch_size=256, seed=seed, progress=False)
        nt = nu.UnsupervisedTrainer(784, 12, batch_size=256, seed=seed, progress=False)
        nt.layer.load_state_dict({k: v.numpy() for k, v in tt.layer.state_dict().items()})
        nt.rng = _TorchDraws(torch, seed)
        tt.fit(torch.as_tensor(x), 2)
        nt.fit(x, 2)
        for ht, hn in zip(tt.history, nt.history, strict=True):
            at, an = ht["atoms"]["unsupervised"], hn["atoms"]["unsupervised"]
            assert max(abs(at[k] - an[k]) for k in at) < 2e-3
        codes = {}
        for name, fn in (("numpy", nt.codes), ("torch", lambda a, tt=tt: tt.codes(torch.as_tensor(a)).numpy())):
            codes[name] = (fn(x), fn(xt))
            acc[name].append(nu.linear_probe(codes[name][0], y, codes[name][1], yt, epochs=100, seed=seed))
        assert np.mean(codes["numpy"][1] == codes["torch"][1]) > 0.9  # the first pass's draws differ in codes()
    diff = 100 * abs(np.mean(acc["numpy"]) - np.mean(acc["torch"]))
    assert diff < 0.5, acc
    assert min(acc["numpy"]) > 0.3  # chance is 0.1


def test_linear_probe_equals_torch_probe_on_the_same_codes(images):
    torch = _torch()
    from pidlearn.backends.torch.unsupervised import linear_probe as torch_probe

    x, y, xt, yt = images
    cx, ct = nu.random_projection_codes(x, 20, 1), nu.random_projection_codes(xt, 20, 1)
    assert cx.shape == (1024, 20) and set(np.unique(cx)) == {-1.0, 1.0}
    a = nu.linear_probe(cx, y, ct, yt)
    b = torch_probe(*(torch.as_tensor(v) for v in (cx, y, ct, yt)))
    assert abs(a - b) <= 0.01  # different initial weights, the same convex problem


def test_checkpoint_resumes_to_the_same_state(images, tmp_path):
    x = images[0]
    straight = _make()
    straight.fit(x, 2)
    first = _make()
    first.fit(x, 1, checkpoint=tmp_path / "unsup.npz")
    with np.load(tmp_path / "unsup.npz", allow_pickle=False) as data:  # plain arrays: no pickled code
        assert int(data["epoch"]) == 1
    resumed = _make()
    resumed.load(tmp_path / "unsup.npz")
    assert resumed.epoch == 1 and resumed.rng.bit_generator.state == first.rng.bit_generator.state
    resumed.fit(x, 2)
    for k, v in straight.layer.state_dict().items():
        np.testing.assert_array_equal(resumed.layer.state_dict()[k], v)
    assert [h["atoms"] for h in resumed.history] == [h["atoms"] for h in straight.history]


def test_a_checkpoint_of_another_size_or_backend_is_refused(images, tmp_path):
    _make().save(tmp_path / "small.npz")
    other = nu.UnsupervisedTrainer(784, 13, batch_size=256, progress=False)
    before = other.layer.state_dict()
    with pytest.raises(ValueError, match="does not match this UnsupervisedTrainer"):
        other.load(tmp_path / "small.npz")
    for k, v in before.items():  # nothing half-loaded
        np.testing.assert_array_equal(other.layer.state_dict()[k], v)
    torch = pytest.importorskip("torch")
    from pidlearn.backends.torch.unsupervised import UnsupervisedTrainer as TorchTrainer

    TorchTrainer(784, 12, batch_size=256, progress=False).save(tmp_path / "torch.pt")
    with pytest.raises(ValueError, match="written by the torch backend"):
        _make().load(tmp_path / "torch.pt")
    del torch


def test_a_checkpoint_of_another_trainer_class_is_refused(images, tmp_path):
    from pidlearn.backends.numpy.train import InfomorphicNetwork, Trainer

    Trainer(InfomorphicNetwork(hidden=0, seed=0), progress=False).save(tmp_path / "sup.npz")
    with pytest.raises(ValueError, match="written by a Trainer, not a UnsupervisedTrainer"):
        _make().load(tmp_path / "sup.npz")


def test_codes_are_binary_and_probe_beats_chance(images):
    x, y, xt, yt = images
    trainer = _make()
    trainer.fit(x, 2)
    codes = trainer.codes(x)
    assert codes.shape == (len(x), 12) and set(np.unique(codes).tolist()) <= {-1.0, 1.0}
    np.testing.assert_array_equal(codes, trainer.codes(x))  # deterministic
    acc = nu.linear_probe(codes, y, trainer.codes(xt), yt, epochs=100)
    base = nu.linear_probe(nu.random_projection_codes(x, 12), y, nu.random_projection_codes(xt, 12), yt, epochs=100)
    assert acc > 0.3 and base > 0.3  # chance is 0.1 with ten balanced digits
    atoms = trainer.history[-1]["atoms"]["unsupervised"]
    assert set(atoms) == {"{1}{2}", "{1}", "{2}", "{12}", "H_res"} and atoms["{1}"] > 0.05  # unique information of R


# ------------------------------------------------------------------------------------------- memory
def test_memory_authors_setup_fixed_receptive_weight_and_fixed_bins():
    # the authors' code: receptive weight frozen at 2.3 (no receptive bias), r and c in 60 fixed bins on [-20, 20]
    mem = nm.InfomorphicMemory(40, input_weight=2.3, binning="fixed", n_bins=60, seed=0)
    assert set(mem.params) == {"weight", "context_bias"}
    pats = nm.random_patterns(20, 40, seed=1)
    mem.fit(pats, epochs=3)
    assert np.array_equal(mem.input_weight, np.full(40, 2.3, np.float32)) and not mem.input_bias.any()
    np.testing.assert_array_equal(mem(pats, pats)[1][0], np.float32(2.3) * pats)
    # 1.2 N patterns, at most 100 steps: recall accuracy 0.953 / 0.980 / 0.996 with the authors' setup (seeds 0-2,
    # stored at step 51 / 37 / 51), 0.80 / 0.92 / 0.85 with the defaults after all 100 steps
    authors = nm.recall_capacity(40, (48,), epochs=100, input_weight=2.3, binning="fixed", n_bins=60)
    default = nm.recall_capacity(40, (48,), epochs=100)
    assert authors["rows"][0]["accuracy"] >= 0.95 and authors["capacity"] == 1.2 and authors["rows"][0]["epochs"] < 100
    assert default["rows"][0]["accuracy"] < 0.9 and default["capacity"] == 0 and default["rows"][0]["epochs"] == 100
    assert (authors["input_weight"], authors["binning"], authors["n_bins"]) == (2.3, "fixed", 60)
    assert authors["rows"][0]["hopfield_accuracy"] < 0.6 and authors["rows"][0]["hopfield_recalled"] <= 0.05


def test_memory_recalls_beyond_hopfield_over_seeds():
    for seed in (0, 1, 2):
        # 0.4 N patterns from the Hebbian start: stored (accuracy >= 0.95) after two steps; 60 steps without the early
        # stop recall every pattern as a fixed point. The Hopfield network of the same patterns: accuracy 0.49-0.54.
        res = nm.recall_capacity(100, (40,), epochs=60, init="hebbian", seed=seed)
        assert res["rows"][0]["accuracy"] >= 0.95 and res["rows"][0]["epochs"] == 2, seed
        assert res["rows"][0]["hopfield_accuracy"] < 0.6 and res["rows"][0]["hopfield_recalled"] <= 0.05, seed
        full = nm.recall_capacity(100, (40,), epochs=60, init="hebbian", seed=seed, early_stop=False)
        assert full["rows"][0]["recalled"] == 1.0 and full["rows"][0]["epochs"] == 60, seed


class _StubMemory:
    """Recalls its patterns exactly when it holds at most ``limit`` of them (after ``needs`` steps), else maps every
    state to zeros (cosine 0); records the steps its ``fit`` ran."""

    def __init__(self, limit, needs):
        self.limit, self.needs, self.trained, self.patterns = limit, needs, 0, None

    def fit(self, patterns, *, epochs, lr, callback=None):
        self.patterns, hist = patterns, []
        for epoch in range(1, epochs + 1):
            self.trained = epoch
            hist.append({"epoch": epoch, "atoms": {"{1}{2}": 0.0}})
            if callback is not None and callback(epoch):
                break
        return hist

    def step(self, state):
        good = len(self.patterns) <= self.limit and self.trained >= self.needs
        return state.copy() if good else np.zeros_like(state)


def _stub_sweep(counts, limit, needs=1, epochs=100, **kw):
    from pidlearn.backends._capacity import capacity_sweep

    settings = dict(lr=0.05, min_accuracy=0.95, early_stop=True, interrupt=True, seed=0, noise=0.0, init="random")
    settings.update(kw)
    return capacity_sweep(
        8,
        counts,
        new_memory=lambda: _StubMemory(limit, needs),
        random_patterns=nm.random_patterns,
        hopfield_weights=nm.hopfield_weights,
        hopfield_step=lambda w: lambda s: np.zeros_like(s),
        cue=lambda p, noise, seed: p.copy(),
        epochs=epochs,
        input_weight=None,
        binning="fixed",
        n_bins=4,
        **settings,
    )


def test_capacity_protocol_recall_dynamics_early_stop_and_first_failure():
    from pidlearn.backends._capacity import default_pattern_counts, recall_scores, settle

    assert default_pattern_counts(100) == tuple(range(10, 201, 10))
    assert default_pattern_counts(7) == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)
    # the authors' fixed_point: stops at a fixed point, at a two-cycle of the batch, or after max_steps
    calls = []

    def flip(s):
        calls.append(1)
        return -s

    s0 = nm.random_patterns(3, 8, seed=0)
    np.testing.assert_array_equal(settle(flip, s0, 50), s0)  # s0 -> -s0 -> s0: two-cycle after the second call
    assert len(calls) == 2
    fixed, overlap = recall_scores(flip, s0, s0, 50)
    assert not fixed.any() and np.array_equal(overlap, np.full(3, 8.0))
    down = np.array([[1.0, 1.0, 1.0, 1.0]])
    to_minus = lambda s: np.concatenate([-np.ones((1, 1)), s[:, :-1]], axis=1)  # noqa: E731 (shifts in a -1)
    np.testing.assert_array_equal(settle(to_minus, down, 2), [[-1.0, -1.0, 1.0, 1.0]])
    fixed, overlap = recall_scores(to_minus, down, down, 10)
    assert fixed.all() and overlap[0] == -4
    # capacity = the largest count before the first failure; training stops at the first log-spaced checkpoint
    # (steps 1, 2, 3, 5, 7, 10, 13, 19, 26, 37, 51, 71, 100 of 100) where the accuracy reaches 0.95
    res = _stub_sweep((1, 2, 3, 4, 5), limit=3, needs=4)
    assert [r["patterns"] for r in res["rows"]] == [1, 2, 3, 4] and res["capacity"] == 3 / 8
    assert [r["epochs"] for r in res["rows"]] == [5, 5, 5, 100]
    assert [r["accuracy"] for r in res["rows"]] == [1.0, 1.0, 1.0, 0.0] and res["rows"][0]["recalled"] == 1.0
    assert res["hopfield_capacity"] == 0 and res["rows"][0]["hopfield_accuracy"] == 0.0
    res = _stub_sweep((5, 1, 2, 3, 4), limit=3, interrupt=False, early_stop=False)
    assert [r["patterns"] for r in res["rows"]] == [1, 2, 3, 4, 5] and res["capacity"] == 3 / 8
    assert {r["epochs"] for r in res["rows"]} == {100}
    res = _stub_sweep((2, 3), limit=1)
    assert res["capacity"] == 0 and len(res["rows"]) == 1


def test_memory_state_dict_and_recall_helpers():
    mem = nm.InfomorphicMemory(10, seed=1)
    assert set(mem.params) == {"input_weight", "input_bias", "weight", "context_bias"}
    other = nm.InfomorphicMemory(10, seed=2)
    other.load_state_dict(mem.state_dict())
    np.testing.assert_array_equal(other.weight, mem.weight)
    with pytest.raises(ValueError, match="expected shape"):
        nm.InfomorphicMemory(11).load_state_dict(mem.state_dict())
    pats = nm.random_patterns(3, 10, seed=0)
    assert pats.dtype == np.float32 and set(np.unique(pats)) == {-1.0, 1.0}
    np.testing.assert_array_equal(pats, nm.random_patterns(3, 10, seed=0))
    w = nm.hopfield_weights(pats)
    assert np.all(np.diag(w) == 0) and np.allclose(w, w.T)
    ok = nm.recall(lambda s: np.where(s @ w.T >= 0, 1.0, -1.0), pats, noise=0.1, seed=0)
    assert ok.dtype == np.bool_ and ok.shape == (3,)
    hist = mem.hebbian_init_(pats).fit(pats, epochs=2)
    assert [h["epoch"] for h in hist] == [1, 2] and set(hist[0]["atoms"]) == {"{1}{2}", "{1}", "{2}", "{12}", "H_res"}


# ------------------------------------------------------------------------------------------- bad input, both backends
def _memory_cases(torch_backend: bool):
    if torch_backend:
        torch = _torch()
        from pidlearn.backends.torch import memory as m

        def arr(a):
            return torch.as_tensor(np.asarray(a, dtype=np.float32))
    else:
        m = nm

        def arr(a):
            return np.asarray(a, dtype=np.float32)

    pats = np.asarray(nm.random_patterns(10, 8, seed=0))
    nan = pats.copy()
    nan[0, 0] = math.nan
    return [
        (lambda: m.InfomorphicMemory(8).fit(arr(nan), epochs=1), ValueError),
        (lambda: m.InfomorphicMemory(8).fit(arr(pats[:, :5]), epochs=1), ValueError),
        (lambda: m.InfomorphicMemory(8).fit(arr(pats), epochs=1, lr=math.nan), ValueError),
        (lambda: m.InfomorphicMemory(8).fit(arr(pats), epochs=1, lr=-1.0), ValueError),
        (lambda: m.InfomorphicMemory(8).hebbian_init_(arr(pats[:, :3])), ValueError),
        (lambda: m.InfomorphicMemory(1), ValueError),
        (lambda: m.InfomorphicMemory(8, n_bins=1), ValueError),
        (lambda: m.InfomorphicMemory(8, n_bins=2.5), TypeError),
        (lambda: m.InfomorphicMemory(8, beta="a"), TypeError),
        (lambda: m.InfomorphicMemory(8, beta=math.nan), ValueError),
        (lambda: m.InfomorphicMemory(8, bin_range=math.inf), ValueError),
        (lambda: m.InfomorphicMemory(8, input_weight=math.nan), ValueError),
        (lambda: m.InfomorphicMemory(8, binning="quantile"), ValueError),
        (lambda: m.InfomorphicMemory(8, binning="fixed", bin_range=0), ValueError),
        (lambda: m.InfomorphicMemory(8, goal="bogus"), ValueError),
        (lambda: m.InfomorphicMemory(8, goal="trivariate_optimised"), ValueError),
        (lambda: m.recall_capacity(10, (2,), init="zeros"), ValueError),
        (lambda: m.InfomorphicMemory(8).fit(arr(pats), epochs=1, callback=3), TypeError),
    ]


def _unsupervised_cases(torch_backend: bool):
    x = np.random.default_rng(0).normal(size=(64, 20)).astype(np.float32)
    nan = x.copy()
    nan[3, 3] = math.nan
    if torch_backend:
        torch = _torch()
        from pidlearn.backends.torch import unsupervised as u

        def arr(a):
            return torch.as_tensor(a)
    else:
        u = nu

        def arr(a):
            return a

    def make(**kw):
        return u.UnsupervisedTrainer(20, 4, **{"batch_size": 16, "progress": False, **kw})

    return [
        (lambda: make().fit(arr(nan), 1), ValueError),
        (lambda: make().fit(arr(x[:, :10]), 1), ValueError),
        (lambda: make().fit(arr(x[:10]), 1), ValueError),
        (lambda: make(batch_size=1), ValueError),
        (lambda: make(lr=math.nan), ValueError),
        (lambda: make(goal="bogus"), ValueError),
        (lambda: make(goal="trivariate_optimised"), ValueError),
        (lambda: u.UnsupervisedTrainer(0, 4), ValueError),
        (lambda: make().codes(arr(x[:5, :3])), ValueError),
    ]


@pytest.mark.parametrize("cases", [_memory_cases, _unsupervised_cases], ids=["memory", "unsupervised"])
def test_bad_input_raises_the_torch_backends_errors(cases):
    ours = cases(False)
    theirs = cases(True)
    for k, ((fn, exc), (fn_t, exc_t)) in enumerate(zip(ours, theirs, strict=True)):
        assert exc is exc_t
        with pytest.raises(exc):
            fn_t()
        with pytest.raises(exc) as info:
            fn()
        assert str(info.value), k


def test_non_finite_patterns_are_a_clear_error():
    pats = nm.random_patterns(5, 8)
    pats[1, 2] = math.inf
    with pytest.raises(ValueError, match="patterns contain NaN or inf"):
        nm.InfomorphicMemory(8).fit(pats)
    with pytest.raises(ValueError, match="contain NaN or inf"):
        nm.InfomorphicMemory(8).local_update(pats, pats)
    with pytest.raises(TypeError, match="numeric"):
        nm.InfomorphicMemory(8).fit(np.full((5, 8), "a"))


# ------------------------------------------------------------------------------------------- speed
def _best(fn, repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def test_numpy_steps_are_not_slower_than_torch(images):
    """One training step of each layer, side by side, one thread each (numba, BLAS, torch); best of 7."""
    torch = _torch()
    import numba

    from pidlearn.backends.torch import memory as tm
    from pidlearn.backends.torch import unsupervised as tu

    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = images[0]
    pats = nm.random_patterns(160, 100, seed=0)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            nt, tt = _make(), tu.UnsupervisedTrainer(784, 12, batch_size=256, seed=4, progress=False)
            xb, xbt = x[:256], torch.as_tensor(x[:256])

            def torch_step():
                tt._two_pass(xbt, tt.generator)
                pid = tt.layer.pid()
                loss = tt.layer.loss(pid)
                tt.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                tt.optimizer.step()

            unsup = _best(lambda: nt.step(xb)) / _best(torch_step)
            setup = {"input_weight": 2.3, "binning": "fixed", "n_bins": 60}
            mem, tmem, pt = (
                nm.InfomorphicMemory(100, **setup),
                tm.InfomorphicMemory(100, **setup),
                torch.as_tensor(pats),
            )
            memory = _best(lambda: mem.fit(pats, epochs=3)) / _best(lambda: tmem.fit(pt, epochs=3))
    finally:
        numba.set_num_threads(threads)
    print(f"numpy/torch time per step: unsupervised {unsup:.2f}, memory {memory:.2f}")
    assert unsup < 1.2 and memory < 1.2  # measured about 0.45 and 0.4


# ------------------------------------------------------------------------------------------- long runs
@pytest.mark.slow
def test_probe_accuracy_matches_torch_over_seeds():
    """Independent draws per backend: 6000 images, 100 neurons, 5 epochs, 3 seeds (30 s idle, minutes loaded)."""
    torch = _torch()
    from pidlearn.backends.torch import unsupervised as tu

    d = load_mnist_small()
    x, mean, std = standardise(d["x_train"])
    xt, _, _ = standardise(d["x_test"], mean, std)
    y, yt = d["y_train"].astype(np.int64), d["y_test"].astype(np.int64)
    acc = {"numpy": [], "torch": [], "random": []}
    for seed in (0, 1, 2):
        nt = nu.UnsupervisedTrainer(784, 100, batch_size=256, seed=seed, progress=False)
        nt.fit(x, 5)
        acc["numpy"].append(nu.linear_probe(nt.codes(x), y, nt.codes(xt), yt, seed=seed))
        tt = tu.UnsupervisedTrainer(784, 100, batch_size=256, seed=seed, progress=False)
        xx, xxt = torch.as_tensor(x), torch.as_tensor(xt)
        tt.fit(xx, 5)
        acc["torch"].append(tu.linear_probe(tt.codes(xx), torch.as_tensor(y), tt.codes(xxt), torch.as_tensor(yt)))
        rp = (nu.random_projection_codes(a, 100, seed) for a in (x, xt))
        acc["random"].append(nu.linear_probe(next(rp), y, next(rp), yt, seed=seed))
    print({k: [round(100 * a, 2) for a in v] for k, v in acc.items()})
    assert 100 * abs(np.mean(acc["numpy"]) - np.mean(acc["torch"])) < 0.5, acc
    assert np.mean(acc["numpy"]) > np.mean(acc["random"]) + 0.03


@pytest.mark.slow
def test_memory_capacity_authors_setup():
    """N = 100, at most 1000 steps, the authors' protocol (loads 0.1 N ... 2 N, early stop, first failure), seeds 0-2:
    1.5 / 1.6 / 1.7 N (mean 1.6 N; the paper: 1.59 N), 11-26 s each with one numba and one BLAS thread."""
    caps = []
    for seed in (0, 1, 2):
        res = nm.recall_capacity(100, epochs=1000, input_weight=2.3, binning="fixed", n_bins=60, seed=seed)
        caps.append(res["capacity"])
        assert res["hopfield_capacity"] <= 0.14
    print("capacity per seed (N):", caps)
    assert min(caps) >= 1.5 and np.mean(caps) >= 1.55
