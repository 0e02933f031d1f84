"""The ``pidlearn pid`` subcommand: partial information decomposition of columns of a table.

``pidlearn pid FILE --target COL [COL...] --sources COL COL [COL...] [--measure sx] [--local out.csv] [--base 2]
[--json]``: each ``--sources`` column is one source (2 to 5); several ``--target`` columns form one joint target.
With ``--json`` exactly one JSON object is printed on stdout.
"""

from __future__ import annotations

import csv
import json
import time

from pidlearn.datasets import read_table, select_columns

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Add the ``pid`` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "pid",
        help="partial information decomposition (SxPID or a dit measure) of columns of a CSV/.npy/.npz file",
        description=(
            "Decompose I(target; sources) into redundant, unique and synergistic atoms. Each column after --sources "
            "is one source (2 to 5); several --target columns form one joint target. Columns are named by header "
            "or by 0-based index."
        ),
    )
    p.add_argument("file", help="CSV/TSV (header row = names), .npy (columns 0,1,..) or .npz table")
    p.add_argument("--target", nargs="+", required=True, metavar="COL", help="target column(s)")
    p.add_argument("--sources", nargs="+", required=True, metavar="COL", help="one column per source (2 to 5)")
    p.add_argument(
        "--measure", default="sx", help="sx (default, pidlearn's SxPID) or a dit measure: imin, mmi, broja, ccs, ..."
    )
    p.add_argument("--local", metavar="OUT.csv", help="write the local (per-sample) atoms to this CSV (sx only)")
    p.add_argument("--base", type=float, default=2.0, help="logarithm base (2 = bits)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _write_local(path: str, names, local) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        for row in local:
            writer.writerow([repr(float(v)) for v in row])


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
    names, cols = read_table(args.file)
    target = select_columns(names, cols, args.target, "--target")
    sources = [select_columns(names, cols, [c], "--sources")[:, 0] for c in args.sources]
    t0 = time.perf_counter()
    res = pid(target, sources, measure=args.measure, base=args.base)
    seconds = time.perf_counter() - t0
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
            "n_samples": len(target),
            **res.to_dict(),
            "local_file": args.local,
            "seconds": seconds,
        }
        print(json.dumps(payload))
        return 0
    lines = [
        f"PID of I({','.join(args.target)} ; {', '.join(args.sources)})  [{res.measure}, n = {len(target)}]",
        "sources: " + ", ".join(f"{k} = {v}" for k, v in legend.items()),
        "",
        res.table(max_rows=40),
    ]
    if args.local:
        lines.append(f"local atoms written to {args.local}")
    lines.append(f"({seconds:.3f} s)")
    print("\n".join(lines))
    return 0
