"""One memory rule for the whole library: refuse an allocation past a limit instead of failing in the allocator.

The limit is :data:`MEMORY_FRACTION` (half) of the machine's physical memory (of the GPU's memory for a CUDA device),
or ``PIDLEARN_MEMORY_LIMIT_GIB`` GiB when that environment variable is set. Estimators that build large tables
(the matrix-based Rényi Gram matrices, the learning backends' scratch tables) estimate their bytes first and call
:func:`check_memory`, which raises a ``ValueError`` quoting the size, the formula and the fix.

This module is core: it imports neither torch nor the backends (torch only when a CUDA device is named).
"""

from __future__ import annotations

import os

__all__ = ["FALLBACK_MEMORY_LIMIT", "MEMORY_FRACTION", "check_memory", "format_bytes", "memory_limit"]

#: Fraction of the physical memory (of the GPU's memory for CUDA tensors) one allocation may take; the environment
#: variable ``PIDLEARN_MEMORY_LIMIT_GIB`` sets the limit in GiB instead.
MEMORY_FRACTION = 0.5

#: The limit when the physical memory cannot be read (``os.sysconf`` unavailable).
FALLBACK_MEMORY_LIMIT = 16 * 2**30


def memory_limit(device=None) -> int:
    """Bytes one allocation may take.

    Parameters
    ----------
    device : torch.device or str, optional
        A CUDA device: the limit is a fraction of its memory; anything else (or ``None``): of the host's.

    Returns
    -------
    int
        ``PIDLEARN_MEMORY_LIMIT_GIB`` GiB when set, else :data:`MEMORY_FRACTION` of the physical memory
        (:data:`FALLBACK_MEMORY_LIMIT` when it cannot be read).
    """
    env = os.environ.get("PIDLEARN_MEMORY_LIMIT_GIB")
    if env:
        try:
            return int(float(env) * 2**30)
        except ValueError:
            raise ValueError(f"PIDLEARN_MEMORY_LIMIT_GIB must be a number of GiB, got {env!r}") from None
    total = None
    if device is not None and getattr(device, "type", str(device).split(":")[0]) == "cuda":
        try:
            import torch

            total = torch.cuda.get_device_properties(device).total_memory
        except Exception:  # no CUDA runtime: fall back to the host's memory
            total = None
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):
            return FALLBACK_MEMORY_LIMIT
    return int(MEMORY_FRACTION * total)


def format_bytes(n_bytes: float) -> str:
    """``n_bytes`` in GiB with 3 significant digits, e.g. ``"2.98 GiB"``."""
    return f"{n_bytes / 2**30:.3g} GiB"


def check_memory(n_bytes: int, formula: str, fix: str, device=None) -> None:
    """Refuse an allocation of ``n_bytes`` past :func:`memory_limit`.

    Parameters
    ----------
    n_bytes : int
        Estimated size of the allocation.
    formula : str
        How ``n_bytes`` was computed, quoted in the message (e.g. ``"N² × 8 bytes for the N × N Gram matrix"``).
    fix : str
        What the caller can do instead, quoted at the end of the message.
    device : torch.device or str, optional
        See :func:`memory_limit`.

    Raises
    ------
    ValueError
        ``"this needs X GiB (formula), more than the limit of Y GiB (...); fix"``.
    """
    limit = memory_limit(device)
    if n_bytes > limit:
        raise ValueError(
            f"this needs {format_bytes(n_bytes)} ({formula}), more than the limit of {format_bytes(limit)} "
            f"({MEMORY_FRACTION:g} of physical memory, or PIDLEARN_MEMORY_LIMIT_GIB); {fix}"
        )
