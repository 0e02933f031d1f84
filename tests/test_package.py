"""Packaging promises: light import, lazy heavy dependencies, lint."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("code", ["import pidlearn", "import pidlearn.discrete", "import pidlearn.cli"])
def test_import_does_not_pull_heavy_optional_dependencies(code):
    mods = _modules_after(code)
    for heavy in ("torch", "dit", "matplotlib", "sklearn", "pandas"):
        assert heavy not in mods, f"{code!r} imported {heavy}"


def test_top_level_import_is_lazy():
    mods = _modules_after("import pidlearn")
    assert "numba" not in mods and "pidlearn.discrete" not in mods
    mods = _modules_after("import pidlearn\npidlearn.discrete")
    assert "pidlearn.discrete" in mods


def test_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the 'test' extra)")
    # Lint what the repository holds (a fresh clone's tree); untracked work in progress is not the project's yet.
    tracked = subprocess.run(["git", "ls-files", "*.py"], capture_output=True, text=True, cwd=ROOT)
    files = tracked.stdout.split() if tracked.returncode == 0 and tracked.stdout.strip() else ["."]
    res = subprocess.run([ruff, "check", *files], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
