"""Supervised infomorphic networks and their trainer in NumPy: the interface of :mod:`pidlearn.backends.torch.train`.

The recipe is the torch backend's (Makkeh et al. PNAS 2025; Schneider et al. ICLR 2025): pixels standardised with
the training mean and std; batches of 1024; each layer its own Adam (hidden lr 2e-3, weight decay 3.5e-4; readout
lr 3e-3, weight decay 1.5e-4); an optional hidden layer (R = image, C = one-hot label, a 3-source goal makes it
lateral with two passes); a readout of 10 neurons with ``θ = σ(r)`` and identity label context; at test time the
label input is zero and a readout neuron with mean θ ≥ 0.5 is flipped before the argmax. The gradients come from
each layer's analytic local rule (:meth:`.neurons.InfomorphicLayer.local_update`); Adam follows
``torch.optim.Adam`` (L2 weight decay added to the gradient).
"""

from __future__ import annotations

import json
import math

import numpy as np

from pidlearn.backends._files import load_npz_checkpoint, save_npz_checkpoint
from pidlearn.backends._settings import as_generator, check_network_sizes
from pidlearn.backends._trainer import LayeredTrainer
from pidlearn.backends.numpy.neurons import InfomorphicLayer
from pidlearn.goals import RESIDUAL, preset

__all__ = ["Adam", "InfomorphicNetwork", "Trainer", "standardise"]


def standardise(images, mean: float | None = None, std: float | None = None) -> tuple[np.ndarray, float, float]:
    """Flatten uint8 images to float32 rows scaled to [0, 1] and standardise them with one mean and std.

    Returns
    -------
    x : ndarray (n, n_pixels) float32, mean : float, std : float
    """
    x = np.asarray(images).reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
    if mean is None:
        mean = float(x.mean(dtype=np.float64))
    if std is None:
        std = float(x.std(dtype=np.float64, ddof=1))
    return (x - np.float32(mean)) / np.float32(std), mean, std


def _n_sources_of(goal) -> int:
    if isinstance(goal, str):
        return preset(goal)[0]
    return max((max(int(ch) for ch in k if ch.isdigit()) for k in goal if k != RESIDUAL), default=2) if goal else 2


class InfomorphicNetwork:
    """Image classifier made of infomorphic layers (NumPy twin of the torch ``InfomorphicNetwork``).

    Parameters
    ----------
    n_inputs : int, default 784
    n_classes : int, default 10
        At least 2.
    hidden : int, default 0
        Hidden neurons; 0 gives the single-layer network (R = image, C = label).
    hidden_goal : str or mapping, default "context_heuristic"
        A 3-source goal (e.g. ``"trivariate_optimised"``) makes the hidden layer lateral.
    readout_goal : str or mapping, default "readout"
    seed : int, optional
        Initialisation of the weights.
    dtype : numpy dtype, default float32
    """

    def __init__(
        self,
        n_inputs: int = 784,
        n_classes: int = 10,
        hidden: int = 0,
        hidden_goal="context_heuristic",
        readout_goal="readout",
        *,
        seed=None,
        dtype=np.float32,
    ):
        n_inputs, n_classes, hidden = check_network_sizes(n_inputs, n_classes, hidden)
        self.n_inputs, self.n_classes, self.n_hidden = n_inputs, n_classes, hidden
        rng = as_generator(seed)
        self.hidden = None
        if hidden:
            lateral = _n_sources_of(hidden_goal) == 3
            self.hidden = InfomorphicLayer(
                n_inputs, n_classes, hidden, goal=hidden_goal, lateral=lateral, seed=rng, dtype=dtype
            )
        self.readout = InfomorphicLayer(
            hidden or n_inputs,
            n_classes,
            n_classes,
            goal=readout_goal,
            activation="bivariate",
            activation_kwargs={"k1": 1.0},
            context_identity=True,
            seed=rng,
            dtype=dtype,
        )

    def layers(self) -> dict[str, InfomorphicLayer]:
        """The layers by name, input to output."""
        return (
            {"hidden": self.hidden, "readout": self.readout} if self.hidden is not None else {"readout": self.readout}
        )

    def forward(self, x, context, rng=None):
        """Readout θ and samples; every layer keeps its batch for ``gradients()`` / ``atoms()``."""
        h = x
        if self.hidden is not None:
            _, h = self.hidden.forward(x, context, None, rng=rng, steps=2 if self.hidden.lateral else 1)
        return self.readout.forward(h, context, rng=rng)

    __call__ = forward

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters as ``{"layer.name": array}``."""
        return {f"{ln}.{k}": v for ln, layer in self.layers().items() for k, v in layer.state_dict().items()}

    def load_state_dict(self, state) -> None:
        for ln, layer in self.layers().items():
            prefix = ln + "."
            layer.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})


class Adam:
    """``torch.optim.Adam`` on a dict of NumPy arrays (updated in place), with L2 weight decay.

    ``g ← g + λ p;  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;
    p ← p − lr · (m / (1 − β1^t)) / (√v / √(1 − β2^t) + ε)``.
    """

    def __init__(self, params: dict, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay=0.0):
        self.params = params
        self.lr, self.betas, self.eps, self.weight_decay = float(lr), tuple(betas), float(eps), float(weight_decay)
        self.step_count = 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict) -> None:
        """One step with the loss gradients ``grads`` (same keys as the parameters)."""
        self.step_count += 1
        b1, b2 = self.betas
        bc1 = 1.0 - b1**self.step_count
        bc2_sqrt = math.sqrt(1.0 - b2**self.step_count)  # a Python float: keeps a float32 update in float32
        for k, p in self.params.items():
            g = grads[k].astype(p.dtype, copy=False)
            if self.weight_decay:
                g = g + self.weight_decay * p
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            g2 = (1.0 - b2) * g
            g2 *= g
            v += g2
            # the update in place, the same operations in the same order as (lr/bc1)·m / (√v/√bc2 + ε)
            den = np.sqrt(v)
            den /= bc2_sqrt
            den += self.eps
            step = (self.lr / bc1) * m
            step /= den
            p -= step

    def state_dict(self) -> dict:
        out = {"step": np.array(self.step_count)}
        out.update({f"m.{k}": v for k, v in self.m.items()})
        out.update({f"v.{k}": v for k, v in self.v.items()})
        return out

    def load_state_dict(self, state) -> None:
        self.step_count = int(state["step"])
        for k in self.m:
            self.m[k][...] = state[f"m.{k}"]
            self.v[k][...] = state[f"v.{k}"]


class Trainer(LayeredTrainer):
    """Train an :class:`InfomorphicNetwork` with one Adam per layer and the analytic local rule.

    Same interface as :class:`pidlearn.backends.torch.train.Trainer` (both share
    :class:`pidlearn.backends._trainer.LayeredTrainer`): ``fit``, ``train_epoch``, ``predict``, ``accuracy``,
    ``history``, ``save`` / ``load`` (an ``.npz`` checkpoint, no pickle).

    Parameters
    ----------
    network : InfomorphicNetwork
    batch_size : int, default 1024
    lr_hidden, weight_decay_hidden, lr_readout, weight_decay_readout : float
    seed : int, default 0
        Seeds the shuffling and the neurons' sampling.
    progress : bool, default True
        Show a tqdm progress bar (when tqdm is installed).
    monitor_every : int, default 10
        Evaluate all atoms (for :attr:`history`) on every ``monitor_every``-th batch only.
    eval_samples : int, default 1
        Stochastic passes averaged into the readout θ at evaluation (see ``predict_theta``); 1 is the reference.
    """

    def __init__(
        self,
        network: InfomorphicNetwork,
        *,
        batch_size: int = 1024,
        lr_hidden: float = 2e-3,
        weight_decay_hidden: float = 3.5e-4,
        lr_readout: float = 3e-3,
        weight_decay_readout: float = 1.5e-4,
        seed: int = 0,
        progress: bool = True,
        monitor_every: int = 10,
        eval_samples: int = 1,
    ):
        super().__init__(
            network,
            batch_size=batch_size,
            lr_hidden=lr_hidden,
            weight_decay_hidden=weight_decay_hidden,
            lr_readout=lr_readout,
            weight_decay_readout=weight_decay_readout,
            seed=seed,
            progress=progress,
            monitor_every=monitor_every,
            eval_samples=eval_samples,
        )
        self.rng = np.random.default_rng(self.seed)

    # --------------------------------------------------------------------------------------------------------------
    def step(self, x, context, *, monitor: bool = True) -> dict:
        """One training step on a batch: forward, every layer's local rule, one Adam step per layer.

        Returns ``{layer: (loss, mean atoms + H_res or None)}``; the atoms are evaluated only with ``monitor``
        (otherwise only the redundancies that the goals weigh).
        """
        self.network.forward(x, context, rng=self.rng)
        out = {}
        grads = {}
        for name, layer in self.network.layers().items():
            res = layer._goal_gradient(all_atoms=monitor)
            grads[name] = layer.gradients()
            mean = np.append(res.atoms.mean(0), res.residual_entropy.mean()) if monitor else None
            out[name] = (-float(res.goal.sum()), mean)
        for name, opt in self.optimizers.items():
            opt.step({k: -g for k, g in grads[name].items()})
        return out

    def _theta_pass(self, x, rng, batch_size) -> np.ndarray:
        net = self.network
        zeros = np.zeros((1, net.n_classes), dtype=x.dtype)
        out = []
        for k in range(0, len(x), batch_size):
            xb = x[k : k + batch_size]
            theta, _ = net.forward(xb, np.broadcast_to(zeros, (len(xb), net.n_classes)), rng=rng)
            out.append(theta)
        return np.concatenate(out)

    # the backend's half of LayeredTrainer -------------------------------------------------------------------------
    @staticmethod
    def _make_optimizer(layer, lr, weight_decay):
        return Adam(layer.params, lr=lr, weight_decay=weight_decay)

    def _permutation(self, n):
        return self.rng.permutation(n)

    def _one_hot(self, labels, dtype):
        return np.eye(self.network.n_classes, dtype=dtype)[labels]

    def _train_batch(self, x, context, monitor):
        return self.step(x, context, monitor=monitor)

    @staticmethod
    def _as_inputs(x, y):
        return np.asarray(x), np.asarray(y, dtype=np.int64)

    def _eval_generator(self):
        return np.random.default_rng(self.seed + 1)

    # --------------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume, as arrays: network, optimisers, generator state, epoch, history (JSON)."""
        state = {f"network.{k}": v for k, v in self.network.state_dict().items()}
        for name, opt in self.optimizers.items():
            state.update({f"optimizer.{name}.{k}": v for k, v in opt.state_dict().items()})
        state["rng"] = np.array(json.dumps(self.rng.bit_generator.state))
        state["epoch"] = np.array(self.epoch)
        state["seed"] = np.array(self.seed)
        state["history"] = np.array(json.dumps(self.history))
        return state

    def load_state_dict(self, state) -> None:
        self.network.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("network.")})
        for name, opt in self.optimizers.items():
            prefix = f"optimizer.{name}."
            opt.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
        self.rng.bit_generator.state = json.loads(str(state["rng"]))
        self.epoch = int(state["epoch"])
        self.seed = int(state["seed"])
        self.history = json.loads(str(state["history"]))

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
            backend, or does not match this trainer's network.
        """
        load_npz_checkpoint(path, self)
