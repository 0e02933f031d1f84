"""``ContinuousInfomorphicLayer``: infomorphic neurons with real-valued outputs and goals in continuous atoms.

Each neuron ``j`` has receptive and context drives ``r = w_R·x_R + b_R`` and ``c = w_C·x_C + b_C`` (as in
:class:`~pidlearn.backends.torch.layers.InfomorphicLayer`) and emits the real number

    Y = A(r, c) + σ ε,    ε ~ N(0, 1),

a Gaussian whose mean is the activation ``A`` (the binary neuron fires ``Y ∈ {−1, +1}`` with ``P(Y = +1) = σ(A)``).
Its goal ``G_j = Σ_α γ_α Π_j(α)`` is written in the continuous SxPID atoms of ``Y_j`` against its own unbinned drives
``(r_j, c_j)`` over the batch, estimated by the differentiable soft-count estimator
:func:`~pidlearn.backends.torch.continuous_sxpid.continuous_sxpid_goal` (Ehrlich et al. 2024), or by its
linear-binned plug-in counterpart (``estimator="binned"``, tens of times faster); the loss is
``−Σ_j G_j``. Gradients reach the weights through ``Y`` (reparameterised: ``ε`` is drawn without gradient); the
drives enter the goal as sources detached by default, as the binary layer's binned drives do, so that a neuron
changes *what it emits about* its inputs, not the inputs the goal is measured against (``drive_gradient=True``
keeps their gradient too).

Why a continuous output: every SxPID redundancy of a target is at most its entropy (the local
``i_sx(y : α) = log p(y | 𝔄_α) / p(y) ≤ −log p(y)``), so a binary neuron's atoms, and their sum ``I(Y; R, C)``, are
at most 1 bit whatever it learns. A real-valued output is capped only by its noise ``σ`` and by the inputs.

References
----------
D. A. Ehrlich, K. Schick-Poland, A. Makkeh, F. Lanfermann, P. Wollstadt and M. Wibral, "Partial information
decomposition for continuous variables based on shared exclusions: analytical formulation and estimation",
Phys. Rev. E 110, 014115 (2024).
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from pidlearn.backends._settings import check_finite_number, layer_settings
from pidlearn.backends.torch import activations as _act
from pidlearn.backends.torch.continuous_sxpid import continuous_sxpid, continuous_sxpid_goal
from pidlearn.backends.torch.functional import SxPIDAtoms, atom_names
from pidlearn.backends.torch.layers import InfomorphicLayer, _check_finite
from pidlearn.goals import goal_vector

__all__ = ["ContinuousInfomorphicLayer"]


class ContinuousInfomorphicLayer(nn.Module):
    """A layer of infomorphic neurons with real-valued outputs ``Y = A(r, c) + σ ε`` and continuous-atom goals.

    Parameters
    ----------
    n_receptive : int
        Size of the receptive (feed-forward) input ``x_R``.
    n_context : int
        Size of the context input ``x_C``.
    n_neurons : int
        Number of neurons.
    goal : str or Mapping[str, float], default "context_heuristic"
        A two-source preset of :mod:`pidlearn.goals` or ``{atom name: γ}``; source 1 = the receptive drive ``r``,
        2 = the context drive ``c``. The residual entropy ``"H_res"`` is refused: for a real-valued output it is a
        differential entropy that grows without bound as ``σ`` shrinks relative to ``A``.
    activation : str, default "bivariate"
        Mean of the output: one of the two-input activations of :mod:`.activations` (``bivariate``,
        ``kay_phillips``, ``memory``/``sum``).
    activation_kwargs : dict, optional
        Constants of the activation (``k1``, ``k2``; ``beta``).
    sigma : float, default 0.1
        Standard deviation of the output noise, in the units of ``A``. It must be ``> 0``: a deterministic output
        has infinite information about its drives, and the estimator needs distinct values.
    k : int, default 3
        Nearest neighbours of the continuous SxPID estimator (a batch needs more than ``k`` samples).
    tau : float, default 0.02
        Softness of the estimator's neighbour counts (see :func:`.continuous_sxpid.continuous_sxpid`).
    estimator : {"knn", "binned"}, default "knn"
        The continuous SxPID estimator (``method`` of :func:`.continuous_sxpid.continuous_sxpid`): soft neighbour
        counts (``k``, ``tau``), or the plug-in SxPID of a linear-binned soft histogram of the standardised variables.
    bin_width : float, optional
        Lattice spacing of ``estimator="binned"`` in standardised units (default ``2 N^{-1/4}`` for a batch of
        ``N``).
    drive_gradient : bool, default False
        Keep the gradient of the goal with respect to the drives as sources (``True``), or detach them (the binary
        layer's behaviour: its sources are bins).

    Notes
    -----
    With ``r_j``, ``c_j`` the drives of neuron ``j`` over a batch of ``N`` samples,
    ``Y_j = A(r_j, c_j) + σ ε_j`` and ``Π_j(α)`` the continuous SxPID atoms of ``Y_j`` against
    ``(r_j, c_j)`` (soft KSG-type counts, every variable standardised over the batch),

    .. math::

        G_j = \\sum_\\alpha \\gamma_\\alpha \\Pi_j(\\alpha), \\qquad \\mathcal L = -\\sum_j G_j .

    Standardisation makes ``G_j`` invariant to the scale of ``r_j`` and ``c_j``, but not to that of ``A``
    against ``σ``: a neuron can raise its information by raising its gain, up to what the drives themselves share.

    References
    ----------
    D. A. Ehrlich et al., Phys. Rev. E 110, 014115 (2024); A. Makkeh et al., PNAS (2025), arXiv:2306.02149.

    Examples
    --------
    >>> layer = ContinuousInfomorphicLayer(8, 8, 4, goal={"{1}{2}": 1.0}, sigma=0.1)
    >>> y = layer(torch.randn(256, 8), torch.randn(256, 8))
    >>> y.shape
    torch.Size([256, 4])
    >>> layer.loss().backward()
    >>> layer.goal_value().shape
    torch.Size([4])
    """

    def __init__(
        self,
        n_receptive: int,
        n_context: int,
        n_neurons: int,
        *,
        goal="context_heuristic",
        activation: str | None = None,
        activation_kwargs: dict | None = None,
        sigma: float = 0.1,
        k: int = 3,
        tau: float = 0.02,
        estimator: str = "knn",
        bin_width: float | None = None,
        drive_gradient: bool = False,
    ):
        super().__init__()
        settings = layer_settings(
            _act.ACTIVATIONS,
            n_receptive=n_receptive,
            n_context=n_context,
            n_neurons=n_neurons,
            lateral=False,
            n_bins=2,  # unused: the continuous goal does not bin
            activation=activation,
            activation_kwargs=activation_kwargs,
            binning="fixed",
            bin_range=1.0,
        )
        for name in ("n_receptive", "n_context", "n_neurons", "n_sources", "activation", "_activation"):
            setattr(self, name, settings[name])
        gamma, gamma_res = goal_vector(goal, self.n_sources)
        if gamma_res != 0.0:
            raise ValueError(
                f"goal {goal!r} weighs the residual entropy H_res ({gamma_res}); a real-valued output's H_res is a "
                "differential entropy without a fixed scale, so the continuous layer takes goals in atoms only "
                "(drop 'H_res', or use a preset without it such as 'context_heuristic')"
            )
        self.goal = goal if isinstance(goal, str) else dict(goal)
        self._gamma_tuple = tuple(gamma)
        self.register_buffer("gamma", torch.tensor(gamma), persistent=False)
        self.sigma = check_finite_number("sigma", sigma, positive=True)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k (nearest neighbours of the estimator) must be a positive int such as 3, got {k!r}")
        self.k = int(k)
        self.tau = check_finite_number("tau", tau, positive=True)
        if estimator not in ("knn", "binned"):
            raise ValueError(
                f"estimator must be 'knn' (soft neighbour counts) or 'binned' (linear-binned plug-in), "
                f"got {estimator!r}"
            )
        self.estimator = estimator
        if bin_width is not None:
            if estimator != "binned":
                raise ValueError("bin_width is a setting of estimator='binned'; drop it or pass estimator='binned'")
            bin_width = check_finite_number("bin_width", bin_width, positive=True)
        self.bin_width = bin_width
        if not isinstance(drive_gradient, bool):
            raise TypeError(f"drive_gradient must be True or False, got {drive_gradient!r}")
        self.drive_gradient = drive_gradient
        self.receptive = nn.Linear(n_receptive, n_neurons)
        self.context = nn.Linear(n_context, n_neurons)
        self._last: tuple | None = None

    # the binary layer's input rule (shape, dtype, device; integer inputs converted), one home for it
    _check_input = InfomorphicLayer._check_input

    def drives(self, x_receptive, x_context) -> tuple[torch.Tensor, torch.Tensor]:
        """Validated receptive and context drives ``(r, c)``, each (batch, n_neurons)."""
        x_r = self._check_input(x_receptive, self.n_receptive, "x_receptive")
        x_c = self._check_input(x_context, self.n_context, "x_context")
        if x_r.shape[0] != x_c.shape[0]:
            raise ValueError(f"x_receptive has {x_r.shape[0]} samples but x_context has {x_c.shape[0]}")
        r, c = self.receptive(x_r), self.context(x_c)
        _check_finite(r, c)
        return r, c

    def forward(
        self, x_receptive, x_context, *, generator: torch.Generator | None = None, noise: bool = True
    ) -> torch.Tensor:
        """Real-valued outputs ``Y = A(r, c) + σ ε`` for one batch, (batch, n_neurons), with gradient.

        Parameters
        ----------
        x_receptive : Tensor, shape (batch, n_receptive)
        x_context : Tensor, shape (batch, n_context)
        generator : torch.Generator, optional
            Random source of the noise ``ε``.
        noise : bool, default True
            ``False`` returns the noise-free ``A(r, c)``, the mean and mode of ``Y`` (for evaluation; the goal of
            such a batch is not meaningful: a deterministic output has no noise to bound its information).

        Inputs follow :meth:`InfomorphicLayer.forward`'s dtype rule (floating inputs in the layer's dtype, integer
        and bool inputs converted). Any batch size works here; the goal (:meth:`goal_value`, :meth:`loss`,
        :meth:`pid`) needs more than ``k`` samples.
        """
        if not isinstance(noise, bool):
            raise TypeError(f"noise must be True or False, got {noise!r}")
        r, c = self.drives(x_receptive, x_context)
        y = self._activation(r, c)
        if noise:
            y = y + self.sigma * torch.randn(y.shape, generator=generator, dtype=y.dtype, device=y.device)
        self._last = (y, r, c)
        return y

    def _sources(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self._last is None:
            raise RuntimeError("call the layer on a batch first: goal_value(), loss() and atoms() use the last batch")
        y, r, c = self._last
        if y.shape[0] <= self.k:
            raise ValueError(
                f"the batch has {y.shape[0]} samples; the goal's k = {self.k} nearest neighbours need at least "
                f"{self.k + 1} (use a larger batch, or a smaller k)"
            )
        if not self.drive_gradient:
            r, c = r.detach(), c.detach()
        return y, [r, c]

    def _estimator_kwargs(self) -> dict:
        return {"k": self.k, "tau": self.tau, "method": self.estimator, "bin_width": self.bin_width}

    def goal_value(self) -> torch.Tensor:
        """Goal ``G_j = Σ_α γ_α Π_j(α)`` of each neuron on the last batch, in bits, shape (neurons,).

        Only the redundancies the goal needs are estimated (:func:`.continuous_sxpid.continuous_sxpid_goal`).
        """
        y, sources = self._sources()
        return continuous_sxpid_goal(y, sources, self._gamma_tuple, **self._estimator_kwargs())

    def loss(self) -> torch.Tensor:
        """``−Σ_j G_j`` on the last batch (a scalar to minimise)."""
        return -self.goal_value().sum()

    def pid(self) -> SxPIDAtoms:
        """All continuous SxPID atoms (neurons, n_atoms) of the last batch, differentiable, in the binary layer's form.

        ``residual_entropy`` is NaN: for a real-valued output it is a differential entropy without a fixed scale.
        The trainer's monitor (:class:`~pidlearn.backends.torch.train.Trainer`, every ``monitor_every``-th batch)
        reads the atoms from here, as it does for :class:`InfomorphicLayer`.
        """
        y, sources = self._sources()
        atoms = continuous_sxpid(y, sources, **self._estimator_kwargs())
        return SxPIDAtoms(atoms, torch.full(atoms.shape[:1], math.nan, dtype=atoms.dtype, device=atoms.device))

    def atoms(self) -> dict[str, torch.Tensor]:
        """Continuous SxPID atoms per neuron on the last batch, ``{name: Tensor (neurons,)}`` in bits (detached)."""
        with torch.no_grad():
            values = self.pid().atoms
        return {name: values[:, i] for i, name in enumerate(atom_names(self.n_sources))}

    def extra_repr(self) -> str:
        return (
            f"n_receptive={self.n_receptive}, n_context={self.n_context}, n_neurons={self.n_neurons}, "
            f"activation={self.activation!r}, sigma={self.sigma}, k={self.k}, tau={self.tau}, "
            f"estimator={self.estimator!r}, bin_width={self.bin_width}, goal={self.goal!r}"
        )
