"""Shared fixtures and helpers: the built site, and throwaway copies of the book to break on purpose."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import book_copy as copies  # tools/book_copy.py (pytest's pythonpath includes tools/)
import pytest

ROOT = Path(__file__).resolve().parents[1]
CELL = "\n```{{code-cell}} ipython3\n{}\n```\n"  # CELL.format(source): a code cell to append to a chapter


def append(path, text):
    path.write_text(path.read_text() + text)


def failed(result) -> str:
    """The build's output, after asserting that it failed by reporting, not by crashing. (A kernel
    stopped in the middle of a cell may print its own traceback higher up: that is not the build.)"""
    out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # Sphinx colours its warnings
    assert result.returncode != 0, f"the build should have failed:\n{out}"
    crashed = "There was an error in building your book" in out  # Jupyter Book's words for an exception
    assert not crashed and "Traceback" not in "\n".join(out.splitlines()[-20:]), f"the build crashed:\n{out}"
    return out


def run_build(root: Path, **kwargs) -> subprocess.CompletedProcess:
    """Build ``root`` as `make html` does (tools/execute.py, then jupyter-book build -W -n
    --keep-going); never raises on failure."""
    return copies.build(root, **kwargs)


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Build the real book once per test session, as `make html` does (without make's check of
    the sources: jupyter-cache and Sphinx find nothing to do when nothing changed, about 2 s)."""
    result = run_build(ROOT)
    assert result.returncode == 0, f"the book does not build:\n{result.stdout}\n{result.stderr}"
    return ROOT / "_build" / "html"


def copy_book(dest: Path, warm_cache: bool = True) -> Path:
    """Copy the book's sources to ``dest``; with ``warm_cache``, also the executed notebooks."""
    return copies.copy_book(dest, ROOT, cache=warm_cache)


@pytest.fixture
def ctrl_c_reaches_children():
    """Ctrl-C as in a terminal: the processes a test starts handle SIGINT, even when this run was
    started ignoring it (a background job: `make test &`), which they would inherit."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def book_copy(tmp_path, built_site) -> Path:
    """A copy of the book in a temporary folder whose chapters are already in the cache."""
    return copy_book(tmp_path / "book-copy")
