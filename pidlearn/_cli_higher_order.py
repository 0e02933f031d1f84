"""The ``pidlearn higher-order`` subcommand: O-information (and TC, DTC, S-information) of every multiplet of columns.

``pidlearn higher-order FILE [--columns COL ...] [--measure o_information] [--sizes K_MIN [K_MAX]] [--top N]
[--estimator copula] [--bias-correction] [--base 2] [--bins N [--strategy quantile|uniform]] [--dropna] [--k K]
[--plot OUT.png] [--all-values] [--json]``: every multiplet of the selected columns (all columns by default) of sizes
``K_MIN..K_MAX`` through :func:`pidlearn.higher_order.multiplets`, reporting the most synergistic and redundant ones.
With ``--json`` exactly one JSON object is printed on stdout.
"""

from __future__ import annotations

import json
import time

from pidlearn.cli import DISCRETE_ESTIMATORS, Columns, add_data_options, check_plot_option

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Add the ``higher-order`` subcommand to an argparse subparsers object."""
    from pidlearn.higher_order import ESTIMATORS, MEASURES

    p = subparsers.add_parser(
        "higher-order",
        help="O-information, TC, DTC or S-information of every multiplet of columns of a CSV/.npy/.npz file",
        description=(
            "Evaluate a higher-order information measure (Rosas et al. 2019) on every multiplet of the selected "
            "columns of sizes K_MIN..K_MAX and list the most synergistic (lowest) and redundant (highest) ones. "
            "Columns are named by header or by 0-based index (default: every column)."
        ),
    )
    p.add_argument("file", help="CSV/TSV (header row = names), .npy (columns 0,1,..) or .npz table")
    p.add_argument("--columns", nargs="+", metavar="COL", help="the variables (default: every column)")
    p.add_argument("--measure", default="o_information", choices=MEASURES, help="default o_information")
    p.add_argument(
        "--sizes", nargs="+", type=int, default=[3], metavar="K", help="K_MIN [K_MAX]: multiplet sizes (default 3)"
    )
    p.add_argument("--top", type=int, default=10, help="how many synergistic and redundant multiplets to list")
    p.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        help="default: copula when a selected column is continuous (floats), plugin when all are discrete",
    )
    p.add_argument("--bias-correction", action="store_true", help="gaussian/copula: Ince et al. (2017) correction")
    p.add_argument("--base", type=float, default=2.0, help="logarithm base (2 = bits)")
    p.add_argument("--plot", metavar="OUT.png", help="save a histogram and the top multiplets to this image")
    p.add_argument("--all-values", action="store_true", help="--json: include every multiplet and value")
    add_data_options(p, k_help="neighbours of --estimator ksg (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``pidlearn higher-order``; returns the exit status (errors are raised for the caller to report)."""
    check_plot_option(args.plot)
    from pidlearn.datasets import read_table
    from pidlearn.higher_order import multiplets

    if len(args.sizes) not in (1, 2):
        raise ValueError(f"--sizes takes K_MIN [K_MAX], got {len(args.sizes)} numbers")
    sizes = (args.sizes[0], args.sizes[-1])
    if args.top < 0:
        raise ValueError(f"--top must be >= 0, got {args.top}")
    columns = args.columns if args.columns else read_table(args.file)[0]
    if len(set(columns)) != len(columns):
        raise ValueError(f"--columns repeats a column: {' '.join(columns)}")
    cols = Columns(args, {"--columns": list(columns)})
    names = cols.groups["--columns"]
    estimator = args.estimator or ("copula" if cols.any_continuous() else "plugin")
    if estimator in DISCRETE_ESTIMATORS:
        data = cols.labels("--columns")
    else:
        text = [nm for nm in names if cols.data[nm].dtype.kind not in "biuf"]
        if text:
            raise ValueError(
                f"--estimator {estimator} takes numbers, but column(s) {', '.join(text)} hold text; choose a "
                "discrete estimator (plugin, miller_madow, grassberger, chao_shen)"
            )
        data = cols.real("--columns")
    t0 = time.perf_counter()
    res = multiplets(
        data,
        sizes,
        measure=args.measure,
        estimator=estimator,
        base=args.base,
        bias_correction=args.bias_correction,
        top=args.top,
        names=names,
        k=args.k if args.k is not None else 3,
        seed=args.seed,
    )
    seconds = time.perf_counter() - t0
    if args.plot:
        from pidlearn.plotting import _use_file_backend

        _use_file_backend()
        fig, _ = res.plot()
        fig.savefig(args.plot, dpi=120)
        import matplotlib.pyplot as plt

        plt.close(fig)
    if args.json:
        payload = {
            "command": "higher-order",
            "file": str(args.file),
            "columns": names,
            "sizes": list(sizes),
            **cols.report(),
            **res.to_dict(values=args.all_values),
            "plot_file": args.plot,
            "seconds": seconds,
        }
        print(json.dumps(payload))
        return 0
    lines = [
        f"{args.measure} of {len(names)} variables, sizes {sizes[0]}..{sizes[1]}  [{estimator}, n = {cols.sel.n_rows}]",
        *cols.notes(args),
        "",
        res.table(),
    ]
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    lines.append(f"({seconds:.3f} s)")
    print("\n".join(lines))
    return 0
