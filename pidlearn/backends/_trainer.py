"""The backend-independent half of the supervised infomorphic trainers (NumPy and torch).

Both backends train the same layered network the same way (Makkeh et al. PNAS 2025; Schneider et al. ICLR 2025):
one Adam per layer (hidden lr 2e-3, weight decay 3.5e-4; readout lr 3e-3, weight decay 1.5e-4), shuffled full
batches of 1024, the atoms recorded on every ``monitor_every``-th batch, and at test time the label input zeroed and
every readout neuron whose mean θ is ``≥ 0.5`` flipped (``θ → 1 − θ``: PID is invariant to relabelling Y) before the
argmax. :class:`LayeredTrainer` holds that recipe once; a backend supplies the array operations and the step.
"""

from __future__ import annotations

import math
import time

import numpy as np

from pidlearn._progress import progress_bar
from pidlearn.backends._settings import (
    NON_FINITE_DRIVES,
    check_epochs,
    check_finite_inputs,
    check_int,
    check_learning_rate,
    check_seed,
    check_weight_decay,
)
from pidlearn.goals import RESIDUAL
from pidlearn.lattice import lattice

__all__ = ["LayeredTrainer"]


def _check_label_values(y, name: str) -> None:
    """Labels are integers: refuse non-integer floats and non-numeric values before they are cast to int64."""
    if y is None:
        raise TypeError(f"{name} must be an array of integer class labels, got None")
    dtype = getattr(y, "dtype", None)
    if dtype is None:
        try:
            y = np.asarray(y)
        except ValueError:
            raise ValueError(f"{name} could not be read as a 1-D array of class labels") from None
        dtype = y.dtype
    if getattr(dtype, "is_floating_point", False) or getattr(dtype, "is_complex", False):  # torch dtype
        if bool((y != y.round()).any()) or not bool(y.isfinite().all()):
            raise ValueError(f"{name} holds non-integer values; class labels are integers 0..n_classes-1")
    elif isinstance(dtype, np.dtype) and dtype.kind not in "iub":
        if dtype.kind != "f":
            raise TypeError(f"{name} has dtype {dtype}; class labels are integers 0..n_classes-1")
        if not (np.isfinite(y).all() and np.all(y == np.round(y))):
            raise ValueError(f"{name} holds non-integer values; class labels are integers 0..n_classes-1")


class LayeredTrainer:
    """Settings checks, epoch loop, prediction and ``fit`` shared by the backends' ``Trainer``.

    A backend implements ``_make_optimizer(layer, lr, weight_decay)``, ``_permutation(n)``, ``_one_hot(labels,
    dtype)``, ``_train_batch(x, context, monitor)`` (one gradient step; returns ``{layer: (loss, mean atoms + H_res
    or None)}``), ``_as_inputs(x, y)``, ``_eval_generator()`` and ``_theta_pass(x, generator, batch_size)`` (the
    readout θ of one stochastic pass with the label input zeroed), ``state_dict`` / ``load_state_dict`` and
    ``save`` / ``load``; the network provides ``layers()``, ``n_inputs`` and ``n_classes``, its layers
    ``n_sources``. Every setting is checked here, once for both backends, before an optimiser is made.
    """

    def __init__(
        self,
        network,
        *,
        batch_size: int,
        lr_hidden: float,
        weight_decay_hidden: float,
        lr_readout: float,
        weight_decay_readout: float,
        seed: int,
        progress: bool,
        monitor_every: int,
        eval_samples: int = 1,
    ):
        self.batch_size = check_int("batch_size", batch_size, 2)
        self.monitor_every = check_int("monitor_every", monitor_every, 1)
        self.eval_samples = check_int("eval_samples", eval_samples, 1)
        self.seed = check_seed(seed)
        given = {"hidden": (lr_hidden, weight_decay_hidden), "readout": (lr_readout, weight_decay_readout)}
        rates = {
            kind: (check_learning_rate(f"lr_{kind}", lr), check_weight_decay(f"weight_decay_{kind}", decay))
            for kind, (lr, decay) in given.items()
        }
        layers = getattr(network, "layers", None)
        if not callable(layers) or not all(hasattr(network, a) for a in ("n_inputs", "n_classes")):
            raise TypeError(
                f"network must be an InfomorphicNetwork of this backend, got a {type(network).__name__}; make one "
                f"with {type(self).__module__}.InfomorphicNetwork(n_inputs, n_classes)"
            )
        self.network = network
        self.progress = progress
        self.optimizers = {}
        for name, layer in layers().items():
            lr, weight_decay = rates["readout" if name == "readout" else "hidden"]
            try:
                self.optimizers[name] = self._make_optimizer(layer, lr, weight_decay)
            except AttributeError:  # a layer of the other backend (no params / parameters())
                raise TypeError(
                    f"network must be an InfomorphicNetwork of this trainer's backend ({type(self).__module__}), "
                    f"got one of {type(network).__module__}"
                ) from None
        self.epoch = 0
        self.history: list[dict] = []

    def train_epoch(self, x, labels) -> dict:
        """One pass over the training set (full batches only: the plug-in estimates depend on the batch size).

        Returns the mean loss per layer and the mean atoms per layer (bits, averaged over neurons and over every
        ``monitor_every``-th batch, the first included).
        """
        net = self.network
        order = self._permutation(len(x))
        n_batches = max(1, len(x) // self.batch_size)
        sums = dict.fromkeys(self.optimizers)
        losses = dict.fromkeys(self.optimizers, 0.0)
        n_monitored = 0
        for k in progress_bar(range(n_batches), self.progress, desc=f"epoch {self.epoch + 1}"):
            idx = order[k * self.batch_size : (k + 1) * self.batch_size]
            monitor = k % self.monitor_every == 0
            n_monitored += monitor
            for name, (loss, mean) in self._train_batch(x[idx], self._one_hot(labels[idx], x.dtype), monitor).items():
                losses[name] += loss / n_batches
                if monitor:
                    sums[name] = mean if sums[name] is None else sums[name] + mean
        atoms = {}
        for name, layer in net.layers().items():
            keys = [*lattice(layer.n_sources).names, RESIDUAL]
            atoms[name] = {key: float(v) / n_monitored for key, v in zip(keys, sums[name], strict=True)}
        return {"loss": losses, "atoms": atoms}

    def predict_theta(self, x, batch_size: int | None = None):
        """Readout θ with the label input zeroed, averaged over ``eval_samples`` stochastic passes.

        The hidden neurons sample their outputs, so one pass gives a noisy θ; the mean of K passes estimates its
        expectation over the hidden samples (K = 1, the default, is the reference evaluation). The samples come
        from a generator seeded with ``seed + 1``: evaluation is repeatable.
        """
        x = self._as_inputs(x, [])[0]  # an array of the backend (no labels here)
        generator = self._eval_generator()
        bs = batch_size or self.batch_size
        theta = self._theta_pass(x, generator, bs)
        for _ in range(self.eval_samples - 1):
            theta = theta + self._theta_pass(x, generator, bs)
        return theta / self.eval_samples if self.eval_samples > 1 else theta

    def predict(self, x):
        """Predicted labels: argmax of the readout θ after flipping neurons whose mean θ is ≥ 0.5."""
        theta = self.predict_theta(x)  # a fresh array (NumPy or torch): flipped in place
        flip = theta.mean(0) >= 0.5
        theta[:, flip] = 1.0 - theta[:, flip]
        return theta.argmax(1)

    def _diverged(self) -> str:
        lrs = ", ".join(f"{name}: {opt_lr}" for name, opt_lr in self._learning_rates().items())
        return (
            f"training diverged in epoch {self.epoch + 1}: the losses or the neurons' drives became NaN or inf "
            f"(learning rates {lrs}); try smaller learning rates (lr_hidden, lr_readout), check the inputs' scale "
            "(standardise them), or resume from the last checkpoint"
        )

    def _learning_rates(self) -> dict:
        out = {}
        for name, opt in self.optimizers.items():
            groups = getattr(opt, "param_groups", None)
            out[name] = groups[0]["lr"] if groups else getattr(opt, "lr", "?")
        return out

    def _check_data(self, x, labels, x_name: str, y_name: str) -> None:
        """Refuse labels outside 0..n_classes-1 and NaN/inf inputs (before they reach an index or a kernel)."""
        n_classes = self.network.n_classes
        if labels.ndim != 1:
            raise ValueError(f"{y_name} must be a 1-D array of class labels, got shape {tuple(labels.shape)}")
        if len(labels):
            low, high = int(labels.min()), int(labels.max())
            if low < 0 or high >= n_classes:
                raise ValueError(
                    f"{y_name} holds labels {low}..{high} but the network has {n_classes} classes: labels must lie "
                    f"in 0..{n_classes - 1} (remap them, or make the network with n_classes={max(high + 1, 2)})"
                )
        check_finite_inputs(x, x_name)

    def accuracy(self, x, labels) -> float:
        """Fraction of correctly predicted labels."""
        _check_label_values(labels, "labels")
        x, labels = self._as_inputs(x, labels)
        self._check_data(x, labels, "x", "labels")
        if len(labels) == 0 or len(x) != len(labels):
            raise ValueError(
                f"accuracy needs one label per sample and at least one sample, got {len(x)} and {len(labels)}"
            )
        return float((self.predict(x) == labels).sum()) / len(labels)

    def fit(self, x_train, y_train, epochs: int, *, eval_sets: dict | None = None, checkpoint=None) -> list[dict]:
        """Train until ``epochs`` epochs are done in total (a resumed trainer continues where it stopped).

        Parameters
        ----------
        x_train : array (n, n_inputs) float, y_train : int array (n,)
        epochs : int
            Total number of epochs (a positive int).
        eval_sets : dict name -> (x, y), optional
            Evaluated after every epoch (e.g. ``{"validation": ..., "test": ...}``).
        checkpoint : path, optional
            Saved after every epoch (see ``save``).
        """
        epochs = check_epochs(epochs)
        _check_label_values(y_train, "y_train")
        x_train, y_train = self._as_inputs(x_train, y_train)
        self._check_data(x_train, y_train, "x_train", "y_train")
        if len(x_train) != len(y_train):
            raise ValueError(f"x_train has {len(x_train)} samples but y_train has {len(y_train)}")
        if len(x_train) < 2:
            raise ValueError(
                f"x_train needs at least 2 samples (a batch estimates the neurons' PID), got {len(x_train)}"
            )
        if x_train.ndim != 2 or x_train.shape[1] != self.network.n_inputs:
            raise ValueError(
                f"x_train has shape {tuple(x_train.shape)}; the network expects {self.network.n_inputs} features"
            )
        for name, (x, y) in (eval_sets or {}).items():
            _check_label_values(y, f"eval_sets[{name!r}] labels")
            self._check_data(*self._as_inputs(x, y), f"eval_sets[{name!r}] inputs", f"eval_sets[{name!r}] labels")
        while self.epoch < epochs:
            t0 = time.perf_counter()
            try:
                record = self.train_epoch(x_train, y_train)
            except ValueError as exc:
                if str(exc) != NON_FINITE_DRIVES:
                    raise
                raise ValueError(self._diverged()) from None
            if not all(math.isfinite(v) for v in record["loss"].values()):
                raise ValueError(self._diverged())
            record["seconds"] = time.perf_counter() - t0
            self.epoch += 1
            record["epoch"] = self.epoch
            record["accuracy"] = {name: self.accuracy(x, y) for name, (x, y) in (eval_sets or {}).items()}
            self.history.append(record)
            if checkpoint is not None:
                self.save(checkpoint)
        return self.history
