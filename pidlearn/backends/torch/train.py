"""Supervised infomorphic networks: a hidden layer (optional) and a readout with label context, and their trainer.

Recipe of the reference experiments (Makkeh et al. PNAS 2025; Schneider et al. ICLR 2025):

* pixels standardised with the training mean and standard deviation; batches of 1024; each layer its own Adam
  (hidden: lr 2e-3, weight decay 3.5e-4; readout: lr 3e-3, weight decay 1.5e-4);
* hidden layer: R = image, C = one-hot label (learned context weights), optional lateral L = the layer's own samples
  from a first pass with L = 0 (only the second pass enters the goal); or, with ``hidden_neurons="continuous"``,
  real-valued neurons ``Y = A(r, c) + σ ε`` whose goal is in continuous SxPID atoms (:mod:`.continuous_layers`);
* readout: 10 neurons with ``θ = σ(r)``, R = the hidden samples (or the image), C = one-hot label through fixed
  identity weights (trainable bias), goal preset ``readout``;
* test: the label input is all zeros; a readout neuron whose mean θ over the evaluated set is ``≥ 0.5`` is flipped
  (``θ → 1 − θ``, PID is invariant to relabelling Y) before the argmax.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pidlearn.backends._settings import check_finite_number, check_network_sizes
from pidlearn.backends._trainer import LayeredTrainer
from pidlearn.backends.plots import plot_history  # re-exported: the plots are shared by both backends
from pidlearn.backends.torch._checkpoint import TorchCheckpoint
from pidlearn.backends.torch.continuous_layers import ContinuousInfomorphicLayer
from pidlearn.backends.torch.layers import InfomorphicLayer
from pidlearn.backends.torch.optim import Adam
from pidlearn.goals import RESIDUAL, preset

__all__ = ["InfomorphicNetwork", "Trainer", "plot_history", "standardise"]


def standardise(images, mean: float | None = None, std: float | None = None) -> tuple[torch.Tensor, float, float]:
    """Flatten uint8 images to float32 rows and standardise them with one mean and std (of the training set).

    Returns
    -------
    x : Tensor (n, n_pixels), mean : float, std : float
    """
    x = torch.as_tensor(np.asarray(images).reshape(len(images), -1), dtype=torch.float32) / 255.0
    if mean is None:
        mean = float(x.mean())
    if std is None:
        std = float(x.std())
    return (x - mean) / std, mean, std


class InfomorphicNetwork(nn.Module):
    """Image classifier made of infomorphic layers.

    Parameters
    ----------
    n_inputs : int
        Pixels per image (784 for MNIST).
    n_classes : int
        Number of labels (readout neurons).
    hidden : int, default 0
        Hidden neurons; 0 gives the single-layer network (R = image, C = label).
    hidden_goal : str or mapping, default "context_heuristic"
        Goal of the hidden layer; a 3-source goal (e.g. ``"trivariate_optimised"``) makes the layer lateral.
    readout_goal : str or mapping, default "readout"
    lateral_connections : int, optional
        Sparse lateral inputs of a trivariate hidden layer (see :class:`InfomorphicLayer`).
    hidden_activation_kwargs : dict, optional
        Constants of the hidden layer's activation, e.g. ``{"k1": 0.1}`` for a bivariate layer whose context gates
        the receptive drive more strongly than the reference ``k1 = 0.9``.
    context_init_gain : float, default 1.0
        Multiplies the hidden layer's initial context weights (PyTorch's default ``nn.Linear`` initialisation).
    readout_input : {"labelled", "unlabelled"}, default "labelled"
        What the readout sees during training: the hidden samples of the same pass, which had the label as context
        (the reference code), or the hidden samples of a second, gradient-free pass with the label input zeroed,
        i.e. what the readout sees at test time. The hidden layer's own goal always uses the labelled pass.
    hidden_neurons : {"binary", "continuous"}, default "binary"
        The hidden neurons' output: a binary sample ``Y ∈ {−1, +1}`` with its goal in the plug-in atoms of binned
        drives (:class:`InfomorphicLayer`), or a real number ``Y = A(r, c) + σ ε`` with its goal in continuous SxPID
        atoms of the unbinned drives (:class:`~.continuous_layers.ContinuousInfomorphicLayer`; two-source goals
        without ``H_res``, no lateral inputs). Either way the readout receives the outputs without gradient: each
        layer learns from its own goal only.
    hidden_sigma : float, optional
        Output noise ``σ`` of continuous hidden neurons (default 0.1, the layer's); only with
        ``hidden_neurons="continuous"``.
    hidden_estimator : {"knn", "binned"}, optional
        Continuous SxPID estimator of continuous hidden neurons (the layer's ``estimator``, default ``"knn"``); only
        with ``hidden_neurons="continuous"``.
    hidden_bin_width : float, optional
        Lattice spacing of ``hidden_estimator="binned"`` (the layer's ``bin_width``); only with
        ``hidden_neurons="continuous"``.

    Notes
    -----
    The defaults reproduce the reference configuration. With the context heuristic the bivariate hidden neurons
    collapse onto few label partitions (with ``k1 = 0.9`` the context hardly changes θ, so every neuron drifts to
    the same easy partitions of the digits); ``hidden_activation_kwargs={"k1": 0.1}`` with ``context_init_gain=5``
    lets each neuron's random context weights seed a different partition (see ``docs/results/infomorphic.md`` for
    the measured effect), and ``readout_input="unlabelled"`` removes the shift between the hidden samples the
    readout is trained on and those it sees at test time, which is large when the context gates the drive.
    """

    def __init__(
        self,
        n_inputs: int = 784,
        n_classes: int = 10,
        hidden: int = 0,
        hidden_goal="context_heuristic",
        readout_goal="readout",
        lateral_connections: int | None = None,
        hidden_activation_kwargs: dict | None = None,
        context_init_gain: float = 1.0,
        readout_input: str = "labelled",
        hidden_neurons: str = "binary",
        hidden_sigma: float | None = None,
        hidden_estimator: str | None = None,
        hidden_bin_width: float | None = None,
    ):
        super().__init__()
        n_inputs, n_classes, hidden = check_network_sizes(n_inputs, n_classes, hidden)
        if readout_input not in ("labelled", "unlabelled"):
            raise ValueError(f"readout_input must be 'labelled' or 'unlabelled', got {readout_input!r}")
        if hidden_neurons not in ("binary", "continuous"):
            raise ValueError(f"hidden_neurons must be 'binary' or 'continuous', got {hidden_neurons!r}")
        if hidden_sigma is not None and hidden_neurons != "continuous":
            raise ValueError(
                "hidden_sigma is the output noise of continuous hidden neurons; pass hidden_neurons='continuous' "
                "with it, or drop it"
            )
        if hidden_sigma is not None:
            hidden_sigma = check_finite_number("hidden_sigma", hidden_sigma, positive=True)
        for name, value in (("hidden_estimator", hidden_estimator), ("hidden_bin_width", hidden_bin_width)):
            if value is not None and hidden_neurons != "continuous":
                raise ValueError(
                    f"{name} configures continuous hidden neurons; pass hidden_neurons='continuous' with it, or drop it"
                )
        continuous_kw = {"sigma": hidden_sigma, "estimator": hidden_estimator, "bin_width": hidden_bin_width}
        continuous_kw = {name: value for name, value in continuous_kw.items() if value is not None}  # else the layer's
        if not (isinstance(context_init_gain, int | float) and context_init_gain > 0):
            raise ValueError(f"context_init_gain must be a positive number, got {context_init_gain!r}")
        if not hidden and (
            hidden_activation_kwargs
            or context_init_gain != 1.0
            or readout_input != "labelled"
            or hidden_neurons != "binary"
        ):
            raise ValueError(
                "hidden_activation_kwargs, context_init_gain, readout_input and hidden_neurons configure the hidden "
                "layer, and hidden=0 has none"
            )
        self.readout_input = readout_input
        self.hidden_neurons = hidden_neurons
        self.n_inputs, self.n_classes, self.n_hidden = n_inputs, n_classes, hidden
        self.hidden = None
        if hidden and hidden_neurons == "continuous":
            if lateral_connections is not None:
                raise ValueError("continuous hidden neurons have no lateral inputs: drop lateral_connections")
            self.hidden = ContinuousInfomorphicLayer(
                n_inputs,
                n_classes,
                hidden,
                goal=hidden_goal,
                activation_kwargs=hidden_activation_kwargs,
                **continuous_kw,
            )
        elif hidden:
            n_src = preset(hidden_goal)[0] if isinstance(hidden_goal, str) else _n_sources_of(hidden_goal)
            self.hidden = InfomorphicLayer(
                n_inputs,
                n_classes,
                hidden,
                goal=hidden_goal,
                lateral=n_src == 3,
                lateral_connections=lateral_connections if n_src == 3 else None,
                activation_kwargs=hidden_activation_kwargs,
            )
        if hidden and context_init_gain != 1.0:
            with torch.no_grad():
                self.hidden.context.weight.mul_(float(context_init_gain))
        self.readout = InfomorphicLayer(
            hidden or n_inputs,
            n_classes,
            n_classes,
            goal=readout_goal,
            activation="bivariate",
            activation_kwargs={"k1": 1.0},
            context_identity=True,
        )

    def layers(self) -> dict[str, InfomorphicLayer | ContinuousInfomorphicLayer]:
        """The layers by name, input to output."""
        return (
            {"hidden": self.hidden, "readout": self.readout} if self.hidden is not None else {"readout": self.readout}
        )

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        generator: torch.Generator | None = None,
        *,
        hidden_output: str = "sample",
    ):
        """Readout θ and samples; every layer keeps its batch for ``loss()`` / ``atoms()``.

        ``hidden_output`` is what the readout receives from the hidden layer: ``"sample"`` (its samples, as in
        training), ``"max"`` (the more probable value, ``sign(θ − 1/2)``) or ``"mean"`` (the expectation ``2θ − 1``);
        for continuous hidden neurons ``"max"`` and ``"mean"`` are both the noise-free ``A(r, c)``.
        """
        if hidden_output not in ("sample", "max", "mean"):
            raise ValueError(f"hidden_output must be 'sample', 'max' or 'mean', got {hidden_output!r}")
        h = x
        if self.hidden is not None:
            theta, h = self._hidden_pass(x, context, generator, hidden_output)
            if self.training and self.readout_input == "unlabelled":
                last = self.hidden._last  # the hidden goal keeps the labelled pass
                with torch.no_grad():
                    theta, h = self._hidden_pass(x, torch.zeros_like(context), generator, hidden_output)
                self.hidden._last = last
            if theta is None:  # continuous neurons: the readout gets Y without gradient (local learning)
                h = h.detach()
            elif hidden_output == "max":
                h = torch.where(theta.detach() >= 0.5, 1.0, -1.0).to(theta.dtype)
            elif hidden_output == "mean":
                h = (2.0 * theta - 1.0).detach()
        return self.readout(h, context, generator=generator)

    def _hidden_pass(self, x, context, generator, hidden_output):
        """``(θ, samples)`` of binary hidden neurons; ``(None, Y)`` of continuous ones."""
        if isinstance(self.hidden, ContinuousInfomorphicLayer):
            return None, self.hidden(x, context, generator=generator, noise=hidden_output == "sample")
        if self.hidden.lateral:  # step 1 with lateral input 0, step 2 with step 1's samples
            return self.hidden(x, context, None, generator=generator, steps=2)
        return self.hidden(x, context, generator=generator)


def _n_sources_of(goal) -> int:
    return max((max(int(ch) for ch in k if ch.isdigit()) for k in goal if k != RESIDUAL), default=2) if goal else 2


class Trainer(TorchCheckpoint, LayeredTrainer):
    """Train an :class:`InfomorphicNetwork` with one Adam per layer; checkpoints resume to the same state.

    Parameters
    ----------
    network : InfomorphicNetwork
    batch_size : int, default 1024
    lr_hidden, weight_decay_hidden, lr_readout, weight_decay_readout : float
        Adam settings (defaults from the reference code).
    seed : int, default 0
        Seeds the shuffling and the neurons' sampling (a private ``torch.Generator``); initialise the network after
        ``torch.manual_seed(seed)`` for a fully reproducible run.
    progress : bool, default True
        Show a tqdm progress bar (when tqdm is installed).
    monitor_every : int, default 10
        Record all atoms (for :attr:`history`) on every ``monitor_every``-th batch, starting with the first; the
        gradient step itself evaluates only the redundancies the goals need.
    eval_hidden : {"sample", "max", "mean"}, default "sample"
        What the readout receives from the hidden layer at evaluation (see :meth:`InfomorphicNetwork.forward`);
        the reference code evaluates with samples.
    eval_samples : int, default 1
        Stochastic passes averaged into the readout θ at evaluation (:meth:`predict_theta`); 1 is the reference.
        Averaging estimates the expected θ over the hidden samples: on full MNIST after 60 epochs, 50 passes gave
        +0.4 points of test accuracy for the context-heuristic network (docs/results/infomorphic.md).

    Attributes
    ----------
    epoch : int
        Epochs done.
    history : list of dict
        Per epoch: ``epoch``, ``seconds``, ``loss`` per layer, ``accuracy`` per evaluated set and ``atoms`` (mean
        over neurons and the monitored batches, bits) per layer.
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
        eval_hidden: str = "sample",
        eval_samples: int = 1,
    ):
        if eval_hidden not in ("sample", "max", "mean"):
            raise ValueError(f"eval_hidden must be 'sample', 'max' or 'mean', got {eval_hidden!r}")
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
        self.eval_hidden = eval_hidden
        self.generator = torch.Generator().manual_seed(self.seed)

    @torch.no_grad()
    def _theta_pass(self, x, generator, batch_size) -> torch.Tensor:
        net = self.network
        net.eval()
        zeros = torch.zeros(1, net.n_classes, dtype=x.dtype)
        out = []
        for k in range(0, len(x), batch_size):
            xb = x[k : k + batch_size]
            theta, _ = net(xb, zeros.expand(len(xb), -1), generator=generator, hidden_output=self.eval_hidden)
            out.append(theta)
        return torch.cat(out)

    # the backend's half of LayeredTrainer -------------------------------------------------------------------------
    @staticmethod
    def _make_optimizer(layer, lr, weight_decay):
        return Adam(layer.parameters(), lr=lr, weight_decay=weight_decay)

    def _permutation(self, n):
        return torch.randperm(n, generator=self.generator)

    def _one_hot(self, labels, dtype):
        return torch.eye(self.network.n_classes, dtype=dtype)[labels]

    def _train_batch(self, x, context, monitor):
        """Forward, every layer's loss (only the redundancies its goal needs), one Adam step per layer."""
        net = self.network
        net.train()
        net(x, context, generator=self.generator)
        out = {}
        total = 0.0
        for name, layer in net.layers().items():
            loss = layer.loss()
            total = total + loss
            mean = None
            if monitor:
                with torch.no_grad():
                    pid = layer.pid()
                mean = torch.cat([pid.atoms.mean(0), pid.residual_entropy.mean().reshape(1)])
            out[name] = (float(loss.detach()), mean)
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        total.backward()
        for opt in self.optimizers.values():
            opt.step()
        return out

    def _as_inputs(self, x, y):
        """Inputs as tensors of the network's dtype (any real array is converted), labels as int64."""
        x = torch.as_tensor(x)
        if x.is_complex():
            raise TypeError(f"the inputs must be real numbers, got dtype {x.dtype}")
        param = next(self.network.parameters(), None)
        if param is not None and x.dtype != param.dtype:
            x = x.to(param.dtype)
        return x, torch.as_tensor(y, dtype=torch.int64)

    def _eval_generator(self):
        return torch.Generator().manual_seed(self.seed + 1)

    # --------------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to resume: network, optimisers, generator state, epoch and history."""
        return {
            "network": self.network.state_dict(),
            "optimizers": {k: opt.state_dict() for k, opt in self.optimizers.items()},
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "history": self.history,
            "seed": self.seed,
        }

    def load_state_dict(self, state: dict) -> None:
        self.network.load_state_dict(state["network"])
        for k, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        self.generator.set_state(state["generator"])
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        self.seed = int(state["seed"])
