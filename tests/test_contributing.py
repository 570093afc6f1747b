"""The contributor's loop: scaffold a chapter, preview it live, read a failed build's last lines,
and see each chapter's execution on the status page.

Everything that edits the book does so in a temporary copy (see conftest.py).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.metadata import version

import pytest
import yaml
from book_copy import executed_since, now
from conftest import CELL, ROOT, copy_book, failed, run_build


def scaffold(root, name, title):
    return subprocess.run(
        [sys.executable, "tools/new_chapter.py", name, title], cwd=root, capture_output=True, text=True
    )


def status_row(root, docname: str) -> str:
    """The status page's row for a chapter (myst-nb's execution table), as text."""
    html = (root / "_build/html/book/status.html").read_text()
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, re.S) if f">{docname}<" in r)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()


# ----------------------------------------------------------------------------- make chapter


@pytest.mark.build
def test_a_copy_builds_cleanly_then_a_scaffolded_chapter_is_listed_and_builds_strictly(book_copy):
    start = now()
    first = run_build(book_copy)  # the copy as it is: no warning, and nothing to execute
    assert first.returncode == 0, first.stdout + first.stderr
    assert "WARNING" not in first.stdout + first.stderr
    assert executed_since(book_copy, start) == set()
    result = scaffold(book_copy, "my-topic", "My topic: softmax by hand")
    assert result.returncode == 0, result.stderr
    path = book_copy / "book" / "my-topic.md"
    text = path.read_text()
    assert text.startswith((ROOT / "book" / "index.md").read_text().split("\n---\n")[0])  # the same kernelspec header
    assert "(my-topic)=\n# My topic: softmax by hand" in text and "{{" not in text
    for part in ("## By the end of this chapter", "import torch", "## Summary", "{exercise}", ":class: dropdown"):
        assert part in text, f"the scaffold has no {part!r}"
    toc = yaml.safe_load((book_copy / "_toc.yml").read_text())
    files = [entry["file"] for entry in toc["chapters"]]
    assert toc["format"] == "jb-book" and "book/my-topic" in files
    if "book/status" in files:
        assert files[-1] == "book/status", "the status page stays last"

    build = run_build(book_copy)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "WARNING" not in build.stdout + build.stderr
    assert "  executed book/my-topic.md in " in build.stdout  # the new chapter ran; no other did
    assert build.stdout.count("  executed book/") == 1, build.stdout
    page = (book_copy / "_build" / "html" / "book" / "my-topic.html").read_text()
    assert 'class="solution dropdown' in page  # the solution is folded
    # The status page was read again (new execution data): it lists the new chapter, run now.
    assert re.fullmatch(
        r"book/my-topic \d{4}-\d\d-\d\d \d\d:\d\d cache \d+\.\d+ ✅", status_row(book_copy, "book/my-topic")
    )
    assert re.search(r"The mean of the 1000 samples is -?\d\.\d{3},", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))


def test_make_chapter_refuses_a_bad_name_or_an_existing_file(tmp_path):
    root = copy_book(tmp_path / "book", warm_cache=False)
    toc = (root / "_toc.yml").read_text()
    for name, message in [("My Topic", "lowercase words joined by '-'"), ("index", "already exists")]:
        result = scaffold(root, name, "A title")
        assert result.returncode == 1 and message in result.stderr
    assert (root / "_toc.yml").read_text() == toc


# ----------------------------------------------------------------------------- errors


@pytest.mark.build
def test_a_failing_cell_in_any_chapter_is_named_in_the_last_lines(book_copy):
    assert scaffold(book_copy, "broken-topic", "Broken").returncode == 0
    path = book_copy / "book" / "broken-topic.md"
    path.write_text(path.read_text() + CELL.format("weights = torch.ones(3) @ torch.ones(4)"))
    cells = path.read_text().count("```{code-cell}")  # the broken cell is the chapter's last
    out = failed(run_build(book_copy)).strip().splitlines()
    at = next(i for i, line in enumerate(out) if "BUILD FAILED: 1 chapter(s) raised an error." in line)
    assert len(out) - at <= 12, "the summary is not among the last lines"
    assert out[at + 1].startswith(f"  book/broken-topic.md, code cell {cells}, line "), out[at:]
    assert out[at + 1].endswith("`weights = torch.ones(3) @ torch.ones(4)`"), out[at:]
    assert "RuntimeError" in out[at + 2]
    report = re.fullmatch(r"\s*full traceback: (\S+)", out[at + 3]).group(1)
    assert "RuntimeError" in (book_copy / report).read_text()


# ----------------------------------------------------------------------------- make serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return ""


def wait_for(condition, what: str, polls: int = 600, every: float = 0.5):
    """Poll ``condition`` a bounded number of times (a hang fails the test; speed is not tested)."""
    for _ in range(polls):
        if value := condition():
            return value
        time.sleep(every)
    pytest.fail(f"gave up waiting for {what}")


@pytest.mark.build
@pytest.mark.usefixtures("ctrl_c_reaches_children")
def test_serve_rebuilds_an_edited_chapter_and_stops_cleanly_on_ctrl_c(book_copy, tmp_path):
    """`make serve` is sphinx-autobuild's command line over the same cached, strict build."""
    port, log = free_port(), tmp_path / "serve.log"
    make = ["make", "serve", f"PORT={port}", f"VENV={ROOT / '.venv'}"]
    with log.open("w") as out:
        # its own process group: Ctrl-C in a terminal reaches make and everything it started
        server = subprocess.Popen(make, cwd=book_copy, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: f"Serving on {url}" in log.read_text(), "the server to print its URL")
        page = url + "/book/index.html"
        assert "websocket-reload" in wait_for(lambda: fetch(page), "the first page")  # the browser reloads itself

        start = now()
        path = book_copy / "book" / "index.md"
        path.write_text(path.read_text() + "\nA sentence added while the preview was running.\n")
        wait_for(lambda: "added while the preview was running" in fetch(page), "the edited prose to be served")
        # the page is served as soon as it is written; sphinx-autobuild says "Serving on" again once
        # its sphinx-build has exited (Ctrl-C before that reaches that process's atexit clean-up)
        wait_for(lambda: log.read_text().count(f"Serving on {url}") >= 2, "the rebuild to finish")
        assert executed_since(book_copy, start) == set(), "a prose edit executed code"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            code = server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
    output = log.read_text()
    assert code in (0, 2, -signal.SIGINT), output  # make reports the interrupt of its recipe
    assert "Traceback" not in output, output


# ----------------------------------------------------------------------------- status page


def test_the_status_page_lists_every_chapter_and_the_tool_versions(built_site):
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [toc["root"], *(entry["file"] for entry in toc["chapters"])]
    for docname in chapters:
        assert re.fullmatch(rf"{docname} \d{{4}}-\d\d-\d\d \d\d:\d\d cache \d+\.\d+ ✅", status_row(ROOT, docname))
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (built_site / "book" / "status.html").read_text()))
    tools = {"Python": f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"}
    tools |= {name: version(name) for name in ("torch", "torchvision", "jupyter-book", "myst-nb")}
    for name, number in tools.items():
        assert f" {name} {number} " in page, f"the status page does not give {name} {number}"
