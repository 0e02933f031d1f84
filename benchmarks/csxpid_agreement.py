"""Differentiable continuous SxPID against the KSG-type estimator over N (the guide's tables; long: not a test).

    python benchmarks/csxpid_agreement.py soft [--tau 0.02]        # soft counts vs KSG-type, per N
    python benchmarks/csxpid_agreement.py binned                    # linear-binned (default width) vs KSG-type
    python benchmarks/csxpid_agreement.py bin-width                 # binned at fixed widths h, per N: the rule's data
    python benchmarks/csxpid_agreement.py reference      # binned and KSG-type on shared/reference/csxpid_bivariate
    python benchmarks/csxpid_agreement.py small          # N = 80 (the reference's size), 40 seeds: sampling spreads

Data (all tables): ``S_1, S_2 ~ N(0, 1)``, ``T = S_1 + 0.5 S_2 + 0.5 ε``, seed ``s`` from
``numpy.random.default_rng(s)``; N = 500 (8 seeds), 1000 (8), 2000 (4), 4000 (2), 8000 (1), 16 000 (1). The KSG-type
values come from :func:`pidlearn.continuous.sxpid` (k = 3, standardised, one worker) and are cached in ``--cache``
(npz, no pickle) so that the tables share them. Atoms in bits, lattice order {1}{2}, {1}, {2}, {12}; Markdown rows
on stdout, as in ``docs/guide/differentiable_csxpid.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SIZES = ((500, 8), (1000, 8), (2000, 4), (4000, 2), (8000, 1), (16000, 1))
WIDTHS = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8)
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "csxpid_bivariate"


def sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Target (N,) and sources (N, 2) of one seed."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, 2))
    return s[:, 0] + 0.5 * s[:, 1] + 0.5 * rng.standard_normal(n), s


def ksg_values(cache: Path) -> dict[str, np.ndarray]:
    """KSG-type atoms of every (N, seed), computed once and kept in ``cache``."""
    from pidlearn.continuous import sxpid

    out = dict(np.load(cache, allow_pickle=False)) if cache.exists() else {}
    for n, reps in SIZES:
        for seed in range(reps):
            if f"{n}_{seed}" not in out:
                t, s = sample(n, seed)
                out[f"{n}_{seed}"] = sxpid(t, [s[:, 0], s[:, 1]], workers=1).values
                np.savez(cache, **out)
    return out


def _fmt(values) -> str:
    return ", ".join(f"{v:.4f}" for v in values)


def _small(binned_estimator, n: int = 80, seeds: int = 40) -> None:
    """Sampling spread (sd over seeds) of the KSG-type, soft-count and binned atoms at the reference data's size, and
    each differentiable estimator's mean distance from the KSG-type values of the same seeds."""
    import torch

    from pidlearn.backends.torch.continuous_sxpid import continuous_sxpid as soft
    from pidlearn.continuous import sxpid

    ksg, soft_est, binned = [], [], []
    for seed in range(seeds):
        t, s = sample(n, seed)
        ksg.append(sxpid(t, [s[:, 0], s[:, 1]], workers=1).values)
        with torch.no_grad():
            soft_est.append(soft(torch.tensor(t), torch.tensor(s)).numpy())
        binned.append(binned_estimator(t, s, method="binned"))
    ksg, soft_est, binned = (np.array(a) for a in (ksg, soft_est, binned))
    print(f"N = {n}, {seeds} seeds; atoms {{1}}{{2}}, {{1}}, {{2}}, {{12}} (bits)")
    print(f"| KSG-type | mean {_fmt(ksg.mean(0))} | sd {_fmt(ksg.std(0, ddof=1))} |")
    for name, est in (("soft counts", soft_est), ("binned", binned)):
        print(f"| {name} | sd {_fmt(est.std(0, ddof=1))} | mean |est − KSG| {_fmt(np.abs(est - ksg).mean(0))} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("table", choices=("soft", "binned", "bin-width", "reference", "small"))
    p.add_argument("--tau", type=float, default=0.02, help="soft counts' softness (table 'soft')")
    p.add_argument("--cache", type=Path, default=Path("csxpid_ksg.npz"), help="KSG-type values (npz)")
    args = p.parse_args(argv)
    from pidlearn.backends._binned_sxpid import default_bin_width
    from pidlearn.backends.numpy.continuous_sxpid import continuous_sxpid

    if args.table == "reference":
        from pidlearn.continuous import sxpid

        data = np.load(REFERENCE.with_suffix(".npz"), allow_pickle=False)
        t, s = data["t"], np.column_stack([data["s1"], data["s2"]])
        authors = json.loads(REFERENCE.with_suffix(".json").read_text())["redundancy_{1}{2}"]
        print("authors' redundancy {1}{2}:", authors)
        for normalize in (True, False):
            binned = continuous_sxpid(t, s, method="binned", normalize=normalize)
            ksg = sxpid(t, [s[:, 0], s[:, 1]], workers=1, normalize=normalize).values
            print(f"normalize={normalize}: binned {_fmt(binned)}; KSG-type {_fmt(ksg)}")
        return 0
    if args.table == "small":
        _small(continuous_sxpid)
        return 0
    ksg = ksg_values(args.cache)
    if args.table == "bin-width":
        print("| N \\ h | " + " | ".join(map(str, WIDTHS)) + " | best |")
    for n, reps in SIZES:
        ref = np.array([ksg[f"{n}_{seed}"] for seed in range(reps)])
        data = [sample(n, seed) for seed in range(reps)]
        if args.table == "bin-width":
            errs = [
                np.mean(
                    [
                        np.abs(continuous_sxpid(t, s, method="binned", bin_width=h) - r).mean()
                        for (t, s), r in zip(data, ref, strict=True)
                    ]
                )
                for h in WIDTHS
            ]
            print(f"| {n} | " + " | ".join(f"{e:.3f}" for e in errs) + f" | {WIDTHS[int(np.argmin(errs))]} |")
            continue
        if args.table == "soft":
            import torch

            with torch.no_grad():
                from pidlearn.backends.torch.continuous_sxpid import continuous_sxpid as soft

                est = np.array([soft(torch.tensor(t), torch.tensor(s), tau=args.tau).numpy() for t, s in data])
        else:
            est = np.array([continuous_sxpid(t, s, method="binned") for t, s in data])
        diff = np.abs(est - ref)
        sd = _fmt(ref.std(0, ddof=1)) if reps > 1 else "–"
        width = f"{default_bin_width(n, 2):.3f} | " if args.table == "binned" else ""
        print(
            f"| {n} | {reps} | {width}{_fmt(ref.mean(0))} | {sd} | {_fmt(diff.mean(0))} | {diff.mean():.4f} "
            f"| {diff.max():.4f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
