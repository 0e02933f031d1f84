"""MOLE in NumPy: module-wise training by mutual-information maximisation, analytic gradients, no torch.

The same trainer as :class:`pidlearn.backends.torch.mole.MOLE` (constructor, :meth:`MOLE.fit`, schedules, history,
checkpoints) on the NumPy layers of :mod:`pidlearn.backends.numpy.nn` and the objectives of
:mod:`pidlearn.backends.numpy.mole_objectives`. Module ``k`` maps ``T_{k−1}`` to ``T_k`` and is trained alone on

    L_k = −I(T_k; Y) + β · I(T_k; T_{k−1})       (or β · I(T_k; X))

(Li & Pei 2023): its forward pass caches what its backward pass needs, ``∂L_k/∂T_k`` comes from the objective's
analytic gradient, and the module's backward stops at its input (no gradient crosses a module boundary, so the
first layer of a module never computes an input gradient). A classifier head on ``T_K`` learns by cross-entropy.
Adam is :class:`pidlearn.backends.numpy.train.Adam` (``torch.optim.Adam``'s update).

Supported modules: :mod:`~pidlearn.backends.numpy.nn` layers — MLP (``Linear``/``ReLU``), CNN (``Conv2d``,
``MaxPool2d``) and graph blocks (``GCNBlock``, ``GINBlock`` on a :class:`~pidlearn.backends.numpy.nn.GraphBatch`).
Objectives: ``"renyi"``, ``"renyi2"``, ``"renyi-norm"``, ``"infonce"``, ``"pid"`` (binary-unit modules, the torch
``InfomorphicModule``, are not supported here).

Checkpoints are ``np.savez`` archives (read with ``allow_pickle=False``) carrying the ``_pidlearn`` marker of
:mod:`pidlearn.backends._files`.

References
----------
Y. Li and Y. Pei, "MOLE: MOdular Learning FramEwork via Mutual Information Maximization", ICML 2023 Workshop on
Localized Learning, arXiv:2308.07772.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from pidlearn._progress import progress_bar
from pidlearn.backends._files import load_npz_checkpoint, save_npz_checkpoint
from pidlearn.backends._recipes import DEFAULTS
from pidlearn.backends._recipes import RECIPES as _RECIPES
from pidlearn.backends._selection import holdout_split, stopped
from pidlearn.backends._settings import (
    LOAD_BEFORE_PREPARE,
    MOLE_SCHEDULES,
    NON_FINITE_INPUTS,
    check_class_labels,
    check_epochs,
    check_finite_inputs,
    check_input_width,
    check_int,
    check_predictions,
    diverged_message,
    input_width,
    mole_settings,
    stack_settings,
)
from pidlearn.backends.numpy import nn
from pidlearn.backends.numpy.mole_objectives import OBJECTIVES, Objective, RenyiMI, make_objective
from pidlearn.backends.numpy.train import Adam

__all__ = ["DEFAULTS", "MOLE", "RECIPES", "SCHEDULES", "build_network", "run_experiment"]

SCHEDULES = MOLE_SCHEDULES
SUPPORTED = "pidlearn.backends.numpy.nn layers (Linear/ReLU MLPs, Conv2d/MaxPool2d CNNs, GCNBlock, GINBlock)"


class MOLE:
    """Train a stack of NumPy modules by per-module MI maximisation, gradients isolated between modules.

    Parameters
    ----------
    modules : nn.Layer or list of nn.Layer
        The stack (:mod:`pidlearn.backends.numpy.nn`); module ``k`` takes module ``k − 1``'s output (arrays, or a
        :class:`~pidlearn.backends.numpy.nn.GraphBatch` for graphs).
    objective : {"renyi", "renyi2", "renyi-norm", "infonce", "pid"} or Objective, default "renyi"
        Estimator of I(T_k; Y) in bits with its analytic gradient; one copy per module.
    head : nn.Layer, optional
        Classifier on the last module's (flattened / pooled) output; default ``nn.LazyLinear(n_classes)``.
    n_classes : int, optional
        Number of classes (``>= 2``); needed for the default head, ``"infonce"`` and ``"pid"``.
    beta : float, default 0
        Weight (``>= 0``) of ``β · I(T_k; T_{k−1})`` (``beta_on="previous"``) or ``β · I(T_k; X)`` (``"input"``), Rényi
        α = 1.01 (or the objective's α) on Gaussian kernels.
    beta_on : {"previous", "input"}, default "previous"
    schedule : {"asynchronous", "sequential"}, default "asynchronous"
    batch_size : int, default 256
        At least 2 (the batch estimators need two samples).
    lr, weight_decay : float
        Adam settings of every module (with its objective's parameters) and of the head: ``lr > 0``,
        ``weight_decay >= 0``.
    head_lr, head_weight_decay : float, optional
        The head's learning rate (``> 0``; default ``lr``) and weight decay (``>= 0``; default ``weight_decay``). A
        head marked ``takes_graph`` (:class:`~pidlearn.backends.numpy.nn.GCNBlock`) receives the last module's graph
        batch and its output rows are read out (the torch trainer's rule).
    head_epochs : int, default 0
        Asynchronous: epochs of the head alone on the frozen modules after ``epochs``; sequential: the head stage's
        length when > 0.
    patience, min_delta : sequential schedule: a module stops when its mean training I(T_k; Y) has not improved by
        ``min_delta >= 0`` bits for ``patience >= 1`` epochs (or after ``epochs`` epochs).
    seed : int, default 0
        Seeds the shuffling, the lazy head and the objectives' parameters (0 to ``2**63 - 2``; build the modules
        with their own seed).
    progress : bool, default True

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``stage``, ``mi`` {"module k": mean training I(T_k; Y) in bits}, ``head_loss`` (in
        epochs that train the head), ``seconds``; with ``eval_sets``, in the evaluated epochs, ``accuracy`` and
        ``eval_loss`` (mean cross-entropy, nats) {set name: value} (the keys of the torch trainer).
    """

    def __init__(
        self,
        modules,
        objective="renyi",
        head=None,
        *,
        n_classes=None,
        beta: float = 0.0,
        beta_on: str = "previous",
        schedule: str = "asynchronous",
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        head_lr: float | None = None,
        head_weight_decay: float | None = None,
        head_epochs: int = 0,
        patience: int = 3,
        min_delta: float = 1e-3,
        seed: int = 0,
        progress: bool = True,
    ):
        if isinstance(modules, nn.Layer):
            modules = [modules]
        modules = list(modules)
        if not modules:
            raise ValueError("MOLE needs at least one module")
        for i, m in enumerate(modules):
            if not isinstance(m, nn.Layer):
                raise TypeError(
                    f"module {i} is a {type(m).__name__}; the NumPy MOLE trains {SUPPORTED} (torch modules: use "
                    "pidlearn.backends.torch.MOLE)"
                )
        common = stack_settings(
            batch_size=batch_size, lr=lr, weight_decay=weight_decay, head_weight_decay=head_weight_decay, seed=seed,
            n_classes=n_classes,
        )  # fmt: skip
        settings = mole_settings(
            schedule=schedule, beta=beta, beta_on=beta_on, lr=common["lr"], head_lr=head_lr, head_epochs=head_epochs,
            patience=patience, min_delta=min_delta,
        )  # fmt: skip
        n_classes = common["n_classes"]
        self.batch_size, self.seed = common["batch_size"], common["seed"]
        self.rng = np.random.default_rng(self.seed)
        self.modules = modules
        if head is None:
            if n_classes is None:
                raise ValueError("give a head module or n_classes (for a linear head)")
            head = nn.LazyLinear(n_classes, seed=np.random.default_rng([self.seed, 1]))
        if not isinstance(head, nn.Layer):
            raise TypeError(f"head is a {type(head).__name__}, not a pidlearn.backends.numpy.nn.Layer")
        self.head, self.n_classes = head, n_classes
        self.objective_name = objective if isinstance(objective, str) else type(objective).__name__
        if isinstance(objective, Objective):
            if len(modules) > 1:
                raise ValueError("give the objective by name when there are several modules (each gets its own copy)")
            self.objectives = [objective]
        else:
            if objective not in OBJECTIVES:
                raise ValueError(f"objective must be one of {OBJECTIVES} or an Objective, got {objective!r}")
            self.objectives = [
                make_objective(objective, n_classes, seed=np.random.default_rng([self.seed, 2, k]))
                for k in range(len(modules))
            ]
        self.lr, self.weight_decay = common["lr"], common["weight_decay"]
        self.head_weight_decay = common["head_weight_decay"]
        self.head_lr, self.head_epochs = settings["head_lr"], settings["head_epochs"]
        self.beta, self.beta_on, self.schedule = settings["beta"], settings["beta_on"], settings["schedule"]
        self._beta_mi = RenyiMI(getattr(self.objectives[0], "alpha", 1.01))
        self.patience, self.min_delta = settings["patience"], settings["min_delta"]
        self.progress = progress
        self._input_width = None  # (ndim, width) of the inputs prepare() saw: later batches must match
        self.epoch, self.stage, self.stage_epochs = 0, 0, 0
        self.best, self.stale = -math.inf, 0
        self.history: list[dict] = []
        self.optimizers: dict[str, Adam] = {}

    # data -----------------------------------------------------------------------------------------------------------
    def _batches(self, data, train: bool):
        """(input, labels) batches: arrays are cut into (shuffled, full) mini-batches; a callable or list as is."""
        if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
            x, y = data
            y = np.asarray(y)
            if len(x) != len(y):
                raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
            n = len(x)
            if n == 0:
                raise ValueError("data is empty: x and y have 0 samples; give at least one batch of samples")
            if train:
                order = self.rng.permutation(n)
                nb = max(1, n // self.batch_size)
                return [
                    (x[i], y[i]) for i in (order[k * self.batch_size : (k + 1) * self.batch_size] for k in range(nb))
                ]
            bs = max(self.batch_size, 1024)
            return [(x[k : k + bs], y[k : k + bs]) for k in range(0, n, bs)]
        if callable(data):
            batches = list(data(self.rng if train else None))
        elif isinstance(data, (list, tuple)):
            batches = list(data)
        else:
            raise TypeError(
                "data must be a pair of NumPy arrays (x, y), a list of (input, labels) batches or a callable "
                f"f(rng) -> batches; got {type(data).__name__}"
            )
        if not batches:
            raise ValueError("data holds no batches; give at least one (input, labels) batch")
        return batches

    def _checked_batch(self, inp, y, *, unlabelled_ok: bool = False, name: str | None = None) -> np.ndarray:
        """A batch's labels as int64 after checking them and the inputs (before any estimator or layer sees them).

        Labels must be integers in ``0..n_classes-1`` (``-1``, unlabelled, only where ``unlabelled_ok``: evaluation
        skips them; the objectives need every label); inputs must be finite and as wide as those :meth:`prepare`
        saw. ``name``: the argument of an evaluation (``None``: a training batch).
        """
        y = np.asarray(y)
        if y.dtype.kind not in "iu":
            raise TypeError(f"labels must be an integer array of class indices, got dtype {y.dtype}")
        if y.ndim != 1 or len(y) == 0:
            kind = "a training batch" if name is None else f"every batch of {name}"
            raise ValueError(f"labels of {kind} must be 1-D and non-empty, got shape {y.shape}")
        y = y.astype(np.int64)
        check_class_labels(int(y.min()), int(y.max()), self.n_classes, unlabelled_ok=unlabelled_ok)
        x = inp.x if isinstance(inp, nn.GraphBatch) else inp
        if not isinstance(x, np.ndarray):
            raise TypeError(f"inputs must be NumPy arrays or GraphBatch, got {type(x).__name__}")
        if x.dtype.kind == "f":
            if name is None and not np.isfinite(x).all():
                raise ValueError(NON_FINITE_INPUTS)
            if name is not None:
                check_finite_inputs(x, name, before="evaluating")
        check_input_width(x, self._input_width, "the training inputs" if name is None else name)
        return y

    def _diverged(self, what: str) -> str:
        return diverged_message(self.epoch + 1, what, self.lr)

    # set-up ---------------------------------------------------------------------------------------------------------
    def prepare(self, data) -> None:
        """Size lazy layers and objectives on one batch and create the optimisers (done by :meth:`fit`)."""
        if self.optimizers:
            return
        inp, y = self._batches(data, train=False)[0]
        y = self._checked_batch(inp, y)
        self._input_width = input_width(inp.x if isinstance(inp, nn.GraphBatch) else inp)
        h = inp
        for m, obj in zip(self.modules, self.objectives, strict=True):
            h = m.forward(h, False)
            obj.materialise(nn.represent(h))
        self._head_forward(h, False)
        if isinstance(self.head, nn.Sequential):
            self.head._collect()
        for k, (m, obj) in enumerate(zip(self.modules, self.objectives, strict=True)):
            params = {**{f"m.{n}": v for n, v in m.params.items()}, **{f"o.{n}": v for n, v in obj.params.items()}}
            if params:
                self.optimizers[f"module {k + 1}"] = Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        self.optimizers["head"] = Adam(dict(self.head.params), lr=self.head_lr, weight_decay=self.head_weight_decay)

    # losses ---------------------------------------------------------------------------------------------------------
    def module_step(self, k: int, h_in, x_rep, y, *, update: bool = True):
        """Forward module ``k`` on a (detached) input, its loss ``−I(T_k; Y) [+ β I]`` and gradients; Adam step.

        Returns ``(output, loss, mi, grads)`` with ``grads`` the loss gradients by optimiser key (``m.<param>``,
        ``o.<objective param>``).
        """
        module, obj = self.modules[k], self.objectives[k]
        h = module.forward(h_in, True)
        t = nn.represent(h)
        mi, gt, gobj = obj.value_and_grad(t, y)
        gt = -gt
        loss = -mi
        if self.beta > 0:
            other = nn.represent(h_in) if self.beta_on == "previous" else x_rep
            b, gb = self._beta_mi.mi_and_grad(t, other)
            loss += self.beta * b
            gt = gt + self.beta * gb
        module.backward(nn.represent_backward(h, gt.astype(t.dtype, copy=False)), need_input=False)
        grads = {**{f"m.{n}": g for n, g in module.grads.items()}, **{f"o.{n}": -g for n, g in gobj.items()}}
        opt = self.optimizers.get(f"module {k + 1}")
        if update and opt is not None:
            opt.step(grads)
        return h, loss, mi, grads

    def _head_forward(self, h, train: bool):
        """``(logits, out)``: the head's logits for a module output ``h`` and its raw output (for the backward).

        A head marked ``takes_graph`` receives the graph batch and its output's selected rows are the logits; any
        other head receives the per-sample representation (flattened rows, selected nodes or pooled graphs).
        """
        if getattr(self.head, "takes_graph", False) and isinstance(h, nn.GraphBatch):
            out = self.head.forward(h, train)
            return nn.represent(out), out
        logits = self.head.forward(nn.represent(h), train)
        return logits, logits

    def head_step(self, h, y, *, train: bool = True, update: bool = True) -> float:
        """Cross-entropy of the head on a module output (and one Adam step of the head)."""
        logits, out = self._head_forward(h, train)
        if logits.ndim == 2 and len(y):
            check_class_labels(int(y.min()), int(y.max()), n_outputs=logits.shape[1], unlabelled_ok=True)
        loss, g = nn.cross_entropy(logits, y)
        if update:
            self.head.backward(nn.represent_backward(out, g) if out is not logits else g, need_input=False)
            self.optimizers["head"].step(self.head.grads)
        return loss

    # training -------------------------------------------------------------------------------------------------------
    def _x_rep(self, inp):
        return nn.represent(inp) if self.beta > 0 and self.beta_on == "input" else None

    def _epoch_asynchronous(self, batches) -> dict:
        n = len(batches)
        mis = [0.0] * len(self.modules)
        head_loss = 0.0
        for inp, y in progress_bar(batches, self.progress, f"epoch {self.epoch + 1}"):
            y = self._checked_batch(inp, y)
            x_rep, h = self._x_rep(inp), inp
            for k in range(len(self.modules)):
                h, _, mi, _ = self.module_step(k, h, x_rep, y)
                mis[k] += mi / n
            head_loss += self.head_step(h, y) / n
        return {"stage": "all", "mi": {f"module {k + 1}": v for k, v in enumerate(mis)}, "head_loss": head_loss}

    def _frozen_forward(self, inp, upto: int):
        h = inp
        for m in self.modules[:upto]:
            h = m.forward(h, False)
        return h

    def _epoch_sequential(self, batches) -> dict:
        k = self.stage
        if k == len(self.modules):
            return self._epoch_head(batches, f"epoch {self.epoch + 1} (head)")
        n, name, mi_sum = len(batches), f"module {k + 1}", 0.0
        for inp, y in progress_bar(batches, self.progress, f"epoch {self.epoch + 1} ({name})"):
            y = self._checked_batch(inp, y)
            _, _, mi, _ = self.module_step(k, self._frozen_forward(inp, k), self._x_rep(inp), y)
            mi_sum += mi / n
        return {"stage": k, "mi": {name: mi_sum}}

    def _epoch_head(self, batches, desc: str) -> dict:
        n, head_loss = len(batches), 0.0
        for inp, y in progress_bar(batches, self.progress, desc):
            y = self._checked_batch(inp, y)
            head_loss += self.head_step(self._frozen_forward(inp, len(self.modules)), y) / n
        return {"stage": "head", "mi": {}, "head_loss": head_loss}

    def _run_epoch(self, epoch_fn, *args) -> dict:
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                record = epoch_fn(*args)
        except np.linalg.LinAlgError as exc:
            raise ValueError(self._diverged(f"an eigendecomposition failed ({exc})")) from None
        values = [v for k, v in record.items() if k == "head_loss"] + list(record.get("mi", {}).values())
        if not all(math.isfinite(float(v)) for v in values):
            raise ValueError(self._diverged("the loss or the mutual information became NaN or inf"))
        return record

    def _advance_stage(self, record: dict, epochs: int) -> None:
        self.stage_epochs += 1
        if self.stage == len(self.modules):
            return
        mi = record["mi"][f"module {self.stage + 1}"]
        if mi > self.best + self.min_delta:
            self.best, self.stale = mi, 0
        else:
            self.stale += 1
        if self.stale >= self.patience or self.stage_epochs >= epochs:
            self.stage += 1
            self.stage_epochs, self.best, self.stale = 0, -math.inf, 0

    def fit(self, data, epochs: int, *, eval_sets: dict | None = None, checkpoint=None, eval_every: int = 1,
            stop_after: int | None = None):  # fmt: skip
        """Train; a resumed trainer continues where it stopped (the torch ``MOLE.fit``).

        Parameters
        ----------
        data : (x, y) arrays, a list of (input, labels) batches, or a callable ``f(rng) -> batches``
        epochs : int
            Asynchronous: epochs of all modules and the head together (then ``head_epochs`` of the head alone).
            Sequential: the most epochs per module, and for the head (``head_epochs`` when that is > 0).
        eval_sets : dict name -> data, optional
            Accuracy and cross-entropy after every ``eval_every`` epochs in which the head trains, and at the end.
        checkpoint : path, optional
            Saved after every epoch (``np.savez``).
        stop_after : int, optional
            Return after this many epochs of this call.

        Returns
        -------
        list of dict
            :attr:`history`.
        """
        epochs = check_epochs(epochs)
        self.prepare(data)
        if eval_sets is not None:  # every batch checked before training (labels, finite inputs, width)
            if not isinstance(eval_sets, dict):
                raise TypeError(f"eval_sets must be a dict name -> data, got {type(eval_sets).__name__}")
            for name, d in eval_sets.items():
                for inp, y in self._batches(d, train=False):
                    self._checked_batch(inp, y, unlabelled_ok=True, name=f"eval_sets[{name!r}]")
        start = self.epoch
        while not self._done(epochs) and (stop_after is None or self.epoch - start < stop_after):
            t0 = time.perf_counter()
            batches = self._batches(data, train=True)
            if self.schedule == "asynchronous" and self.epoch < epochs:
                record = self._run_epoch(self._epoch_asynchronous, batches)
            elif self.schedule == "asynchronous":
                record = self._run_epoch(self._epoch_head, batches, f"epoch {self.epoch + 1} (head)")
            else:
                record = self._run_epoch(self._epoch_sequential, batches)
                self._advance_stage(record, epochs)
            self.epoch += 1
            record["epoch"] = self.epoch
            record["seconds"] = time.perf_counter() - t0
            last = self._done(epochs)
            if eval_sets and record["stage"] in ("all", "head") and (last or self.epoch % max(1, eval_every) == 0):
                self._evaluate(record, eval_sets)
            self.history.append(record)
            if checkpoint is not None:
                self.save(checkpoint)
        return self.history

    def done(self, epochs: int) -> bool:
        """Whether :meth:`fit` with this ``epochs`` has nothing left to do."""
        return self._done(epochs)

    def _done(self, epochs: int) -> bool:
        if self.schedule == "asynchronous":
            return self.epoch >= epochs + self.head_epochs
        return self.stage == len(self.modules) and self.stage_epochs >= (self.head_epochs or epochs)

    # evaluation -----------------------------------------------------------------------------------------------------
    def predict_logits(self, data) -> tuple[np.ndarray, np.ndarray]:
        """Head outputs and labels over all batches of ``data`` (eval mode).

        Parameters
        ----------
        data : (x, y) arrays, a list of (input, labels) batches, or a callable ``f(None) -> batches``
            Inputs finite and shaped like the training data's, labels integer class indices (``-1``: unlabelled).

        Returns
        -------
        logits : ndarray (n, n_outputs)
        labels : int64 ndarray (n,)
        """
        outs, ys = [], []
        for inp, y in self._batches(data, train=False):
            y = self._checked_batch(inp, y, unlabelled_ok=True, name="data")
            logits = self._head_forward(self._frozen_forward(inp, len(self.modules)), False)[0]
            check_predictions(logits, y)
            outs.append(logits)
            ys.append(y)
        return np.concatenate(outs), np.concatenate(ys)

    def accuracy(self, data) -> float:
        """Fraction of correct predictions (labels < 0 are unlabelled and skipped).

        Parameters
        ----------
        data : (x, y) arrays, a list of (input, labels) batches, or a callable ``f(None) -> batches``
        """
        logits, y = self.predict_logits(data)
        keep = y >= 0
        return float(np.mean(logits.argmax(1)[keep] == y[keep]))

    def _evaluate(self, record: dict, eval_sets: dict) -> None:
        """``record["accuracy"]`` and ``record["eval_loss"]`` (mean cross-entropy, nats) per evaluation set."""
        accuracy, loss = {}, {}
        for name, d in eval_sets.items():
            logits, y = self.predict_logits(d)
            keep = y >= 0
            accuracy[name] = float(np.mean(logits.argmax(1)[keep] == y[keep]))
            loss[name] = float(nn.cross_entropy(logits, y)[0])  # skips y < 0 itself
        record["accuracy"], record["eval_loss"] = accuracy, loss

    def mutual_information(self, inp, y) -> list[float]:
        """I(T_k; Y) in bits of every module on one batch (eval mode), with each module's objective.

        Parameters
        ----------
        inp : ndarray or GraphBatch
            One batch of inputs (finite, shaped like the training data's).
        y : int ndarray (n,)
            Its class labels, every one in ``0..n_classes-1`` (the estimators need every label).

        Returns
        -------
        list of float
            One value per module, in bits.
        """
        y = self._checked_batch(inp, y, name="inp")
        out, h = [], inp
        try:
            for m, obj in zip(self.modules, self.objectives, strict=True):
                h = m.forward(h, False)
                out.append(obj(nn.represent(h), y))
        except np.linalg.LinAlgError as exc:
            raise ValueError(
                f"an eigendecomposition failed on module {len(out) + 1}'s output ({exc}): its representation of inp "
                "is degenerate (e.g. diverged weights)"
            ) from None
        return out

    # checkpoints ----------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume, as arrays (JSON strings for the generator state and the history)."""
        state = {}
        for k, m in enumerate(self.modules):
            state.update({f"modules.{k}.{n}": v.copy() for n, v in m.state_dict().items()})
        for k, obj in enumerate(self.objectives):
            state.update({f"objectives.{k}.{n}": v.copy() for n, v in obj.state_dict().items()})
        state.update({f"head.{n}": v for n, v in self.head.state_dict().items()})
        for name, opt in self.optimizers.items():
            state.update({f"optimizer.{name}.{n}": v for n, v in opt.state_dict().items()})
        state["rng"] = np.array(json.dumps(self.rng.bit_generator.state))
        counters = {"epoch": self.epoch, "stage": self.stage, "stage_epochs": self.stage_epochs, "stale": self.stale,
                    "seed": self.seed}  # fmt: skip
        state.update({k: np.array(v) for k, v in counters.items()})
        state["best"] = np.array(self.best)
        state["history"] = np.array(json.dumps(self.history))
        return state

    def load_state_dict(self, state) -> None:
        """Restore :meth:`state_dict` (after :meth:`prepare`: the optimisers take their saved state)."""
        if not self.optimizers:
            raise RuntimeError(LOAD_BEFORE_PREPARE)

        def part(prefix):
            return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

        for k, m in enumerate(self.modules):
            m.load_state_dict(part(f"modules.{k}."))
        for k, obj in enumerate(self.objectives):
            obj.load_state_dict(part(f"objectives.{k}."))
        self.head.load_state_dict(part("head."))
        for name, opt in self.optimizers.items():
            opt.load_state_dict(part(f"optimizer.{name}."))
        self.rng.bit_generator.state = json.loads(str(state["rng"]))
        self.epoch, self.stage = int(state["epoch"]), int(state["stage"])
        self.stage_epochs, self.stale, self.seed = int(state["stage_epochs"]), int(state["stale"]), int(state["seed"])
        self.best = float(state["best"])
        self.history = json.loads(str(state["history"]))

    def save(self, path) -> None:
        """Write a checkpoint with ``np.savez`` (atomically: a temporary file is renamed; no pickle)."""
        save_npz_checkpoint(path, self)

    def load(self, path) -> None:
        """Resume from a checkpoint of :meth:`save` (call :meth:`prepare` first; ``allow_pickle=False``).

        Parameters
        ----------
        path : str or Path

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If ``path`` is not a NumPy pidlearn checkpoint, is corrupt, or does not match this trainer.
        RuntimeError
            Before :meth:`prepare` (there are no optimisers yet to take their saved state), for a readable file.
        """
        load_npz_checkpoint(path, self, require_marker=True)  # RuntimeError from load_state_dict before prepare


# ------------------------------------------------------------------------------------------------------------------
# the experiments of pidlearn.backends.torch.mole_data, in NumPy
#: The recipes of :mod:`pidlearn.backends._recipes` that this backend runs: ``"legacy"`` for every data type,
#: ``"default"`` for node data only (Kipf & Welling's GCN, network ``"kipf"``). The torch default recipes of the other
#: data types (e.g. InfoNCE with a cosine schedule and validation-selected epoch for vectors) are not implemented here.
RECIPES = {"legacy": _RECIPES["legacy"], "default": {"node": _RECIPES["default"]["node"]}}
SELECTIONS = ("last", "early-stop")  # the torch experiments' "val" needs snapshots of the best epoch: not here


def build_network(data_type: str, in_features: int, n_classes: int, hidden: int, network: str = "legacy", *,
                  seed=0):  # fmt: skip
    """The modules and head of each data type (those of ``pidlearn.backends.torch.mole_data.build_network``).

    ``network="kipf"`` (node data): Kipf & Welling's two-layer GCN, one module Dropout(0.5)-GCN-ReLU of width
    ``hidden`` with sparse input dropout and the head Dropout(0.5)-GCN to the classes (a graph head).
    """
    if network not in ("legacy", "kipf"):
        raise ValueError(f"network must be 'legacy' or 'kipf', got {network!r}")
    rng = np.random.default_rng(seed)
    if network == "kipf":
        if data_type != "node":
            raise ValueError(f"network 'kipf' (the two-layer GCN) is for node data, not {data_type!r}")
        module = nn.GCNBlock(in_features, hidden, 0.5, sparse_input=True, seed=rng)
        return [module], nn.GCNBlock(hidden, n_classes, 0.5, activation=False, seed=rng)
    if data_type == "vector":
        mods = [
            nn.Sequential(nn.Linear(in_features, hidden, seed=rng), nn.ReLU()),
            nn.Sequential(nn.Linear(hidden, hidden, seed=rng), nn.ReLU()),
        ]
        return mods, nn.Linear(hidden, n_classes, seed=rng)
    if data_type == "grid":
        mods = [
            nn.Sequential(nn.Conv2d(in_features, hidden, 5, padding=2, seed=rng), nn.ReLU(), nn.MaxPool2d(2)),
            nn.Sequential(nn.Conv2d(hidden, 2 * hidden, 5, padding=2, seed=rng), nn.ReLU(), nn.MaxPool2d(2)),
        ]
        return mods, nn.Linear(2 * hidden * 7 * 7, n_classes, seed=rng)
    if data_type == "node":
        mods = [nn.GCNBlock(in_features, hidden, 0.5, seed=rng), nn.GCNBlock(hidden, hidden, 0.5, seed=rng)]
        return mods, nn.Sequential(nn.Dropout(0.5, seed=rng), nn.Linear(hidden, n_classes, seed=rng))
    if data_type == "graph":
        mods = [nn.GINBlock(in_features, hidden, seed=rng), *(nn.GINBlock(hidden, hidden, seed=rng) for _ in "ab")]
        return mods, nn.Sequential(nn.Dropout(0.5, seed=rng), nn.Linear(hidden, n_classes, seed=rng))
    raise ValueError(f"data type must be one of {tuple(DEFAULTS)}, got {data_type!r}")


def _images(path, train_size, flatten):
    from pidlearn.idx import load_mnist

    x_tr, y_tr = load_mnist(path, "train")
    x_te, y_te = load_mnist(path, "test")
    if train_size is not None:
        x_tr, y_tr = x_tr[:train_size], y_tr[:train_size]
    xt = x_tr.astype(np.float32) / 255.0
    xe = x_te.astype(np.float32) / 255.0
    mean, std = float(xt.mean()), float(xt.std(ddof=1))
    shape = (-1, 28 * 28) if flatten else (-1, 1, 28, 28)
    xt, xe = ((xt - mean) / std).reshape(shape), ((xe - mean) / std).reshape(shape)
    return (xt, y_tr.astype(np.int64)), (xe, y_te.astype(np.int64))


def _tu_loader(d, ids, batch_size, features):
    node_ptr, edges, labels = d["node_ptr"], d["edges"], d["graph_labels"].astype(np.int64)
    node_graph = np.repeat(np.arange(len(labels)), np.diff(node_ptr))

    def collate(sel):
        nodes = np.concatenate([np.arange(node_ptr[g], node_ptr[g + 1]) for g in sel])
        new = np.full(node_ptr[-1], -1)
        new[nodes] = np.arange(len(nodes))
        keep = np.isin(node_graph[edges[0]], sel)
        graph = np.repeat(np.arange(len(sel)), np.diff(node_ptr)[sel])
        e = new[edges[:, keep]]
        return nn.GraphBatch(features[nodes], e, graph=graph, n_graphs=len(sel)), labels[sel]

    fixed = [collate(ids[k : k + batch_size]) for k in range(0, len(ids), batch_size)]

    def batches(rng):
        if rng is None:
            return fixed
        perm = ids[rng.permutation(len(ids))]
        nb = max(1, len(ids) // batch_size)
        return [collate(perm[k * batch_size : (k + 1) * batch_size]) for k in range(nb)]

    return batches


def run_experiment(data_type: str, dataset: str, data, *, schedule: str | None = None, objective=None,
                   epochs: int | None = None, seed: int = 0, beta: float = 0.0, train_size: int | None = None,
                   hidden: int | None = None, batch_size: int | None = None, lr: float | None = None,
                   head_lr: float | None = None, head_epochs: int = 0, folds: int | None = None,
                   select: str | None = None, recipe: str | None = None, lr_schedule: str | None = None,
                   checkpoint=None, progress: bool = False, **unsupported) -> dict:  # fmt: skip
    """Train the NumPy MOLE on one dataset (the protocol of ``pidlearn.backends.torch.mole_data.run_experiment``).

    ``recipe`` ("default" or "legacy", :data:`RECIPES`) supplies every setting not given (objective, schedule,
    epochs, selection, network, optimiser settings); node ``"default"`` is Kipf & Welling's GCN with early stopping.
    ``None``: ``"default"`` where this backend has it (node data), else ``"legacy"`` (``result["recipe"]`` says
    which ran); ``"default"`` for another data type is refused.
    ``select``: ``"last"`` (train on the training data, report the last epoch) or ``"early-stop"`` (evaluate on the
    validation data after every epoch, stop by :func:`pidlearn.backends._selection.stopped`, report the stopping
    epoch; vector/grid hold out the last 10 % of the training images, graph data a stratified 10 % of each fold's
    training graphs, node data the Planetoid validation split). Constant learning rates only (``lr_schedule`` None
    or ``"constant"``). No backprop baseline. Returns the same keys as the
    torch function (``test_accuracy``, ``history``, ``seconds``, ...) plus ``"backend": "numpy"``.
    """
    bad = {k: v for k, v in unsupported.items() if v not in (None, False, "sum", 0.1)}
    if bad:
        raise ValueError(f"the NumPy backend's MOLE does not support {sorted(bad)} (use --backend torch)")
    if lr_schedule not in (None, "constant"):
        raise ValueError(
            f"the NumPy backend's MOLE trains at constant learning rates, got lr_schedule={lr_schedule!r}: give "
            "'constant' or use the torch backend"
        )
    if data_type not in DEFAULTS:
        raise ValueError(f"data type must be one of {tuple(DEFAULTS)}, got {data_type!r}")
    if recipe is None:
        recipe = "default" if data_type in RECIPES["default"] else "legacy"
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {tuple(RECIPES)}, got {recipe!r}")
    if data_type not in RECIPES[recipe]:
        have = ", ".join(RECIPES["default"])
        raise ValueError(
            f"the NumPy backend runs the default recipe for {have} data only, not {data_type!r}: use recipe 'legacy' "
            "(--recipe legacy) or the torch backend"
        )
    cfg = dict(RECIPES[recipe][data_type])
    objective = cfg.pop("objective") if objective is None else objective
    schedule = cfg.pop("schedule") if schedule is None else schedule
    select = cfg.pop("select") if select is None else select
    for key in ("objective", "schedule", "select"):
        cfg.pop(key, None)
    if select not in SELECTIONS:
        raise ValueError(
            f"select must be one of {SELECTIONS} in the NumPy backend, got {select!r} (select='val' or "
            "'val-patience': use the torch backend)"
        )
    path = _find(data_type, dataset, data)
    for key, value in (("hidden", hidden), ("batch_size", batch_size), ("lr", lr), ("head_lr", head_lr)):
        if value is not None:
            cfg[key] = value
    epochs = int(epochs or cfg["epochs"])
    check_epochs(epochs)
    result = {"backend": "numpy", "data_type": data_type, "dataset": dataset, "schedule": schedule,
              "objective": objective if isinstance(objective, str) else type(objective).__name__, "epochs": epochs,
              "seed": seed, "beta": beta, "head_epochs": head_epochs, "select": select, "recipe": recipe,
              "lr_schedule": "constant", "settings": cfg}  # fmt: skip
    common = {"batch_size": cfg["batch_size"], "lr": cfg["lr"], "weight_decay": cfg["weight_decay"],
              "head_lr": cfg["head_lr"], "head_weight_decay": cfg.get("head_weight_decay"),
              "head_epochs": head_epochs, "beta": beta, "schedule": schedule, "progress": progress}  # fmt: skip
    early = select == "early-stop"

    def train_one(train, test, in_features, n_classes, s, ckpt, val=None):
        mods, head = build_network(data_type, in_features, n_classes, cfg["hidden"], cfg["network"], seed=s)
        mole = MOLE(mods, objective, head, n_classes=n_classes, seed=s, **common)
        if ckpt is not None and Path(ckpt).exists():
            mole.prepare(train)
            mole.load(ckpt)
        t0 = time.perf_counter()
        out = {}
        if val is None:
            mole.fit(train, epochs, checkpoint=ckpt)
        else:
            fit_early_stop(mole, train, val, epochs, checkpoint=ckpt)
            out["validation_accuracy"] = mole.accuracy(val)
        out.update(test_accuracy=mole.accuracy(test), seconds_mole=time.perf_counter() - t0, epochs_run=mole.epoch)
        return mole, out

    t0 = time.perf_counter()
    if data_type in ("vector", "grid"):
        train, test = _images(path, train_size, data_type == "vector")
        val = None
        if early:  # the last 10 % of the training images, as the torch experiments
            (x, y), n = train, len(train[1])
            n_val = max(1, round(0.1 * n))
            train, val = (x[: n - n_val], y[: n - n_val]), (x[n - n_val :], y[n - n_val :])
        mole, res = train_one(train, test, train[0].shape[1], 10, seed, checkpoint, val)
        result.update(res, n_train=len(train[1]), n_test=len(test[1]), n_val=0 if val is None else len(val[1]))
    elif data_type == "node":
        with np.load(path, allow_pickle=False) as d:
            feats, labels = d["features"].astype(np.float32), d["labels"].astype(np.int64)
            edges = d["edges"].astype(np.int64)
            split = {k: d[f"{k}_idx"].astype(np.int64) for k in ("train", "val", "test")}
        rows = feats.sum(1, keepdims=True)
        g = nn.GraphBatch(feats / np.where(rows > 0, rows, 1.0), edges)
        sets = {k: [(g.with_index(v), labels[v])] for k, v in split.items()}
        val = sets["val"] if early else None
        mole, res = train_one(sets["train"], sets["test"], feats.shape[1], int(labels.max()) + 1, seed, checkpoint, val)
        result.update(res, validation_accuracy=mole.accuracy(sets["val"]), n_train=len(split["train"]))
        result.update(n_test=int((labels[split["test"]] >= 0).sum()), n_val=len(split["val"]))
    else:
        with np.load(path, allow_pickle=False) as d:
            d = {k: d[k] for k in d.files}
        labels = d["graph_labels"].astype(np.int64)
        result["pool"] = "sum"  # the graph read-out (the torch backend reports it too)
        _, codes = np.unique(d["node_tags"], return_inverse=True)
        features = np.eye(int(codes.max()) + 1, dtype=np.float32)[codes]
        fold_ids = stratified_folds(labels, 10, seed)
        n_folds = 10 if folds is None else check_int("folds", folds, 1)
        per_fold = []
        for f in range(min(n_folds, 10)):
            train_ids = np.setdiff1d(np.arange(len(labels)), fold_ids[f])
            val = None
            if early:
                keep, held = holdout_split(labels[train_ids], 0.1, seed + f)
                train_ids, val = train_ids[keep], _tu_loader(d, train_ids[held], cfg["batch_size"], features)
            train = _tu_loader(d, train_ids, cfg["batch_size"], features)
            test = _tu_loader(d, fold_ids[f], cfg["batch_size"], features)
            ckpt = None if checkpoint is None else Path(f"{checkpoint}.fold{f}")
            mole, res = train_one(train, test, features.shape[1], int(labels.max()) + 1, seed + f, ckpt, val)
            per_fold.append(res)
        result["per_fold"] = per_fold
        result["fold_accuracy"] = [r["test_accuracy"] for r in per_fold]
        result["test_accuracy"] = float(np.mean(result["fold_accuracy"]))
        result["test_accuracy_std"] = float(np.std(result["fold_accuracy"]))
        result["seconds_mole"] = sum(r["seconds_mole"] for r in per_fold)
        result["folds"], result["n_graphs"] = len(per_fold), len(labels)
    result["history"] = mole.history
    result["epochs_run"] = mole.epoch
    result["seconds"] = time.perf_counter() - t0
    return result


def fit_early_stop(mole: MOLE, train, val, epochs: int, *, checkpoint=None) -> None:
    """Train epoch by epoch until :func:`~pidlearn.backends._selection.stopped` or ``epochs``, evaluating ``val``.

    The weights stay those of the stopping epoch. Every epoch's validation loss is in ``history`` (``eval_loss``), so
    a run resumed from its checkpoint continues (or stays stopped) exactly as an uninterrupted one (the torch
    experiments' loop).
    """
    while not stopped(mole.history) and not mole.done(epochs):
        mole.fit(train, epochs, eval_sets={"val": val}, stop_after=1, checkpoint=checkpoint)


def stratified_folds(labels, n_folds: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Test indices of ``n_folds`` stratified folds (those of ``pidlearn.backends.torch.mole_data``)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    start = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        for j, i in enumerate(idx):
            folds[(start + j) % n_folds].append(int(i))
        start = (start + len(idx)) % n_folds
    return [np.sort(np.asarray(f, dtype=np.int64)) for f in folds]


def _find(data_type: str, name: str, data) -> Path:
    root = Path(data)
    if not root.exists():
        raise FileNotFoundError(f"data path {root} does not exist")
    if data_type in ("vector", "grid"):
        for c in (root, root / name):
            if c.is_dir() and any(c.glob("train-images-idx3-ubyte*")):
                return c
        raise FileNotFoundError(f"no MNIST-layout IDX files for {name!r} in {root} or {root / name}")
    sub = "planetoid" if data_type == "node" else "tu"
    for c in (root, root / f"{name}.npz", root / sub / f"{name}.npz"):
        if c.is_file() and c.suffix == ".npz" and (c == root or c.stem == name):
            return c
    raise FileNotFoundError(f"no {name}.npz in {root} or {root / sub}")
