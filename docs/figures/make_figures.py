"""Regenerate the figures of the docs (run from the repository root).

    python docs/figures/make_figures.py            # SxPID lattice figures (seconds)
    pidlearn bench --quick --out docs/figures/bench-quick
    pidlearn bench --out docs/figures/bench-full --seeds 0 1 2

The lattice figures are ``PIDResult.plot()`` of exact decompositions (``sxpid_from_pmf``) of logic gates.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from pidlearn import sxpid_from_pmf
from pidlearn.bench.tasks import gate_pmf

HERE = Path(__file__).resolve().parent

GATES = {
    "xor": (lambda a, b: a ^ b, 2, "T = S1 xor S2"),
    "and": (lambda a, b: a & b, 2, "T = S1 and S2"),
    "copy": (lambda a, b: 2 * a + b, 2, "T = (S1, S2)"),
    "parity3": (lambda a, b, c: a ^ b ^ c, 3, "T = S1 xor S2 xor S3"),
}


def main() -> None:
    for name, (fn, n, title) in GATES.items():
        res = sxpid_from_pmf(gate_pmf(fn, n))
        ax = res.plot()
        ax.set_title(f"SxPID atoms (bits) of {title}")
        ax.figure.savefig(HERE / f"lattice_{name}.png", dpi=100, bbox_inches="tight")
        plt.close(ax.figure)
        print(f"wrote {HERE / f'lattice_{name}.png'}")


if __name__ == "__main__":
    main()
