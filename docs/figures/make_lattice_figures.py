"""Draw the PID figures of the docs into docs/figures/lattice_*.png (run from anywhere; a few seconds).

    python docs/figures/make_lattice_figures.py

* the exact SxPID of the logic gates of fair independent bits (``sxpid_from_pmf``) on the Hasse diagram of the
  redundancy lattice: XOR, AND and COPY of two sources, 3-bit parity and AND of three;
* π⁺ and π⁻ of XOR side by side;
* a real-data example: which of three chemical measurements of scikit-learn's bundled wine data (178 wines) tell
  the cultivar, each measurement discretised into 3 equal-frequency bins, the column names as source names;
* the bar chart of a 4-source decomposition (166 atoms, the 25 largest shown).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from pidlearn import discretise, sxpid, sxpid_from_pmf
from pidlearn.bench.tasks import gate_pmf
from pidlearn.plotting import plot_atoms, plot_lattice

HERE = Path(__file__).resolve().parent

GATES = {
    "xor": (lambda a, b: a ^ b, 2, "T = S1 xor S2"),
    "and": (lambda a, b: a & b, 2, "T = S1 and S2"),
    "copy": (lambda a, b: 2 * a + b, 2, "T = (S1, S2)"),
    "parity3": (lambda a, b, c: a ^ b ^ c, 3, "T = S1 xor S2 xor S3"),
    "and3": (lambda a, b, c: a & b & c, 3, "T = S1 and S2 and S3"),
}
WINE_COLUMNS = ("alcohol", "flavanoids", "color_intensity")


def wine_result():
    """SxPID of the wine cultivar against three discretised measurements, with the column names."""
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    cols = list(WINE_COLUMNS)
    sources = discretise(data.data[cols].to_numpy(), 3)
    return sxpid(data.target.to_numpy(), sources), cols


def save(fig, name: str) -> None:
    path = HERE / f"lattice_{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    for name, (fn, n, title) in GATES.items():
        res = sxpid_from_pmf(gate_pmf(fn, n))
        fig, _ = plot_lattice(res, title=f"SxPID of {title}, I(T;S) = {res.mutual_information:.3f} bits")
        save(fig, name)
    xor = sxpid_from_pmf(gate_pmf(GATES["xor"][0], 2))
    fig, _ = plot_lattice(xor, kind="plus_minus", title="SxPID of T = S1 xor S2")
    save(fig, "xor_plus_minus")
    wine, cols = wine_result()
    fig, _ = plot_lattice(wine, source_names=cols, title="Wine cultivar from three measurements (178 wines)")
    save(fig, "wine")
    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, (20_000, 4))
    t = (s[:, 0] & s[:, 1]) ^ (s[:, 2] | s[:, 3])
    fig, _ = plot_atoms(sxpid(t, s), max_bars=25, title="T = (S1 and S2) xor (S3 or S4): 25 largest of 166 atoms")
    save(fig, "bars_4sources")


if __name__ == "__main__":
    main()
