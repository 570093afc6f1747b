"""Shared fixtures: the built site, and throwaway copies of the book to break on purpose."""

from __future__ import annotations

import subprocess
from pathlib import Path

import book_copy as copies  # tools/book_copy.py (pytest's pythonpath includes tools/)
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_build(root: Path, **kwargs) -> subprocess.CompletedProcess:
    """Build ``root`` as `make html` does (tools/execute.py, then jupyter-book build -W -n
    --keep-going); never raises on failure."""
    return copies.build(root, **kwargs)


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the real book once per test session (a no-op when nothing changed)."""
    result = run_build(ROOT)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout}\n{result.stderr}"
    return ROOT / "_build" / "html"


def copy_book(dest: Path, warm_cache: bool = True) -> Path:
    """Copy the book's sources to ``dest``; with ``warm_cache``, also the executed notebooks."""
    return copies.copy_book(dest, ROOT, cache=warm_cache)


@pytest.fixture
def book_copy(tmp_path, built_site) -> Path:
    """A copy of the book in a temporary folder whose chapters are already in the cache."""
    return copy_book(tmp_path / "book-copy")
