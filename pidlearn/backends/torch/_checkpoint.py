"""Checkpoints of the torch trainers: ``torch.save`` written atomically, read back with ``weights_only=True``."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from pidlearn.backends._files import MARKER, checkpoint_kind, corrupt, not_a_checkpoint, wrong_backend

__all__ = ["TorchCheckpoint", "read_checkpoint"]


def read_checkpoint(path, owner: str) -> dict:
    """The state dict of a torch checkpoint of class ``owner``, or a ``ValueError`` that names the file and the fault.

    ``torch.load(..., weights_only=True)``: no pickle code runs. Empty, truncated, foreign and NumPy-backend files,
    states that are not dicts and checkpoints of another class are refused before any trainer reads them.
    """
    kind = checkpoint_kind(path)
    if kind != "torch":
        raise wrong_backend(path, kind, "torch")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise not_a_checkpoint(path, f"it holds objects other than tensors, numbers and containers ({exc})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise corrupt(path, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(state, dict):
        raise not_a_checkpoint(path, f"it holds a {type(state).__name__}, not the state dict a trainer saves")
    marker = state.pop(MARKER, None)
    if isinstance(marker, dict):
        if marker.get("backend") != "torch":
            raise wrong_backend(path, str(marker.get("backend")), "torch")
        if marker.get("class") not in (None, owner):
            raise ValueError(
                f"checkpoint {path} was written by a {marker['class']}, not a {owner}; load it with "
                f"{marker['class']}.load"
            )
    return state


class TorchCheckpoint:
    """``save`` / ``load`` for a class with ``state_dict()`` / ``load_state_dict(state)`` (tensors, numbers, lists,
    dicts and strings only, so that ``torch.load(..., weights_only=True)`` reads it without running pickle code)."""

    def save(self, path) -> None:
        """Write a checkpoint with ``torch.save`` (atomically: a temporary file is renamed)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        state = {**self.state_dict(), MARKER: {"backend": "torch", "class": type(self).__name__, "version": 1}}
        torch.save(state, tmp)
        tmp.replace(path)

    def load(self, path) -> None:
        """Resume from a checkpoint written by :meth:`save` (``torch.load(..., weights_only=True)``: no pickle code).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If ``path`` is a directory, empty, truncated or corrupt, not a pidlearn checkpoint, written by the NumPy
            backend or by another trainer class, or does not match this trainer's network.
        """
        state = read_checkpoint(path, type(self).__name__)
        try:
            self.load_state_dict(state)
        except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            detail = f"missing entry {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(
                f"checkpoint {path} does not match this {type(self).__name__} (a checkpoint of another network or "
                f"settings?): {detail}"
            ) from None
