"""The documentation: ``mkdocs build --strict`` passes, and every ```python block of docs/*.md runs.

Blocks of one page run in order in one namespace (as a reader would run them), in a temporary working directory.
A block that cannot run as a test is listed in ``NOT_RUN`` with the reason (and reported as skipped).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)

#: (page, block index) -> why the block is not run; tell the page's author rather than silently skipping.
NOT_RUN: dict[tuple[str, int], str] = {}


def _blocks(page: str) -> list[str]:
    return FENCE.findall((DOCS / page).read_text(encoding="utf-8"))


def _pages_with_examples():
    return sorted(p.name for p in DOCS.glob("*.md") if _blocks(p.name))


def test_docs_have_code_examples():
    assert _blocks("quickstart.md"), "the quickstart lost its examples"
    assert _blocks("bench.md"), "the benchmark page lost its examples"


@pytest.mark.parametrize("page", _pages_with_examples())
def test_python_examples_run(page, tmp_path, monkeypatch):
    blocks = _blocks(page)
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page[:-3]}"}
    skipped = []
    for i, code in enumerate(blocks):
        if (page, i) in NOT_RUN:
            skipped.append(f"block {i}: {NOT_RUN[(page, i)]}")
            continue
        try:
            exec(compile(code, f"docs/{page} (python block {i})", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"docs/{page}, python block {i} failed: {type(exc).__name__}: {exc}\n{code}") from exc
    if skipped:
        pytest.skip(f"docs/{page}: ran {len(blocks) - len(skipped)} of {len(blocks)} blocks; not run: {skipped}")


def test_mkdocs_build_strict(tmp_path):
    if shutil.which("mkdocs") is None:
        pytest.skip('mkdocs is not installed (pip install "pidlearn[docs]")')
    pytest.importorskip("mkdocstrings", reason='mkdocstrings is not installed (pip install "pidlearn[docs]")')
    res = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "site" / "api" / "index.html").exists()
    assert (tmp_path / "site" / "figures" / "lattice_xor.png").exists()
