"""Native I_min, I_MMI and I_ccs side by side with dit's PID_WB, PID_MMI and PID_CCS in one run.

    python -m pytest benchmarks/bench_measures.py --benchmark-only -q

Cases (the issue's): two sources of alphabet 4 with a random target of alphabet 4 (seeded pmf), and the 3-source
gates XOR3 (parity), AND3 and COPY3 of three fair bits. Both sides are called through the same front,
``pid_from_pmf(p, "<measure>")`` and ``pid_from_pmf(p, "<measure>_dit", max_seconds=None)`` (no forked time-limit
process for dit), and their atoms are checked equal (1e-9; 1e-8 for ccs) before timing. dit is timed in a few
rounds, pidlearn in many; the summary at the end prints dit's median over pidlearn's per group.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pidlearn.measures import pid_from_pmf

pytest.importorskip("dit")


def _gate(fn):
    p = np.zeros((2, 2, 2, 2))
    for s in itertools.product((0, 1), repeat=3):
        p[(*s, fn(*s))] += 1 / 8
    return p


def _copy3():
    p = np.zeros((2, 2, 2, 8))
    for s in itertools.product((0, 1), repeat=3):
        p[(*s, 4 * s[0] + 2 * s[1] + s[2])] = 1 / 8
    return p


def _random4():
    p = np.random.default_rng(4).random((4, 4, 4))
    return p / p.sum()


CASES = {
    "2 sources, alphabet 4": _random4(),
    "XOR3": _gate(lambda a, b, c: a ^ b ^ c),
    "AND3": _gate(lambda a, b, c: a & b & c),
    "COPY3": _copy3(),
}
MEASURES = ("imin", "mmi", "ccs")
TOL = {"imin": 1e-9, "mmi": 1e-9, "ccs": 1e-8}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize("impl", ["pidlearn", "dit"])
def test_measure(benchmark, measure, case, impl):
    p = CASES[case]
    ours = pid_from_pmf(p, measure)  # also compiles / loads the numba cache before timing
    theirs = pid_from_pmf(p, f"{measure}_dit", max_seconds=None)
    np.testing.assert_allclose(ours.values, theirs.values, atol=TOL[measure])
    benchmark.group = f"{measure}: {case}"
    benchmark.extra_info["impl"] = impl
    if impl == "pidlearn":
        benchmark(pid_from_pmf, p, measure)
    else:
        benchmark.pedantic(pid_from_pmf, args=(p, f"{measure}_dit"), kwargs={"max_seconds": None}, rounds=3)
