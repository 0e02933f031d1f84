"""The ``pidlearn`` command: a thin argparse front over the library.

Every subcommand takes ``--json`` and then prints exactly one JSON object on stdout (errors too, as
``{"error": ...}`` with a non-zero exit status).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time

from pidlearn.datasets import read_table, select_columns

__all__ = ["main", "read_table"]

#: Modules that add a subcommand: each has ``add_parser(subparsers)`` and ``run(args) -> int``.
_PLUGINS = ("pidlearn._cli_pid", "pidlearn._cli_train", "pidlearn._cli_bench", "pidlearn._cli_mole")


def _unit(base: float) -> str:
    return {2.0: "bits", math.e: "nats", 10.0: "dits"}.get(float(base), f"log{base:g} units")


def _emit(args, payload: dict, text: str) -> None:
    print(json.dumps(payload) if args.json else text)


# ------------------------------------------------------------------------------------------------------------------
def _add_mi(sub) -> None:
    p = sub.add_parser(
        "mi",
        help="mutual information of columns of a CSV/.npy/.npz file",
        description="I(X;Y) or I(X;Y|Z) of discrete columns. Several columns after --x form one joint variable.",
    )
    p.add_argument("file", help="CSV/TSV (header row = names), .npy (columns 0,1,..) or .npz table")
    p.add_argument("--x", nargs="+", required=True, metavar="COL", help="column name(s) or index(es) of X")
    p.add_argument("--y", nargs="+", required=True, metavar="COL", help="column name(s) or index(es) of Y")
    p.add_argument("--z", nargs="+", metavar="COL", help="condition on these columns")
    p.add_argument("--estimator", default="plugin", help="plugin | miller_madow | grassberger | chao_shen")
    p.add_argument("--base", type=float, default=2.0, help="logarithm base (2 = bits)")
    p.add_argument("--permutations", type=int, default=0, metavar="N", help="permutation test with N shuffles")
    p.add_argument("--seed", type=int, default=0, help="seed of the permutation test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=_run_mi)


def _run_mi(args) -> int:
    from pidlearn import discrete

    names, cols = read_table(args.file)
    x = select_columns(names, cols, args.x, "--x")
    y = select_columns(names, cols, args.y, "--y")
    z = select_columns(names, cols, args.z, "--z") if args.z else None
    t0 = time.perf_counter()
    kw = {"base": args.base, "estimator": args.estimator}
    if args.permutations > 0:
        res = discrete.permutation_test(x, y, z, n_permutations=args.permutations, seed=args.seed, **kw)
        mi, p = res.statistic, res.p_value
    else:
        mi, p = discrete.mutual_information(x, y, z, **kw), None
    payload = {
        "command": "mi",
        "file": str(args.file),
        "x": args.x,
        "y": args.y,
        "z": args.z,
        "estimator": args.estimator,
        "base": args.base,
        "unit": _unit(args.base),
        "n_samples": len(x),
        "mutual_information": mi,
        "p_value": p,
        "n_permutations": args.permutations or None,
        "seconds": time.perf_counter() - t0,
    }
    cond = f" | {','.join(args.z)}" if args.z else ""
    text = f"I({','.join(args.x)} ; {','.join(args.y)}{cond}) = {mi:.6f} {_unit(args.base)}"
    text += f"  [{args.estimator}, n = {len(x)}]"
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
def build_parser() -> argparse.ArgumentParser:
    from pidlearn import __version__

    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        if getattr(args, "json", False):
            print(json.dumps({"command": args.command, "error": str(exc)}))
        else:
            print(f"pidlearn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
