"""Slow, obviously correct twins of the discrete kernels (pure Python: Counter, math, scipy.special).

Every fast path in :mod:`pidlearn.discrete` is compared against these on random inputs.
"""

from __future__ import annotations

import math
from collections import Counter

from scipy.special import digamma


def rows(*variables):
    """Samples as hashable tuples: each variable a list of labels or a list of rows (joint of columns)."""
    n = len(variables[0])
    out = []
    for i in range(n):
        key = []
        for v in variables:
            item = v[i]
            key.extend(item if isinstance(item, (list, tuple)) else [item])
        out.append(tuple(key))
    return out


def entropy_nats(samples, estimator="plugin"):
    counts = list(Counter(samples).values())
    n = sum(counts)
    if estimator == "plugin":
        return -sum(c / n * math.log(c / n) for c in counts)
    if estimator == "miller_madow":
        return entropy_nats(samples) + (len(counts) - 1) / (2 * n)
    if estimator == "grassberger":
        g = [digamma(c) + 0.5 * (-1) ** c * (digamma((c + 1) / 2) - digamma(c / 2)) for c in counts]
        return math.log(n) - sum(c * gc for c, gc in zip(counts, g, strict=True)) / n
    if estimator == "chao_shen":
        f1 = sum(1 for c in counts if c == 1)
        f1 = n - 1 if f1 == n else f1
        cov = 1 - f1 / n
        return -sum((cov * c / n) * math.log(cov * c / n) / (1 - (1 - cov * c / n) ** n) for c in counts)
    raise ValueError(estimator)


def mutual_information_nats(x, y, z=None, estimator="plugin"):
    h = lambda *v: entropy_nats(rows(*v), estimator)  # noqa: E731
    if z is None:
        return h(x) + h(y) - h(x, y)
    return h(x, z) + h(y, z) - h(x, y, z) - h(z)
