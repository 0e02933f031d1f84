"""Checkpoints of the torch trainers: ``torch.save`` written atomically, read back with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["TorchCheckpoint"]


class TorchCheckpoint:
    """``save`` / ``load`` for a class with ``state_dict()`` / ``load_state_dict(state)`` (tensors, numbers, lists,
    dicts and strings only, so that ``torch.load(..., weights_only=True)`` reads it without running pickle code)."""

    def save(self, path) -> None:
        """Write a checkpoint with ``torch.save`` (atomically: a temporary file is renamed)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)

    def load(self, path) -> None:
        """Resume from a checkpoint written by :meth:`save` (``torch.load(..., weights_only=True)``: no pickle code)."""
        state = torch.load(path, weights_only=True)
        try:
            self.load_state_dict(state)
        except (RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"checkpoint {path} does not match this {type(self).__name__}: {exc}") from None
