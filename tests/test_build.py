"""The strict build: every kind of mistake fails it loudly (that a clean copy builds with zero
warnings is checked in tests/test_contributing.py, before it adds a chapter).

Each fault is injected into a temporary copy of the book (whose executed chapters are copied
from the real build, so only what the fault touches runs again). Each must make the build exit
non-zero and name the file to fix. The build is `make html`'s: tools/execute.py, then the
stock `jupyter-book build . -W -n --keep-going`; some tests run the stock command alone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import book_copy as copies
import pytest
import yaml
from build_lock import LOCK
from conftest import CELL, ROOT, append, copy_book, failed, run_build
from jupyter_cache import get_cache

pytestmark = pytest.mark.build

PLAIN = [str(copies.BIN / "jupyter-book"), "build", "."]  # what a contributor types


executed_since, now = copies.executed_since, copies.now


def test_a_cell_that_raises_names_chapter_cell_and_traceback_file(book_copy):
    append(book_copy / "book" / "index.md", CELL.format("ratio = 1 / 0  # injected"))
    out = failed(run_build(book_copy))
    tail = "\n".join(out.strip().splitlines()[-12:])  # after it only Sphinx's and Jupyter Book's verdicts
    assert re.search(r"book/index\.md, code cell \d+, line \d+: `ratio = 1 / 0  # injected`", tail), tail
    assert "ZeroDivisionError: division by zero" in tail
    report = re.search(r"full traceback: (\S+)", tail).group(1)
    assert "ZeroDivisionError" in (book_copy / report).read_text()


def test_plain_jupyter_book_build_fails_on_a_failing_cell_too(book_copy):
    """No -W: the strictness about cells lives in the extension, not in make's flags."""
    append(book_copy / "book" / "agenda.md", CELL.format("raise ValueError('injected')"))
    result = run_build(book_copy, command=PLAIN)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "book/agenda.md, code cell 1" in out and "ValueError: injected" in out


def test_a_cell_over_the_time_limit_says_so(book_copy):
    config = book_copy / "_config.yml"
    config.write_text(config.read_text().replace("timeout: 600", "timeout: 2"))
    append(book_copy / "book" / "agenda.md", CELL.format("import time\ntime.sleep(20)"))
    out = failed(run_build(book_copy))
    assert "book/agenda.md, code cell 1" in out and "ran longer than the time limit" in out


@pytest.fixture(scope="module")
def five_faults(tmp_path_factory, built_site) -> tuple[str, dict[str, int]]:
    """One build of a copy with five independent mistakes (each test below checks one is
    reported at its file, and at its line where Sphinx knows it): one build instead of five.
    Returns the output and the lines of index.md's two mistakes."""
    root = copy_book(tmp_path_factory.mktemp("faults") / "book")
    index = root / "book" / "index.md"
    mistakes = {"ref": "See {ref}`no-such-label`.", "glue": "The answer is {glue:text}`no_such_key`."}
    append(index, f"\n{mistakes['ref']}\n")
    append(root / "book" / "agenda.md", "\nA broken formula: $\\frac{1}{$.\n")
    append(root / "book" / "resources.md", "\n![A figure that is not there](no-such-image.png)\n")
    append(index, f"\n{mistakes['glue']}\n")
    (root / "book" / "orphan.md").write_text((root / "book" / "agenda.md").read_text())
    lines = index.read_text().splitlines()
    out = failed(run_build(root))
    assert "returns a non-zero exit code (1)" in out, out[-2000:]  # Jupyter Book's verdict
    return out, {key: lines.index(text) + 1 for key, text in mistakes.items()}


def test_a_missing_cross_reference_target(five_faults):
    out, line = five_faults
    assert re.search(rf"book/index\.md:{line['ref']}: WARNING: .*no-such-label", out), out


def test_a_formula_katex_cannot_parse(five_faults):
    out, _ = five_faults
    assert re.search(r"book/agenda[^\n]*WARNING: KaTeX cannot typeset `\\frac\{1\}\{`", out), out


def test_a_missing_image(five_faults):
    out, _ = five_faults
    assert re.search(r"book/resources\.md:\d*:? WARNING: .*no-such-image\.png", out), out


def test_a_glue_key_that_does_not_exist(five_faults):
    out, line = five_faults
    assert re.search(rf"book/index\.md:{line['glue']}: WARNING: .*no_such_key", out), out


def test_a_chapter_missing_from_the_toc(five_faults):
    out, _ = five_faults
    assert re.search(r"book/orphan\.md: WARNING: document isn't included in any toctree", out), out


def test_a_toc_entry_with_no_file(book_copy):
    toc_path = book_copy / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text())
    toc["chapters"].append({"file": "book/ghost"})
    toc_path.write_text(yaml.safe_dump(toc))
    out = failed(run_build(book_copy))
    assert "book/ghost" in out, out


def test_a_syntax_error_in_the_package(book_copy):
    append(book_copy / "code" / "src" / "day08" / "functional.py", "\ndef broken(:\n    pass\n")
    out = failed(run_build(book_copy))
    assert re.search(r"raised in code/src/day08/functional\.py, line \d+", out), out[-3000:]
    assert "SyntaxError" in out


def test_malformed_front_matter(book_copy):
    path = book_copy / "book" / "index.md"
    path.write_text(path.read_text().replace("kernelspec:\n", "kernelspec: [\n", 1))
    out = failed(run_build(book_copy))
    assert "book/index.md" in out, out[-3000:]


# ----------------------------------------------------------------------------- the cache

# The kernel reports how it talks to the build: Unix sockets (ipc), not TCP on loopback.
TRANSPORT = "from ipykernel.kernelapp import IPKernelApp\nprint('transport:', IPKernelApp.instance().transport)"
IMPORTS = "from day08.functional import softmax\nprint(softmax([0.0, 1.0]))"
FRONT = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  name: python3\n  display_name: Python 3\n  language: python\n---\n"
)


@pytest.fixture
def mini_book(tmp_path):
    """A three-chapter book beside the real package and tools: two import day08, one does not."""
    root = copy_book(tmp_path / "mini", warm_cache=False)
    for path in (root / "book").rglob("*.md"):
        path.unlink()
    record = (
        "import time, pathlib\npathlib.Path('../{0}.times').write_text(f'{{time.time()}} ') ; time.sleep(1.5)\n"
        "pathlib.Path('../{0}.times').write_text(pathlib.Path('../{0}.times').read_text() + str(time.time()))"
    )
    pages = {
        "index": "# Mini book\n\nNo code here.\n",
        "uses_a": "# A\n\nProse of A.\n" + CELL.format(IMPORTS) + CELL.format(record.format("a")),
        "uses_b": "# B\n" + CELL.format(IMPORTS) + CELL.format(record.format("b")),
        "plain": "# Plain\n" + CELL.format("print(1 + 1)") + CELL.format(TRANSPORT),
    }
    for name, body in pages.items():
        (root / "book" / f"{name}.md").write_text(FRONT + body)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/index\nchapters:\n- file: book/uses_a\n- file: book/uses_b\n- file: book/plain\n"
    )
    return root


def test_the_pre_step_runs_stale_chapters_at_once_and_the_build_runs_none(mini_book):
    a, b, plain = "book/uses_a.md", "book/uses_b.md", "book/plain.md"
    start = now()
    result = run_build(mini_book)
    assert result.returncode == 0, result.stdout + result.stderr
    assert executed_since(mini_book, start) == {"book/index.md", a, b, plain}
    assert result.stdout.count("  executed book/") == 3  # by the pre-step: the build found all three cached
    assert "transport: ipc" in (mini_book / "_build/html/book/plain.html").read_text()
    spans = [tuple(map(float, (mini_book / f"{n}.times").read_text().split())) for n in "ab"]
    assert max(s[0] for s in spans) < min(s[1] for s in spans), f"chapters ran one after the other: {spans}"


def test_plain_jupyter_book_build_is_never_stale(mini_book):
    """The stock command alone (no pre-step): a prose edit runs nothing, a code edit runs that
    chapter, a package edit runs exactly the chapters that import it, new pins run them all."""
    a, b, plain = "book/uses_a.md", "book/uses_b.md", "book/plain.md"

    def build() -> set[str]:
        start = now()
        result = run_build(mini_book, command=[*PLAIN, "-W", "-n", "--keep-going"])
        assert result.returncode == 0, result.stdout + result.stderr
        return executed_since(mini_book, start)

    assert build() == {"book/index.md", a, b, plain}

    path = mini_book / a
    path.write_text(path.read_text().replace("Prose of A.", "Edited prose of A."))
    assert build() == set()
    assert "Edited prose of A." in (mini_book / "_build/html/book/uses_a.html").read_text()

    path.write_text(path.read_text().replace("[0.0, 1.0]", "[0.0, 2.0]"))
    assert build() == {a}

    functional = mini_book / "code/src/day08/functional.py"
    functional.write_text(functional.read_text().replace(
        "def softmax(scores) -> torch.Tensor:", "def softmax(scores) -> torch.Tensor:\n    print('package edited')", 1))  # fmt: skip
    assert build() == {a, b}
    assert "package edited" in (mini_book / "_build/html/book/uses_b.html").read_text()
    assert "package edited" not in (mini_book / "_build/html/book/plain.html").read_text()

    requirements = mini_book / "requirements.txt"
    requirements.write_text(requirements.read_text() + "# a changed pin\n")
    assert build() == {"book/index.md", a, b, plain}
    assert build() == set()


def test_make_skips_the_build_when_nothing_changed_but_not_after_an_edit_made_during_it(book_copy):
    make = ["make", "--no-print-directory", "html", f"VENV={ROOT / '.venv'}"]  # also under make test
    env = copies.environment(book_copy)
    first = subprocess.Popen(make, cwd=book_copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    running, deadline = book_copy / "_build" / LOCK, time.monotonic() + 120
    while not running.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # past the file system's clock tick (4 ms here), well before the build ends
    append(book_copy / "book" / "agenda.md", "\nA sentence saved while the build ran.\n")
    out = first.communicate(timeout=600)[0]
    assert first.returncode == 0, out
    second = subprocess.run(make, cwd=book_copy, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "jupyter-book build" in second.stdout, "an edit made during a build was missed"
    third = subprocess.run(make, cwd=book_copy, env=env, capture_output=True, text=True)
    assert third.returncode == 0 and "jupyter-book build" not in third.stdout, third.stdout
    assert third.stdout.strip().splitlines()[-1] == "Site: _build/html/index.html"


def test_fixing_a_broken_link_elsewhere_refreshes_the_page_that_had_it(book_copy):
    """The page with the broken link is unchanged when the fix lands; it must not stay stale."""
    append(book_copy / "book" / "index.md", "\nNext: {doc}`later`.\n")
    failed(run_build(book_copy))
    (book_copy / "book" / "later.md").write_text(FRONT + "# Later\n\nA chapter added after the link.\n")
    toc = book_copy / "_toc.yml"
    toc.write_text(toc.read_text().replace("chapters:\n", "chapters:\n- file: book/later\n", 1))
    result = run_build(book_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    html = (book_copy / "_build/html/book/index.html").read_text()
    assert 'href="later.html"' in html
    # and every page's navigation lists the new chapter
    assert "later.html" in (book_copy / "_build/html/book/status.html").read_text()


def test_a_missing_node_tool_is_a_message_not_a_traceback(book_copy):
    (book_copy / "node_modules").unlink()  # the copy's link to the npm packages (KaTeX's CSS and fonts)
    out = failed(run_build(book_copy))
    assert "node_modules/katex/dist is missing: run `npm ci`" in out, out[-2000:]


# ----------------------------------------------------------------------------- two builds, Ctrl-C


def test_two_builds_at_once_after_a_code_edit_both_succeed(book_copy):
    append(book_copy / "book" / "agenda.md", CELL.format("print('edited', 6 * 7)"))
    env = copies.environment(book_copy)
    builds = [subprocess.Popen(copies.MAKE_HTML, cwd=book_copy, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True) for _ in range(2)]  # fmt: skip
    outputs = [b.communicate(timeout=600)[0] for b in builds]
    for build, out in zip(builds, outputs, strict=True):
        assert build.returncode == 0, out
        assert "Traceback" not in out, out
    assert any("waiting for it to finish" in out for out in outputs), outputs
    assert "edited 42" in (book_copy / "_build/html/book/agenda.html").read_text()


def kernels_of(parent: int) -> set[int]:
    """The pids of the kernels that ``parent`` started."""
    ps = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    return {int(line.split()[0]) for line in ps.splitlines() if int(line.split()[1]) == parent and "ipykernel" in line}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return (
        "<defunct>" not in subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True).stdout
    )


@pytest.mark.usefixtures("ctrl_c_reaches_children")
def test_ctrl_c_while_sphinx_writes_says_interrupted_without_a_traceback(book_copy):
    with (book_copy / "tools" / "notebooks.py").open("a") as extension:
        extension.write("# edited: Sphinx reads and writes every page again (env_version)\n")
    build = subprocess.Popen(copies.MAKE_HTML, cwd=book_copy, env=copies.environment(book_copy), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines = []
    for line in build.stdout:  # Jupyter Book prints its output folder, then runs Sphinx
        lines.append(line)
        if line.startswith("Output Path:"):
            break
    time.sleep(1.0)  # Sphinx is starting, reading or writing: a full rebuild takes about 4 s here
    build.send_signal(signal.SIGINT)
    out = "".join(lines) + build.communicate(timeout=60)[0]
    assert build.returncode == 130, out
    assert "interrupted while Sphinx read or wrote the pages" in out and "Traceback" not in out, out
    result = run_build(book_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.usefixtures("ctrl_c_reaches_children")
def test_ctrl_c_says_interrupted_leaves_no_kernel_and_the_next_build_continues(book_copy):
    append(book_copy / "book" / "agenda.md", CELL.format("import time\ntime.sleep(30)"))
    step = subprocess.Popen([sys.executable, "tools/execute.py"], cwd=book_copy, env=copies.environment(book_copy),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline, kernels = time.monotonic() + 60, set()
    while not kernels and time.monotonic() < deadline:
        time.sleep(0.2)
        kernels = kernels_of(step.pid)
    assert kernels, "no kernel started"
    time.sleep(3)  # the kernel is inside the sleeping cell
    step.send_signal(signal.SIGINT)
    out = step.communicate(timeout=60)[0]
    assert step.returncode == 130, out
    assert "interrupted: book/agenda.md was running" in out and "Traceback" not in out, out
    time.sleep(1)
    assert not any(alive(pid) for pid in kernels), "a kernel outlived the interrupted build"
    cache = get_cache(str(book_copy / "_build" / ".jupyter_cache"))
    assert all(cache.get_cache_bundle(r.pk).nb for r in cache.list_cache_records())  # no half-written record
    path = book_copy / "book" / "agenda.md"
    path.write_text(path.read_text().replace("time.sleep(30)", "time.sleep(0)"))
    result = run_build(book_copy)
    assert result.returncode == 0, result.stdout + result.stderr
