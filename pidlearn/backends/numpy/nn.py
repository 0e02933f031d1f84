"""Network layers for MOLE in NumPy and scipy.sparse, each with a hand-written forward and backward pass (no torch).

Every layer keeps its trainable arrays in :attr:`Layer.params` under the names of the torch layer's ``state_dict``
(``weight``, ``bias``, ``conv.linear.weight``, ``conv.mlp.0.weight``, ...), so torch weights load with
:meth:`Layer.load_state_dict` and the same network can be built in both backends. :meth:`Layer.forward` caches what
the backward pass needs; :meth:`Layer.backward` takes ``∂L/∂output``, fills :attr:`Layer.grads` (same keys as the
parameters) and returns ``∂L/∂input`` (or ``None`` with ``need_input=False``: MOLE never sends a gradient across a
module boundary, so a module's first layer skips it — for a convolution that is the costly ``col2im``).

* vector: :class:`Linear` (``y = x Wᵀ + b``), :class:`LazyLinear`, :class:`ReLU`, :class:`Dropout`,
  :class:`Flatten`, :class:`Sequential`;
* grid: :class:`Conv2d` (stride 1, zero padding) through ``im2col`` — the ``C k²`` shifted copies of the input as
  columns, one matrix product ``W cols`` per sample, and the transposed scatter for the input gradient —,
  :class:`MaxPool2d` (numba kernels in :mod:`pidlearn.backends.numpy._conv_kernels`);
* graph: :class:`GraphBatch` with the normalised adjacency as a ``scipy.sparse`` CSR matrix; :class:`GCNConv`
  (Kipf & Welling 2017) ``H' = D̂^{-1/2} (A + I) D̂^{-1/2} H W + b``, backward ``Âᵀ``; :class:`GINConv` (Xu et al.
  2019) ``H' = MLP((1 + ε) H + Σ_{j → i} H_j)``; :class:`BatchNorm1d`; :class:`GCNBlock`, :class:`GINBlock` (the
  modules of :func:`pidlearn.backends.torch.mole_data.build_network`).

Initialisation follows torch: ``U(±1/√fan_in)`` for linear and convolution weights and biases, Xavier-uniform for
the GCN weight (zero bias), BatchNorm ``γ = 1``, ``β = 0``.

References
----------
T. N. Kipf and M. Welling, "Semi-supervised classification with graph convolutional networks", ICLR 2017.
K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph neural networks?", ICLR 2019.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pidlearn.backends.numpy._conv_kernels import max_pool_backward, max_pool_forward

__all__ = [
    "BatchNorm1d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GCNBlock",
    "GCNConv",
    "GINBlock",
    "GINConv",
    "GraphBatch",
    "Layer",
    "LazyLinear",
    "Linear",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "cross_entropy",
    "represent",
    "represent_backward",
]


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _uniform(rng, bound: float, shape, dtype) -> np.ndarray:
    return rng.uniform(-bound, bound, shape).astype(dtype)


# ------------------------------------------------------------------------------------------------------------------
class Layer:
    """Base class: ``params``/``grads`` dicts of arrays, ``buffers`` (running statistics), forward and backward."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def forward(self, x, train: bool = True):
        raise NotImplementedError

    def __call__(self, x, train: bool = True):
        return self.forward(x, train)

    def backward(self, g, need_input: bool = True):
        """``∂L/∂input`` from ``g = ∂L/∂output`` of the last :meth:`forward`; sets :attr:`grads`."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters and buffers by name."""
        return {k: v.copy() for k, v in {**self.params, **self.buffers}.items()}

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Set parameters and buffers in place (optimisers holding the arrays stay attached); extra keys ignored."""
        for k, v in {**self.params, **self.buffers}.items():
            if k not in state:
                if strict and not k.endswith(_RNG_STATE):  # generator states are ours alone (torch has none)
                    raise KeyError(f"state lacks {k!r}")
                continue
            arr = np.asarray(state[k])
            if arr.shape != v.shape:
                raise ValueError(f"{k}: expected shape {v.shape}, got {arr.shape}")
            v[...] = arr

    def astype(self, dtype) -> Layer:
        """Cast every parameter and buffer (e.g. ``np.float64`` for gradient checks); returns ``self``."""
        for d in (self.params, self.buffers):
            for k in d:
                if d[k].dtype.kind == "f":  # not the integer generator states
                    d[k] = d[k].astype(dtype)
        return self

    @property
    def materialised(self) -> bool:
        return True


class Linear(Layer):
    """``y = x Wᵀ + b``, ``W`` (out, in); backward ``∂W = gᵀ x``, ``∂b = Σ g``, ``∂x = g W``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, seed=None, dtype=np.float32):
        super().__init__()
        rng = _rng(seed)
        bound = 1.0 / np.sqrt(in_features)
        self.params["weight"] = _uniform(rng, bound, (out_features, in_features), dtype)
        if bias:
            self.params["bias"] = _uniform(rng, bound, (out_features,), dtype)

    def forward(self, x, train: bool = True):
        self._x = x
        out = x @ self.params["weight"].T
        if "bias" in self.params:
            out += self.params["bias"]
        return out

    def backward(self, g, need_input: bool = True):
        self.grads = {"weight": g.T @ self._x}
        if "bias" in self.params:
            self.grads["bias"] = g.sum(0)
        return g @ self.params["weight"] if need_input else None


class LazyLinear(Linear):
    """:class:`Linear` sized by its first input (as ``torch.nn.LazyLinear``)."""

    def __init__(self, out_features: int, bias: bool = True, *, seed=None, dtype=np.float32):
        Layer.__init__(self)
        self.out_features, self.bias, self.rng, self.dtype = int(out_features), bias, _rng(seed), dtype

    @property
    def materialised(self) -> bool:
        return "weight" in self.params

    def forward(self, x, train: bool = True):
        if not self.materialised:
            bound = 1.0 / np.sqrt(x.shape[1])
            self.params["weight"] = _uniform(self.rng, bound, (self.out_features, x.shape[1]), self.dtype)
            if self.bias:
                self.params["bias"] = _uniform(self.rng, bound, (self.out_features,), self.dtype)
        return super().forward(x, train)


class ReLU(Layer):
    """``max(x, 0)``; the gradient is 0 at 0 and NaN stays NaN (as torch)."""

    def forward(self, x, train: bool = True):
        self._mask = x > 0
        return np.maximum(x, x.dtype.type(0))

    def backward(self, g, need_input: bool = True):
        return g * self._mask if need_input else None


class Flatten(Layer):
    """``(n, ...) → (n, prod(...))``."""

    def forward(self, x, train: bool = True):
        self._shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, g, need_input: bool = True):
        return g.reshape(self._shape) if need_input else None


#: Buffer name of a layer's random-generator state (saved with the checkpoint, so that a resumed run draws the
#: same dropout masks as an uninterrupted one).
_RNG_STATE = "rng_state"


def _pack_state(rng: np.random.Generator, out: np.ndarray) -> None:
    """Write a PCG64 generator's state into ``out`` (uint64[6]): state and increment as two words each, then the
    cached 32-bit flag and value."""
    st = rng.bit_generator.state
    mask = (1 << 64) - 1
    s, inc = st["state"]["state"], st["state"]["inc"]
    out[:] = [s >> 64, s & mask, inc >> 64, inc & mask, st["has_uint32"], st["uinteger"]]


def _unpack_state(rng: np.random.Generator, packed: np.ndarray) -> None:
    w = [int(v) for v in packed]
    rng.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3]},
        "has_uint32": w[4],
        "uinteger": w[5],
    }


class Dropout(Layer):
    """Inverted dropout (train mode only), drawn from the layer's own generator, whose state is a buffer
    (``rng_state``): it travels with :meth:`state_dict`, so a resumed run draws the masks an uninterrupted one would."""

    def __init__(self, p: float = 0.5, *, seed=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
        self.p, self.rng = float(p), np.random.Generator(np.random.PCG64(_rng(seed).bit_generator.random_raw()))
        self.buffers[_RNG_STATE] = np.zeros(6, dtype=np.uint64)
        _pack_state(self.rng, self.buffers[_RNG_STATE])
        self._packed = self.buffers[_RNG_STATE].copy()

    def forward(self, x, train: bool = True):
        if not train or self.p == 0:
            self._scale = None
            return x
        buf = self.buffers[_RNG_STATE]
        if not np.array_equal(buf, self._packed):  # a state was loaded into the buffer: continue from it
            _unpack_state(self.rng, buf)
        self._scale = (self.rng.random(x.shape) >= self.p).astype(x.dtype) / np.asarray(1.0 - self.p, x.dtype)
        _pack_state(self.rng, buf)
        self._packed = buf.copy()
        return x * self._scale

    def backward(self, g, need_input: bool = True):
        if not need_input:
            return None
        return g if self._scale is None else g * self._scale


class Sequential(Layer):
    """Layers applied in order; parameters named ``"<i>.<name>"`` as in ``torch.nn.Sequential``."""

    def __init__(self, *layers: Layer):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a pidlearn.backends.numpy.nn.Layer")
        self.layers = list(layers)
        self._collect()

    def _collect(self) -> None:
        self.params = {f"{i}.{k}": v for i, m in enumerate(self.layers) for k, v in m.params.items()}
        self.buffers = {f"{i}.{k}": v for i, m in enumerate(self.layers) for k, v in m.buffers.items()}

    @property
    def materialised(self) -> bool:
        return all(m.materialised for m in self.layers)

    def forward(self, x, train: bool = True):
        fresh = not self.materialised
        for m in self.layers:
            x = m.forward(x, train)
        if fresh:
            self._collect()
        return x

    def backward(self, g, need_input: bool = True):
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            g = self.layers[i].backward(g, need_input or i > 0)
        self.grads = {f"{i}.{k}": v for i, m in enumerate(self.layers) for k, v in m.grads.items()}
        return g

    def astype(self, dtype) -> Sequential:
        for m in self.layers:
            m.astype(dtype)
        self._collect()
        return self

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


# ------------------------------------------------------------------------------------------------------------------
class Conv2d(Layer):
    """2-D convolution, stride 1, zero padding, by ``im2col`` and one batched matrix product per sample.

    With ``K = C k²`` and ``P = H' W'``, ``cols`` (N, K + 1, P) holds sample ``n``'s receptive fields as columns
    (row ``(c, i, j)`` is the padded input shifted by ``(i, j)``) and a last row of ones, so that the weight with the
    bias as its last column, ``W⁺ = [W_mat | b]`` (O, K + 1), gives ``out_n = W⁺ cols_n`` (O, P) already in NCHW
    order, and the backward pass ``[∂W_mat | ∂b] = Σ_n g_n cols_nᵀ`` in one batched product. Only when asked,
    ``∂x`` adds the ``k²`` shifted slices of ``W_matᵀ g_n`` back (``col2im``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, *, seed=None,
                 dtype=np.float32):  # fmt: skip
        super().__init__()
        rng = _rng(seed)
        self.k, self.padding = int(kernel_size), int(padding)
        bound = 1.0 / np.sqrt(in_channels * self.k * self.k)
        self.params["weight"] = _uniform(rng, bound, (out_channels, in_channels, self.k, self.k), dtype)
        self.params["bias"] = _uniform(rng, bound, (out_channels,), dtype)

    def _columns(self, xp: np.ndarray, ho: int, wo: int, dtype) -> np.ndarray:
        """``cols`` (N, C k² + 1, H' W') of the padded input ``xp``: the receptive fields, then a row of ones."""
        n, c = xp.shape[:2]
        k, kk = self.k, c * self.k * self.k
        cols = np.empty((n, kk + 1, ho * wo), dtype)
        cols[:, kk] = 1
        win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))  # (n, c, ho, wo, k, k), a view
        np.copyto(cols[:, :kk].reshape(n, c, k, k, ho, wo), win.transpose(0, 1, 4, 5, 2, 3))  # reshape: a view
        return cols

    def forward(self, x, train: bool = True):
        weight = self.params["weight"]
        o, c, k, _ = weight.shape
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"Conv2d expects (batch, {c} channels, height, width), got shape {x.shape}")
        p = self.padding
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        n, _, h, w = xp.shape
        ho, wo = h - k + 1, w - k + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"Conv2d: the {k} x {k} kernel is larger than the padded input {h} x {w}")
        dtype = np.result_type(x.dtype, weight.dtype)
        cols = self._columns(xp, ho, wo, dtype)
        wplus = np.concatenate([weight.reshape(o, -1), self.params["bias"][:, None]], 1).astype(dtype, copy=False)
        self._cache = (cols, (n, c, h, w), ho, wo)
        return np.matmul(wplus, cols).reshape(n, o, ho, wo)

    def backward(self, g, need_input: bool = True):
        cols, (n, c, h, w), ho, wo = self._cache
        weight = self.params["weight"]
        o, kk = len(weight), cols.shape[1] - 1
        g3 = np.ascontiguousarray(g).reshape(n, o, ho * wo)
        gplus = np.matmul(g3, cols.transpose(0, 2, 1)).sum(0)  # (o, kk + 1): [∂W_mat | ∂b]
        self.grads = {"weight": gplus[:, :kk].reshape(weight.shape), "bias": gplus[:, kk].copy()}
        if not need_input:
            return None
        k, p = self.k, self.padding
        dcols = np.matmul(weight.reshape(o, kk).T, g3).reshape(n, c, k, k, ho, wo)
        dx = np.zeros((n, c, h, w), dtype=dcols.dtype)
        for i in range(k):
            for j in range(k):
                dx[:, :, i : i + ho, j : j + wo] += dcols[:, :, i, j]
        return dx[:, :, p : h - p, p : w - p] if p else dx


class MaxPool2d(Layer):
    """Non-overlapping ``s × s`` max pooling (stride = size, floor); the gradient goes to the first maximum, a
    window holding NaN gives NaN (as torch).

    One numba pass (:mod:`pidlearn.backends.numpy._conv_kernels`) writes the maxima and their flat indices; the
    backward pass scatters the gradient to those indices.
    """

    def __init__(self, size: int = 2):
        super().__init__()
        self.s = int(size)

    def forward(self, x, train: bool = True):
        s = self.s
        if x.ndim != 4 or x.shape[2] < s or x.shape[3] < s:
            raise ValueError(f"MaxPool2d({s}) expects (batch, channels, height >= {s}, width >= {s}), got {x.shape}")
        x = np.ascontiguousarray(x)
        n, c, h, w = x.shape
        out = np.empty((n, c, h // s, w // s), dtype=x.dtype)
        arg = np.empty(out.shape, dtype=np.int32)
        nan = x.dtype.kind == "f" and x.size > 0 and bool(np.isnan(x.max()))  # max propagates NaN; cheap
        max_pool_forward(x, s, nan, out, arg)
        self._cache = (x.shape, arg)
        return out

    def backward(self, g, need_input: bool = True):
        if not need_input:
            return None
        (n, c, h, w), arg = self._cache
        dx = np.zeros((n, c, h * w), dtype=g.dtype)
        max_pool_backward(np.ascontiguousarray(g), arg, dx)
        return dx.reshape(n, c, h, w)


class BatchNorm1d(Layer):
    """Batch normalisation over the rows (train: batch mean and biased variance; eval: running statistics).

    ``x̂ = (x − μ) / √(σ² + ε)``, ``y = γ x̂ + β``; running statistics with momentum 0.1 and the unbiased variance,
    as torch. Backward (train): ``∂x = γ/√(σ²+ε) · (g − mean(g) − x̂ · mean(g x̂))``.
    """

    def __init__(self, n_features: int, eps: float = 1e-5, momentum: float = 0.1, *, dtype=np.float32):
        super().__init__()
        self.eps, self.momentum = float(eps), float(momentum)
        self.params = {"weight": np.ones(n_features, dtype), "bias": np.zeros(n_features, dtype)}
        self.buffers = {"running_mean": np.zeros(n_features, dtype), "running_var": np.ones(n_features, dtype)}

    def forward(self, x, train: bool = True):
        if train:
            n = len(x)
            if n < 2:
                raise ValueError("BatchNorm1d needs more than 1 sample per batch in training")
            mean = x.mean(0)
            var = x.var(0)
            m = self.momentum
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * n / (n - 1)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv = 1.0 / np.sqrt(var + self.eps)
        xhat = (x - mean) * inv
        self._cache = (xhat, inv, train)
        return xhat * self.params["weight"] + self.params["bias"]

    def backward(self, g, need_input: bool = True):
        xhat, inv, train = self._cache
        self.grads = {"weight": (g * xhat).sum(0), "bias": g.sum(0)}
        if not need_input:
            return None
        gx = g * self.params["weight"]
        if not train:
            return gx * inv
        return inv * (gx - gx.mean(0) - xhat * (gx * xhat).mean(0))


# ------------------------------------------------------------------------------------------------------------------
class GraphBatch:
    """Node features plus structure (the NumPy twin of :class:`pidlearn.backends.torch.graph.GraphBatch`).

    Parameters
    ----------
    x : ndarray (n, d)
    edges : int array (2, m)
        Directed edges ``src -> dst`` (both directions for an undirected graph).
    graph : int array (n,), optional
        Graph id of each node (graph-level tasks).
    n_graphs : int, optional
    index : int array, optional
        Nodes whose rows :meth:`represent` returns (node-level tasks).
    pool : {"sum", "mean"}, default "sum"
    """

    __slots__ = ("_cache", "edges", "graph", "index", "n_graphs", "pool", "x")

    def __init__(self, x, edges, *, graph=None, n_graphs=None, index=None, pool="sum", _cache=None):
        x = np.asarray(x)
        edges = np.asarray(edges, dtype=np.int64)
        if x.ndim != 2:
            raise ValueError(f"node features must be 2-D (n_nodes, n_features), got shape {x.shape}")
        if edges.ndim != 2 or edges.shape[0] != 2:
            raise ValueError(f"edges must have shape (2, n_edges), got {edges.shape}")
        if edges.size and (int(edges.min()) < 0 or int(edges.max()) >= x.shape[0]):
            raise ValueError(f"edges refer to nodes outside 0..{x.shape[0] - 1}")
        if pool not in ("sum", "mean"):
            raise ValueError(f"pool must be 'sum' or 'mean', got {pool!r}")
        if graph is not None:
            graph = np.asarray(graph, dtype=np.int64)
            if n_graphs is None:
                n_graphs = int(graph.max()) + 1 if graph.size else 0
        self.x, self.edges, self.graph, self.pool = x, edges, graph, pool
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.n_graphs = n_graphs
        self._cache = {} if _cache is None else _cache

    @property
    def n_nodes(self) -> int:
        return self.x.shape[0]

    def with_x(self, x) -> GraphBatch:
        g = self
        return GraphBatch(x, g.edges, graph=g.graph, n_graphs=g.n_graphs, index=g.index, pool=g.pool, _cache=g._cache)

    def with_index(self, index) -> GraphBatch:
        g = self
        return GraphBatch(g.x, g.edges, graph=g.graph, n_graphs=g.n_graphs, index=index, pool=g.pool, _cache=g._cache)

    def __len__(self) -> int:
        if self.graph is not None:
            return self.n_graphs
        return self.n_nodes if self.index is None else len(self.index)

    def _pool_matrix(self) -> sp.csr_matrix:
        key = ("pool", self.pool, self.x.dtype)
        if key not in self._cache:
            n = self.n_nodes
            w = np.ones(n)
            if self.pool == "mean":
                count = np.maximum(np.bincount(self.graph, minlength=self.n_graphs), 1)
                w = 1.0 / count[self.graph]
            p = sp.csr_matrix((w.astype(self.x.dtype), (self.graph, np.arange(n))), shape=(self.n_graphs, n))
            self._cache[key] = (p, p.T.tocsr())
        return self._cache[key]

    def represent(self) -> np.ndarray:
        """Sum (or mean) over each graph's nodes, or the selected nodes' rows."""
        if self.graph is not None:
            return np.asarray(self._pool_matrix()[0] @ self.x)
        return self.x if self.index is None else self.x[self.index]

    def represent_backward(self, g) -> np.ndarray:
        """``∂L/∂x`` from ``∂L/∂represent()``."""
        if self.graph is not None:
            return np.asarray(self._pool_matrix()[1] @ g)
        if self.index is None:
            return g
        out = np.zeros((self.n_nodes, g.shape[1]), dtype=g.dtype)
        np.add.at(out, self.index, g)
        return out

    def normalised_adjacency(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``Â = D̂^{-1/2} (A + I) D̂^{-1/2}`` (rows = destinations) and ``Âᵀ``, CSR, cached per structure."""
        key = ("gcn", self.x.dtype)
        if key not in self._cache:
            n = self.n_nodes
            loops = np.arange(n)
            src = np.concatenate([self.edges[0], loops])
            dst = np.concatenate([self.edges[1], loops])
            deg = np.bincount(dst, minlength=n).astype(np.float64)
            w = (deg[src] ** -0.5 * deg[dst] ** -0.5).astype(self.x.dtype)
            a = sp.csr_matrix((w, (dst, src)), shape=(n, n))
            self._cache[key] = (a, a.T.tocsr())
        return self._cache[key]

    def aggregation(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``M`` with ``(M x)_i = Σ_{j → i} x_j`` (GIN) and ``Mᵀ``, CSR, cached."""
        key = ("gin", self.x.dtype)
        if key not in self._cache:
            n = self.n_nodes
            ones = np.ones(self.edges.shape[1], dtype=self.x.dtype)
            m = sp.csr_matrix((ones, (self.edges[1], self.edges[0])), shape=(n, n))
            self._cache[key] = (m, m.T.tocsr())
        return self._cache[key]


def represent(h) -> np.ndarray:
    """What a loss sees of a module output: flattened rows of an array, or ``h.represent()`` (graphs)."""
    if isinstance(h, GraphBatch):
        return h.represent()
    return h.reshape(len(h), -1)


def represent_backward(h, g):
    """``∂L/∂h`` (an array, or the node features of a graph batch) from ``g = ∂L/∂represent(h)``."""
    if isinstance(h, GraphBatch):
        return h.represent_backward(g)
    return g.reshape(h.shape)


class GCNConv(Layer):
    """``Â X W + b`` (``conv.linear.weight`` (out, in), Xavier-uniform; ``bias`` zero); backward through ``Âᵀ``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, seed=None, dtype=np.float32):
        super().__init__()
        rng = _rng(seed)
        bound = np.sqrt(6.0 / (in_features + out_features))
        self.params["linear.weight"] = _uniform(rng, bound, (out_features, in_features), dtype)
        if bias:
            self.params["bias"] = np.zeros(out_features, dtype)

    def forward_graph(self, x, g: GraphBatch):
        a, at = g.normalised_adjacency()
        self._cache = (x, at)
        out = np.asarray(a @ (x @ self.params["linear.weight"].T))
        return out + self.params["bias"] if "bias" in self.params else out

    def backward(self, gout, need_input: bool = True):
        x, at = self._cache
        gxw = np.asarray(at @ gout)  # ∂L/∂(X Wᵀ)
        # X may be a scipy.sparse matrix (GCNBlock(sparse_input=True)): then (Xᵀ G)ᵀ, a dense array
        gw = np.ascontiguousarray(np.asarray(x.T @ gxw).T) if sp.issparse(x) else gxw.T @ x
        self.grads = {"linear.weight": gw}
        if "bias" in self.params:
            self.grads["bias"] = gout.sum(0)
        return gxw @ self.params["linear.weight"] if need_input else None


class GINConv(Layer):
    """``MLP((1 + ε) x_i + Σ_{j → i} x_j)``, MLP = Linear-BatchNorm-ReLU-Linear, ``ε`` trained (``conv.eps``)."""

    def __init__(self, in_features: int, out_features: int, train_eps: bool = True, *, seed=None, dtype=np.float32):
        super().__init__()
        rng = _rng(seed)
        self.mlp = Sequential(
            Linear(in_features, out_features, seed=rng, dtype=dtype),
            BatchNorm1d(out_features, dtype=dtype),
            ReLU(),
            Linear(out_features, out_features, seed=rng, dtype=dtype),
        )
        self.train_eps = bool(train_eps)
        self._collect(np.zeros(1, dtype) if train_eps else None)

    def _collect(self, eps=None) -> None:
        if eps is None and self.train_eps:
            eps = self.params["eps"]
        self.params = {
            **({"eps": eps} if self.train_eps else {}),
            **{f"mlp.{k}": v for k, v in self.mlp.params.items()},
        }
        self.buffers = {f"mlp.{k}": v for k, v in self.mlp.buffers.items()}

    def astype(self, dtype) -> GINConv:
        eps = self.params["eps"].astype(dtype) if self.train_eps else None
        self.mlp.astype(dtype)
        self._collect(eps)
        return self

    def forward_graph(self, x, g: GraphBatch, train: bool = True):
        m, mt = g.aggregation()
        eps = float(self.params["eps"][0]) if self.train_eps else 0.0
        self._cache = (x, mt, eps)
        return self.mlp.forward((1.0 + eps) * x + np.asarray(m @ x), train)

    def backward(self, gout, need_input: bool = True):
        x, mt, eps = self._cache
        gin = self.mlp.backward(gout, True)
        self.grads = {f"mlp.{k}": v for k, v in self.mlp.grads.items()}
        if self.train_eps:
            self.grads = {"eps": np.array([(gin * x).sum()], dtype=self.params["eps"].dtype), **self.grads}
        return (1.0 + eps) * gin + np.asarray(mt @ gin) if need_input else None


class _GraphBlock(Layer):
    def _collect(self) -> None:
        self.params = {f"{p}.{k}": v for p, m in self._parts() for k, v in m.params.items()}
        self.buffers = {f"{p}.{k}": v for p, m in self._parts() for k, v in m.buffers.items()}

    def astype(self, dtype):
        for _, m in self._parts():
            m.astype(dtype)
        self._collect()
        return self

    def _grads(self) -> None:
        self.grads = {f"{p}.{k}": v for p, m in self._parts() for k, v in m.grads.items()}


class GCNBlock(_GraphBlock):
    """Dropout, :class:`GCNConv`, ReLU on a :class:`GraphBatch` (one MOLE module, or without ReLU a graph head).

    Parameters ``conv.*``. Marked ``takes_graph``: as a MOLE head it receives the graph batch (Kipf & Welling's second
    GCN layer as the classifier) and the trainer reads the selected rows of its output, as in the torch backend.
    ``sparse_input=True`` (bag-of-words features, Kipf & Welling's code; the torch ``GCNBlock(sparse_input=True)``)
    keeps the features as a CSR matrix (made once per feature array, cached on the batch), drops out its nonzero
    values only — the same distribution as dropout on the dense matrix, whose zeros stay zero — and multiplies it
    sparsely; it computes no input gradient (the first layer of a module never needs one). Its random draws differ
    from the dense path's (and from torch's).
    """

    takes_graph = True

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.5, activation: bool = True, *,
                 sparse_input: bool = False, seed=None, dtype=np.float32):  # fmt: skip
        super().__init__()
        rng = _rng(seed)
        self.dropout = Dropout(dropout, seed=rng)
        self.conv = GCNConv(in_features, out_features, seed=rng, dtype=dtype)
        self.activation = bool(activation)
        self.sparse_input = bool(sparse_input)
        self.relu = ReLU()
        self._collect()

    def _parts(self):
        return [("conv", self.conv), ("dropout", self.dropout)]  # the dropout's generator state is a buffer

    def _sparse_features(self, g: GraphBatch, train: bool) -> sp.csr_matrix:
        key = ("sparse_x", id(g.x), g.x.shape, g.x.dtype)
        if key not in g._cache:
            g._cache[key] = (g.x, sp.csr_matrix(g.x))  # the array is kept so that its id stays unique
        xs = g._cache[key][1]
        if not train or self.dropout.p == 0:
            return xs
        return sp.csr_matrix((self.dropout.forward(xs.data, True), xs.indices, xs.indptr), shape=xs.shape)

    def forward(self, g: GraphBatch, train: bool = True) -> GraphBatch:
        x = self._sparse_features(g, train) if self.sparse_input else self.dropout.forward(g.x, train)
        h = self.conv.forward_graph(x, g)
        return g.with_x(self.relu.forward(h) if self.activation else h)

    def backward(self, gout, need_input: bool = True):
        if need_input and self.sparse_input:
            raise ValueError("GCNBlock(sparse_input=True) computes no input gradient; use it as a first layer")
        gout = gout.x if isinstance(gout, GraphBatch) else gout
        if self.activation:
            gout = self.relu.backward(gout)
        gx = self.conv.backward(gout, need_input)
        self._grads()
        return None if gx is None else self.dropout.backward(gx)


class GINBlock(_GraphBlock):
    """:class:`GINConv`, BatchNorm, ReLU (and dropout) on a :class:`GraphBatch` (parameters ``conv.*``, ``norm.*``)."""

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0, *, seed=None, dtype=np.float32):
        super().__init__()
        rng = _rng(seed)
        self.conv = GINConv(in_features, out_features, seed=rng, dtype=dtype)
        self.norm = BatchNorm1d(out_features, dtype=dtype)
        self.relu = ReLU()
        self.dropout = Dropout(dropout, seed=rng)
        self._collect()

    def _parts(self):
        return [("conv", self.conv), ("norm", self.norm), ("dropout", self.dropout)]

    def forward(self, g: GraphBatch, train: bool = True) -> GraphBatch:
        h = self.conv.forward_graph(g.x, g, train)
        return g.with_x(self.dropout.forward(self.relu.forward(self.norm.forward(h, train)), train))

    def backward(self, gout, need_input: bool = True):
        gout = gout.x if isinstance(gout, GraphBatch) else gout
        gh = self.norm.backward(self.relu.backward(self.dropout.backward(gout)))
        gx = self.conv.backward(gh, need_input)
        self._grads()
        return gx


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over the labelled rows (``labels >= 0``) and its gradient w.r.t. the logits."""
    keep = labels >= 0
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    n = max(int(keep.sum()), 1)
    rows = np.flatnonzero(keep)
    loss = -float(logp[rows, labels[rows]].sum()) / n
    grad = np.exp(logp)
    grad[rows, labels[rows]] -= 1.0
    grad[~keep] = 0.0
    return loss, (grad / n).astype(logits.dtype, copy=False)
