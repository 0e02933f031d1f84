"""Toy task of the continuous-output infomorphic neuron (issue #19): ``docs/figures/continuous_neuron_toy.png``.

Both layers get the same inputs (receptive ``x_R`` and context ``x_C``: 4 independent standard normals each), the
same activation (bivariate: ``C`` modulates the gain of ``r``) and the same goal in atoms,
``G = Π({1}{2}) + Π({1}) + Π({2}) + Π({12}) = I(Y; R, C)``: encode the receptive drive and its contextual
modulation. A binary neuron cannot exceed 1 bit on this goal, whatever it learns: every SxPID atom sum is at most
``H(Y) ≤ 1`` bit. A continuous neuron ``Y = A + σ ε`` can, by a graded output. Each layer has 4 neurons (independent
replicas), trained with Adam, seeded; the atoms are then measured on a fresh batch of 4000 samples: the binary
neuron's with its own estimator (plug-in SxPID against 20 adaptive bins of each drive), the continuous neuron's with
the training estimator (soft counts) and with the KSG-type core estimator :func:`pidlearn.continuous.sxpid`.

Run from the repository root: ``python docs/figures/make_continuous_toy.py`` (about 15 s on one core).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from pidlearn.backends.torch import InfomorphicLayer
from pidlearn.backends.torch.continuous_layers import ContinuousInfomorphicLayer
from pidlearn.continuous import sxpid

GOAL = {"{1}{2}": 1.0, "{1}": 1.0, "{2}": 1.0, "{12}": 1.0}  # = I(Y; R, C)
NAMES = ("{1}{2}", "{1}", "{2}", "{12}")


def toy_batch(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Receptive and context inputs, (n, 4) each, independent standard normals."""
    return torch.randn(n, 4, generator=generator), torch.randn(n, 4, generator=generator)


def train(layer, steps: int, batch: int, lr: float, seed: int) -> list[float]:
    """Adam on ``layer.loss()``; returns the mean goal over neurons per step (bits)."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        x_r, x_c = toy_batch(batch, g)
        layer(x_r, x_c, generator=g)
        goal = layer.goal_value()
        opt.zero_grad()
        (-goal.sum()).backward()
        opt.step()
        history.append(float(goal.detach().mean()))
    return history


def main(steps: int = 150, batch: int = 512, out: str = "docs/figures/continuous_neuron_toy.png") -> dict:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    binary = InfomorphicLayer(4, 4, 4, goal=GOAL)
    torch.manual_seed(0)
    cont = ContinuousInfomorphicLayer(4, 4, 4, goal=GOAL, sigma=1.0)
    hist_b = train(binary, steps, batch, 0.05, seed=1)
    hist_c = train(cont, steps, batch, 0.05, seed=1)
    g = torch.Generator().manual_seed(123)
    x_r, x_c = toy_batch(4000, g)
    with torch.no_grad():
        binary(x_r, x_c, generator=g)
        atoms_b = {k: v.numpy() for k, v in binary.atoms().items() if k in NAMES}
        y = cont(x_r, x_c, generator=g)
        atoms_c = {k: v.numpy() for k, v in cont.atoms().items()}
        y, (r, c) = y.numpy(), (v.numpy() for v in cont.drives(x_r, x_c))
    hard = np.array([sxpid(y[:, j], [r[:, j], c[:, j]], workers=1).values for j in range(y.shape[1])])
    result = {
        "binary_goal_first_last": (hist_b[0], hist_b[-1]),
        "continuous_goal_first_last": (hist_c[0], hist_c[-1]),
        "binary_atoms_mean": {k: float(v.mean()) for k, v in atoms_b.items()},
        "binary_atoms_sd": {k: float(v.std()) for k, v in atoms_b.items()},
        "continuous_atoms_mean": {k: float(v.mean()) for k, v in atoms_c.items()},
        "continuous_atoms_sd": {k: float(v.std()) for k, v in atoms_c.items()},
        "continuous_ksg_atoms_mean": dict(zip(NAMES, hard.mean(0).round(4).tolist(), strict=True)),
        "binary_total": float(sum(atoms_b[k] for k in NAMES).mean()),
        "continuous_total": float(sum(atoms_c[k] for k in NAMES).mean()),
        "continuous_ksg_total": float(hard.sum(1).mean()),
    }

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(hist_b, label="binary neuron, Y ∈ {−1, +1}")
    ax1.plot(hist_c, label="continuous neuron, Y = A + σε (σ = 1)")
    ax1.axhline(1.0, color="k", ls="--", lw=1, label="H(Y) ≤ 1 bit: cap of any binary neuron")
    ax1.set(xlabel="Adam step (batch 512)", ylabel="goal I(Y; R, C) = Σ atoms (bits)", title="training")
    ax1.legend(fontsize=8)
    x = np.arange(len(NAMES))
    w = 0.27
    for i, (label, atoms) in enumerate(
        (
            ("binary (plug-in, 20 bins)", {k: atoms_b[k] for k in NAMES}),
            ("continuous (soft counts)", atoms_c),
            ("continuous (KSG-type core)", dict(zip(NAMES, hard.T, strict=True))),
        )
    ):
        means = [float(np.mean(atoms[k])) for k in NAMES]
        sds = [float(np.std(atoms[k])) for k in NAMES]
        ax2.bar(x + (i - 1) * w, means, w, yerr=sds, capsize=2, label=label)
    ax2.axhline(0, color="k", lw=0.5)
    ax2.set_xticks(x, NAMES)
    ax2.set(ylabel="atom (bits), mean ± sd over 4 neurons", title="atoms after training, 4000 test samples")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    return result


if __name__ == "__main__":
    import json

    res = main(*(int(a) for a in sys.argv[1:3]))
    print(json.dumps(res, indent=1))
    print("figure:", Path("docs/figures/continuous_neuron_toy.png").resolve())
