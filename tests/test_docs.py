"""The documentation's examples: every ```python block of docs/**/*.md runs (the site build: test_docs_site.py).

Blocks of one page run in order in one namespace (as a reader would run them), in a temporary working directory.
A block that cannot run as a test is listed in ``NOT_RUN`` with the reason (and reported as skipped).
"""

from __future__ import annotations

import re
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
    pages = (p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    return sorted(p for p in pages if _blocks(p))


def test_docs_have_code_examples():
    assert _blocks("getting-started.md"), "getting started lost its examples"
    for page in ("discrete", "continuous", "mixed", "pid", "higher_order", "infomorphic", "mole", "benchmarking"):
        assert _blocks(f"guide/{page}.md"), f"the user guide's {page} page lost its examples"


@pytest.mark.parametrize("page", _pages_with_examples())
def test_python_examples_run(page, tmp_path, monkeypatch):
    blocks = _blocks(page)
    pytest.importorskip("matplotlib")
    for module in ("sklearn", "torch"):  # the examples on scikit-learn's bundled data, the learning backends
        if any(f"import {module}" in code or f"from {module}" in code for code in blocks):
            pytest.importorskip(module, reason=f"docs/{page} needs {module} (the test extras install it)")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "docs_" + page[:-3].replace("/", "_")}
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
