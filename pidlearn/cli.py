"""The ``pidlearn`` command: a thin argparse front over the library.

Every subcommand takes ``--json`` and then prints exactly one JSON object on stdout (errors too, as
``{"error": ...}`` with a non-zero exit status).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import sys
import time
import warnings

import numpy as np

from pidlearn.datasets import read_table

__all__ = ["main", "read_table"]

#: Modules that add a subcommand: each has ``add_parser(subparsers)`` and ``run(args) -> int``.
_PLUGINS = (
    "pidlearn._cli_pid",
    "pidlearn._cli_train",
    "pidlearn._cli_bench",
    "pidlearn._cli_mole",
    "pidlearn._cli_higher_order",
)


def _unit(base: float) -> str:
    return {2.0: "bits", math.e: "nats", 10.0: "dits"}.get(float(base), f"log{base:g} units")


def _emit(args, payload: dict, text: str) -> None:
    print(json.dumps(payload) if args.json else text)


# ------------------------------------------------------------------------------------------------------------------
# Shared by ``mi`` and ``pid``: reading the selected columns, their types, --bins, and errors that name columns.

#: Estimator names of :mod:`pidlearn.discrete` (the rest go to :mod:`pidlearn.continuous`).
DISCRETE_ESTIMATORS = ("plugin", "miller_madow", "grassberger", "chao_shen")


def add_data_options(p, *, k_help: str) -> None:
    """``--dropna``, ``--bins``, ``--strategy``, ``--k`` and ``--seed`` (for ``mi`` and ``pid``)."""
    p.add_argument(
        "--dropna", action="store_true", help="drop rows with a missing value in a selected column (else an error)"
    )
    p.add_argument(
        "--bins", type=int, metavar="N", help="discretise the continuous columns into N bins, then estimate discretely"
    )
    p.add_argument(
        "--strategy", default="quantile", choices=("quantile", "uniform"), help="bins of --bins (default quantile)"
    )
    p.add_argument("--k", type=int, metavar="K", help=k_help)
    p.add_argument("--seed", type=int, default=0, help="seed of the permutation test and of the KSG tie jitter")


class Columns:
    """The selected columns of a table, typed (discrete/continuous) and binned, with errors that name them."""

    def __init__(self, args, groups: dict[str, list]):
        from pidlearn.datasets import select_table

        if args.bins is not None and args.bins < 2:
            raise ValueError(f"--bins must be at least 2, got {args.bins}")
        self.sel = select_table(args.file, groups, dropna=args.dropna)
        self.groups = self.sel.groups
        self.data = dict(self.sel.columns)
        self.kinds = {nm: self.sel.kind(nm) for nm in self.data}
        self.binned: list[str] = []
        if args.bins is not None:
            from pidlearn.binning import discretise

            for nm, kind in self.kinds.items():
                if kind == "continuous":
                    self.data[nm] = discretise(self.data[nm], args.bins, strategy=args.strategy, name=f"column {nm!r}")
                    self.kinds[nm] = "discrete"
                    self.binned.append(nm)

    def names(self, kind: str) -> list[str]:
        return [nm for nm, k in self.kinds.items() if k == kind]

    def any_continuous(self) -> bool:
        return "continuous" in self.kinds.values()

    def labels(self, opt: str) -> np.ndarray:
        """The columns of ``opt`` stacked as labels for a discrete estimator (integer-valued floats accepted)."""
        for nm in self.groups[opt]:
            v = self.data[nm]
            if self.kinds[nm] == "continuous" and not np.all(v == np.round(v)):
                raise ValueError(
                    f"column {nm!r} ({opt}) holds non-integer numbers, but a discrete estimator takes labels; pass "
                    "--bins N to discretise the continuous columns, or choose a continuous --estimator"
                )
        picked = [self.data[nm] for nm in self.groups[opt]]
        if len({c.dtype.kind for c in picked}) > 1:
            picked = [c.astype(str) for c in picked]
        return np.stack(picked, axis=1)

    def kind_of(self, opt: str) -> str:
        """``"discrete"`` or ``"continuous"``: the type of every column of ``opt`` (a mix is an error)."""
        kinds = {self.kinds[nm] for nm in self.groups[opt]}
        if len(kinds) > 1:
            disc = [nm for nm in self.groups[opt] if self.kinds[nm] == "discrete"]
            cont = [nm for nm in self.groups[opt] if self.kinds[nm] == "continuous"]
            raise ValueError(
                f"{opt} mixes discrete ({', '.join(disc)}) and continuous ({', '.join(cont)}) columns; one variable "
                "must be all of one type: pass --bins N to discretise the continuous columns, or give them as "
                "another variable"
            )
        return kinds.pop()

    def real(self, opt: str) -> np.ndarray:
        """The continuous columns of ``opt`` as an (n_samples, n_cols) float array; constant columns are refused."""
        for nm in self.groups[opt]:
            v = self.data[nm]
            if np.all(v == v[0]):
                raise ValueError(
                    f"column {nm!r} ({opt}) is constant (every value is {float(v[0])!r}); it carries no information: "
                    f"drop it from {opt}"
                )
        return np.stack([self.data[nm] for nm in self.groups[opt]], axis=1).astype(np.float64)

    def report(self) -> dict:
        return {
            "discrete_columns": self.names("discrete"),
            "continuous_columns": self.names("continuous"),
            "binned_columns": self.binned,
            "n_rows_read": self.sel.n_rows_read,
            "n_dropped": self.sel.n_dropped,
        }

    def notes(self, args) -> list[str]:
        out = []
        disc, cont = self.names("discrete"), self.names("continuous")
        out.append(f"discrete: {', '.join(disc) or '-'}; continuous: {', '.join(cont) or '-'}")
        if self.binned:
            out.append(f"binned into {args.bins} {args.strategy} bins: {', '.join(self.binned)}")
        if self.sel.n_dropped:
            out.append(f"dropped {self.sel.n_dropped} of {self.sel.n_rows_read} rows with a missing value (--dropna)")
        return out

    def rename_errors(self, exc: Exception, variables: dict[str, str]) -> Exception:
        """Put column names into a library error that says ``x[:, 0]``, ``x``, ``source 2``..."""
        msg = str(exc)

        def col(var: str, j: int | None) -> str:
            names = self.groups[variables[var]]
            if j is None:
                return f"column {names[0]!r}" if len(names) == 1 else f"{variables[var]} ({', '.join(names)})"
            return f"column {names[j]!r}" if j < len(names) else f"{var}[:, {j}]"

        pattern = "|".join(re.escape(v) for v in sorted(variables, key=len, reverse=True))
        msg = re.sub(rf"(?<![\w'])({pattern})\[:, (\d+)\]", lambda m: col(m[1], int(m[2])), msg)
        msg = re.sub(rf"^({pattern})(?= (?:contains|is|has|holds) )", lambda m: col(m[1], None), msg)
        return type(exc)(msg)


# ------------------------------------------------------------------------------------------------------------------
def _add_mi(sub) -> None:
    p = sub.add_parser(
        "mi",
        help="mutual information of columns of a CSV/.npy/.npz file",
        description=(
            "I(X;Y) or I(X;Y|Z) of columns of a table. Several columns after --x form one joint variable. Integer, "
            "boolean and text columns are discrete, float columns continuous: all discrete -> discrete plug-in "
            "estimate; any continuous -> KSG (pidlearn.continuous). --bins N discretises the continuous columns."
        ),
    )
    p.add_argument("file", help="CSV/TSV (header row = names), .npy (columns 0,1,..) or .npz table")
    p.add_argument("--x", nargs="+", required=True, metavar="COL", help="column name(s) or index(es) of X")
    p.add_argument("--y", nargs="+", required=True, metavar="COL", help="column name(s) or index(es) of Y")
    p.add_argument("--z", nargs="+", metavar="COL", help="condition on these columns")
    p.add_argument(
        "--estimator",
        help="default: plugin for discrete data, ksg1 when a column is continuous. Discrete: plugin | miller_madow | "
        "grassberger | chao_shen; continuous: ksg1 | ksg2 | gaussian | copula | ross | mixed_ksg (pidlearn.continuous; "
        "with a discrete --x or --y the default is ross)",
    )
    p.add_argument("--base", type=float, default=2.0, help="logarithm base (2 = bits)")
    p.add_argument("--permutations", type=int, default=0, metavar="N", help="permutation test with N shuffles")
    add_data_options(p, k_help="number of neighbours of the KSG estimators (default: the library's, 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_run_mi)


def _continuous_mi(cols: Columns, args, est: str, variables: dict[str, str]):
    """MI (and p-value) through pidlearn.continuous, with ``discrete=`` naming the discrete variables.

    Returns ``(mi, p_value or None, estimator used)``.
    """
    from pidlearn import continuous

    kinds = {var: cols.kind_of(opt) for var, opt in variables.items()}
    discrete = tuple(var for var, kind in kinds.items() if kind == "discrete")
    if est == "mixed_ksg":  # every variable real-valued, with point masses: numeric labels only
        for nm in cols.names("discrete"):
            if cols.data[nm].dtype.kind not in "biuf":
                raise ValueError(
                    f"--estimator mixed_ksg takes real values (with point masses), but column {nm!r} holds text "
                    "labels; use the default estimator, which takes labels as discrete"
                )
        arrays = {var: np.stack([cols.data[nm] for nm in cols.groups[opt]], 1) for var, opt in variables.items()}
        arrays = {var: a.astype(np.float64) for var, a in arrays.items()}
        discrete = ()
    else:
        if "x" in discrete or "y" in discrete:
            est = "ross" if est == "ksg1" else est
        arrays = {
            var: cols.labels(opt) if kinds[var] == "discrete" else cols.real(opt) for var, opt in variables.items()
        }
    kw = {"base": args.base, "estimator": est}
    if args.k is not None:
        kw["k"] = args.k
    if discrete:
        kw["discrete"] = discrete
    x, y, z = arrays["x"], arrays["y"], arrays.get("z")
    if args.permutations > 0:
        res = continuous.permutation_test(x, y, z, n_permutations=args.permutations, seed=args.seed, **kw)
        return res.statistic, res.p_value, est
    return continuous.mutual_information(x, y, z=z, seed=args.seed, **kw), None, est


def _run_mi(args) -> int:
    groups = {"--x": args.x, "--y": args.y, "--z": args.z}
    cols = Columns(args, groups)
    variables = {"x": "--x", "y": "--y", **({"z": "--z"} if args.z else {})}
    est = args.estimator or ("ksg1" if cols.any_continuous() else "plugin")
    discrete_est = est in DISCRETE_ESTIMATORS
    if not discrete_est:
        from pidlearn import continuous

        known = continuous.MI_ESTIMATORS
        if est not in known:
            raise ValueError(
                f"unknown --estimator {est!r}; discrete: {', '.join(DISCRETE_ESTIMATORS)}; "
                f"continuous: {', '.join(known)}"
            )
    if args.bins is not None and not discrete_est:
        raise ValueError(f"--bins makes every column discrete, but --estimator {est} is not a discrete estimator")
    if discrete_est and args.k is not None:
        raise ValueError(f"--k sets the neighbours of the KSG estimators; the {est} estimator has none")
    t0 = time.perf_counter()
    try:
        if discrete_est:
            from pidlearn import discrete

            x, y = cols.labels("--x"), cols.labels("--y")
            z = cols.labels("--z") if args.z else None
            kw = {"base": args.base, "estimator": est}
            if args.permutations > 0:
                res = discrete.permutation_test(x, y, z, n_permutations=args.permutations, seed=args.seed, **kw)
                mi, p = res.statistic, res.p_value
            else:
                mi, p = discrete.mutual_information(x, y, z, **kw), None
        else:
            mi, p, est = _continuous_mi(cols, args, est, variables)
    except (ValueError, TypeError) as exc:
        raise cols.rename_errors(exc, variables) from None
    n = cols.sel.n_rows
    k = (args.k or 3) if est in ("ksg1", "ksg2", "ross", "mixed_ksg") else None
    payload = {
        "command": "mi",
        "file": str(args.file),
        "x": args.x,
        "y": args.y,
        "z": args.z,
        "estimator": est,
        "k": k,
        "base": args.base,
        "unit": _unit(args.base),
        "n_samples": n,
        **cols.report(),
        "bins": args.bins,
        "strategy": args.strategy if args.bins is not None else None,
        "mutual_information": mi,
        "p_value": p,
        "n_permutations": args.permutations or None,
        "seconds": time.perf_counter() - t0,
    }
    cond = f" | {','.join(args.z)}" if args.z else ""
    text = f"I({','.join(args.x)} ; {','.join(args.y)}{cond}) = {mi:.6f} {_unit(args.base)}"
    text += f"  [{est}{f', k = {k}' if k else ''}, n = {n}]"
    text += "".join(f"\n{line}" for line in cols.notes(args))
    if p is not None:
        text += f"\np-value = {p:.4g} ({args.permutations} permutations, seed {args.seed})"
    _emit(args, payload, text)
    return 0


# ------------------------------------------------------------------------------------------------------------------
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="MI and PID of the bundled examples (logic gates)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_run_demo)


def _demo_pid(data) -> dict | None:
    """SxPID of the bundled gates, when the SxPID module is available."""
    try:
        from pidlearn.sxpid import sxpid
    except ImportError:
        return None
    return {gate: sxpid(data[gate], [data["s1"], data["s2"]]).to_dict() for gate in ("xor", "and", "copy", "noisy_s1")}


def _run_demo(args) -> int:
    from pidlearn import discrete
    from pidlearn.datasets import EXAMPLES, load_example

    t0 = time.perf_counter()
    d = load_example("gates")
    s12 = list(zip(d["s1"], d["s2"], strict=True))
    rows = []
    for target in ("xor", "and", "copy", "noisy_s1", "parity3"):
        t = d[target]
        rows.append(
            {
                "target": target,
                "H(T)": discrete.entropy(t),
                "I(T;s1)": discrete.mutual_information(t, d["s1"]),
                "I(T;s2)": discrete.mutual_information(t, d["s2"]),
                "I(T;s1,s2)": discrete.mutual_information(t, s12),
                "I(T;s1,s2) miller_madow": discrete.mutual_information(t, s12, estimator="miller_madow"),
                "I(T;s1|s2)": discrete.mutual_information(t, d["s1"], d["s2"]),
            }
        )
    test = discrete.permutation_test(d["xor"], d["s1"], n_permutations=1000, seed=0)
    test_c = discrete.permutation_test(d["xor"], d["s1"], d["s2"], n_permutations=1000, seed=0)
    pid = _demo_pid(d)
    payload = {
        "command": "demo",
        "example": "gates",
        "n_samples": len(d["s1"]),
        "unit": "bits",
        "mutual_information": rows,
        "permutation_tests": {
            "I(xor;s1)": {"statistic": test.statistic, "p_value": test.p_value},
            "I(xor;s1|s2)": {"statistic": test_c.statistic, "p_value": test_c.p_value},
        },
        "sxpid": pid,
        "seconds": time.perf_counter() - t0,
    }
    if args.json:
        _emit(args, payload, "")
        return 0
    cols = list(rows[0])[1:]
    lines = [f"pidlearn demo — {EXAMPLES['gates'][1]}", "", "Mutual information (bits, plug-in unless named):"]
    lines.append(f"{'target':<10}" + "".join(f"{c:>26}" for c in cols))
    for r in rows:
        lines.append(f"{r['target']:<10}" + "".join(f"{r[c]:>26.4f}" for c in cols))
    lines += [
        "",
        "XOR: neither input alone tells anything, both together tell 1 bit; given s2, s1 tells it all:",
        f"  I(xor;s1)    = {test.statistic:.4f} bits, permutation p = {test.p_value:.3g}",
        f"  I(xor;s1|s2) = {test_c.statistic:.4f} bits, permutation p = {test_c.p_value:.3g}",
    ]
    if pid is not None:
        lines += ["", "SxPID atoms (bits) of target = f(s1, s2):"]
        names = list(next(iter(pid.values()))["atoms"])
        lines.append(f"{'target':<10}" + "".join(f"{n:>10}" for n in names))
        for gate, res in pid.items():
            lines.append(f"{gate:<10}" + "".join(f"{res['atoms'][n]:>10.4f}" for n in names))
    lines.append(f"\n({payload['seconds']:.2f} s)")
    _emit(args, payload, "\n".join(lines))
    return 0


# ------------------------------------------------------------------------------------------------------------------
def check_plot_option(path, flag: str = "--plot") -> None:
    """Refuse a plot file that could not be written (missing folder, a folder, a format matplotlib lacks) before the
    work starts, not after it; nothing to check for no plot (None or ``none``) or without matplotlib (no plot)."""
    if path is None or str(path).lower() == "none":
        return
    try:
        from pidlearn.plotting import _path_arg

        _path_arg(path)
    except ImportError:
        return
    except ValueError as exc:
        raise ValueError(f"{flag}: {exc}") from None


class _UsageError(ValueError):
    """A command-line usage error (unknown option, missing or malformed argument)."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`_UsageError` instead of printing the usage and exiting, so that ``main`` reports
    it as one line (or one JSON object) with exit status 2, like every other error; subcommands inherit it."""

    def error(self, message):
        raise _UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    from pidlearn import __version__

    parser = _Parser(
        prog="pidlearn",
        description="Mutual information and partial information decomposition (SxPID) of your data.",
    )
    parser.add_argument("--version", action="version", version=f"pidlearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(sub)
    _add_mi(sub)
    for name in _PLUGINS:
        try:
            plugin = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        plugin.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``pidlearn`` console script."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        command = next((a for a in argv if not a.startswith("-")), None)
        if "--json" in argv:
            print(json.dumps({"command": command, "error": str(exc)}))
        else:
            print(f"pidlearn{f' {command}' if command else ''}: error: {exc}", file=sys.stderr)
        return 2
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                return int(args.run(args) or 0)
            finally:
                for w in caught:  # one line each on stderr (stdout keeps its one JSON object)
                    text = " ".join(str(w.message).split())
                    print(f"pidlearn {args.command}: {w.category.__name__}: {text}", file=sys.stderr)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        if getattr(args, "json", False):
            print(json.dumps({"command": args.command, "error": str(exc)}))
        else:
            print(f"pidlearn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
