"""Make ``pidlearn/data/mnist_small.npz``: a deterministic, class-balanced subset of MNIST.

600 training images per class (6000) and 100 test images per class (1000): the first ones of each class in the
original file order, so that the choice needs no random numbers. Usage::

    python scripts/make_mnist_small.py ../shared/datasets/mnist
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from pidlearn.idx import load_mnist


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    idx = np.concatenate([np.flatnonzero(labels == k)[:per_class] for k in range(10)])
    return np.sort(idx)


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"
    out = Path(__file__).resolve().parents[1] / "pidlearn" / "data" / "mnist_small.npz"
    x_tr, y_tr = load_mnist(src, "train")
    x_te, y_te = load_mnist(src, "test")
    i_tr, i_te = first_per_class(y_tr, 600), first_per_class(y_te, 100)
    np.savez_compressed(out, x_train=x_tr[i_tr], y_train=y_tr[i_tr], x_test=x_te[i_te], y_test=y_te[i_te])
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {len(i_tr)} train, {len(i_te)} test")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
