"""Sphinx extension: one build at a time in a book's ``_build/`` folder.

Two builds of the same book at once (``make serve`` rebuilding while ``make html`` runs, two
terminals) write the same execution cache and pages; one used to die with jupyter-cache's
``KeyError: 'Notebook file does not exist for cache record'``. Each build now holds an exclusive
lock on ``_build/.build.lock`` (``filelock``: an OS lock, released however the process ends)
from ``config-inited`` to ``build-finished``. A second build says that it waits, waits, then
builds from what the first left: both succeed. ``tools/execute.py`` holds the same lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

from filelock import FileLock, Timeout

LOCK = ".build.lock"


def acquire(build_dir: Path):
    """Lock ``build_dir`` (saying so when it must wait); ``with`` or ``.lock.release()`` releases it."""
    build_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(build_dir / LOCK)
    try:
        return lock.acquire(timeout=0)
    except Timeout:
        print(f"Another build is using {build_dir}; waiting for it to finish ...", file=sys.stderr, flush=True)
        return lock.acquire()


def setup(app):
    # outdir is <book>/_build/html under jupyter-book; the lock sits beside it, over the cache too.
    held = acquire(Path(app.outdir).parent)
    app.connect("build-finished", lambda app, exception: held.lock.release(), priority=1000)  # last
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
