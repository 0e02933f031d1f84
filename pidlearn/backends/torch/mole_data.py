"""Data and networks of the MOLE experiments: MLP on MNIST, CNN on (Fashion-)MNIST, GCN on Planetoid, GIN on TU.

Every loader reads pickle-free files (IDX, or ``.npz`` with ``allow_pickle=False``; formats in ``shared/README.md``).
:func:`run_experiment` trains MOLE (and, on request, backprop on the same network) on one dataset and returns the
accuracies; the ``pidlearn mole`` command and ``benchmarks/mole_results.py`` call it.

Protocols:

* vector / grid — the first ``train_size`` training images (default all 60 000) train, the 10 000 test images test;
  pixels scaled to [0, 1] and standardised with the training mean and standard deviation.
* node — Planetoid split (20 labelled nodes per class train, 500 validation, 1000 test); bag-of-words rows
  normalised to sum 1 (Kipf & Welling); test nodes without a label (Citeseer, ``label == -1``) are skipped.
  Full-graph steps: one step per epoch, the loss on the training nodes only. The default recipe is Kipf & Welling's
  GCN and protocol (see :data:`RECIPES`).
* graph — 10-fold stratified cross-validation (seeded, :func:`stratified_folds`); node features the one-hot node
  tags. The default recipe is Xu et al.'s GIN-0 (:func:`~pidlearn.backends.torch.graph.gin_network`) under Errica
  et al.'s protocol (:func:`fit_holdout`): in each outer training fold a stratified 10 % inner hold-out chooses the
  epoch and stops training, and the test fold is read once, with the chosen weights. The legacy recipe reports the
  last epoch of a 3-layer GIN on each held-out fold. The reported accuracy is the mean over the folds.

References
----------
K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph neural networks?", ICLR 2019.
F. Errica, M. Podda, D. Bacciu and A. Micheli, "A fair comparison of graph neural networks for graph
classification", ICLR 2020.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pidlearn.backends._recipes import DEFAULTS, RECIPES
from pidlearn.backends._selection import STOP_WINDOW, holdout_split
from pidlearn.backends._selection import stopped as _stopped
from pidlearn.backends.torch.graph import GCNBlock, GINBlock, GraphBatch, gin_network
from pidlearn.backends.torch.mole import MOLE, Backprop

__all__ = [
    "DATA_TYPES",
    "DEFAULTS",
    "RECIPES",
    "STOP_WINDOW",
    "TUDataset",
    "build_network",
    "find_dataset",
    "fit_holdout",
    "holdout_split",
    "load_images",
    "load_planetoid",
    "load_tu",
    "run_experiment",
    "set_learning_rates",
    "stratified_folds",
]

DATA_TYPES = ("vector", "grid", "node", "graph")
DATASETS = {
    "vector": ("mnist", "fashion-mnist"),
    "grid": ("mnist", "fashion-mnist"),
    "node": ("cora", "citeseer"),
    "graph": ("mutag", "proteins", "ptc", "nci1"),
}
LR_SCHEDULES = ("constant", "cosine", "step")
SELECTIONS = ("last", "val", "early-stop", "val-patience")
#: ``lr_schedule="step"``: every learning rate is multiplied by LR_GAMMA every LR_STEP epochs (Xu et al. 2019).
LR_STEP, LR_GAMMA = 50, 0.5
NETWORKS = ("legacy", "kipf", "gin0")


# ------------------------------------------------------------------------------------------------------------------
def find_dataset(data_type: str, name: str, data) -> Path:
    """Locate ``name`` under ``data``: an IDX folder (vector/grid) or an ``.npz`` file (node/graph).

    ``data`` may be the file/folder itself, its parent, or the ``datasets`` root (``planetoid/``, ``tu/``).
    """
    if data_type not in DATA_TYPES:
        raise ValueError(f"data type must be one of {DATA_TYPES}, got {data_type!r}")
    if name not in DATASETS[data_type]:
        raise ValueError(f"dataset for data type {data_type!r} must be one of {DATASETS[data_type]}, got {name!r}")
    root = Path(data)
    if not root.exists():
        raise FileNotFoundError(f"data path {root} does not exist")
    if data_type in ("vector", "grid"):
        candidates = [root, root / name]
        for c in candidates:
            if c.is_dir() and any(c.glob("train-images-idx3-ubyte*")):
                return c
        raise FileNotFoundError(f"no MNIST-layout IDX files for {name!r} in {root} or {root / name}")
    sub = "planetoid" if data_type == "node" else "tu"
    candidates = [root, root / f"{name}.npz", root / sub / f"{name}.npz"]
    for c in candidates:
        if c.is_file() and c.suffix == ".npz" and (c == root or c.stem == name):
            return c
    raise FileNotFoundError(f"no {name}.npz in {root} or {root / sub}")


def load_images(directory, *, train_size: int | None = None, flatten: bool = True):
    """(x_train, y_train), (x_test, y_test) float32 tensors of an MNIST-layout folder, standardised."""
    from pidlearn.idx import load_mnist

    x_tr, y_tr = load_mnist(directory, "train")
    x_te, y_te = load_mnist(directory, "test")
    if train_size is not None:
        if train_size < 2:
            raise ValueError(f"train_size must be at least 2, got {train_size}")
        x_tr, y_tr = x_tr[:train_size], y_tr[:train_size]
    xt = torch.as_tensor(x_tr, dtype=torch.float32) / 255.0
    xe = torch.as_tensor(x_te, dtype=torch.float32) / 255.0
    mean, std = float(xt.mean()), float(xt.std())
    xt, xe = (xt - mean) / std, (xe - mean) / std
    shape = (-1, 28 * 28) if flatten else (-1, 1, 28, 28)
    yt = torch.as_tensor(y_tr.astype(np.int64))
    ye = torch.as_tensor(y_te.astype(np.int64))
    return (xt.reshape(shape), yt), (xe.reshape(shape), ye)


def load_planetoid(path) -> dict:
    """Planetoid citation graph: ``graph`` (GraphBatch, all nodes), ``labels``, ``train/val/test`` index tensors."""
    with np.load(path, allow_pickle=False) as d:
        missing = {"features", "labels", "edges", "train_idx", "val_idx", "test_idx"} - set(d.files)
        if missing:
            raise ValueError(f"{path} lacks arrays {sorted(missing)}")
        feats = d["features"].astype(np.float32)
        labels = d["labels"].astype(np.int64)
        edges = d["edges"].astype(np.int64)
        split = {k: torch.as_tensor(d[f"{k}_idx"].astype(np.int64)) for k in ("train", "val", "test")}
    rows = feats.sum(1, keepdims=True)
    feats = feats / np.where(rows > 0, rows, 1.0)
    g = GraphBatch(torch.as_tensor(feats), torch.as_tensor(edges))
    return {"graph": g, "labels": torch.as_tensor(labels), "n_classes": int(labels.max()) + 1, **split}


class TUDataset:
    """Graph-classification data (TU format of ``shared/``): collate any subset of graphs into a GraphBatch."""

    def __init__(self, tags, node_ptr, edges, labels, pool: str = "sum"):
        if pool not in ("sum", "mean"):
            raise ValueError(f"pool must be 'sum' or 'mean', got {pool!r}")
        self.pool = pool
        self.node_ptr = np.asarray(node_ptr, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        n_nodes = int(self.node_ptr[-1])
        tags = np.asarray(tags, dtype=np.int64)
        if len(tags) != n_nodes or len(self.labels) != len(self.node_ptr) - 1:
            raise ValueError("node_tags, node_ptr and graph_labels do not match")
        _, codes = np.unique(tags, return_inverse=True)
        self.features = np.eye(int(codes.max()) + 1, dtype=np.float32)[codes]
        self.edges = np.asarray(edges, dtype=np.int64)
        self.node_graph = np.repeat(np.arange(len(self.labels)), np.diff(self.node_ptr))
        self.edge_graph = self.node_graph[self.edges[0]]
        order = np.argsort(self.edge_graph, kind="stable")
        self.edges, self.edge_graph = self.edges[:, order], self.edge_graph[order]
        self.edge_ptr = np.searchsorted(self.edge_graph, np.arange(len(self.labels) + 1))
        self.n_classes = int(self.labels.max()) + 1

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    def collate(self, ids) -> tuple[GraphBatch, torch.Tensor]:
        """Block-diagonal batch of graphs ``ids`` and their labels."""
        ids = np.asarray(ids, dtype=np.int64)
        starts, ends = self.node_ptr[ids], self.node_ptr[ids + 1]
        sizes = ends - starts
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        nodes = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
        e_parts, graph = [], np.repeat(np.arange(len(ids)), sizes)
        for i, g in enumerate(ids):
            e = self.edges[:, self.edge_ptr[g] : self.edge_ptr[g + 1]]
            e_parts.append(e - starts[i] + offsets[i])
        edges = np.concatenate(e_parts, axis=1) if e_parts else np.zeros((2, 0), np.int64)
        batch = GraphBatch(
            torch.as_tensor(self.features[nodes]),
            torch.as_tensor(edges),
            graph=torch.as_tensor(graph),
            n_graphs=len(ids),
            pool=self.pool,
        )
        return batch, torch.as_tensor(self.labels[ids])

    def loader(self, ids, batch_size: int):
        """``f(generator)``: shuffled full batches of ``ids`` with a generator, all of them in order without."""
        ids = np.asarray(ids, dtype=np.int64)
        fixed = [self.collate(ids[k : k + batch_size]) for k in range(0, len(ids), batch_size)]

        def batches(generator):
            if generator is None:
                return fixed
            perm = ids[torch.randperm(len(ids), generator=generator).numpy()]
            n = max(1, len(ids) // batch_size)
            return [self.collate(perm[k * batch_size : (k + 1) * batch_size]) for k in range(n)]

        return batches


def load_tu(path, pool: str = "sum") -> TUDataset:
    """A TU ``.npz`` (``shared/`` format) as a :class:`TUDataset`; ``pool`` the graph read-out ("sum" or "mean")."""
    with np.load(path, allow_pickle=False) as d:
        missing = {"node_tags", "node_ptr", "edges", "graph_labels"} - set(d.files)
        if missing:
            raise ValueError(f"{path} lacks arrays {sorted(missing)}")
        return TUDataset(d["node_tags"], d["node_ptr"], d["edges"], d["graph_labels"], pool=pool)


def stratified_folds(labels, n_folds: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Test indices of ``n_folds`` stratified folds: each class shuffled (seeded) and dealt round-robin."""
    labels = np.asarray(labels)
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    start = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        for j, i in enumerate(idx):
            folds[(start + j) % n_folds].append(int(i))
        start = (start + len(idx)) % n_folds
    return [np.sort(np.asarray(f, dtype=np.int64)) for f in folds]


# ------------------------------------------------------------------------------------------------------------------
def build_network(
    data_type: str, in_features: int, n_classes: int, hidden: int, network: str = "legacy", dropout: float = 0.5
) -> tuple[list[nn.Module], nn.Module]:
    """The modules and head of each data type (the same network for MOLE and backprop).

    vector: [Linear-ReLU] × 2 (width ``hidden``), linear head. grid: [Conv5×5-ReLU-MaxPool2] with ``hidden`` and
    ``2·hidden`` channels, linear head on the flattened maps. node: [Dropout-GCN-ReLU] × 2, Dropout-linear head;
    with ``network="kipf"`` Kipf & Welling's two-layer GCN: one module Dropout(0.5)-GCN-ReLU of width ``hidden`` and
    the head Dropout(0.5)-GCN to the classes (a graph head). graph: [GIN-BatchNorm-ReLU] × 3, sum pooling,
    Dropout-linear head; with ``network="gin0"`` Xu et al.'s GIN-0 (:func:`~pidlearn.backends.torch.graph.gin_network`:
    4 GIN blocks with ε = 0 of width ``hidden`` as the modules, the all-layer sum read-out with ``dropout`` as the
    head). ``dropout`` is used by ``"gin0"`` only.
    """
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {network!r}")
    if network == "gin0":
        if data_type != "graph":
            raise ValueError(f"network 'gin0' (GIN-0 with the all-layer read-out) is for graph data, not {data_type!r}")
        return gin_network(in_features, n_classes, hidden, dropout)
    if network == "kipf":
        if data_type != "node":
            raise ValueError(f"network 'kipf' (the two-layer GCN) is for node data, not {data_type!r}")
        module = GCNBlock(in_features, hidden, dropout=0.5, sparse_input=True)
        return [module], GCNBlock(hidden, n_classes, dropout=0.5, activation=False)
    if data_type == "vector":
        mods = [
            nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU()),
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU()),
        ]
        return mods, nn.Linear(hidden, n_classes)
    if data_type == "grid":
        mods = [
            nn.Sequential(nn.Conv2d(in_features, hidden, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)),
            nn.Sequential(nn.Conv2d(hidden, 2 * hidden, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)),
        ]
        return mods, nn.Linear(2 * hidden * 7 * 7, n_classes)
    if data_type == "node":
        mods = [GCNBlock(in_features, hidden, dropout=0.5), GCNBlock(hidden, hidden, dropout=0.5)]
        return mods, nn.Sequential(nn.Dropout(0.5), nn.Linear(hidden, n_classes))
    if data_type == "graph":
        mods = [GINBlock(in_features, hidden), GINBlock(hidden, hidden), GINBlock(hidden, hidden)]
        return mods, nn.Sequential(nn.Dropout(0.5), nn.Linear(hidden, n_classes))
    raise ValueError(f"data type must be one of {DATA_TYPES}, got {data_type!r}")


def _trainers(
    data_type, in_features, n_classes, cfg, *, seed, objective, schedule, beta, baseline, progress, head_epochs=0
):
    common = {"batch_size": cfg["batch_size"], "lr": cfg["lr"], "weight_decay": cfg["weight_decay"], "seed": seed}
    common["head_weight_decay"] = cfg.get("head_weight_decay")
    net = cfg.get("network", "legacy")
    torch.manual_seed(seed)
    dropout = cfg.get("dropout", 0.5)
    mods, head = build_network(data_type, in_features, n_classes, cfg["hidden"], net, dropout)
    mole = MOLE(
        mods,
        objective,
        head,
        n_classes=n_classes,
        beta=beta,
        schedule=schedule,
        head_lr=cfg["head_lr"],
        head_epochs=head_epochs,
        progress=progress,
        **common,
    )
    bp = None
    if baseline:
        torch.manual_seed(seed)  # the same initial weights
        mods, head = build_network(data_type, in_features, n_classes, cfg["hidden"], net, dropout)
        bp = Backprop(mods, head, n_classes=n_classes, progress=progress, **common)
    return mole, bp


def _snapshot(trainer) -> dict:
    return {
        "modules": copy.deepcopy(trainer.modules.state_dict()),
        "head": copy.deepcopy(trainer.head.state_dict()),
    }


def _restore(trainer, snap: dict) -> None:
    trainer.modules.load_state_dict(snap["modules"])
    trainer.head.load_state_dict(snap["head"])


def _cosine_factor(epoch: int, epochs: int) -> float:
    """Cosine decay (Loshchilov & Hutter, ICLR 2017, without restarts): ½(1 + cos(π e / E)) for epoch e = 0..E-1.

    Epochs past ``epochs`` (MOLE's head-alone epochs) train at the base rate.
    """
    return float(0.5 * (1.0 + np.cos(np.pi * epoch / epochs))) if epoch < epochs else 1.0


def _step_factor(epoch: int, step: int = LR_STEP) -> float:
    """Step decay (Xu et al. 2019): ``LR_GAMMA^⌊e / step⌋`` for epoch e = 0, 1, ... (halved every ``step`` epochs)."""
    return LR_GAMMA ** (epoch // step)


def set_learning_rates(trainer, train, epochs: int, lr_schedule: str, *, lr_step: int = LR_STEP) -> float:
    """Set every optimiser's learning rate for the trainer's next epoch ``e = trainer.epoch`` (from 0).

    Parameters
    ----------
    trainer : MOLE or Backprop
    train : training data of the trainer (prepares it first: its optimisers exist from then on)
    epochs : int
        The schedule's length (``"cosine"``).
    lr_schedule : {"constant", "cosine", "step"}
        ``"constant"`` leaves the rates (and the trainer) alone; ``"cosine"``: ``lr_0 · ½(1 + cos(π e / epochs))``
        (Loshchilov & Hutter 2017; epochs past ``epochs`` at ``lr_0``); ``"step"``: ``lr_0 · 0.5^⌊e / lr_step⌋``
        (Xu et al. 2019: halved every 50 epochs).
    lr_step : int, default :data:`LR_STEP`

    Returns
    -------
    float
        The factor applied to every base rate ``lr_0`` (1 for ``"constant"``).

    Notes
    -----
    The base rate ``lr_0`` is kept in each parameter group (``base_lr``, saved with the optimiser state), so a
    resumed run continues the same schedule.
    """
    if lr_schedule == "constant":
        return 1.0
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    trainer.prepare(train)
    if lr_schedule == "step":
        factor = _step_factor(trainer.epoch, lr_step)
    else:
        factor = _cosine_factor(trainer.epoch, epochs)
    for opt in trainer.optimizers.values():
        for group in opt.param_groups:
            group.setdefault("base_lr", group["lr"])
            group["lr"] = group["base_lr"] * factor
    return factor


def _finished(trainer, epochs: int, is_mole: bool) -> bool:
    """Whether the trainer has trained its ``epochs`` (MOLE: every stage of its schedule)."""
    return trainer.done(epochs) if is_mole else trainer.epoch >= epochs


def _scheduled_epoch(
    trainer, train, epochs, *, is_mole: bool, lr_schedule: str, eval_sets=None, checkpoint=None, lr_step=LR_STEP
) -> dict:
    """Set the learning rates for the next epoch (:func:`set_learning_rates`) and train it (MOLE: one epoch of its
    schedule), evaluating ``eval_sets`` after it; returns the epoch's ``history`` record."""
    set_learning_rates(trainer, train, epochs, lr_schedule, lr_step=lr_step)
    if is_mole:
        trainer.fit(train, epochs, eval_sets=eval_sets, stop_after=1, checkpoint=checkpoint)
    else:
        trainer.fit(train, trainer.epoch + 1, eval_sets=eval_sets, checkpoint=checkpoint)
    return trainer.history[-1]


def _fit_epochs(trainer, train, epochs, *, is_mole: bool, lr_schedule: str, checkpoint=None) -> None:
    """Train to ``epochs`` (all data, no selection), the learning rates set by ``lr_schedule`` before each epoch."""
    if lr_schedule == "constant":
        trainer.fit(train, epochs, checkpoint=checkpoint)
        return
    while not _finished(trainer, epochs, is_mole):
        _scheduled_epoch(trainer, train, epochs, is_mole=is_mole, lr_schedule=lr_schedule, checkpoint=checkpoint)


def _fit_selected(trainer, train, val, epochs, *, is_mole: bool, lr_schedule: str = "constant") -> dict:
    """Train epoch by epoch, keep the weights of the epoch with the best validation accuracy (first best wins).

    MOLE's sequential schedule evaluates only while its head trains (earlier epochs change no prediction path that
    is complete). Returns ``best_epoch``, ``val_accuracy`` (at it) and the training time (evaluation excluded).
    """
    best, snap, best_epoch, seconds = -1.0, None, 0, 0.0
    eval_sets = {"val": val}
    while not _finished(trainer, epochs, is_mole):
        rec = _scheduled_epoch(trainer, train, epochs, is_mole=is_mole, lr_schedule=lr_schedule, eval_sets=eval_sets)
        seconds += rec["seconds"]
        acc = rec.get("accuracy", {}).get("val")
        if acc is not None and acc > best:
            best, best_epoch, snap = acc, trainer.epoch, _snapshot(trainer)
    last = _snapshot(trainer)
    _restore(trainer, snap)
    return {"best_epoch": best_epoch, "val_accuracy": best, "seconds": seconds, "last": last}


def _fit_early_stop(trainer, train, val, epochs, *, is_mole: bool, checkpoint=None, lr_schedule="constant") -> None:
    """Train epoch by epoch until :func:`_stopped` or ``epochs``; the weights stay those of the stopping epoch.

    Every epoch's validation loss is in ``history`` (``eval_loss``), so a run resumed from its checkpoint continues
    (or stays stopped) exactly as an uninterrupted one. ``lr_schedule``: "constant" or "step".
    """
    eval_sets = {"val": val}
    while not _stopped(trainer.history) and not _finished(trainer, epochs, is_mole):
        _scheduled_epoch(
            trainer, train, epochs, is_mole=is_mole, lr_schedule=lr_schedule, eval_sets=eval_sets, checkpoint=checkpoint
        )


def fit_holdout(
    trainer, train, val, test, epochs: int, *, patience: int, lr_schedule: str = "constant", lr_step: int = LR_STEP
) -> dict:
    """Errica et al.'s fold protocol: the epoch is chosen and training stopped on a hold-out; the test is read once.

    Trains epoch by epoch (learning rates by :func:`set_learning_rates`), evaluating ``val`` after every epoch in
    which the head trains. The chosen epoch ``e*`` has the best hold-out accuracy; ties go to the lower hold-out
    cross-entropy, then to the earlier epoch:

        e* = argmax_e (acc_val(e), −loss_val(e)),   stop when e − e* = patience or e = epochs.

    The chosen epoch's weights are restored and ``test`` is evaluated once, after training; it plays no part in
    training or selection.

    Parameters
    ----------
    trainer : MOLE or Backprop
        A fresh trainer (or one resumed in memory); seed the global generator before for reproducible dropout.
    train, val, test : data of the trainer (``f(generator)`` callables, lists of batches or tensor pairs)
        ``val`` is the inner hold-out (a stratified part of the outer training fold, not trained on).
    epochs : int
        The most epochs (MOLE: as in :meth:`MOLE.fit`).
    patience : int
        Stop this many epochs after the last improvement (at least 1).
    lr_schedule : {"constant", "cosine", "step"}, default "constant"
    lr_step : int, default :data:`LR_STEP`
        ``"step"``: epochs between halvings (:func:`set_learning_rates`).

    Returns
    -------
    dict
        ``best_epoch`` (1-based), ``val_accuracy`` and ``val_loss`` at it, ``val_curve`` (hold-out accuracy of every
        evaluated epoch), ``test_accuracy``, ``epochs_run``, ``seconds`` (training, evaluation excluded) and
        ``seconds_per_epoch``.

    References
    ----------
    F. Errica, M. Podda, D. Bacciu and A. Micheli, "A fair comparison of graph neural networks for graph
    classification", ICLR 2020.
    """
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
        raise ValueError(f"patience must be an integer of at least 1, got {patience!r}")
    is_mole = isinstance(trainer, MOLE)
    best, best_epoch, snap, curve, seconds = None, None, None, [], 0.0
    eval_sets = {"val": val}
    while not _finished(trainer, epochs, is_mole):
        if best_epoch is not None and trainer.epoch - best_epoch >= patience:
            break
        rec = _scheduled_epoch(
            trainer, train, epochs, is_mole=is_mole, lr_schedule=lr_schedule, eval_sets=eval_sets, lr_step=lr_step
        )
        seconds += rec["seconds"]
        if "val" not in rec.get("accuracy", {}):
            continue  # MOLE's sequential schedule: the head has not trained yet
        acc, loss = rec["accuracy"]["val"], rec["eval_loss"]["val"]
        curve.append(acc)
        if best is None or (acc, -loss) > best:
            best, best_epoch, snap = (acc, -loss), trainer.epoch, _snapshot(trainer)
    if snap is None:
        raise ValueError(
            f"no epoch was evaluated on the hold-out: the trainer had already trained its {epochs} epochs (epoch "
            f"{trainer.epoch}); give a fresh trainer or more epochs"
        )
    _restore(trainer, snap)
    return {
        "best_epoch": best_epoch,
        "val_accuracy": best[0],
        "val_loss": -best[1],
        "val_curve": curve,
        "test_accuracy": trainer.accuracy(test),
        "epochs_run": trainer.epoch,
        "seconds": seconds,
        "seconds_per_epoch": seconds / max(1, trainer.epoch),
    }


def _checkpoint_paths(checkpoint, suffix: str = "") -> tuple[Path | None, Path | None]:
    """Files of MOLE's and backprop's checkpoints: ``PATH[suffix]`` and ``PATH[suffix].baseline``."""
    if checkpoint is None:
        return None, None
    path = Path(str(checkpoint) + suffix)
    return path, path.with_name(path.name + ".baseline")


def _fit_pair(
    mole,
    bp,
    train,
    test,
    epochs,
    val=None,
    checkpoints=(None, None),
    select="val",
    lr_schedule="constant",
    patience=None,
):
    """Train MOLE then backprop (same global RNG state at the start of each); test accuracy of each.

    With ``val`` and ``select="val"`` the reported accuracy is that of the epoch with the best validation accuracy
    (selection on the validation data only; ``test_accuracy_last`` is the last epoch's); with ``select="early-stop"``
    training stops by :func:`_stopped` and the stopping epoch's accuracy is reported (``epochs_run``, and
    ``validation_accuracy`` at it). ``checkpoints``: files that each trainer saves after every epoch and resumes from
    when they exist (``select="last"`` or ``"early-stop"``). ``lr_schedule``: ``"constant"``, ``"cosine"``
    (:func:`_cosine_factor`, every optimiser of the trainer; not with ``"early-stop"``) or ``"step"``. With
    ``select="val-patience"``: :func:`fit_holdout` with ``patience`` (``best_epoch``, ``val_accuracy`` and
    ``val_curve`` per trainer).
    """
    out = {}
    for key, trainer, ckpt in (("", mole, checkpoints[0]), ("baseline_", bp, checkpoints[1])):
        if trainer is None:
            continue
        torch.manual_seed(trainer.seed)  # dropout draws from the global generator: each run starts from the same state
        if ckpt is not None and Path(ckpt).exists():
            trainer.prepare(train)
            trainer.load(ckpt)  # restores the global RNG state too
        t0 = time.perf_counter()
        name = "test_accuracy" if not key else "baseline_accuracy"
        if val is not None and select == "val-patience":
            res = fit_holdout(trainer, train, val, test, epochs, patience=patience, lr_schedule=lr_schedule)
            out["seconds_mole" if not key else "seconds_baseline"] = time.perf_counter() - t0
            out[name] = res["test_accuracy"]
            for k in ("val_accuracy", "best_epoch", "val_curve"):
                out[f"{key}{k}"] = res[k]
            out["epochs_run" if not key else "baseline_epochs_run"] = trainer.epoch
            out[f"{key}train_seconds_per_epoch"] = res["seconds_per_epoch"]
            continue
        if val is None or select == "early-stop":
            if val is None:
                _fit_epochs(trainer, train, epochs, is_mole=not key, lr_schedule=lr_schedule, checkpoint=ckpt)
            else:
                _fit_early_stop(trainer, train, val, epochs, is_mole=not key, checkpoint=ckpt, lr_schedule=lr_schedule)
                out["validation_accuracy" if not key else "baseline_validation_accuracy"] = trainer.accuracy(val)
            out["seconds_mole" if not key else "seconds_baseline"] = time.perf_counter() - t0
            out[name] = trainer.accuracy(test)
            out["epochs_run" if not key else "baseline_epochs_run"] = trainer.epoch
            continue
        sel = _fit_selected(trainer, train, val, epochs, is_mole=not key, lr_schedule=lr_schedule)
        out["seconds_mole" if not key else "seconds_baseline"] = time.perf_counter() - t0
        out[name] = trainer.accuracy(test)
        out[f"{key}val_accuracy"] = sel["val_accuracy"]
        out[f"{key}best_epoch"] = sel["best_epoch"]
        out["epochs_run" if not key else "baseline_epochs_run"] = trainer.epoch
        out[f"{key}train_seconds_per_epoch"] = sel["seconds"] / max(1, trainer.epoch)
        _restore(trainer, sel["last"])
        out[f"{name}_last"] = trainer.accuracy(test)
    return out


def run_experiment(
    data_type: str,
    dataset: str,
    data,
    *,
    schedule: str | None = None,
    objective=None,
    epochs: int | None = None,
    baseline: bool = False,
    seed: int = 0,
    beta: float = 0.0,
    train_size: int | None = None,
    hidden: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    head_lr: float | None = None,
    head_epochs: int = 0,
    folds: int | None = None,
    select: str | None = None,
    val_fraction: float = 0.1,
    pool: str = "sum",
    checkpoint=None,
    progress: bool = False,
    recipe: str = "default",
    lr_schedule: str | None = None,
    patience: int | None = None,
) -> dict:
    """Train MOLE (and backprop with ``baseline=True``) on one dataset; returns accuracies, epochs and seconds.

    ``folds`` (graph data) limits the cross-validation to the first ``folds`` of the 10 folds (for quick runs).
    ``select="val"`` reports the test accuracy of the epoch with the best validation accuracy, for MOLE and backprop
    alike: node — the Planetoid validation nodes; vector/grid — the last ``val_fraction`` of the training images
    (not trained on); graph — a stratified ``val_fraction`` of each fold's training graphs (not trained on).
    ``select="last"`` trains on all training data and reports the last epoch. ``select="early-stop"`` holds out the
    same validation data and stops when its loss rises (Kipf & Welling, :func:`_stopped`), for MOLE and backprop
    alike, reporting the stopping epoch. ``select="val-patience"`` (Errica et al. 2020, :func:`fit_holdout`) holds
    out the same data, chooses the epoch of best validation accuracy (ties: lower validation loss), stops
    ``patience`` epochs after it (or at ``epochs``) and reads the test data once, with the chosen weights.
    ``pool``: graph read-out (legacy network).
    ``recipe`` ("default" or "legacy", :data:`RECIPES`) supplies every setting not given: objective, schedule,
    epochs, selection, ``patience``, network, optimiser settings and ``lr_schedule`` ("constant"; "cosine": every
    learning rate decays as ½(1 + cos(π e / epochs)) over the epochs, Loshchilov & Hutter 2017, not with "early-stop"
    or "val-patience"; "step": halved every 50 epochs, Xu et al. 2019). Graph data: fold ``f`` of seed ``s`` trains
    from seed ``k · s + f`` (its weights, batches and inner hold-out), ``k`` = the recipe's ``fold_seed_stride``
    (default recipe 1000, as ``benchmarks/gin_protocols.py``; legacy 1).
    ``checkpoint``: MOLE saves its state to this file after every epoch and a rerun resumes from it (backprop to
    ``PATH.baseline``; graph data one pair per fold, ``PATH.fold<f>``); loaded with ``torch.load(weights_only=True)``.
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {tuple(RECIPES)}, got {recipe!r}")
    if data_type not in DATA_TYPES:
        raise ValueError(f"data type must be one of {DATA_TYPES}, got {data_type!r}")
    cfg = dict(RECIPES[recipe][data_type])
    objective = cfg.pop("objective") if objective is None else objective
    schedule = cfg.pop("schedule") if schedule is None else schedule
    select = cfg.pop("select") if select is None else select
    lr_schedule = cfg.pop("lr_schedule", "constant") if lr_schedule is None else lr_schedule
    recipe_patience = cfg.pop("patience", None)
    for key in ("objective", "schedule", "select", "lr_schedule"):
        cfg.pop(key, None)
    if select not in SELECTIONS:
        raise ValueError(f"select must be one of {SELECTIONS}, got {select!r}")
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    if lr_schedule == "cosine" and select in ("early-stop", "val-patience"):
        raise ValueError(
            f"lr_schedule='cosine' needs a fixed number of epochs (it decays over them) but select={select!r} stops "
            "early: use select='val' or 'last', or lr_schedule='constant' or 'step'"
        )
    if patience is not None:
        if select != "val-patience":
            raise ValueError(f"patience applies to select='val-patience' only, not select={select!r}: drop it")
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
            raise ValueError(f"patience must be an integer of at least 1, got {patience!r}")
    if select == "val-patience":
        patience = recipe_patience if patience is None else int(patience)
        if patience is None:
            raise ValueError(
                f"select='val-patience' needs patience (epochs without a better validation accuracy before "
                f"stopping; the {recipe!r} recipe of {data_type} data has none): give patience (--patience N)"
            )
    else:
        patience = None
    if checkpoint is not None and select in ("val", "val-patience"):
        raise ValueError(
            f"checkpoints resume runs with select='last' or 'early-stop' only, not {select!r} (the best-validation "
            "epoch's weights are not saved): give select='last' or 'early-stop' (--select)"
        )
    path = find_dataset(data_type, dataset, data)
    for key, value in (("hidden", hidden), ("batch_size", batch_size), ("lr", lr), ("head_lr", head_lr)):
        if value is not None:
            cfg[key] = value
    epochs = int(epochs or cfg["epochs"])
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    kw = {"seed": seed, "objective": objective, "schedule": schedule, "beta": beta, "baseline": baseline}
    kw["head_epochs"] = head_epochs
    result = {
        "data_type": data_type,
        "dataset": dataset,
        "schedule": schedule,
        "objective": objective if isinstance(objective, str) else type(objective).__name__,
        "epochs": epochs,
        "seed": seed,
        "beta": beta,
        "head_epochs": head_epochs,
        "select": select,
        "recipe": recipe,
        "lr_schedule": lr_schedule,
        "settings": cfg,
    }
    if patience is not None:
        result["patience"] = patience
    use_val = select != "last"
    t0 = time.perf_counter()
    if data_type in ("vector", "grid"):
        train, test = load_images(path, train_size=train_size, flatten=data_type == "vector")
        val = None
        if use_val:
            n_val = max(1, round(val_fraction * len(train[1])))
            (x, y), n = train, len(train[1])
            train, val = (x[: n - n_val], y[: n - n_val]), (x[n - n_val :], y[n - n_val :])
        in_features = train[0].shape[1]
        mole, bp = _trainers(data_type, in_features, 10, cfg, progress=progress, **kw)
        ckpts = _checkpoint_paths(checkpoint)
        result.update(_fit_pair(mole, bp, train, test, epochs, val, ckpts, select, lr_schedule, patience))
        result["n_train"], result["n_test"] = len(train[1]), len(test[1])
        result["n_val"] = 0 if val is None else len(val[1])
        result["history"] = mole.history
    elif data_type == "node":
        d = load_planetoid(path)
        g, y = d["graph"], d["labels"]
        train = [(g.with_index(d["train"]), y[d["train"]])]
        test = [(g.with_index(d["test"]), y[d["test"]])]
        val = [(g.with_index(d["val"]), y[d["val"]])]
        mole, bp = _trainers(data_type, g.x.shape[1], d["n_classes"], cfg, progress=progress, **kw)
        ckpts = _checkpoint_paths(checkpoint)
        held = val if use_val else None
        result.update(_fit_pair(mole, bp, train, test, epochs, held, ckpts, select, lr_schedule, patience))
        if not use_val:
            result["validation_accuracy"] = mole.accuracy(val)
        result["n_train"], result["n_test"] = len(d["train"]), int((y[d["test"]] >= 0).sum())
        result["n_val"] = len(d["val"])
        result["history"] = mole.history
    else:
        ds = load_tu(path, pool)
        result["pool"] = pool
        fold_ids = stratified_folds(ds.labels, 10, seed)
        n_folds = 10 if folds is None else int(folds)
        if not 1 <= n_folds <= 10:
            raise ValueError(f"folds must be between 1 and 10, got {folds}")
        per_fold = []
        stride = int(cfg.get("fold_seed_stride", 1))
        for f in range(n_folds):
            fold_seed = stride * seed + f  # weights, batches and the inner hold-out of this fold
            test_ids = fold_ids[f]
            train_ids = np.setdiff1d(np.arange(len(ds)), test_ids)
            val = None
            if use_val:
                keep, held = holdout_split(ds.labels[train_ids], val_fraction, fold_seed)
                train_ids, val_ids = train_ids[keep], train_ids[held]
                val = ds.loader(val_ids, cfg["batch_size"])
            train = ds.loader(train_ids, cfg["batch_size"])
            test = ds.loader(test_ids, cfg["batch_size"])
            mole, bp = _trainers(
                data_type, ds.n_features, ds.n_classes, cfg, progress=progress, **{**kw, "seed": fold_seed}
            )
            ckpts = _checkpoint_paths(checkpoint, f".fold{f}")
            fold = _fit_pair(mole, bp, train, test, epochs, val, ckpts, select, lr_schedule, patience)
            fold.update(fold=f, seed=fold_seed, n_train=len(train_ids), n_test=len(test_ids))
            fold["n_val"] = 0 if val is None else len(val_ids)
            per_fold.append(fold)
        result["per_fold"] = per_fold
        if "best_epoch" in per_fold[0]:
            result["fold_best_epoch"] = [r["best_epoch"] for r in per_fold]
            if baseline:
                result["fold_baseline_best_epoch"] = [r["baseline_best_epoch"] for r in per_fold]
        result["fold_accuracy"] = [r["test_accuracy"] for r in per_fold]
        result["test_accuracy"] = float(np.mean(result["fold_accuracy"]))
        result["test_accuracy_std"] = float(np.std(result["fold_accuracy"]))
        if baseline:
            result["fold_baseline_accuracy"] = [r["baseline_accuracy"] for r in per_fold]
            result["baseline_accuracy"] = float(np.mean(result["fold_baseline_accuracy"]))
            result["baseline_accuracy_std"] = float(np.std(result["fold_baseline_accuracy"]))
        for key in ("val_accuracy", "baseline_val_accuracy", "test_accuracy_last", "baseline_accuracy_last"):
            if key in per_fold[0]:
                result[key] = float(np.mean([r[key] for r in per_fold]))
        for key in ("train_seconds_per_epoch", "baseline_train_seconds_per_epoch"):
            if key in per_fold[0]:
                result[key] = float(np.mean([r[key] for r in per_fold]))
        result["seconds_mole"] = sum(r["seconds_mole"] for r in per_fold)
        if baseline:
            result["seconds_baseline"] = sum(r["seconds_baseline"] for r in per_fold)
        result["folds"] = n_folds
        result["n_graphs"] = len(ds)
        result["history"] = mole.history
    result["epochs_run"] = mole.epoch
    result["seconds"] = time.perf_counter() - t0
    return result
