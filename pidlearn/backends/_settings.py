"""Layer settings shared by both learning backends: validated once, the same errors in NumPy and torch."""

from __future__ import annotations

import functools
import numbers

import numpy as np

__all__ = [
    "KAY_PHILLIPS_MAX_EXPONENT",
    "NON_FINITE_DRIVES",
    "check_int",
    "check_n_bins",
    "check_size",
    "layer_settings",
]

#: The exponent ``k2 · r · c`` of the Kay & Phillips activation is clipped here: beyond it ``|A| ≥ 1.6e12 · |r|``, so
#: θ sits at its clamp for any ``|r| > 1e-11`` and the clip changes nothing but keeps ``exp`` (and, through the
#: clamp's zero derivative, the gradients) finite instead of ``inf · 0 = NaN``.
KAY_PHILLIPS_MAX_EXPONENT = 30.0

#: The error both backends raise when a layer's drives are not finite (instead of NaN bins deep in a kernel).
NON_FINITE_DRIVES = (
    "the neurons' drives (r = w_R·x_R + b_R, c, l) contain NaN or inf: the inputs contain NaN/inf, or the weights "
    "diverged during training (lower the learning rate, or use a bounded activation)"
)


def check_int(name: str, value, least: int) -> int:
    """Validate an int (NumPy integers included, bools not) of at least ``least`` and return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{name} must be an int of at least {least}, got {value!r}")
    return int(value)


def check_size(name: str, value) -> int:
    """Validate a size (a positive int) and return it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_n_bins(n_bins) -> int:
    """Validate a number of bins (an int ``>= 2``) and return it."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)):
        raise TypeError(f"n_bins must be an int, got {n_bins!r}")
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2 (one bin carries no information), got {n_bins}")
    return int(n_bins)


def layer_settings(
    activations: dict,
    *,
    n_receptive,
    n_context,
    n_neurons,
    lateral: bool,
    n_bins,
    activation: str | None,
    activation_kwargs: dict | None,
    binning: str | None,
    bin_range: float,
) -> dict:
    """The checked settings of an infomorphic layer, as attributes to set on it.

    ``activations`` is the backend's table ``name -> (function, number of input classes)``. Lateral layers have
    three sources (R, C, L) and default to the trivariate activation with fixed bins; others have two and default to
    the bivariate activation with adaptive bins.
    """
    sizes = {
        name: check_size(name, value)
        for name, value in (("n_receptive", n_receptive), ("n_context", n_context), ("n_neurons", n_neurons))
    }
    lateral = bool(lateral)
    n_sources = 3 if lateral else 2
    n_bins = check_n_bins(n_bins)
    activation = activation or ("trivariate" if lateral else "bivariate")
    if activation not in activations:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(activations)}")
    fn, n_inputs = activations[activation]
    if n_inputs != n_sources:
        raise ValueError(
            f"activation {activation!r} takes {n_inputs} input classes but the layer has {n_sources} "
            f"({'with' if lateral else 'without'} lateral inputs)"
        )
    binning = binning or ("fixed" if lateral else "adaptive")
    if binning not in ("adaptive", "fixed"):
        raise ValueError(f"binning must be 'adaptive' or 'fixed', got {binning!r}")
    return {
        **sizes,
        "lateral": lateral,
        "n_sources": n_sources,
        "n_bins": n_bins,
        "activation": activation,
        "_activation": functools.partial(fn, **(activation_kwargs or {})),
        "binning": binning,
        "bin_range": float(bin_range),
    }
