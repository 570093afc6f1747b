"""Fill myst-nb's execution cache with every stale chapter at once, before ``jupyter-book build``.

    python tools/execute.py                       # fill the cache only (`make serve` runs this)
    python tools/execute.py jupyter-book build .  # then that command, in this process (`make html`)

``jupyter-book build`` (myst-nb, ``execute_notebooks: cache``) executes the chapters missing
from the cache one after another, on one core. This step executes them at once (one torch
thread each) with myst-nb's function (jupyter-cache's ``single_nb_execution``, same folder,
timeout and ``allow_errors``) and stores them as myst-nb does (``cache_notebook_bundle``), so
the build only renders the pages. A chapter that fails is not stored: the build runs it again
and ``tools/cell_errors.py`` names the cell. It evicts and stamps as ``tools/local_deps.py``
does, holds the build lock (``tools/build_lock.py``), and on Ctrl-C stops the kernels, stores
nothing half-done and says which chapters were running.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import os
import shutil
import signal
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chapters(root: Path):
    """(path, notebook as myst-nb reads it) per chapter in _toc.yml; the build reports unreadable ones."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    from notebooks import ColabError, read_chapter

    for docname in parse_toc_yaml(root / "_toc.yml"):
        with contextlib.suppress(OSError, ColabError):
            yield root / f"{docname}.md", read_chapter(root / f"{docname}.md")


def execute(notebook, path: Path, timeout: int, allow_errors: bool, kernels: dict):
    """Run one notebook in a fresh kernel; its kernel manager is in ``kernels`` while it runs."""
    from jupyter_cache.executors.utils import single_nb_execution
    from jupyter_client.manager import AsyncKernelManager

    sockets = tempfile.mkdtemp(prefix="d8k-")  # short: a Unix socket path must fit in 107 bytes
    name = notebook.metadata.get("kernelspec", {}).get("name", "python3")
    km = AsyncKernelManager(kernel_name=name, transport="ipc", ip=os.path.join(sockets, "k"))  # not TCP on loopback
    kernels[path] = km
    try:
        return single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout, allow_errors=allow_errors, km=km)
    finally:
        kernels.pop(path, None)
        if km.has_kernel:
            asyncio.run(km.shutdown_kernel(now=True))
        shutil.rmtree(sockets, ignore_errors=True)


def stop(kernels: dict) -> None:
    """Ctrl-C: end every running kernel at once (its thread then sees a dead kernel and cleans up)."""
    for km in list(kernels.values()):
        if pid := getattr(km.provisioner, "pid", None):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def store(cache, notebook, path: Path, seconds: float) -> None:
    """As myst-nb stores an executed notebook; Ctrl-C waits until the record is whole."""
    from jupyter_cache.base import CacheBundleIn

    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        bundle = CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run(root: Path = ROOT) -> int:
    from build_lock import acquire
    from jupyter_cache import get_cache
    from local_deps import digests, evict_stale, stamp

    from notebooks import load_config

    config = load_config(root)
    execute_config = config.get("execute", {})
    if execute_config.get("execute_notebooks", "auto") != "cache":
        return 0
    sphinx_config = config.get("sphinx", {}).get("config", {})
    deps = (sphinx_config.get("local_deps_packages", []), sphinx_config.get("local_deps_files", []), root)
    timeout, allow_errors = int(execute_config.get("timeout", 30)), bool(execute_config.get("allow_errors", False))
    os.chdir(root)  # the cache path in _config.yml is relative to the book
    # One torch thread per kernel (the kernels inherit this environment): they share the cores.
    # Measured on 2 cores: nine chapters at once took 41 s on one thread each, 63 s on two.
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    with acquire(root / "_build"):
        cache = get_cache(execute_config.get("cache") or "_build/.jupyter_cache")
        current = digests(*deps)  # before any chapter runs: an edit made meanwhile counts as a change
        evict_stale(cache, *deps, current)
        stale = {}
        for path, notebook in chapters(root):
            try:
                cache.match_cache_notebook(notebook)
            except KeyError:
                if any(c.cell_type == "code" for c in notebook.cells):
                    stale[path] = notebook
                else:  # nothing to run: stored as it is, so the build starts no kernel for it
                    store(cache, notebook, path, 0.0)
        if not stale:
            stamp(cache, *deps, current)
            return 0
        print(f"Executing {len(stale)} chapter(s) at once before the build:", flush=True)
        kernels: dict = {}
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(len(stale), 4 * (os.cpu_count() or 1)))
        futures = {pool.submit(execute, nb, p, timeout, allow_errors, kernels): p for p, nb in stale.items()}
        try:
            for future in concurrent.futures.as_completed(futures):
                name = futures[future].relative_to(root).as_posix()
                try:
                    result = future.result()
                    error = result.err
                except Exception as err:  # the kernel died, or did not start
                    error = err
                if error is None:
                    store(cache, result.nb, futures[future], result.time)
                    print(f"  executed {name} in {result.time:.1f} s", flush=True)
                else:
                    print(f"  failed   {name} ({type(error).__name__}); the build runs it again and reports it")
        except KeyboardInterrupt:
            running = sorted(p.relative_to(root).as_posix() for p in kernels)
            stop(kernels)
            pool.shutdown(wait=True, cancel_futures=True)  # before the message: the kernels' threads are done
            print(f"\ninterrupted: {', '.join(running) or 'no chapter'} was running; nothing of it was cached."
                  " The chapters that finished are cached; the next build continues from there.", file=sys.stderr)  # fmt: skip
            return 130
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            stamp(cache, *deps, current)
    return 0


def jupyter_book(args: list[str]) -> None:
    """``jupyter-book ARGS`` through its entry point, in this process: it reuses the modules imported."""
    (command,) = entry_points(group="console_scripts", name="jupyter-book")
    dropped = []  # a Ctrl-C raised inside a weakref callback, which Python would print and drop (documented hook)
    sys.unraisablehook = lambda u: dropped.append(u) if u.exc_type is KeyboardInterrupt else sys.__unraisablehook__(u)
    try:
        command.load()(args, prog_name="jupyter-book")
    except SystemExit as done:  # Jupyter Book exits with the KeyboardInterrupt when Sphinx had one
        if isinstance(done.code, KeyboardInterrupt) or (dropped and not done.code):
            print("interrupted while Sphinx read or wrote the pages; executed chapters stay cached.", file=sys.stderr)
            sys.exit(130)
        raise


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))  # beside build_lock.py, local_deps.py, notebooks.py
    if sys.argv[1:2] not in ([], ["jupyter-book"]):
        sys.exit("usage: python tools/execute.py [jupyter-book ARGUMENTS...]")
    try:
        status = run(ROOT)
        if status or len(sys.argv) == 1:
            sys.exit(status)
        jupyter_book(sys.argv[2:])
    except KeyboardInterrupt:  # before or after the chapters ran (during them, run() reports it)
        print("\ninterrupted: no chapter was running; nothing was cached half-done.", file=sys.stderr)
        sys.exit(130)
    finally:  # the heap is the OS's to free: Python's last collection of it took 0.3 s of 2.2
        gc.freeze()
