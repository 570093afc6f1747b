"""Launch buttons, downloads, and what the Binder environment lists.

The Colab copies themselves are tested in test_colab_copies.py (their text) and
test_colab.py (they run); Binder's Python in test_binder.py.

Every test here loops over the chapters that _toc.yml lists, so a new chapter is covered
the moment it is added.
"""

from __future__ import annotations

import ast
import html
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import colab
import nbformat
import pytest
from conftest import ROOT, copy_book, run_build

from notebooks import load_config

CHAPTERS = colab.chapters(ROOT)
EXECUTABLE = [c for c in CHAPTERS if colab.is_executable(c.notebook)]
REPO = load_config(ROOT)["repository"]
OWNER_REPO = REPO["url"].removeprefix("https://github.com/")
IDS = [c.docname for c in EXECUTABLE]


def links(page: Path) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf8"))]


def button_links(page: Path) -> list[str]:
    """The page's links outside its article: the header's buttons, not links the chapter's prose makes
    (the agenda and the training chapters link the course's assignment notebook on Colab)."""
    text = re.sub(r"<article\b.*?</article>", "", page.read_text(encoding="utf8"), flags=re.S)
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', text)]


def the_link(page: Path, prefix: str) -> str:
    found = sorted({h for h in button_links(page) if h.startswith(prefix)})
    assert len(found) == 1, f"{page.name}: expected one link starting {prefix}, found {found}"
    return found[0]


# ----------------------------------------------------------------------------- the built site


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=IDS)
def test_colab_and_binder_open_the_chapters_copy_on_main(built_site, chapter):
    page = built_site / f"{chapter.docname}.html"
    copy = colab.notebook_path(chapter.docname)
    link = the_link(page, "https://colab.research.google.com/")
    assert link.endswith(".ipynb"), f"Colab cannot open {link}"
    assert link == f"https://colab.research.google.com/github/{OWNER_REPO}/blob/main/{copy}"
    assert (ROOT / copy).is_file(), f"{copy} does not exist: run `make notebooks` and commit it"
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--error-unmatch", copy], capture_output=True)
    assert tracked.returncode == 0, f"{copy} is not committed, so GitHub (and Colab) cannot serve it"
    binder = the_link(page, "https://mybinder.org/")
    assert binder == f"https://mybinder.org/v2/gh/{OWNER_REPO}/main?urlpath=lab/tree/{copy}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.docname for c in CHAPTERS])
def test_repository_edit_and_download_links(built_site, chapter):
    page = built_site / f"{chapter.docname}.html"
    hrefs = links(page)
    assert REPO["url"] in hrefs
    assert f"{REPO['url']}/edit/main/{chapter.docname}.md" in hrefs
    assert any(h.startswith(f"{REPO['url']}/issues/new") for h in hrefs)
    name = Path(chapter.docname).name
    depth = "../" * chapter.docname.count("/")
    for suffix in (".md", ".ipynb"):
        assert f"{depth}_sources/{chapter.docname}{suffix}" in hrefs, f"{page.name}: no {suffix} download"
        assert (built_site / "_sources" / f"{chapter.docname}{suffix}").is_file(), f"{name}{suffix} not in the site"
    if chapter not in EXECUTABLE:
        assert not any("colab.research.google.com" in h or "mybinder.org" in h for h in button_links(page)), \
            f"{page.name} has no code, so it should have no launch buttons"  # fmt: skip


def test_no_launch_link_points_at_master_or_a_markdown_file(built_site):
    for page in built_site.rglob("*.html"):
        for href in links(page):
            if "colab.research.google.com" in href or "mybinder.org" in href or REPO["url"] in href:
                assert "/master" not in href, f"{page}: {href}"
            if "colab.research.google.com" in href:
                assert not href.endswith(".md"), f"{page}: Colab cannot open {href}"


@pytest.mark.build
def test_a_fork_gets_its_own_links_and_the_download_has_the_outputs(tmp_path, built_site):
    """Built in a 'fork' (repository.url edited in _config.yml), with a chapter cell that prints."""
    root = copy_book(tmp_path / "fork")
    index = root / "book" / "index.md"
    index.write_text(index.read_text() + '\n```{code-cell} ipython3\nprint("printed at build time")\n```\n')
    config = root / "_config.yml"
    config.write_text(config.read_text().replace(REPO["url"], "https://github.com/a-fork/day08-book"))
    result = run_build(root)
    assert result.returncode == 0, result.stdout + result.stderr
    page = root / "_build" / "html" / "book" / "index.html"
    assert the_link(page, "https://colab.research.google.com/") == (
        "https://colab.research.google.com/github/a-fork/day08-book/blob/main/notebooks/index.ipynb"
    )
    assert "https://github.com/a-fork/day08-book/edit/main/book/index.md" in links(page)
    download = nbformat.read(root / "_build" / "html" / "_sources" / "book" / "index.ipynb", as_version=4)
    printed = [o.get("text", "") for c in download.cells if c.cell_type == "code" for o in c.outputs]
    assert "printed at build time\n" in printed, "the downloaded .ipynb does not carry the build's outputs"
    assert "a-fork/day08-book" in download.cells[0].source, "the download's set-up cell installs from the fork"


# ----------------------------------------------------------------------------- Binder


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module a piece of code imports (magics and shell lines dropped)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def third_party(modules: set[str]) -> set[str]:
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ("day08", "__future__")}


def test_binder_lists_every_third_party_module_the_chapters_and_package_import():
    spec = (ROOT / "binder" / "requirements.txt").read_text()
    lines = [line.split("#")[0].strip() for line in spec.splitlines()]
    listed = {re.split(r"[=<>!~\[ ]", line)[0].lower() for line in lines if line and not line.startswith(("-", "."))}
    assert "./code" in lines, "Binder must install the book's package from the checkout"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines, "Binder has no GPU: use CPU-only torch"

    modules = set()
    for chapter in CHAPTERS:
        code = [c.source for c in colab.read_chapter(chapter.path).cells if c.cell_type == "code"]
        modules |= imported_modules(colab.GLUE_IMPORT.sub("", "\n".join(code)))  # the copies drop myst_nb
    for path in (ROOT / "code" / "src").rglob("*.py"):
        modules |= imported_modules(path.read_text())
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(third_party(modules)):
        names = {d.lower() for d in distributions.get(module, [module])}
        if not names & listed:
            missing[module] = sorted(names)
    assert not missing, f"binder/requirements.txt does not list (module: distribution) {missing}"


def test_binder_pins_match_the_books_pins():
    pins = dict(re.findall(r"^([\w-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    binder = dict(re.findall(r"^([\w-]+)==(\S+)", (ROOT / "binder" / "requirements.txt").read_text(), re.MULTILINE))
    assert binder and all(pins.get(name) == version for name, version in binder.items()), (binder, pins)
