"""MOLE: module-wise training by mutual-information maximisation (Li & Pei 2023), and its MI objectives in torch.

A network is cut into modules ``f_1, ..., f_K`` (an ``nn.Sequential``-like stack); module ``k`` maps ``T_{k-1}`` to
``T_k`` (``T_0 = X``) and is trained alone on

    L_k = −I(T_k; Y) + β · I(T_k; T_{k−1})       (or β · I(T_k; X); β = 0 by default)

with its input detached, so no gradient crosses a module boundary. A classifier head on ``T_K`` is trained with
cross-entropy (its input detached too). Schedules: ``"asynchronous"`` (every step updates all modules and the head,
each on its detached input) and ``"sequential"`` (module 1 until its I(T_1; Y) stops improving, then module 2 on the
frozen output of module 1, ..., then the head).

Objectives (per batch, differentiable, in bits):

* matrix-based Rényi α-entropy MI (Sanchez Giraldo, Rao & Príncipe 2015): ``A = K / tr K`` of a Gaussian Gram matrix
  of the (flattened) representations, a delta kernel ``K = Y Yᵀ`` on one-hot labels,
  ``S_α(A) = 1/(1−α) log2 Σ λ_i(A)^α`` (α = 1.01 through ``torch.linalg.eigvalsh``; α = 2 as ``−log2 ‖A‖²_F``),
  ``I_α(A; B) = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B))``. The functions here equal the NumPy ones in
  :mod:`pidlearn.continuous.renyi` in float64. The kernel width is computed on the detached batch (a constant for
  the gradient).
* InfoNCE (van den Oord et al. 2018) with a learned bilinear critic between a projection of ``T`` and a class
  embedding; a lower bound on I(T; Y) that is at most ``log2 N``.
* the PID goal of stochastic binary units (infomorphic neurons, Makkeh et al. 2025): :class:`PIDGoal` scores ``T``
  by the goal ``G = Σ_α γ_α Π(α)`` of binary units whose receptive input is ``T`` and whose context is the label
  (SxPID atoms of each unit's output against its binned receptive and context drives, through
  :class:`pidlearn.backends.torch.layers.InfomorphicLayer`); an :class:`InfomorphicModule` is itself a module of such
  units, trained by its own goal.

The β terms always use the Rényi estimator with Gaussian kernels on both sides.

References
----------
Y. Li and Y. Pei, "MOLE: MOdular Learning FramEwork via Mutual Information Maximization", ICML 2023 Workshop on
Localized Learning, arXiv:2308.07772.
L. G. Sanchez Giraldo, M. Rao and J. C. Príncipe, IEEE Trans. Inf. Theory 61(1), 535–548 (2015).
A. van den Oord, Y. Li and O. Vinyals, "Representation learning with contrastive predictive coding",
arXiv:1807.03748 (2018).
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from pidlearn._progress import progress_bar
from pidlearn.backends.torch._checkpoint import TorchCheckpoint

__all__ = [
    "MOLE",
    "SIGMA_RULES",
    "Backprop",
    "InfoNCE",
    "InfomorphicModule",
    "PIDGoal",
    "RenyiMI",
    "delta_gram",
    "gaussian_gram",
    "kernel_width",
    "make_objective",
    "matrix_entropy",
    "plot_mi_history",
    "renyi_entropy",
    "renyi_joint_entropy",
    "renyi_mutual_information",
]

#: Kernel width rules (besides a positive number). ``knn``, ``silverman`` and ``sqrt_d`` are those of the NumPy module.
SIGMA_RULES = ("knn", "knn_median", "silverman", "sqrt_d")
SCHEDULES = ("asynchronous", "sequential")
OBJECTIVES = ("renyi", "renyi2", "renyi-norm", "infonce", "pid")


# ------------------------------------------------------------------------------------------------------------------
# functional estimators
def _flat(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError(f"{name} must have a sample dimension, got a scalar")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    x = x.reshape(len(x), -1)
    if len(x) < 2:
        raise ValueError(f"{name}: the matrix-based estimator needs at least 2 samples, got {len(x)}")
    return x


def _sq_dists(x: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (n, n) through one matrix product, clamped at 0, exact zeros on the diagonal."""
    r = (x * x).sum(1)
    sq = (r[:, None] + r[None, :] - 2.0 * (x @ x.T)).clamp_min(0.0)
    return sq * (1.0 - torch.eye(len(x), dtype=x.dtype, device=x.device))


def kernel_width(x: torch.Tensor, rule="knn", *, n_neighbors: int = 10) -> float:
    """Gaussian kernel width ``σ`` of a batch (no gradient).

    ``"knn"``: mean over samples of the mean distance to the ``n_neighbors`` nearest other samples;
    ``"knn_median"``: the median over samples of that mean distance; ``"silverman"``: ``s̄ (4 / ((d + 2) N))^{1/(d+4)}``
    with ``s̄`` the mean column standard deviation; ``"sqrt_d"``: ``s̄ √d``; or a positive number.
    """
    if isinstance(rule, numbers.Real) and not isinstance(rule, bool):  # x is not needed (may be None)
        if not (math.isfinite(rule) and rule > 0):
            raise ValueError(f"sigma must be positive and finite, got {rule!r}")
        return float(rule)
    if rule not in SIGMA_RULES:
        raise ValueError(f"sigma must be a positive number or one of {SIGMA_RULES}, got {rule!r}")
    with torch.no_grad():
        x = _flat(x).detach()
        n, d = x.shape
        if rule in ("knn", "knn_median"):
            if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral) or n_neighbors < 1:
                raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
            m = min(int(n_neighbors), n - 1)
            dist = _sq_dists(x).sqrt()
            near = dist.topk(m + 1, dim=1, largest=False).values[:, 1:].mean(1)
            sigma = float(near.mean() if rule == "knn" else near.median())
        else:
            spread = float(x.std(0, unbiased=True).mean())
            sigma = spread * (4.0 / ((d + 2.0) * n)) ** (1.0 / (d + 4.0)) if rule == "silverman" else spread * d**0.5
    return sigma


def gaussian_gram(x: torch.Tensor, sigma="knn", *, n_neighbors: int = 10, min_sigma: float = 0.0) -> torch.Tensor:
    """Gram matrix ``exp(−‖x_i − x_j‖² / (2σ²))`` of a batch (samples flattened); ``σ`` a number or a rule."""
    x = _flat(x)
    s = max(kernel_width(x, sigma, n_neighbors=n_neighbors), min_sigma)
    return torch.exp(_sq_dists(x) * (-0.5 / (s * s)))


def delta_gram(labels: torch.Tensor, dtype=None) -> torch.Tensor:
    """Delta kernel ``K_ij = 1[y_i = y_j]`` (equal to ``Y Yᵀ`` for one-hot ``Y``) of integer labels (n,)."""
    labels = torch.as_tensor(labels)
    if labels.ndim == 2:  # one-hot / scores
        labels = labels.argmax(1)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (n,) or one-hot (n, C), got shape {tuple(labels.shape)}")
    return (labels[:, None] == labels[None, :]).to(dtype or torch.get_default_dtype())


def _entropy_nats(a: torch.Tensor, alpha: float) -> torch.Tensor:
    """``S_α`` of a unit-trace PSD matrix in nats (eigenvalues below ``λ_max N eps`` count as 0, as in NumPy)."""
    if alpha == 2.0:
        return -torch.log((a * a).sum())
    lam = torch.linalg.eigvalsh(a)
    keep = lam > lam[-1].detach() * a.shape[0] * torch.finfo(a.dtype).eps
    safe = torch.where(keep, lam, torch.ones_like(lam))
    if alpha == 1.0:
        return -(torch.where(keep, safe * torch.log(safe), torch.zeros_like(lam))).sum()
    return torch.log(torch.where(keep, safe**alpha, torch.zeros_like(lam)).sum()) / (1.0 - alpha)


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
    return float(alpha)


def matrix_entropy(a: torch.Tensor, alpha: float = 1.01, *, base: float = 2) -> torch.Tensor:
    """Rényi α-entropy of a symmetric PSD matrix (normalised here to unit trace), differentiable."""
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {tuple(a.shape)}")
    return _entropy_nats(a / torch.trace(a), _check_alpha(alpha)) / math.log(base)


def _gram(x, sigma, kernel, n_neighbors, dtype=None):
    if kernel == "delta":  # labels carry no float type: exact 0/1 entries in float64 unless told otherwise
        return delta_gram(x, dtype or torch.float64)
    if kernel != "gaussian":
        raise ValueError(f"kernel must be 'gaussian' or 'delta', got {kernel!r}")
    return gaussian_gram(x, sigma, n_neighbors=n_neighbors)


def _pair(v, n):
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def renyi_entropy(
    x: torch.Tensor, alpha: float = 1.01, sigma="knn", *, kernel: str = "gaussian", base: float = 2, n_neighbors=10
) -> torch.Tensor:
    """Matrix-based Rényi α-entropy of a batch (see :func:`pidlearn.continuous.renyi_entropy`), a 0-d tensor."""
    alpha = _check_alpha(alpha)
    g = _gram(x, "knn" if sigma is None else sigma, kernel, n_neighbors)
    return _entropy_nats(g / torch.trace(g), alpha) / math.log(base)


def renyi_joint_entropy(
    *xs, alpha: float = 1.01, sigma="knn", kernel="gaussian", base: float = 2, n_neighbors=10
) -> torch.Tensor:
    """Joint entropy ``S_α(A_1∘...∘A_C / tr(...))``; ``sigma``/``kernel`` one value or one per variable."""
    alpha = _check_alpha(alpha)
    if not xs:
        raise ValueError("need at least one variable")
    sigmas, kernels = _pair(sigma, len(xs)), _pair(kernel, len(xs))
    grams = [_gram(x, "knn" if s is None else s, k, n_neighbors) for x, s, k in zip(xs, sigmas, kernels, strict=True)]
    _same_n(grams)
    prod = grams[0]
    for g in grams[1:]:
        prod = prod * g.to(prod.dtype)
    return _entropy_nats(prod / torch.trace(prod), alpha) / math.log(base)


def _same_n(grams):
    if len({g.shape[0] for g in grams}) > 1:
        raise ValueError(f"the variables have different numbers of samples: {[g.shape[0] for g in grams]}")


def renyi_mutual_information(
    x: torch.Tensor, y: torch.Tensor, *, alpha: float = 1.01, sigma="knn", kernel="gaussian", base=2, n_neighbors=10
) -> torch.Tensor:
    """``I_α(A; B) = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B))`` of two batches, differentiable (0-d tensor).

    ``kernel=("gaussian", "delta")`` scores representations against integer labels. Equal to
    :func:`pidlearn.continuous.renyi_mutual_information` in float64.
    """
    alpha = _check_alpha(alpha)
    (sa, sb), (ka, kb) = _pair(sigma, 2), _pair(kernel, 2)
    ga = _gram(x, "knn" if sa is None else sa, ka, n_neighbors)
    gb = _gram(y, "knn" if sb is None else sb, kb, n_neighbors, dtype=ga.dtype)
    _same_n([ga, gb])
    return _mi_from_grams(ga, gb, alpha) / math.log(base)


def _mi_from_grams(ga, gb, alpha, h_b=None):
    h_a = _entropy_nats(ga / torch.trace(ga), alpha)
    if h_b is None:
        h_b = _entropy_nats(gb / torch.trace(gb), alpha)
    prod = ga * gb
    return h_a + h_b - _entropy_nats(prod / torch.trace(prod), alpha)


def _label_entropy_nats(labels: torch.Tensor, alpha: float, dtype) -> torch.Tensor:
    """``S_α`` of the normalised delta Gram matrix: its eigenvalues are the class frequencies ``n_c / N``."""
    p = torch.bincount(labels).to(dtype) / len(labels)
    p = p[p > 0]
    if alpha == 1.0:
        return -(p * p.log()).sum()
    return torch.log((p**alpha).sum()) / (1.0 - alpha)


# ------------------------------------------------------------------------------------------------------------------
# objectives (modules: InfoNCE has a critic with parameters)
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
    projection, ``e`` a learned class embedding. Its parameters train with the module it scores.
    """

    def __init__(self, n_classes: int, dim: int = 64, temperature: float = 0.1):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.n_classes, self.temperature = int(n_classes), float(temperature)
        self.project = nn.LazyLinear(dim)
        self.embed = nn.Embedding(n_classes, dim)

    def forward(self, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        t = _flat(t, "t")
        z = F.normalize(self.project(t), dim=1)
        e = F.normalize(self.embed(labels.to(torch.int64)), dim=1)
        scores = z @ e.T / self.temperature  # (i, j): f(t_i, y_j)
        nce = scores.diagonal() - torch.logsumexp(scores, dim=1) + math.log(len(t))
        return nce.mean() / math.log(2)


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
        if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
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


# ------------------------------------------------------------------------------------------------------------------
# trainers
def _detach(h):
    return h.detach()


def _represent(h) -> torch.Tensor:
    """What a loss sees of a module output: flattened rows of a tensor, or ``h.represent()`` (graphs)."""
    if isinstance(h, torch.Tensor):
        return h.reshape(len(h), -1)
    return h.represent()


class _StackTrainer(TorchCheckpoint):
    """Data iteration, evaluation and checkpoints shared by :class:`MOLE` and :class:`Backprop`."""

    def __init__(self, modules, head, *, n_classes, batch_size, lr, weight_decay, seed, progress):
        if isinstance(modules, nn.Module) and not isinstance(modules, (nn.Sequential, nn.ModuleList)):
            modules = [modules]
        modules = list(modules)
        if not modules:
            raise ValueError("MOLE needs at least one module")
        for i, m in enumerate(modules):
            if not isinstance(m, nn.Module):
                raise TypeError(f"module {i} is a {type(m).__name__}, not a torch.nn.Module")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 2:
            raise ValueError(f"batch_size must be an integer >= 2, got {batch_size!r}")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.modules = nn.ModuleList(modules)
        if head is None:
            if n_classes is None:
                raise ValueError("give a head module or n_classes (for a linear head)")
            head = nn.LazyLinear(n_classes)
        self.head = head
        self.n_classes = n_classes
        self.batch_size, self.lr, self.weight_decay = int(batch_size), float(lr), float(weight_decay)
        self.seed, self.progress = int(seed), progress
        self.generator = torch.Generator().manual_seed(self.seed)
        self.epoch = 0
        self.history: list[dict] = []

    # data -----------------------------------------------------------------------------------------------------------
    def _batches(self, data, train: bool):
        """(input, labels) batches: tensors are cut into (shuffled) mini-batches; a callable or list is used as is."""
        if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], torch.Tensor):
            x, y = data
            y = torch.as_tensor(y, dtype=torch.int64)
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

    def _checked_batch(self, inp, y, *, unlabelled_ok: bool = False) -> torch.Tensor:
        """A training batch's labels as int64 after checking them and the inputs (before any estimator sees them).

        Labels must be integers in ``0..n_classes-1`` (``-1``, unlabelled, only where ``unlabelled_ok``: the
        cross-entropy of :class:`Backprop` skips them; MOLE's objectives need every label); inputs must be finite.
        """
        y = torch.as_tensor(y)
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"labels must be an integer tensor of class indices, got dtype {y.dtype}")
        y = y.to(torch.int64)
        if y.ndim != 1 or len(y) == 0:
            raise ValueError(f"labels of a training batch must be 1-D and non-empty, got shape {tuple(y.shape)}")
        low, high = int(y.min()), int(y.max())
        if low < 0 and not unlabelled_ok:
            raise ValueError(
                f"labels hold {low}: training labels must be class indices 0..{(self.n_classes or high + 1) - 1} "
                "(labels < 0 mark unlabelled samples, which only evaluation skips; drop them from the training data)"
            )
        if low < -1:
            raise ValueError(f"labels hold {low}: class indices are >= 0 (-1 marks an unlabelled sample)")
        if self.n_classes is not None and high >= self.n_classes:
            raise ValueError(
                f"labels hold {high} but n_classes={self.n_classes}: labels must lie in 0..{self.n_classes - 1} "
                f"(remap them, or make the trainer with n_classes={high + 1})"
            )
        x = inp if isinstance(inp, torch.Tensor) else getattr(inp, "x", None)
        if isinstance(x, torch.Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise ValueError(
                "the training inputs contain NaN or inf; remove or impute those samples before fit (the estimators' "
                "eigendecompositions and every gradient would turn NaN)"
            )
        return y

    def _diverged(self, what: str) -> str:
        return (
            f"training diverged in epoch {self.epoch + 1}: {what}. Try a smaller learning rate (lr={self.lr}, "
            "e.g. lr / 10), standardised inputs, or resume from the last checkpoint"
        )

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
        """Head outputs and labels over all batches of ``data`` (eval mode)."""
        self._train_mode(False)
        outs, ys = [], []
        for inp, y in self._batches(data, train=False):
            h = inp
            for m in self.modules:
                h = m(h)
            outs.append(self.head(_represent(h)))
            ys.append(torch.as_tensor(y, dtype=torch.int64))
        return torch.cat(outs), torch.cat(ys)

    def accuracy(self, data) -> float:
        """Fraction of correct predictions (labels < 0 are unlabelled and skipped)."""
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

    def load_state_dict(self, state: dict) -> None:
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
        with torch.no_grad():
            self._train_mode(False)
            h = inp
            for k, m in enumerate(self.modules):
                h = m(h)
                self._materialise_objective(k, _represent(h), torch.as_tensor(y, dtype=torch.int64))
            self.head(_represent(h))

    def _materialise_objective(self, k, t, y) -> None:
        pass

    def _evaluate(self, record, eval_sets) -> None:
        record["accuracy"] = {name: self.accuracy(d) for name, d in (eval_sets or {}).items()}


class MOLE(_StackTrainer):
    """Train a stack of modules by per-module MI maximisation, gradients isolated between modules.

    Parameters
    ----------
    modules : nn.Sequential, list of nn.Module
        The stack; module ``k`` takes module ``k − 1``'s output (tensors, or :class:`graph.GraphBatch` for graphs).
    objective : {"renyi", "renyi2", "renyi-norm", "infonce", "pid"} or nn.Module, default "renyi"
        Estimator of I(T_k; Y), called as ``objective(t, labels)`` in bits; copied for every module. ``"pid"``
        (:class:`PIDGoal`): the PID goal of binary units with the label as context (an :class:`InfomorphicModule`
        is scored by its own units and needs it).
    head : nn.Module, optional
        Classifier on the last module's (flattened / pooled) output; default ``nn.LazyLinear(n_classes)``.
    n_classes : int, optional
        Needed for the default head and for ``"infonce"``.
    beta : float, default 0
        Weight of the compression term ``β · I(T_k; T_{k−1})`` (``beta_on="previous"``) or ``β · I(T_k; X)``
        (``beta_on="input"``), estimated with Rényi α = 1.01 (or the objective's α) on Gaussian kernels.
    schedule : {"asynchronous", "sequential"}, default "asynchronous"
    batch_size : int, default 256
    lr, weight_decay : float
        Adam settings of every module (with its objective's parameters) and of the head.
    head_epochs : int, default 0
        Asynchronous: epochs of the head alone on the frozen modules after ``epochs`` (the head trained together
        with the modules chases a moving representation and lags: MNIST MLP, 4096 images, 3 epochs: 82 % against
        87 % for a head refitted on the same frozen features). Sequential: the head stage's length when > 0.
    patience, min_delta : sequential schedule: a module stops when its mean training I(T_k; Y) has not improved by
        ``min_delta`` bits for ``patience`` epochs (or after ``epochs`` epochs).
    seed : int, default 0
        Seeds the shuffling (private generator); create the modules after ``torch.manual_seed(seed)``.
    progress : bool, default True
        tqdm progress bar (when tqdm is installed).

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``stage`` (module index, ``"head"`` or ``"all"``), ``mi`` {"module k": mean training
        I(T_k; Y) in bits over the epoch's batches, for the modules trained in it}, ``loss``, ``accuracy``,
        ``seconds``.
    """

    def __init__(
        self,
        modules,
        objective="renyi",
        head=None,
        *,
        n_classes=None,
        beta: float = 0.0,
        beta_on: str = "previous",
        schedule: str = "asynchronous",
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        head_lr: float | None = None,
        head_epochs: int = 0,
        patience: int = 3,
        min_delta: float = 1e-3,
        seed: int = 0,
        progress: bool = True,
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
        )
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        if beta_on not in ("previous", "input"):
            raise ValueError(f"beta_on must be 'previous' or 'input', got {beta_on!r}")
        if not (isinstance(beta, numbers.Real) and beta >= 0):
            raise ValueError(f"beta must be a non-negative number, got {beta!r}")
        base = make_objective(objective, n_classes)
        for i, m in enumerate(self.modules):
            if isinstance(m, InfomorphicModule) and not isinstance(base, PIDGoal):
                raise ValueError(
                    f"module {i + 1} is an InfomorphicModule (binary units with sampled outputs): it learns by its own "
                    "PID goal, use objective='pid'"
                )
        self.objectives = nn.ModuleList(copy.deepcopy(base) for _ in self.modules)
        self.beta, self.beta_on, self.schedule = float(beta), beta_on, schedule
        self._beta_mi = RenyiMI(getattr(base, "alpha", 1.01))
        self.head_lr = float(head_lr or lr)
        self.patience, self.min_delta = int(patience), float(min_delta)
        if isinstance(head_epochs, bool) or not isinstance(head_epochs, numbers.Integral) or head_epochs < 0:
            raise ValueError(f"head_epochs must be a non-negative integer, got {head_epochs!r}")
        self.head_epochs = int(head_epochs)
        self.stage = 0  # sequential: index of the module in training, len(modules) = the head
        self.stage_epochs = 0
        self.best = -math.inf
        self.stale = 0
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def _materialise_objective(self, k, t, y) -> None:
        self._objective(k, t, y)

    def _objective(self, k: int, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        obj = self.objectives[k]
        return obj(t, y, module=self.modules[k]) if isinstance(obj, PIDGoal) else obj(t, y)

    def _make_optimizers(self) -> None:
        for k, (m, obj) in enumerate(zip(self.modules, self.objectives, strict=True)):
            params = [*m.parameters(), *obj.parameters()]
            if params:
                self.optimizers[f"module {k + 1}"] = torch.optim.Adam(
                    params, lr=self.lr, weight_decay=self.weight_decay
                )
        self.optimizers["head"] = torch.optim.Adam(
            self.head.parameters(), lr=self.head_lr, weight_decay=self.weight_decay
        )

    def _extra_state(self) -> dict:
        return {
            "objectives": self.objectives.state_dict(),
            "stage": self.stage,
            "stage_epochs": self.stage_epochs,
            "best": self.best,
            "stale": self.stale,
        }

    def _load_extra_state(self, state: dict) -> None:
        self.objectives.load_state_dict(state["objectives"])
        self.stage, self.stage_epochs = int(state["stage"]), int(state["stage_epochs"])
        self.best, self.stale = float(state["best"]), int(state["stale"])

    def prepare(self, data) -> None:
        """Give lazy layers their shapes and create the optimisers (done by :meth:`fit`; call before :meth:`load`)."""
        if not self.optimizers:
            self._materialise(data)
            self._make_optimizers()

    # losses ---------------------------------------------------------------------------------------------------------
    def module_loss(self, k: int, h_in, x_rep: torch.Tensor | None, y: torch.Tensor):
        """Module ``k``'s output and loss on a detached input: ``−I(T_k; Y) [+ β I(T_k; T_{k−1} or X)]``."""
        h_in = _detach(h_in)
        module = self.modules[k]
        h = module(h_in, y) if getattr(module, "takes_labels", False) else module(h_in)
        t = _represent(h)
        mi = self._objective(k, t, y)
        loss = -mi
        if self.beta > 0:
            other = _represent(h_in) if self.beta_on == "previous" else x_rep
            loss = loss + self.beta * self._beta_mi.mi(t, other.detach())
        return h, loss, mi

    def head_loss(self, h, y: torch.Tensor) -> torch.Tensor:
        logits = self.head(_represent(_detach(h)))
        keep = y >= 0
        if logits.ndim == 2 and len(y) and int(y.max()) >= logits.shape[1]:
            raise ValueError(
                f"labels hold {int(y.max())} but the head has {logits.shape[1]} outputs: labels must lie in "
                f"0..{logits.shape[1] - 1}"
            )
        return F.cross_entropy(logits[keep], y[keep])

    # training -------------------------------------------------------------------------------------------------------
    def _epoch_asynchronous(self, batches) -> dict:
        self._train_mode(True)
        n = len(batches)
        mis = [0.0] * len(self.modules)
        head_loss = 0.0
        for inp, y in progress_bar(batches, self.progress, f"epoch {self.epoch + 1}"):
            y = self._checked_batch(inp, y)
            x_rep = _represent(inp).detach() if self.beta > 0 and self.beta_on == "input" else None
            total = 0.0
            h = inp
            for k in range(len(self.modules)):
                h, loss, mi = self.module_loss(k, h, x_rep, y)
                total = total + loss
                mis[k] += float(mi.detach()) / n
            hl = self.head_loss(h, y)
            head_loss += float(hl.detach()) / n
            for opt in self.optimizers.values():
                opt.zero_grad(set_to_none=True)
            (total + hl).backward()
            for opt in self.optimizers.values():
                opt.step()
        return {"stage": "all", "mi": {f"module {k + 1}": v for k, v in enumerate(mis)}, "head_loss": head_loss}

    def _frozen_forward(self, inp, upto: int):
        with torch.no_grad():
            h = inp
            for m in self.modules[:upto]:
                h = m(h)
        return h

    def _epoch_sequential(self, batches) -> dict:
        k = self.stage
        self._train_mode(False)
        n = len(batches)
        desc = f"epoch {self.epoch + 1} ({'head' if k == len(self.modules) else f'module {k + 1}'})"
        if k < len(self.modules):
            self.modules[k].train(True)
            self.objectives[k].train(True)
            name = f"module {k + 1}"
            opt = self.optimizers.get(name)
            mi_sum = 0.0
            for inp, y in progress_bar(batches, self.progress, desc):
                y = self._checked_batch(inp, y)
                x_rep = _represent(inp).detach() if self.beta > 0 and self.beta_on == "input" else None
                h_in = self._frozen_forward(inp, k)
                _, loss, mi = self.module_loss(k, h_in, x_rep, y)
                mi_sum += float(mi.detach()) / n
                if opt is not None:
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
            return {"stage": k, "mi": {name: mi_sum}}
        return self._epoch_head(batches, desc)

    def _epoch_head(self, batches, desc: str) -> dict:
        """One epoch of the head alone on the frozen (eval-mode) modules."""
        self._train_mode(False)
        self.head.train(True)
        k, n = len(self.modules), len(batches)
        opt = self.optimizers["head"]
        head_loss = 0.0
        for inp, y in progress_bar(batches, self.progress, desc):
            y = self._checked_batch(inp, y)
            hl = self.head_loss(self._frozen_forward(inp, k), y)
            head_loss += float(hl.detach()) / n
            opt.zero_grad(set_to_none=True)
            hl.backward()
            opt.step()
        return {"stage": "head", "mi": {}, "head_loss": head_loss}

    def _advance_stage(self, record: dict, epochs: int) -> None:
        """Sequential: move to the next module when the current one's MI stalls, saturates or used its epochs."""
        self.stage_epochs += 1
        if self.stage == len(self.modules):
            return
        mi = record["mi"][f"module {self.stage + 1}"]
        if mi > self.best + self.min_delta:
            self.best, self.stale = mi, 0
        else:
            self.stale += 1
        if self.stale >= self.patience or self.stage_epochs >= epochs:
            self.stage += 1
            self.stage_epochs, self.best, self.stale = 0, -math.inf, 0

    def fit(
        self,
        data,
        epochs: int,
        *,
        eval_sets: dict | None = None,
        checkpoint=None,
        eval_every: int = 1,
        stop_after: int | None = None,
    ):
        """Train; a resumed trainer continues where it stopped.

        Parameters
        ----------
        data : (x, y) tensors, a list of (input, labels) batches, or a callable ``f(generator) -> batches``
        epochs : int
            Asynchronous: epochs of all modules and the head together (then ``head_epochs`` of the head alone).
            Sequential: the most epochs per module, and for the head (``head_epochs`` when that is > 0).
        eval_sets : dict name -> data, optional
            Accuracy after every ``eval_every`` epochs (sequential: only while the head trains) and at the end.
        checkpoint : path, optional
            Saved after every epoch.
        stop_after : int, optional
            Return after this many epochs of this call (a time-boxed run; resume later from the checkpoint).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        self.prepare(data)
        start = self.epoch
        while not self._done(epochs) and (stop_after is None or self.epoch - start < stop_after):
            t0 = time.perf_counter()
            batches = self._batches(data, train=True)
            if self.schedule == "asynchronous" and self.epoch < epochs:
                record = self._run_epoch(self._epoch_asynchronous, batches)
            elif self.schedule == "asynchronous":  # the head alone on the trained modules
                record = self._run_epoch(self._epoch_head, batches, f"epoch {self.epoch + 1} (head)")
            else:
                record = self._run_epoch(self._epoch_sequential, batches)
                self._advance_stage(record, epochs)
            self.epoch += 1
            record["epoch"] = self.epoch
            record["seconds"] = time.perf_counter() - t0
            head_trains = record["stage"] in ("all", "head")
            last = self._done(epochs)
            if eval_sets and head_trains and (last or self.epoch % max(1, eval_every) == 0):
                self._evaluate(record, eval_sets)
            self.history.append(record)
            if checkpoint is not None:
                self.save(checkpoint)
        return self.history

    def done(self, epochs: int) -> bool:
        """Whether :meth:`fit` with this ``epochs`` has nothing left to do."""
        return self._done(epochs)

    def _done(self, epochs: int) -> bool:
        if self.schedule == "asynchronous":
            return self.epoch >= epochs + self.head_epochs
        return self.stage == len(self.modules) and self.stage_epochs >= (self.head_epochs or epochs)

    @torch.no_grad()
    def mutual_information(self, inp, y) -> list[float]:
        """I(T_k; Y) in bits of every module on one batch (eval mode), with each module's objective."""
        self._train_mode(False)
        self.objectives.eval()
        y = torch.as_tensor(y, dtype=torch.int64)
        out, h = [], inp
        for k, m in enumerate(self.modules):
            h = m(h)
            out.append(float(self._objective(k, _represent(h), y)))
        return out


class Backprop(_StackTrainer):
    """The same stack and head trained end to end with cross-entropy (the baseline of every MOLE number)."""

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
        )
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def prepare(self, data) -> None:
        if not self.optimizers:
            self._materialise(data)
            params = [*self.modules.parameters(), *self.head.parameters()]
            self.optimizers["all"] = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)

    def fit(self, data, epochs: int, *, eval_sets: dict | None = None, checkpoint=None, eval_every: int = 1):
        """Train until ``epochs`` epochs are done in total (same data forms as :meth:`MOLE.fit`)."""
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        self.prepare(data)
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
                logits = self.head(_represent(h))
                keep = y >= 0
                if logits.ndim == 2 and int(y.max()) >= logits.shape[1]:
                    raise ValueError(
                        f"labels hold {int(y.max())} but the head has {logits.shape[1]} outputs: labels must lie in "
                        f"0..{logits.shape[1] - 1}"
                    )
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


def plot_mi_history(history: list[dict], path, *, n_classes: int | None = None) -> Path:
    """Plot the mean training I(T_k; Y) of every module over epochs into ``path`` (needs matplotlib).

    ``history`` is :attr:`MOLE.history`; ``n_classes`` draws the ``log2 C`` ceiling of the delta-kernel estimate.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("the history is empty: train at least one epoch before plotting")
    names = list(dict.fromkeys(name for h in history for name in h.get("mi", {})))
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name in names:
        pts = [(h["epoch"], h["mi"][name]) for h in history if name in h.get("mi", {})]
        ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=f"I(T; Y), {name}")
    if n_classes:
        ax.axhline(math.log2(n_classes), color="grey", ls="--", lw=1, label=f"log2 {n_classes}")
    ax.set(xlabel="epoch", ylabel="bits (mean over batches)", title="MOLE: I(T_k; Y) per module")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
