"""The graph default recipe of ``pidlearn mole``: Xu et al.'s GIN-0 under Errica et al.'s fold protocol.

The CLI's ``--seed S`` must give exactly the numbers of ``benchmarks/gin_protocols.py`` for seed S (same folds, same
trainer seeds ``1000·S + fold``, same batches); the selection rule, the learning-rate steps, the network and the
errors of the combinations the new selection does not allow are checked on their own.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from pidlearn.cli import main  # noqa: E402


def _cli_json(capsys, argv):
    rc = main(["mole", *argv, "--json"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one line"
    return rc, json.loads(out)


# ------------------------------------------------------------------------------------------------------------------
def test_cli_seed_gives_the_gin_protocols_numbers(gin_protocols, capsys, shared_dir):
    """Seed 1 (so that the 1000·S + fold trainer seeds matter), folds 0 and 1, 3 epochs: every per-fold number of
    the CLI (MOLE with the PID objective, and backprop) equals the benchmark's errica run of the same seed."""
    from pidlearn.backends.torch.mole_data import find_dataset, load_tu

    data = shared_dir / "datasets"
    torch.set_num_threads(1)
    rc, res = _cli_json(
        capsys,
        ["--data-type", "graph", "--dataset", "mutag", "--data", str(data), "--baseline", "--seed", "1",
         "--folds", "2", "--epochs", "3"],
    )  # fmt: skip
    assert rc == 0 and res["recipe"] == "default" and res["select"] == "val-patience" and res["patience"] == 50
    assert res["objective"] == "pid" and res["schedule"] == "asynchronous" and res["lr_schedule"] == "step"
    assert res["settings"]["network"] == "gin0" and res["settings"]["hidden"] == 32
    assert [f["seed"] for f in res["per_fold"]] == [1000, 1001]

    ds = load_tu(find_dataset("graph", "mutag", data))
    args = SimpleNamespace(epochs=3, iters_per_epoch=None, lr_step=50, objective="pid", patience=50)
    for fold in (0, 1):
        ours = res["per_fold"][fold]
        mole = gin_protocols.run_fold(ds, gin_protocols.run_spec(args, "mutag", "errica", "mole", 1, fold))
        bp = gin_protocols.run_fold(ds, gin_protocols.run_spec(args, "mutag", "errica", "backprop", 1, fold))
        assert (ours["n_train"], ours["n_val"], ours["n_test"]) == (mole["n_train"], mole["n_val"], mole["n_test"])
        assert ours["test_accuracy"] == mole["test_accuracy"] == res["fold_accuracy"][fold]
        assert ours["best_epoch"] == mole["best_epoch"] == res["fold_best_epoch"][fold]
        assert ours["val_curve"] == mole["val_curve"] and ours["val_accuracy"] == mole["val_accuracy"]
        assert ours["baseline_accuracy"] == bp["test_accuracy"] == res["fold_baseline_accuracy"][fold]
        assert ours["baseline_best_epoch"] == bp["best_epoch"] == res["fold_baseline_best_epoch"][fold]
        assert ours["baseline_val_curve"] == bp["val_curve"]
    assert res["test_accuracy"] == pytest.approx(np.mean(res["fold_accuracy"]))


def test_default_graph_recipe_is_the_errica_row():
    from pidlearn.backends._recipes import RECIPES

    g = RECIPES["default"]["graph"]
    assert g == {
        "objective": "pid", "schedule": "asynchronous", "select": "val-patience", "patience": 50, "network": "gin0",
        "epochs": 200, "batch_size": 32, "lr": 1e-2, "head_lr": 1e-2, "weight_decay": 0.0, "hidden": 32,
        "dropout": 0.5, "lr_schedule": "step", "fold_seed_stride": 1000,
    }  # fmt: skip
    legacy = RECIPES["legacy"]["graph"]
    assert legacy["network"] == "legacy" and legacy["select"] == "last" and legacy["objective"] == "renyi"
    assert "fold_seed_stride" not in legacy and "lr_schedule" not in legacy  # seeds seed + fold, constant rates


def test_legacy_recipe_still_runs_the_old_graph_settings(capsys, shared_dir):
    argv = ["--data-type", "graph", "--dataset", "mutag", "--data", str(shared_dir / "datasets"), "--recipe",
            "legacy", "--folds", "1", "--epochs", "1", "--seed", "2"]  # fmt: skip
    rc, res = _cli_json(capsys, argv)
    assert rc == 0 and res["select"] == "last" and res["objective"] == "renyi" and res["lr_schedule"] == "constant"
    assert res["settings"]["network"] == "legacy" and res["settings"]["hidden"] == 64
    assert res["per_fold"][0]["seed"] == 2 and "patience" not in res and "fold_best_epoch" not in res
    # the NumPy backend runs legacy for graph data when no recipe is given
    rc, res = _cli_json(capsys, [*argv[:6], "--folds", "1", "--epochs", "1", "--backend", "numpy"])
    assert rc == 0 and res["recipe"] == "legacy" and res["select"] == "last"


# ------------------------------------------------------------------------------------------------------------------
class _Scripted:
    """A Backprop-like trainer whose hold-out accuracy and loss follow a script; its weight is its epoch."""

    def __init__(self, accs, losses):
        self.accs, self.losses = accs, losses
        self.modules, self.head = nn.Linear(1, 1), nn.Linear(1, 1)
        self.epoch, self.history, self.test_reads = 0, [], []

    def fit(self, data, epochs, *, eval_sets=None, checkpoint=None):
        while self.epoch < epochs:
            self.epoch += 1
            with torch.no_grad():
                self.head.bias.fill_(self.epoch)
            e = self.epoch - 1
            rec = {"epoch": self.epoch, "seconds": 0.5}
            rec["accuracy"], rec["eval_loss"] = {"val": self.accs[e]}, {"val": self.losses[e]}
            self.history.append(rec)

    def accuracy(self, data):
        self.test_reads.append(self.epoch)
        return float(self.head.bias.detach())  # the epoch whose weights are loaded


def test_fit_holdout_selection_ties_patience_and_one_test_read():
    from pidlearn.backends.torch.mole_data import fit_holdout

    accs = [0.5, 0.7, 0.7, 0.7, 0.6, 0.6, 0.9, 0.9]
    losses = [1.0, 0.9, 0.8, 0.8, 0.7, 0.7, 0.1, 0.1]
    t = _Scripted(accs, losses)
    res = fit_holdout(t, None, None, "test", epochs=8, patience=3)
    # epoch 3 ties epoch 2 on accuracy with a lower loss: chosen; epoch 4 ties epoch 3 exactly: the earlier stays;
    # no better epoch in the 3 after it: stop after epoch 6, before the better epoch 7
    assert res["best_epoch"] == 3 and res["val_accuracy"] == 0.7 and res["val_loss"] == 0.8
    assert res["epochs_run"] == 6 and res["val_curve"] == accs[:6]
    assert t.test_reads == [6] and res["test_accuracy"] == 3.0  # read once, after training, with epoch 3's weights
    assert res["seconds"] == 3.0 and res["seconds_per_epoch"] == 0.5
    res = fit_holdout(_Scripted(accs, losses), None, None, "test", epochs=5, patience=50)
    assert res["epochs_run"] == 5 and res["best_epoch"] == 3  # the epoch limit ends it
    with pytest.raises(ValueError, match="no epoch was evaluated on the hold-out"):
        fit_holdout(t, None, None, "test", epochs=6, patience=3)  # t has trained its 6 epochs already
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="patience must be an integer of at least 1"):
            fit_holdout(_Scripted(accs, losses), None, None, "test", epochs=5, patience=bad)


def test_fit_holdout_on_real_trainers_restores_the_chosen_weights(toy_graphs):
    from pidlearn.backends.torch.graph import gin_network
    from pidlearn.backends.torch.mole import MOLE, Backprop
    from pidlearn.backends.torch.mole_data import fit_holdout

    ds = toy_graphs(24)
    ids = np.arange(len(ds))
    train, val, test = ds.loader(ids[:14], 7), ds.loader(ids[14:19], 8), ds.loader(ids[19:], 8)
    for cls, kw in ((Backprop, {}), (MOLE, {"objective": "infonce"})):
        torch.manual_seed(0)
        mods, head = gin_network(ds.n_features, 2, hidden=6, dropout=0.0, layers=2)
        trainer = cls(mods, head=head, n_classes=2, batch_size=7, lr=0.01, progress=False, **kw)
        res = fit_holdout(trainer, train, val, test, epochs=5, patience=2, lr_schedule="step", lr_step=2)
        assert res["epochs_run"] == min(5, res["best_epoch"] + 2) and len(res["val_curve"]) == res["epochs_run"]
        assert trainer.accuracy(val) == res["val_accuracy"] == max(res["val_curve"])  # the chosen weights are back
        assert trainer.accuracy(test) == res["test_accuracy"]


def test_step_schedule_halves_every_rate(toy_graphs):
    from pidlearn.backends.torch.graph import gin_network
    from pidlearn.backends.torch.mole import MOLE
    from pidlearn.backends.torch.mole_data import LR_GAMMA, LR_STEP, set_learning_rates

    assert (LR_STEP, LR_GAMMA) == (50, 0.5)  # Xu et al.: halved every 50 epochs
    ds = toy_graphs(12)
    train = ds.loader(np.arange(12), 6)
    torch.manual_seed(0)
    mods, head = gin_network(ds.n_features, 2, hidden=4, dropout=0.0, layers=1)
    m = MOLE(mods, "infonce", head, n_classes=2, batch_size=6, lr=0.02, head_lr=0.01, progress=False)
    seen = []
    for _ in range(5):
        seen.append(set_learning_rates(m, train, 0, "step", lr_step=2))
        rates = {k: [g["lr"] for g in o.param_groups] for k, o in m.optimizers.items()}
        assert rates == {"module 1": [0.02 * seen[-1]], "head": [0.01 * seen[-1]]}
        m.fit(train, m.epoch + 1)
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert set_learning_rates(m, train, 0, "constant") == 1.0 and m.optimizers["head"].param_groups[0]["lr"] == 0.0025
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        set_learning_rates(m, train, 0, "linear")


def test_gin_network_is_gin0_with_the_all_layer_readout(toy_graphs):
    from pidlearn.backends.torch.graph import AllLayerReadout, LayerBatch, Tapped, gin_network

    ds = toy_graphs(12)
    g, _ = ds.collate(np.arange(12))
    torch.manual_seed(0)
    modules, head = gin_network(ds.n_features, 2, hidden=5, dropout=0.0)
    assert len(modules) == 4 and all(isinstance(m, Tapped) and m.block.conv.eps is None for m in modules)  # ε = 0
    assert isinstance(head, AllLayerReadout) and [lin.in_features for lin in head.linears] == [3, 5, 5, 5, 5]
    for m in (*modules, head):
        m.eval()
    h, feats = g, [g.x]
    for m in modules:
        h = m(h)
        feats.append(h.x)
        assert isinstance(h, LayerBatch) and h.represent().shape == (12, 5)  # the objective sees the current layer
    assert len(h.layers) == 4
    manual = sum(
        lin(torch.zeros(12, f.shape[1]).index_add_(0, g.graph, f)) for lin, f in zip(head.linears, feats, strict=True)
    )
    torch.testing.assert_close(head(h), manual)
    # ε = 0: the first GIN layer's MLP input is h_v + Σ_{u ∈ N(v)} h_u
    conv = modules[0].block.conv
    agg = g.x + torch.zeros_like(g.x).index_add_(0, g.edges[1], g.x[g.edges[0]])
    torch.testing.assert_close(conv(g.x, g), conv.mlp(agg))
    with pytest.raises(ValueError, match="read-out has 5 layers but the batch carries 3"):
        head(modules[1](modules[0](g)))
    bad = [({"hidden": 0}, "hidden must be at least 1"), ({"dropout": 1.0}, "dropout must lie"),
           ({"layers": 2.5}, "layers must be an int"), ({"n_classes": 1}, "n_classes must be at least 2")]  # fmt: skip
    for kw, match in bad:
        args = {"in_features": 3, "n_classes": 2, **kw}
        with pytest.raises((ValueError, TypeError), match=match):
            gin_network(**args)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--data-type", "vector", "--dataset", "mnist", "--select", "val-patience"], "lr_schedule='cosine' needs"),
        (["--data-type", "graph", "--dataset", "mutag", "--checkpoint", "x.pt"], "not 'val-patience'"),
        (["--data-type", "graph", "--dataset", "mutag", "--select", "val-patience", "--checkpoint", "x.pt"],
         "--checkpoint cannot resume --select val-patience"),
        (["--data-type", "graph", "--dataset", "mutag", "--recipe", "legacy", "--select", "val-patience"],
         "needs patience"),
        (["--data-type", "graph", "--dataset", "mutag", "--select", "last", "--patience", "3"],
         "patience applies to select='val-patience' only"),
        (["--data-type", "graph", "--dataset", "mutag", "--patience", "0"], "--patience must be at least 1"),
        (["--data-type", "graph", "--dataset", "mutag", "--backend", "numpy", "--patience", "3"],
         "--backend numpy does not support --patience"),
    ],
)  # fmt: skip
def test_combinations_the_new_selection_does_not_allow(capsys, shared_dir, extra, message):
    rc, res = _cli_json(capsys, ["--data", str(shared_dir / "datasets"), *extra])  # refused before training
    assert rc == 2 and message in res["error"] and "\n" not in res["error"]


def test_step_schedule_allows_early_stopping(shared_dir):
    from pidlearn.backends.torch.mole_data import run_experiment

    res = run_experiment("graph", "mutag", shared_dir / "datasets", select="early-stop", epochs=2, folds=1)
    assert res["lr_schedule"] == "step" and res["per_fold"][0]["epochs_run"] == 2 and "patience" not in res


def test_cli_text_reports_each_fold(capsys, shared_dir):
    argv = ["mole", "--data-type", "graph", "--dataset", "mutag", "--data", str(shared_dir / "datasets"), "--folds",
            "2", "--epochs", "2", "--baseline"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pid objective, asynchronous schedule, at most 2 epochs (patience 50)" in out
    assert "default recipe, selection val-patience" in out
    assert "epoch chosen on each fold's validation graphs: MOLE [" in out and "], backprop [" in out
    assert len(out.split("test accuracy per fold, MOLE (%): ")[1].splitlines()[0].split()) == 2
    assert "test accuracy per fold, backprop (%): " in out


@pytest.mark.slow
def test_mutag_default_recipe_row(shared_dir):
    """The no-option command's run (about 2 min on one core): the Errica MUTAG row of docs/results/mole.md, seed 0."""
    from pidlearn.backends.torch.mole_data import run_experiment

    torch.set_num_threads(1)
    res = run_experiment("graph", "mutag", shared_dir / "datasets", baseline=True, seed=0)
    assert res["folds"] == 10 and res["select"] == "val-patience" and res["settings"]["network"] == "gin0"
    assert all(1 <= e <= 200 for e in res["fold_best_epoch"] + res["fold_baseline_best_epoch"])
    # measured (2026-11-30, = benchmarks/gin_protocols.py seed 0): MOLE 83.54 %, backprop 82.89 %
    assert res["test_accuracy"] > 0.80 and res["baseline_accuracy"] > 0.79
