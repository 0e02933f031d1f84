"""The package's structure: its import graph, which layer may import which, and file sizes.

The import graph is read with ``ast`` (nothing is imported): every ``import pidlearn...`` / ``from pidlearn... import``
(relative ones resolved) of every module under ``pidlearn/`` becomes an edge to the module it names (``from pkg import
name`` goes to ``pkg.name`` when that is a module, else to ``pkg``). An import of a submodule also runs its parent
packages' ``__init__``; those implicit edges are not added (every package imports its own submodules).

Which imports count:

* **module level** (anywhere outside a function body, ``if``/``try`` blocks included; ``if TYPE_CHECKING:`` blocks
  excluded) — they run when the module is imported, so a cycle among them is an import-order bug. This graph must be
  acyclic.
* **function level** (lazy imports inside a function) — they run when the function is called, after every module
  involved has finished loading; the code base uses them on purpose to keep torch, matplotlib and the backends out of
  ``import pidlearn``. They do not count for cycles, but they do count for layering: a backend imports the CLI at no
  level at all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "pidlearn"

#: Backend modules allowed to name the CLI lazily: old addresses of names that moved into the CLI layer.
MOVED_TO_CLI = {"pidlearn.backends.numpy._cli"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """``(node, at_module_level)`` for every import statement of a module."""
    out = []

    def visit(node, top: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append((child, top))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                continue
            else:
                visit(child, top)

    visit(tree, True)
    return out


def _nearest_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node, module: str) -> list[str]:
    is_package = MODULES[module].name == "__init__.py"
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
    found = (_nearest_module(n) for n in names if n == "pidlearn" or n.startswith("pidlearn."))
    return sorted({t for t in found if t and t != module})


def _graph(module_level_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, top in _imports(tree):
            if top or not module_level_only:
                graph[m].update(_targets(node, m))
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return comps


def _is_cli(module: str) -> bool:
    return module == "pidlearn.cli" or module.startswith(("pidlearn.cli.", "pidlearn._cli"))


def test_resolver_sees_known_edges():
    graph = _graph(module_level_only=False)
    assert "pidlearn.backends.torch.functional" in graph["pidlearn.backends.torch.mole"]
    assert "pidlearn._cli_train_common" in graph["pidlearn._cli_train"]
    assert "pidlearn.backends._activations" in graph["pidlearn.backends.numpy.activations"]  # from pkg import mod


def test_module_level_import_graph_has_no_cycle():
    assert _cycles(_graph(module_level_only=True)) == []


def test_backends_never_import_the_cli():
    graph = _graph(module_level_only=False)
    bad = {
        m: sorted(t for t in targets if _is_cli(t))
        for m, targets in graph.items()
        if m.startswith("pidlearn.backends") and m not in MOVED_TO_CLI
    }
    assert {m: t for m, t in bad.items() if t} == {}
    for m in MOVED_TO_CLI:  # the old address resolves its moved names lazily, never at import
        assert not any(_is_cli(t) for t in _graph(module_level_only=True)[m])


def test_cli_and_backend_have_no_lazy_cycle():
    """Even counting lazy imports, the CLI depends on the backends one way (the old train/numpy._cli cycle)."""
    graph = _graph(module_level_only=False)
    for m in MOVED_TO_CLI:
        graph[m] = set()  # its lazy import only serves old callers
    for comp in _cycles(graph):
        assert not (any(_is_cli(m) for m in comp) and any(m.startswith("pidlearn.backends") for m in comp)), comp


def _is_core(module: str) -> bool:
    """``pidlearn/*.py`` (the CLI modules included), ``pidlearn.continuous`` and ``pidlearn.bench``."""
    if module == "pidlearn" or module.startswith(("pidlearn.continuous", "pidlearn.bench")):
        return True
    return module.count(".") == 1 and module != "pidlearn.backends"


def test_core_never_imports_backends_at_module_level():
    graph = _graph(module_level_only=True)
    bad = {m: sorted(t for t in ts if t.startswith("pidlearn.backends")) for m, ts in graph.items() if _is_core(m)}
    assert {m: t for m, t in bad.items() if t} == {}
    assert _is_core("pidlearn.discrete") and _is_core("pidlearn._cli_train") and not _is_core("pidlearn.backends")


def test_numpy_backend_does_not_import_torch():
    code = "import pidlearn.backends.numpy, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr


def test_shared_backend_modules_import_neither_torch_nor_numba():
    code = (
        "import sys; import pidlearn.backends._activations, pidlearn.backends._binning, pidlearn.backends._xp, "
        "pidlearn.backends; bad = [m for m in ('torch', 'numba') if m in sys.modules]; assert not bad, bad"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr


def test_mole_is_not_the_largest_file():
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in ROOT.rglob("*.py")}
    mole = ROOT / "backends" / "torch" / "mole.py"
    largest = max(sizes, key=sizes.get)
    assert largest != mole, f"mole.py ({sizes[mole]} lines) is the largest file of pidlearn/"


def test_backends_get():
    from pidlearn import backends

    assert backends.get("numpy").__name__ == "pidlearn.backends.numpy"
    assert backends.load_backend is backends.get
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        backends.get("jax")


def test_backends_get_without_torch(monkeypatch):
    import importlib.util

    from pidlearn import backends

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(ImportError, match=r"pidlearn\[torch\]"):
        backends.get("torch")
