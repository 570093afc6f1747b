"""Sphinx extension: one build at a time in a book's ``_build/`` folder.

Two builds of one book at once (``make serve`` rebuilding while ``make html`` runs) write the
same cache and pages; one used to die with jupyter-cache's ``KeyError: 'Notebook file does not
exist for cache record'``. Each build holds ``_build/.build.lock`` (``filelock``: an OS lock,
released however the process ends) from ``config-inited`` to ``build-finished``; a second build
says that it waits, then builds from what the first left. ``tools/execute.py`` holds it too.
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
