"""Shared fixtures: the built site, and throwaway copies of the book to break on purpose."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = [sys.executable, "tools/build.py"]
# What a copy of the book needs in order to build on its own.
BOOK_FILES = ["_config.yml", "_toc.yml", "requirements.txt", "book", "code", "tools", "_static"]


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
    dest.mkdir(parents=True)
    for name in BOOK_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.is_file():
            shutil.copy2(src, dest / name)
    # The build renders math with npm's KaTeX (tools/lean_site.py): share node_modules, read-only.
    if (ROOT / "node_modules").is_dir():
        (dest / "node_modules").symlink_to(ROOT / "node_modules")
    cache = ROOT / "_build" / ".jupyter_cache"
    if warm_cache and cache.is_dir():
        shutil.copytree(cache, dest / "_build" / ".jupyter_cache")
    return dest


@pytest.fixture
def book_copy(tmp_path, built_site) -> Path:
    """A copy of the book in a temporary folder whose chapters are already in the cache."""
    return copy_book(tmp_path / "book-copy")
