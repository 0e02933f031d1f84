"""Side-by-side ratios: after a benchmark run, print each peer's median time over pidlearn's in the same group.

Benchmarks name pidlearn's entry ``pidlearn`` (or starting with ``pidlearn``) in ``benchmark.extra_info["impl"]``
and the peers by their package name; every group is compared against its pidlearn entry.
"""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    bs = getattr(config, "_benchmarksession", None)
    if bs is None or not getattr(bs, "benchmarks", None):
        return
    groups: dict[str, dict[str, float]] = {}
    for b in bs.benchmarks:
        if not b.stats:
            continue
        impl = b.extra_info.get("impl", b.name)
        groups.setdefault(b.group or b.name, {})[impl] = b.stats.median
    lines = []
    for group, impls in sorted(groups.items()):
        ours = impls.get("pidlearn")
        for impl, t in sorted(impls.items(), key=lambda kv: kv[1]):
            ratio = f"{t / ours:8.1f}x pidlearn's time" if ours and impl != "pidlearn" else ""
            lines.append(f"{group:<40} {impl:<22} {t * 1e3:12.3f} ms  {ratio}")
    terminalreporter.write_sep("-", "median times and ratios (peer / pidlearn)")
    for line in lines:
        terminalreporter.write_line(line)
