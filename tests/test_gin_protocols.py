"""The protocol logic of benchmarks/gin_protocols.py: Xu et al.'s epoch selection, Errica et al.'s hold-out (the
test fold untouched until the end), the learning-rate steps of an epoch, resuming and the table. The network, the
hold-out rule and the step schedule live in the library (tests/test_gin0_recipe.py); here: that the script uses
them."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_xu_selects_one_epoch_for_all_folds_by_the_mean(gin_protocols):
    curves = [[0.5, 0.9, 0.6], [0.8, 0.6, 0.7]]  # fold means per epoch: 0.65, 0.75, 0.65
    assert gin_protocols.xu_select(curves) == (2, pytest.approx(0.75))  # not the mean of per-fold maxima (0.85)
    assert gin_protocols.xu_select([[0.6, 0.6], [0.6, 0.6]]) == (1, pytest.approx(0.6))  # ties: the first epoch


def test_errica_never_looks_at_the_test_fold_and_restores_the_chosen_epoch(gin_protocols, toy_graphs):
    ds = toy_graphs(60)
    ids = np.arange(len(ds))
    train = gin_protocols.sampled_batches(ds, ids[:40], 8, 2)
    val, real_test = ds.loader(ids[40:50], 8), ds.loader(ids[50:], 8)
    cfg = {"hidden": 8, "batch_size": 8, "dropout": 0.0}
    for method in gin_protocols.METHODS:
        trainer = gin_protocols.make_trainer(method, ds.n_features, ds.n_classes, cfg, seed=0)
        seen = []

        def test(generator, trainer=trainer, seen=seen):
            seen.append(trainer.epoch)  # when the test fold is read
            return real_test(generator)

        res = gin_protocols.run_errica(trainer, train, val, test, epochs=8, patience=3)
        assert seen == [res["epochs_run"]]  # once, after training stopped
        assert res["val_accuracy"] == max(res["val_curve"])
        assert res["epochs_run"] == min(8, res["best_epoch"] + 3)
        assert gin_protocols.evaluate(trainer, val)[0] == res["val_accuracy"]  # the chosen epoch's weights are back
        assert res["test_accuracy"] == gin_protocols.evaluate(trainer, real_test)[0]


def test_the_script_uses_the_library_network_and_protocol(gin_protocols):
    from pidlearn.backends.torch import graph, mole_data

    assert gin_protocols.gin_network is graph.gin_network and gin_protocols.fit_holdout is mole_data.fit_holdout
    assert not hasattr(gin_protocols, "LayerBatch") and not hasattr(
        gin_protocols, "step_lr"
    )  # no copy left in the script


def test_mole_head_sends_no_gradient_into_the_modules(gin_protocols, toy_graphs):
    ds = toy_graphs(12)
    g, y = ds.collate(np.arange(12))
    trainer = gin_protocols.make_trainer(
        "mole", ds.n_features, 2, {"hidden": 5, "batch_size": 12, "dropout": 0.5}, seed=0
    )
    trainer.prepare([(g, y)])
    out = g
    for m in trainer.modules:
        out = m(out)
    trainer.head_loss(out, y).backward()  # every layer the all-layer read-out reads is detached
    assert all(p.grad is None for p in trainer.modules.parameters())
    assert all(p.grad is not None for p in trainer.head.parameters())


def test_learning_rate_halves_every_step(gin_protocols, toy_graphs):
    ds = toy_graphs(20)
    trainer = gin_protocols.make_trainer(
        "backprop", ds.n_features, 2, {"hidden": 4, "batch_size": 8, "dropout": 0.0}, seed=0
    )
    train = gin_protocols.sampled_batches(ds, np.arange(20), 8, 1)
    rates = []
    for _ in range(5):
        gin_protocols.train_one_epoch(trainer, train, step=2)
        rates.append(trainer.optimizers["all"].param_groups[0]["lr"])  # the rate the epoch trained at
    assert rates == [0.01, 0.01, 0.005, 0.005, 0.0025]
    assert trainer.optimizers["all"].param_groups[0]["lr"] == 0.0025


def test_main_resumes_and_tabulates(gin_protocols, tmp_path, monkeypatch, shared_dir):
    calls = []
    curves = {0: [0.8, 0.9], 1: [0.9, 0.7]}  # per fold; seed s adds s/10 to fold 0 at epoch 1

    def fake(ds, spec):
        calls.append((spec["seed"], spec["fold"]))
        curve = list(curves[spec["fold"]])
        if spec["fold"] == 0:
            curve[0] += spec["seed"] / 10
        return {**spec, "curve": curve, "seconds_per_epoch": 0.1, "epochs_run": 2}

    monkeypatch.setattr(gin_protocols, "run_fold", fake)
    out = tmp_path / "r.jsonl"
    argv = ["--datasets", "mutag", "--protocol", "xu", "--method", "backprop", "--seeds", "0", "1", "--folds", "0",
            "1", "--epochs", "2", "--data", str(shared_dir / "datasets"), "--out", str(out), "--markdown"]  # fmt: skip
    assert gin_protocols.main(argv) == 0 and calls == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert gin_protocols.main(argv) == 0 and len(calls) == 4  # all found in --out: nothing runs again
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    table = gin_protocols.markdown(rows, n_folds=2)
    # seed 0: fold means 0.85, 0.80 -> epoch 1, 85 %; seed 1: 0.90, 0.80 -> epoch 1, 90 %: 87.5 ± 3.5 (anchor 89.4)
    assert "| 87.5 ± 3.5 | 2.5 | 1 | 0.10 | 89.4 ± 5.6 | -1.9 |" in table.splitlines()[2]  # fold sd: 5.0, 0.0
    other = [{**r, "iters_per_epoch": None, "method": "mole"} for r in rows]  # other settings: rows of their own
    assert len(gin_protocols.markdown(rows + other, n_folds=2).splitlines()) == 4
