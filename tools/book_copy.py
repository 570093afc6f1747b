"""Throwaway copies of the book, built as `make html` builds it (for the tests and the benchmark).

    copy_book(dest, cache=True)   # sources, node_modules linked, and optionally the execution cache
    build(dest)                   # MAKE_HTML: tools/execute.py jupyter-book build . -W -n --keep-going -q

A copy's chapters import the copy's own package: ``build`` puts ``code/src`` first on
PYTHONPATH, for the build (tools/local_deps.py digests what it imports) and for the kernels.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BOOK_FILES = [
    "Makefile",
    "package.json",
    "package-lock.json",
    "_config.yml",
    "_toc.yml",
    "requirements.txt",
    "book",
    "code",
    "tools",
    "_static",
    "_templates",
]
JUPYTER_BOOK = [str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going", "-q"]
# make html's recipe: the pre-step, then the same jupyter-book command in its process
MAKE_HTML = [sys.executable, "tools/execute.py", "jupyter-book", *JUPYTER_BOOK[1:]]


def copy_book(dest: Path, root: Path = ROOT, cache: bool = False) -> Path:
    """Copy the book's sources to ``dest`` (node_modules linked, for KaTeX); with ``cache``, the
    executed notebooks too, so that the copy executes only what differs from ``root``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.is_file():
            shutil.copy2(src, dest / name)
    if (root / "node_modules").is_dir():
        (dest / "node_modules").symlink_to(root / "node_modules", target_is_directory=True)
    if cache and (root / "_build" / ".jupyter_cache").is_dir():
        shutil.copytree(root / "_build" / ".jupyter_cache", dest / "_build" / ".jupyter_cache")
    return dest


def environment(root: Path) -> dict[str, str]:
    pythonpath = os.pathsep.join(filter(None, [str(root / "code" / "src"), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=pythonpath, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def build(root: Path, command: list[str] = MAKE_HTML, timeout: float = 900):
    """Build ``root`` as `make html` does (or with ``command``); never raises on failure."""
    return subprocess.run(command, cwd=root, env=environment(root), capture_output=True, text=True, timeout=timeout)


def now() -> datetime.datetime:
    """The moment to pass to ``executed_since`` (UTC, as jupyter-cache dates its records)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def executed_since(root: Path, moment: datetime.datetime) -> set[str]:
    """The chapters of ``root`` whose cache records were made after ``moment``."""
    from jupyter_cache import get_cache

    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    return {os.path.relpath(r.uri, root) for r in cache.list_cache_records() if r.created > moment}
