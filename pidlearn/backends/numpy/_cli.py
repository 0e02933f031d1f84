"""Moved: ``pidlearn train --backend numpy`` is :mod:`pidlearn._cli_train_numpy` (the CLI layer).

A backend never imports the CLI, so this old address resolves its names only when asked for (``run``), without
importing the CLI when the backend is imported.
"""

from __future__ import annotations

__all__ = ["run"]  # noqa: F822  (resolved by __getattr__)


def __getattr__(name: str):
    if name in ("run", "_limits", "_supervised"):
        import pidlearn._cli_train_numpy as moved  # lazy on purpose: see the module docstring

        return getattr(moved, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
