"""Shared fixtures: the built site, and throwaway copies of the book to break on purpose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import build  # tools/build.py (pytest's pythonpath includes tools/)
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = [sys.executable, "tools/build.py"]


def run_build(root: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the build exactly as `make html` does, in ``root``; never raises on failure."""
    return subprocess.run([*BUILD, *args], cwd=root, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the real book once per test session (a no-op when nothing changed)."""
    result = run_build(ROOT)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout}\n{result.stderr}"
    return ROOT / "_build" / "html"


def copy_book(dest: Path, warm_cache: bool = True) -> Path:
    """Copy the book's sources to ``dest``; with ``warm_cache``, also the executed notebooks."""
    return build.copy_book(dest, ROOT, cache=warm_cache)


@pytest.fixture
def book_copy(tmp_path, built_site) -> Path:
    """A copy of the book in a temporary folder whose chapters are already in the cache."""
    return copy_book(tmp_path / "book-copy")
