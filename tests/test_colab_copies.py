"""The Colab copies in notebooks/: in sync, installing from the configured repository, and
written in markdown Colab shows (no MyST left, numbers instead of glue keys, solutions folded).

Every test loops over the chapters _toc.yml lists, so a new chapter is covered at once. The
copies are written from the build's outputs, so the tests that regenerate them use the built
site (``built_site`` builds it when needed).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys

import colab
import nbformat
import pytest
from conftest import ROOT, copy_book

BOOK = colab.chapters(ROOT)
EXECUTABLE = [c for c in BOOK if colab.is_executable(c.notebook)]
IDS = [c.docname for c in EXECUTABLE]
CONFIG = colab.load_config(ROOT)
DIRECTIVE_FENCE = re.compile(r"^\s*(`{3,}|:{3,}|~{3,})\s*\{", re.MULTILINE)
ROLE = re.compile(r"\{[\w:.-]+\}`")
TARGET = re.compile(r"^\([\w:.-]+\)=\s*$", re.MULTILINE)


def demo(*cells) -> colab.Chapter:
    """A one-off chapter ``book/demo`` made of ``cells``, numbered from the start of the book."""
    notebook = nbformat.v4.new_notebook(cells=list(cells))
    return colab.Chapter("book/demo", ROOT / "book" / "demo.md", notebook, start={"exercise": 0, "figure": 0})


def copy_of(chapter) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / colab.notebook_path(chapter.docname), as_version=4)


def test_there_are_copies():
    assert EXECUTABLE, "no chapter in _toc.yml has a code cell"


# ----------------------------------------------------------------------------- in sync


def test_every_copy_is_in_sync_with_its_chapter_and_build(built_site):
    stale = colab.stale(ROOT)
    assert not stale, f"out of date (run `make notebooks` and commit): {stale}"


@pytest.fixture
def tree(tmp_path, built_site):
    """What tools/colab.py reads, copied: the sources and the build's cache, and the copies."""
    root = copy_book(tmp_path / "book")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    return root


def check(root) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/colab.py", "--check"], cwd=root, capture_output=True, text=True)


def test_the_check_fails_when_a_copy_installs_from_another_repository(tree):
    assert check(tree).returncode == 0, check(tree).stderr
    path = tree / colab.notebook_path(EXECUTABLE[0].docname)
    url, branch = colab.repository(CONFIG)
    text = path.read_text()
    assert f"git+{url}@{branch}#subdirectory=code" in text
    path.write_text(text.replace(f"git+{url}@", "git+https://github.com/someone-else/day08-book@"))
    result = check(tree)
    assert result.returncode == 1 and colab.notebook_path(EXECUTABLE[0].docname) in result.stderr, result.stderr


def test_the_check_fails_on_a_changed_number_a_changed_chapter_and_a_removed_one(tree):
    first, last = EXECUTABLE[0], EXECUTABLE[-1]
    copy = tree / colab.notebook_path(last.docname)
    notebook = nbformat.read(copy, as_version=4)
    decimal = re.compile(r"(?<![\w.])(\d+\.\d+)(?![\d.]|e[-+]?\d)")  # 96.7, not 1.1e-16 nor 2.14.1
    cell = next(c for c in notebook.cells if c.cell_type == "markdown" and decimal.search(c.source))
    cell.source = decimal.sub(r"9\1", cell.source, count=1)  # far from what the build computed (96.7 -> 996.7)
    nbformat.write(notebook, copy)
    chapter = tree / first.path.relative_to(ROOT)
    chapter.write_text(chapter.read_text().replace("\n## ", "\nA new sentence.\n\n## ", 1))
    (tree / "notebooks" / "removed-chapter.ipynb").write_text("{}")
    result = check(tree)
    assert result.returncode == 1
    for path in (
        colab.notebook_path(first.docname),
        colab.notebook_path(last.docname),
        "notebooks/removed-chapter.ipynb",
    ):
        assert path in result.stderr, (path, result.stderr)


def test_a_measured_time_may_differ_but_nothing_else():
    old = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("took 1.52 s against 0.97 s, 12 epochs", id="a")]
    )
    new = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("took 1.61 s against 0.97 s, 12 epochs", id="a")]
    )
    assert colab.same_but_measured(nbformat.writes(old), nbformat.writes(new), {"1.61"})
    assert not colab.same_but_measured(nbformat.writes(old), nbformat.writes(new), {"0.97"})
    new.cells[0].source = "took 1.61 s against 0.97 s, 13 epochs"
    assert not colab.same_but_measured(nbformat.writes(old), nbformat.writes(new), {"1.61"})


def test_numbers_another_cpu_rounds_differently_may_differ_a_little():
    """Measured between two machines: 89.1% and 87.0%, 1.8e-15 and 6.7e-16; a changed result is
    still caught (12 -> 13 epochs is 8%)."""

    def same(a: str, b: str) -> bool:
        old, new = (nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(t, id="a")]) for t in (a, b))
        return colab.same_but_measured(nbformat.writes(old), nbformat.writes(new), set())

    assert same("89.1% after 1,257 digits; error 1.8e-15", "87.0% after 1,257 digits; error 6.7e-16")
    assert same("error 0.0e+00", "error 1.1e-16")
    assert not same("12 epochs", "13 epochs") and not same("1,257 digits", "1,357 digits")
    assert not same("89.1% of them", "89.1 % of them")  # the words still match exactly
    assert not same("torch 2.14.1", "torch 2.14.2")  # a version is not a number


# ----------------------------------------------------------------------------- install source


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=IDS)
def test_the_setup_cell_installs_from_the_configured_repository(chapter):
    setup = copy_of(chapter).cells[0]
    assert setup.source == colab.setup_cell(CONFIG).source
    assert setup.metadata.get("cellView") == "form" and setup.source.startswith("# @title ")
    url, branch = colab.repository(CONFIG)
    assert re.findall(r"git\+\S+?#subdirectory=code", setup.source) == [f"git+{url}@{branch}#subdirectory=code"]


@pytest.mark.skipif(
    os.environ.get("GITHUB_ACTIONS") != "true", reason="compares with the repository GitHub Actions runs in"
)
def test_in_github_actions_the_configured_repository_is_the_one_ci_runs_in():
    url, branch = colab.repository(CONFIG)
    expected = f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{os.environ['GITHUB_REPOSITORY']}"
    assert url == expected, (
        f"_config.yml: repository.url is {url}, but CI runs in {expected}: a fork sets repository.url "
        "(and html.baseurl) to its own, then runs `make notebooks` and commits the copies (see README)"
    )


# ----------------------------------------------------------------------------- Colab's markdown


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=IDS)
def test_no_myst_directive_role_or_target_is_left_in_the_markdown(chapter):
    for number, cell in enumerate(copy_of(chapter).cells):
        if cell.cell_type != "markdown":
            continue
        for pattern, what in [(DIRECTIVE_FENCE, "directive"), (ROLE, "role"), (TARGET, "target")]:
            found = pattern.search(cell.source)
            assert not found, f"{colab.notebook_path(chapter.docname)} cell {number}: MyST {what} left: {cell.source!r}"


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=IDS)
def test_no_glue_key_is_shown_where_the_page_shows_a_number(chapter):
    keys = set(re.findall(r"\{glue(?::\w+)?\}`(?:[^`:]*::)?([\w.-]+)", chapter.path.read_text()))
    text = "\n".join(c.source for c in copy_of(chapter).cells if c.cell_type == "markdown")
    shown = {key for key in keys if re.search(rf"(?<![\w.-]){re.escape(key)}(?![\w-])", text)}
    assert not shown, f"glue keys in the prose of {colab.notebook_path(chapter.docname)}: {sorted(shown)}"


def sections(notebook):
    """(heading cell index, level, title, indexes of the cells in its section)."""
    headings = []
    for i, cell in enumerate(notebook.cells):
        m = re.match(r"(#{1,6}) (.*)", cell.source) if cell.cell_type == "markdown" else None
        if m:
            headings.append((i, len(m[1]), m[2]))
    out = []
    for n, (i, level, title) in enumerate(headings):
        end = next((j for j, lv, _ in headings[n + 1 :] if lv <= level), len(notebook.cells))
        out.append((i, level, title, list(range(i + 1, end))))
    return out


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=IDS)
def test_every_exercise_is_a_heading_and_every_solution_is_folded(chapter):
    copy, source = copy_of(chapter), chapter.path.read_text()
    exercises = len(re.findall(r"^[`:]{3,}\{exercise(?:-start)?\}", source, re.MULTILINE))
    solutions = len(re.findall(r"^[`:]{3,}\{solution(?:-start)?\}", source, re.MULTILINE))
    found = sections(copy)
    assert len([s for s in found if re.fullmatch(r"Exercise \d+( \(.*\))?", s[2])]) == exercises
    folded = [s for s in found if s[2].startswith("Solution to Exercise ")]
    assert len(folded) == solutions
    collapsed = copy.metadata["colab"]["collapsed_sections"]
    for index, _, title, inside in folded:
        heading = copy.cells[index]
        assert heading.metadata["id"] in collapsed, f"{title}: not folded in Colab"
        assert heading.metadata.get("jp-MarkdownHeadingCollapsed") is True, f"{title}: not folded in JupyterLab"
        assert inside, f"{title}: the folded section is empty"
    assert len(collapsed) == len(folded)


def test_every_solution_code_cell_is_inside_its_folded_section():
    """The code of each split solution ({solution-start} ... {solution-end}) is folded."""
    for chapter in EXECUTABLE:
        copy = copy_of(chapter)
        folded = {i for _, _, title, inside in sections(copy) if title.startswith("Solution to") for i in inside}
        in_solution, expected = False, []
        for cell in chapter.notebook.cells:
            if cell.cell_type == "markdown":
                for block in colab.blocks(cell.source):
                    if block.name == "solution-start":
                        in_solution = True
                    elif block.name == "solution-end":
                        in_solution = False
            elif in_solution and "remove-cell" not in cell.metadata.get("tags", []):
                expected.append(colab.GLUE_IMPORT.sub("", cell.source).strip("\n"))
        folded_code = [  # hidden cells are left out, or kept for their figure (tested below)
            copy.cells[i].source
            for i in sorted(folded)
            if copy.cells[i].cell_type == "code" and not copy.cells[i].source.startswith("# @title Show the figure")
        ]
        assert expected == folded_code, chapter.docname


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=IDS)
def test_the_copy_has_the_chapters_code_and_no_myst_nb(chapter):
    copy = copy_of(chapter)
    assert not any(c.get("outputs") or c.get("execution_count") for c in copy.cells if c.cell_type == "code")
    code = [c.source for c in copy.cells[1:] if c.cell_type == "code"]
    assert not any("myst_nb" in source for source in code), "Colab has no myst_nb"
    visible = [
        colab.GLUE_IMPORT.sub("", c.source).strip("\n")
        for c in chapter.notebook.cells
        if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])
    ]
    kept_for_a_figure = "# @title Show the figure"  # a hidden cell whose figure the page shows (tested elsewhere)
    assert [re.sub(r"^# @title .*\n", "", s) for s in code if not s.startswith(kept_for_a_figure)] == visible


def page_numbers(page) -> list[str]:
    """The glued text on a built page, in order (myst-nb's {glue:text} spans)."""
    return [html.unescape(t) for t in re.findall(r'<span class="pasted-text">([^<]*)</span>', page.read_text())]


@pytest.mark.parametrize("chapter", EXECUTABLE, ids=IDS)
def test_the_copys_sentences_show_the_numbers_of_the_page(built_site, chapter):
    """Each sentence of the page with a glued number reads the same in the copy.

    The copy is written again from this build, and must equal the committed one but for
    measured times (which change from run to run); then its sentences are looked up on the page."""
    page = built_site / f"{chapter.docname}.html"
    numbers = page_numbers(page)
    converter = colab.Converter(chapter, BOOK, CONFIG, colab.glued_outputs(chapter, CONFIG, ROOT))
    copy = colab.colab_notebook(chapter, BOOK, CONFIG, converter.values, converter)
    committed = (ROOT / colab.notebook_path(chapter.docname)).read_text()
    assert colab.same_but_measured(committed, nbformat.writes(copy) + "\n", converter.measured)
    assert converter.shown == numbers, "the copy formats the glued values differently from the page"
    text = "\n\n".join(c.source for c in copy.cells if c.cell_type == "markdown")
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    for number in numbers:
        assert any(number in p for p in paragraphs), f"{number} is on the page but not in the copy"
    page_text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page.read_text())))
    page_text = page_text.translate(str.maketrans("\u2018\u2019\u201c\u201d\u2013\u2014", "''\"\"--"))  # smart quotes
    compared = 0
    for paragraph in paragraphs:
        if re.search(r"^\s*(\||```)", paragraph, re.M):
            continue  # a table or a code block: not sentences
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", paragraph)  # a link's text
        plain = re.sub(r"\*\*|(?<!\w)[*_](?!\s)|(?<!\s)[*_](?!\w)|^> ?|^\s*(?:[-+]|\d+\.)\s+", "", plain, flags=re.M)
        plain = re.sub(r"\s+", " ", plain)
        for sentence in re.split(r"(?<=[.:;])\s(?![^$]*\$(?:[^$]*\$[^$]*\$)*[^$]*$)", plain.strip()):
            if not (any(n in sentence for n in numbers) and len(sentence) > 20) or sentence.count("$") % 2:
                continue
            # math is typeset by KaTeX on the page, so a formula matches any text; code reads the same
            sentence = sentence.replace("`", "").replace("\u2013", "-").replace("\u2014", "-")
            pattern = ".+?".join(re.escape(part) for part in re.split(r"\$[^$]+\$", sentence))
            assert re.search(pattern, page_text), f"not on the page: {sentence!r}"
            compared += 1
    assert compared or not numbers, "no sentence with a glued number was compared"


# ----------------------------------------------------------------------------- the converter


MYST = """(home)=
# Title

See {ref}`the loop <home>`, {doc}`agenda`, {numref}`ex-two`, {math}`x^2` and {glue:text}`p:.3f`;
{glue}`name` wins.

```{glue:figure} fig_a
:alt: A bar chart
:name: fig-a

Ten scores; class {glue:text}`k` wins.
```

````{exercise} Two classes
:label: ex-two

Show that a two-class softmax is a sigmoid.
````

````{solution} ex-two
:class: dropdown

Divide by $e^{s_1}$:

```python
x = 1
```
````

Back in the section.

:::{warning}
One.
:::

```{tableofcontents}
```
"""


def test_myst_becomes_markdown_that_colab_shows():
    chapter = colab.Chapter(
        "book/demo", ROOT / "book" / "demo.md", nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(MYST)])
    )
    counts = {"exercise": 0, "figure": 0}
    chapter.start = dict(counts)
    list(colab.index_labels(chapter, counts))
    book = [chapter, *BOOK]
    values = {
        "p": {"data": {"text/plain": "0.12345"}},
        "k": {"data": {"text/plain": "3"}},
        "name": {"data": {"text/plain": "'softmax'"}},
        "fig_a": {"data": {"image/png": "", "text/plain": "<Figure>"}},
    }
    notebook = colab.colab_notebook(chapter, book, CONFIG, values)
    site = colab.site_url(CONFIG)
    cells = [c.source for c in notebook.cells[1:]]
    assert cells[0] == "# Title"
    assert cells[1] == (
        f"See [the loop]({site}book/demo.html#home), [{BOOK[1].title}]({site}book/agenda.html), "
        f"[Exercise 1 (Two classes)]({site}book/demo.html#ex-two), $x^2$ and 0.123;\n'softmax' wins.\n\n"
        "**Fig. 1.** Ten scores; class 3 wins."
    )
    assert cells[2] == "## Exercise 1 (Two classes)"
    assert cells[3] == "> Show that a two-class softmax is a sigmoid."
    assert cells[4] == "### Solution to Exercise 1 (Two classes)"
    assert cells[5] == "Divide by $e^{s_1}$:\n\n```python\nx = 1\n```"
    assert cells[6] == "### Title (continued)"  # ends the folded section: what follows is not the solution
    assert cells[7].startswith("Back in the section.\n\n> **Warning**\n>\n> One.\n\n- [")
    assert notebook.metadata["colab"]["collapsed_sections"] == [notebook.cells[5].metadata["id"]]
    assert all(colab.colab_url(CONFIG, c.docname) in cells[7] for c in EXECUTABLE)


def test_a_directive_the_copy_cannot_show_is_an_error_naming_the_chapter():
    chapter = demo(nbformat.v4.new_markdown_cell("```{mermaid}\ngraph LR\n```\n"))
    with pytest.raises(colab.ColabError, match=r"demo\.md: a Colab copy cannot show the \{mermaid\} directive"):
        colab.colab_notebook(chapter, BOOK, CONFIG, {})


def test_hidden_cells_are_left_out_unless_they_draw_a_figure_the_page_shows():
    cells = [
        nbformat.v4.new_code_cell("x = 2\nfig = plot(x)"),
        nbformat.v4.new_code_cell('glue("x", x, display=False)\nassert x == 2', metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell(
            'from day08.claims import claim\nshare = 1 / x\nglue("fig", fig, display=False)\nglue("share", share)\n'
            'claim("demo", "two", "x is two", x == 2)\nassert share < 1',
            metadata={"tags": ["remove-cell"]},
        ),
        nbformat.v4.new_code_cell("print(x)", metadata={"tags": ["remove-input"]}),
        nbformat.v4.new_markdown_cell("Here {glue:text}`x` is two.\n\n```{glue:figure} fig\nA plot.\n```"),
    ]
    chapter = demo(*cells)
    values = {"x": {"data": {"text/plain": "2"}}, "fig": {"data": {"image/png": "", "text/plain": "<Figure>"}}}
    copy = colab.colab_notebook(chapter, BOOK, CONFIG, values)
    sources = [c.source for c in copy.cells[1:]]
    assert sources[0] == "x = 2\nfig = plot(x)"
    assert sources[1] == '# @title Show the figure (the website hides this code)\nglue("fig", fig, display=False)'
    assert copy.cells[2].metadata["cellView"] == "form"
    assert sources[2].startswith("# @title ") and sources[2].endswith("print(x)")
    assert sources[3] == "Here 2 is two.\n\n**Fig. 1.** A plot."
    assert len(sources) == 4, "the cell that only glues and checks is left out"


def test_an_included_source_becomes_a_code_block_with_that_definition():
    text = "```{literalinclude} ../code/src/day08/engine.py\n:pyobject: Value.tanh\n:dedent: 4\n```\n"
    chapter = demo(nbformat.v4.new_markdown_cell(text))
    block = colab.colab_notebook(chapter, BOOK, CONFIG, {}).cells[1].source
    assert block.startswith("```python\ndef tanh(self):") and block.endswith("```")
    assert "def __mul__" not in block


def test_a_list_table_becomes_a_markdown_table():
    text = "```{list-table} Shapes\n:header-rows: 1\n\n* - name\n  - shape\n* - `X`\n  - (N, 64)\n```\n"
    chapter = colab.Chapter(
        "book/demo", ROOT / "book" / "demo.md",
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)]),
        start={"exercise": 0, "figure": 0},
    )  # fmt: skip
    table = colab.colab_notebook(chapter, BOOK, CONFIG, {}).cells[1].source
    assert table == "**Shapes**\n\n| name | shape |\n| --- | --- |\n| `X` | (N, 64) |"


def test_writing_a_copy_of_a_chapter_the_build_has_not_run_says_what_to_do(tree):
    chapter = tree / EXECUTABLE[0].path.relative_to(ROOT)
    chapter.write_text(chapter.read_text().replace("```{code-cell} ipython3\n", "```{code-cell} ipython3\nx = 1\n", 1))
    result = subprocess.run([sys.executable, "tools/colab.py"], cwd=tree, capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{EXECUTABLE[0].docname}.md: the build has not executed this version" in result.stderr, result.stderr
    assert "run `make html`, then `make notebooks`" in result.stderr


def test_without_the_cache_the_numbers_come_from_the_notebooks_myst_nb_wrote(tree):
    shutil.rmtree(tree / CONFIG["execute"]["cache"])
    assert check(tree).returncode == 1, "no execution of the chapters: the copies cannot be checked"
    shutil.copytree(ROOT / "_build" / "jupyter_execute", tree / "_build" / "jupyter_execute")
    result = check(tree)
    assert result.returncode == 0, result.stderr


def test_a_visible_cell_that_needs_a_hidden_cell_is_an_error_naming_the_name():
    cells = [
        nbformat.v4.new_code_cell("secret = 41\nassert secret > 0", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("answer = secret + 1\nprint(answer)"),
    ]
    chapter = demo(*cells)
    with pytest.raises(colab.ColabError, match=r"demo\.md: a visible cell uses secret, which only a hidden"):
        colab.colab_notebook(chapter, BOOK, CONFIG, {})
