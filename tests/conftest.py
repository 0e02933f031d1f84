"""Shared fixtures: the ``../shared`` folder beside the project root (datasets and reference values)."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ``../shared``; tests that use it skip with a clear reason when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: reference values and datasets are unavailable")
    return SHARED
