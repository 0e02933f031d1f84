"""Data loading without pickle: tables (CSV/TSV, ``.npy``, ``.npz``) and the examples bundled with pidlearn.

Text tables are read with pandas (quoting, types and missing values as pandas reads them); ``.npy``/``.npz`` with
``numpy.load(..., allow_pickle=False)``. pandas is imported only when a text table is read.

Column types: integer, boolean and text columns are *discrete* (labels); float columns are *continuous*. In a CSV a
column is float as soon as one of its values has a decimal point or an exponent (``1.0``, ``2.5``, ``1e3``), even
when every value is a whole number; a column of whole numbers written without a decimal point is integer. Integers
too large for int64 (say 30 digits) make the column a text column (labels). Missing values are the cells that pandas
reads as missing by default (empty, ``NA``, ``N/A``, ``nan``, ``NaN``, ``null``, ``NULL``, ``None``, ...) and NaN in
float arrays.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["EXAMPLES", "Selection", "load_example", "read_table", "select_columns", "select_table"]

#: Bundled examples: name -> (file in ``pidlearn/data``, description).
EXAMPLES = {
    "gates": (
        "gates.csv",
        "2000 samples of three iid fair bits s1, s2, s3 and functions of them: xor = s1^s2, and = s1&s2, "
        "copy = 2*s1+s2, noisy_s1 = s1 with 10% flips, parity3 = s1^s2^s3 (seed 20261123)",
    ),
}

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_SNIFF_BYTES = 65536


# ------------------------------------------------------------------------------------------------------------------
# Reading: every reader returns names, values (name -> 1-D ndarray) and missing (name -> bool mask or None).


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _check_file(path: Path) -> bytes:
    """Raise a clear error unless ``path`` is a non-empty readable file; return its first bytes."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a directory, not a table file (CSV/TSV, .npy or .npz)")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file")
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    if not head:
        raise ValueError(f"{path} is empty (0 bytes); expected a table (CSV/TSV with a header row, .npy or .npz)")
    return head


#: dtype kinds a table column may have: bool, integers, floats, text (bytes and str)
_COLUMN_KINDS = "biufSU"


def _check_column_dtype(path: Path, arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind not in _COLUMN_KINDS:
        raise ValueError(
            f"{path}: {what} has dtype {arr.dtype} ({'raw bytes' if arr.dtype.kind == 'V' else arr.dtype.kind}); a "
            "table column must hold numbers, booleans or text: save it with one of those dtypes"
        )


def _read_npy(path: Path):
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path} could not be read as a .npy array ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{path} is not a single .npy array")
    _check_column_dtype(path, arr, "its array")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {arr.shape}; expected (n_samples, n_columns)")
    if arr.shape[0] == 0:
        raise ValueError(f"{path} holds an array of shape {arr.shape}: no samples")
    names = [str(j) for j in range(arr.shape[1])]
    return names, {nm: arr[:, j] for j, nm in enumerate(names)}


def _read_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            cols = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{path} could not be read as an .npz archive ({exc})") from None
    if not cols:
        raise ValueError(f"{path} is an .npz archive without arrays")
    for k, v in cols.items():
        _check_column_dtype(path, v, f"array {k!r}")
    bad = [k for k, v in cols.items() if v.ndim != 1]
    if bad:
        raise ValueError(f"{path}: arrays {bad} are not 1-D; each array of an .npz table must be one column")
    lengths = {k: len(v) for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{path}: the arrays have different lengths ({lengths}); every column needs one value per row")
    if not next(iter(lengths.values())):
        raise ValueError(f"{path}: the arrays are empty (no samples)")
    return list(cols), cols


def _sniff(path: Path, head: bytes) -> tuple[str, list[str]]:
    """Delimiter (pandas ``sep``) and the fields of the first line."""
    text = head.decode("utf-8-sig", errors="replace")
    if path.suffix.lower() == ".tsv":
        sep = "\t"
    else:
        lines = text.splitlines()
        sample = "\n".join(lines[:50] if len(head) < _SNIFF_BYTES else lines[:-1][:50])
        try:
            sep = csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
        except csv.Error:  # e.g. columns aligned with runs of spaces
            line = lines[0] if lines else ""
            sep = " " if not any(d in line for d in ",;\t") and len(line.split()) > 1 else ","
    first = next(csv.reader(text.splitlines()[:1] or [""], delimiter=" " if sep == " " else sep), [])
    if sep == " ":
        first, sep = [c for c in first if c], r"\s+"
    return sep, [c.strip() for c in first]


def _read_text(path: Path, head: bytes):
    if b"\x00" in head:
        raise ValueError(
            f"{path} is a binary file, not a text table; expected a CSV/TSV (header row = column names), "
            "a .npy array or an .npz archive"
        )
    import pandas as pd

    sep, first = _sniff(path, head)
    has_header = not all(_is_number(c) for c in first)
    if has_header:
        dup = sorted({c for c in first if first.count(c) > 1})
        if dup:
            raise ValueError(f"{path}: the header names column(s) {', '.join(map(repr, dup))} more than once")
    try:
        df = pd.read_csv(
            path,
            sep=sep,
            header=0 if has_header else None,
            skipinitialspace=True,
            dtype_backend="numpy_nullable",
            encoding="utf-8-sig",
            engine="c" if len(sep) == 1 or sep == r"\s+" else "python",
        )
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path} could not be read as a CSV/TSV table: {msg}") from None
    if df.shape[1] == 0:
        raise ValueError(f"{path} has no columns")
    if df.shape[0] == 0:
        raise ValueError(f"{path} has a header but no data rows")
    names = [str(c).strip() for c in df.columns] if has_header else [str(j) for j in range(df.shape[1])]
    values, missing = {}, {}
    for name, col in zip(names, df.columns, strict=True):
        s = df[col]
        na = s.isna().to_numpy(dtype=bool)
        missing[name] = na if na.any() else None
        kind = s.dtype.kind
        if pd.api.types.is_bool_dtype(s.dtype):
            values[name] = s.fillna(False).to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(s.dtype):
            values[name] = s.fillna(0).to_numpy(dtype=np.uint64 if kind == "u" else np.int64)
        elif pd.api.types.is_float_dtype(s.dtype):
            values[name] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values[name] = s.astype(object).where(~na, "").to_numpy(dtype=str)
            values[name] = np.char.strip(values[name])
    return names, values, missing


def _read(path) -> tuple[Path, list[str], dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    path = Path(path)
    head = _check_file(path)
    if head.startswith(_NPY_MAGIC):
        names, values = _read_npy(path)
    elif head.startswith(_ZIP_MAGIC):
        names, values = _read_npz(path)
    elif path.suffix.lower() in (".npy", ".npz"):
        raise ValueError(f"{path} is not a {path.suffix.lower()} file (its first bytes are not those of one)")
    else:
        return path, *_read_text(path, head)
    missing = {}
    for nm, v in values.items():
        na = np.isnan(v) if v.dtype.kind in "fc" else None
        missing[nm] = na if na is not None and na.any() else None
    return path, names, values, missing


def _missing_error(path: Path, name: str, na: np.ndarray) -> ValueError:
    rows = np.flatnonzero(na) + 1
    more = f"; {len(rows)} rows in all" if len(rows) > 1 else ""
    return ValueError(
        f"{path}: column {name!r} has a missing value (empty, NA, nan, null, ...) in row {rows[0]} (data rows "
        f"counted from 1, the header row not counted{more}); fill them in, or drop the incomplete rows (--dropna)"
    )


def read_table(path) -> tuple[list[str], dict[str, np.ndarray]]:
    """Read a table of samples (rows) by variables (columns).

    Supported: CSV/TSV text (read with pandas; a header row is used as column names when it is not all numbers;
    the delimiter is sniffed among ``, ; tab space``, tab for ``.tsv``), ``.npy`` (1-D or 2-D, loaded with
    ``allow_pickle=False``; columns are named ``0, 1, ...``) and ``.npz`` (each 1-D array of equal length is a
    column, loaded with ``allow_pickle=False``). The format is recognised from the file's first bytes.

    Returns
    -------
    names : list of str
    columns : dict mapping name -> ndarray of shape (n_samples,)
        ``int64`` (``uint64`` beyond int64), ``bool``, ``float64`` or ``str`` arrays; see the module docstring for
        how column types are read.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A directory, an empty or binary file, a header without data rows, an unreadable table, or a missing value
        (the column and its row, counted from 1 without the header, are named). To drop rows with missing values,
        use :func:`select_table` with ``dropna=True``.
    """
    path, names, values, missing = _read(path)
    for nm in names:
        if missing[nm] is not None:
            raise _missing_error(path, nm, missing[nm])
    return names, values


# ------------------------------------------------------------------------------------------------------------------
def _resolve(names: list[str], w, what: str) -> str:
    if w in names:
        return w
    if str(w).lstrip("-").isdigit() and -len(names) <= int(w) < len(names):
        return names[int(w)]
    raise ValueError(f"{what}: no column {w!r}; the table has {', '.join(names)}")


def select_columns(names: list[str], columns: dict[str, np.ndarray], wanted, what: str = "columns") -> np.ndarray:
    """Stack the columns named (or indexed, as ``"0"``, ``"1"``...) in ``wanted`` into an (n_samples, k) array."""
    picked = [columns[_resolve(names, w, what)] for w in wanted]
    if len({c.dtype.kind for c in picked}) > 1:
        picked = [c.astype(str) for c in picked]
    return np.stack(picked, axis=1)


@dataclass
class Selection:
    """Columns selected from a table by :func:`select_table`.

    Attributes
    ----------
    path : pathlib.Path
    groups : dict
        Option (e.g. ``"--x"``) -> the names of its columns, in the order asked.
    columns : dict
        Column name -> 1-D ndarray without missing values (rows with one dropped, when asked).
    n_rows_read : int
        Data rows in the file.
    n_dropped : int
        Rows dropped for a missing value in a selected column.
    """

    path: Path
    groups: dict[str, list[str]]
    columns: dict[str, np.ndarray]
    n_rows_read: int
    n_dropped: int = 0

    @property
    def n_rows(self) -> int:
        """Rows kept."""
        return self.n_rows_read - self.n_dropped

    def kind(self, name: str) -> str:
        """``"continuous"`` for a float column, ``"discrete"`` for integer, boolean and text columns."""
        return "continuous" if self.columns[name].dtype.kind == "f" else "discrete"


def select_table(path, groups: dict[str, list], *, dropna: bool = False) -> Selection:
    """Read a table and pick the columns of each group, refusing (or dropping) rows with missing values.

    Parameters
    ----------
    path : str or path-like
        A table as :func:`read_table` reads it.
    groups : dict of str -> list of str
        Option name (used in errors, e.g. ``"--x"``) -> column names or 0-based indices (``"0"``, ``"-1"``);
        ``None`` lists are skipped.
    dropna : bool, default False
        Drop the rows that have a missing value in any selected column (columns not selected do not matter). Without
        it a missing value is a ``ValueError`` naming the column and its row (counted from 1, header not counted).

    Returns
    -------
    Selection

    Raises
    ------
    ValueError
        Unknown columns, missing values (without ``dropna``), inf in a float column (column and row named), no rows
        left after dropping; and every error of :func:`read_table`.
    """
    path, names, values, missing = _read(path)
    resolved = {opt: [_resolve(names, w, opt) for w in ws] for opt, ws in groups.items() if ws}
    picked = list(dict.fromkeys(nm for cols in resolved.values() for nm in cols))
    n = len(values[names[0]])
    keep = np.ones(n, dtype=bool)
    for nm in picked:
        if missing[nm] is not None:
            if not dropna:
                raise _missing_error(path, nm, missing[nm])
            keep &= ~missing[nm]
    n_dropped = int(n - keep.sum())
    if not keep.any():
        raise ValueError(f"{path}: every row has a missing value in the selected columns; nothing is left to estimate")
    cols = {nm: values[nm][keep] if n_dropped else values[nm] for nm in picked}
    for nm in picked:
        v = values[nm]
        if v.dtype.kind == "f" and np.isinf(v[keep]).any():
            row = int(np.flatnonzero(np.isinf(v) & keep)[0]) + 1
            raise ValueError(
                f"{path}: column {nm!r} holds {float(v[row - 1])} in row {row} (rows counted from 1, the header "
                "row not counted); estimators need finite numbers"
            )
    return Selection(path, resolved, cols, n, n_dropped)


def load_example(name: str = "gates") -> dict[str, np.ndarray]:
    """Load a bundled example as a dict of columns (see :data:`EXAMPLES`)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; bundled: {', '.join(EXAMPLES)}")
    with resources.as_file(resources.files("pidlearn") / "data" / EXAMPLES[name][0]) as p:
        return read_table(p)[1]
