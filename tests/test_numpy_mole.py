"""NumPy MOLE: analytic gradients against torch autograd (float64), training, no torch, checkpoints, bad input."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from pidlearn.backends.numpy import mole_objectives as mo
from pidlearn.backends.numpy import nn
from pidlearn.backends.numpy.mole import MOLE
from pidlearn.continuous.renyi import _entropy_nats

DATA = Path(__file__).resolve().parents[1] / "pidlearn" / "data" / "mnist_small.npz"
OBJECTIVES = ("renyi", "renyi2", "renyi-norm", "infonce", "pid")
KINDS = ("mlp", "cnn", "gcn", "gin")
N_CLASSES = 3


def _graphs(rng, n_graphs=12):
    """Random small undirected graphs in one block-diagonal batch: features, edges, graph ids."""
    sizes = rng.integers(3, 7, n_graphs)
    graph = np.repeat(np.arange(n_graphs), sizes)
    edges, start = [], 0
    for s in sizes:
        for i in range(s):
            for j in range(i + 1, s):
                if rng.random() < 0.5 or j == i + 1:
                    edges += [(start + i, start + j), (start + j, start + i)]
        start += s
    return rng.normal(size=(len(graph), 5)), np.asarray(edges).T, graph


def _pair(kind, rng):
    """(torch module, numpy module, torch input, numpy input, labels) with equal float64 weights."""
    import torch

    from pidlearn.backends.torch import graph as tg

    torch.manual_seed(int(rng.integers(1 << 30)))
    if kind == "mlp":
        tmod = torch.nn.Sequential(torch.nn.Linear(7, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5), torch.nn.ReLU())
        nmod = nn.Sequential(nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU())
        x = rng.normal(size=(40, 7))
        tin, nin, n = torch.tensor(x), x, 40
    elif kind == "cnn":
        tmod = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
        nmod = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        x = rng.normal(size=(30, 2, 6, 6))
        tin, nin, n = torch.tensor(x), x, 30
    elif kind == "gcn":
        x, edges, _ = _graphs(rng)
        idx = np.arange(0, len(x), 2)
        tmod, nmod = tg.GCNBlock(5, 4, dropout=0.0), nn.GCNBlock(5, 4, dropout=0.0)
        tin = tg.GraphBatch(torch.tensor(x), torch.tensor(edges), index=torch.tensor(idx))
        nin, n = nn.GraphBatch(x, edges, index=idx), len(idx)
    else:
        x, edges, graph = _graphs(rng, 24)
        tmod, nmod = tg.GINBlock(5, 4), nn.GINBlock(5, 4)
        with torch.no_grad():
            tmod.conv.eps.fill_(0.3)
        tin = tg.GraphBatch(torch.tensor(x), torch.tensor(edges), graph=torch.tensor(graph))
        nin, n = nn.GraphBatch(x, edges, graph=graph), 24
    tmod = tmod.double()
    nmod.astype(np.float64)
    nmod.load_state_dict({k: v.numpy() for k, v in tmod.state_dict().items()})
    labels = np.arange(n) % N_CLASSES
    return tmod, nmod, tin, nin, labels


def _rel(a, b, floor: float = 0.0) -> float:
    """Largest difference relative to the largest |b| (or to ``floor``: a gradient that is 0 up to round-off, such as
    that of a bias in front of a BatchNorm, is compared with the module's gradient scale)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), floor))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_gradients_equal_torch_autograd(kind, objective, seed):
    torch = pytest.importorskip("torch")
    from pidlearn.backends.torch import mole as tm

    rng = np.random.default_rng(zlib.crc32(f"{kind}-{objective}-{seed}".encode()))
    tmod, nmod, tin, nin, labels = _pair(kind, rng)
    tobj = tm.make_objective(objective, N_CLASSES).double()
    ty = torch.tensor(labels)
    tmod.train()
    with torch.no_grad():  # size the lazy critic / units
        tobj(tm._represent(tmod(tin)), ty)
    trainer = MOLE([nmod], objective, n_classes=N_CLASSES, progress=False)
    obj = trainer.objectives[0]
    obj.materialise(nn.represent(nmod.forward(nin, True)))
    obj.load_state_dict({k: v.numpy() for k, v in tobj.state_dict().items()})
    for p in obj.params.values():
        assert p.dtype == np.float64
    tmod.zero_grad()
    tobj.zero_grad()
    t = tm._represent(tmod(tin))
    mi_t = tobj(t, ty)
    (-mi_t).backward()
    _, _, mi, grads = trainer.module_step(0, nin, None, labels, update=False)
    assert mi == pytest.approx(float(mi_t.detach()), rel=1e-8, abs=1e-12)  # k-NN width: √ of ~0 distances
    tgrads = {f"m.{k}": p.grad for k, p in tmod.named_parameters()}
    tgrads.update({f"o.{k}": p.grad for k, p in tobj.named_parameters() if p.grad is not None})
    assert set(tgrads) <= set(grads)
    floor = 1e-6 * max(float(g.abs().max()) for g in tgrads.values())
    for k, g in tgrads.items():
        assert _rel(grads[k], g.numpy(), floor) < 1e-8, (k, _rel(grads[k], g.numpy(), floor))
    assert np.abs(grads["m." + next(iter(nmod.params))]).max() > 0


def test_beta_term_gradient_equals_torch():
    torch = pytest.importorskip("torch")
    from pidlearn.backends.torch import mole as tm

    rng = np.random.default_rng(3)
    tmod, nmod, tin, nin, labels = _pair("mlp", rng)
    tobj = tm.RenyiMI()
    t = tmod(tin)
    loss = -tobj(t, torch.tensor(labels)) + 0.3 * tobj.mi(t, tin)
    loss.backward()
    trainer = MOLE([nmod], "renyi", n_classes=N_CLASSES, beta=0.3, progress=False)
    _, nloss, _, grads = trainer.module_step(0, nin, None, labels, update=False)
    assert nloss == pytest.approx(float(loss.detach()), rel=1e-10)
    for k, p in tmod.named_parameters():
        assert _rel(grads[f"m.{k}"], p.grad.numpy()) < 1e-8


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 2.0, 3.0])
def test_entropy_gradient_value_is_the_core_estimator(alpha):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4))
    k = np.exp(-0.5 * ((x[:, None] - x[None]) ** 2).sum(-1))
    a = k / np.trace(k)
    value, grad = mo.entropy_gradient(a, alpha)
    assert value == pytest.approx(_entropy_nats(a, alpha), rel=1e-12)
    # finite differences along a symmetric direction
    d = rng.normal(size=a.shape)
    d = (d + d.T) * 1e-7
    fd = (_entropy_nats(a + d, alpha) - _entropy_nats(a - d, alpha)) / 2
    assert np.sum(grad * d) == pytest.approx(fd, rel=1e-5)


@pytest.mark.parametrize("d", [3, 40, 300])
def test_knn_gram_equals_the_core_gram_matrix(d):
    from pidlearn.continuous.renyi import gram_matrix

    x = np.random.default_rng(d).normal(size=(50, d)) * 3.0
    k = mo.RenyiMI()._gram(x)[0]
    np.testing.assert_allclose(k, gram_matrix(x, "knn"), rtol=1e-10, atol=1e-13)


def _mnist(n_train=2000):
    with np.load(DATA, allow_pickle=False) as d:
        xt, yt, xe, ye = d["x_train"][:n_train], d["y_train"][:n_train], d["x_test"], d["y_test"]
    xt = xt.astype(np.float32) / 255.0
    xe = xe.astype(np.float32) / 255.0
    m, s = xt.mean(), xt.std()
    return ((xt - m) / s, yt.astype(np.int64)), ((xe - m) / s, ye.astype(np.int64))


@pytest.mark.parametrize("objective", ["renyi", "infonce"])
def test_mlp_learns_mnist_small(objective):
    (xt, yt), (xe, ye) = _mnist()
    rng = np.random.default_rng(0)
    mods = [
        nn.Sequential(nn.Linear(784, 64, seed=rng), nn.ReLU()),
        nn.Sequential(nn.Linear(64, 64, seed=rng), nn.ReLU()),
    ]
    mole = MOLE(mods, objective, n_classes=10, batch_size=128, head_lr=1e-2, progress=False, head_epochs=1)
    hist = mole.fit((xt.reshape(len(xt), -1), yt), 3, eval_sets={"test": (xe.reshape(len(xe), -1), ye)})
    assert hist[-1]["accuracy"]["test"] > 0.6  # chance 0.1; 0.72 with Rényi
    assert hist[0]["mi"]["module 1"] > 0


def test_cnn_and_pid_learn_above_chance():
    (xt, yt), (xe, ye) = _mnist(768)
    rng = np.random.default_rng(1)
    mods = [nn.Sequential(nn.Conv2d(1, 4, 5, padding=2, seed=rng), nn.ReLU(), nn.MaxPool2d(2))]
    mole = MOLE(mods, "pid", n_classes=10, batch_size=128, lr=3e-3, head_lr=1e-2, progress=False)
    mole.fit((xt[:, None], yt), 2)
    assert mole.accuracy((xe[:300, None], ye[:300])) > 0.3


def test_graph_level_gin_runs_sequential():
    rng = np.random.default_rng(2)
    batches = []
    for _ in range(3):
        x, edges, graph = _graphs(rng, 16)
        y = (np.bincount(graph) > 4).astype(np.int64)  # learnable: graph size
        batches.append((nn.GraphBatch(np.abs(x).astype(np.float32), edges, graph=graph), y))
    mods = [nn.GINBlock(5, 8, seed=0), nn.GINBlock(8, 8, seed=1)]
    mole = MOLE(mods, "renyi", n_classes=2, schedule="sequential", lr=1e-2, progress=False)
    hist = mole.fit(batches, 2)
    assert [h["stage"] for h in hist] == [0, 0, 1, 1, "head", "head"]
    assert 0 <= mole.accuracy(batches) <= 1


def test_fit_imports_no_torch(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import pidlearn.backends.numpy
        from pidlearn.backends.numpy import nn
        from pidlearn.backends.numpy.mole import MOLE
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 5)).astype(np.float32); y = (x[:, 0] > 0).astype(np.int64)
        for obj in ("renyi", "infonce", "pid"):
            m = MOLE([nn.Sequential(nn.Linear(5, 4), nn.ReLU())], obj, n_classes=2, batch_size=32, progress=False)
            m.fit((x, y), 1, checkpoint=sys.argv[1])
        g = nn.GraphBatch(x, np.array([[0, 1], [1, 0]]), index=np.arange(32))
        MOLE([nn.GCNBlock(5, 3)], n_classes=2, progress=False).fit([(g, y[:32])], 1)
        assert "torch" not in sys.modules, "torch was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.npz")], check=True, timeout=120)


def _small_trainer(seed=0):
    mods = [nn.Sequential(nn.Linear(5, 4, seed=seed), nn.ReLU())]
    return MOLE(mods, "infonce", n_classes=2, batch_size=16, progress=False, seed=seed)


def test_checkpoint_resume_equals_uninterrupted(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    full = _small_trainer()
    full.fit((x, y), 3)
    part = _small_trainer()
    part.fit((x, y), 3, checkpoint=tmp_path / "c.npz", stop_after=1)
    resumed = _small_trainer()
    resumed.prepare((x, y))
    resumed.load(tmp_path / "c.npz")
    assert resumed.epoch == 1
    resumed.fit((x, y), 3)
    np.testing.assert_array_equal(resumed.modules[0].params["0.weight"], full.modules[0].params["0.weight"])
    assert resumed.history == full.history or [h["mi"] for h in resumed.history] == [h["mi"] for h in full.history]
    with np.load(tmp_path / "c.npz", allow_pickle=False) as d:
        assert "_pidlearn" in d.files


def test_checkpoint_errors(tmp_path):
    t = _small_trainer()
    x = np.zeros((32, 5), np.float32) + np.arange(32)[:, None]
    t.prepare((x, np.arange(32) % 2))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a pidlearn checkpoint"):
        t.load(bad)
    with pytest.raises(FileNotFoundError):
        t.load(tmp_path / "missing.npz")
    other = MOLE([nn.Sequential(nn.Linear(5, 6), nn.ReLU())], "infonce", n_classes=2, progress=False)
    other.prepare((x, np.arange(32) % 2))
    other.save(tmp_path / "o.npz")
    with pytest.raises(ValueError, match="does not match"):
        t.load(tmp_path / "o.npz")


def test_bad_input():
    x = np.zeros((32, 5), np.float32)
    y = np.arange(32) % 2
    lin = [nn.Sequential(nn.Linear(5, 4), nn.ReLU())]
    with pytest.raises(TypeError, match="Linear/ReLU"):
        MOLE([object()], n_classes=2)
    with pytest.raises(ValueError, match="objective must be one of"):
        MOLE(lin, "mine", n_classes=2)
    with pytest.raises(ValueError, match="n_classes"):
        MOLE(lin, "infonce")
    with pytest.raises(ValueError, match="schedule"):
        MOLE(lin, n_classes=2, schedule="parallel")
    with pytest.raises(ValueError, match="batch_size"):
        MOLE(lin, n_classes=2, batch_size=1)
    with pytest.raises(ValueError, match="sigma"):
        mo.RenyiMI(sigma="knn_median")
    m = MOLE(lin, n_classes=2, progress=False)
    with pytest.raises(TypeError, match="labels must be an integer"):
        m.fit((x, y.astype(float)), 1)
    with pytest.raises(ValueError, match="NaN or inf"):
        m.fit((x + np.nan, y), 1)
    with pytest.raises(ValueError, match="n_classes=2"):
        m.fit((x, y + 5), 1)
    with pytest.raises(ValueError, match="epochs"):
        m.fit((x, y), 0)
    with pytest.raises(TypeError, match="data must be"):
        m.fit("data", 1)
    with pytest.raises(ValueError, match="at least 2 samples"):
        mo.RenyiMI()(np.zeros((1, 3)), np.zeros(1, int))


# ------------------------------------------------------------------------------------------------------------------
# the node default recipe (Kipf & Welling's GCN, early stopping) in NumPy, against torch
def test_early_stopping_rule_on_hand_worked_histories():
    from pidlearn.backends._selection import STOP_WINDOW, stopped

    def hist(losses, every=1):  # records without eval_loss (epochs that were not evaluated) do not count
        return [{"eval_loss": {"val": v}} if k % every == 0 else {} for k, v in enumerate(losses)]

    assert STOP_WINDOW == 10
    assert not stopped([]) and not stopped(hist([1.0] * 11))
    assert not stopped(hist([1.0] * 10 + [5.0]))  # 11 losses: too early (Kipf & Welling: epoch > window)
    assert stopped(hist([1.0] * 11 + [1.01]))  # 12th loss above the mean of the 10 before it (1.0)
    assert not stopped(hist([1.0] * 11 + [1.0]))  # equal to the mean: go on
    assert not stopped(hist(list(np.linspace(2, 1, 30))))  # falling
    # the mean of the 10 before the last, worked by hand: 5, then 1..10 (mean 5.5), last 5.6 > 5.5 stops, 5.4 not
    assert stopped(hist([5.0, *range(1, 11), 5.6])) and not stopped(hist([5.0, *range(1, 11), 5.4]))
    assert stopped(hist([9.0, 1.0, 1.0, 2.0]), window=2) and not stopped(hist([9.0, 1.0, 2.0]), window=2)
    assert not stopped(hist([9.0, 1.0, 1.0, 1.0]), window=2)
    # only evaluated records count: 12 evaluated among 23 records
    assert stopped(hist([1.0 if k < 22 else 1.01 for k in range(23)], every=2))
    assert not stopped(hist([1.0 if k < 20 else 1.01 for k in range(21)], every=2))  # 11 evaluated


def test_torch_experiments_use_the_shared_rule_and_recipes():
    pytest.importorskip("torch")
    from pidlearn.backends import _selection
    from pidlearn.backends.numpy import mole as nm
    from pidlearn.backends.torch import mole_data as md

    assert md._stopped is _selection.stopped and md.STOP_WINDOW == _selection.STOP_WINDOW
    # the NumPy copy of the recipes it runs may not drift: legacy for every data type, default for node data
    assert nm.RECIPES["legacy"] == md.RECIPES["legacy"] and list(nm.RECIPES["default"]) == ["node"]
    assert nm.RECIPES["default"]["node"] == md.RECIPES["default"]["node"]
    labels = np.random.default_rng(3).integers(0, 4, 97)
    for a, b in zip(_selection.holdout_split(labels, 0.1, 5), md.holdout_split(labels, 0.1, 5), strict=True):
        np.testing.assert_array_equal(a, b)


def _node_task(n=90, n_classes=3, d=12):
    """A small node task: sparse signed features with the class in one column, a ring graph, a Planetoid-like split.

    Signed features keep every hidden unit inactive on some training nodes: a unit active on all of them has a Rényi
    gradient of 0 up to round-off on its bias, which Adam's m/√v turns into steps of ±lr that differ across backends.
    """
    rng = np.random.default_rng(0)
    labels = np.arange(n) % n_classes
    x = (rng.random((n, d)) < 0.3) * rng.normal(size=(n, d))
    x[np.arange(n), labels] += 1.0
    src = np.arange(n)
    edges = np.concatenate([np.stack([src, (src + 3) % n]), np.stack([(src + 3) % n, src])], axis=1)
    split = {"train": np.arange(15), "val": np.arange(15, 45), "test": np.arange(45, n)}
    return x, labels, edges, split


def test_default_node_recipe_equals_torch_from_the_same_weights():
    """Kipf & Welling's GCN (sparse-input module, GCN head that sees the graph, weight decay on the module only, head
    lr 0.05) trained by both MOLEs in float64 with dropout off, stopped by the shared rule: the same run."""
    torch = pytest.importorskip("torch")
    from pidlearn.backends.numpy import mole as nm
    from pidlearn.backends.torch import graph as tg
    from pidlearn.backends.torch import mole as tm
    from pidlearn.backends.torch import mole_data as md

    cfg = md.RECIPES["default"]["node"]
    assert cfg["network"] == "kipf" and cfg["select"] == "early-stop" and cfg["head_weight_decay"] == 0.0
    x, labels, edges, split = _node_task()
    torch.manual_seed(0)
    tmods, thead = md.build_network("node", x.shape[1], 3, cfg["hidden"], "kipf")
    tmods, thead = [m.double() for m in tmods], thead.double()
    nmods, nhead = nm.build_network("node", x.shape[1], 3, cfg["hidden"], "kipf", seed=0)
    nmods, nhead = [m.astype(np.float64) for m in nmods], nhead.astype(np.float64)
    assert nmods[0].sparse_input and tmods[0].sparse_input and nhead.takes_graph and not nhead.activation
    for t, m in zip([*tmods, thead], [*nmods, nhead], strict=True):
        m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()}, strict=False)
        t.dropout.p = m.dropout.p = 0.0
    tgraph, ngraph = tg.GraphBatch(torch.tensor(x), torch.tensor(edges)), nn.GraphBatch(x, edges)
    tdata = {k: [(tgraph.with_index(torch.tensor(v)), torch.tensor(labels[v]))] for k, v in split.items()}
    ndata = {k: [(ngraph.with_index(v), labels[v])] for k, v in split.items()}
    kw = {"n_classes": 3, "lr": cfg["lr"], "weight_decay": cfg["weight_decay"], "head_lr": cfg["head_lr"]}
    kw.update(head_weight_decay=cfg["head_weight_decay"], batch_size=cfg["batch_size"], progress=False)
    tmole, nmole = tm.MOLE(tmods, "renyi", thead, **kw), nm.MOLE(nmods, "renyi", nhead, **kw)
    assert nmole.head_weight_decay == 0.0 and nmole.optimizers == {}
    md._fit_early_stop(tmole, tdata["train"], tdata["val"], cfg["epochs"], is_mole=True)
    nm.fit_early_stop(nmole, ndata["train"], ndata["val"], cfg["epochs"])
    # measured: both stop after epoch 23; weights equal to 2e-12, validation losses to 1e-14, MI to 2e-13
    assert 12 <= nmole.epoch == tmole.epoch < cfg["epochs"]
    for rn, rt in zip(nmole.history, tmole.history, strict=True):
        assert rn["mi"]["module 1"] == pytest.approx(rt["mi"]["module 1"], rel=1e-10)
        assert rn["head_loss"] == pytest.approx(rt["head_loss"], rel=1e-10)
        assert rn["eval_loss"]["val"] == pytest.approx(rt["eval_loss"]["val"], rel=1e-10)
    for name, t, m in (("module", tmole.modules[0], nmole.modules[0]), ("head", tmole.head, nmole.head)):
        for k, v in t.state_dict().items():
            np.testing.assert_allclose(m.state_dict()[k], v.numpy(), rtol=0, atol=1e-8, err_msg=f"{name} {k}")
    assert nmole.optimizers["head"].weight_decay == 0.0 and nmole.optimizers["module 1"].weight_decay == 5e-4
    assert nmole.accuracy(ndata["test"]) == pytest.approx(tmole.accuracy(tdata["test"]))


def test_sparse_input_dropout_drops_nonzeros_and_backpropagates_like_dense():
    x, _, edges, _ = _node_task()
    g = nn.GraphBatch(x, edges, index=np.arange(20))
    sparse = nn.GCNBlock(12, 5, 0.5, sparse_input=True, seed=1).astype(np.float64)
    dense = nn.GCNBlock(12, 5, 0.0, seed=2).astype(np.float64)
    dense.load_state_dict({k: v for k, v in sparse.state_dict().items() if k.startswith("conv.")}, strict=False)
    # eval: no dropout, the sparse product equals the dense one
    np.testing.assert_allclose(sparse.forward(g, False).x, dense.forward(g, False).x, rtol=1e-13, atol=1e-15)
    # train: the nonzero features are kept x 2 or dropped, the zeros stay zero; gradients = dense on those inputs
    out = sparse.forward(g, True)
    dropped = sparse.conv._cache[0].toarray()
    nz = x != 0
    assert np.all(dropped[~nz] == 0) and np.all(np.isclose(dropped[nz], 0) | np.isclose(dropped[nz], 2 * x[nz]))
    kept = np.isclose(dropped[nz], 2 * x[nz]).mean()
    assert 0.4 < kept < 0.6  # 329 nonzeros, p = 0.5
    ref = dense.forward(g.with_x(dropped), True)
    np.testing.assert_allclose(out.x, ref.x, rtol=1e-13, atol=1e-15)
    gout = np.random.default_rng(4).normal(size=out.x.shape)
    sparse.backward(gout, need_input=False)
    dense.backward(gout, need_input=False)
    for k in ("conv.linear.weight", "conv.bias"):
        np.testing.assert_allclose(sparse.grads[k], dense.grads[k], rtol=1e-12, atol=1e-14, err_msg=k)
    with pytest.raises(ValueError, match="no input gradient"):
        sparse.backward(gout, need_input=True)


def _planetoid_file(root):
    x, labels, edges, split = _node_task()
    (root / "planetoid").mkdir()
    counts = (np.abs(x) > 0.5).astype(np.uint8)  # a bag of words
    counts[np.arange(len(labels)), labels] = 1
    np.savez(root / "planetoid" / "cora.npz", features=counts, labels=labels, edges=edges,
             **{f"{k}_idx": v for k, v in split.items()})  # fmt: skip
    return root


def test_run_experiment_default_node_recipe_stops_by_the_rule_and_resumes(tmp_path):
    from pidlearn.backends._selection import stopped
    from pidlearn.backends.numpy.mole import run_experiment

    root = _planetoid_file(tmp_path)
    res = run_experiment("node", "cora", root, seed=1)
    assert res["recipe"] == "default" and res["select"] == "early-stop" and res["settings"]["network"] == "kipf"
    hist, n = res["history"], res["epochs_run"]
    assert len(hist) == n and all("val" in h["eval_loss"] for h in hist)
    assert all(not stopped(hist[:k]) for k in range(1, n)) and (n == 200 or stopped(hist))
    assert set(hist[-1]["mi"]) == {"module 1"} and 0 <= res["test_accuracy"] <= 1
    # a run cut after 3 epochs and resumed from its checkpoint = the uninterrupted one (dropout masks included)
    ckpt = tmp_path / "m.npz"
    first = run_experiment("node", "cora", root, seed=1, epochs=3, checkpoint=ckpt)
    assert first["epochs_run"] == 3 and ckpt.is_file()
    resumed = run_experiment("node", "cora", root, seed=1, checkpoint=ckpt)
    assert resumed["epochs_run"] == n and resumed["test_accuracy"] == res["test_accuracy"]
    assert [h["eval_loss"] for h in resumed["history"]] == [h["eval_loss"] for h in hist]
    with pytest.raises(ValueError, match="select must be one of"):
        run_experiment("node", "cora", root, select="val")
    with pytest.raises(ValueError, match="recipe must be one of"):
        run_experiment("node", "cora", root, recipe="kipf")
    with pytest.raises(ValueError, match=r"constant learning rates.*'cosine'"):
        run_experiment("node", "cora", root, lr_schedule="cosine")
    with pytest.raises(ValueError, match=r"default recipe for node data only, not 'graph'.*recipe 'legacy'"):
        run_experiment("graph", "mutag", root, recipe="default")


def test_graph_legacy_network_sequential_equals_torch_from_the_same_weights():
    """The MUTAG network (3 GIN blocks with BatchNorm, sum pooling, Dropout-linear head) trained by both MOLEs with the
    sequential schedule in float64 from the same weights (head dropout off): the same stages, MI, losses and weights.

    What the paired MUTAG comparison (``benchmarks/mole_backend_agreement.py --paired``) relies on: BatchNorm's
    running statistics (momentum, unbiased variance), the frozen modules in evaluation mode, the stage rule on the
    training MI, the head stage on the frozen modules.
    """
    torch = pytest.importorskip("torch")
    from pidlearn.backends.numpy import mole as nm
    from pidlearn.backends.torch import graph as tg
    from pidlearn.backends.torch import mole as tm
    from pidlearn.backends.torch import mole_data as md

    rng = np.random.default_rng(5)
    tbatches, nbatches = [], []
    for _ in range(2):
        x, edges, graph = _graphs(rng, 16)
        x, y = np.abs(x), (np.bincount(graph) > 4).astype(np.int64)  # learnable: graph size
        tgraph = tg.GraphBatch(torch.tensor(x), torch.tensor(edges), graph=torch.tensor(graph))
        tbatches.append((tgraph, torch.tensor(y)))
        nbatches.append((nn.GraphBatch(x, edges, graph=graph), y))
    torch.manual_seed(0)
    tmods, thead = md.build_network("graph", 5, 2, 16)
    tmods, thead = [m.double() for m in tmods], thead.double()
    nmods, nhead = nm.build_network("graph", 5, 2, 16, seed=0)
    nmods, nhead = [m.astype(np.float64) for m in nmods], nhead.astype(np.float64)
    for t, m in zip([*tmods, thead], [*nmods, nhead], strict=True):
        m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    thead[0].p = nhead[0].p = 0.0
    kw = {"n_classes": 2, "schedule": "sequential", "lr": 1e-2, "batch_size": 16, "progress": False}
    tmole, nmole = tm.MOLE(tmods, "renyi", thead, **kw), nm.MOLE(nmods, "renyi", nhead, **kw)
    tmole.fit(tbatches, 3)
    nmole.fit(nbatches, 3)
    # measured (4 epochs per stage): weights and running statistics equal to 7e-9 (the biases in front of a BatchNorm,
    # whose gradient is 0 up to round-off, part first), MI to 2e-10 relative, head losses to 2e-9
    assert [h["stage"] for h in nmole.history] == [h["stage"] for h in tmole.history]
    assert {h["stage"] for h in nmole.history} == {0, 1, 2, "head"}
    for rn, rt in zip(nmole.history, tmole.history, strict=True):
        for k, v in rt["mi"].items():
            assert rn["mi"][k] == pytest.approx(v, rel=1e-8)
        if "head_loss" in rt:
            assert rn["head_loss"] == pytest.approx(rt["head_loss"], rel=1e-7)
    for name, t, m in zip(("module 1", "module 2", "module 3", "head"), [*tmods, thead], [*nmods, nhead], strict=True):
        for k, v in t.state_dict().items():
            if not k.endswith("num_batches_tracked"):  # a counter the NumPy BatchNorm does not keep
                np.testing.assert_allclose(m.state_dict()[k], v.numpy(), rtol=0, atol=1e-7, err_msg=f"{name} {k}")
    assert nmole.accuracy(nbatches) == pytest.approx(tmole.accuracy(tbatches))
