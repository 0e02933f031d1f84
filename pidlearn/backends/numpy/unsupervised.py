"""Unsupervised infomorphic layer in NumPy (analytic local rule, no torch) and the linear probe that scores its codes.

NumPy twin of :mod:`pidlearn.backends.torch.unsupervised` (same classes, functions, arguments and defaults).

The layer's receptive input is the image and its context the other neurons' previous samples (two passes per
batch: the first with context 0, the second with the first pass's samples; only the second enters the goal). Each
neuron ``j`` fires with ``θ_j = σ(A(r_j, c_j))`` (the bivariate activation ``A = r [k1 + (1 − k1) 2σ(k2 r c)]``,
``r_j = w_R,j · x + b_R,j``, ``c_j = Σ_{k≠j} w_C,jk y_k + b_C,j``) and maximises

    G_j = Σ_α γ_α Π_j(α) + γ_res H_res,j

over the batch; the default goal ``lateral_heuristic`` (``γ_{1} = 1``) rewards the unique information of R,
``Π({1})``: each neuron should encode what the others do not (Makkeh et al. PNAS 2025). The weight changes come from
:meth:`pidlearn.backends.numpy.neurons.InfomorphicLayer.local_update`: the exact ``∂G_j/∂θ_{b,j}`` of
:func:`pidlearn.backends.numpy.local_rule.sxpid_goal_gradient`, chained through the activation and the linear drives
(``∂G_j/∂w_R,j = Σ_b ∂G_j/∂θ_{b,j} · θ'_{b,j} · ∂A/∂r · x_b`` and likewise for the context, diagonal masked); Adam
as ``torch.optim.Adam`` (lr 2e-3, L2 weight decay 3.5e-4). The gradients equal torch autograd to 1e-8 (relative,
float64, same samples).

The codes are scored the standard way: a multinomial logistic regression trained on the frozen binary codes of the
training images, tested on the test images, beside the same probe on a random projection ``sign(x G)`` of the same
size.

References
----------
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
"""

from __future__ import annotations

import json
import time

import numpy as np

from pidlearn._progress import progress_bar
from pidlearn.backends._files import load_npz_checkpoint, save_npz_checkpoint
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
from pidlearn.backends.numpy.local_rule import atom_names
from pidlearn.backends.numpy.neurons import InfomorphicLayer
from pidlearn.backends.numpy.train import Adam
from pidlearn.goals import RESIDUAL

__all__ = ["UnsupervisedTrainer", "linear_probe", "random_projection_codes"]


class UnsupervisedTrainer:
    """Train an unsupervised :class:`~pidlearn.backends.numpy.neurons.InfomorphicLayer` (R = image, C = the layer's
    own previous samples) with its analytic local rule.

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
        Initial weights, shuffling and the neurons' samples.
    progress : bool, default True
    dtype : numpy dtype, default float32
        Dtype of the layer (the goal and its gradient are computed in float64).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(512, 20)).astype(np.float32)
    >>> trainer = UnsupervisedTrainer(20, 8, batch_size=128, progress=False)
    >>> history = trainer.fit(x, 2)
    >>> trainer.codes(x).shape, sorted(history[-1]["atoms"]["unsupervised"])[:2]
    ((512, 8), ['H_res', '{12}'])
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
        dtype=np.float32,
    ):
        n_inputs, n_neurons = check_size("n_inputs", n_inputs), check_int("n_neurons", n_neurons, 2)
        batch_size = check_int("batch_size", batch_size, 2)
        seed = check_seed(seed)
        lr, weight_decay = check_learning_rate("lr", lr), check_weight_decay("weight_decay", weight_decay)
        self.layer = InfomorphicLayer(
            n_inputs, n_neurons, n_neurons, goal=goal, context_no_self=True, seed=seed, dtype=dtype
        )
        self.optimizer = Adam(self.layer.params, lr=lr, weight_decay=weight_decay)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.progress = progress
        self.epoch = 0
        self.history: list[dict] = []

    def _two_pass(self, x: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        zeros = np.zeros((len(x), self.layer.n_neurons), dtype=self.layer.dtype)
        _, first = self.layer.forward(x, zeros, rng=rng)
        return self.layer.forward(x, first, rng=rng)

    def _check_x(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.layer.n_receptive:
            raise ValueError(f"x has shape {tuple(x.shape)}; the layer expects (n, {self.layer.n_receptive})")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"x must be a real numeric array, got dtype {x.dtype}")
        return check_finite_inputs(x, "x").astype(self.layer.dtype, copy=False)

    def step(self, x) -> tuple[float, np.ndarray]:
        """One training step on a batch (two passes, the local rule, one Adam step).

        Returns the loss ``−Σ_j G_j`` and the mean atoms and H_res (lattice order, then H_res).
        """
        self._two_pass(x, self.rng)
        res = self.layer._goal_gradient(all_atoms=True)
        grads = self.layer.gradients()
        self.optimizer.step({k: -g for k, g in grads.items()})
        return -float(res.goal.sum()), np.append(res.atoms.mean(0), res.residual_entropy.mean())

    def fit(self, x, epochs: int, *, checkpoint=None) -> list[dict]:
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
            order = self.rng.permutation(len(x))
            n_batches = max(1, len(x) // self.batch_size)
            total = np.zeros(len(names))
            for k in progress_bar(range(n_batches), self.progress, desc=f"epoch {self.epoch + 1}"):
                total += self.step(x[order[k * self.batch_size : (k + 1) * self.batch_size]])[1]
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

    def codes(self, x) -> np.ndarray:
        """Binary codes in {−1, +1}: ``θ > 0.5`` of the second pass (the first pass's samples from a fixed seed)."""
        x = self._check_x(x)
        rng = np.random.default_rng(self.seed + 1)
        out = []
        for k in range(0, len(x), 4096):
            theta, _ = self._two_pass(x[k : k + 4096], rng)
            out.append(np.where(theta > 0.5, 1.0, -1.0).astype(self.layer.dtype))
        return np.concatenate(out) if out else np.zeros((0, self.layer.n_neurons), dtype=self.layer.dtype)

    # --------------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume, as arrays: layer, optimiser, generator state, epoch, history (JSON), seed."""
        state = {f"layer.{k}": v for k, v in self.layer.state_dict().items()}
        state.update({f"optimizer.{k}": v.copy() for k, v in self.optimizer.state_dict().items()})
        state["rng"] = np.array(json.dumps(self.rng.bit_generator.state))
        state["epoch"] = np.array(self.epoch)
        state["history"] = np.array(json.dumps(self.history))
        state["seed"] = np.array(self.seed)
        return state

    def load_state_dict(self, state) -> None:
        """Restore :meth:`state_dict`; nothing is changed unless every array has this trainer's shapes."""
        layer = {k[6:]: np.asarray(v) for k, v in state.items() if k.startswith("layer.")}
        opt = {k[10:]: np.asarray(v) for k, v in state.items() if k.startswith("optimizer.")}
        expected = {**{f"m.{k}": v.shape for k, v in self.layer.params.items()}}
        expected.update({f"v.{k}": v.shape for k, v in self.layer.params.items()})
        for name, arrays, shapes in (
            ("layer", layer, {k: v.shape for k, v in self.layer.params.items()}),
            ("optimizer", opt, expected),
        ):
            for k, shape in shapes.items():
                if k not in arrays:
                    raise KeyError(f"{name}.{k}")
                if arrays[k].shape != shape:
                    raise ValueError(f"{name}.{k}: expected shape {shape}, got {arrays[k].shape}")
        rng_state = json.loads(str(state["rng"]))
        epoch, seed, history = int(state["epoch"]), int(state["seed"]), json.loads(str(state["history"]))
        self.layer.load_state_dict(layer)
        self.optimizer.load_state_dict(opt)
        self.rng.bit_generator.state = rng_state
        self.epoch, self.seed, self.history = epoch, seed, list(history)

    def save(self, path) -> None:
        """Write a checkpoint with ``np.savez`` (atomically: a temporary file is renamed; no pickle)."""
        save_npz_checkpoint(path, self)

    def load(self, path) -> None:
        """Resume from a checkpoint written by :meth:`save` (``np.load(..., allow_pickle=False)``).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If ``path`` is a directory, empty, truncated or corrupt, not a pidlearn checkpoint, written by the torch
            backend or by another trainer class, or does not match this trainer's layer.
        """
        load_npz_checkpoint(path, self)


def random_projection_codes(x, n_codes: int, seed: int = 0) -> np.ndarray:
    """``sign(x G)`` with a Gaussian ``G`` (n_inputs, n_codes): the baseline code of the same size.

    ``G`` comes from NumPy's generator (not the torch backend's draws); the codes have the dtype of ``x`` (float).
    """
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    proj = np.random.default_rng(seed).standard_normal((x.shape[1], n_codes)).astype(dtype)
    return np.where(x.astype(dtype, copy=False) @ proj >= 0, 1.0, -1.0).astype(dtype)


def linear_probe(
    train_codes,
    train_labels,
    test_codes,
    test_labels,
    *,
    epochs: int = 300,
    lr: float = 0.05,
    seed: int = 0,
) -> float:
    """Test accuracy of a multinomial logistic regression trained full-batch (Adam) on frozen codes.

    The weights start as ``torch.nn.Linear``'s (``U(±1/√n_codes)``, NumPy's generator); the loss is the mean
    cross-entropy ``−(1/n) Σ_b log softmax(z_b)_{y_b}`` with ``z = codes Wᵀ + b``, its gradient
    ``(softmax(z) − onehot(y))ᵀ codes / n`` analytic, ``epochs`` Adam steps at ``lr`` (float64 throughout).
    """
    xtr = np.asarray(train_codes, dtype=np.float64)
    xte = np.asarray(test_codes, dtype=np.float64)
    ytr = np.asarray(train_labels).astype(np.int64)
    yte = np.asarray(test_labels).astype(np.int64)
    check_probe_inputs(xtr, ytr, xte, yte)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(xtr.shape[1])
    params = {
        "weight": rng.uniform(-bound, bound, (n_classes, xtr.shape[1])),
        "bias": rng.uniform(-bound, bound, n_classes),
    }
    opt = Adam(params, lr=lr)
    onehot = np.eye(n_classes)[ytr]
    for _ in range(epochs):
        z = xtr @ params["weight"].T + params["bias"]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(xtr)
        opt.step({"weight": g.T @ xtr, "bias": g.sum(axis=0)})
    pred = (xte @ params["weight"].T + params["bias"]).argmax(axis=1)
    return float((pred == yte).mean())
