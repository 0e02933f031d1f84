"""IDX files (MNIST, Fashion-MNIST) without pickle, and the small MNIST subset bundled with pidlearn.

IDX layout: a big-endian header — two zero bytes, a type code (``0x08`` = uint8), the number of dimensions ``d`` —
then ``d`` big-endian uint32 sizes, then the raw data in C order. Files may be gzipped (``.gz``).
"""

from __future__ import annotations

import gzip
import zlib
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["load_mnist", "load_mnist_small", "read_idx"]

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a numpy array.

    Raises
    ------
    ValueError
        If the header is not an IDX header or the data size does not match it.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not an IDX file")
    with path.open("rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(
            f"{path} is a truncated or corrupt gzip file ({type(exc).__name__}: {exc}); download it again"
        ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    dtype = np.dtype(_DTYPES[raw[2]])
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} is truncated: its header announces {ndim} dimensions but the file ends first")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    count = int(np.prod(shape)) if shape else 1
    if len(raw) - offset != count * dtype.itemsize:
        raise ValueError(f"{path}: header announces shape {shape} but the file holds {len(raw) - offset} data bytes")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _find(directory: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"{directory} has no {stem}[.gz]; expected the standard MNIST IDX file names")


def load_mnist(directory, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images ``(n, 28, 28)`` uint8 and labels ``(n,)`` uint8 of MNIST-layout IDX files in ``directory``.

    Parameters
    ----------
    directory : path
        Folder with ``{train,t10k}-images-idx3-ubyte[.gz]`` and ``{train,t10k}-labels-idx1-ubyte[.gz]``
        (MNIST and Fashion-MNIST use these names).
    split : {"train", "test"}
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"dataset folder {directory} does not exist")
    prefix = "train" if split == "train" else "t10k"
    image_path = _find(directory, f"{prefix}-images-idx3-ubyte")
    label_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(image_path)
    labels = read_idx(label_path)
    # MNIST's headers: magic 0x00000803 (uint8, 3 dimensions) for images, 0x00000801 (uint8, 1 dimension) for labels
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"{image_path} holds {images.dtype} data of shape {images.shape}; MNIST images are uint8 of shape "
            "(n, rows, cols) (IDX magic 0x00000803)"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{label_path} holds {labels.dtype} data of shape {labels.shape}; MNIST labels are uint8 of shape (n,) "
            "(IDX magic 0x00000801)"
        )
    if len(images) != len(labels):
        raise ValueError(f"{directory}: {len(images)} images but {len(labels)} labels in the {split} split")
    if len(labels) == 0:
        raise ValueError(f"{label_path} holds no labels: the {split} split is empty")
    if int(labels.max()) > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise ValueError(
            f"{label_path} holds labels up to {int(labels.max())} (first at sample {bad}); MNIST-layout labels are "
            "the classes 0..9: the file is corrupt or not MNIST/Fashion-MNIST"
        )
    return images, labels


def load_mnist_small() -> dict[str, np.ndarray]:
    """The MNIST subset shipped with pidlearn: ``x_train`` (6000, 28, 28), ``y_train``, ``x_test`` (1000, 28, 28),
    ``y_test`` (uint8). Made by ``scripts/make_mnist_small.py``; MNIST by Y. LeCun and C. Cortes, CC BY-SA 3.0
    (see ``pidlearn/data/MNIST_LICENSE.txt``)."""
    ref = resources.files("pidlearn") / "data" / "mnist_small.npz"
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
