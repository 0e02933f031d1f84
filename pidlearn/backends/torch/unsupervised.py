"""Unsupervised infomorphic layer and the linear probe that scores its codes.

The layer's receptive input is the image and its context the other neurons' previous samples (two passes per
batch: the first with context 0, the second with the first pass's samples; only the second enters the goal). The
default goal ``lateral_heuristic`` rewards the unique information of R, ``Π({1})``: each neuron should encode what
the others do not (Makkeh et al. PNAS 2025). The codes are scored the standard way: a multinomial logistic
regression trained on the frozen binary codes of the training images, tested on the test images, beside the same
probe on a random projection ``sign(x G)`` of the same size.
"""

from __future__ import annotations

import time

import torch

from pidlearn._progress import progress_bar
from pidlearn.backends._settings import (
    check_epochs,
    check_finite_inputs,
    check_int,
    check_learning_rate,
    check_probe_inputs,
    check_seed,
    check_size,
    check_weight_decay,
)
from pidlearn.backends.torch._checkpoint import TorchCheckpoint
from pidlearn.backends.torch.functional import atom_names
from pidlearn.backends.torch.layers import InfomorphicLayer
from pidlearn.backends.torch.optim import Adam
from pidlearn.goals import RESIDUAL

__all__ = ["UnsupervisedTrainer", "linear_probe", "random_projection_codes"]


class UnsupervisedTrainer(TorchCheckpoint):
    """Train an unsupervised :class:`InfomorphicLayer` (R = image, C = the layer's own previous samples).

    Parameters
    ----------
    n_inputs : int
    n_neurons : int
        At least 2 (each neuron's context is the other neurons' samples).
    goal : str or mapping, default "lateral_heuristic"
    batch_size : int, default 1024
    lr : float, default 2e-3
        Positive.
    weight_decay : float, default 3.5e-4
        Non-negative.
    seed : int, default 0
        Initial weights (``torch.manual_seed(seed)``), shuffling and the neurons' samples.
    progress : bool, default True
    """

    def __init__(
        self,
        n_inputs: int,
        n_neurons: int,
        *,
        goal="lateral_heuristic",
        batch_size: int = 1024,
        lr: float = 2e-3,
        weight_decay: float = 3.5e-4,
        seed: int = 0,
        progress: bool = True,
    ):
        n_inputs, n_neurons = check_size("n_inputs", n_inputs), check_int("n_neurons", n_neurons, 2)
        batch_size = check_int("batch_size", batch_size, 2)
        seed = check_seed(seed)
        lr, weight_decay = check_learning_rate("lr", lr), check_weight_decay("weight_decay", weight_decay)
        torch.manual_seed(seed)
        self.layer = InfomorphicLayer(n_inputs, n_neurons, n_neurons, goal=goal, context_no_self=True)
        self.optimizer = Adam(self.layer.parameters(), lr=lr, weight_decay=weight_decay)
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.seed = seed
        self.progress = progress
        self.epoch = 0
        self.history: list[dict] = []

    def _two_pass(self, x: torch.Tensor, generator) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(len(x), self.layer.n_neurons, dtype=x.dtype)
        _, first = self.layer(x, zeros, generator=generator)
        return self.layer(x, first, generator=generator)

    def _check_x(self, x) -> torch.Tensor:
        """``x`` (a tensor or array) as a finite tensor of the layer's dtype and shape ``(n, n_inputs)``."""
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"x must be a real numeric array or tensor, got {type(x).__name__}") from None
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"x must be a real numeric array, got dtype {x.dtype}")
        if x.dim() != 2 or x.shape[1] != self.layer.n_receptive:
            raise ValueError(f"x has shape {tuple(x.shape)}; the layer expects (n, {self.layer.n_receptive})")
        return check_finite_inputs(x, "x").to(next(self.layer.parameters()).dtype)

    def fit(self, x: torch.Tensor, epochs: int, *, checkpoint=None) -> list[dict]:
        """Train until ``epochs`` epochs are done in total; ``history`` holds seconds and mean atoms per epoch.

        ``epochs`` is a positive int; ``checkpoint`` (a path) is saved after every epoch; :meth:`load` resumes from
        it to the same state.
        """
        epochs = check_epochs(epochs)
        x = self._check_x(x)
        if len(x) < self.batch_size:
            raise ValueError(f"x has {len(x)} samples, fewer than one batch of {self.batch_size}")
        names = [*atom_names(2), RESIDUAL]
        while self.epoch < epochs:
            t0 = time.perf_counter()
            order = torch.randperm(len(x), generator=self.generator)
            n_batches = max(1, len(x) // self.batch_size)
            total = torch.zeros(len(names))
            for k in progress_bar(range(n_batches), self.progress, desc=f"epoch {self.epoch + 1}"):
                self._two_pass(x[order[k * self.batch_size : (k + 1) * self.batch_size]], self.generator)
                pid = self.layer.pid()
                loss = self.layer.loss(pid)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total += torch.cat([pid.atoms.detach().mean(0), pid.residual_entropy.detach().mean().reshape(1)])
            self.epoch += 1
            self.history.append(
                {
                    "epoch": self.epoch,
                    "seconds": time.perf_counter() - t0,
                    "accuracy": {},
                    "atoms": {"unsupervised": dict(zip(names, (total / n_batches).tolist(), strict=True))},
                }
            )
            if checkpoint is not None:
                self.save(checkpoint)
        return self.history

    def state_dict(self) -> dict:
        """Everything needed to resume: layer, optimiser, generator state, epoch and history."""
        return {
            "layer": self.layer.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "history": self.history,
            "seed": self.seed,
        }

    def load_state_dict(self, state: dict) -> None:
        self.layer.load_state_dict(state["layer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        self.seed = int(state["seed"])

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Binary codes in {−1, +1}: ``θ > 0.5`` of the second pass (the first pass's samples from a fixed seed)."""
        x = self._check_x(x)
        gen = torch.Generator().manual_seed(self.seed + 1)
        out = [torch.zeros(0, self.layer.n_neurons, dtype=x.dtype)]
        for k in range(0, len(x), 4096):
            theta, _ = self._two_pass(x[k : k + 4096], gen)
            out.append(torch.where(theta > 0.5, 1.0, -1.0).to(x.dtype))
        return torch.cat(out)


def random_projection_codes(x: torch.Tensor, n_codes: int, seed: int = 0) -> torch.Tensor:
    """``sign(x G)`` with a Gaussian ``G`` (n_inputs, n_codes): the baseline code of the same size.

    Parameters
    ----------
    x : Tensor or array (n, n_inputs)
        The inputs; the codes have their dtype when it is a float (else float32).
    n_codes : int
        Bits per code.
    seed : int, default 0
        Seed of a private ``torch.Generator`` that draws ``G`` (the NumPy backend draws another ``G``).

    Returns
    -------
    Tensor (n, n_codes) in {−1, +1}
    """
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    g = torch.Generator().manual_seed(seed)
    proj = torch.randn(x.shape[1], n_codes, generator=g, dtype=x.dtype)
    return torch.where(x @ proj >= 0, 1.0, -1.0).to(x.dtype)


def linear_probe(
    train_codes: torch.Tensor,
    train_labels: torch.Tensor,
    test_codes: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    epochs: int = 300,
    lr: float = 0.05,
    seed: int = 0,
) -> float:
    """Test accuracy of a multinomial logistic regression trained full-batch (Adam) on frozen codes.

    The model is ``torch.nn.Linear`` (initialised after ``torch.manual_seed(seed)``) under the mean cross-entropy.

    Parameters
    ----------
    train_codes, test_codes : Tensor or array (n, n_codes)
        The frozen codes (used as float32).
    train_labels, test_labels : Tensor or array (n,)
        Class indices ``0..K-1`` (``K`` is one more than the largest label of either set).
    epochs : int, default 300
        Full-batch Adam steps.
    lr : float, default 0.05
        Adam's learning rate.
    seed : int, default 0
        Seeds the initial weights.

    Returns
    -------
    float
        The fraction of test codes whose label is predicted.
    """
    train_codes, test_codes = (torch.as_tensor(c, dtype=torch.float32) for c in (train_codes, test_codes))
    train_labels, test_labels = (torch.as_tensor(y).to(torch.int64) for y in (train_labels, test_labels))
    check_probe_inputs(train_codes, train_labels, test_codes, test_labels)
    torch.manual_seed(seed)
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    model = torch.nn.Linear(train_codes.shape[1], n_classes)
    opt = Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        loss = torch.nn.functional.cross_entropy(model(train_codes), train_labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((model(test_codes).argmax(1) == test_labels).float().mean())
