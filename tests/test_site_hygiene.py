"""The built pages show teaching code only, no machinery, and stay light enough for a phone.

For every page of the reading order: no visible code cell calls ``glue`` or ``claim`` (site
plumbing lives in hidden cells); no "Traceback", no object address ("object at 0x...") and no
path of the build machine appears; the page has at most 5,000 HTML elements. The site has
exactly these pages (plus search and index), and no chapter script blocks the first paint. Also: the
assignment notebook is linked from the agenda and the training-loop chapter, and the exercises
use the assignment's settings.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT
from sphinx_external_toc.parsing import parse_toc_yaml

from notebooks import read_chapter

PAGES = [f"{doc}.html" for doc in list(parse_toc_yaml(ROOT / "_toc.yml"))]
ASSIGNMENT = "https://colab.research.google.com/github/olinml2024/notebooks/blob/main/ML24_Assignment08_part_2.ipynb"
MACHINE_PATHS = [str(ROOT), "/work/", "/home/", "/tmp/", "/root/", "site-packages", ".venv/"]
MAX_ELEMENTS = 5000


def test_the_site_has_exactly_the_pages_in_the_toc(built_site):
    built = {
        p.relative_to(built_site).as_posix()
        for p in built_site.rglob("*.html")
        if 'http-equiv="Refresh"' not in p.read_text()[:500]  # the root redirect to the landing page
        and not p.relative_to(built_site).parts[0] == "_static"  # the theme's Jinja macros, not pages
    }
    assert built == {*PAGES, "search.html", "genindex.html"}


def test_chapter_scripts_do_not_block_the_first_paint(built_site):
    """Every script a chapter loads from a file is deferred (first paint 3.3 -> 2.0 s on a phone).
    search.html is the exception: its search script needs the others at once."""
    for page in [*PAGES, "genindex.html"]:
        blocking = re.findall(
            r"<script(?![^>]*\b(?:defer|async)\b)[^>]*\bsrc=\"([^\"]+)", (built_site / page).read_text()
        )
        assert blocking == [], f"{page}: scripts that block the first paint: {blocking}"


@pytest.fixture(scope="module")
def pages(built_site) -> dict[str, BeautifulSoup]:
    """Each page, parsed once (the tests only read it)."""
    return {page: BeautifulSoup((built_site / page).read_text(encoding="utf-8"), "html.parser") for page in PAGES}


@pytest.mark.parametrize("page", PAGES)
def test_no_visible_cell_calls_glue_or_claim(pages, page):
    for cell in pages[page].select("div.cell_input"):
        code = cell.get_text()
        assert not re.search(r"\b(glue|claim)\(", code), f"{page}: a visible cell calls glue/claim:\n{code[:300]}"
        assert "myst_nb" not in code, f"{page}: a visible cell imports myst_nb"


@pytest.mark.parametrize("page", PAGES)
def test_no_traceback_object_address_or_machine_path(pages, page):
    text = pages[page].select_one("main").get_text(" ")
    assert "Traceback" not in text, f"{page} shows a traceback"
    assert not re.search(r"object at 0x[0-9a-f]+", text), f"{page} prints an object address"
    for path in MACHINE_PATHS:
        assert path not in text, f"{page} shows a path of the build machine: {path}"


@pytest.mark.parametrize("page", PAGES)
def test_page_has_at_most_5000_elements(pages, page):
    count = len(pages[page].find_all(True))
    assert count <= MAX_ELEMENTS, f"{page} has {count} elements (limit {MAX_ELEMENTS})"


@pytest.mark.parametrize("page", ["book/agenda.html", "book/training-loop.html", "book/training-exercises.html"])
def test_the_assignment_notebook_is_linked(pages, page):
    hrefs = {a.get("href") for a in pages[page].select("article a[href]")}
    assert ASSIGNMENT in hrefs, f"{page} does not link the assignment notebook"


def test_the_agenda_says_which_cells_of_the_assignment_the_class_reads(pages):
    text = " ".join(pages["book/agenda.html"].select_one("article").get_text(" ").split())
    assert "first two code cells" in text and "third code cell" in text


def test_the_exercises_use_the_assignments_settings():
    source = (ROOT / "book" / "training-exercises.md").read_text()
    assert "num_epochs = 2000" in source
    assert "MLP(50).to(device), lr=0.1, epochs=num_epochs" in source
    assert "torch.sigmoid(self.hidden(x))" in source
    assert "batch_size=50, epochs=1, lr=0.1" in source
    assert "DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)" in source


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("[!_]*.md")), ids=lambda p: p.name)
def test_site_plumbing_sits_in_hidden_cells_in_the_source(path):
    for cell in read_chapter(path).cells:  # the cells as myst-nb reads them, with their tags
        if cell.cell_type == "code" and re.search(r"\b(glue|claim)\(|myst_nb", cell.source):
            hidden = "remove-cell" in cell.metadata.get("tags", [])
            assert hidden, f"{path.name}: a visible cell holds site plumbing:\n{cell.source[:200]}"


def test_each_chapter_gives_its_time_on_the_agenda():
    """Each chapter says under its title when it is taught, and the agenda's table has that time."""
    agenda = (ROOT / "book" / "agenda.md").read_text()
    for doc in list(parse_toc_yaml(ROOT / "_toc.yml")):
        if doc in ("book/index", "book/agenda", "book/status"):
            continue
        text = (ROOT / f"{doc}.md").read_text()
        line = re.search(r"^\*(On the agenda|Not on the agenda|Not a block on the agenda)[^*]*\*", text, re.M | re.S)
        assert line, f"{doc}.md does not say when it is taught (a line '*On the agenda: ...*' under its title)"
        for start, end in re.findall(r"(\d{2}:\d{2})–(\d{2}:\d{2})", line.group(0)):
            assert start in agenda and end in agenda, f"{doc}.md gives {start}–{end}, which the agenda does not have"
