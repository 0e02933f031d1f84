"""MOLE test accuracy of the NumPy backend beside the torch backend: same configuration, several seeds, one process.

    python benchmarks/mole_backend_agreement.py [--cases MNIST-MLP Fashion-MNIST-CNN Cora-GCN MUTAG-GIN]
        [--seeds 0 1 2] [--epochs E] [--subset N] [--folds F] [--data ../shared/datasets] [--json out.json]
    python benchmarks/mole_backend_agreement.py --paired [same options]      # same weights, batches, dropout masks
        [--dtype float32|float64] [--trace] [--control]
    python benchmarks/mole_backend_agreement.py --lockstep 234 [--seeds 0]

Each case runs ``pidlearn.backends.torch.mole_data.run_experiment`` and ``pidlearn.backends.numpy.mole.run_experiment``
(what ``pidlearn mole --backend torch|numpy`` run) with the settings of :data:`CASES` (the ``legacy`` network and
optimiser settings, which both backends share; the objective and schedule of the validated table in
docs/results/mole.md), last epoch reported, for every seed. Each backend draws its own initial weights, shuffling
and dropout from the seed, so the seeds are independent samples of each backend's result. Prints a Markdown table:
per case, mean ± standard
deviation over the seeds of each backend's test accuracy (graph cases: each seed's value is its mean over the folds)
and the difference NumPy − torch in points; ``--json`` writes every run and the table.

``--paired``: the same protocol, but each seed trains both backends side by side from torch's initial weights (and
objective parameters), on the same batches and the same dropout masks (every dropout of both networks draws from its
own copy of one seeded torch generator); the sequential schedule follows torch's stage changes (a module stops when
its MI stalls, and the last digits of the MI can stop one backend an epoch earlier; the count is printed). What is
left of the difference is float32 rounding amplified by training. ``--dtype float64``: both networks, their inputs
and objectives in float64. ``--trace``: per run (graph data: per fold) the epochs where the largest difference of
the two backends' weights and running statistics (each tensor's relative to its largest value) passes 1e-6, 1e-5,
..., where the stage changes and where the test accuracies part; ``--json`` gets every epoch. ``--control``: the
NumPy backend replaced by a second torch network whose initial weights are one unit in the last place away from the
first's (the same code on both sides): the spread that rounding alone gives, to judge the NumPy − torch difference by.

``--lockstep STEPS``: the MNIST-MLP network with the Rényi objective (the legacy default), built once in torch and
copied into NumPy, trained by both trainers on the same batches for STEPS steps; prints after some steps the largest
weight difference per module and the test accuracy of each (the check that names the first step where the backends
part; they should agree to float32 rounding).

One thread for torch, BLAS and numba (set before numpy is imported).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

#: case -> (data type, dataset, run settings). Objective and schedule: the validated choices of docs/results/mole.md
#: (InfoNCE on the images, Rényi α = 1.01 with the sequential schedule on MUTAG); Cora: Rényi α = 1.01 on the legacy
#: GCN 64-64. ``epochs``/``train_size``/``folds`` are the default budget (reduced from the docs' 10 / 5 epochs on
#: the images for CPU time; ``--epochs``, ``--subset``, ``--folds`` override them).
CASES = {
    "MNIST-MLP": ("vector", "mnist", {"objective": "infonce", "schedule": "asynchronous", "epochs": 1,
                                      "train_size": 20000}),
    "Fashion-MNIST-CNN": ("grid", "fashion-mnist", {"objective": "infonce", "schedule": "asynchronous", "epochs": 1,
                                                    "train_size": 10000}),
    "Cora-GCN": ("node", "cora", {"objective": "renyi", "schedule": "asynchronous", "epochs": 200}),
    "MUTAG-GIN": ("graph", "mutag", {"objective": "renyi", "schedule": "sequential", "epochs": 50}),
}  # fmt: skip


#: ``--control``: the name of the second run (torch, its initial weights one unit in the last place away).
CONTROL = "torch ±1 ulp"


def settings(case: str, epochs: int | None, subset: int | None, folds: int | None) -> dict:
    data_type, _, kw = CASES[case]
    kw = dict(kw)
    if epochs is not None:
        kw["epochs"] = epochs
    if subset is not None and data_type in ("vector", "grid"):
        kw["train_size"] = subset
    if folds is not None and data_type == "graph":
        kw["folds"] = folds
    return kw


def run_one(backend: str, case: str, seed: int, kw: dict, data: str) -> dict:
    """One run of one backend; returns the test accuracy (graph: mean over folds) and seconds."""
    data_type, dataset, _ = CASES[case]
    t0 = time.perf_counter()
    if backend == "torch":
        import torch

        from pidlearn.backends.torch import mole_data

        torch.set_num_threads(1)
        extra = {"select": "last"}
        if "recipe" in inspect.signature(mole_data.run_experiment).parameters:
            extra["recipe"] = "legacy"  # the settings the NumPy backend follows
        res = mole_data.run_experiment(data_type, dataset, data, seed=seed, **kw, **extra)
    else:
        from pidlearn.backends.numpy import mole as numpy_mole

        res = numpy_mole.run_experiment(data_type, dataset, data, seed=seed, **kw)
    return {"case": case, "backend": backend, "seed": seed, "test_accuracy": float(res["test_accuracy"]),
            "seconds": time.perf_counter() - t0, "settings": {**kw, **res.get("settings", {})}}  # fmt: skip


# ------------------------------------------------------------------------------------------------------------------
# --paired: both trainers from torch's initial weights, on the same batches and the same dropout masks
def _shared_dropout(torch_root, numpy_layers, seed: int) -> None:
    """Make every dropout of both networks draw its mask from its own copy of one seeded torch generator.

    Both trainers run the same dropouts in the same order (modules 1..K, then the head; none in evaluation), so the
    k-th mask of the torch network equals the k-th mask of the NumPy one. Replaces the instances' ``forward``.
    ``numpy_layers`` may be a second torch module (``--control``): it gets the second generator.
    """
    import types

    import torch

    from pidlearn.backends.numpy import nn as nnp

    gens = {"torch": torch.Generator().manual_seed(seed), "numpy": torch.Generator().manual_seed(seed)}

    def mask(shape, p, who):
        return (torch.rand(tuple(shape), generator=gens[who]) >= p).float() / (1.0 - p)

    def torch_forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * mask(x.shape, self.p, "torch").to(x.dtype)

    def numpy_forward(self, x, train=True):
        self._scale = None
        if not train or self.p == 0:
            return x
        self._scale = mask(x.shape, self.p, "numpy").numpy().astype(x.dtype)
        return x * self._scale

    def control_forward(self, x):
        if not self.training or self.p == 0:
            return x
        return x * mask(x.shape, self.p, "numpy").to(x.dtype)

    for m in torch_root.modules():
        if isinstance(m, torch.nn.Dropout):
            m.forward = types.MethodType(torch_forward, m)
    if isinstance(numpy_layers, torch.nn.Module):
        for m in numpy_layers.modules():
            if isinstance(m, torch.nn.Dropout):
                m.forward = types.MethodType(control_forward, m)
        return

    def walk(layer):
        if isinstance(layer, nnp.Dropout):
            layer.forward = types.MethodType(numpy_forward, layer)
        for child in getattr(layer, "layers", []):
            walk(child)
        for name in ("dropout", "conv", "mlp"):
            if isinstance(getattr(layer, name, None), nnp.Layer):
                walk(getattr(layer, name))

    for layer in numpy_layers:
        walk(layer)


def _np_batch(inp, y):
    """A torch (input, labels) batch as NumPy arrays (GraphBatch: the NumPy twin with the same structure)."""
    from pidlearn.backends.numpy import nn as nnp

    y = y.numpy()
    if hasattr(inp, "edges"):
        g = inp
        return nnp.GraphBatch(
            g.x.numpy(), g.edges.numpy(), graph=None if g.graph is None else g.graph.numpy(), n_graphs=g.n_graphs,
            index=None if g.index is None else g.index.numpy(), pool=g.pool,
        ), y  # fmt: skip
    return inp.numpy(), y


def _max_differences(tm, nm) -> list[float]:
    """Largest |torch − NumPy| over the parameters and running statistics of each module and of the head, each
    tensor's relative to its largest |value| (running variances and weights on one scale)."""
    out = []
    for t, n in zip([*tm.modules, tm.head], [*nm.modules, nm.head], strict=True):
        ts, ns = t.state_dict(), n.state_dict()
        pairs = [(_f64(ts[k]), _f64(ns[k])) for k in ns if k in ts and _f64(ns[k]).size]
        out.append(max(float(abs(a - b).max() / max(abs(a).max(), 1e-30)) for a, b in pairs))
    return out


def _f64(v):
    """A torch tensor or NumPy array as a float64 NumPy array (integer buffers such as ``num_batches_tracked``
    too)."""
    import numpy as np

    return v.double().numpy() if hasattr(v, "double") else np.asarray(v, dtype=np.float64)


def _nudge(modules, seed: int) -> None:
    """Move every parameter of ``modules`` by one unit in the last place of its dtype, up or down at random."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in torch.nn.ModuleList(modules).parameters():
            up = torch.rand(p.shape, generator=generator) < 0.5
            p.copy_(torch.nextafter(p, torch.where(up, torch.inf, -torch.inf).to(p.dtype)))


def _paired_fit(case: str, kw: dict, seed: int, train, test, in_features: int, n_classes: int, *,
                dtype: str = "float32", trace: list | None = None, control: bool = False) -> tuple:  # fmt: skip
    """Train both trainers side by side; ``train(generator)`` gives one epoch's torch batches. Test accuracies.

    ``dtype="float64"``: both networks, their inputs and (so) every computation in float64. ``trace``: a list that
    gets one dict per epoch (stage, the largest relative weight difference of every module and the head, the epoch's
    training MI of each trainer, the test accuracy of each, whether the schedule had to be synced). ``control``:
    the second trainer is torch too, its initial weights one unit in the last place away from the first's.
    """
    import copy

    import numpy as np
    import torch

    from pidlearn.backends.numpy import mole as numpy_mole
    from pidlearn.backends.torch import mole_data
    from pidlearn.backends.torch.mole import MOLE

    data_type = CASES[case][0]
    cfg = dict(mole_data.DEFAULTS[data_type])
    common = {"n_classes": n_classes, "schedule": kw["schedule"], "seed": seed, "progress": False}
    common.update({k: cfg[k] for k in ("batch_size", "lr", "head_lr", "weight_decay")})
    torch.manual_seed(seed)
    mods, head = mole_data.build_network(data_type, in_features, n_classes, cfg["hidden"])
    tm = MOLE(mods, kw["objective"], head, **common)
    if dtype == "float64":
        for t in [*mods, head, tm.objectives]:
            t.double()
        train, test = _float64_batches(train), _float64_batches(test)
    if control:
        nmods, nhead = copy.deepcopy(mods), copy.deepcopy(head)
        _nudge([*nmods, nhead], seed)
        nm = MOLE(nmods, kw["objective"], nhead, **common)
        if dtype == "float64":
            nm.objectives.double()
        second = torch.nn.ModuleList([*nmods, nhead])

        def convert(batches):
            return batches
    else:
        nmods, nhead = numpy_mole.build_network(data_type, in_features, n_classes, cfg["hidden"], seed=seed)
        for t, n in zip([*mods, head], [*nmods, nhead], strict=True):
            if dtype == "float64":
                n.astype(np.float64)
            n.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
        nm = numpy_mole.MOLE(nmods, kw["objective"], nhead, **common)
        second = [*nmods, nhead]

        def convert(batches):
            return [_np_batch(*b) for b in batches]

    generator = torch.Generator().manual_seed(seed)
    first = train(generator)
    tm.prepare(first)
    nm.prepare(convert(first))
    for tobj, nobj in zip(tm.objectives, nm.objectives, strict=True):
        nobj.load_state_dict({k: v.clone() if control else v.numpy() for k, v in tobj.state_dict().items()})
    _shared_dropout(torch.nn.ModuleList([*mods, head]), second, seed)
    batches, stage_syncs = first, 0
    np_test = convert(test)
    while not tm.done(kw["epochs"]):
        tm.fit(batches, kw["epochs"], stop_after=1)
        nm.fit(convert(batches), kw["epochs"], stop_after=1)
        synced = (nm.stage, nm.stage_epochs) != (tm.stage, tm.stage_epochs)
        if synced:
            # sequential: a module stops when its training MI stalls; a difference in the last digits of the MI can
            # stop one trainer an epoch earlier. Follow torch's schedule and count how often that happened.
            stage_syncs += 1
            nm.stage, nm.stage_epochs, nm.best, nm.stale = tm.stage, tm.stage_epochs, tm.best, tm.stale
        if trace is not None:
            th, nh = tm.history[-1], nm.history[-1]
            trace.append({"epoch": tm.epoch, "stage": th["stage"], "diff": _max_differences(tm, nm),
                          "mi": (th["mi"], nh["mi"]), "head_loss": (th.get("head_loss"), nh.get("head_loss")),
                          "accuracy": (tm.accuracy(test), nm.accuracy(np_test)), "synced": synced})  # fmt: skip
        batches = train(generator)
    return tm.accuracy(test), nm.accuracy(np_test), stage_syncs


def _float64_batches(data):
    """The same batches (a list, or a callable ``f(generator)``) with float64 inputs."""
    import torch

    def cast(batches):
        return [(inp.to(torch.float64) if hasattr(inp, "edges") else inp.double(), y) for inp, y in batches]

    return (lambda generator: cast(data(generator))) if callable(data) else cast(data)


def run_paired(case: str, seed: int, kw: dict, data: str, *, dtype: str = "float32", trace: bool = False,
               control: bool = False) -> list[dict]:  # fmt: skip
    """One paired run (both backends): the protocol of ``mole_data.run_experiment`` with ``select="last"``.

    ``trace``: every run's per-epoch record (see :func:`_paired_fit`) under ``"trace"`` (one list per fold), and a
    summary printed per fold. ``control``: torch against torch one ulp away (:func:`_paired_fit`), the second run
    named :data:`CONTROL`.
    """
    import numpy as np
    import torch

    from pidlearn.backends.torch import mole_data

    torch.set_num_threads(1)
    data_type, dataset, _ = CASES[case]
    path = mole_data.find_dataset(data_type, dataset, data)
    traces: list[list[dict]] = []

    def opts():
        if trace:
            traces.append([])
        return {"dtype": dtype, "trace": traces[-1] if trace else None, "control": control}

    t0 = time.perf_counter()
    if data_type in ("vector", "grid"):
        (xt, yt), test = mole_data.load_images(path, train_size=kw.get("train_size"), flatten=data_type == "vector")
        bs = mole_data.DEFAULTS[data_type]["batch_size"]

        def train(generator):
            order = torch.randperm(len(yt), generator=generator)
            return [(xt[i], yt[i]) for i in (order[k * bs : (k + 1) * bs] for k in range(len(yt) // bs))]

        tests = [(test[0][k : k + 1024], test[1][k : k + 1024]) for k in range(0, len(test[1]), 1024)]
        accs = [_paired_fit(case, kw, seed, train, tests, xt.shape[1], 10, **opts())]
    elif data_type == "node":
        d = mole_data.load_planetoid(path)
        g, y = d["graph"], d["labels"]
        batch = [(g.with_index(d["train"]), y[d["train"]])]
        accs = [_paired_fit(case, kw, seed, lambda gen: batch, [(g.with_index(d["test"]), y[d["test"]])],
                            g.x.shape[1], d["n_classes"], **opts())]  # fmt: skip
    else:
        ds = mole_data.load_tu(path)
        folds = mole_data.stratified_folds(ds.labels, 10, seed)
        accs = []
        for f in range(kw.get("folds", 10)):
            train_ids = np.setdiff1d(np.arange(len(ds)), folds[f])
            bs = mole_data.DEFAULTS["graph"]["batch_size"]
            accs.append(_paired_fit(case, kw, seed + f, ds.loader(train_ids, bs), ds.loader(folds[f], bs)(None),
                                    ds.n_features, ds.n_classes, **opts()))  # fmt: skip
    seconds = time.perf_counter() - t0
    for f, tr in enumerate(traces):
        fold = f" fold {f}" if data_type == "graph" else ""
        print_trace(f"{case} seed {seed}{fold}", tr, CONTROL if control else "numpy")
    runs = [{"case": case, "backend": b, "seed": seed, "test_accuracy": float(np.mean([a[i] for a in accs])),
             "fold_accuracy": [a[i] for a in accs], "seconds": seconds / 2, "paired": True, "dtype": dtype,
             "stage_syncs": sum(a[2] for a in accs), "settings": kw}
            for i, b in enumerate(("torch", CONTROL if control else "numpy"))]  # fmt: skip
    if trace:
        runs[0]["trace"] = traces
    return runs


def print_trace(title: str, trace: list[dict], second: str = "numpy") -> None:
    """The epochs of one paired run where the largest relative weight difference first passes 1e-6, 1e-5, ..., 1e-1,
    the stage changes, the schedule was synced or the test accuracies part, and the last epoch."""
    print(f"{title}\n| epoch | stage | max |Δw| / max |w| per module, head | MI torch / {second} (bits) "
          f"| test acc. torch / {second} | note |\n|---|---|---|---|---|---|")  # fmt: skip
    level, stage, parted = 1e-6, None, False
    for i, r in enumerate(trace):
        notes = []
        top = max(r["diff"])
        while top > level and level < 1:
            notes.append(f"> {level:.0e}")
            level *= 10
        if r["stage"] != stage:
            notes.append(f"stage {r['stage']}")
            stage = r["stage"]
        if r["synced"]:
            notes.append("synced")
        if (abs(r["accuracy"][0] - r["accuracy"][1]) > 1e-6) != parted:  # torch's mean is a float32
            parted = not parted
            notes.append("accuracies part" if parted else "accuracies equal")
        if not notes and i < len(trace) - 1:
            continue
        mi = " / ".join(f"{v:.4f}" for v in (*r["mi"][0].values(), *r["mi"][1].values())) or "-"
        diffs = ", ".join(f"{d:.1e}" for d in r["diff"])
        print(
            f"| {r['epoch']} | {r['stage']} | {diffs} | {mi} | {100 * r['accuracy'][0]:.1f} / "
            f"{100 * r['accuracy'][1]:.1f} | {'; '.join(notes)} |"
        )


def summarise(runs: list[dict], cases, seeds, second: str = "numpy") -> list[dict]:
    """Per case: each run's accuracies, their mean and standard deviation, and ``second``'s mean − torch's."""
    rows = []
    for case in cases:
        row = {"case": case, "seeds": list(seeds)}
        for backend in ("torch", second):
            acc = [100 * r["test_accuracy"] for r in runs if r["case"] == case and r["backend"] == backend]
            row[backend] = acc
            row[f"{backend}_mean"] = statistics.mean(acc)
            row[f"{backend}_sd"] = statistics.stdev(acc) if len(acc) > 1 else 0.0
            row[f"{backend}_seconds"] = sum(r["seconds"] for r in runs if r["case"] == case and r["backend"] == backend)
        row["difference"] = row[f"{second}_mean"] - row["torch_mean"]
        rows.append(row)
    return rows


def describe(case: str, kw: dict) -> str:
    parts = [f"{kw['objective']} / {kw['schedule']}", f"{kw['epochs']} epochs"]
    if "train_size" in kw:
        parts.append(f"first {kw['train_size']} training images")
    if "folds" in kw:
        parts.append(f"first {kw['folds']} of 10 folds")
    return ", ".join(parts)


def markdown(rows: list[dict], configs: dict, second: str = "numpy") -> str:
    b = second
    lines = [
        f"| case | configuration | seeds | torch (%) | {b} (%) | {b} − torch (pts) | per seed torch / {b} (%) "
        f"| s torch / {b} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_seed = "; ".join(f"{t:.1f} / {n:.1f}" for t, n in zip(r["torch"], r[b], strict=True))
        lines.append(
            f"| {r['case']} | {describe(r['case'], configs[r['case']])} | {', '.join(map(str, r['seeds']))} "
            f"| {r['torch_mean']:.2f} ± {r['torch_sd']:.2f} | {r[f'{b}_mean']:.2f} ± {r[f'{b}_sd']:.2f} "
            f"| {r['difference']:+.2f} | {per_seed} | {r['torch_seconds']:.0f} / {r[f'{b}_seconds']:.0f} |"
        )
    return "\n".join(lines)


def lockstep(steps: int, seed: int, data: str, report_every: int = 13) -> None:
    """Both MOLE trainers from torch's initial weights on the same batches (MNIST-MLP, Rényi); prints the drift."""
    import numpy as np
    import torch

    from pidlearn.backends.numpy import mole as numpy_mole
    from pidlearn.backends.torch import mole_data
    from pidlearn.backends.torch.mole import MOLE

    torch.set_num_threads(1)
    path = mole_data.find_dataset("vector", "mnist", data)
    (xt, yt), (xe, ye) = mole_data.load_images(path, flatten=True)
    xe, ye = xe[:5000], ye[:5000]
    common = {"batch_size": 256, "lr": 1e-3, "head_lr": 1e-2, "progress": False, "seed": seed, "n_classes": 10}
    torch.manual_seed(seed)
    mods, head = mole_data.build_network("vector", 784, 10, 256)
    tmole = MOLE(mods, "renyi", head, **common)
    nmods, nhead = numpy_mole.build_network("vector", 784, 10, 256, seed=seed)
    for t, n in zip([*mods, head], [*nmods, nhead], strict=True):
        n.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    nmole = numpy_mole.MOLE(nmods, "renyi", nhead, **common)
    order = torch.randperm(len(yt), generator=torch.Generator().manual_seed(seed))
    batches = [order[k * 256 : (k + 1) * 256] for k in range(min(steps, len(yt) // 256))]
    print("| step | max |Δw| module 1 | module 2 | head | I(T_2;Y) torch / numpy (bits) | head loss torch / numpy "
          "| test acc. torch / numpy (%) |\n|---|---|---|---|---|---|---|")  # fmt: skip
    accs = {"torch": [], "numpy": []}
    for step, idx in enumerate(batches):
        tmole.fit([(xt[idx], yt[idx])], step + 1)
        nmole.fit([(xt[idx].numpy(), yt[idx].numpy())], step + 1)
        if step % report_every and step < len(batches) - 6:
            continue
        diff = [max(float(np.abs(t.state_dict()[k].numpy() - n.params[k]).max()) for k in n.params)
                for t, n in zip([*mods, head], [*nmods, nhead], strict=True)]  # fmt: skip
        ta, na = tmole.accuracy((xe, ye)), nmole.accuracy((xe.numpy(), ye.numpy()))
        accs["torch"].append(ta)
        accs["numpy"].append(na)
        th, nh = tmole.history[-1], nmole.history[-1]
        print(f"| {step + 1} | {diff[0]:.1e} | {diff[1]:.1e} | {diff[2]:.1e} | {th['mi']['module 2']:.4f} / "
              f"{nh['mi']['module 2']:.4f} | {th['head_loss']:.2f} / {nh['head_loss']:.2f} | {100 * ta:.1f} / "
              f"{100 * na:.1f} |", flush=True)  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", choices=tuple(CASES), default=list(CASES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, help="epochs of every case (default: the case's, see CASES)")
    p.add_argument("--subset", type=int, help="image cases: train on the first N training images")
    p.add_argument("--folds", type=int, help="graph cases: the first F of the 10 folds")
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
    p.add_argument("--json", metavar="FILE", help="write the runs and the table as JSON")
    p.add_argument("--paired", action="store_true",
                   help="both backends from torch's weights, on the same batches and dropout masks")  # fmt: skip
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="--paired: both networks, inputs and objectives in this precision")  # fmt: skip
    p.add_argument(
        "--trace",
        action="store_true",
        help="--paired: print per run the epochs where the backends' weights part (and --json them all)",
    )
    p.add_argument(
        "--control",
        action="store_true",
        help="--paired: torch against torch whose initial weights are one ulp away, instead of NumPy",
    )
    p.add_argument("--lockstep", type=int, metavar="STEPS", help="run the same-weights, same-batches check instead")
    args = p.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        p.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.subset is not None and args.subset < 256:
        p.error(f"--subset must be at least one batch (256 images), got {args.subset}")
    if args.folds is not None and not 1 <= args.folds <= 10:
        p.error(f"--folds must lie in 1..10, got {args.folds}")
    if (args.dtype != "float32" or args.trace or args.control) and not args.paired:
        p.error("--dtype, --trace and --control go with --paired")
    if not Path(args.data).exists():
        p.error(f"--data {args.data} does not exist (the shared/datasets folder)")
    if args.lockstep is not None:
        lockstep(args.lockstep, args.seeds[0], args.data)
        return 0
    configs = {c: settings(c, args.epochs, args.subset, args.folds) for c in args.cases}
    runs = []
    for case in args.cases:
        for seed in args.seeds:
            if args.paired:
                done = run_paired(case, seed, configs[case], args.data, dtype=args.dtype, trace=args.trace,
                                  control=args.control)  # fmt: skip
            else:
                done = [run_one(backend, case, seed, configs[case], args.data) for backend in ("torch", "numpy")]
            for r in done:
                runs.append(r)
                syncs = f", schedule synced {r['stage_syncs']}×" if r.get("stage_syncs") else ""
                print(f"{case} seed {seed} {r['backend']}: {100 * r['test_accuracy']:.2f} % ({r['seconds']:.0f} s"
                      f"{syncs})", flush=True)  # fmt: skip
    second = CONTROL if args.control else "numpy"
    rows = summarise(runs, args.cases, args.seeds, second)
    table = markdown(rows, configs, second)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps({"configs": configs, "runs": runs, "rows": rows, "table": table},
                                              indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
