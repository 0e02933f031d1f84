"""Checkpoint files of both learning backends: what a file is, before any loader parses it.

``torch.save`` and ``np.savez`` both write zip archives; a torch archive holds ``<name>/data.pkl``, a NumPy one only
``*.npy`` members. :func:`checkpoint_kind` tells them apart (and empty, truncated or foreign files) by reading the zip
directory only, so that each backend's ``load`` can say which file is wrong and how, instead of an ``EOFError``,
``OSError`` or ``KeyError`` from deep inside ``torch.load`` / ``np.load``. Nothing is unpickled here.

Checkpoints written by pidlearn carry a marker, ``"_pidlearn": {"backend": ..., "class": ...}`` (torch) or the
JSON array ``_pidlearn`` (NumPy); files without it (older pidlearn) are read as before.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

__all__ = ["LOADERS", "MARKER", "checkpoint_kind", "checkpoint_path", "corrupt", "not_a_checkpoint", "wrong_backend"]

#: Key of the marker in a checkpoint's state.
MARKER = "_pidlearn"

#: How to load a checkpoint of each backend (for the messages).
LOADERS = {
    "torch": "pidlearn.backends.torch (Trainer.load, MOLE.load, Backprop.load or UnsupervisedTrainer.load)",
    "numpy": "pidlearn.backends.numpy (Trainer.load, MOLE.load or UnsupervisedTrainer.load)",
}


def checkpoint_path(path) -> Path:
    """``path`` as a Path to an existing regular file, or ``FileNotFoundError`` / ``ValueError`` naming it."""
    if isinstance(path, bool) or (not isinstance(path, (str, bytes, Path)) and not hasattr(path, "__fspath__")):
        raise TypeError(f"checkpoint must be a path (str or pathlib.Path), got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"checkpoint {path} is a directory; give the checkpoint file inside it")
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    return path


def not_a_checkpoint(path, detail: str) -> ValueError:
    return ValueError(f"checkpoint {path} is not a pidlearn checkpoint: {detail}")


def corrupt(path, detail: str) -> ValueError:
    return ValueError(
        f"checkpoint {path} is truncated or corrupt ({detail}); it was probably cut off while being written or "
        "copied: use an intact copy, or delete it to start afresh"
    )


def checkpoint_kind(path) -> str:
    """``"torch"`` or ``"numpy"`` for the zip archive of a checkpoint; ``ValueError`` for anything else."""
    path = checkpoint_path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ValueError(f"checkpoint {path} cannot be read: {exc.strerror or exc}") from None
    if size == 0:
        raise corrupt(path, "the file is empty, 0 bytes")
    if head != b"PK\x03\x04":
        raise not_a_checkpoint(
            path, f"it is not a zip archive (starts with {head!r}), as torch.save and np.savez write"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise corrupt(path, f"bad zip archive: {exc}") from None
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        return "torch"
    if names and all(n.endswith(".npy") for n in names):
        return "numpy"
    raise not_a_checkpoint(path, f"a zip archive of {len(names)} files that neither torch.save nor np.savez wrote")


def wrong_backend(path, kind: str, expected: str) -> ValueError:
    return ValueError(
        f"checkpoint {path} was written by the {kind} backend, not the {expected} one; load it with {LOADERS[kind]}"
    )
