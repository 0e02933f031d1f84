"""The ``pidlearn pid`` subcommand: partial information decomposition of columns of a table.

``pidlearn pid FILE --target COL [COL...] --sources COL COL [COL...] [--measure sx] [--local out.csv] [--base 2]
[--bins N [--strategy quantile|uniform]] [--dropna] [--k K] [--json]``: each ``--sources`` column is one source (2 to
5); several ``--target`` columns form one joint target. Discrete columns (integers, booleans, text) go to the
discrete SxPID (or a dit measure); when every column is continuous (floats), to the continuous SxPID of
:func:`pidlearn.continuous.sxpid` (2 to 4 sources). ``--bins N`` discretises the continuous columns first. With
``--json`` exactly one JSON object is printed on stdout.
"""

from __future__ import annotations

import csv
import json
import time

from pidlearn.cli import Columns, add_data_options

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Add the ``pid`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "pid",
        help="partial information decomposition (SxPID or a dit measure) of columns of a CSV/.npy/.npz file",
        description=(
            "Decompose I(target; sources) into redundant, unique and synergistic atoms. Each column after --sources "
            "is one source (2 to 5); several --target columns form one joint target. Columns are named by header "
            "or by 0-based index. Discrete columns (integers, booleans, text) use the discrete SxPID; all-continuous "
            "(float) columns the continuous SxPID (KSG, 2 to 4 sources); --bins N discretises continuous columns."
        ),
    )
    p.add_argument("file", help="CSV/TSV (header row = names), .npy (columns 0,1,..) or .npz table")
    p.add_argument("--target", nargs="+", required=True, metavar="COL", help="target column(s)")
    p.add_argument("--sources", nargs="+", required=True, metavar="COL", help="one column per source (2 to 5)")
    p.add_argument(
        "--measure",
        default="sx",
        help="sx (default, pidlearn's SxPID), a native measure (imin, mmi, ccs, dep, broja) or any other dit measure",
    )
    p.add_argument("--local", metavar="OUT.csv", help="write the local (per-sample) atoms to this CSV (sx only)")
    p.add_argument("--base", type=float, default=2.0, help="logarithm base (2 = bits)")
    add_data_options(p, k_help="number of neighbours of the continuous SxPID (default: the library's, 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _write_local(path: str, names, local) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for row in local:
            writer.writerow([repr(float(v)) for v in row])


def _continuous(cols, args):
    """Continuous SxPID (every selected column continuous, measure sx)."""
    cont = cols.names("continuous")
    if args.measure != "sx":
        raise ValueError(
            f"--measure {args.measure} takes discrete data, but column(s) {', '.join(cont)} are continuous (floats); "
            "pass --bins N to discretise them, or use --measure sx (continuous SxPID)"
        )
    disc = cols.names("discrete")
    if disc:
        raise ValueError(
            f"column(s) {', '.join(disc)} are discrete and {', '.join(cont)} continuous; the continuous SxPID needs "
            "every target and source column continuous: pass --bins N to discretise the continuous columns"
        )
    from pidlearn.continuous import sxpid

    target = cols.real("--target")
    sources = [cols.real(f"--sources {c}") for c in args.sources]
    kw = {"base": args.base, "seed": args.seed}
    if args.k is not None:
        kw["k"] = args.k
    return sxpid(target, sources, **kw), "continuous_sx"


def run(args) -> int:
    """Run ``pidlearn pid``; returns the exit status (errors are raised for the caller to report)."""
    from pidlearn.measures import pid

    both = set(args.target) & set(args.sources)
    if both:
        raise ValueError(
            f"column(s) {', '.join(sorted(both))} given both as target and as source; the target must not be a source"
        )
    if len(args.sources) < 2:
        raise ValueError("--sources needs at least 2 columns (one per source)")
    cols = Columns(args, {"--target": args.target, "--sources": args.sources})
    variables = {"target": "--target", **{f"source {i + 1}": f"--sources {c}" for i, c in enumerate(args.sources)}}
    cols.groups.update({f"--sources {c}": [nm] for c, nm in zip(args.sources, cols.groups["--sources"], strict=True)})
    t0 = time.perf_counter()
    try:
        if cols.any_continuous():
            res, estimator = _continuous(cols, args)
        else:
            if args.k is not None:
                raise ValueError("--k sets the neighbours of the continuous SxPID; these columns are all discrete")
            target = cols.labels("--target")
            sources = [cols.labels(f"--sources {c}")[:, 0] for c in args.sources]
            res, estimator = pid(target, sources, measure=args.measure, base=args.base), args.measure
    except (ValueError, TypeError) as exc:
        raise cols.rename_errors(exc, variables) from None
    seconds = time.perf_counter() - t0
    n = cols.sel.n_rows
    if args.local:
        if res.local is None:
            raise ValueError(f"--local needs local atoms, which only the 'sx' measure gives (not {args.measure!r})")
        _write_local(args.local, res.atom_names, res.local)
    legend = {str(i + 1): c for i, c in enumerate(args.sources)}
    if args.json:
        payload = {
            "command": "pid",
            "file": str(args.file),
            "target": args.target,
            "sources": legend,
            "n_samples": n,
            "estimator": estimator,
            "k": (args.k or 3) if estimator == "continuous_sx" else None,
            **cols.report(),
            "bins": args.bins,
            "strategy": args.strategy if args.bins is not None else None,
            **res.to_dict(),
            "local_file": args.local,
            "seconds": seconds,
        }
        print(json.dumps(payload))
        return 0
    lines = [
        f"PID of I({','.join(args.target)} ; {', '.join(args.sources)})  [{estimator}, n = {n}]",
        "sources: " + ", ".join(f"{k} = {v}" for k, v in legend.items()),
        *cols.notes(args),
        "",
        res.table(max_rows=40),
    ]
    if args.local:
        lines.append(f"local atoms written to {args.local}")
    lines.append(f"({seconds:.3f} s)")
    print("\n".join(lines))
    return 0
