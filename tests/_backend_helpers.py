"""One adapter per learning backend, so that ``tests/test_backends_contract.py`` states each expectation once.

:class:`Backend` wraps ``pidlearn.backends.get(name)``: it converts NumPy arrays to the backend's arrays and back,
seeds what the backend seeds its initial weights with (a ``seed=`` argument in NumPy, torch's global generator in
torch), and builds the same tiny MOLE modules (MLP, CNN, GCN, GIN) in either backend. The synthetic tasks are
NumPy arrays made from fixed seeds, separable enough that a few epochs of any of the learners score far above
chance on held-out samples.
"""

from __future__ import annotations

import importlib

import numpy as np

from pidlearn import backends

__all__ = ["BACKEND_NAMES", "TASKS", "Backend", "blobs", "graph_task", "grid_task", "mlp_task", "node_task"]

BACKEND_NAMES = ("numpy", "torch")


class Backend:
    """The backend called ``name`` and the few calls in which the two backends' APIs differ by design."""

    def __init__(self, name: str):
        self.name = name
        self.module = backends.get(name)
        sub = {
            m: importlib.import_module(f"pidlearn.backends.{name}.{m}")
            for m in ("train", "unsupervised", "memory", "mole")
        }
        self.train, self.unsupervised, self.memory, self.mole = sub.values()
        self.torch = importlib.import_module("torch") if name == "torch" else None
        self.suffix = ".pt" if name == "torch" else ".npz"

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"

    # arrays ---------------------------------------------------------------------------------------------------------
    def array(self, a):
        """``a`` (a NumPy array) as an array of this backend (the same dtype)."""
        return self.torch.from_numpy(np.ascontiguousarray(a)) if self.torch else np.asarray(a)

    def numpy(self, a) -> np.ndarray:
        """A backend array (or a scalar) as a NumPy array."""
        if self.torch is not None and isinstance(a, self.torch.Tensor):
            return a.detach().cpu().numpy()
        return np.asarray(a)

    def is_array(self, a) -> bool:
        return isinstance(a, self.torch.Tensor) if self.torch else isinstance(a, np.ndarray)

    def dtype_name(self, a) -> str:
        """``"float32"``, ``"int64"``, ``"bool"``, ... of a backend array."""
        return str(a.dtype).removeprefix("torch.")

    def state(self, obj) -> dict[str, np.ndarray]:
        """``obj.state_dict()`` (a layer, network or memory) as NumPy arrays."""
        return {k: self.numpy(v).copy() for k, v in obj.state_dict().items()}

    def seed_global(self, seed: int) -> None:
        """torch draws initial weights from its global generator; NumPy objects take ``seed=`` instead."""
        if self.torch is not None:
            self.torch.manual_seed(seed)

    # the three infomorphic tasks ------------------------------------------------------------------------------------
    def network(self, n_inputs: int, n_classes: int, *, seed: int = 0, **kw):
        """An ``InfomorphicNetwork`` whose initial weights come from ``seed``."""
        if self.torch is not None:
            self.torch.manual_seed(seed)
            return self.train.InfomorphicNetwork(n_inputs, n_classes, **kw)
        return self.train.InfomorphicNetwork(n_inputs, n_classes, seed=seed, **kw)

    def memory_net(self, n_neurons: int, *, seed: int = 0, **kw):
        """An ``InfomorphicMemory`` whose initial recurrent weights come from ``seed``."""
        if self.torch is not None:
            self.torch.manual_seed(seed)
            return self.memory.InfomorphicMemory(n_neurons, **kw)
        return self.memory.InfomorphicMemory(n_neurons, seed=seed, **kw)

    # MOLE -----------------------------------------------------------------------------------------------------------
    def mole_modules(self, kind: str, in_features: int, hidden: int, *, seed: int = 0) -> list:
        """Two MOLE modules of ``kind`` ("mlp", "cnn", "gcn", "gin"), initial weights from ``seed``."""
        if self.torch is not None:
            torch = self.torch
            from pidlearn.backends.torch import graph

            torch.manual_seed(seed)
            nn = torch.nn
            if kind == "mlp":
                return [
                    nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU()),
                    nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU()),
                ]
            if kind == "cnn":
                return [
                    nn.Sequential(nn.Conv2d(in_features, hidden, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
                    nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
                ]
            if kind == "gcn":
                return [graph.GCNBlock(in_features, hidden, dropout=0.0), graph.GCNBlock(hidden, hidden, dropout=0.0)]
            if kind == "gin":
                return [graph.GINBlock(in_features, hidden), graph.GINBlock(hidden, hidden)]
            raise ValueError(kind)
        nn = self.module.nn
        rng = np.random.default_rng(seed)
        if kind == "mlp":
            return [
                nn.Sequential(nn.Linear(in_features, hidden, seed=rng), nn.ReLU()),
                nn.Sequential(nn.Linear(hidden, hidden, seed=rng), nn.ReLU()),
            ]
        if kind == "cnn":
            return [
                nn.Sequential(nn.Conv2d(in_features, hidden, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2)),
                nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2)),
            ]
        if kind == "gcn":
            return [nn.GCNBlock(in_features, hidden, 0.0, seed=rng), nn.GCNBlock(hidden, hidden, 0.0, seed=rng)]
        if kind == "gin":
            return [nn.GINBlock(in_features, hidden, seed=rng), nn.GINBlock(hidden, hidden, seed=rng)]
        raise ValueError(kind)

    def graph_batch(self, x, edges, *, graph=None, index=None):
        """A ``GraphBatch`` of this backend from NumPy arrays."""
        if self.torch is not None:
            from pidlearn.backends.torch.graph import GraphBatch

            return GraphBatch(
                self.array(x),
                self.array(edges),
                graph=None if graph is None else self.array(graph),
                index=None if index is None else self.array(index),
            )
        return self.module.nn.GraphBatch(x, edges, graph=graph, index=index)

    def mole_data(self, task: dict):
        """``(train, test)`` MOLE data of a task of :func:`blobs`, :func:`grid_task`, :func:`node_task` or
        :func:`graph_task`: (x, y) arrays, or lists of (GraphBatch, labels) batches."""
        if task["kind"] in ("mlp", "cnn"):
            return tuple((self.array(x), self.array(y)) for x, y in (task["train"], task["test"]))
        if task["kind"] == "gcn":
            g = self.graph_batch(task["x"], task["edges"])
            return tuple(
                [(g.with_index(self.array(idx)), self.array(task["y"][idx]))] for idx in (task["train"], task["test"])
            )
        return tuple(
            [(self.graph_batch(x, e, graph=gid), self.array(y)) for x, e, gid, y in task[part]]
            for part in ("train", "test")
        )

    def module_weights(self, trainer) -> dict[str, np.ndarray]:
        """Every module's and the head's parameters of a MOLE trainer, as NumPy arrays."""
        out = {}
        for k, m in enumerate(trainer.modules):
            out.update({f"{k}.{n}": self.numpy(v).copy() for n, v in m.state_dict().items()})
        out.update({f"head.{n}": self.numpy(v).copy() for n, v in trainer.head.state_dict().items()})
        return out


# ------------------------------------------------------------------------------------------------------------------
# tiny separable tasks (NumPy arrays; fixed seeds)
def blobs(n: int = 240, d: int = 10, n_classes: int = 3, *, seed: int = 0, spread: float = 1.0):
    """Gaussian clusters with centres ``3 · N(0, I)``: ``(x float32 (n, d), y int64 (n,))``, classes balanced."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((n_classes, d))
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    x = centres[y] + spread * rng.standard_normal((n, d))
    return x.astype(np.float32), y.astype(np.int64)


def _split(x, y, n_test):
    return (x[:-n_test], y[:-n_test]), (x[-n_test:], y[-n_test:])


def mlp_task(seed: int = 0) -> dict:
    x, y = blobs(256 + 96, 8, 3, seed=seed)
    train, test = _split(x, y, 96)
    return {"kind": "mlp", "train": train, "test": test, "in_features": 8, "n_classes": 3}


def grid_task(seed: int = 0) -> dict:
    """8×8 one-channel images: class ``c`` lights quadrant ``c`` (of three) under unit Gaussian noise."""
    rng = np.random.default_rng(seed)
    n = 256 + 96
    y = np.arange(n) % 3
    rng.shuffle(y)
    x = rng.standard_normal((n, 1, 8, 8))
    for c, (r, col) in enumerate(((0, 0), (0, 4), (4, 0))):
        x[y == c, 0, r : r + 4, col : col + 4] += 1.5
    train, test = _split(x.astype(np.float32), y.astype(np.int64), 96)
    return {"kind": "cnn", "train": train, "test": test, "in_features": 1, "n_classes": 3}


def node_task(seed: int = 0) -> dict:
    """A stochastic block model of three communities (p_in 0.15, p_out 0.01) with noisy one-hot features."""
    rng = np.random.default_rng(seed)
    n = 240
    y = np.arange(n) % 3
    rng.shuffle(y)
    p = np.where(y[:, None] == y[None], 0.15, 0.01)
    upper = np.triu(rng.random((n, n)) < p, 1)
    src, dst = np.nonzero(upper)
    edges = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], axis=1).astype(np.int64)
    x = (np.eye(3)[y] + 0.8 * rng.standard_normal((n, 3))).astype(np.float32)
    order = rng.permutation(n)
    return {"kind": "gcn", "x": x, "edges": edges, "y": y.astype(np.int64), "train": np.sort(order[:144]),
            "test": np.sort(order[144:]), "in_features": 3, "n_classes": 3}  # fmt: skip


def _graphs(rng, n_graphs: int):
    """Random connected graphs of 3-4 or 8-9 nodes, labelled by size (node features: ones and noise)."""
    sizes = rng.integers(3, 5, n_graphs) + 5 * rng.integers(0, 2, n_graphs)
    graph = np.repeat(np.arange(n_graphs), sizes)
    edges, start = [], 0
    for s in sizes:
        for i in range(s):
            for j in range(i + 1, s):
                if j == i + 1 or rng.random() < 0.3:
                    edges += [(start + i, start + j), (start + j, start + i)]
        start += s
    x = np.concatenate([np.ones((len(graph), 1)), 0.1 * rng.standard_normal((len(graph), 2))], axis=1)
    return x.astype(np.float32), np.asarray(edges, dtype=np.int64).T, graph, (sizes > 5).astype(np.int64)


def graph_task(seed: int = 0) -> dict:
    """Graph classification by size: 2 training batches of 48 graphs, 1 test batch of 64."""
    rng = np.random.default_rng(seed)
    batches = [_graphs(rng, 48), _graphs(rng, 48), _graphs(rng, 64)]
    return {"kind": "gin", "train": batches[:2], "test": batches[2:], "in_features": 3, "n_classes": 2}


TASKS = {"mlp": mlp_task, "cnn": grid_task, "gcn": node_task, "gin": graph_task}
