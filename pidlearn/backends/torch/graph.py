"""Small graph neural network layers in plain torch (no PyTorch Geometric): GCN and GIN, and a graph batch.

* :class:`GraphBatch` — node features ``x`` (n, d), directed edge list ``edges`` (2, m) (both directions present for
  undirected graphs), optional ``graph`` (n,) graph id of each node (graph-level tasks: several graphs in one
  block-diagonal batch) and optional ``index`` (nodes whose representation counts: the training nodes of a
  node-level task). :meth:`GraphBatch.represent` gives the per-sample representation a loss sees: the selected nodes'
  rows, or the sum over each graph's nodes.
* :class:`GCNConv` — Kipf & Welling (2017): ``H' = D̂^{-1/2} (A + I) D̂^{-1/2} H W + b`` with a ``torch.sparse``
  adjacency normalised once per batch (cached on the batch).
* :class:`GINConv` — Xu et al. (2019): ``H' = MLP((1 + ε) H + Σ_{j ∈ N(i)} H_j)`` with ``index_add_`` aggregation.
* :class:`GCNBlock`, :class:`GINBlock` — dropout + convolution + ReLU acting on a :class:`GraphBatch`, the modules
  that :class:`pidlearn.backends.torch.mole.MOLE` stacks. Both are marked ``takes_graph``: used as a trainer's head
  they receive the graph batch (Kipf & Welling's second GCN layer as the classifier) and the trainer reads the
  selected rows of their output.
* :func:`gin_network` — Xu et al.'s GIN-0 for graph classification: :class:`GINBlock` modules with ε fixed at 0,
  each wrapped in :class:`Tapped` so that its output (a :class:`LayerBatch`) carries every earlier layer's node
  features, and the :class:`AllLayerReadout` head that sum-pools every layer.

References
----------
T. N. Kipf and M. Welling, "Semi-supervised classification with graph convolutional networks", ICLR 2017.
K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph neural networks?", ICLR 2019.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "AllLayerReadout",
    "GCNBlock",
    "GCNConv",
    "GINBlock",
    "GINConv",
    "GraphBatch",
    "LayerBatch",
    "Tapped",
    "gin_network",
]


class GraphBatch:
    """Node features plus structure; modules return a new batch with new features and the same structure.

    Parameters
    ----------
    x : Tensor (n, d)
    edges : LongTensor (2, m)
        Directed edges ``src -> dst`` (give both directions for an undirected graph); no self loops needed.
    graph : LongTensor (n,), optional
        Graph id (0..n_graphs-1) of each node, for graph-level tasks.
    n_graphs : int, optional
        Number of graphs (default ``graph.max() + 1``).
    index : LongTensor, optional
        Nodes whose rows :meth:`represent` returns (node-level tasks); all nodes when None.
    pool : {"sum", "mean"}, default "sum"
        Graph-level read-out of :meth:`represent`.
    """

    __slots__ = ("_cache", "edges", "graph", "index", "n_graphs", "pool", "x")

    def __init__(self, x, edges, *, graph=None, n_graphs=None, index=None, pool="sum", _cache=None):
        if x.ndim != 2:
            raise ValueError(f"node features must be 2-D (n_nodes, n_features), got shape {tuple(x.shape)}")
        if edges.ndim != 2 or edges.shape[0] != 2:
            raise ValueError(f"edges must have shape (2, n_edges), got {tuple(edges.shape)}")
        if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= x.shape[0]):
            raise ValueError(f"edges refer to nodes outside 0..{x.shape[0] - 1}")
        if pool not in ("sum", "mean"):
            raise ValueError(f"pool must be 'sum' or 'mean', got {pool!r}")
        self.x, self.edges, self.graph, self.index, self.pool = x, edges, graph, index, pool
        if graph is not None and n_graphs is None:
            n_graphs = int(graph.max()) + 1 if graph.numel() else 0
        self.n_graphs = n_graphs
        self._cache = {} if _cache is None else _cache

    @property
    def n_nodes(self) -> int:
        return self.x.shape[0]

    def with_x(self, x: torch.Tensor) -> GraphBatch:
        """The same graph(s) with new node features (the normalised adjacency cache is shared)."""
        g = self
        return GraphBatch(x, g.edges, graph=g.graph, n_graphs=g.n_graphs, index=g.index, pool=g.pool, _cache=g._cache)

    def with_index(self, index) -> GraphBatch:
        """The same graph(s) and features, with other nodes selected by :meth:`represent`."""
        g = self
        return GraphBatch(g.x, g.edges, graph=g.graph, n_graphs=g.n_graphs, index=index, pool=g.pool, _cache=g._cache)

    def detach(self) -> GraphBatch:
        return self.with_x(self.x.detach())

    def to(self, dtype) -> GraphBatch:
        return self.with_x(self.x.to(dtype))

    def represent(self) -> torch.Tensor:
        """Per-sample representation: sum (or mean) over each graph's nodes, or the selected nodes' rows."""
        if self.graph is not None:
            out = self.x.new_zeros(self.n_graphs, self.x.shape[1]).index_add_(0, self.graph, self.x)
            if self.pool == "mean":
                count = torch.bincount(self.graph, minlength=self.n_graphs).clamp_min(1).to(out.dtype)
                out = out / count[:, None]
            return out
        return self.x if self.index is None else self.x[self.index]

    def __len__(self) -> int:
        if self.graph is not None:
            return self.n_graphs
        return self.n_nodes if self.index is None else len(self.index)

    def normalised_adjacency(self) -> torch.Tensor:
        """``D̂^{-1/2} (A + I) D̂^{-1/2}`` as a sparse COO tensor (computed once per batch structure)."""
        key = ("gcn", self.x.dtype)
        if key not in self._cache:
            n = self.n_nodes
            loops = torch.arange(n)
            src = torch.cat([self.edges[0], loops])
            dst = torch.cat([self.edges[1], loops])
            deg = torch.zeros(n, dtype=self.x.dtype).index_add_(0, dst, torch.ones_like(dst, dtype=self.x.dtype))
            w = deg[src].rsqrt() * deg[dst].rsqrt()
            adj = torch.sparse_coo_tensor(torch.stack([dst, src]), w, (n, n), check_invariants=False).coalesce()
            self._cache[key] = adj
        return self._cache[key]


class GCNConv(nn.Module):
    """Graph convolution of Kipf & Welling: ``Â X W + b`` with the symmetric-normalised adjacency with self loops."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        nn.init.xavier_uniform_(self.linear.weight)

    def forward(self, x: torch.Tensor, g: GraphBatch) -> torch.Tensor:
        out = torch.sparse.mm(g.normalised_adjacency(), self.linear(x))
        return out if self.bias is None else out + self.bias


class GINConv(nn.Module):
    """Graph isomorphism layer: ``MLP((1 + ε) x_i + Σ_{j → i} x_j)``, MLP = Linear-BatchNorm-ReLU-Linear."""

    def __init__(self, in_features: int, out_features: int, train_eps: bool = True):
        super().__init__()
        self.eps = nn.Parameter(torch.zeros(1)) if train_eps else None
        self.mlp = nn.Sequential(
            nn.Linear(in_features, out_features),
            nn.BatchNorm1d(out_features),
            nn.ReLU(),
            nn.Linear(out_features, out_features),
        )

    def forward(self, x: torch.Tensor, g: GraphBatch) -> torch.Tensor:
        agg = torch.zeros_like(x).index_add_(0, g.edges[1], x[g.edges[0]])
        eps = 0.0 if self.eps is None else self.eps
        return self.mlp((1.0 + eps) * x + agg)


class GCNBlock(nn.Module):
    """Dropout, :class:`GCNConv`, ReLU on a :class:`GraphBatch` (one MOLE module, or without ReLU a graph head).

    ``sparse_input=True`` (for sparse input features such as bag-of-words rows, as in Kipf & Welling's code) keeps
    the nonzero features as a sparse matrix (made once per feature tensor, cached on the batch), drops out its
    nonzero values only — the same distribution as dropout on the dense matrix, whose zeros stay zero — and
    multiplies it sparsely: on Cora (1.3 % nonzeros) the first layer then costs a fraction of the dense one. The
    random draws differ from the dense path's, so the two give different (equally distributed) runs.
    """

    takes_graph = True  # as a head it sees the graph batch, not the per-sample rows

    def __init__(
        self,
        in_features: int,
        out_features: int,
        dropout: float = 0.5,
        activation: bool = True,
        sparse_input: bool = False,
    ):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.conv = GCNConv(in_features, out_features)
        self.activation = activation
        self.sparse_input = sparse_input

    def _sparse_features(self, g: GraphBatch) -> torch.Tensor:
        x = g.x
        key = ("sparse_x", x.data_ptr(), tuple(x.shape), x.dtype)
        if key not in g._cache:
            g._cache[key] = x.detach().to_sparse_coo().coalesce()
        xs = g._cache[key]
        if self.training and self.dropout.p > 0:
            xs = torch.sparse_coo_tensor(
                xs.indices(), self.dropout(xs.values()), xs.shape, is_coalesced=True, check_invariants=False
            )
        return xs

    def forward(self, g: GraphBatch) -> GraphBatch:
        if self.sparse_input and not g.x.requires_grad:
            xw = torch.sparse.mm(self._sparse_features(g), self.conv.linear.weight.t())
            h = torch.sparse.mm(g.normalised_adjacency(), xw)
            h = h if self.conv.bias is None else h + self.conv.bias
        else:
            h = self.conv(self.dropout(g.x), g)
        return g.with_x(torch.relu(h) if self.activation else h)


class GINBlock(nn.Module):
    """:class:`GINConv`, BatchNorm, ReLU on a :class:`GraphBatch` (one MOLE module)."""

    takes_graph = True

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0):
        super().__init__()
        self.conv = GINConv(in_features, out_features)
        self.norm = nn.BatchNorm1d(out_features)
        self.dropout = nn.Dropout(dropout)

    def forward(self, g: GraphBatch) -> GraphBatch:
        return g.with_x(self.dropout(torch.relu(self.norm(self.conv(g.x, g)))))


# GIN-0 (Xu et al. 2019): every layer's node features reach the read-out ------------------------------------------
class LayerBatch(GraphBatch):
    """A :class:`GraphBatch` that also carries the node features of every earlier layer.

    Parameters
    ----------
    x, edges, graph, n_graphs, index, pool :
        As for :class:`GraphBatch`; ``x`` holds the current layer's features ``h^{(l)}``.
    layers : sequence of Tensor, default ()
        The features ``h^{(0)}, ..., h^{(l-1)}`` of the earlier layers (the input one-hot tags first).

    Notes
    -----
    :meth:`represent` (what a MOLE objective of a module sees) is still the sum-pooled *current* features
    ``Σ_{v ∈ G} h_v^{(l)}``; :class:`AllLayerReadout` reads ``layers`` too. :meth:`detach` detaches every layer, so a
    MOLE head sends no gradient into any module.
    """

    __slots__ = ("layers",)

    def __init__(self, x, edges, *, layers=(), **kw):
        super().__init__(x, edges, **kw)
        self.layers = tuple(layers)

    def with_x(self, x: torch.Tensor) -> LayerBatch:
        """The same graph(s) and earlier layers with new current features."""
        g = self
        return LayerBatch(
            x, g.edges, graph=g.graph, n_graphs=g.n_graphs, index=g.index, pool=g.pool, _cache=g._cache, layers=g.layers
        )

    def detach(self) -> LayerBatch:
        out = self.with_x(self.x.detach())
        out.layers = tuple(h.detach() for h in self.layers)
        return out


class Tapped(nn.Module):
    """A graph block whose output keeps its input's features (and the earlier ones) in ``layers``.

    Parameters
    ----------
    block : nn.Module
        A module mapping a :class:`GraphBatch` to a :class:`GraphBatch` (a :class:`GINBlock`).

    Notes
    -----
    ``Tapped(block)(g)`` is a :class:`LayerBatch` with ``x = block(g).x`` and ``layers = (*g.layers, g.x)``.
    """

    takes_graph = True

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, g: GraphBatch) -> LayerBatch:
        layers = (*getattr(g, "layers", ()), g.x)
        out = self.block(g)
        return LayerBatch(
            out.x, g.edges, graph=g.graph, n_graphs=g.n_graphs, pool=g.pool, _cache=g._cache, layers=layers
        )


class AllLayerReadout(nn.Module):
    """Xu et al.'s graph read-out over the input layer and every GIN layer.

    Parameters
    ----------
    widths : sequence of int
        Feature widths of the layers ``h^{(0)}, ..., h^{(L)}`` (input tags first).
    n_classes : int
    dropout : float
        Dropout probability after each layer's linear map (training only).

    Notes
    -----
    ``score(G) = Σ_{l=0}^{L} Dropout(W_l · Σ_{v ∈ G} h_v^{(l)} + b_l)``: sum pooling of every layer's node features,
    one linear map per layer, dropout after each (Xu et al. 2019, section 4.2 and their code). Its input is the
    :class:`LayerBatch` of the last :class:`Tapped` module (it is marked ``takes_graph``).

    References
    ----------
    K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph neural networks?", ICLR 2019.
    """

    takes_graph = True

    def __init__(self, widths, n_classes: int, dropout: float):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(w, n_classes) for w in widths)
        self.dropout = dropout

    def forward(self, g: LayerBatch) -> torch.Tensor:
        feats = (*getattr(g, "layers", ()), g.x)
        if len(feats) != len(self.linears):
            raise ValueError(f"the read-out has {len(self.linears)} layers but the batch carries {len(feats)}")
        score = 0.0
        for h, lin in zip(feats, self.linears, strict=True):
            pooled = h.new_zeros(g.n_graphs, h.shape[1]).index_add_(0, g.graph, h)
            score = score + F.dropout(lin(pooled), self.dropout, self.training)
        return score


def gin_network(
    in_features: int, n_classes: int, hidden: int = 32, dropout: float = 0.5, layers: int = 4
) -> tuple[list[nn.Module], AllLayerReadout]:
    """GIN-0 of Xu et al. (2019): ``layers`` GIN blocks with ε fixed at 0 and the all-layer read-out.

    Parameters
    ----------
    in_features : int
        Width of the input node features (the one-hot node tags).
    n_classes : int
        At least 2.
    hidden : int, default 32
        Width of every GIN layer.
    dropout : float in [0, 1), default 0.5
        Dropout of the read-out (after each layer's linear map).
    layers : int, default 4
        GIN layers; with the input layer that makes Xu et al.'s 5 "GNN layers".

    Returns
    -------
    modules : list of :class:`Tapped` (:class:`GINBlock`)
        Layer ``l``: ``h^{(l)} = ReLU(BN(MLP(h^{(l-1)} + Σ_{u ∈ N(v)} h_u^{(l-1)})))``, MLP = Linear-BN-ReLU-Linear
        (GIN-0: ``(1 + ε) h_v`` with ε = 0, not learnt).
    head : :class:`AllLayerReadout`
        ``score(G) = Σ_{l=0}^{L} Dropout(W_l · Σ_{v ∈ G} h_v^{(l)})``.

    Notes
    -----
    The modules are what :class:`pidlearn.backends.torch.mole.MOLE` trains one by one (each on ``I(T_l; Y)`` of its
    sum-pooled output) and the head its classifier; backprop trains the same network end to end. Weights come from
    torch's global generator (call ``torch.manual_seed`` first for reproducible runs).

    References
    ----------
    K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph neural networks?", ICLR 2019.
    """
    for name, value, low in (("in_features", in_features, 1), ("n_classes", n_classes, 2), ("hidden", hidden, 1),
                             ("layers", layers, 1)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be at least {low}, got {value}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
    in_features, n_classes, hidden, layers = int(in_features), int(n_classes), int(hidden), int(layers)
    blocks = []
    for k in range(layers):
        block = GINBlock(in_features if k == 0 else hidden, hidden)
        block.conv.eps = None  # GIN-0: ε fixed at 0
        blocks.append(Tapped(block))
    return blocks, AllLayerReadout([in_features] + [hidden] * layers, n_classes, float(dropout))
