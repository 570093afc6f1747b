"""Serve the book on 127.0.0.1 and rebuild it whenever a source file is saved.

    python tools/serve.py              # what `make serve` runs: http://127.0.0.1:8000/
    python tools/serve.py --port 8001

Each rebuild is our own build (``tools/build.py``), so the execution cache applies: a prose
edit executes nothing and shows in a couple of seconds, a code edit re-runs only its chapter.
The file watching, the static server and the browser auto-reload come from sphinx-autobuild;
each rebuild runs in a forked child of this process, whose Sphinx, myst-nb and Jupyter Book
modules are already imported by the first build. A failed rebuild prints what to fix and keeps
serving the last good site. Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from build import ROOT, BuildError, Paths, build

WATCHED = ["book", "code/src", "tools", "_static", "_config.yml", "_toc.yml"]
IGNORED = [r"__pycache__", r"\.ipynb_checkpoints", r"\.egg-info", r"(~|\.sw[a-z]|\.tmp|#)$", r"/\.#"]


def rebuild(root: Path, changed_paths=(), first: bool = False) -> None:
    """Build once, printing what to fix on failure; never raises (the server must keep running)."""
    asyncio._set_running_loop(None)  # a forked child inherits the server's running-loop marker (Python < 3.12)
    if changed_paths:
        names = ", ".join(sorted({os.path.relpath(p, root) for p in changed_paths}))
        print(f"\nChanged: {names}", flush=True)
    start = time.perf_counter()
    try:
        build(root)
    except BuildError as err:
        print(str(err), file=sys.stderr, flush=True)
        print("Serving the last good build; save a fix to rebuild.", flush=True)
        return
    except Exception:  # an unexpected crash in a rebuild must not stop the preview
        traceback.print_exc()
        return
    verb = "Built" if first else "Rebuilt"
    print(f"{verb} in {time.perf_counter() - start:.1f} s; the open page reloads itself.", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    args = parser.parse_args(argv)

    import uvicorn
    from sphinx_autobuild.filter import IgnoreFilter
    from sphinx_autobuild.middleware import JavascriptInjectorMiddleware
    from sphinx_autobuild.server import RebuildServer
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Mount, WebSocketRoute
    from starlette.staticfiles import StaticFiles

    root = ROOT
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every change at INFO
    host = f"127.0.0.1:{args.port}"
    rebuild(root, first=True)  # the first build, in this process: later rebuilds fork from it with everything imported
    html = Paths(root).html
    html.mkdir(parents=True, exist_ok=True)
    watcher = RebuildServer(
        [root / name for name in WATCHED if (root / name).exists()],
        IgnoreFilter([], IGNORED),
        change_callback=functools.partial(rebuild, root),
    )
    app = Starlette(
        routes=[
            WebSocketRoute("/websocket-reload", watcher, name="reload"),
            Mount("/", app=StaticFiles(directory=html, html=True), name="static"),
        ],
        middleware=[Middleware(JavascriptInjectorMiddleware, ws_url=host)],
        lifespan=watcher.lifespan,
    )
    print(f"\nServing the book at http://{host}/  (rebuilds when you save; Ctrl-C stops)", flush=True)
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then re-raises the Ctrl-C
        pass
    print("Stopped the preview server.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
