"""MOLE: module-wise training by mutual-information maximisation (Li & Pei 2023), and its MI objectives in torch.

A network is cut into modules ``f_1, ..., f_K`` (an ``nn.Sequential``-like stack); module ``k`` maps ``T_{k-1}`` to
``T_k`` (``T_0 = X``) and is trained alone on

    L_k = −I(T_k; Y) + β · I(T_k; T_{k−1})       (or β · I(T_k; X); β = 0 by default)

with its input detached, so no gradient crosses a module boundary. A classifier head on ``T_K`` is trained with
cross-entropy (its input detached too). Schedules: ``"asynchronous"`` (every step updates all modules and the head,
each on its detached input) and ``"sequential"`` (module 1 until its I(T_1; Y) stops improving, then module 2 on the
frozen output of module 1, ..., then the head).

Objectives (per batch, differentiable, in bits):

* matrix-based Rényi α-entropy MI (Sanchez Giraldo, Rao & Príncipe 2015): ``A = K / tr K`` of a Gaussian Gram matrix
  of the (flattened) representations, a delta kernel ``K = Y Yᵀ`` on one-hot labels,
  ``S_α(A) = 1/(1−α) log2 Σ λ_i(A)^α`` (α = 1.01 through ``torch.linalg.eigvalsh``; α = 2 as ``−log2 ‖A‖²_F``),
  ``I_α(A; B) = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B))``. The functions (in :mod:`.functional`) equal the NumPy ones in
  :mod:`pidlearn.continuous.renyi` in float64. The kernel width is computed on the detached batch (a constant for
  the gradient).
* InfoNCE (van den Oord et al. 2018) with a learned bilinear critic between a projection of ``T`` and a class
  embedding; a lower bound on I(T; Y) that is at most ``log2 N``.
* the PID goal of stochastic binary units (infomorphic neurons, Makkeh et al. 2025): :class:`PIDGoal` scores ``T``
  by the goal ``G = Σ_α γ_α Π(α)`` of binary units whose receptive input is ``T`` and whose context is the label
  (SxPID atoms of each unit's output against its binned receptive and context drives, through
  :class:`pidlearn.backends.torch.layers.InfomorphicLayer`); an :class:`InfomorphicModule` is itself a module of such
  units, trained by its own goal.

The β terms always use the Rényi estimator with Gaussian kernels on both sides.

Layout: the estimators live in :mod:`pidlearn.backends.torch.functional`, the objectives in
:mod:`pidlearn.backends.torch.objectives`, the shared stack trainer in :mod:`pidlearn.backends.torch._stack`, the
:class:`Backprop` baseline in :mod:`pidlearn.backends.torch.backprop` and :func:`plot_mi_history` in
:mod:`pidlearn.backends.plots`; this module holds :class:`MOLE` and re-exports all of them.

References
----------
Y. Li and Y. Pei, "MOLE: MOdular Learning FramEwork via Mutual Information Maximization", ICML 2023 Workshop on
Localized Learning, arXiv:2308.07772.
L. G. Sanchez Giraldo, M. Rao and J. C. Príncipe, IEEE Trans. Inf. Theory 61(1), 535–548 (2015).
A. van den Oord, Y. Li and O. Vinyals, "Representation learning with contrastive predictive coding",
arXiv:1807.03748 (2018).
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
"""

from __future__ import annotations

import copy
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from pidlearn._progress import progress_bar
from pidlearn.backends._settings import MOLE_SCHEDULES, check_class_labels, check_epochs, mole_settings
from pidlearn.backends.plots import plot_mi_history

# re-exported: these names were defined here before the split (``mole.RenyiMI``, ``mole.renyi_entropy``, ...)
from pidlearn.backends.torch._stack import _head_logits, _StackTrainer
from pidlearn.backends.torch.backprop import Backprop
from pidlearn.backends.torch.functional import (
    SIGMA_RULES,
    delta_gram,
    gaussian_gram,
    info_nce,
    kernel_width,
    matrix_entropy,
    renyi_entropy,
    renyi_joint_entropy,
    renyi_mutual_information,
)
from pidlearn.backends.torch.objectives import (
    OBJECTIVES,
    InfomorphicModule,
    InfoNCE,
    PIDGoal,
    RenyiMI,
    _represent,
    make_objective,
)

__all__ = [
    "MOLE",
    "OBJECTIVES",
    "SCHEDULES",
    "SIGMA_RULES",
    "Backprop",
    "InfoNCE",
    "InfomorphicModule",
    "PIDGoal",
    "RenyiMI",
    "delta_gram",
    "gaussian_gram",
    "info_nce",
    "kernel_width",
    "make_objective",
    "matrix_entropy",
    "plot_mi_history",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mutual_information",
]

SCHEDULES = MOLE_SCHEDULES


def _detach(h):
    return h.detach()


class MOLE(_StackTrainer):
    """Train a stack of modules by per-module MI maximisation, gradients isolated between modules.

    Parameters
    ----------
    modules : nn.Sequential, list of nn.Module
        The stack; module ``k`` takes module ``k − 1``'s output (tensors, or :class:`graph.GraphBatch` for graphs).
    objective : {"renyi", "renyi2", "renyi-norm", "infonce", "pid"} or nn.Module, default "renyi"
        Estimator of I(T_k; Y), called as ``objective(t, labels)`` in bits; copied for every module. ``"pid"``
        (:class:`PIDGoal`): the PID goal of binary units with the label as context (an :class:`InfomorphicModule`
        is scored by its own units and needs it).
    head : nn.Module, optional
        Classifier on the last module's (flattened / pooled) output; default ``nn.LazyLinear(n_classes)``.
    n_classes : int, optional
        Number of classes (``>= 2``); needed for the default head, ``"infonce"`` and ``"pid"``.
    beta : float, default 0
        Weight (``>= 0``) of the compression term ``β · I(T_k; T_{k−1})`` (``beta_on="previous"``) or
        ``β · I(T_k; X)`` (``beta_on="input"``), estimated with Rényi α = 1.01 (or the objective's α) on Gaussian
        kernels.
    beta_on : {"previous", "input"}, default "previous"
    schedule : {"asynchronous", "sequential"}, default "asynchronous"
    batch_size : int, default 256
        At least 2 (the batch estimators need two samples).
    lr, weight_decay : float
        Adam settings of every module (with its objective's parameters) and of the head: ``lr > 0``,
        ``weight_decay >= 0``.
    head_lr, head_weight_decay : float, optional
        The head's learning rate and weight decay (default ``lr`` and ``weight_decay``). A head marked
        ``takes_graph`` (a GCN layer) receives the last module's graph batch.
    head_epochs : int, default 0
        Asynchronous: epochs of the head alone on the frozen modules after ``epochs`` (the head trained together
        with the modules chases a moving representation and lags: MNIST MLP, 4096 images, 3 epochs: 82 % against
        87 % for a head refitted on the same frozen features). Sequential: the head stage's length when > 0.
    patience, min_delta : sequential schedule: a module stops when its mean training I(T_k; Y) has not improved by
        ``min_delta >= 0`` bits for ``patience >= 1`` epochs (or after ``epochs`` epochs).
    seed : int, default 0
        Seeds the shuffling (private generator; 0 to ``2**63 - 2``); create the modules
        after ``torch.manual_seed(seed)``.
    progress : bool, default True
        tqdm progress bar (when tqdm is installed).

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``stage`` (module index, ``"head"`` or ``"all"``), ``mi`` {"module k": mean training
        I(T_k; Y) in bits over the epoch's batches, for the modules trained in it}, ``head_loss`` (mean training
        cross-entropy of the head, nats, in epochs that train it), ``seconds``; with ``eval_sets``, in the
        evaluated epochs, ``accuracy`` and ``eval_loss`` (mean cross-entropy, nats) {set name: value}.
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
        super().__init__(
            modules,
            head,
            n_classes=n_classes,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            seed=seed,
            progress=progress,
            head_weight_decay=head_weight_decay,
        )
        settings = mole_settings(
            schedule=schedule,
            beta=beta,
            beta_on=beta_on,
            lr=self.lr,
            head_lr=head_lr,
            head_epochs=head_epochs,
            patience=patience,
            min_delta=min_delta,
        )
        base = make_objective(objective, self.n_classes)
        for i, m in enumerate(self.modules):
            if isinstance(m, InfomorphicModule) and not isinstance(base, PIDGoal):
                raise ValueError(
                    f"module {i + 1} is an InfomorphicModule (binary units with sampled outputs): it learns by its own "
                    "PID goal, use objective='pid'"
                )
        self.objectives = nn.ModuleList(copy.deepcopy(base) for _ in self.modules)
        self.beta, self.beta_on, self.schedule = settings["beta"], settings["beta_on"], settings["schedule"]
        self._beta_mi = RenyiMI(getattr(base, "alpha", 1.01))
        self.head_lr, self.head_epochs = settings["head_lr"], settings["head_epochs"]
        self.patience, self.min_delta = settings["patience"], settings["min_delta"]
        self.stage = 0  # sequential: index of the module in training, len(modules) = the head
        self.stage_epochs = 0
        self.best = -math.inf
        self.stale = 0
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def _materialise_objective(self, k, t, y) -> None:
        self._objective(k, t, y)

    def _objective(self, k: int, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        obj = self.objectives[k]
        return obj(t, y, module=self.modules[k]) if isinstance(obj, PIDGoal) else obj(t, y)

    def _make_optimizers(self) -> None:
        for k, (m, obj) in enumerate(zip(self.modules, self.objectives, strict=True)):
            params = [*m.parameters(), *obj.parameters()]
            if params:
                self.optimizers[f"module {k + 1}"] = torch.optim.Adam(
                    params, lr=self.lr, weight_decay=self.weight_decay
                )
        self.optimizers["head"] = torch.optim.Adam(
            self.head.parameters(), lr=self.head_lr, weight_decay=self.head_weight_decay
        )

    def _extra_state(self) -> dict:
        return {
            "objectives": self.objectives.state_dict(),
            "stage": self.stage,
            "stage_epochs": self.stage_epochs,
            "best": self.best,
            "stale": self.stale,
        }

    def _load_extra_state(self, state: dict) -> None:
        self.objectives.load_state_dict(state["objectives"])
        self.stage, self.stage_epochs = int(state["stage"]), int(state["stage_epochs"])
        self.best, self.stale = float(state["best"]), int(state["stale"])

    def prepare(self, data) -> None:
        """Give lazy layers their shapes and create the optimisers (done by :meth:`fit`; call before :meth:`load`)."""
        if not self.optimizers:
            self._materialise(data)
            self._make_optimizers()

    # losses ---------------------------------------------------------------------------------------------------------
    def module_loss(self, k: int, h_in, x_rep: torch.Tensor | None, y: torch.Tensor):
        """Module ``k``'s output and loss on a detached input: ``−I(T_k; Y) [+ β I(T_k; T_{k−1} or X)]``."""
        h_in = _detach(h_in)
        module = self.modules[k]
        h = module(h_in, y) if getattr(module, "takes_labels", False) else module(h_in)
        t = _represent(h)
        mi = self._objective(k, t, y)
        loss = -mi
        if self.beta > 0:
            other = _represent(h_in) if self.beta_on == "previous" else x_rep
            loss = loss + self.beta * self._beta_mi.mi(t, other.detach())
        return h, loss, mi

    def head_loss(self, h, y: torch.Tensor) -> torch.Tensor:
        logits = _head_logits(self.head, _detach(h))
        keep = y >= 0
        if logits.ndim == 2 and len(y):
            check_class_labels(int(y.min()), int(y.max()), n_outputs=logits.shape[1], unlabelled_ok=True)
        return F.cross_entropy(logits[keep], y[keep])

    # training -------------------------------------------------------------------------------------------------------
    def _epoch_asynchronous(self, batches) -> dict:
        self._train_mode(True)
        n = len(batches)
        mis = [0.0] * len(self.modules)
        head_loss = 0.0
        for inp, y in progress_bar(batches, self.progress, f"epoch {self.epoch + 1}"):
            y = self._checked_batch(inp, y)
            x_rep = _represent(inp).detach() if self.beta > 0 and self.beta_on == "input" else None
            total = 0.0
            h = inp
            for k in range(len(self.modules)):
                h, loss, mi = self.module_loss(k, h, x_rep, y)
                total = total + loss
                mis[k] += float(mi.detach()) / n
            hl = self.head_loss(h, y)
            head_loss += float(hl.detach()) / n
            for opt in self.optimizers.values():
                opt.zero_grad(set_to_none=True)
            (total + hl).backward()
            for opt in self.optimizers.values():
                opt.step()
        return {"stage": "all", "mi": {f"module {k + 1}": v for k, v in enumerate(mis)}, "head_loss": head_loss}

    def _frozen_forward(self, inp, upto: int):
        with torch.no_grad():
            h = inp
            for m in self.modules[:upto]:
                h = m(h)
        return h

    def _epoch_sequential(self, batches) -> dict:
        k = self.stage
        self._train_mode(False)
        n = len(batches)
        desc = f"epoch {self.epoch + 1} ({'head' if k == len(self.modules) else f'module {k + 1}'})"
        if k < len(self.modules):
            self.modules[k].train(True)
            self.objectives[k].train(True)
            name = f"module {k + 1}"
            opt = self.optimizers.get(name)
            mi_sum = 0.0
            for inp, y in progress_bar(batches, self.progress, desc):
                y = self._checked_batch(inp, y)
                x_rep = _represent(inp).detach() if self.beta > 0 and self.beta_on == "input" else None
                h_in = self._frozen_forward(inp, k)
                _, loss, mi = self.module_loss(k, h_in, x_rep, y)
                mi_sum += float(mi.detach()) / n
                if opt is not None:
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            return {"stage": k, "mi": {name: mi_sum}}
        return self._epoch_head(batches, desc)

    def _epoch_head(self, batches, desc: str) -> dict:
        """One epoch of the head alone on the frozen (eval-mode) modules."""
        self._train_mode(False)
        self.head.train(True)
        k, n = len(self.modules), len(batches)
        opt = self.optimizers["head"]
        head_loss = 0.0
        for inp, y in progress_bar(batches, self.progress, desc):
            y = self._checked_batch(inp, y)
            hl = self.head_loss(self._frozen_forward(inp, k), y)
            head_loss += float(hl.detach()) / n
            opt.zero_grad(set_to_none=True)
            hl.backward()
            opt.step()
        return {"stage": "head", "mi": {}, "head_loss": head_loss}

    def _advance_stage(self, record: dict, epochs: int) -> None:
        """Sequential: move to the next module when the current one's MI stalls, saturates or used its epochs."""
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

    def fit(
        self,
        data,
        epochs: int,
        *,
        eval_sets: dict | None = None,
        checkpoint=None,
        eval_every: int = 1,
        stop_after: int | None = None,
    ):
        """Train; a resumed trainer continues where it stopped.

        Parameters
        ----------
        data : (x, y) tensors, a list of (input, labels) batches, or a callable ``f(generator) -> batches``
        epochs : int
            Asynchronous: epochs of all modules and the head together (then ``head_epochs`` of the head alone).
            Sequential: the most epochs per module, and for the head (``head_epochs`` when that is > 0).
        eval_sets : dict name -> data, optional
            Accuracy and cross-entropy after every ``eval_every`` epochs (sequential: only while the head trains)
            and at the end.
        checkpoint : path, optional
            Saved after every epoch.
        stop_after : int, optional
            Return after this many epochs of this call (a time-boxed run; resume later from the checkpoint).
        """
        epochs = check_epochs(epochs)
        self.prepare(data)
        self._check_eval_sets(eval_sets)
        start = self.epoch
        while not self._done(epochs) and (stop_after is None or self.epoch - start < stop_after):
            t0 = time.perf_counter()
            batches = self._batches(data, train=True)
            if self.schedule == "asynchronous" and self.epoch < epochs:
                record = self._run_epoch(self._epoch_asynchronous, batches)
            elif self.schedule == "asynchronous":  # the head alone on the trained modules
                record = self._run_epoch(self._epoch_head, batches, f"epoch {self.epoch + 1} (head)")
            else:
                record = self._run_epoch(self._epoch_sequential, batches)
                self._advance_stage(record, epochs)
            self.epoch += 1
            record["epoch"] = self.epoch
            record["seconds"] = time.perf_counter() - t0
            head_trains = record["stage"] in ("all", "head")
            last = self._done(epochs)
            if eval_sets and head_trains and (last or self.epoch % max(1, eval_every) == 0):
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

    @torch.no_grad()
    def mutual_information(self, inp, y) -> list[float]:
        """I(T_k; Y) in bits of every module on one batch (eval mode), with each module's objective.

        Parameters
        ----------
        inp : Tensor or GraphBatch
            One batch of inputs (finite, shaped like the training data's).
        y : LongTensor (n,)
            Its class labels, every one in ``0..n_classes-1`` (the estimators need every label).

        Returns
        -------
        list of float
            One value per module, in bits.
        """
        y = self._checked_batch(inp, y, name="inp")
        self._train_mode(False)
        self.objectives.eval()
        out, h = [], inp
        try:
            for k, m in enumerate(self.modules):
                h = m(h)
                out.append(float(self._objective(k, _represent(h), y)))
        except torch.linalg.LinAlgError as exc:
            raise ValueError(
                f"an eigendecomposition failed on module {len(out) + 1}'s output ({str(exc).splitlines()[0]}): "
                "its representation of inp is degenerate (e.g. diverged weights)"
            ) from None
        return out
