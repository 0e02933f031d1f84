"""The backprop baseline of MOLE: the same stack and head trained end to end with cross-entropy."""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from pidlearn._progress import progress_bar
from pidlearn.backends._settings import check_class_labels, check_epochs
from pidlearn.backends.torch._stack import _head_logits, _StackTrainer

__all__ = ["Backprop"]


class Backprop(_StackTrainer):
    """The same stack and head trained end to end with cross-entropy (the baseline of every MOLE number).

    Adam with ``lr``; L2 weight decay ``weight_decay`` on the modules' parameters and ``head_weight_decay`` (default:
    the same) on the head's. Kipf & Welling (ICLR 2017) decay only the first GCN layer: ``modules`` = that layer,
    ``head`` = the second (a :class:`~pidlearn.backends.torch.graph.GCNBlock`), ``head_weight_decay=0``.
    """

    def __init__(
        self,
        modules,
        head=None,
        *,
        n_classes=None,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        seed: int = 0,
        progress: bool = True,
        head_weight_decay: float | None = None,
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
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def prepare(self, data) -> None:
        if not self.optimizers:
            self._materialise(data)
            if self.head_weight_decay == self.weight_decay:
                params = [*self.modules.parameters(), *self.head.parameters()]
            else:  # two groups (one group when equal, so older checkpoints still load)
                params = [
                    {"params": list(self.modules.parameters())},
                    {"params": list(self.head.parameters()), "weight_decay": self.head_weight_decay},
                ]
            self.optimizers["all"] = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)

    def fit(self, data, epochs: int, *, eval_sets: dict | None = None, checkpoint=None, eval_every: int = 1):
        """Train until ``epochs`` epochs are done in total (same data forms as :meth:`MOLE.fit`)."""
        epochs = check_epochs(epochs)
        self.prepare(data)
        self._check_eval_sets(eval_sets)
        opt = self.optimizers["all"]
        while self.epoch < epochs:
            t0 = time.perf_counter()
            batches = self._batches(data, train=True)
            self._train_mode(True)
            total = 0.0
            for inp, y in progress_bar(batches, self.progress, f"epoch {self.epoch + 1}"):
                y = self._checked_batch(inp, y, unlabelled_ok=True)
                h = inp
                for m in self.modules:
                    h = m(h)
                logits = _head_logits(self.head, h)
                keep = y >= 0
                if logits.ndim == 2:
                    check_class_labels(int(y.min()), int(y.max()), n_outputs=logits.shape[1], unlabelled_ok=True)
                loss = F.cross_entropy(logits[keep], y[keep])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) / len(batches)
            if not math.isfinite(total):
                raise ValueError(self._diverged("the cross-entropy became NaN or inf"))
            self.epoch += 1
            record = {"epoch": self.epoch, "loss": total, "seconds": time.perf_counter() - t0}
            if eval_sets and (self.epoch >= epochs or self.epoch % max(1, eval_every) == 0):
                self._evaluate(record, eval_sets)
            self.history.append(record)
            if checkpoint is not None:
                self.save(checkpoint)
        return self.history
