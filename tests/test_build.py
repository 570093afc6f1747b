"""The strict build: it succeeds with zero warnings, and every kind of mistake fails it loudly.

Each fault is injected into a temporary copy of the book (whose executed chapters are copied
from the real build, so only what the fault touches runs again). Each must make the build exit
non-zero and name the file to fix.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import copy_book, run_build

pytestmark = pytest.mark.build

CELL = "\n```{{code-cell}} ipython3\n{}\n```\n"


def append(path, text):
    path.write_text(path.read_text() + text)


def failed(result) -> str:
    """The build's output, after asserting that it failed."""
    out = result.stdout + result.stderr
    assert result.returncode != 0, f"the build should have failed:\n{out}"
    assert "Traceback (most recent call last)" not in result.stderr, f"the build crashed instead of reporting:\n{out}"
    return out


def statuses(root) -> dict[str, str]:
    report = json.loads((root / "_build" / "reports" / "execution.json").read_text())
    return {entry["chapter"]: entry["status"] for entry in report}


def test_a_copy_builds_with_zero_warnings_and_runs_nothing(book_copy):
    result = run_build(book_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "executed" not in set(statuses(book_copy).values())
    assert "Site: " in result.stdout.splitlines()[-1]


def test_a_cell_that_raises_names_chapter_cell_and_traceback_file(book_copy):
    append(book_copy / "book" / "index.md", CELL.format("ratio = 1 / 0  # injected"))
    out = failed(run_build(book_copy))
    last = "\n".join(out.strip().splitlines()[-4:])
    assert "book/index.md" in last and "`ratio = 1 / 0  # injected`" in last
    assert "ZeroDivisionError" in last
    report = re.search(r"full traceback: (\S+)", last).group(1)
    assert "ZeroDivisionError" in (book_copy / report).read_text()
    assert (
        not (book_copy / "_build" / "html" / "book" / "index.html").exists()
        or "ZeroDivisionError" not in (book_copy / "_build" / "html" / "book" / "index.html").read_text()
    )


def test_a_cell_over_the_time_limit_says_so(book_copy):
    config = book_copy / "_config.yml"
    config.write_text(config.read_text().replace("timeout: 600", "timeout: 2"))
    append(book_copy / "book" / "index.md", CELL.format("import time\ntime.sleep(20)"))
    out = failed(run_build(book_copy))
    assert "book/index.md" in out and "longer than the 2 s limit" in out


def test_a_missing_cross_reference_target(book_copy):
    append(book_copy / "book" / "index.md", "\nSee {ref}`no-such-label`.\n")
    out = failed(run_build(book_copy))
    assert re.search(r"book/index\.md:\d*:? WARNING: .*no-such-label", out), out


def test_a_formula_katex_cannot_parse(book_copy):
    append(book_copy / "book" / "agenda.md", "\nA broken formula: $\\frac{1}{$.\n")
    out = failed(run_build(book_copy))
    assert re.search(r"book/agenda\.md:\d+: KaTeX cannot typeset `\\frac\{1\}\{`", out), out[-2000:]


def test_a_missing_image(book_copy):
    append(book_copy / "book" / "index.md", "\n![A figure that is not there](no-such-image.png)\n")
    out = failed(run_build(book_copy))
    assert re.search(r"book/index\.md:\d*:? WARNING: .*no-such-image\.png", out), out


def test_a_glue_key_that_does_not_exist(book_copy):
    append(book_copy / "book" / "index.md", "\nThe answer is {glue:text}`no_such_key`.\n")
    out = failed(run_build(book_copy))
    assert re.search(r"book/index\.md:\d*:? WARNING: .*no_such_key", out), out


def test_a_chapter_missing_from_the_toc(book_copy):
    (book_copy / "book" / "orphan.md").write_text((book_copy / "book" / "index.md").read_text())
    out = failed(run_build(book_copy))
    assert "book/orphan.md is not in _toc.yml" in out


def test_a_toc_entry_with_no_file(book_copy):
    toc_path = book_copy / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text())
    toc.setdefault("chapters" if toc["format"] == "jb-book" else "sections", []).append({"file": "book/ghost"})
    toc_path.write_text(yaml.safe_dump(toc))
    out = failed(run_build(book_copy))
    assert "_toc.yml lists 'book/ghost'" in out


def test_a_syntax_error_in_the_package(book_copy):
    append(book_copy / "code" / "src" / "day08" / "functional.py", "\ndef broken(:\n    pass\n")
    out = failed(run_build(book_copy))
    assert "code/src/day08/functional.py" in out and "SyntaxError" in out


def test_malformed_front_matter(book_copy):
    path = book_copy / "book" / "index.md"
    path.write_text(path.read_text().replace("kernelspec:\n", "kernelspec: [\n", 1))
    out = failed(run_build(book_copy))
    assert "book/index.md" in out and "front matter" in out


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


def executed(root) -> set[str]:
    return {chapter for chapter, status in statuses(root).items() if status == "executed"}


def test_the_cache_reruns_exactly_what_changed(mini_book):
    a, b, plain = "book/uses_a.md", "book/uses_b.md", "book/plain.md"
    result = run_build(mini_book)
    assert result.returncode == 0, result.stdout + result.stderr
    assert executed(mini_book) == {a, b, plain}
    assert "transport: ipc" in (mini_book / "_build/html/book/plain.html").read_text()

    # On a cold cache, chapters run at the same time (all stale ones at once): their cells' time spans overlap.
    spans = [tuple(map(float, (mini_book / f"{n}.times").read_text().split())) for n in "ab"]
    assert max(s[0] for s in spans) < min(s[1] for s in spans), f"chapters ran one after the other: {spans}"
    # ... and Sphinx does not wait for them: it read the page without code while they still ran.
    read = (mini_book / "_build/.doctrees/book/index.doctree").stat().st_mtime
    assert read < max(s[1] for s in spans), f"Sphinx read index at {read}, after the chapters ended: {spans}"

    # A prose edit re-executes nothing, and the page shows the new prose.
    path = mini_book / a
    path.write_text(path.read_text().replace("Prose of A.", "Edited prose of A."))
    assert run_build(mini_book, "--jobs", "2").returncode == 0
    assert executed(mini_book) == set()
    assert "Edited prose of A." in (mini_book / "_build/html/book/uses_a.html").read_text()

    # A code edit re-executes that chapter only.
    path.write_text(path.read_text().replace("[0.0, 1.0]", "[0.0, 2.0]"))
    assert run_build(mini_book).returncode == 0
    assert executed(mini_book) == {a}

    # A package edit re-executes the chapters that import the package, and their pages change.
    functional = mini_book / "code/src/day08/functional.py"
    functional.write_text(functional.read_text().replace(
        "def softmax(scores) -> torch.Tensor:", "def softmax(scores) -> torch.Tensor:\n    print('package edited')", 1))  # fmt: skip
    assert run_build(mini_book).returncode == 0
    assert executed(mini_book) == {a, b}
    assert "package edited" in (mini_book / "_build/html/book/uses_b.html").read_text()

    # New pins (say, another torch) re-execute every chapter with code.
    requirements = mini_book / "requirements.txt"
    requirements.write_text(requirements.read_text() + "# a changed pin\n")
    assert run_build(mini_book).returncode == 0
    assert executed(mini_book) == {a, b, plain}

    # Nothing changed: nothing runs, and Sphinx is not even started.
    result = run_build(mini_book)
    assert result.returncode == 0 and "Nothing changed" in result.stdout


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


def test_a_removed_chapter_leaves_no_page_behind(book_copy):
    assert run_build(book_copy).returncode == 0
    assert (book_copy / "_build/html/book/status.html").is_file()
    (book_copy / "book" / "status.md").unlink()
    toc = book_copy / "_toc.yml"
    toc.write_text(toc.read_text().replace("- file: book/status\n", ""))
    result = run_build(book_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (book_copy / "_build/html/book/status.html").exists()


def test_a_missing_node_tool_is_a_message_not_a_traceback(book_copy):
    (book_copy / "node_modules").unlink()  # the copy's link to the npm packages (KaTeX)
    out = failed(run_build(book_copy))
    assert "BUILD FAILED" in out and "node_modules/katex is missing: run `npm ci`" in out
