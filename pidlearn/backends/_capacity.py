"""Recall and the capacity sweep of the infomorphic associative memory, written once for both backends.

Each backend supplies how to build a memory, its pattern generator, its Hopfield weights, the Hopfield update step
and the noisy cue on its arrays; the recall dynamics, the scores, the sweep over pattern counts, the early stop and
the capacity rule live here. The protocol is the authors' (Blümel et al. 2025, their ``paper_hopfield`` code:
``training.capacity_learning``, ``threshold_learning``, ``test`` and ``BaseHopfield.fixed_point``):

- recall: the state is updated synchronously from the cue until nothing changes, until it returns to the state two
  steps back (a two-cycle), or for at most ``N`` steps;
- recall accuracy ``a_cos``: the cosine similarity of the final state with its pattern, averaged over the ``P``
  stored patterns; a memory of ``P`` patterns counts as stored when ``a_cos ≥ 0.95``;
- training stops early at 15 log-spaced checkpoints (steps 1 … ``epochs``) once ``a_cos ≥ 0.95``;
- pattern counts ``0.1 N, 0.2 N, …, 2 N`` (their ``capacity/extensive`` grid), a fresh memory and a fresh pattern
  set for each; the capacity is the largest count before the first one that fails (their ``interrupt``), over ``N``.

References
----------
Blümel et al., "Redundancy maximization as a principle of associative memory learning", arXiv:2511.02584 (2025):
capacity 1.59 N from 20 pattern sets per load (their Figure 2 plots the median ``a_cos`` against the load), against
the Hopfield network's 0.14 N.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["capacity_sweep", "default_pattern_counts", "recall_scores", "settle"]

N_CHECKPOINTS = 15  # the authors' capacity.n_checkpoints


def default_pattern_counts(n_neurons: int) -> tuple[int, ...]:
    """The authors' grid of loads ``0.1 N, 0.2 N, …, 2.0 N`` as pattern counts (rounded up)."""
    return tuple(sorted({math.ceil(k * n_neurons / 10) for k in range(1, 21)}))


def settle(step, state, max_steps: int):
    """Iterate ``step`` from ``state`` until a fixed point or a two-cycle of the whole batch, at most ``max_steps``.

    ``step`` maps a batch of states (P, N) in {−1, +1} to the next (numpy or torch); returns the last state.
    """
    before = None
    for _ in range(max_steps):
        new = step(state)
        if bool((new == state).all()) or (before is not None and bool((new == before).all())):
            return new
        before, state = state, new
    return state


def recall_scores(step, patterns, cue, max_steps: int):
    """``(fixed, overlap)`` of each pattern after :func:`settle` from ``cue``.

    ``fixed``: bool (P,), the final state is a fixed point of ``step``; ``overlap``: (P,), ``Σ_i s_i ξ_i`` (an integer
    in the array's float dtype), the cosine similarity times ``N``.
    """
    state = settle(step, cue, max_steps)
    return (step(state) == state).all(1), (state * patterns).sum(1)


def _accuracy(overlap, n_neurons: int) -> float:
    """``a_cos`` from integer overlaps, summed exactly (a float32 mean of 0.95s can fall below 0.95)."""
    return float(overlap.sum()) / (len(overlap) * n_neurons)


def capacity_sweep(
    n_neurons: int,
    pattern_counts,
    *,
    new_memory,
    random_patterns,
    hopfield_weights,
    hopfield_step,
    cue,
    epochs: int,
    lr: float,
    min_accuracy: float,
    early_stop: bool,
    interrupt: bool,
    seed: int,
    noise: float,
    init: str,
    input_weight,
    binning: str,
    n_bins: int,
) -> dict:
    """Fit a memory to ``P`` random patterns for each ``P`` and score it against a Hopfield network.

    Parameters
    ----------
    new_memory : callable
        ``() -> memory``: a fresh, seeded memory of ``n_neurons`` neurons (the backend's ``InfomorphicMemory``).
    random_patterns, hopfield_weights : callables
        The backend's functions of those names.
    hopfield_step : callable
        ``W -> (state -> sign(state Wᵀ))`` on the backend's arrays (ties to +1).
    cue : callable
        ``(patterns, noise, seed) -> cue``: the patterns with a fraction ``noise`` of their bits flipped.
    epochs, lr, min_accuracy, early_stop, interrupt, seed, noise, init, input_weight, binning, n_bins
        As the backends' ``recall_capacity``.

    Returns
    -------
    dict
        ``rows`` (per ``P``: ``accuracy`` = ``a_cos`` and ``recalled`` = the fraction of patterns whose final state
        is a fixed point with cosine ``≥ 0.95``, of each network; the steps trained and the memory's mean atoms),
        ``capacity`` / ``hopfield_capacity`` (the largest ``P`` before the first with ``a_cos < min_accuracy``,
        over ``N``; 0 when the first fails) and the settings.
    """
    if init not in ("hebbian", "random"):
        raise ValueError(f"init must be 'hebbian' or 'random', got {init!r}")
    counts = default_pattern_counts(n_neurons) if pattern_counts is None else sorted({int(p) for p in pattern_counts})
    checkpoints = {int(e) for e in np.logspace(0, np.log10(max(epochs, 1)), N_CHECKPOINTS)} if early_stop else set()
    rows = []
    for p in counts:
        patterns = random_patterns(int(p), n_neurons, seed=seed + int(p))
        mem = new_memory()
        if init == "hebbian":
            mem.hebbian_init_(patterns)

        def stored(epoch, mem=mem, patterns=patterns):  # the authors' threshold_learning, clean cue
            if epoch not in checkpoints:
                return False
            return _accuracy(recall_scores(mem.step, patterns, patterns, n_neurons)[1], n_neurons) >= min_accuracy

        hist = mem.fit(patterns, epochs=epochs, lr=lr, callback=stored)
        start = cue(patterns, noise, seed)
        fixed, overlap = recall_scores(mem.step, patterns, start, n_neurons)
        fixed_h, overlap_h = recall_scores(hopfield_step(hopfield_weights(patterns)), patterns, start, n_neurons)
        threshold = 0.95 * n_neurons
        rows.append(
            {
                "patterns": int(p),
                "accuracy": _accuracy(overlap, n_neurons),
                "recalled": float((fixed & (overlap >= threshold)).sum()) / len(fixed),
                "hopfield_accuracy": _accuracy(overlap_h, n_neurons),
                "hopfield_recalled": float((fixed_h & (overlap_h >= threshold)).sum()) / len(fixed_h),
                "epochs": len(hist),
                "atoms": hist[-1]["atoms"] if hist else {},
            }
        )
        if interrupt and rows[-1]["accuracy"] < min_accuracy:
            break

    def cap(key):
        good = 0
        for r in rows:
            if r[key] < min_accuracy:
                break
            good = r["patterns"]
        return good / n_neurons

    return {
        "n_neurons": n_neurons,
        "rows": rows,
        "capacity": cap("accuracy"),
        "hopfield_capacity": cap("hopfield_accuracy"),
        "min_accuracy": min_accuracy,
        "epochs": epochs,
        "early_stop": early_stop,
        "interrupt": interrupt,
        "noise": noise,
        "init": init,
        "input_weight": input_weight,
        "binning": binning,
        "n_bins": n_bins,
    }
