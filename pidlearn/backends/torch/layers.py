"""``InfomorphicLayer``: a layer of infomorphic neurons as an ``nn.Module`` (the thin half of the backend).

Each neuron ``j`` has receptive, context and optionally lateral input classes with their own linear maps,
``r = w_R·x_R + b_R``, ``c = w_C·x_C + b_C``, ``l = w_L·x_L + b_L``, fires with ``θ = σ(A(r, c[, l]))`` and emits a
sample ``Y ∈ {−1, +1}`` (detached) for the next layer. Its goal ``G_j = Σ_α γ_α Π_j(α) + γ_res H_res,j`` uses the
SxPID atoms of ``Y_j`` against its own binned inputs over the batch (:func:`.functional.sample_sxpid_atoms`); the
loss is ``−Σ_j G_j``. Since ``G_j`` depends only on neuron ``j``'s parameters, one backward pass gives every neuron
its local gradient.

References
----------
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
A. C. Schneider et al., "What should a neuron aim for? Designing local objective functions based on information
theory", ICLR (2025).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pidlearn.backends._settings import NON_FINITE_DRIVES, check_memory, check_size, layer_settings
from pidlearn.backends.torch import activations as _act
from pidlearn.backends.torch.binning import adaptive_bins, fixed_bins
from pidlearn.backends.torch.functional import (
    SxPIDAtoms,
    _sample_atoms,
    _sample_goal,
    _table_bytes,
    _Workspace,
    atom_names,
)
from pidlearn.goals import RESIDUAL, goal_vector

__all__ = ["InfomorphicLayer"]


def _check_finite(*drives: torch.Tensor) -> None:
    """A clear error for NaN/inf drives (inputs with NaN/inf, or weights that diverged) before they reach the bins.

    The minimum and maximum of a drive are finite exactly when every entry is (both propagate NaN): one pass without
    the boolean tensor of ``isfinite(d).all()``, which cost several times more.
    """
    for d in drives:
        low, high = torch.aminmax(d.detach())
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(NON_FINITE_DRIVES)


def _sample_signs(theta: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Samples ``Y ∈ {−1, +1}`` with ``P(Y = +1) = θ`` (detached).

    ``U < θ`` with ``U`` uniform on [0, 1): on the CPU this draws the same numbers from the generator as
    ``torch.bernoulli(θ)`` (tested: the samples and the generator state are identical) at a third of its cost.
    """
    with torch.no_grad():
        u = torch.rand(theta.shape, generator=generator, dtype=theta.dtype, device=theta.device)
        return u.copy_(u < theta).mul_(2.0).sub_(1.0)


class InfomorphicLayer(nn.Module):
    """A layer of infomorphic neurons with receptive (R), context (C) and optional lateral (L) inputs.

    Parameters
    ----------
    n_receptive : int
        Size of the receptive (feed-forward) input ``x_R``.
    n_context : int
        Size of the context input ``x_C`` (e.g. 10 for a one-hot label).
    n_neurons : int
        Number of neurons.
    goal : str or Mapping[str, float], default "context_heuristic"
        A preset of :mod:`pidlearn.goals` or ``{atom name: γ}`` with optional ``"H_res"``; atom names refer to
        source 1 = R, 2 = C, 3 = L.
    lateral : bool, default False
        Add lateral inputs: each neuron sees the other neurons' previous samples (no self-connection). The goal is
        then trivariate (18 atoms).
    lateral_connections : int, optional
        Sparse lateral inputs: each neuron sees this many other neurons, drawn at random (``torch``'s global
        generator) when the layer is made and kept in the state dict (the papers use 100 for 500 and 2000 neurons).
        Default: all other neurons.
    activation : str, default "bivariate" (or "trivariate" with ``lateral``)
        One of ``bivariate``, ``kay_phillips``, ``memory``/``sum``, ``trivariate``.
    activation_kwargs : dict, optional
        Constants of the activation (``k1``, ``k2``; ``c1``, ``c2``, ``w1``, ``w2``; ``beta``).
    binning : {"adaptive", "fixed"}, default "adaptive" (or "fixed" with ``lateral``)
        See :mod:`.binning`.
    n_bins : int, default 20
    bin_range : float, default 20.0
        Fixed binning covers ``[−bin_range, bin_range]``.
    context_identity : bool, default False
        Fix the context weights to the identity (readout with label context; needs ``n_context == n_neurons``);
        the context bias stays trainable.
    context_no_self : bool, default False
        The context is the layer's own previous samples (``n_context == n_neurons``): mask the context weights'
        diagonal so that no neuron sees itself (the unsupervised layer's context).

    Examples
    --------
    >>> layer = InfomorphicLayer(784, 10, 100, goal="context_heuristic")
    >>> theta, y = layer(torch.randn(64, 784), torch.eye(10)[torch.randint(10, (64,))])
    >>> loss = layer.loss(); loss.backward()
    >>> sorted(layer.atoms())[:2]
    ['{12}', '{1}']
    """

    def __init__(
        self,
        n_receptive: int,
        n_context: int,
        n_neurons: int,
        *,
        goal="context_heuristic",
        lateral: bool = False,
        lateral_connections: int | None = None,
        activation: str | None = None,
        activation_kwargs: dict | None = None,
        binning: str | None = None,
        n_bins: int = 20,
        bin_range: float = 20.0,
        context_identity: bool = False,
        context_no_self: bool = False,
    ):
        super().__init__()
        settings = layer_settings(
            _act.ACTIVATIONS,
            n_receptive=n_receptive,
            n_context=n_context,
            n_neurons=n_neurons,
            lateral=lateral,
            n_bins=n_bins,
            activation=activation,
            activation_kwargs=activation_kwargs,
            binning=binning,
            bin_range=bin_range,
        )
        for name, value in settings.items():
            setattr(self, name, value)
        # the goal's marginal tables (float32 layers; float64 doubles this): refuse before the allocator fails
        check_memory(*_table_bytes(self.n_neurons, (self.n_bins,) * self.n_sources, torch.get_default_dtype()))
        gamma, gamma_res = goal_vector(goal, self.n_sources)
        self.goal = goal if isinstance(goal, str) else dict(goal)
        self.register_buffer("gamma", torch.tensor(gamma), persistent=False)
        self.gamma_res = gamma_res
        self._gamma_tuple = tuple(gamma)
        self.receptive = nn.Linear(n_receptive, n_neurons)
        self.context_identity = bool(context_identity)
        if self.context_identity:
            if n_context != n_neurons:
                raise ValueError(
                    f"context_identity needs as many context inputs as neurons, got {n_context} and {n_neurons}"
                )
            self.context_bias = nn.Parameter(torch.zeros(n_neurons))
        else:
            self.context = nn.Linear(n_context, n_neurons)
        self.context_no_self = bool(context_no_self)
        if self.context_no_self:
            if self.context_identity or n_context != n_neurons:
                raise ValueError(
                    "context_no_self needs a learned context of the layer's own samples (n_context == n_neurons, "
                    f"context_identity=False), got n_context={n_context}, n_neurons={n_neurons}"
                )
            self.register_buffer("context_mask", 1.0 - torch.eye(n_neurons), persistent=False)
        if lateral_connections is not None and not self.lateral:
            raise ValueError("lateral_connections needs lateral=True")
        if self.lateral:
            self.lateral_map = nn.Linear(n_neurons, n_neurons)
            mask = 1.0 - torch.eye(n_neurons)
            if lateral_connections is not None:
                k = check_size("lateral_connections", lateral_connections)
                if k > n_neurons - 1:
                    raise ValueError(f"lateral_connections={k} exceeds the {n_neurons - 1} other neurons of the layer")
                others = torch.rand(n_neurons, n_neurons).masked_fill_(torch.eye(n_neurons, dtype=torch.bool), 2.0)
                mask = torch.zeros(n_neurons, n_neurons).scatter_(1, others.argsort(1)[:, :k], 1.0)
            with torch.no_grad():
                self.lateral_map.weight.mul_(mask)
            # persistent: a sparse mask is random and must come back with a checkpoint
            self.register_buffer("lateral_mask", mask)
        self._last: tuple | None = None
        self._workspace = _Workspace()  # scratch buffers of the goal, reused from batch to batch

    # --------------------------------------------------------------------------------------------------------------
    def _check_input(self, x: torch.Tensor, size: int, name: str) -> torch.Tensor:
        """Shape, dtype and device of one input (see the dtype rule in :meth:`forward`)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[1] != size:
            raise ValueError(f"{name} must have shape (batch, {size}), got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"{name} is an empty batch (0 samples); the goal needs at least one sample")
        weight = self.receptive.weight
        if x.device != weight.device:
            raise ValueError(
                f"{name} is on {x.device} but the layer is on {weight.device}; move one of them, e.g. "
                f"{name}.to({str(weight.device)!r}) or layer.to({str(x.device)!r})"
            )
        if x.dtype == weight.dtype:
            return x
        if x.is_floating_point() or x.is_complex():
            raise TypeError(
                f"{name} has dtype {x.dtype} but the layer's parameters are {weight.dtype}; convert the input, "
                f"{name}.to({weight.dtype}), or the layer, layer.to({x.dtype}) (e.g. layer.double() for float64)"
            )
        return x.to(weight.dtype)  # integer and bool inputs (labels, spikes): exact in the layer's float dtype

    def forward(
        self, x_receptive, x_context, x_lateral=None, *, generator: torch.Generator | None = None, steps: int = 1
    ):
        """Firing probabilities and samples for one batch.

        Parameters
        ----------
        x_receptive : Tensor, shape (batch, n_receptive)
        x_context : Tensor, shape (batch, n_context)
        x_lateral : Tensor, shape (batch, n_neurons), optional
            The layer's previous samples (lateral layers only; zeros when omitted). Detached.
        generator : torch.Generator, optional
            Random source of the samples.
        steps : int, default 1
            Lateral layers: run this many passes, each with the previous pass's samples as lateral input (the first
            with ``x_lateral``); ``r`` and ``c`` are computed once, and only the last pass is kept for the goal
            (the papers' trivariate layer uses 2).

        Inputs must have the dtype of the layer's parameters (float32 by default; ``layer.double()`` for float64):
        a floating-point input of another dtype is refused with a ``TypeError`` rather than silently rounded or
        widened; integer and bool inputs (one-hot labels, spikes) are converted to the layer's dtype. Inputs must
        be on the layer's device.

        Returns
        -------
        theta : Tensor, shape (batch, n_neurons)
            ``P(Y = +1)``.
        y : Tensor, shape (batch, n_neurons)
            Samples in {−1, +1}, detached.
        """
        x_r = self._check_input(x_receptive, self.n_receptive, "x_receptive")
        x_c = self._check_input(x_context, self.n_context, "x_context")
        if x_r.shape[0] != x_c.shape[0]:
            raise ValueError(f"x_receptive has {x_r.shape[0]} samples but x_context has {x_c.shape[0]}")
        r = self.receptive(x_r)
        if self.context_identity:
            c = x_c + self.context_bias
        elif self.context_no_self:
            c = nn.functional.linear(x_c, self.context.weight * self.context_mask, self.context.bias)
        else:
            c = self.context(x_c)
        _check_finite(r, c)
        if not self.lateral:
            theta = _act.firing_probability(self._activation(r, c))
            y = _sample_signs(theta, generator)
            self._last = (theta, (r, c))
            return theta, y
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}")
        y = None  # lateral input 0: l = b_L, without multiplying zeros by the lateral weights
        if x_lateral is not None:
            y = self._check_input(x_lateral, self.n_neurons, "x_lateral").detach()
            if y.shape[0] != x_r.shape[0]:
                raise ValueError(f"x_lateral has {y.shape[0]} samples but x_receptive has {x_r.shape[0]}")
        weight = self.lateral_map.weight * self.lateral_mask
        for step in range(steps):
            with torch.set_grad_enabled(torch.is_grad_enabled() and step == steps - 1):
                if y is None and not torch.is_grad_enabled():  # (with a gradient, W_L gets its zero gradient)
                    l = self.lateral_map.bias.expand(x_r.shape[0], self.n_neurons)
                else:
                    if y is None:
                        y = torch.zeros(x_r.shape[0], self.n_neurons, dtype=r.dtype, device=r.device)
                    l = nn.functional.linear(y, weight, self.lateral_map.bias)
                theta = _act.firing_probability(self._activation(r, c, l))
            y = _sample_signs(theta, generator)
        _check_finite(l)
        self._last = (theta, (r, c, l))
        return theta, y

    # --------------------------------------------------------------------------------------------------------------
    def bins(self, inputs) -> torch.Tensor:
        """Bin indices (batch, neurons, n_sources) of the given input activations (no gradient)."""
        return torch.stack(self._bin_columns(inputs), dim=-1)

    def _bin_columns(self, inputs) -> list[torch.Tensor]:
        if self.binning == "adaptive":
            return [adaptive_bins(x, self.n_bins) for x in inputs]
        return [fixed_bins(x, self.n_bins, -self.bin_range, self.bin_range) for x in inputs]

    def _require_forward(self) -> tuple:
        if self._last is None:
            raise RuntimeError("call the layer on a batch first: goal_value(), loss() and atoms() use the last batch")
        return self._last

    def pid(self) -> SxPIDAtoms:
        """SxPID atoms (neurons, n_atoms) and residual entropy (neurons,) of the last batch, differentiable."""
        theta, inputs = self._require_forward()
        # bins are in range by construction and θ is clamped: the public functions' input checks are skipped
        return _sample_atoms(theta, self._bin_columns(inputs), (self.n_bins,) * self.n_sources, self._workspace)

    def goal_value(self, pid: SxPIDAtoms | None = None) -> torch.Tensor:
        """Goal ``G_j = Σ_α γ_α Π_j(α) + γ_res H_res,j`` of each neuron on the last batch, shape (neurons,).

        Without ``pid`` only the redundancies the goal needs are evaluated (:func:`.functional.sample_sxpid_goal`);
        with the layer's :meth:`pid` it is the weighted sum of all atoms (the same value).
        """
        if pid is None:
            theta, inputs = self._require_forward()
            n_bins = (self.n_bins,) * self.n_sources
            return _sample_goal(
                theta, self._bin_columns(inputs), n_bins, self._gamma_tuple, self.gamma_res, self._workspace
            )
        gamma = self.gamma.to(pid.atoms.dtype)
        return pid.atoms @ gamma + self.gamma_res * pid.residual_entropy

    def loss(self, pid: SxPIDAtoms | None = None) -> torch.Tensor:
        """``−Σ_j G_j`` on the last batch (a scalar to minimise)."""
        return -self.goal_value(pid).sum()

    def atoms(self, pid: SxPIDAtoms | None = None) -> dict[str, torch.Tensor]:
        """Atoms per neuron on the last batch, ``{name: Tensor (neurons,)}`` in bits, plus ``"H_res"`` (detached)."""
        pid = self.pid() if pid is None else pid
        out = {name: pid.atoms[:, i].detach() for i, name in enumerate(atom_names(self.n_sources))}
        out[RESIDUAL] = pid.residual_entropy.detach()
        return out

    def extra_repr(self) -> str:
        return (
            f"n_receptive={self.n_receptive}, n_context={self.n_context}, n_neurons={self.n_neurons}, "
            f"lateral={self.lateral}, activation={self.activation!r}, binning={self.binning!r}, n_bins={self.n_bins}, "
            f"goal={self.goal!r}"
        )
