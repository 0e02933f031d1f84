"""Benchmark tasks with known ground truth.

Every task has an exact value (in bits) and a sampler that is seeded per run, so a cell ``(task, n, seed)`` always
sees the same data, in a serial run and on any Dask worker alike.

Four kinds of task:

* ``"continuous-mi"`` — the families of the bmi benchmark (Czyż et al., NeurIPS 2023): multivariate normal with
  dense or sparse interactions, the same after invertible maps of each variable (MI is unchanged), multivariate
  Student-t, and additive uniform noise. Samples are ``(x, y)``, each of shape ``(n, d)``.
* ``"discrete-mi"`` — discrete pairs with exact MI from their pmf. Samples are integer ``(x, y)``.
* ``"discrete-pid"`` — logic gates and random pmfs with exact SxPID atoms from :func:`pidlearn.sxpid_from_pmf`.
  Samples are ``(target, sources)``, ``sources`` of shape ``(n, n_sources)``.
* ``"continuous-pid"`` — jointly Gaussian target and sources: the sum of the atoms (``I(T; S)``) is known in closed
  form, the atoms themselves are not.

Closed forms (nats; the tasks store bits)
-----------------------------------------
* Gaussian: ``I = ½ ln(det Σ_X det Σ_Y / det Σ_XY)``.
* Student-t with ``ν`` degrees of freedom and dispersion Σ (Arellano-Valle et al. 2013):
  ``I = I_Gauss(Σ) + f(ν) + f(ν + d_X + d_Y) − f(ν + d_X) − f(ν + d_Y)``, ``f(x) = ln Γ(x/2) − (x/2) ψ(x/2)``.
* ``Y = X + ε``, ``X ~ U(0, 1)``, ``ε ~ U(−c, c)``: ``I = c − ln(2c)`` for ``c ≤ ½``, ``1/(4c)`` above.

References
----------
P. Czyż, F. Grabowski, J. E. Vogt, N. Beerenwinkel and A. Marx, "Beyond normal: on the evaluation of mutual
information estimators", NeurIPS 2023.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

__all__ = [
    "KINDS",
    "Task",
    "additive_uniform_mi",
    "all_tasks",
    "gaussian_mi",
    "get_task",
    "student_t_mi",
]

#: The task kinds, in display order.
KINDS = ("continuous-mi", "discrete-mi", "discrete-pid", "continuous-pid")
LN2 = math.log(2.0)


@dataclass(frozen=True)
class Task:
    """A benchmark task: data with a known information value.

    Attributes
    ----------
    name : str
        Unique name, e.g. ``"gauss-dense-3x3"``.
    kind : str
        One of :data:`KINDS`.
    truth : float
        The exact value in bits: ``I(X; Y)`` for MI tasks, ``I(T; S_1..S_n)`` (the sum of the atoms) for PID tasks.
    sampler : callable
        ``sampler(n, rng) -> (a, b)``; use :meth:`sample`, which seeds the generator.
    atoms : dict, optional
        Exact SxPID atoms in bits (``"discrete-pid"`` tasks).
    dims : tuple of int
        ``(d_x, d_y)`` for MI tasks, ``(n_sources,)`` for PID tasks.
    description : str
        One line for tables and plots.
    """

    name: str
    kind: str
    truth: float
    sampler: Callable = field(repr=False, compare=False)
    atoms: dict | None = field(default=None, compare=False)
    dims: tuple = ()
    description: str = ""

    def rng(self, n: int, seed: int) -> np.random.Generator:
        """The generator of run ``seed`` at sample size ``n`` (independent across tasks, sizes and seeds)."""
        return np.random.default_rng([int(seed), int(n), zlib.crc32(self.name.encode())])

    def sample(self, n: int, seed: int = 0):
        """``n`` samples of run ``seed``: ``(x, y)`` for MI tasks, ``(target, sources)`` for PID tasks."""
        if int(n) < 1:
            raise ValueError(f"n must be a positive number of samples, got {n}")
        return self.sampler(int(n), self.rng(n, seed))


# --------------------------------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------------------------------
def gaussian_mi(cov, dim_x: int) -> float:
    """``I(X; Y)`` in nats of a normal vector ``(X, Y)`` with covariance ``cov``; ``X`` is the first ``dim_x``."""
    cov = np.asarray(cov, dtype=np.float64)
    _, ld = np.linalg.slogdet(cov)
    _, lx = np.linalg.slogdet(cov[:dim_x, :dim_x])
    _, ly = np.linalg.slogdet(cov[dim_x:, dim_x:])
    return 0.5 * (lx + ly - ld)


def _f_student(x: float) -> float:
    from scipy.special import digamma, gammaln

    return float(gammaln(x / 2) - x / 2 * digamma(x / 2))


def student_t_mi(cov, dim_x: int, dof: float) -> float:
    """``I(X; Y)`` in nats of a multivariate Student-t vector with dispersion ``cov`` and ``dof`` degrees of freedom."""
    d_y = np.asarray(cov).shape[0] - dim_x
    corr = _f_student(dof) + _f_student(dof + dim_x + d_y) - _f_student(dof + dim_x) - _f_student(dof + d_y)
    return gaussian_mi(cov, dim_x) + corr


def additive_uniform_mi(c: float) -> float:
    """``I(X; X + ε)`` in nats for ``X ~ U(0, 1)``, ``ε ~ U(−c, c)``."""
    return c - math.log(2 * c) if c <= 0.5 else 1 / (4 * c)


# --------------------------------------------------------------------------------------------------------------------
# samplers (module-level, so that tasks pickle by reference)
# --------------------------------------------------------------------------------------------------------------------
def dense_cov(dim_x: int, dim_y: int, off: float = 0.5) -> np.ndarray:
    """Unit variances, every off-diagonal entry ``off`` (bmi's "dense" multinormal)."""
    d = dim_x + dim_y
    return np.full((d, d), off) + (1 - off) * np.eye(d)


def sparse_cov(dim_x: int, dim_y: int, n_pairs: int = 2, rho: float = 0.8) -> np.ndarray:
    """``X_i`` correlated with ``Y_i`` (ρ) for the first ``n_pairs`` indices, everything else independent."""
    d = dim_x + dim_y
    cov = np.eye(d)
    for i in range(n_pairs):
        cov[i, dim_x + i] = cov[dim_x + i, i] = rho
    return cov


def _normal(cov, dim_x, n, rng):
    z = rng.standard_normal((n, cov.shape[0])) @ np.linalg.cholesky(cov).T
    return z[:, :dim_x], z[:, dim_x:]


def _student(cov, dim_x, dof, n, rng):
    x, y = _normal(cov, dim_x, n, rng)
    scale = np.sqrt(dof / rng.chisquare(dof, n))[:, None]
    return x * scale, y * scale


def _normal_cdf(a):
    from scipy.special import ndtr

    return ndtr(a)


def _half_cube(a):
    return a * np.sqrt(np.abs(a))


def _wiggly(a):
    return a + 0.4 * np.sin(1.5 * a)  # derivative 1 + 0.6 cos(1.5 a) > 0: invertible


def _spiral(a, speed: float = 0.5):
    """Rotate the first two coordinates by an angle ``speed · |a|²``: invertible (the norm is kept)."""
    if a.shape[1] < 2:
        return a
    r2 = np.sum(a * a, axis=1)
    c, s = np.cos(speed * r2), np.sin(speed * r2)
    out = a.copy()
    out[:, 0] = c * a[:, 0] - s * a[:, 1]
    out[:, 1] = s * a[:, 0] + c * a[:, 1]
    return out


_MAPS = {"normcdf": _normal_cdf, "halfcube": _half_cube, "wiggly": _wiggly, "spiral": _spiral}


class _Gauss:
    def __init__(self, cov, dim_x, transform=None):
        self.cov, self.dim_x, self.transform = cov, dim_x, transform

    def __call__(self, n, rng):
        x, y = _normal(self.cov, self.dim_x, n, rng)
        if self.transform is not None:
            f = _MAPS[self.transform]
            x, y = f(x), f(y)
        return x, y


class _Student:
    def __init__(self, cov, dim_x, dof):
        self.cov, self.dim_x, self.dof = cov, dim_x, dof

    def __call__(self, n, rng):
        return _student(self.cov, self.dim_x, self.dof, n, rng)


class _AdditiveUniform:
    def __init__(self, c):
        self.c = c

    def __call__(self, n, rng):
        x = rng.random(n)
        return x[:, None], (x + rng.uniform(-self.c, self.c, n))[:, None]


class _FromPmf:
    """Draw samples of a pmf ``p[a0, a1, ..., last]``: MI tasks give ``(x, y)`` = (first axis, second axis);
    PID tasks ``(target, sources)`` = (last axis, the other axes as columns)."""

    def __init__(self, pmf, pid: bool):
        self.pmf, self.pid = np.asarray(pmf, dtype=np.float64), pid

    def __call__(self, n, rng):
        flat = self.pmf.ravel()
        idx = rng.choice(flat.size, size=n, p=flat / flat.sum())
        cols = np.stack(np.unravel_index(idx, self.pmf.shape), axis=1).astype(np.int64)
        if self.pid:
            return cols[:, -1].copy(), cols[:, :-1].copy()
        return cols[:, 0].copy(), cols[:, 1].copy()


class _GaussPID:
    """Sources iid N(0, 1), target = sum of the weighted sources + N(0, noise²)."""

    def __init__(self, weights, noise):
        self.weights, self.noise = np.asarray(weights, dtype=np.float64), noise

    def __call__(self, n, rng):
        s = rng.standard_normal((n, len(self.weights)))
        return s @ self.weights + self.noise * rng.standard_normal(n), s


# --------------------------------------------------------------------------------------------------------------------
# pmfs of the discrete tasks
# --------------------------------------------------------------------------------------------------------------------
def gate_pmf(fn, n_sources: int = 2, n_out: int | None = None) -> np.ndarray:
    """pmf ``p[s1, .., sn, t]`` of uniform iid bits and ``t = fn(s1, .., sn)``."""
    outs = [int(fn(*bits)) for bits in np.ndindex(*(2,) * n_sources)]
    p = np.zeros((2,) * n_sources + ((n_out or max(outs) + 1),))
    for bits, t in zip(np.ndindex(*(2,) * n_sources), outs, strict=True):
        p[(*bits, t)] = 0.5**n_sources
    return p


_GATES = {
    "xor": (lambda a, b: a ^ b, 2, "T = S1 xor S2: pure synergy, negative redundancy"),
    "and": (lambda a, b: a & b, 2, "T = S1 and S2"),
    "copy": (lambda a, b: 2 * a + b, 2, "T = (S1, S2)"),
    "unq": (lambda a, b: a, 2, "T = S1: unique information of S1"),
    "parity3": (lambda a, b, c: a ^ b ^ c, 3, "T = S1 xor S2 xor S3"),
    "and3": (lambda a, b, c: a & b & c, 3, "T = S1 and S2 and S3"),
}


def _rdn_pmf() -> np.ndarray:
    p = np.zeros((2, 2, 2))
    p[0, 0, 0] = p[1, 1, 1] = 0.5
    return p


def random_pmf(shape, seed: int, concentration: float = 1.0) -> np.ndarray:
    """A random pmf of the given shape (flat Dirichlet), reproducible by ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(int(np.prod(shape)), concentration)).reshape(shape)


def noisy_channel_pmf(alphabet: int, p_copy: float) -> np.ndarray:
    """``X`` uniform on ``alphabet`` values, ``Y = X`` with probability ``p_copy``, else uniform."""
    p = np.full((alphabet, alphabet), (1 - p_copy) / alphabet**2)
    p[np.diag_indices(alphabet)] += p_copy / alphabet
    return p


# --------------------------------------------------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------------------------------------------------
def _bits(nats: float) -> float:
    return nats / LN2


def _continuous_tasks() -> list[Task]:
    tasks = []
    rho = 0.75
    cov1 = np.array([[1.0, rho], [rho, 1.0]])
    t1 = _bits(gaussian_mi(cov1, 1))
    tasks.append(
        Task("gauss-1x1", "continuous-mi", t1, _Gauss(cov1, 1), dims=(1, 1), description="bivariate normal, ρ = 0.75")
    )
    for m in ("normcdf", "halfcube", "wiggly"):
        tasks.append(
            Task(
                f"{m}-gauss-1x1",
                "continuous-mi",
                t1,
                _Gauss(cov1, 1, m),
                dims=(1, 1),
                description=f"{m} of bivariate normal, ρ = 0.75",
            )
        )
    for d in (2, 3, 5, 25):
        cov = dense_cov(d, d)
        tasks.append(
            Task(
                f"gauss-dense-{d}x{d}",
                "continuous-mi",
                _bits(gaussian_mi(cov, d)),
                _Gauss(cov, d),
                dims=(d, d),
                description=f"{d}×{d} normal, all correlations 0.5",
            )
        )
    for d in (3, 5):
        cov = sparse_cov(d, d)
        truth = _bits(gaussian_mi(cov, d))
        tasks.append(
            Task(
                f"gauss-sparse-{d}x{d}",
                "continuous-mi",
                truth,
                _Gauss(cov, d),
                dims=(d, d),
                description=f"{d}×{d} normal, two pairs at ρ = 0.8",
            )
        )
    cov = sparse_cov(3, 3)
    for m in ("halfcube", "spiral"):
        tasks.append(
            Task(
                f"{m}-sparse-3x3",
                "continuous-mi",
                _bits(gaussian_mi(cov, 3)),
                _Gauss(cov, 3, m),
                dims=(3, 3),
                description=f"{m} of 3×3 sparse normal",
            )
        )
    for d, dof in ((1, 1), (2, 1), (2, 2), (3, 2), (5, 3)):
        eye = np.eye(2 * d)
        tasks.append(
            Task(
                f"student-{d}x{d}-dof{dof}",
                "continuous-mi",
                _bits(student_t_mi(eye, d, dof)),
                _Student(eye, d, dof),
                dims=(d, d),
                description=f"{d}×{d} Student-t, identity dispersion, {dof} dof",
            )
        )
    for c in (0.1, 0.75):
        tasks.append(
            Task(
                f"uniform-noise-c{c:g}",
                "continuous-mi",
                _bits(additive_uniform_mi(c)),
                _AdditiveUniform(c),
                dims=(1, 1),
                description=f"Y = X + U(−{c:g}, {c:g}), X ~ U(0, 1)",
            )
        )
    return tasks


def _discrete_mi_tasks() -> list[Task]:
    from pidlearn.discrete import mutual_information_from_pmf

    out = []
    for a, pc in ((4, 0.5), (8, 0.7), (32, 0.5)):
        p = noisy_channel_pmf(a, pc)
        out.append(
            Task(
                f"channel-a{a}",
                "discrete-mi",
                mutual_information_from_pmf(p),
                _FromPmf(p, pid=False),
                dims=(1, 1),
                description=f"alphabet {a}, Y = X with probability {pc:g}, else uniform",
            )
        )
    p = random_pmf((6, 6), seed=6)
    out.append(
        Task(
            "random-pmf-6x6",
            "discrete-mi",
            mutual_information_from_pmf(p),
            _FromPmf(p, pid=False),
            dims=(1, 1),
            description="random 6×6 pmf",
        )
    )
    return out


def _pid_task(name: str, pmf: np.ndarray, description: str) -> Task:
    from pidlearn.sxpid import sxpid_from_pmf

    res = sxpid_from_pmf(pmf)
    return Task(
        name,
        "discrete-pid",
        res.mutual_information,
        _FromPmf(pmf, pid=True),
        atoms=dict(res.atoms),
        dims=(pmf.ndim - 1,),
        description=description,
    )


def _discrete_pid_tasks() -> list[Task]:
    out = [_pid_task(name, gate_pmf(fn, k), desc) for name, (fn, k, desc) in _GATES.items()]
    out.append(_pid_task("rdn", _rdn_pmf(), "S1 = S2 = T: pure redundancy"))
    out.append(
        _pid_task("random-pmf-2src-a3", random_pmf((3, 3, 3), seed=23), "random pmf, 2 sources × 3 values, 3 targets")
    )
    out.append(
        _pid_task(
            "random-pmf-3src-a2", random_pmf((2, 2, 2, 2), seed=32), "random pmf, 3 binary sources, binary target"
        )
    )
    return out


def _continuous_pid_tasks() -> list[Task]:
    out = []
    for name, w, noise in (("gauss-pid-sum", (1.0, 1.0), 1.0), ("gauss-pid-unequal", (1.0, 0.5), 0.5)):
        w = np.asarray(w)
        cov = np.eye(len(w) + 1)
        cov[-1, :-1] = cov[:-1, -1] = w
        cov[-1, -1] = float(w @ w) + noise**2
        out.append(
            Task(
                name,
                "continuous-pid",
                _bits(gaussian_mi(cov, len(w))),
                _GaussPID(w, noise),
                dims=(len(w),),
                description=f"T = {' + '.join(f'{v:g}·S{i + 1}' for i, v in enumerate(w))} + N(0, {noise:g}²)",
            )
        )
    return out


@cache
def _registry() -> dict[str, Task]:
    tasks = _continuous_tasks() + _discrete_mi_tasks() + _discrete_pid_tasks() + _continuous_pid_tasks()
    return {t.name: t for t in tasks}


def all_tasks(kind: str | None = None) -> list[Task]:
    """Every built-in task (of one kind, if given), in registry order."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}; kinds: {', '.join(KINDS)}")
    return [t for t in _registry().values() if kind is None or t.kind == kind]


def get_task(name: str) -> Task:
    """The built-in task called ``name``."""
    reg = _registry()
    if name not in reg:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(reg)}")
    return reg[name]
