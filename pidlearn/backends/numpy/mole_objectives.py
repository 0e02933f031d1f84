"""MOLE's objectives in NumPy with analytic gradients: matrix-based Rényi α-MI, InfoNCE and the PID goal.

Each objective scores a batch of representations ``T`` (n × d, rows flattened) against integer labels and returns
the value in bits together with ``∂value/∂T`` and the gradients of its own parameters (InfoNCE's critic, the PID
units) — the quantities that torch's autograd gives for :mod:`pidlearn.backends.torch.mole`'s objectives, which these
equal in float64 (``tests/test_numpy_mole.py``).

Rényi α-MI (Sanchez Giraldo, Rao & Príncipe 2015; Yu et al. 2020)
------------------------------------------------------------------
The Gram matrices and the entropy functional are those of :mod:`pidlearn.continuous.renyi` (the core estimator
of both backends; only the gradient is added here). With ``K = exp(−D / (2σ²))``, ``D_ij = ‖t_i − t_j‖²``, the
label kernel ``L_ij = 1[y_i = y_j]`` and ``A = K / tr K``,

    I_α(T; Y) = S_α(A) + S_α(L / tr L) − S_α(K∘L / tr(K∘L)),     S_α(A) = 1/(1−α) log Σ_i λ_i(A)^α.

For ``A = V diag(λ) Vᵀ`` (``eigh``) the derivative of a spectral function is

    ∂S_α/∂A = V diag(f'(λ)) Vᵀ,   f'(λ) = α λ^{α−1} / ((1 − α) Σ_j λ_j^α)

(``f'(λ) = −(log λ + 1)`` at α = 1, and ``∂S_2/∂A = −2A / ‖A‖²_F`` at α = 2); eigenvalues below
``λ_max · N · eps`` count as 0 and get no gradient, as in the value. A Gaussian Gram matrix has ``tr K = N`` with a
constant diagonal, so off the diagonal ``∂I/∂K = (P_A − P_AB ∘ L) / N`` (``P = ∂S/∂A`` of each normalised matrix),
``∂I/∂D = −∂I/∂K ∘ K / (2σ²)`` (zero diagonal) and, with ``G = ∂I/∂D`` (symmetric),

    ∂I/∂T = 4 (diag(G 1) − G) T.

The width ``σ`` (the core's rules; ``"knn"`` on distances from one BLAS product) is computed on the batch and treated
as a constant (the torch code detaches it). ``normalize=True``
scales the rows to unit length first (``∂t̂/∂t = (I − t̂ t̂ᵀ) / ‖t‖``).

InfoNCE (van den Oord, Li & Vinyals 2018)
-----------------------------------------
Critic ``f(t_i, y_j) = ⟨ẑ_i, ê_{y_j}⟩ / τ`` with ``ẑ = normalise(W t + b)`` and ``ê = normalise(E_y)``:

    I_NCE = mean_i [S_ii − log Σ_j exp S_ij + log N] / ln 2,      ∂I_NCE/∂S = (I − softmax_row(S)) / (N ln 2),

then ``∂/∂ẑ = (∂I/∂S) ê / τ``, ``∂/∂ê = (∂I/∂S)ᵀ ẑ / τ`` and back through the normalisations and the projection.

PID goal (Makkeh et al. 2025)
-----------------------------
``n_classes`` infomorphic units (:class:`pidlearn.backends.numpy.neurons.InfomorphicLayer`) read the standardised
``T`` as receptive input and the one-hot label as context; the objective is their mean goal. ``∂G/∂θ`` comes from
the analytic SxPID rule (:func:`pidlearn.backends.numpy.sxpid_goal_gradient`), ``∂G/∂T`` by the chain
``θ = σ(A(r, c))``, ``r = W_R t̂ + b_R`` and the standardisation ``t̂ = (t − μ) / (s + 10⁻⁶)`` (``s`` the
unbiased standard deviation).

References
----------
L. G. Sanchez Giraldo, M. Rao and J. C. Príncipe, "Measures of entropy from data using infinitely divisible
kernels", IEEE Trans. Inf. Theory 61(1), 535–548 (2015).
S. Yu, L. G. Sanchez Giraldo, R. Jenssen and J. C. Príncipe, "Multivariate extension of matrix-based Rényi's
α-order entropy functional", IEEE Trans. Pattern Anal. Mach. Intell. 42(11), 2960–2966 (2020).
S. Yu, F. Alesiani, X. Yu, R. Jenssen and J. C. Príncipe, "Measuring dependence with matrix-based entropy
functional", AAAI 2021.
A. van den Oord, Y. Li and O. Vinyals, "Representation learning with contrastive predictive coding",
arXiv:1807.03748 (2018).
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from pidlearn.backends._settings import check_int
from pidlearn.continuous.renyi import SIGMA_RULES, _entropy_nats, _gaussian_gram, kernel_width

__all__ = [
    "OBJECTIVES",
    "InfoNCE",
    "Objective",
    "PIDGoal",
    "RenyiMI",
    "entropy_gradient",
    "make_objective",
]

OBJECTIVES = ("renyi", "renyi2", "renyi-norm", "infonce", "pid")
_LN2 = math.log(2.0)


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
    return float(alpha)


def _rows(t, name: str = "t") -> np.ndarray:
    t = np.asarray(t)
    if t.ndim == 0:
        raise ValueError(f"{name} must have a sample dimension, got a scalar")
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {t.dtype}")
    if t.dtype.kind != "f":
        t = t.astype(np.float64)
    t = t.reshape(len(t), -1)
    if len(t) < 2:
        raise ValueError(f"{name}: the objectives need a batch of at least 2 samples, got {len(t)}")
    if not np.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def _labels(labels, n: int, n_classes: int | None = None) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim == 2:  # one-hot
        y = y.argmax(1)
    if y.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {y.dtype}")
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    y = y.astype(np.int64)
    if n and y.min() < 0:
        raise ValueError(f"labels must be class indices >= 0, got {int(y.min())}")
    if n_classes is not None and n and y.max() >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1} (n_classes={n_classes}); got up to {int(y.max())}")
    return y


def entropy_gradient(a: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """``S_α(A)`` in nats and ``∂S_α/∂A`` of a symmetric unit-trace PSD matrix, through one ``eigh``.

    The value is that of :func:`pidlearn.continuous.renyi.matrix_entropy` (same eigenvalue cut-off); the
    derivative of the spectral function ``Σ_i f(λ_i)`` is ``V diag(f'(λ)) Vᵀ``.

    Parameters
    ----------
    a : ndarray (n, n)
        Symmetric, unit trace.
    alpha : float

    Returns
    -------
    value : float
    grad : ndarray (n, n), symmetric
    """
    if alpha == 2.0:
        s = float(np.sum(a * a))
        return -math.log(s), (-2.0 / s) * a
    lam, vec = np.linalg.eigh(a)
    keep = lam > lam[-1] * a.shape[0] * np.finfo(np.float64).eps
    lk = np.where(keep, lam, 1.0)
    if alpha == 1.0:
        value = float(-np.sum(np.where(keep, lk * np.log(lk), 0.0)))
        fprime = np.where(keep, -(np.log(lk) + 1.0), 0.0)
    else:
        top = float(lam[-1])
        powers = np.where(keep, (lk / top) ** alpha, 0.0)
        total = float(powers.sum())  # Σ λ^α / top^α
        value = (alpha * math.log(top) + math.log(total)) / (1.0 - alpha)
        fprime = np.where(keep, alpha * (lk / top) ** (alpha - 1.0), 0.0) / ((1.0 - alpha) * total * top)
    return value, (vec * fprime) @ vec.T


class Objective:
    """Interface: :meth:`value_and_grad` returns the objective in bits, ``∂/∂T`` and its parameters' gradients."""

    params: dict

    def __init__(self):
        self.params = {}

    def __call__(self, t, labels) -> float:
        return self.value_and_grad(t, labels, grad=False)[0]

    def value_and_grad(self, t, labels, *, grad: bool = True):  # pragma: no cover - interface
        raise NotImplementedError

    def materialise(self, t) -> None:
        """Size lazy parameters on a batch of representations (before optimisers are made)."""

    def state_dict(self) -> dict:
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state) -> None:
        for k, v in self.params.items():
            v[...] = np.asarray(state[k])


class RenyiMI(Objective):
    """Matrix-based Rényi α MI ``I_α(T; Y)`` (delta kernel on the labels), in bits, with ``∂I/∂T``.

    Parameters
    ----------
    alpha : float, default 1.01
        2 uses the Frobenius form ``S_2 = −log ‖A‖²_F`` (no eigendecomposition).
    sigma : float or {"knn", "silverman", "sqrt_d"}, default "knn"
        Width of the Gaussian kernel (rules of :func:`pidlearn.continuous.renyi.kernel_width`), a constant for the
        gradient.
    n_neighbors : int, default 10
    min_sigma : float, default 1e-3
        Floor of the width (a representation collapsing onto class points drives the k-NN width to 0).
    normalize : bool, default False
        Unit-length rows before the kernel.
    """

    def __init__(self, alpha: float = 1.01, sigma="knn", *, n_neighbors: int = 10, min_sigma: float = 1e-3,
                 normalize: bool = False):  # fmt: skip
        super().__init__()
        self.alpha = _check_alpha(alpha)
        if isinstance(sigma, bool) or not isinstance(sigma, (str, numbers.Real)):
            raise ValueError(f"sigma must be a positive number or one of {SIGMA_RULES}, got {sigma!r}")
        if isinstance(sigma, str) and sigma not in SIGMA_RULES:
            raise ValueError(
                f"sigma must be a positive number or one of {SIGMA_RULES} (the NumPy backend), got {sigma!r}"
            )
        if isinstance(sigma, numbers.Real) and not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be positive and finite, got {sigma!r}")
        self.sigma, self.n_neighbors, self.min_sigma = sigma, int(n_neighbors), float(min_sigma)
        self.normalize = bool(normalize)

    def _width(self, x: np.ndarray) -> float:
        if not isinstance(self.sigma, str):
            return max(float(self.sigma), self.min_sigma)
        try:
            s = kernel_width(x, self.sigma, n_neighbors=self.n_neighbors)
        except ValueError:  # the rule gave 0 (duplicated rows): the floor, as the torch backend
            s = 0.0
        return max(s, self.min_sigma)

    def _gram(self, t: np.ndarray):
        """(Gram matrix, σ, rows seen by the kernel, their norms) in float64."""
        x = t.astype(np.float64, copy=False)
        norms = None
        if self.normalize:
            norms = np.maximum(np.linalg.norm(x, axis=1), 1e-12)
            x = x / norms[:, None]
        if self.sigma != "knn":
            s = self._width(x)
            return _gaussian_gram(x, s, self.n_neighbors), s, x, norms
        # the core's "knn" rule and Gaussian kernel on squared distances from one BLAS product (the core's
        # cKDTree / cdist cost 10× more on a 256 × 3136 batch); equal to gram_matrix(x, "knn") to round-off
        r = np.einsum("ij,ij->i", x, x)
        sq = x @ x.T
        sq *= -2.0
        sq += r[:, None]
        sq += r[None, :]
        np.maximum(sq, 0.0, out=sq)
        np.fill_diagonal(sq, 0.0)
        m = min(self.n_neighbors, len(x) - 1)
        near = np.partition(np.sqrt(sq), m, axis=1)[:, : m + 1]  # the m nearest others and the sample itself (0)
        s = max(float(near.sum() / (m * len(x))), self.min_sigma)
        sq *= -0.5 / (s * s)
        return np.exp(sq, out=sq), s, x, norms

    def _back_to_t(self, dk, k, s, x, norms, dtype) -> np.ndarray:
        """``∂/∂T`` from ``∂/∂K`` (off-diagonal entries of a Gaussian Gram matrix ``K`` of rows ``x``)."""
        gd = dk * k * (-0.5 / (s * s))
        np.fill_diagonal(gd, 0.0)
        gsym = gd + gd.T
        gx = 2.0 * (gsym.sum(1)[:, None] * x - gsym @ x)
        if norms is not None:  # through x = t / ‖t‖
            gx = (gx - x * np.sum(gx * x, axis=1, keepdims=True)) / norms[:, None]
        return gx.astype(dtype, copy=False)

    def value_and_grad(self, t, labels, *, grad: bool = True):
        """``(I_α(T; Y) in bits, ∂I/∂T or None, {})``."""
        t = _rows(t)
        y = _labels(labels, len(t))
        k, s, x, norms = self._gram(t)
        n = len(t)
        lab = (y[:, None] == y[None, :]).astype(np.float64)
        p = np.bincount(y) / n
        p = p[p > 0]
        h_b = float(-np.sum(p * np.log(p))) if self.alpha == 1.0 else math.log(np.sum(p**self.alpha)) / (1 - self.alpha)
        prod = k * lab
        tr_a, tr_ab = np.trace(k), np.trace(prod)
        if not grad:
            mi = _entropy_nats(k / tr_a, self.alpha) + h_b - _entropy_nats(prod / tr_ab, self.alpha)
            return mi / _LN2, None, {}
        h_a, pa = entropy_gradient(k / tr_a, self.alpha)
        h_ab, pab = entropy_gradient(prod / tr_ab, self.alpha)
        dk = (pa / tr_a - (pab / tr_ab) * lab) / _LN2
        return (h_a + h_b - h_ab) / _LN2, self._back_to_t(dk, k, s, x, norms, t.dtype), {}

    def mi_and_grad(self, a, b, *, grad: bool = True):
        """``I_α(A; B)`` in bits with Gaussian kernels on both and ``∂/∂A`` (``B`` constant): the β terms."""
        a, b = _rows(a, "a"), _rows(b, "b")
        if len(a) != len(b):
            raise ValueError(f"a has {len(a)} samples but b has {len(b)}")
        ka, s, x, norms = self._gram(a)
        kb = self._gram(b)[0]
        prod = ka * kb
        tr_a, tr_ab = np.trace(ka), np.trace(prod)
        h_b = _entropy_nats(kb / np.trace(kb), self.alpha)
        if not grad:
            return (_entropy_nats(ka / tr_a, self.alpha) + h_b - _entropy_nats(prod / tr_ab, self.alpha)) / _LN2, None
        h_a, pa = entropy_gradient(ka / tr_a, self.alpha)
        h_ab, pab = entropy_gradient(prod / tr_ab, self.alpha)
        dk = (pa / tr_a - (pab / tr_ab) * kb) / _LN2
        return (h_a + h_b - h_ab) / _LN2, self._back_to_t(dk, ka, s, x, norms, a.dtype)

    def __repr__(self) -> str:
        return f"RenyiMI(alpha={self.alpha}, sigma={self.sigma!r}, n_neighbors={self.n_neighbors}, " + (
            f"normalize={self.normalize}, backend='numpy')"
        )


def _normalise(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return v / norm, norm


def _normalise_back(g: np.ndarray, u: np.ndarray, norm: np.ndarray) -> np.ndarray:
    return (g - u * np.sum(g * u, axis=1, keepdims=True)) / norm


class InfoNCE(Objective):
    """InfoNCE lower bound on I(T; Y) with a learned bilinear critic ``⟨ẑ(t), ê_y⟩ / τ``, in bits (≤ log2 N).

    Parameters (``project.weight`` (dim, d) and ``project.bias``, sized on the first batch with torch's
    ``U(±1/√d)``; ``embed.weight`` (n_classes, dim) from ``N(0, 1)``) train with the module.

    Parameters
    ----------
    n_classes : int
    dim : int, default 64
    temperature : float, default 0.1
    seed : int or numpy.random.Generator, optional
    """

    def __init__(self, n_classes: int, dim: int = 64, temperature: float = 0.1, *, seed=None):
        super().__init__()
        n_classes = check_int("n_classes", n_classes, 2)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.n_classes, self.dim, self.temperature = int(n_classes), int(dim), float(temperature)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.params = {"embed.weight": self.rng.standard_normal((self.n_classes, self.dim)).astype(np.float32)}

    def materialise(self, t) -> None:
        t = np.asarray(t)
        d = int(np.prod(t.shape[1:]))
        if "project.weight" not in self.params:
            bound = 1.0 / math.sqrt(d)
            dt = t.dtype if t.dtype.kind == "f" else np.float32
            self.params = {
                "project.weight": self.rng.uniform(-bound, bound, (self.dim, d)).astype(dt),
                "project.bias": self.rng.uniform(-bound, bound, self.dim).astype(dt),
                "embed.weight": self.params["embed.weight"].astype(dt),
            }
        elif self.params["project.weight"].shape[1] != d:
            raise ValueError(
                f"t has {d} features but the critic was sized for {self.params['project.weight'].shape[1]}"
            )

    def value_and_grad(self, t, labels, *, grad: bool = True):
        t = _rows(t)
        y = _labels(labels, len(t), self.n_classes)
        self.materialise(t)
        w, b, emb = self.params["project.weight"], self.params["project.bias"], self.params["embed.weight"]
        n, tau = len(t), self.temperature
        z, zn = _normalise(t @ w.T + b)
        e, en = _normalise(emb[y])
        scores = z @ e.T / tau
        m = scores.max(1, keepdims=True)
        ex = np.exp(scores - m)
        lse = m[:, 0] + np.log(ex.sum(1))
        value = float(np.mean(np.diagonal(scores) - lse) + math.log(n)) / _LN2
        if not grad:
            return value, None, {}
        ds = -(ex / ex.sum(1, keepdims=True))
        ds[np.arange(n), np.arange(n)] += 1.0
        ds /= n * _LN2
        gz = _normalise_back(ds @ e / tau, z, zn)
        ge = _normalise_back(ds.T @ z / tau, e, en)
        g_emb = np.zeros_like(emb)
        np.add.at(g_emb, y, ge)
        grads = {"project.weight": gz.T @ t, "project.bias": gz.sum(0), "embed.weight": g_emb}
        return value, (gz @ w).astype(t.dtype, copy=False), grads

    def __repr__(self) -> str:
        return f"InfoNCE(n_classes={self.n_classes}, dim={self.dim}, temperature={self.temperature}, backend='numpy')"


class PIDGoal(Objective):
    """Mean PID goal of binary units reading ``T`` with the label as context (bits), with ``∂G/∂T``.

    The units are a :class:`pidlearn.backends.numpy.neurons.InfomorphicLayer` sized on the first batch (parameters
    ``units.<name>``, the torch layer's names); the default is the readout of the infomorphic papers: one unit per
    class, ``θ = σ(r)`` (``k1 = 1``), the label through fixed identity context weights, goal ``"readout"``.

    Parameters
    ----------
    n_classes : int
    goal : str or mapping, default "readout"
    n_units : int, optional
        Units on top of ``T`` (default ``n_classes``; ``"readout"`` needs ``n_classes``).
    standardize : bool, default True
        Standardise every feature of ``T`` over the batch (gradient through the mean and standard deviation).
    seed : int or numpy.random.Generator, optional
        Initialisation of the units and their sampling.
    **layer_kwargs
        Passed to the layer (``n_bins``, ``binning``, ``activation``, ...).
    """

    def __init__(self, n_classes: int, goal="readout", *, n_units: int | None = None, standardize: bool = True,
                 seed=None, **layer_kwargs):  # fmt: skip
        super().__init__()
        n_classes = check_int("n_classes", n_classes, 2)
        from pidlearn.goals import goal_vector

        goal_vector(goal, 2)  # a bad goal fails here, not on the first batch
        self.n_classes, self.goal = int(n_classes), goal
        self.n_units = int(n_units or n_classes)
        if goal == "readout":
            if self.n_units != self.n_classes:
                raise ValueError(f"goal 'readout' has one unit per class: n_units must be {n_classes}, got {n_units}")
            layer_kwargs = {"activation_kwargs": {"k1": 1.0}, "context_identity": True, **layer_kwargs}
        self.layer_kwargs = layer_kwargs
        self.standardize = bool(standardize)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.units = None

    def materialise(self, t) -> None:
        from pidlearn.backends.numpy.neurons import InfomorphicLayer

        t = np.asarray(t)
        d = int(np.prod(t.shape[1:]))
        if self.units is None:
            dt = t.dtype if t.dtype.kind == "f" else np.float32
            self.units = InfomorphicLayer(
                d, self.n_classes, self.n_units, goal=self.goal, seed=self.rng, dtype=dt, **self.layer_kwargs
            )
            self.params = {f"units.{k}": v for k, v in self.units.params.items()}
        elif d != self.units.n_receptive:
            raise ValueError(f"t has {d} features but the units were sized for {self.units.n_receptive}")

    def value_and_grad(self, t, labels, *, grad: bool = True):
        t = _rows(t)
        y = _labels(labels, len(t), self.n_classes)
        self.materialise(t)
        layer = self.units
        x = t.astype(layer.dtype, copy=False)
        if self.standardize:
            c = x - x.mean(0)
            sd = np.sqrt(np.sum(c * c, axis=0) / (len(x) - 1))
            x = c / (sd + 1e-6)
        layer.forward(x, np.eye(self.n_classes, dtype=layer.dtype)[y])
        res = layer._goal_gradient(all_atoms=False)
        value = float(res.goal.mean())
        if not grad:
            return value, None, {}
        last = layer._last
        delta = res.dtheta * last["dtheta_da"] / self.n_units  # ∂(mean G)/∂A, (batch, units)
        gx = (delta * last["d_inputs"][0]) @ layer.params["receptive.weight"].astype(np.float64)
        if self.standardize:  # through x̂ = (t − μ) / (s + 1e-6)
            s = sd + 1e-6
            dot = np.sum(gx * c, axis=0)
            gx = (gx - gx.mean(0)) / s - c * dot / (s * s * (len(x) - 1) * np.where(sd > 0, sd, np.inf))
        grads = {f"units.{k}": v / self.n_units for k, v in layer.gradients().items()}
        return value, gx.astype(t.dtype, copy=False), grads

    def __repr__(self) -> str:
        return f"PIDGoal(n_classes={self.n_classes}, n_units={self.n_units}, goal={self.goal!r}, backend='numpy')"


def make_objective(objective, n_classes: int | None = None, *, seed=None) -> Objective:
    """An objective from its name (as :func:`pidlearn.backends.torch.mole.make_objective`), or an objective as is.

    ``"renyi"``: Rényi α = 1.01, k-NN width; ``"renyi2"``: α = 2; ``"renyi-norm"``: α = 1.01 on unit-length rows;
    ``"infonce"``: :class:`InfoNCE` (needs ``n_classes``); ``"pid"``: :class:`PIDGoal` (needs ``n_classes``).
    """
    if isinstance(objective, Objective):
        return objective
    if objective == "renyi":
        return RenyiMI(1.01)
    if objective == "renyi2":
        return RenyiMI(2.0)
    if objective == "renyi-norm":
        return RenyiMI(1.01, normalize=True)
    if objective in ("infonce", "pid"):
        if n_classes is None:
            raise ValueError(f"objective {objective!r} needs n_classes")
        return InfoNCE(n_classes, seed=seed) if objective == "infonce" else PIDGoal(n_classes, seed=seed)
    raise ValueError(
        f"objective must be one of {OBJECTIVES} or a pidlearn.backends.numpy.mole_objectives.Objective, got "
        f"{objective!r}"
    )
