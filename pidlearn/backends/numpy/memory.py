"""Infomorphic associative memory (Blümel et al. 2025) in NumPy, with its analytic local rule; no torch.

NumPy twin of :mod:`pidlearn.backends.torch.memory` (same classes, functions, arguments and defaults).

``N`` binary neurons store ``P`` patterns ``ξ ∈ {−1, +1}^N``. Neuron ``i`` has a receptive input, the pattern's own
bit ``x_i`` (``r_i = a_i x_i + b_i``), and a context, the other neurons' previous state ``s`` (``c_i = Σ_{j≠i} W_ij
s_j + d_i``); it fires with ``θ_i = σ(β (r_i + c_i))`` (the sum activation, clamped to ``[1e-6, 1 − 1e-6]``) and
maximises its goal (preset ``memory``: the redundancy ``Π({1}{2})`` of its output with R and C)

    G_i = Σ_α γ_α Π_i(α) + γ_res H_res,i,

on the batch of all patterns with ``s = ξ``, so that the context learns to predict the bit the input would give.

The local rule
--------------
:func:`pidlearn.backends.numpy.local_rule.sxpid_goal_gradient` gives ``∂G_i/∂θ_{p,i}`` for every pattern ``p``
exactly (the bins carry no gradient). With ``δ_{p,i} = ∂G_i/∂θ_{p,i} · θ_{p,i} (1 − θ_{p,i}) · β`` (zero where the
clamp is active) the chain rule through ``A = β (r + c)`` and the linear drives gives, for neuron ``i`` only,

    ∂G_i/∂a_i = Σ_p δ_{p,i} x_{p,i},   ∂G_i/∂b_i = ∂G_i/∂d_i = Σ_p δ_{p,i},   ∂G_i/∂W_ij = Σ_p δ_{p,i} s_{p,j} (j ≠ i).

Training is full-batch Adam (lr 0.05) on ``−Σ_i G_i``, as in the torch backend; the gradients equal torch autograd
to 1e-8 (relative, float64).

Recall: the input is switched off (``x = 0``) and the state is updated synchronously from the cue,
``s ← sign(b + c(s))``, until it stops changing, returns to its state two steps back, or for at most ``N`` steps.
A pattern counts as recalled when the final state is a fixed point with cosine similarity ``≥ 0.95`` to it; the
recall accuracy ``a_cos`` is the cosine similarity averaged over the stored patterns. The Hopfield network
(Hebbian ``W = ξᵀξ / N``, zero diagonal) is scored the same way; :func:`recall_capacity` follows the authors'
protocol (:mod:`pidlearn.backends._capacity`).

The authors' setup (receptive weight fixed at ``a = 2.3`` without bias, 60 fixed bins on ``[−20, 20]``:
``input_weight=2.3, binning="fixed", n_bins=60``) stores 1.5 / 1.6 / 1.7 N patterns (seeds 0, 1, 2; at most 1000
steps), the paper's 1.59 N (over ten times the Hopfield network's 0.138 N); see the torch module for the
measurements of each ingredient.

References
----------
Blümel et al., infomorphic associative memory, arXiv:2511.02584 (2025).
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
J. J. Hopfield, "Neural networks and physical systems with emergent collective computational abilities",
PNAS 79, 2554 (1982).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pidlearn.backends._capacity import capacity_sweep, recall_scores
from pidlearn.backends._settings import (
    NON_FINITE_DRIVES,
    as_generator,
    check_callback,
    check_epochs,
    check_finite_number,
    check_int,
    check_learning_rate,
    check_memory,
    check_patterns,
    check_seed,
    table_size,
)
from pidlearn.backends.numpy.activations import firing_probability
from pidlearn.backends.numpy.binning import adaptive_bins, check_n_bins, fixed_bins
from pidlearn.backends.numpy.local_rule import GoalGradient, _goal_gradient, atom_names, goal_weights
from pidlearn.backends.numpy.train import Adam
from pidlearn.goals import RESIDUAL

__all__ = ["InfomorphicMemory", "MemoryUpdate", "hopfield_weights", "random_patterns", "recall", "recall_capacity"]


def random_patterns(n_patterns: int, n_neurons: int, seed: int = 0) -> np.ndarray:
    """``P`` random patterns in {−1, +1}^N (float32), reproducible from ``seed`` (NumPy's generator, so not the
    torch backend's draws)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, (n_patterns, n_neurons)).astype(np.float32) * 2.0 - 1.0


class MemoryUpdate(NamedTuple):
    """Result of :meth:`InfomorphicMemory.local_update` on one batch.

    Attributes
    ----------
    grads : dict of str -> ndarray
        ``∂G_i/∂p`` (ascent direction) for every trainable parameter (:attr:`InfomorphicMemory.params`).
    goal : ndarray (N,)
        ``G_i`` in bits.
    atoms : ndarray (N, 4)
        SxPID atoms in bits, lattice order ``{1}{2}, {1}, {2}, {12}``.
    residual_entropy : ndarray (N,)
    theta : ndarray (batch, N)
    """

    grads: dict
    goal: np.ndarray
    atoms: np.ndarray
    residual_entropy: np.ndarray
    theta: np.ndarray


def _as_float_array(x, name: str, dtype) -> np.ndarray:
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {x.dtype}")
    return x.astype(dtype, copy=False)


class InfomorphicMemory:
    """Recurrent infomorphic memory of ``n_neurons`` binary neurons (see the module docstring), trained by the
    analytic local rule.

    Parameters
    ----------
    n_neurons : int
    goal : str or mapping, default "memory"
        Two-source goal (1 = own input bit, 2 = recurrent context).
    beta : float, default 1.0
        Gain of the sum activation.
    n_bins : int, default 20
        Bins of r and of c.
    input_weight : float, optional
        ``None`` (default): the receptive gain ``a`` (started at 1) and bias ``b`` are trained. A number: ``a`` is
        fixed at that value and ``b`` at 0, as in the authors' code (2.3).
    binning : {"adaptive", "fixed"}, default "adaptive"
        ``"adaptive"``: per neuron, scaled by the batch maximum of ``|x|``; ``"fixed"``: ``n_bins`` equal bins on
        ``[−bin_range, bin_range]`` (the authors': 60 bins on ``[−20, 20]``).
    bin_range : float, default 20.0
        Half-width of the fixed bins' range.
    seed : int or numpy.random.Generator, optional
        Initial recurrent weights ``W ~ N(0, 1) / N`` (the torch backend draws them from torch's global generator).
    dtype : numpy dtype, default float32
        Dtype of the parameters and the forward pass (the goal and its gradient are computed in float64).

    Attributes
    ----------
    params : dict of str -> ndarray
        The trainable parameters (``weight``, ``context_bias`` and, without ``input_weight``, ``input_weight`` and
        ``input_bias``), updated in place by :meth:`fit`.

    Examples
    --------
    >>> mem = InfomorphicMemory(40, input_weight=2.3, binning="fixed", n_bins=60, seed=0)
    >>> patterns = random_patterns(20, 40, seed=1)
    >>> history = mem.hebbian_init_(patterns).fit(patterns, epochs=50)
    >>> bool(recall(mem.step, patterns).all())
    True
    """

    def __init__(
        self,
        n_neurons: int,
        *,
        goal="memory",
        beta: float = 1.0,
        n_bins: int = 20,
        input_weight: float | None = None,
        binning: str = "adaptive",
        bin_range: float = 20.0,
        seed=None,
        dtype=np.float32,
    ):
        n_neurons = check_int("n_neurons", n_neurons, 2)
        if binning not in ("adaptive", "fixed"):
            raise ValueError(f"binning must be 'adaptive' or 'fixed', got {binning!r}")
        n = self.n_neurons = int(n_neurons)
        self.n_bins = check_n_bins(n_bins)
        self.beta = check_finite_number("beta", beta)
        self.binning = binning
        self.bin_range = check_finite_number("bin_range", bin_range, positive=True)
        if input_weight is not None:
            input_weight = check_finite_number("input_weight", input_weight)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a float dtype, got {self.dtype}")
        size = table_size((self.n_bins, self.n_bins))
        check_memory(
            n * size * 2 * 2 * 8, f"{n} neurons × {size} table slots (n_bins² + 2 n_bins) × 2 tables × 2 × 8 bytes"
        )
        self.goal = goal if isinstance(goal, str) else dict(goal)
        self.gamma, self.gamma_res, self._w, self._w_total = goal_weights(goal, 2)
        rng = as_generator(seed)
        self.trainable_input = input_weight is None
        self.input_weight = np.full(n, 1.0 if input_weight is None else input_weight, dtype=self.dtype)
        self.input_bias = np.zeros(n, dtype=self.dtype)
        # small random recurrent weights: with W = 0 the context is constant, the redundancy is identically 0 and
        # its gradient vanishes (a stationary point the neurons never leave)
        self.weight = (rng.standard_normal((n, n)) / n).astype(self.dtype)
        self.context_bias = np.zeros(n, dtype=self.dtype)
        self.mask = (1.0 - np.eye(n)).astype(self.dtype)
        self.params: dict[str, np.ndarray] = {"weight": self.weight, "context_bias": self.context_bias}
        if self.trainable_input:
            self.params = {"input_weight": self.input_weight, "input_bias": self.input_bias, **self.params}

    # --------------------------------------------------------------------------------------------------------------
    def _check_patterns(self, patterns, name: str = "patterns") -> np.ndarray:
        return check_patterns(_as_float_array(patterns, name, self.dtype), self.n_neurons, name)

    def hebbian_init_(self, patterns) -> InfomorphicMemory:
        """Set the recurrent weights to the Hebbian ``ξᵀξ / N`` of ``patterns`` (zero diagonal); returns ``self``."""
        self.weight[...] = hopfield_weights(self._check_patterns(patterns))
        return self

    def context(self, state) -> np.ndarray:
        """``c = s Wᵀ + d`` with the diagonal of ``W`` masked (no self-connections)."""
        return state @ (self.weight * self.mask).T + self.context_bias

    def forward(self, x, state) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """θ (batch, N) and the inputs ``(r, c)`` for the goal."""
        x = _as_float_array(x, "x", self.dtype)
        state = _as_float_array(state, "state", self.dtype)
        if x.shape != state.shape or x.ndim != 2 or x.shape[1] != self.n_neurons:
            raise ValueError(
                f"x and state must both have shape (batch, {self.n_neurons}), got {x.shape} and {state.shape}"
            )
        if len(x) == 0:
            raise ValueError("x is an empty batch (0 samples); the goal needs at least one sample")
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf inputs: the clear error below
            r = self.input_weight * x + self.input_bias
            c = self.context(state)
        if not (np.isfinite(r).all() and np.isfinite(c).all()):
            raise ValueError(NON_FINITE_DRIVES)
        theta, _ = firing_probability(self.beta * (r + c))
        return theta, (r, c)

    __call__ = forward

    def bins(self, r, c) -> np.ndarray:
        """Bin indices (batch, N, 2) of ``r`` and ``c``."""
        if self.binning == "fixed":
            cols = [fixed_bins(v, self.n_bins, -self.bin_range, self.bin_range) for v in (r, c)]
        else:
            cols = [adaptive_bins(v, self.n_bins) for v in (r, c)]
        return np.stack(cols, axis=-1)

    def _rule(self, x, state, all_atoms: bool) -> tuple[GoalGradient, np.ndarray, dict]:
        x = _as_float_array(x, "x", self.dtype)
        state = _as_float_array(state, "state", self.dtype)
        theta, (r, c) = self.forward(x, state)
        a = self.beta * (r + c)
        _, dtheta_da = firing_probability(a)
        res = _goal_gradient(
            np.ascontiguousarray(theta, dtype=np.float64),
            self.bins(r, c),
            (self.n_bins, self.n_bins),
            self.gamma,
            self.gamma_res,
            self._w,
            self._w_total,
            all_atoms,
        )
        delta = (res.dtheta * dtheta_da * self.beta).astype(self.dtype, copy=False)  # ∂G/∂r = ∂G/∂c, (batch, N)
        d_sum = delta.sum(axis=0)
        g_w = delta.T @ state
        np.fill_diagonal(g_w, 0.0)
        grads = {"weight": g_w, "context_bias": d_sum}
        if self.trainable_input:
            grads = {"input_weight": (delta * x).sum(axis=0), "input_bias": d_sum.copy(), **grads}
        return res, theta, grads

    def local_update(self, x, state) -> MemoryUpdate:
        """Every neuron's goal on the batch and its analytic gradient with respect to its own parameters.

        Nothing is changed; :meth:`fit` feeds ``−grads`` to Adam.
        """
        res, theta, grads = self._rule(x, state, True)
        return MemoryUpdate(grads, res.goal, res.atoms, res.residual_entropy, theta)

    def gradients(self, x, state) -> dict[str, np.ndarray]:
        """``∂G_i/∂p`` of every trainable parameter on the batch (ascent direction)."""
        return self._rule(x, state, False)[2]

    def pid(self, x, state) -> GoalGradient:
        """Goal, atoms (N, 4), H_res (N,) and ``∂G/∂θ`` of each neuron on the batch."""
        return self._rule(x, state, True)[0]

    def loss(self, pid) -> float:
        """``−Σ_i G_i`` from :meth:`pid` (any object with ``atoms`` and ``residual_entropy``)."""
        return -float((np.asarray(pid.atoms) @ self.gamma + self.gamma_res * np.asarray(pid.residual_entropy)).sum())

    def fit(self, patterns, *, epochs: int = 100, lr: float = 0.05, callback=None) -> list[dict]:
        """Full-batch Adam on the goal, at most ``epochs`` steps (a positive int; ``lr`` positive); returns the mean
        atoms per step.

        ``callback(epoch)``, if given, is called after each step (``epoch`` counts from 1); training stops when it
        returns true (the capacity sweep's early stop).
        """
        epochs, lr = check_epochs(epochs), check_learning_rate("lr", lr)
        patterns = self._check_patterns(patterns)
        check_callback(callback)
        opt = Adam(self.params, lr=lr)
        names = [*atom_names(2), RESIDUAL]
        history = []
        for epoch in range(1, epochs + 1):
            upd = self.local_update(patterns, patterns)
            opt.step({k: -g for k, g in upd.grads.items()})
            mean = np.append(upd.atoms.mean(0), upd.residual_entropy.mean())
            history.append({"epoch": epoch, "atoms": dict(zip(names, mean.tolist(), strict=True))})
            if callback is not None and callback(epoch):
                break
        return history

    def step(self, state) -> np.ndarray:
        """One synchronous recall step with the input off: ``s ← sign(β (b + c(s)))`` (ties → +1)."""
        a = self.input_bias + self.context(state)
        return np.where(a >= 0, 1.0, -1.0).astype(self.dtype)

    # --------------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of ``input_weight``, ``input_bias``, ``weight`` and ``context_bias`` (the torch module's keys)."""
        return {k: getattr(self, k).copy() for k in ("input_weight", "input_bias", "weight", "context_bias")}

    def load_state_dict(self, state) -> None:
        """Set the parameters in place (e.g. from a torch memory's ``state_dict`` as NumPy arrays)."""
        keys = ("input_weight", "input_bias", "weight", "context_bias")
        missing = [k for k in keys if k not in state]
        if missing:
            raise KeyError(f"state lacks {missing}")
        arrays = {k: np.asarray(state[k]) for k in keys}
        for k, arr in arrays.items():
            if arr.shape != getattr(self, k).shape:
                raise ValueError(f"{k}: expected shape {getattr(self, k).shape}, got {arr.shape}")
        for k, arr in arrays.items():
            getattr(self, k)[...] = arr

    def __repr__(self) -> str:
        return (
            f"InfomorphicMemory(n_neurons={self.n_neurons}, goal={self.goal!r}, beta={self.beta}, "
            f"n_bins={self.n_bins}, binning={self.binning!r}, trainable_input={self.trainable_input}, backend='numpy')"
        )


def hopfield_weights(patterns) -> np.ndarray:
    """Hebbian weights ``W = ξᵀ ξ / N`` with zero diagonal."""
    patterns = np.asarray(patterns)
    w = patterns.T @ patterns / patterns.shape[1]
    np.fill_diagonal(w, 0.0)
    return w


def _cue(patterns, noise: float, seed: int) -> np.ndarray:
    """``patterns`` with each bit flipped with probability ``noise`` (NumPy's generator seeded with ``seed``)."""
    if noise <= 0:
        return patterns.copy()
    rng = np.random.default_rng(seed)
    return np.where(rng.random(patterns.shape) < noise, -patterns, patterns).astype(patterns.dtype)


def recall(step, patterns, *, n_steps: int | None = None, noise: float = 0.0, seed: int = 0, threshold: float = 0.95):
    """Which patterns are recalled: iterate ``step`` from each (optionally noisy) pattern.

    Parameters
    ----------
    step : callable
        ``state (P, N) -> next state (P, N)``.
    patterns : array (P, N) in {−1, +1}
    n_steps : int, optional
        Most synchronous updates (default ``N``); the batch stops earlier at a fixed point or a two-cycle.
    noise : float
        Fraction of bits of the cue flipped at random.

    Returns
    -------
    bool ndarray (P,): the final state is a fixed point with cosine similarity ``≥ threshold`` to its pattern.
    """
    patterns = np.asarray(patterns)
    n = patterns.shape[1]
    fixed, overlap = recall_scores(step, patterns, _cue(patterns, noise, seed), n if n_steps is None else n_steps)
    return fixed & (overlap >= threshold * n)


def recall_capacity(
    n_neurons: int = 100,
    pattern_counts=None,
    *,
    epochs: int = 100,
    lr: float = 0.05,
    min_accuracy: float = 0.95,
    early_stop: bool = True,
    interrupt: bool = True,
    seed: int = 0,
    noise: float = 0.0,
    init: str = "hebbian",
    input_weight: float | None = None,
    binning: str = "adaptive",
    n_bins: int = 20,
) -> dict:
    """Recall of the infomorphic memory and of a Hopfield network for several numbers of random patterns.

    The authors' protocol (:mod:`pidlearn.backends._capacity`): for each pattern count ``P`` (default ``0.1 N,
    0.2 N, …, 2 N``) a fresh memory is trained on fresh patterns (seed ``seed + P``) for at most ``epochs`` steps,
    stopped early once its recall accuracy ``a_cos`` (cosine similarity of the final state with the pattern,
    averaged over patterns) reaches ``min_accuracy`` at one of 15 log-spaced checkpoints (``early_stop``);
    ``interrupt`` ends the sweep at the first count that fails.

    Returns
    -------
    dict with ``rows`` (per pattern count: ``accuracy`` (``a_cos``) and ``recalled`` (fraction of patterns whose
    final state is a fixed point with cosine ``≥ 0.95``) of each network, the steps trained and the infomorphic
    memory's mean atoms), ``capacity`` / ``hopfield_capacity`` (the largest count before the first with ``a_cos <
    min_accuracy``, divided by ``N``; 0 when the first fails) and the settings.

    ``init="hebbian"`` starts each memory's recurrent weights from the Hebbian matrix of its patterns
    (:meth:`InfomorphicMemory.hebbian_init_`), ``"random"`` from small random weights. ``input_weight``,
    ``binning`` and ``n_bins`` go to :class:`InfomorphicMemory`; the authors' setup is ``input_weight=2.3,
    binning="fixed", n_bins=60`` (with ``epochs=1000``: 1.5, 1.6 and 1.7 N for seeds 0, 1, 2; see the torch module).
    """

    def new_memory():
        return InfomorphicMemory(n_neurons, input_weight=input_weight, binning=binning, n_bins=n_bins, seed=seed)

    seed = check_seed(seed)
    return capacity_sweep(
        n_neurons,
        pattern_counts,
        new_memory=new_memory,
        random_patterns=random_patterns,
        hopfield_weights=hopfield_weights,
        hopfield_step=lambda w: lambda s: np.where(s @ w.T >= 0, 1.0, -1.0).astype(s.dtype),
        cue=_cue,
        epochs=epochs,
        lr=lr,
        min_accuracy=min_accuracy,
        early_stop=early_stop,
        interrupt=interrupt,
        seed=seed,
        noise=noise,
        init=init,
        input_weight=input_weight,
        binning=binning,
        n_bins=n_bins,
    )
