"""Shared fixtures: the ``../shared`` folder beside the project root (datasets and reference values), and the GIN
protocol runner of ``benchmarks/``."""

import importlib.util
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ``../shared``; tests that use it skip with a clear reason when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: reference values and datasets are unavailable")
    return SHARED


@pytest.fixture(scope="session")
def gin_protocols():
    """The module ``benchmarks/gin_protocols.py`` (Xu's and Errica's GIN protocols), loaded from its file."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gin_protocols.py"
    spec = importlib.util.spec_from_file_location("gin_protocols", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
