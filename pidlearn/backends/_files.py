"""Checkpoint files of both learning backends: what a file is, before any loader parses it.

``torch.save`` and ``np.savez`` both write zip archives; a torch archive holds ``<name>/data.pkl``, a NumPy one only
``*.npy`` members. :func:`checkpoint_kind` tells them apart (and empty, truncated or foreign files) by reading the zip
directory only, so that each backend's ``load`` can say which file is wrong and how, instead of an ``EOFError``,
``OSError`` or ``KeyError`` from deep inside ``torch.load`` / ``np.load``. Nothing is unpickled here.

Checkpoints written by pidlearn carry a marker, ``"_pidlearn": {"backend": ..., "class": ...}`` (torch) or the
JSON array ``_pidlearn`` (NumPy); files without it (older pidlearn) are read as before.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "LOADERS",
    "MARKER",
    "checkpoint_kind",
    "checkpoint_path",
    "corrupt",
    "load_npz_checkpoint",
    "not_a_checkpoint",
    "save_npz_checkpoint",
    "wrong_backend",
]

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


# ------------------------------------------------------------------------------------------------------------------
# the NumPy backend's checkpoints (every trainer of it writes and reads them here)
def save_npz_checkpoint(path, owner) -> None:
    """Write ``owner.state_dict()`` with ``np.savez`` and the marker ``{"backend": "numpy", "class": ...}``,
    atomically (a temporary file is renamed over ``path``; no pickle)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    marker = json.dumps({"backend": "numpy", "class": type(owner).__name__, "version": 1})
    np.savez(tmp, **owner.state_dict(), **{MARKER: np.array(marker)})
    tmp.replace(path)


def load_npz_checkpoint(path, owner, *, require_marker: bool = False) -> None:
    """Read a checkpoint of :func:`save_npz_checkpoint` (``allow_pickle=False``) into ``owner.load_state_dict``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is a directory, empty, truncated or corrupt, not a pidlearn checkpoint (or has no marker while
        ``require_marker``), written by the torch backend or by another class, or does not match ``owner``.
    """
    kind = checkpoint_kind(path)
    if kind != "numpy":
        raise wrong_backend(path, kind, "numpy")
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except ValueError as exc:  # object arrays (allow_pickle=False) or a malformed .npy header
        raise not_a_checkpoint(path, str(exc)) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise corrupt(path, f"{type(exc).__name__}: {exc}") from None
    name = type(owner).__name__
    marker = state.pop(MARKER, None)
    if marker is None:
        if require_marker:
            raise not_a_checkpoint(path, f"it carries no pidlearn marker, as a NumPy {name} writes")
    else:
        try:
            info = json.loads(str(marker))
            backend, cls = info.get("backend"), info.get("class")
        except (ValueError, AttributeError):
            backend = cls = None
        if backend != "numpy":
            raise not_a_checkpoint(path, f"its marker names backend {backend!r}")
        if cls not in (None, name):
            raise ValueError(f"checkpoint {path} was written by a {cls}, not a {name}; load it with {cls}.load")
    try:
        owner.load_state_dict(state)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        detail = f"missing entry {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(
            f"checkpoint {path} does not match this {name} (a checkpoint of another network or settings?): {detail}"
        ) from None
