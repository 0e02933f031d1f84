"""Data loading without pickle: tables (CSV/TSV, ``.npy``, ``.npz``) and the examples bundled with pidlearn."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["EXAMPLES", "load_example", "read_table", "select_columns"]

#: Bundled examples: name -> (file in ``pidlearn/data``, description).
EXAMPLES = {
    "gates": (
        "gates.csv",
        "2000 samples of three iid fair bits s1, s2, s3 and functions of them: xor = s1^s2, and = s1&s2, "
        "copy = 2*s1+s2, noisy_s1 = s1 with 10% flips, parity3 = s1^s2^s3 (seed 20261123)",
    ),
}


def _convert(values: list[str]) -> np.ndarray:
    """Column of strings -> int array if all are ints, float array if all are numbers, else strings."""
    for dtype in (np.int64, np.float64):
        try:
            return np.array(values, dtype=dtype)
        except ValueError:
            continue
    return np.array(values, dtype=str)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def read_table(path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Read a table of samples (rows) by variables (columns).

    Supported: ``.csv``/``.tsv``/``.txt`` (a header row is used as column names when it is not all numbers; the
    delimiter is sniffed), ``.npy`` (1-D or 2-D; loaded with ``allow_pickle=False``; columns are named ``0, 1, ...``)
    and ``.npz`` (each 1-D array of equal length is a column, loaded with ``allow_pickle=False``).

    Returns
    -------
    names : list of str
    columns : dict mapping name -> ndarray of shape (n_samples,)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"{path} holds an array of shape {arr.shape}; expected (n_samples, n_columns)")
        names = [str(j) for j in range(arr.shape[1])]
        return names, {nm: arr[:, j] for j, nm in enumerate(names)}
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            cols = {k: z[k] for k in z.files}
        bad = [k for k, v in cols.items() if v.ndim != 1]
        if bad:
            raise ValueError(f"{path}: arrays {bad} are not 1-D; each array of an .npz table must be one column")
        return list(cols), cols
    with path.open(newline="") as f:
        sample = f.read(65536)
        f.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t ")
        except csv.Error:
            dialect = csv.excel_tab if suffix == ".tsv" else csv.excel
        rows = [r for r in csv.reader(f, dialect) if r]
    if not rows:
        raise ValueError(f"{path} is empty")
    header = rows[0]
    if all(_is_number(c) for c in header):
        names = [str(j) for j in range(len(header))]
    else:
        names, rows = [h.strip() for h in header], rows[1:]
    if not rows:
        raise ValueError(f"{path} has a header but no data rows")
    widths = {len(r) for r in rows}
    if widths != {len(names)}:
        raise ValueError(f"{path}: rows have {sorted(widths)} fields, but there are {len(names)} columns")
    return names, {nm: _convert([r[j].strip() for r in rows]) for j, nm in enumerate(names)}


def select_columns(names: list[str], columns: dict[str, np.ndarray], wanted, what: str = "columns") -> np.ndarray:
    """Stack the columns named (or indexed, as ``"0"``, ``"1"``...) in ``wanted`` into an (n_samples, k) array."""
    picked = []
    for w in wanted:
        if w in columns:
            picked.append(columns[w])
        elif str(w).lstrip("-").isdigit() and -len(names) <= int(w) < len(names):
            picked.append(columns[names[int(w)]])
        else:
            raise ValueError(f"{what}: no column {w!r}; the table has {', '.join(names)}")
    if len({c.dtype.kind for c in picked}) > 1:
        picked = [c.astype(str) for c in picked]
    return np.stack(picked, axis=1)


def load_example(name: str = "gates") -> dict[str, np.ndarray]:
    """Load a bundled example as a dict of columns (see :data:`EXAMPLES`)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; bundled: {', '.join(EXAMPLES)}")
    with resources.as_file(resources.files("pidlearn") / "data" / EXAMPLES[name][0]) as p:
        return read_table(p)[1]
