"""MOLE's objectives: differentiable scores of a module's output ``T`` against the labels, in bits.

Thin ``nn.Module`` wrappers over the estimators of :mod:`pidlearn.backends.torch.functional` (they hold the
settings, and InfoNCE's critic and the PID goal's units hold parameters that train with the module they score):

* :class:`RenyiMI` — matrix-based Rényi α MI with a delta kernel on the labels;
* :class:`InfoNCE` — the InfoNCE bound with a learned bilinear critic;
* :class:`PIDGoal` — the PID goal of stochastic binary units with the label as context, and
  :class:`InfomorphicModule`, a module of such units trained by its own goal;
* :func:`make_objective` — an objective from its name (``"renyi"``, ``"renyi2"``, ``"renyi-norm"``, ``"infonce"``,
  ``"pid"``).

All are re-exported by :mod:`pidlearn.backends.torch.mole`.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from pidlearn.backends._settings import check_int
from pidlearn.backends.torch.functional import (
    SIGMA_RULES,
    _check_alpha,
    _flat,
    _label_entropy_nats,
    _mi_from_grams,
    delta_gram,
    gaussian_gram,
    info_nce,
    kernel_width,
)

__all__ = ["OBJECTIVES", "InfoNCE", "InfomorphicModule", "PIDGoal", "RenyiMI", "make_objective"]

OBJECTIVES = ("renyi", "renyi2", "renyi-norm", "infonce", "pid")


def _represent(h) -> torch.Tensor:
    """What a loss sees of a module output: flattened rows of a tensor, or ``h.represent()`` (graphs)."""
    if isinstance(h, torch.Tensor):
        return h.reshape(len(h), -1)
    return h.represent()


class RenyiMI(nn.Module):
    """Matrix-based Rényi α MI between a representation batch and labels (delta kernel), in bits.

    Parameters
    ----------
    alpha : float, default 1.01
        2 uses the Frobenius form (no eigendecomposition).
    sigma : float or rule, default "knn"
        Width of the Gaussian kernel on the representation (computed on the detached batch).
    n_neighbors : int, default 10
    min_sigma : float, default 1e-3
        Floor of the width (a representation collapsing onto class points drives the k-NN width to 0).
    normalize : bool, default False
        Scale every representation row to unit length before the kernel (the kernel then sees angles only).
    """

    def __init__(
        self,
        alpha: float = 1.01,
        sigma="knn",
        *,
        n_neighbors: int = 10,
        min_sigma: float = 1e-3,
        normalize: bool = False,
    ):
        super().__init__()
        self.alpha = _check_alpha(alpha)
        if isinstance(sigma, str) or isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
            if sigma not in SIGMA_RULES:
                raise ValueError(f"sigma must be a positive number or one of {SIGMA_RULES}, got {sigma!r}")
        else:
            kernel_width(None, sigma)  # a number: checks it is positive
        self.sigma, self.n_neighbors, self.min_sigma = sigma, n_neighbors, float(min_sigma)
        self.normalize = bool(normalize)

    def gram(self, t: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            t = F.normalize(_flat(t, "t"), dim=1)
        return gaussian_gram(t, self.sigma, n_neighbors=self.n_neighbors, min_sigma=self.min_sigma)

    def forward(self, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """I(T; Y) in bits for representations ``t`` (n, ...) and integer labels (n,)."""
        ga = self.gram(t)
        labels = labels.to(torch.int64)
        gb = delta_gram(labels, ga.dtype)
        h_b = _label_entropy_nats(labels, self.alpha, ga.dtype)
        return _mi_from_grams(ga, gb, self.alpha, h_b) / math.log(2)

    def mi(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """I(A; B) in bits between two continuous batches (Gaussian kernels on both; for the β terms)."""
        return _mi_from_grams(self.gram(a), self.gram(b).to(a.dtype), self.alpha) / math.log(2)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, sigma={self.sigma!r}, n_neighbors={self.n_neighbors}, normalize={self.normalize}"


class InfoNCE(nn.Module):
    """InfoNCE lower bound on I(T; Y) with labels: critic ``f(t, y) = ⟨ĝ(t), ê_y⟩ / τ`` (unit vectors).

    ``I_NCE = mean_i [f(t_i, y_i) − log (1/N Σ_j exp f(t_i, y_j))] / ln 2`` bits; ``g`` a lazily sized linear
    projection, ``e`` a learned class embedding (the math: :func:`pidlearn.backends.torch.functional.info_nce`). Its
    parameters train with the module it scores.
    """

    def __init__(self, n_classes: int, dim: int = 64, temperature: float = 0.1):
        super().__init__()
        n_classes = check_int("n_classes", n_classes, 2)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.n_classes, self.temperature = int(n_classes), float(temperature)
        self.project = nn.LazyLinear(dim)
        self.embed = nn.Embedding(n_classes, dim)

    def forward(self, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        t = _flat(t, "t")
        return info_nce(self.project(t), self.embed(labels.to(torch.int64)), self.temperature)


def _check_labels(labels, n: int, n_classes: int) -> torch.Tensor:
    labels = torch.as_tensor(labels)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got {labels.dtype}")
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    labels = labels.to(torch.int64)
    if n and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(
            f"labels must lie in 0..{n_classes - 1} (n_classes={n_classes}); "
            f"got {int(labels.min())}..{int(labels.max())}"
        )
    return labels


def _check_rows(t: torch.Tensor, name: str = "t") -> torch.Tensor:
    t = _flat(t, name)
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


class InfomorphicModule(nn.Module):
    """A module of stochastic binary units (infomorphic neurons) for MOLE, trained by its own PID goal.

    Wraps an :class:`~pidlearn.backends.torch.layers.InfomorphicLayer` with ``n_in`` receptive inputs (the flattened
    module input), the one-hot label as context (``n_classes`` inputs) and ``n_units`` neurons. During MOLE training
    the module receives the labels (:attr:`takes_labels`): the units fire with ``θ = σ(A(r, c))`` and the module
    outputs their samples in {−1, +1}; its objective (``objective="pid"``) is the mean goal of its units, the SxPID
    atoms of each unit's output against its binned receptive (source 1) and context (source 2) drives weighted by
    ``goal``. Without labels (evaluation, and the frozen modules of the sequential schedule) the context is zero
    and the module outputs the expected sample ``2θ − 1`` in eval mode (samples in train mode).

    Parameters
    ----------
    n_in, n_units, n_classes : int
    goal : str or mapping, default "context_heuristic"
        A bivariate preset of :mod:`pidlearn.goals` (``context_heuristic``, ``context_optimised``, ``readout``) or
        ``{atom: γ}``.
    **layer_kwargs
        Passed to :class:`InfomorphicLayer` (``activation``, ``activation_kwargs``, ``binning``, ``n_bins``, ...).
    """

    takes_labels = True

    def __init__(self, n_in: int, n_units: int, n_classes: int, *, goal="context_heuristic", **layer_kwargs):
        super().__init__()
        from pidlearn.backends.torch.layers import InfomorphicLayer

        if layer_kwargs.get("lateral"):
            raise ValueError("InfomorphicModule has no lateral inputs (its goal uses receptive and context sources)")
        self.n_classes = int(n_classes)
        self.layer = InfomorphicLayer(n_in, n_classes, n_units, goal=goal, **layer_kwargs)
        self._x: torch.Tensor | None = None
        self._labels: torch.Tensor | None = None

    def forward(self, h, labels=None) -> torch.Tensor:
        x = _check_rows(h if isinstance(h, torch.Tensor) else _represent(h), "input")
        x = x.to(self.layer.receptive.weight.dtype)
        if labels is None:
            c = x.new_zeros(len(x), self.n_classes)
        else:
            labels = _check_labels(labels, len(x), self.n_classes)
            c = F.one_hot(labels, self.n_classes).to(x.dtype)
        theta, y = self.layer(x, c)
        self._x, self._labels = x, labels
        return y if self.training or labels is not None else 2.0 * theta - 1.0

    def goal(self, labels) -> torch.Tensor:
        """Mean goal of the units (bits) with ``labels`` as context, on the module's last input."""
        if self._x is None:
            raise RuntimeError("call the module on a batch first")
        if self._labels is None or self._labels is not labels:  # re-run with this label context
            labels = _check_labels(labels, len(self._x), self.n_classes)
            self.layer(self._x, F.one_hot(labels, self.n_classes).to(self._x.dtype))
        return self.layer.goal_value().mean()


class PIDGoal(nn.Module):
    """PID goal of stochastic binary units with the label as context, in bits: MOLE's objective for binary units.

    * On an :class:`InfomorphicModule` the objective is that module's own goal (its units, its input, the label).
    * On any other module, ``T`` is the receptive input of ``n_units`` binary units of an
      :class:`~pidlearn.backends.torch.layers.InfomorphicLayer` (sized on the first batch) with the one-hot label as
      context; the objective is their mean goal, and its gradient reaches the module through the units' firing
      probabilities. The units' weights train with the module (as InfoNCE's critic does). The default is the
      readout of the infomorphic papers: one unit per class, ``θ = σ(r)``, the label through fixed identity context
      weights, goal ``readout`` (``{1}{2}: 1, {1}: −0.2, {2}: 0.1, {12}: 0.1``, source 1 = T's drive, 2 = label).

    Parameters
    ----------
    n_classes : int
    goal : str or mapping, default "readout"
    n_units : int, optional
        Units on top of ``T`` (default ``n_classes``; with ``goal="readout"`` it must be ``n_classes``).
    standardize : bool, default True
        Standardise every feature of ``T`` over the batch (gradient through the mean and standard deviation) before
        the units: the goal then does not depend on the scale of ``T`` (a GCN on row-normalised bag-of-words
        features has outputs of order 0.01, where every unit fires with θ ≈ 0.5 and the goal and its gradient
        vanish).
    **layer_kwargs
        Passed to the :class:`InfomorphicLayer` (``n_bins``, ``binning``, ``activation``, ...).
    """

    def __init__(
        self, n_classes: int, goal="readout", *, n_units: int | None = None, standardize: bool = True, **layer_kwargs
    ):
        super().__init__()
        n_classes = check_int("n_classes", n_classes, 2)
        from pidlearn.goals import goal_vector

        goal_vector(goal, 2)  # a bad goal fails here, not on the first batch
        self.n_classes, self.goal = int(n_classes), goal
        self.n_units = int(n_units or n_classes)
        readout = goal == "readout"
        if readout and self.n_units != self.n_classes:
            raise ValueError(f"goal 'readout' has one unit per class: n_units must be {n_classes}, got {n_units}")
        if readout:
            layer_kwargs = {"activation_kwargs": {"k1": 1.0}, "context_identity": True, **layer_kwargs}
        self.layer_kwargs = layer_kwargs
        self.standardize = bool(standardize)
        self.units = None

    def _build(self, d: int, dtype) -> None:
        from pidlearn.backends.torch.layers import InfomorphicLayer

        self.units = InfomorphicLayer(d, self.n_classes, self.n_units, goal=self.goal, **self.layer_kwargs).to(dtype)

    def forward(self, t: torch.Tensor, labels: torch.Tensor, module: nn.Module | None = None) -> torch.Tensor:
        if isinstance(module, InfomorphicModule):
            return module.goal(labels)
        t = _check_rows(t)
        if len(t) < 2:
            raise ValueError(f"the PID goal needs a batch of at least 2 samples, got {len(t)}")
        labels = _check_labels(labels, len(t), self.n_classes)
        if self.units is None:
            self._build(t.shape[1], t.dtype)
        elif t.shape[1] != self.units.n_receptive:
            raise ValueError(f"t has {t.shape[1]} features but the units were sized for {self.units.n_receptive}")
        t = t.to(self.units.receptive.weight.dtype)
        if self.standardize:
            t = (t - t.mean(0)) / (t.std(0) + 1e-6)
        self.units(t, F.one_hot(labels, self.n_classes).to(t.dtype))
        return self.units.goal_value().mean()

    def extra_repr(self) -> str:
        return f"n_classes={self.n_classes}, n_units={self.n_units}, goal={self.goal!r}, standardize={self.standardize}"


def make_objective(objective, n_classes: int | None = None) -> nn.Module:
    """An objective module from its name, or an objective module (returned as is).

    ``"renyi"``: Rényi α = 1.01, k-NN width; ``"renyi2"``: α = 2; ``"renyi-norm"``: α = 1.01 on unit-length rows;
    ``"infonce"``: :class:`InfoNCE` (needs ``n_classes``); ``"pid"``: :class:`PIDGoal` (readout units with the label
    as context, or the module's own units for an :class:`InfomorphicModule`; needs ``n_classes``).
    """
    if isinstance(objective, nn.Module):
        return objective
    if objective == "renyi":
        return RenyiMI(1.01)
    if objective == "renyi2":
        return RenyiMI(2.0)
    if objective == "renyi-norm":
        return RenyiMI(1.01, normalize=True)
    if objective == "infonce":
        if n_classes is None:
            raise ValueError("objective 'infonce' needs n_classes")
        return InfoNCE(n_classes)
    if objective == "pid":
        if n_classes is None:
            raise ValueError("objective 'pid' needs n_classes")
        return PIDGoal(n_classes)
    raise ValueError(f"objective must be one of {OBJECTIVES} or an nn.Module, got {objective!r}")
