"""Serve the built site on 127.0.0.1, optionally gzip-compressed as GitHub Pages serves it.

    python tools/site_server.py                   # _build/html on a free port, plain
    python tools/site_server.py --gzip --port 8000

The first line printed is the site's base URL (``http://127.0.0.1:PORT/``). The browser tests
and ``tools/bench_site.py`` use ``served``: it starts this script, reads that line, and stops
the process by its PID.
With ``--gzip``, text files (HTML, CSS, JS, SVG, JSON) are compressed when the client accepts
it; images and fonts are already compressed and are sent as they are, as on GitHub Pages.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import subprocess
import sys
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPRESSIBLE = {".html", ".css", ".js", ".svg", ".json", ".txt", ".xml", ".map", ".inv"}


class Handler(SimpleHTTPRequestHandler):
    use_gzip = False

    def log_message(self, *args):  # quiet: the tests and the benchmark report what matters
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        wants_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (self.use_gzip and wants_gzip and path.suffix in COMPRESSIBLE and path.is_file()):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")  # what GitHub Pages sends
        self.end_headers()
        return io.BytesIO(body)


@contextmanager
def served(directory: Path, compress: bool = False):
    """Serve ``directory`` from a child process running this script; yield the site's base URL."""
    command = [sys.executable, __file__, "--dir", str(directory), *(["--gzip"] if compress else [])]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the site server did not start for {directory}: {url!r}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--gzip", action="store_true", help="compress text files, as GitHub Pages does")
    args = parser.parse_args()
    if not (args.dir / "index.html").is_file():
        sys.exit(f"no site in {args.dir}: run `make html` first")
    handler = functools.partial(type("H", (Handler,), {"use_gzip": args.gzip}), directory=str(args.dir))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
