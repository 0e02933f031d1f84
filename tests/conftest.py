"""Shared fixtures: the ``../shared`` folder beside the project root (datasets and reference values), and the GIN
protocol runner of ``benchmarks/``."""

import importlib.util
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ``../shared``; tests that use it skip with a clear reason when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: reference values and datasets are unavailable")
    return SHARED


@pytest.fixture(scope="session")
def gin_protocols():
    """The module ``benchmarks/gin_protocols.py`` (Xu's and Errica's GIN protocols), loaded from its file."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gin_protocols.py"
    spec = importlib.util.spec_from_file_location("gin_protocols", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def toy_graphs():
    """A builder ``toy_graphs(n_graphs, seed=0)`` of small TU-style graph sets: random paths of 4–8 nodes with 3 node
    tags, label 1 when tag 2 is the most frequent tag (learnable from sums)."""
    import numpy as np

    def build(n_graphs: int, seed: int = 0):
        from pidlearn.backends.torch.mole_data import TUDataset

        rng = np.random.default_rng(seed)
        tags, ptr, edges, labels = [], [0], [], []
        for _ in range(n_graphs):
            n = int(rng.integers(4, 9))
            t = rng.integers(0, 3, n)
            src = np.arange(n - 1) + ptr[-1]  # a path, both directions
            edges.append(np.stack([np.r_[src, src + 1], np.r_[src + 1, src]]))
            tags.append(t)
            labels.append(int(np.bincount(t, minlength=3).argmax() == 2))
            ptr.append(ptr[-1] + n)
        return TUDataset(np.concatenate(tags), np.array(ptr), np.concatenate(edges, axis=1), np.array(labels))

    return build
