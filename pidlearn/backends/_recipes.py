"""MOLE's run settings per data type, written once for both backends (no torch here).

:data:`DEFAULTS` are the legacy network and optimiser settings; :data:`RECIPES` the settings that
``run_experiment`` and ``pidlearn mole`` use for an argument not given, per recipe (``"default"``: validated on
validation data, ``"legacy"``: the settings before recipes) and data type. The torch backend
(:mod:`pidlearn.backends.torch.mole_data`) runs every recipe; the NumPy backend (:mod:`pidlearn.backends.numpy.mole`)
the legacy ones and the node default.

References
----------
T. N. Kipf and M. Welling, "Semi-supervised classification with graph convolutional networks", ICLR 2017.
K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph neural networks?", ICLR 2019.
F. Errica, M. Podda, D. Bacciu and A. Micheli, "A fair comparison of graph neural networks for graph
classification", ICLR 2020.
"""

from __future__ import annotations

__all__ = ["DEFAULTS", "RECIPES"]

#: Per data type: epochs, batch size, learning rate (modules; backprop uses it for everything), MOLE's head learning
#: rate, weight decay, hidden width (the settings of docs/results/mole.md). The head of MOLE learns on a
#: representation that
#: keeps moving under it; at lr 1e-3 it lags far behind (MNIST MLP, 3 epochs: 61 % vs 87 % for a head refitted on the
#: same frozen features), at 1e-2 it keeps up.
DEFAULTS = {
    "vector": {"epochs": 10, "batch_size": 256, "lr": 1e-3, "head_lr": 1e-2, "weight_decay": 0.0, "hidden": 256},
    "grid": {"epochs": 5, "batch_size": 256, "lr": 1e-3, "head_lr": 1e-2, "weight_decay": 0.0, "hidden": 16},
    "node": {"epochs": 200, "batch_size": 256, "lr": 1e-2, "head_lr": 1e-2, "weight_decay": 5e-4, "hidden": 64},
    "graph": {"epochs": 50, "batch_size": 64, "lr": 1e-2, "head_lr": 1e-2, "weight_decay": 0.0, "hidden": 64},
}
#: Recipes: per data type, the run settings that ``run_experiment`` (both backends) and ``pidlearn mole`` use when
#: an argument is not given. ``"default"`` is the validated one; ``"legacy"`` the settings before recipes existed
#: (the network and settings of :data:`DEFAULTS`, Rényi α = 1.01, asynchronous, the last epoch), which the NumPy
#: backend runs for every data type (and the node ``"default"``).
#: Node ``"default"``: Kipf & Welling's GCN (ICLR 2017) — Dropout(0.5)-GCN(d, h)-ReLU as the one MOLE module,
#: Dropout(0.5)-GCN(h, C) as the head (it sees the graph), Adam lr 0.01, weight decay 5e-4 on the first layer only,
#: at most 200 epochs, early stopping on the validation loss (window 10); the backprop baseline trains the same GCN
#: with the same rule. MOLE's objective and head learning rate were chosen on validation accuracy (Cora, this
#: network and rule, docs/results/mole.md): Rényi α = 1.01 78.6 %, PID readout units 70.0 %, InfoNCE 67.2 %
#: (seed 0); MOLE's
#: head at lr 0.05 79.2 / 78.0 % (seeds 0 / 1) against 77.2 % at 0.01 (seed 0). Width h = 64 instead of Kipf &
#: Welling's 16, chosen on validation accuracy (10 seeds, both trainers): Cora MOLE 78.96 / 78.48 %, backprop
#: 78.88 / 78.82 %; Citeseer MOLE 68.48 / 66.96 %, backprop 70.78 / 70.16 % (64 / 16).
RECIPES = {
    "legacy": {
        dt: {"objective": "renyi", "schedule": "asynchronous", "select": "last", "network": "legacy", **cfg}
        for dt, cfg in DEFAULTS.items()
    },
}
RECIPES["default"] = {dt: dict(cfg) for dt, cfg in RECIPES["legacy"].items()}
RECIPES["default"]["node"] = {
    "objective": "renyi",
    "schedule": "asynchronous",
    "select": "early-stop",
    "network": "kipf",
    "epochs": 200,
    "batch_size": 256,
    "lr": 1e-2,
    "head_lr": 5e-2,
    "weight_decay": 5e-4,
    "head_weight_decay": 0.0,
    "hidden": 64,
}
#: Vector ``"default"``: the MLP 784-256-256 with a published-style recipe — Adam lr 1e-3, batch 128, 20 epochs
#: with a cosine learning-rate decay to 0 (``lr_schedule``), the epoch of best validation accuracy on the last 10 %
#: of the training images (``select="val"``), for MOLE and backprop alike. MOLE's objective and head learning rate
#: were chosen on validation accuracy (MNIST, seed 0, this recipe; docs/results/mole.md).
RECIPES["default"]["vector"] = {
    "objective": "infonce",
    "schedule": "asynchronous",
    "select": "val",
    "network": "legacy",
    "epochs": 20,
    "batch_size": 128,
    "lr": 1e-3,
    "head_lr": 1e-2,
    "weight_decay": 0.0,
    "hidden": 256,
    "lr_schedule": "cosine",
}
#: Grid ``"default"``: the two-conv CNN of :data:`DEFAULTS` (Conv5×5(16)-ReLU-MaxPool2, Conv5×5(32)-ReLU-MaxPool2,
#: linear head) on the full training set with the vector recipe's optimiser — Adam lr 1e-3, batch 128, 15 epochs
#: with a cosine learning-rate decay to 0, the epoch of best validation accuracy on the last 10 % of the training
#: images, for MOLE and backprop alike; MOLE's objective chosen on validation accuracy (Fashion-MNIST, seed 0:
#: InfoNCE 92.23 %, PID readout units 91.37 %; docs/results/mole.md). Seeds 0-2: backprop 91.6 %, MOLE 91.4 % test.
RECIPES["default"]["grid"] = {
    "objective": "infonce",
    "schedule": "asynchronous",
    "select": "val",
    "network": "legacy",
    "epochs": 15,
    "batch_size": 128,
    "lr": 1e-3,
    "head_lr": 1e-2,
    "weight_decay": 0.0,
    "hidden": 16,
    "lr_schedule": "cosine",
}
#: Graph ``"default"``: Xu et al.'s GIN-0 (ICLR 2019) under Errica et al.'s protocol (ICLR 2020), the MUTAG row of
#: docs/results/mole.md (``benchmarks/gin_protocols.py --protocol errica --objective pid --epochs 200 --patience 50
#: --iters-per-epoch 0``). Network ``"gin0"``: 4 GIN blocks (ε fixed at 0) of width 32 as the modules, the
#: all-layer sum read-out with dropout 0.5 as the head; Adam lr 0.01 for modules and head, halved every 50 epochs
#: (``lr_schedule="step"``); batch 32, one shuffled pass per epoch; 10-fold stratified CV; in each outer training
#: fold a stratified 10 % inner hold-out chooses the epoch by accuracy (ties: lower loss), training stops 50 epochs
#: after the last improvement or at 200 (``select="val-patience"``), the test fold is read once with the chosen
#: weights; fold f of seed s trains from seed 1000·s + f. MOLE's objective (PID readout units, over InfoNCE and
#: Rényi) was chosen on the inner hold-out accuracy (docs/results/mole.md). MUTAG test, seeds 0-2: MOLE 82.6 %,
#: backprop 82.2 %.
RECIPES["default"]["graph"] = {
    "objective": "pid",
    "schedule": "asynchronous",
    "select": "val-patience",
    "patience": 50,
    "network": "gin0",
    "epochs": 200,
    "batch_size": 32,
    "lr": 1e-2,
    "head_lr": 1e-2,
    "weight_decay": 0.0,
    "hidden": 32,
    "dropout": 0.5,
    "lr_schedule": "step",
    "fold_seed_stride": 1000,
}
