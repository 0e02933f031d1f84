"""Layer settings shared by both learning backends: validated once, the same errors in NumPy and torch."""

from __future__ import annotations

import functools
import inspect
import math
import numbers

import numpy as np

# the memory rule is the core's (pidlearn._memory), re-exported under the names the backends always used
from pidlearn._memory import FALLBACK_MEMORY_LIMIT, MEMORY_FRACTION, memory_limit
from pidlearn._memory import check_memory as _check_memory

__all__ = [
    "FALLBACK_MEMORY_LIMIT",
    "KAY_PHILLIPS_MAX_EXPONENT",
    "LOAD_BEFORE_PREPARE",
    "MEMORY_FRACTION",
    "MOLE_SCHEDULES",
    "NON_FINITE_DRIVES",
    "NON_FINITE_INPUTS",
    "all_finite",
    "as_generator",
    "check_class_labels",
    "check_epochs",
    "check_finite_inputs",
    "check_finite_number",
    "check_input_width",
    "check_int",
    "check_learning_rate",
    "check_memory",
    "check_n_bins",
    "check_network_sizes",
    "check_patterns",
    "check_probe_inputs",
    "check_seed",
    "check_size",
    "check_weight_decay",
    "diverged_message",
    "input_width",
    "layer_settings",
    "memory_limit",
    "mole_settings",
    "stack_settings",
]

#: The exponent ``k2 · r · c`` of the Kay & Phillips activation is clipped here: beyond it ``|A| ≥ 1.6e12 · |r|``, so
#: θ sits at its clamp for any ``|r| > 1e-11`` and the clip changes nothing but keeps ``exp`` (and, through the
#: clamp's zero derivative, the gradients) finite instead of ``inf · 0 = NaN``.
KAY_PHILLIPS_MAX_EXPONENT = 30.0

#: The error both backends raise when a layer's drives are not finite (instead of NaN bins deep in a kernel).
#: Message of a module-wise trainer (MOLE, Backprop; both backends) given NaN/inf training inputs.
NON_FINITE_INPUTS = (
    "the training inputs contain NaN or inf; remove or impute those samples before fit (the estimators' "
    "eigendecompositions and every gradient would turn NaN)"
)


def diverged_message(epoch: int, what: str, lr: float) -> str:
    """Message of a module-wise trainer whose training turned NaN in ``epoch`` (1-based) at learning rate ``lr``."""
    return (
        f"training diverged in epoch {epoch}: {what}. Try a smaller learning rate (lr={lr}, e.g. lr / 10), "
        "standardised inputs, or resume from the last checkpoint"
    )


NON_FINITE_DRIVES = (
    "the neurons' drives (r = w_R·x_R + b_R, c, l) contain NaN or inf: the inputs contain NaN/inf, or the weights "
    "diverged during training (lower the learning rate, or use a bounded activation)"
)


def check_memory(n_bytes: int, formula: str, fix: str = "reduce n_bins or the number of neurons", device=None) -> None:
    """Refuse (``ValueError``) an allocation of ``n_bytes`` past :func:`memory_limit`, quoting ``formula``."""
    _check_memory(n_bytes, formula, fix, device=device)


def table_size(n_bins) -> int:
    """Slots of the marginal tables of one neuron: ``Σ_g Π_{i∈g} K_i`` over the non-empty source sets ``g``
    (``K² + 2K`` for two sources of ``K`` bins)."""
    n = len(n_bins)
    return sum(math.prod(n_bins[i] for i in range(n) if g >> i & 1) for g in range(1, 1 << n))


def check_finite_number(name: str, value, *, positive: bool = False) -> float:
    """Validate a finite real number (not a bool; ``> 0`` with ``positive``) and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a finite{' positive' if positive else ''} number, got {value!r}")
    return value


def check_learning_rate(name: str, value) -> float:
    """Validate a learning rate (a finite number ``> 0``; ``TypeError`` for a non-number) and return it as a float.

    Every optimiser of both backends takes its rates through here, so a bad ``lr_readout`` is refused with the
    caller's argument name, not deep inside ``torch.optim.Adam`` (or, in NumPy, not at all).
    """
    return check_finite_number(name, value, positive=True)


def check_weight_decay(name: str, value) -> float:
    """Validate an L2 weight decay (a finite number ``>= 0``) and return it as a float."""
    value = check_finite_number(name, value)
    if value < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (an L2 penalty; 0 turns it off), got {value!r}")
    return value


#: Largest trainer seed: ``seed + 1`` seeds the evaluation generator, and torch seeds are 64-bit.
MAX_SEED = 2**63 - 2


def check_seed(seed, name: str = "seed") -> int:
    """Validate a trainer seed (an int from 0 to :data:`MAX_SEED`; NumPy ints too) and return it as an int."""
    seed = check_int(name, seed, 0)
    if seed > MAX_SEED:
        raise ValueError(f"{name} must be an int from 0 to 2**63 - 2 (a generator seed), got {seed!r}")
    return seed


def as_generator(seed, name: str = "seed") -> np.random.Generator:
    """A NumPy ``Generator`` from ``seed``: a ``Generator`` (used as is), ``None`` (fresh entropy) or a checked
    :func:`check_seed` int (so that ``seed=-1`` is refused naming ``name``, not by NumPy's ``SeedSequence``)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(None if seed is None else check_seed(seed, name))


def check_epochs(epochs) -> int:
    """Validate ``fit``'s ``epochs`` (a positive int: ``-1`` would train nothing, ``1.5`` two epochs)."""
    return check_int("epochs", epochs, 1)


def check_callback(callback):
    """Validate a training ``callback`` (``callback(epoch) -> bool``, true stops training) or None."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable (epoch -> bool) or None, got {type(callback).__name__}")
    return callback


def check_network_sizes(n_inputs, n_classes, hidden) -> tuple[int, int, int]:
    """The checked sizes of a supervised ``InfomorphicNetwork`` of either backend: ``(n_inputs, n_classes, hidden)``.

    ``n_inputs >= 1`` features, ``n_classes >= 2`` labels (one class leaves nothing to predict and gives the
    readout's context a constant), ``hidden >= 0`` neurons (0: no hidden layer). Checked here, with the caller's
    names, before the layers check their own (``n_receptive``, ``n_context``).
    """
    if isinstance(hidden, bool) or not isinstance(hidden, numbers.Integral) or hidden < 0:
        raise ValueError(f"hidden must be a non-negative int, got {hidden!r}")
    return check_size("n_inputs", n_inputs), check_int("n_classes", n_classes, 2), int(hidden)


def all_finite(x) -> bool:
    """Whether every entry of a NumPy array or torch tensor is finite (no NaN, no inf).

    A torch tensor is summed first: NaN and inf propagate through a sum (``inf − inf`` is NaN), so a finite sum
    proves every entry finite, and the entry-wise test runs only when the sum is not (a NaN, an inf, or an overflow of
    finite entries). Torch's single-threaded ``isfinite(x).all()`` costs about 27 times the sum (1.85 against
    0.07 ms on a 1024 × 784 float32 batch); NumPy's is as fast as its sum, and used directly.
    """
    if hasattr(x, "isfinite"):
        return bool(x.sum().isfinite()) or bool(x.isfinite().all())
    return bool(np.isfinite(x).all())


def check_finite_inputs(x, name: str, *, before: str = "training"):
    """Refuse a NumPy array or torch tensor of inputs with NaN or inf (``ValueError`` naming ``name``); returns it.

    ``before`` ends the message ("remove or impute those samples before training"; ``"evaluating"`` for
    predictions and scores).
    """
    if not all_finite(x):
        raise ValueError(f"{name} contains NaN or inf; remove or impute those samples before {before}")
    return x


def check_probe_inputs(train_codes, train_labels, test_codes, test_labels) -> None:
    """Refuse linear-probe inputs (NumPy arrays or torch tensors, already converted) that do not fit together:
    2-d codes of one width, at least one of each, one integer label ``>= 0`` per code, finite codes."""
    if train_codes.ndim != 2 or test_codes.ndim != 2 or train_codes.shape[1] != test_codes.shape[1]:
        raise ValueError(
            f"codes must be 2-d with the same width, got {tuple(train_codes.shape)} and {tuple(test_codes.shape)}"
        )
    for codes, labels, part in ((train_codes, train_labels, "train"), (test_codes, test_labels, "test")):
        if tuple(labels.shape) != (len(codes),):
            raise ValueError(
                f"{part}_labels must have one entry per code, got shape {tuple(labels.shape)} for {len(codes)} codes"
            )
        if len(codes) == 0:
            raise ValueError(f"{part}_codes is empty; the probe needs at least one code to train and one to test")
        if int(labels.min()) < 0:
            raise ValueError(f"{part}_labels must be class indices >= 0, got {int(labels.min())}")
        check_finite_inputs(codes, f"{part}_codes")


def check_patterns(patterns, n_neurons: int, name: str = "patterns"):
    """Refuse memory patterns (a backend array, already of a float dtype) that are not ``(P >= 1, n_neurons)`` and
    finite; returns them unchanged."""
    if patterns.ndim != 2 or patterns.shape[1] != n_neurons or patterns.shape[0] == 0:
        raise ValueError(f"{name} must have shape (P, {n_neurons}) with P >= 1, got {tuple(patterns.shape)}")
    if not all_finite(patterns):
        raise ValueError(f"{name} contain NaN or inf; patterns are vectors in {{-1, +1}}^{n_neurons}")
    return patterns


def check_activation_kwargs(fn, activation: str, kwargs) -> dict:
    """The constants of an activation: names it takes (after its inputs) and finite numbers."""
    if kwargs is None:
        return {}
    if not isinstance(kwargs, dict):
        raise TypeError(f"activation_kwargs must be a dict of constants, got {type(kwargs).__name__}")
    params = inspect.signature(fn).parameters
    known = [k for k, p in params.items() if p.default is not inspect.Parameter.empty]
    out = {}
    for key, value in kwargs.items():
        if key not in known:
            raise ValueError(
                f"activation_kwargs names {key!r}, which activation {activation!r} does not take; "
                f"its constants are {', '.join(known) or 'none'}"
            )
        out[key] = check_finite_number(f"activation_kwargs[{key!r}]", value)
    return out


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
    n_r, n_c, n_n = sizes["n_receptive"], sizes["n_context"], sizes["n_neurons"]
    n_params = n_n * (n_r + n_c + (n_n if lateral else 0) + 3)
    # float64 weights and the optimiser's two moments and gradient: 4 copies (the check runs before allocating)
    check_memory(
        32 * n_params,
        f"{n_n} neurons × ({n_r} receptive + {n_c} context{f' + {n_n} lateral' if lateral else ''} + 3) weights × "
        "4 copies (weights, gradient, two Adam moments) × 8 bytes",
        fix="reduce n_receptive, n_context or n_neurons",
    )
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
        "_activation": functools.partial(fn, **check_activation_kwargs(fn, activation, activation_kwargs)),
        "binning": binning,
        "bin_range": check_finite_number("bin_range", bin_range, positive=True),
    }


# ------------------------------------------------------------------------------------------------------------------
# module-wise trainers (MOLE, Backprop) of both backends

#: The training schedules of MOLE (both backends).
MOLE_SCHEDULES = ("asynchronous", "sequential")

#: The ``RuntimeError`` of a module-wise trainer asked to ``load`` a checkpoint before ``prepare``: without the
#: optimisers (made by ``prepare``) their state in the checkpoint would be dropped and the resumed run would differ.
LOAD_BEFORE_PREPARE = "call prepare(data) before load(path): the lazy layers and optimisers need shapes"


def stack_settings(*, batch_size, lr, weight_decay, head_weight_decay, seed, n_classes) -> dict:
    """The checked settings every module-wise trainer of either backend shares (MOLE, Backprop).

    ``batch_size >= 2`` (the batch estimators need two samples), ``lr > 0`` finite, ``weight_decay >= 0`` finite,
    ``head_weight_decay`` the same or ``None`` (``weight_decay``), ``seed`` by :func:`check_seed`, ``n_classes``
    ``None`` or an int ``>= 2``. Returns them by name (Python ints and floats).
    """
    weight_decay = check_weight_decay("weight_decay", weight_decay)
    return {
        "batch_size": check_int("batch_size", batch_size, 2),
        "lr": check_learning_rate("lr", lr),
        "weight_decay": weight_decay,
        "head_weight_decay": (
            weight_decay if head_weight_decay is None else check_weight_decay("head_weight_decay", head_weight_decay)
        ),
        "seed": check_seed(seed),
        "n_classes": None if n_classes is None else check_int("n_classes", n_classes, 2),
    }


def mole_settings(*, schedule, beta, beta_on, lr, head_lr, head_epochs, patience, min_delta) -> dict:
    """The checked settings of MOLE's own (both backends; :func:`stack_settings` checks the shared ones).

    ``schedule`` in :data:`MOLE_SCHEDULES`, ``beta >= 0`` finite, ``beta_on`` ``"previous"`` or ``"input"``,
    ``head_lr`` ``None`` (``lr``, already checked) or a learning rate, ``head_epochs >= 0``, ``patience >= 1`` and
    ``min_delta >= 0`` finite. Returns them by name.
    """
    if schedule not in MOLE_SCHEDULES:
        raise ValueError(f"schedule must be one of {MOLE_SCHEDULES}, got {schedule!r}")
    if beta_on not in ("previous", "input"):
        raise ValueError(f"beta_on must be 'previous' or 'input', got {beta_on!r}")
    beta = check_finite_number("beta", beta)
    if beta < 0:
        raise ValueError(f"beta must be a non-negative number (0 turns the compression term off), got {beta!r}")
    min_delta = check_finite_number("min_delta", min_delta)
    if min_delta < 0:
        raise ValueError(f"min_delta must be a non-negative number of bits, got {min_delta!r}")
    return {
        "schedule": schedule,
        "beta": beta,
        "beta_on": beta_on,
        "head_lr": lr if head_lr is None else check_learning_rate("head_lr", head_lr),
        "head_epochs": check_int("head_epochs", head_epochs, 0),
        "patience": check_int("patience", patience, 1),
        "min_delta": min_delta,
    }


def check_predictions(logits, y) -> None:
    """Refuse a batch whose head outputs ``logits`` (n, n_outputs) and labels ``y`` (evaluation: ``-1`` unlabelled)
    do not match: one label per sample, labels below the head's number of outputs (arrays or tensors)."""
    if len(logits) != len(y):
        raise ValueError(f"a batch of data has {len(y)} labels for {len(logits)} samples; give one label per sample")
    if logits.ndim == 2:
        check_class_labels(int(y.min()), int(y.max()), n_outputs=logits.shape[1], unlabelled_ok=True)


def check_class_labels(low: int, high: int, n_classes=None, *, n_outputs=None, unlabelled_ok: bool = False) -> None:
    """Refuse class labels (given by their smallest and largest value) that a module-wise trainer cannot use.

    Labels are class indices ``0..n_classes-1`` (``n_classes`` of the trainer, or ``n_outputs`` of its head when
    that is given); ``-1`` marks an unlabelled sample, accepted only with ``unlabelled_ok`` (evaluation and the
    cross-entropy of Backprop skip it; MOLE's objectives need every label).
    """
    if low < 0 and not unlabelled_ok:
        raise ValueError(
            f"labels hold {low}: training labels must be class indices 0..{(n_classes or high + 1) - 1} "
            "(labels < 0 mark unlabelled samples, which only evaluation skips; drop them from the training data)"
        )
    if low < -1:
        raise ValueError(f"labels hold {low}: class indices are >= 0 (-1 marks an unlabelled sample)")
    if n_outputs is not None and high >= n_outputs:
        raise ValueError(
            f"labels hold {high} but the head has {n_outputs} outputs: labels must lie in 0..{n_outputs - 1}"
        )
    if n_classes is not None and high >= n_classes:
        raise ValueError(
            f"labels hold {high} but n_classes={n_classes}: labels must lie in 0..{n_classes - 1} "
            f"(remap them, or make the trainer with n_classes={high + 1})"
        )


def input_width(x) -> tuple[int, int | None]:
    """``(ndim, size of axis 1)`` of a batch of inputs (features, channels or node features; ``None`` for 1-D)."""
    return x.ndim, (int(x.shape[1]) if x.ndim > 1 else None)


def check_input_width(x, expected, name: str) -> None:
    """Refuse inputs whose :func:`input_width` differs from ``expected`` (that of the data a trainer was prepared
    on; ``None``: not known yet) with a ``ValueError`` naming ``name``, before a layer fails on the shapes."""
    got = input_width(x)
    if expected is not None and got != expected:
        ndim, width = expected
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}, but the trainer was prepared on {ndim}-d inputs with {width} "
            "features (axis 1: features, channels or node features); give inputs shaped like the training data"
        )
