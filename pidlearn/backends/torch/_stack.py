"""The stack trainer shared by :class:`~pidlearn.backends.torch.mole.MOLE` and
:class:`~pidlearn.backends.torch.backprop.Backprop`: data iteration, label checks, evaluation and checkpoints."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from pidlearn.backends._settings import (
    LOAD_BEFORE_PREPARE,
    NON_FINITE_INPUTS,
    all_finite,
    check_class_labels,
    check_finite_inputs,
    check_input_width,
    check_predictions,
    diverged_message,
    input_width,
    stack_settings,
)
from pidlearn.backends.torch._checkpoint import TorchCheckpoint, read_checkpoint
from pidlearn.backends.torch.objectives import _represent

__all__ = ["_StackTrainer", "_head_logits"]


def _head_logits(head, h) -> torch.Tensor:
    """The head's logits for a module output ``h``.

    A head marked ``takes_graph`` (a :class:`~pidlearn.backends.torch.graph.GCNBlock`: the second layer of Kipf &
    Welling's GCN) receives the graph batch and its output rows are read out; any other head receives the per-sample
    representation (flattened rows, selected nodes or pooled graphs).
    """
    if getattr(head, "takes_graph", False) and not isinstance(h, torch.Tensor):
        return _represent(head(h))
    return head(_represent(h))


class _StackTrainer(TorchCheckpoint):
    """Data iteration, evaluation and checkpoints shared by :class:`MOLE` and :class:`Backprop`."""

    def __init__(
        self, modules, head, *, n_classes, batch_size, lr, weight_decay, seed, progress, head_weight_decay=None
    ):
        if isinstance(modules, nn.Module) and not isinstance(modules, (nn.Sequential, nn.ModuleList)):
            modules = [modules]
        modules = list(modules)
        if not modules:
            raise ValueError("MOLE needs at least one module")
        for i, m in enumerate(modules):
            if not isinstance(m, nn.Module):
                raise TypeError(f"module {i} is a {type(m).__name__}, not a torch.nn.Module")
        settings = stack_settings(
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            head_weight_decay=head_weight_decay,
            seed=seed,
            n_classes=n_classes,
        )
        self.modules = nn.ModuleList(modules)
        n_classes = settings["n_classes"]
        if head is None:
            if n_classes is None:
                raise ValueError("give a head module or n_classes (for a linear head)")
            head = nn.LazyLinear(n_classes)
        self.head = head
        self.n_classes = n_classes
        self.batch_size, self.lr, self.weight_decay = settings["batch_size"], settings["lr"], settings["weight_decay"]
        self.head_weight_decay = settings["head_weight_decay"]
        self.seed, self.progress = settings["seed"], progress
        self._input_width = None  # (ndim, width) of the inputs prepare() saw: later batches must match
        self.generator = torch.Generator().manual_seed(self.seed)
        self.epoch = 0
        self.history: list[dict] = []

    # data -----------------------------------------------------------------------------------------------------------
    def _batches(self, data, train: bool):
        """(input, labels) batches: tensors are cut into (shuffled) mini-batches; a callable or list is used as is."""
        if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], torch.Tensor):
            x, y = data
            y = torch.as_tensor(y)  # its dtype is checked per batch (float labels are refused, not truncated)
            if len(x) != len(y):
                raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
            n = len(x)
            if n == 0:
                raise ValueError("data is empty: x and y have 0 samples; give at least one batch of samples")
            if train:
                order = torch.randperm(n, generator=self.generator)
                n_batches = max(1, n // self.batch_size)  # full batches: the batch estimators depend on N
                return [
                    (x[idx], y[idx])
                    for idx in (order[k * self.batch_size : (k + 1) * self.batch_size] for k in range(n_batches))
                ]
            bs = max(self.batch_size, 1024)
            return [(x[k : k + bs], y[k : k + bs]) for k in range(0, n, bs)]
        if callable(data):
            batches = list(data(self.generator if train else None))
        elif isinstance(data, (list, tuple)):
            batches = list(data)
        else:
            raise TypeError("data must be a pair of tensors (x, y), a list of (input, labels) batches or a callable")
        if not batches:
            raise ValueError("data holds no batches; give at least one (input, labels) batch")
        return batches

    def _checked_batch(self, inp, y, *, unlabelled_ok: bool = False, name: str | None = None) -> torch.Tensor:
        """A batch's labels as int64 after checking them and the inputs (before any estimator or layer sees them).

        Labels must be integers in ``0..n_classes-1`` (``-1``, unlabelled, only where ``unlabelled_ok``: evaluation
        and the cross-entropy of :class:`Backprop` skip them; MOLE's objectives need every label); inputs must be
        finite and as wide as those :meth:`prepare` saw. ``name``: the argument of an evaluation (``None``: a
        training batch).
        """
        y = torch.as_tensor(y)
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"labels must be an integer tensor of class indices, got dtype {y.dtype}")
        y = y.to(torch.int64)
        if y.ndim != 1 or len(y) == 0:
            kind = "a training batch" if name is None else f"every batch of {name}"
            raise ValueError(f"labels of {kind} must be 1-D and non-empty, got shape {tuple(y.shape)}")
        check_class_labels(int(y.min()), int(y.max()), self.n_classes, unlabelled_ok=unlabelled_ok)
        x = inp if isinstance(inp, torch.Tensor) else getattr(inp, "x", None)
        if isinstance(x, torch.Tensor):
            if name is None and x.is_floating_point() and not all_finite(x):
                raise ValueError(NON_FINITE_INPUTS)
            if name is not None and x.is_floating_point():
                check_finite_inputs(x, name, before="evaluating")
            check_input_width(x, self._input_width, "the training inputs" if name is None else name)
        return y

    def _diverged(self, what: str) -> str:
        return diverged_message(self.epoch + 1, what, self.lr)

    def _run_epoch(self, epoch_fn, *args) -> dict:
        """One epoch; NaN losses or a failed eigendecomposition become a ValueError naming the epoch."""
        try:
            record = epoch_fn(*args)
        except torch.linalg.LinAlgError as exc:
            raise ValueError(self._diverged(f"an eigendecomposition failed ({str(exc).splitlines()[0]})")) from None
        values = [v for k, v in record.items() if k in ("loss", "head_loss")] + list(record.get("mi", {}).values())
        if not all(math.isfinite(float(v)) for v in values):
            raise ValueError(self._diverged("the loss or the mutual information became NaN or inf"))
        return record

    def _train_mode(self, flag: bool):
        self.modules.train(flag)
        self.head.train(flag)

    @torch.no_grad()
    def predict_logits(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """Head outputs and labels over all batches of ``data`` (eval mode).

        Parameters
        ----------
        data : (x, y) tensors, a list of (input, labels) batches, or a callable ``f(None) -> batches``
            Inputs finite and shaped like the training data's, labels integer class indices (``-1``: unlabelled).

        Returns
        -------
        logits : Tensor (n, n_outputs)
        labels : LongTensor (n,)
        """
        self._train_mode(False)
        outs, ys = [], []
        for inp, y in self._batches(data, train=False):
            y = self._checked_batch(inp, y, unlabelled_ok=True, name="data")
            h = inp
            for m in self.modules:
                h = m(h)
            logits = _head_logits(self.head, h)
            check_predictions(logits, y)
            outs.append(logits)
            ys.append(y)
        return torch.cat(outs), torch.cat(ys)

    def accuracy(self, data) -> float:
        """Fraction of correct predictions (labels < 0 are unlabelled and skipped).

        Parameters
        ----------
        data : (x, y) tensors, a list of (input, labels) batches, or a callable ``f(None) -> batches``
        """
        logits, y = self.predict_logits(data)
        keep = y >= 0
        return float((logits.argmax(1)[keep] == y[keep]).float().mean())

    # checkpoints ----------------------------------------------------------------------------------------------------
    def _extra_state(self) -> dict:
        return {}

    def _load_extra_state(self, state: dict) -> None:
        pass

    def state_dict(self) -> dict:
        """Everything needed to resume: parameters, optimisers, RNG states, epoch, history."""
        return {
            "modules": self.modules.state_dict(),
            "head": self.head.state_dict(),
            "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": self.epoch,
            "history": self.history,
            "seed": self.seed,
            **self._extra_state(),
        }

    def load(self, path) -> None:
        """Resume from a checkpoint of :meth:`save` (call :meth:`prepare` first; ``torch.load(weights_only=True)``).

        Parameters
        ----------
        path : str or Path

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If ``path`` is not a torch pidlearn checkpoint of this class, is corrupt, or does not match this trainer.
        RuntimeError
            Before :meth:`prepare` (there are no optimisers yet to take their saved state), for a readable file.
        """
        if not self.optimizers:
            read_checkpoint(path, type(self).__name__)  # a missing or bad file is the first thing to report
            raise RuntimeError(LOAD_BEFORE_PREPARE)
        super().load(path)

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (after :meth:`prepare`: the optimisers take their saved state)."""
        if not self.optimizers:
            raise RuntimeError(LOAD_BEFORE_PREPARE)
        self.modules.load_state_dict(state["modules"])
        self.head.load_state_dict(state["head"])
        self._load_extra_state(state)
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        self.seed = int(state["seed"])

    def _materialise(self, data) -> None:
        """Run one batch through modules, head and objectives so lazy layers get their shapes before optimisers."""
        inp, y = self._batches(data, train=False)[0]
        y = self._checked_batch(inp, y, unlabelled_ok=not hasattr(self, "objectives"))  # Backprop skips y < 0
        x = inp if isinstance(inp, torch.Tensor) else getattr(inp, "x", None)
        if isinstance(x, torch.Tensor):
            self._input_width = input_width(x)
        with torch.no_grad():
            self._train_mode(False)
            h = inp
            for k, m in enumerate(self.modules):
                h = m(h)
                self._materialise_objective(k, _represent(h), torch.as_tensor(y, dtype=torch.int64))
            _head_logits(self.head, h)

    def _materialise_objective(self, k, t, y) -> None:
        pass

    def _check_eval_sets(self, eval_sets) -> None:
        """Check every batch of every evaluation set (labels, finite inputs, width) before ``fit`` trains."""
        if eval_sets is None:
            return
        if not isinstance(eval_sets, dict):
            raise TypeError(f"eval_sets must be a dict name -> data, got {type(eval_sets).__name__}")
        for name, d in eval_sets.items():
            for inp, y in self._batches(d, train=False):
                self._checked_batch(inp, y, unlabelled_ok=True, name=f"eval_sets[{name!r}]")

    def _evaluate(self, record, eval_sets) -> None:
        """``record["accuracy"]`` and ``record["eval_loss"]`` (mean cross-entropy, nats) per evaluation set."""
        accuracy, loss = {}, {}
        for name, d in (eval_sets or {}).items():
            logits, y = self.predict_logits(d)
            keep = y >= 0
            accuracy[name] = float((logits.argmax(1)[keep] == y[keep]).float().mean())
            loss[name] = float(F.cross_entropy(logits[keep], y[keep]))
        record["accuracy"], record["eval_loss"] = accuracy, loss
