"""The capacity sweep of the infomorphic associative memory, written once for both backends.

Each backend's ``recall_capacity`` supplies how to build a memory, its pattern generator, its Hopfield weights and
recall function, and the Hopfield update step on its arrays; the sweep over pattern counts, the table and the
capacity rule live here.
"""

from __future__ import annotations

__all__ = ["capacity_sweep"]


def capacity_sweep(
    n_neurons: int,
    pattern_counts,
    *,
    new_memory,
    random_patterns,
    hopfield_weights,
    hopfield_step,
    recall,
    epochs: int,
    lr: float,
    min_fraction: float,
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
    random_patterns, hopfield_weights, recall : callables
        The backend's functions of those names.
    hopfield_step : callable
        ``W -> (state -> sign(state Wᵀ))`` on the backend's arrays (ties to +1).
    epochs, lr, min_fraction, seed, noise, init, input_weight, binning, n_bins
        As the backends' ``recall_capacity``.

    Returns
    -------
    dict
        ``rows`` (per ``P``: fraction recalled by each network and the memory's mean atoms), ``capacity`` /
        ``hopfield_capacity`` (the largest ``P`` with at least ``min_fraction`` recalled, over ``N``; 0 when none) and
        the settings.
    """
    if init not in ("hebbian", "random"):
        raise ValueError(f"init must be 'hebbian' or 'random', got {init!r}")
    rows = []
    for p in pattern_counts:
        patterns = random_patterns(int(p), n_neurons, seed=seed + int(p))
        mem = new_memory()
        if init == "hebbian":
            mem.hebbian_init_(patterns)
        hist = mem.fit(patterns, epochs=epochs, lr=lr)
        ok = recall(mem.step, patterns, noise=noise, seed=seed)
        ok_h = recall(hopfield_step(hopfield_weights(patterns)), patterns, noise=noise, seed=seed)
        rows.append(
            {
                "patterns": int(p),
                "recalled": float(ok.sum()) / len(ok),
                "hopfield_recalled": float(ok_h.sum()) / len(ok_h),
                "atoms": hist[-1]["atoms"],
            }
        )

    def cap(key):
        good = [r["patterns"] for r in rows if r[key] >= min_fraction]
        return max(good) / n_neurons if good else 0.0

    return {
        "n_neurons": n_neurons,
        "rows": rows,
        "capacity": cap("recalled"),
        "hopfield_capacity": cap("hopfield_recalled"),
        "min_fraction": min_fraction,
        "epochs": epochs,
        "noise": noise,
        "init": init,
        "input_weight": input_weight,
        "binning": binning,
        "n_bins": n_bins,
    }
