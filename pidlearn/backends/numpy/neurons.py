"""``InfomorphicLayer`` in NumPy: infomorphic neurons whose weight changes come from an analytic local rule.

The layer has the parameters of :class:`pidlearn.backends.torch.layers.InfomorphicLayer` under the same names
(``receptive.weight`` (neurons, n_R), ``receptive.bias``, ``context.weight`` / ``context.bias`` or
``context_bias`` with identity context weights, ``lateral_map.weight`` / ``lateral_map.bias``), the same
activations, binning and goals. :meth:`InfomorphicLayer.local_update` returns ``∂G_j/∂(weights, biases)`` of every
neuron ``j`` from its own batch: ``∂G/∂θ`` from :func:`.local_rule.sxpid_goal_gradient`, chained through
``θ = σ(A(r, c[, l]))`` to ``r = w_R·x_R + b_R`` etc. Row ``j`` of every weight matrix depends only on neuron ``j``'s
inputs, output and goal — the rule is local.

References
----------
A. Makkeh, M. Graetz, A. C. Schneider, D. A. Ehrlich, V. Priesemann and M. Wibral, "A general framework for
interpretable neural learning based on local information-theoretic goal functions", PNAS (2025), arXiv:2306.02149.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from pidlearn.backends._settings import NON_FINITE_DRIVES, as_generator, layer_settings
from pidlearn.backends.numpy import activations as _act
from pidlearn.backends.numpy.binning import adaptive_bins, fixed_bins
from pidlearn.backends.numpy.local_rule import _goal_gradient_columns, atom_names, goal_weights
from pidlearn.goals import RESIDUAL

__all__ = ["InfomorphicLayer", "LocalUpdate"]


class LocalUpdate(NamedTuple):
    """Result of :meth:`InfomorphicLayer.local_update` on one batch.

    Attributes
    ----------
    grads : dict of str -> ndarray
        ``∂G_j/∂p`` for every parameter ``p`` (same names and shapes as :attr:`InfomorphicLayer.params`; row ``j``
        of a weight matrix and entry ``j`` of a bias belong to neuron ``j``). Plain local learning is
        ``p += lr * grads[name]``; the trainer feeds ``−grads`` to Adam.
    goal : ndarray (neurons,)
        ``G_j`` in bits.
    atoms : ndarray (neurons, n_atoms)
        SxPID atoms in bits, lattice order.
    residual_entropy : ndarray (neurons,)
    theta : ndarray (batch, neurons)
        Firing probabilities of the batch (the pass that entered the goal).
    y : ndarray (batch, neurons)
        Samples in {−1, +1} of that pass (what the next layer sees).
    """

    grads: dict
    goal: np.ndarray
    atoms: np.ndarray
    residual_entropy: np.ndarray
    theta: np.ndarray
    y: np.ndarray


def _uniform(rng, fan_in: int, shape, dtype) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(dtype)


class InfomorphicLayer:
    """A layer of infomorphic neurons with receptive (R), context (C) and optional lateral (L) inputs, no torch.

    Parameters are those of :class:`pidlearn.backends.torch.layers.InfomorphicLayer` (``n_receptive``,
    ``n_context``, ``n_neurons``, ``goal``, ``lateral``, ``activation``, ``activation_kwargs``, ``binning``,
    ``n_bins``, ``bin_range``, ``context_identity``, ``context_no_self``), plus:

    Parameters
    ----------
    seed : int or numpy.random.Generator, optional
        Initialisation (``U(±1/√fan_in)`` for weights and biases, as ``torch.nn.Linear``) and default sampling.
    dtype : numpy dtype, default float32
        Dtype of the parameters and of the forward pass (the goal and its gradient are computed in float64).

    Examples
    --------
    >>> layer = InfomorphicLayer(784, 10, 100, goal="context_heuristic", seed=0)
    >>> rng = np.random.default_rng(0)
    >>> upd = layer.local_update(rng.normal(size=(64, 784)), np.eye(10)[rng.integers(10, size=64)])
    >>> upd.grads["receptive.weight"].shape, upd.atoms.shape
    ((100, 784), (100, 4))
    """

    def __init__(
        self,
        n_receptive: int,
        n_context: int,
        n_neurons: int,
        *,
        goal="context_heuristic",
        lateral: bool = False,
        activation: str | None = None,
        activation_kwargs: dict | None = None,
        binning: str | None = None,
        n_bins: int = 20,
        bin_range: float = 20.0,
        context_identity: bool = False,
        context_no_self: bool = False,
        seed=None,
        dtype=np.float32,
    ):
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
        self._activation_value = functools.partial(_act.VALUES[self.activation], **self._activation.keywords)
        self.goal = goal if isinstance(goal, str) else dict(goal)
        self.gamma, self.gamma_res, self._w, self._w_total = goal_weights(goal, self.n_sources)
        self.context_identity = bool(context_identity)
        self.context_no_self = bool(context_no_self)
        if self.context_identity and n_context != n_neurons:
            raise ValueError(
                f"context_identity needs as many context inputs as neurons, got {n_context} and {n_neurons}"
            )
        if self.context_no_self and (self.context_identity or n_context != n_neurons):
            raise ValueError(
                "context_no_self needs a learned context of the layer's own samples (n_context == n_neurons, "
                f"context_identity=False), got n_context={n_context}, n_neurons={n_neurons}"
            )
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a float dtype, got {self.dtype}")
        self.rng = as_generator(seed)
        n, dt, rng = self.n_neurons, self.dtype, self.rng
        params = {
            "receptive.weight": _uniform(rng, n_receptive, (n, n_receptive), dt),
            "receptive.bias": _uniform(rng, n_receptive, (n,), dt),
        }
        if self.context_identity:
            params["context_bias"] = np.zeros(n, dtype=dt)
        else:
            params["context.weight"] = _uniform(rng, n_context, (n, n_context), dt)
            params["context.bias"] = _uniform(rng, n_context, (n,), dt)
            if self.context_no_self:
                np.fill_diagonal(params["context.weight"], 0.0)
        if self.lateral:
            params["lateral_map.weight"] = _uniform(rng, n, (n, n), dt)
            np.fill_diagonal(params["lateral_map.weight"], 0.0)
            params["lateral_map.bias"] = _uniform(rng, n, (n,), dt)
        #: The trainable parameters by name (same names as the torch layer's ``state_dict``).
        self.params: dict[str, np.ndarray] = params
        self._last: dict | None = None

    # --------------------------------------------------------------------------------------------------------------
    def _check_input(self, x, size: int, name: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != size:
            raise ValueError(f"{name} must have shape (batch, {size}), got {x.shape}")
        if not np.issubdtype(x.dtype, np.number):
            raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
        return x.astype(self.dtype, copy=False)

    def _weight(self, name: str) -> np.ndarray:
        w = self.params[name]
        if (name == "context.weight" and self.context_no_self) or name == "lateral_map.weight":
            w = w.copy()
            np.fill_diagonal(w, 0.0)  # no self-connection (kept zero by the masked update as well)
        return w

    def forward(self, x_receptive, x_context, x_lateral=None, *, rng=None, steps: int = 1):
        """Firing probabilities and samples for one batch (as the torch layer's ``forward``).

        Parameters
        ----------
        x_receptive : array (batch, n_receptive)
        x_context : array (batch, n_context)
        x_lateral : array (batch, n_neurons), optional
            Lateral layers: the layer's previous samples (zeros when omitted).
        rng : numpy.random.Generator, optional
            Random source of the samples (default: the layer's own).
        steps : int, default 1
            Lateral layers: passes, each with the previous pass's samples as lateral input; only the last pass
            enters the goal (the papers' trivariate layer uses 2).

        Returns
        -------
        theta : ndarray (batch, n_neurons)
        y : ndarray (batch, n_neurons), samples in {−1, +1}
        """
        rng = self.rng if rng is None else rng
        x_r = self._check_input(x_receptive, self.n_receptive, "x_receptive")
        x_c = self._check_input(x_context, self.n_context, "x_context")
        if x_r.shape[0] != x_c.shape[0]:
            raise ValueError(f"x_receptive has {x_r.shape[0]} samples but x_context has {x_c.shape[0]}")
        p = self.params
        r = x_r @ p["receptive.weight"].T + p["receptive.bias"]
        if self.context_identity:
            c = x_c + p["context_bias"]
        else:
            c = x_c @ self._weight("context.weight").T + p["context.bias"]
        if not (np.isfinite(r).all() and np.isfinite(c).all()):
            raise ValueError(NON_FINITE_DRIVES)
        if not self.lateral:
            a, d_inputs = self._activation(r, c)
            inputs, x_l = (r, c), None
        else:
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
                raise ValueError(f"steps must be a positive int, got {steps!r}")
            y = None  # lateral input 0: l = b_L, without multiplying zeros by the lateral weights
            if x_lateral is not None:
                y = self._check_input(x_lateral, self.n_neurons, "x_lateral")
                if y.shape[0] != x_r.shape[0]:
                    raise ValueError(f"x_lateral has {y.shape[0]} samples but x_receptive has {x_r.shape[0]}")
            w_l, b_l = self._weight("lateral_map.weight"), p["lateral_map.bias"]
            for step in range(steps):
                x_l = y
                l = np.broadcast_to(b_l, r.shape) if y is None else y @ w_l.T + b_l
                if step < steps - 1:  # this pass only draws the next lateral input: no derivatives
                    y = self._sample(_act.firing_probability(self._activation_value(r, c, l), grad=False), rng)
            if not np.isfinite(l).all():
                raise ValueError(NON_FINITE_DRIVES)
            a, d_inputs = self._activation(r, c, l)
            inputs = (r, c, l)
            if x_l is None:
                x_l = np.zeros_like(r)  # the lateral weights' (zero) gradient needs the input
        theta, dtheta_da = _act.firing_probability(a)
        y = self._sample(theta, rng)
        self._last = {
            "theta": theta,
            "inputs": inputs,
            "d_inputs": d_inputs,
            "dtheta_da": dtheta_da,
            "x": (x_r, x_c, x_l),
            "y": y,
        }
        return theta, y

    __call__ = forward

    def _sample(self, theta, rng) -> np.ndarray:
        y = (rng.random(theta.shape) < theta).astype(self.dtype)  # float64 uniforms, as always: same draws
        y *= 2.0
        y -= 1.0
        return y

    # --------------------------------------------------------------------------------------------------------------
    def bins(self, inputs) -> np.ndarray:
        """Bin indices (batch, neurons, n_sources) of the given input activations."""
        return np.stack([self._bin(x) for x in inputs], axis=-1)

    def _bin(self, x) -> np.ndarray:
        if self.binning == "adaptive":
            return adaptive_bins(x, self.n_bins)
        return fixed_bins(x, self.n_bins, -self.bin_range, self.bin_range)

    def _require_forward(self) -> dict:
        if self._last is None:
            raise RuntimeError("call the layer on a batch first: goal_value(), atoms() and gradients() use it")
        return self._last

    def _goal_gradient(self, all_atoms: bool = True):
        """The goal gradient of the last batch (cached); ``all_atoms=False`` skips the atoms the goal does not weigh."""
        last = self._require_forward()
        res = last.get("result")
        if res is None or (all_atoms and res.atoms is None):
            theta = np.ascontiguousarray(last["theta"], dtype=np.float64)
            n_bins = (self.n_bins,) * self.n_sources
            cols = [self._bin(x).T for x in last["inputs"]]  # (neurons, batch) per source: the goal kernel's layout
            res = last["result"] = _goal_gradient_columns(
                theta, cols, n_bins, self.gamma, self.gamma_res, self._w, self._w_total, all_atoms
            )
        return res

    def gradients(self) -> dict[str, np.ndarray]:
        """``∂G_j/∂p`` of every parameter on the last batch (ascent direction; see :class:`LocalUpdate`)."""
        last = self._require_forward()
        res = self._goal_gradient(all_atoms=False)
        delta = (res.dtheta * last["dtheta_da"]).astype(self.dtype, copy=False)  # ∂G/∂A, (batch, neurons)
        x_r, x_c, x_l = last["x"]
        d_r, d_c, *d_l = (delta * d for d in last["d_inputs"])
        grads = {
            "receptive.weight": d_r.T @ x_r,
            "receptive.bias": d_r.sum(axis=0),
        }
        if self.context_identity:
            grads["context_bias"] = d_c.sum(axis=0)
        else:
            g = d_c.T @ x_c
            if self.context_no_self:
                np.fill_diagonal(g, 0.0)
            grads["context.weight"] = g
            grads["context.bias"] = d_c.sum(axis=0)
        if self.lateral:
            g = d_l[0].T @ x_l
            np.fill_diagonal(g, 0.0)
            grads["lateral_map.weight"] = g
            grads["lateral_map.bias"] = d_l[0].sum(axis=0)
        return grads

    def local_update(self, x_receptive, x_context, x_lateral=None, *, rng=None, steps: int = 1) -> LocalUpdate:
        """Forward one batch and return every neuron's goal gradient with respect to its own weights and biases.

        Parameters are those of :meth:`forward`. Nothing is changed in the layer's parameters: apply the returned
        ``grads`` yourself (``p += lr * g``) or use :class:`pidlearn.backends.numpy.train.Trainer` (Adam).

        Returns
        -------
        LocalUpdate
        """
        theta, y = self.forward(x_receptive, x_context, x_lateral, rng=rng, steps=steps)
        res = self._goal_gradient()
        return LocalUpdate(self.gradients(), res.goal, res.atoms, res.residual_entropy, theta, y)

    def goal_value(self) -> np.ndarray:
        """Goal ``G_j`` of each neuron on the last batch, shape (neurons,)."""
        return self._goal_gradient(all_atoms=False).goal

    def loss(self) -> float:
        """``−Σ_j G_j`` on the last batch."""
        return -float(self.goal_value().sum())

    def atoms(self) -> dict[str, np.ndarray]:
        """Atoms per neuron on the last batch, ``{name: ndarray (neurons,)}`` in bits, plus ``"H_res"``."""
        res = self._goal_gradient()
        out = {name: res.atoms[:, i].copy() for i, name in enumerate(atom_names(self.n_sources))}
        out[RESIDUAL] = res.residual_entropy.copy()
        return out

    # --------------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by name."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state) -> None:
        """Set the parameters (in place) from a mapping of arrays, e.g. a torch layer's ``state_dict`` as NumPy."""
        missing = set(self.params) - set(state)
        if missing:
            raise KeyError(f"state lacks {sorted(missing)}")
        for k, v in self.params.items():
            arr = np.asarray(state[k])
            if arr.shape != v.shape:
                raise ValueError(f"{k}: expected shape {v.shape}, got {arr.shape}")
            v[...] = arr  # in place: optimisers holding the arrays stay attached

    def __repr__(self) -> str:
        return (
            f"InfomorphicLayer(n_receptive={self.n_receptive}, n_context={self.n_context}, "
            f"n_neurons={self.n_neurons}, lateral={self.lateral}, activation={self.activation!r}, "
            f"binning={self.binning!r}, n_bins={self.n_bins}, goal={self.goal!r}, backend='numpy')"
        )
