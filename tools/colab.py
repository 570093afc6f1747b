"""The Colab copies: one notebook per chapter with code, written from the chapter and its build.

    python tools/colab.py           # what `make notebooks` runs: rewrite notebooks/*.ipynb
    python tools/colab.py --check   # change nothing; exit 1 naming each copy that is out of date

Colab opens ``.ipynb`` files from GitHub, not MyST markdown, so every chapter with code gets a
copy in ``notebooks/`` (``book/<name>.md`` -> ``notebooks/<name>.ipynb``), committed so that
GitHub (and so Colab and Binder) can serve it. The ``.md`` stays the single source; a copy is
written from it and from the outputs of the last build (``make html`` first), and reads like
the page:

- **Set-up first.** ``setup_cell(config)`` installs the package ``day08`` from the repository
  and branch in ``_config.yml`` (``repository.url``, ``repository.branch``) when it is missing,
  and defines a stand-in for myst-nb's ``glue``. The download button's notebook starts with
  the same cell (``tools/notebooks.py``).
- **Numbers in the prose.** ``{glue:text}`key:.3f``` becomes the number the build computed,
  formatted as myst-nb formats it on the page (``format_plain_text``); ``{glue}`` shows the
  value's text, as the page does. The values come from jupyter-cache (``execute.cache``), the
  notebook myst-nb matched for the chapter, or else from the executed notebook myst-nb wrote
  to ``_build/jupyter_execute/`` when its code is the chapter's.
- **Colab-native markdown.** An exercise is a heading "Exercise N (title)" with its text in a
  quote block; its solution is a heading "Solution to Exercise N" whose section (prose, code
  and figures) starts collapsed in Colab (``metadata.colab.collapsed_sections``) and in
  JupyterLab (``jp-MarkdownHeadingCollapsed``). Admonitions, margins, dropdowns and tabs are
  quote blocks with their title; ``{ref}``, ``{numref}``, ``{doc}`` and ``{eq}`` are links to
  the published pages (``html.baseurl``); ``{tableofcontents}`` lists the other chapters'
  copies; figures keep their captions; math is unchanged. A construct the copy cannot show is
  an error naming the chapter, not raw markup.
- **Hidden cells.** ``remove-cell`` cells are site plumbing (glue and build checks) and are
  left out, except one that glues a figure the page shows: it becomes a Colab form cell (code
  hidden, figure shown). ``remove-input``, ``hide-input`` and ``hide-cell`` cells become form
  cells too (Colab shows their title and output; "Show code" opens them).

Glued values whose key ends in ``_seconds`` or ``_ms`` are measured times: the copy shows the
build's measurement, but ``--check`` does not compare it (it changes from run to run). Other
numbers in the prose are compared within ``CLOSE`` (5%, or both under 1e-12): seeded runs repeat
on one machine, but another CPU rounds differently (measured between two 2-core machines: a
5-unit MLP's accuracy after 2,000 epochs 89.1% and 87.0%, a rounding error 1.8e-15 and 6.7e-16).
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from notebooks import (  # the set-up cell and paths shared with the download button (tools/notebooks.py)
    FOLDER,
    FORM,
    GLUE_IMPORT,
    ROOT,
    SETUP,
    SOURCE_ENV,  # noqa: F401 (tests/test_colab.py points the set-up cell at a local copy with it)
    ColabError,
    is_executable,
    load_config,
    notebook_path,
    read_chapter,
    repository,
    setup_cell,
)

MEASURED = re.compile(r"(_seconds|_ms)$")  # glue keys whose values are timings
ADMONITIONS = {
    "admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
    "error", "seealso", "margin", "sidebar", "topic", "epigraph", "dropdown", "card", "versionadded",
    "versionchanged", "deprecated",
}  # fmt: skip
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|:{3,}|~{3,})(?P<info>.*)$")
DIRECTIVE_INFO = re.compile(r"^\{(?P<name>[\w:.-]+)\}[ \t]*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)[ \t]*#*[ \t]*$")
ROLE = re.compile(r"\{(?P<name>[\w:.-]+)\}`(?P<text>[^`]*)`")
EQ_LABEL = re.compile(r"^\$\$[ \t]*\((?P<label>[^()\s]+)\)[ \t]*$")  # $$ (label) closing a labelled equation
MYST_COMMENT = re.compile(r"^%.*$")
# A cell whose code is hidden: Colab's form view shows its "# @title" and output, with a "Show
# code" button; JupyterLab (Binder, downloads) collapses its source (nbformat's jupyter.source_hidden).


# --------------------------------------------------------------------------- configuration


def site_url(config: dict) -> str:
    """Where the book is published (``html.baseurl``), ending in a slash."""
    url = str((config.get("html") or {}).get("baseurl", "")).strip()
    if not url.startswith("https://"):
        raise ColabError("_config.yml: set html.baseurl to the published site's URL (the copies link to its pages)")
    return url.rstrip("/") + "/"


def colab_url(config: dict, docname: str) -> str:
    url, branch = repository(config)
    return f"https://colab.research.google.com/github/{url.removeprefix('https://github.com/')}/blob/{branch}/{notebook_path(docname)}"


# --------------------------------------------------------------------------- chapters


def reading_order(root: Path = ROOT) -> list[str]:
    """The docnames of _toc.yml, in reading order."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    try:
        return list(parse_toc_yaml(root / "_toc.yml").keys())
    except Exception as err:  # the parser raises several types; all mean "fix _toc.yml"
        raise ColabError(f"_toc.yml cannot be read: {err}") from err


@dataclass
class Chapter:
    docname: str
    path: Path
    notebook: nbformat.NotebookNode
    title: str = ""
    labels: dict = field(default_factory=dict)  # label -> (anchor, text, number or None)
    start: dict = field(default_factory=dict)  # exercises and figures numbered before this chapter
    resume: dict = field(default_factory=dict)  # the root: the numbers after its table of contents


def chapters(root: Path = ROOT) -> list[Chapter]:
    found, counts = [], {"exercise": 0, "figure": 0}
    for docname in reading_order(root):
        path = root / f"{docname}.md"
        if not path.is_file():
            raise ColabError(f"_toc.yml lists '{docname}' but there is no {docname}.md")
        found.append(Chapter(docname, path, read_chapter(path), start=dict(counts)))
    # Sphinx numbers the root page up to its table of contents, then the chapters, then the rest
    # of the root page (index.html's figure is numbered after every chapter's)
    root_walk = index_labels(found[0], counts)
    next(root_walk, None)
    for chapter in found[1:]:
        chapter.start = dict(counts)
        for _ in index_labels(chapter, counts):
            pass
    found[0].resume = dict(counts)
    for _ in root_walk:
        pass
    return found


def anchor(label: str) -> str:
    from docutils.nodes import make_id

    return make_id(label)


def index_labels(chapter: Chapter, counts: dict):
    """What {ref}, {numref} and {eq} can point at in a chapter, numbered as the site numbers
    them: exercises and figures through the whole book in reading order, equations per page."""
    counts["equation"] = 0
    pending = None
    for cell in chapter.notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for block in blocks(cell.source):
            if block.kind == "text":
                for line in block.lines:
                    if m := TARGET.match(line):
                        pending = m["label"]
                    elif m := HEADING.match(line):
                        if not chapter.title:
                            chapter.title = strip_roles(m["title"])
                        if pending:
                            chapter.labels[pending] = (anchor(pending), strip_roles(m["title"]), None)
                        pending = None
                    elif m := EQ_LABEL.match(line):
                        counts["equation"] += 1
                        chapter.labels[m["label"]] = (anchor(m["label"]), f"({counts['equation']})", counts["equation"])
                    elif line.strip():
                        pending = None
                continue
            name, options = block.name, block.options
            if name == "tableofcontents":
                yield  # the caller numbers the other chapters here
            if name in ("exercise", "exercise-start"):
                counts["exercise"] += 1
                number = counts["exercise"]
                title = f"Exercise {number}" + (f" ({strip_roles(block.arg)})" if block.arg else "")
                if "label" in options:
                    chapter.labels[options["label"]] = (anchor(options["label"]), title, number)
            elif name in ("figure", "glue:figure"):
                counts["figure"] += 1
                if "name" in options:
                    chapter.labels[options["name"]] = (
                        anchor(options["name"]),
                        f"Fig. {counts['figure']}",
                        counts["figure"],
                    )
            elif name == "math" and "label" in options:
                counts["equation"] += 1
                chapter.labels[options["label"]] = (
                    anchor(options["label"]),
                    f"({counts['equation']})",
                    counts["equation"],
                )


def strip_roles(text: str) -> str:
    return ROLE.sub(lambda m: m["text"], text).strip()


# --------------------------------------------------------------------------- markdown blocks


@dataclass
class Block:
    kind: str  # "text", "code" (a plain fenced block, kept as it is) or "directive"
    lines: list[str]
    name: str = ""
    arg: str = ""
    options: dict = field(default_factory=dict)
    body: str = ""


def blocks(text: str) -> list[Block]:
    """Split markdown into plain-text runs and top-level MyST directives (fenced with ``` or
    :::, possibly nesting other fences)."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            if out and out[-1].kind == "text":
                out[-1].lines.append(lines[i])
            else:
                out.append(Block("text", [lines[i]]))
            i += 1
            continue
        end = closing_fence(lines, i, m["fence"])
        info = m["info"].strip()
        d = DIRECTIVE_INFO.match(info)
        if not d:  # a plain code block: kept as it is
            out.append(Block("code", lines[i : end + 1]))
            i = end + 1
            continue
        body = lines[i + 1 : end]
        options, start = {}, 0
        if body and body[0].strip() == "---":  # YAML options block
            close = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
            if close is not None:
                options = yaml.safe_load("\n".join(body[1:close])) or {}
                start = close + 1
        else:
            while start < len(body) and (o := OPTION.match(body[start])):
                options[o["key"]] = o["value"].strip()
                start += 1
        out.append(
            Block(
                "directive",
                lines[i : end + 1],
                d["name"],
                d["arg"].strip(),
                options,
                "\n".join(body[start:]).strip("\n"),
            )
        )
        i = end + 1
    return out


def closing_fence(lines: list[str], start: int, fence: str) -> int:
    """Index of the line that closes the fence opened at ``start`` (or the last line)."""
    char, length, depth_stack = fence[0], len(fence), []
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if depth_stack:
            inner_char, inner_len = depth_stack[-1]
            if stripped and set(stripped) == {inner_char} and len(stripped) >= inner_len:
                depth_stack.pop()
                continue
        elif stripped and set(stripped) == {char} and len(stripped) >= length:
            return j
        m = FENCE_OPEN.match(lines[j])
        if m and m["info"].strip():
            depth_stack.append((m["fence"][0], len(m["fence"])))
    return len(lines) - 1


# --------------------------------------------------------------------------- glued values


def code_of(notebook) -> list[str]:
    """The code cells of a notebook as myst-nb executes them (no glue import, no set-up cell)."""
    sources = [GLUE_IMPORT.sub("", c.source).strip() for c in notebook.cells if c.cell_type == "code"]
    return [s for s in sources if s and not s.startswith(SETUP.splitlines()[0])]


def executed_notebook(chapter: Chapter, config: dict, root: Path):
    """The build's execution of this version of the chapter: jupyter-cache's record (the cache
    of _config.yml's ``execute.cache``), else the notebook myst-nb wrote to
    ``_build/jupyter_execute/`` if its code is the chapter's; None when neither has it."""
    from jupyter_cache import get_cache

    cache_path = root / ((config.get("execute") or {}).get("cache") or "_build/.jupyter_cache")
    if cache_path.is_dir():
        cache = get_cache(str(cache_path))
        try:
            return cache.get_cache_bundle(cache.match_cache_notebook(chapter.notebook).pk).nb
        except KeyError:
            pass
    written = root / "_build" / "jupyter_execute" / f"{chapter.docname}.ipynb"
    if written.is_file():
        notebook = nbformat.read(written, as_version=4)
        ran = any(c.get("outputs") for c in notebook.cells if c.cell_type == "code")
        if ran and code_of(notebook) == code_of(chapter.notebook):
            return notebook
    return None


def glued_outputs(chapter: Chapter, config: dict, root: Path) -> dict:
    """{glue key: its output (mime bundle)} from the build's execution of the chapter."""
    from myst_nb.ext.glue import extract_glue_data_cell

    executed = executed_notebook(chapter, config, root)
    if executed is None:
        raise ColabError(
            f"{chapter.path.relative_to(root)}: the build has not executed this version of the chapter "
            "(neither the execution cache nor _build/jupyter_execute has it): run `make html`, then `make notebooks`"
        )
    values = {}
    for cell in executed.cells:
        if cell.cell_type == "code":  # a copy: extract_glue_data_cell rewrites the outputs it reads
            for key, output in extract_glue_data_cell(nbformat.from_dict(json.loads(json.dumps(cell)))):
                values[key] = output
    return values


# --------------------------------------------------------------------------- the converter


class Converter:
    """Turns a chapter's notebook into its Colab copy (see the top of this file)."""

    def __init__(self, chapter: Chapter, book: list[Chapter], config: dict, values: dict):
        self.chapter, self.book, self.config, self.values = chapter, book, config, values
        self.site = site_url(config)
        self.cells: list = []
        self.text: list[str] = []  # markdown lines not yet in a cell
        self.quote = False  # inside {exercise-start} ... {exercise-end}
        self.level = 1  # level of the last section heading
        self.solution_level = None  # set after a solution: the next text needs a heading
        self.exercises = chapter.start["exercise"]
        self.figures = chapter.start["figure"]
        self.exercise_titles: dict[str, str] = {}
        self.collapsed: list = []
        self.measured: set[str] = set()  # measured times shown in the prose, as formatted
        self.shown: list[str] = []  # every {glue:text} value, as formatted, in order
        self.kept_names: set[str] = {"glue", "os"}  # defined by the cells of the copy so far
        self.hidden_names: set[str] = set()  # defined only by hidden cells left out of the copy
        self.figure_keys = set()
        for cell in chapter.notebook.cells:
            if cell.cell_type == "markdown":
                for block in blocks(cell.source):
                    if block.kind == "directive" and block.name in ("glue:figure", "glue", "glue:any") and block.arg:
                        self.figure_keys.add(block.arg.split("::")[-1])

    def fail(self, what: str) -> ColabError:
        return ColabError(f"{self.chapter.path.name}: {what}")

    # ---- output

    def flush(self) -> None:
        text = "\n".join(self.text).strip("\n")
        text = re.sub(r"\n{3,}", "\n\n", text)
        text = re.sub(r"^(>\n)+|(\n>)+$", "", text)  # no empty quote lines around a quote
        self.text = []
        if text.strip() and text.strip() != ">":
            self.add(nbformat.v4.new_markdown_cell(text))

    def add(self, cell) -> None:
        if self.solution_level is not None:
            heading = HEADING.match(cell.source.split("\n", 1)[0]) if cell.cell_type == "markdown" else None
            if not (heading and len(heading["hashes"]) <= self.solution_level):
                # text after a folded solution belongs to the section, not to the solution
                title = f"{'#' * self.solution_level} {self.section_title} (continued)"
                self.cells.append(nbformat.v4.new_markdown_cell(title))
            self.solution_level = None
        self.cells.append(cell)

    def emit(self, markdown: str) -> None:
        for line in markdown.split("\n"):
            self.text.append(("> " + line).rstrip() if self.quote else line)

    def heading_cell(self, level: int, title: str, collapsed: bool = False) -> None:
        self.flush()
        cell = nbformat.v4.new_markdown_cell(f"{'#' * min(level, 6)} {title}")
        if collapsed:
            cell.metadata["jp-MarkdownHeadingCollapsed"] = True
            self.collapsed.append(cell)
        self.add(cell)

    # ---- cells

    def convert(self) -> list:
        self.section_title = self.chapter.title
        self.later_loads, seen = {}, set()  # per code cell: the names any later code cell reads
        for cell in reversed(self.chapter.notebook.cells):
            if cell.cell_type == "code":
                self.later_loads[id(cell)] = set(seen)
                if "remove-cell" not in cell.metadata.get("tags", []) or glue_keys(cell.source) & self.figure_keys:
                    seen |= names(GLUE_IMPORT.sub("", cell.source))[1]
        for cell in self.chapter.notebook.cells:
            if cell.cell_type == "markdown":
                self.markdown(cell.source)
            elif cell.cell_type == "code":
                self.code(cell)
        self.flush()
        return self.cells

    def code(self, cell) -> None:
        self.flush()
        tags = list(cell.metadata.get("tags", []))
        source = GLUE_IMPORT.sub("", cell.source).strip("\n")
        if not source.strip():
            return
        metadata = {"tags": tags} if tags else {}
        stores, loads = names(source)
        if "remove-cell" in tags and not (glue_keys(source) & self.figure_keys):
            # glue and build checks only: the prose already shows the numbers; left out
            self.hidden_names |= stores - self.kept_names
            return
        if "remove-cell" in tags:  # it shows a figure: keep that, not the checks around it
            source = self.without_checks(source, self.later_loads.get(id(cell), set()))
            stores, loads = names(source)
        needed = (loads - stores) & self.hidden_names
        if needed:
            raise self.fail(
                f"a visible cell uses {', '.join(sorted(needed))}, which only a hidden (remove-cell) cell defines; "
                "a hidden cell is left out of the Colab copy, so define it in a visible cell"
            )
        self.kept_names |= stores
        self.hidden_names -= stores
        if "remove-cell" in tags:
            source = "# @title Show the figure (the website hides this code)\n" + source
            metadata.update(FORM)
        elif {"remove-input", "hide-input", "hide-cell"} & set(tags):
            source = "# @title Show the result (the website hides this code)\n" + source
            metadata.update(FORM)
        self.add(nbformat.v4.new_code_cell(source, metadata=metadata))

    def without_checks(self, source: str, later: set[str]) -> str:
        """A hidden cell that shows a figure, less its build checks: asserts, calls of what only
        hidden cells define (``claim(...)``), glue calls (and loops of them) for anything but a
        figure, and then imports and assignments that nothing left (nor a ``later`` cell) reads."""
        tree = parse(source)
        if tree is None or any(line.lstrip().startswith(("%", "!")) for line in source.splitlines()):
            return source

        imported = {
            (a.asname or a.name).split(".")[0]
            for n in tree.body
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names
        }

        def check(node) -> bool:
            call = node.value if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) else None
            callee = getattr(call.func, "id", None) if call else None
            if isinstance(node, ast.Assert) or callee in self.hidden_names | imported:
                return True
            if callee == "glue":
                return not (glue_keys(ast.unparse(node)) & self.figure_keys)
            return isinstance(node, ast.For) and all(check(n) for n in node.body)

        kept, needed = [], set(later)
        for node in reversed([n for n in tree.body if not check(n)]):
            stores, loads = names(ast.unparse(node))
            binding = isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.AugAssign, ast.AnnAssign))
            if binding and not stores & needed:
                continue
            needed |= loads
            kept.insert(0, node)
        lines = source.splitlines()
        return "\n".join("\n".join(lines[n.lineno - 1 : n.end_lineno]) for n in kept)

    def markdown(self, source: str) -> None:
        for block in blocks(source):
            if block.kind == "code":
                self.emit("\n".join(block.lines))
            elif block.kind == "text":
                for line in block.lines:
                    self.text_line(line)
            else:
                self.directive(block)

    def text_line(self, line: str) -> None:
        if TARGET.match(line) or MYST_COMMENT.match(line):
            return
        if m := HEADING.match(line):
            self.flush()
            self.level = len(m["hashes"])
            self.section_title = self.roles(m["title"])
            self.text.append(f"{m['hashes']} {self.section_title}")
            self.flush()
            return
        if m := EQ_LABEL.match(line):
            line = "$$"
        self.emit(self.roles(line))

    # ---- directives

    @property
    def solution_heading(self) -> int:
        """A solution's heading level: below its exercise's, which is below the section's."""
        return min(self.level + 2, 6)

    def directive(self, block: Block) -> None:
        name, arg, options = block.name, block.arg, block.options
        if name in ("exercise", "exercise-start"):
            self.exercises += 1
            title = f"Exercise {self.exercises}" + (f" ({self.roles(arg)})" if arg else "")
            if "label" in options:
                self.exercise_titles[options["label"]] = title
            self.heading_cell(min(self.level + 1, 5), title)
            self.quote = True
            if name == "exercise":
                self.emit(self.plain(block.body))
                self.flush()
                self.quote = False
        elif name == "exercise-end":
            self.flush()
            self.quote = False
        elif name in ("solution", "solution-start"):
            target = self.exercise_titles.get(arg)
            if target is None:
                raise self.fail(f"{{{name}}} {arg}: no exercise with that label comes before it on the page")
            self.heading_cell(self.solution_heading, f"Solution to {target}", collapsed=True)
            if name == "solution":
                self.emit(self.plain(block.body))
                self.flush()
                self.solution_level = self.solution_heading
        elif name == "solution-end":
            self.flush()
            self.solution_level = self.solution_heading
        else:
            self.emit(self.plain_directive(block))

    def plain(self, text: str) -> str:
        """Markdown with no directive, role or target left (directives nested in a body)."""
        out = []
        for block in blocks(text):
            if block.kind == "code":
                out.extend(block.lines)
            elif block.kind == "text":
                for line in block.lines:
                    if TARGET.match(line) or MYST_COMMENT.match(line):
                        continue
                    out.append("$$" if EQ_LABEL.match(line) else self.roles(line))
            else:
                out.append(self.plain_directive(block))
        return "\n".join(out).strip("\n")

    def quoted(self, title: str, body: str) -> str:
        text = f"**{title}**" + (f"\n\n{body}" if body.strip() else "")
        return "\n".join(("> " + line).rstrip() for line in text.split("\n"))

    def plain_directive(self, block: Block) -> str:
        name, arg, options, body = block.name, block.arg, block.options, block.body
        if name in ADMONITIONS:
            title = self.roles(arg) if arg else name.capitalize()
            if name in ("margin", "sidebar") and not arg:
                title = "Aside"
            return self.quoted(title, self.plain(body))
        if name == "glue:figure":
            self.figures += 1
            self.glued(arg)  # it must exist, even though code shows it
            caption = self.plain(body)
            return f"**Fig. {self.figures}.** {caption}" if caption else f"**Fig. {self.figures}.**"
        if name in ("figure", "image"):
            if name == "figure":
                self.figures += 1
            url = self.file_url(arg)
            alt = options.get("alt", "")
            caption = self.plain(body)
            image = f"![{alt}]({url})"
            return image + (f"\n\n**Fig. {self.figures}.** {caption}" if name == "figure" and caption else "")
        if name in ("glue", "glue:any"):
            output = self.glued(arg)
            if any(k.startswith("image/") for k in output["data"]):
                return ""  # a figure: the code that makes it shows it
            return self.any_text(output)
        if name == "glue:md":
            return self.glued(arg)["data"].get("text/markdown", "")
        if name == "glue:math":
            return "$$\n" + self.glued(arg)["data"].get("text/latex", "").strip("$") + "\n$$"
        if name == "math":
            return "$$\n" + body + "\n$$"
        if name in ("code-block", "code", "sourcecode"):
            return f"```{arg}\n{body}\n```"
        if name == "literalinclude":
            return f"```python\n{self.included_source(arg, options)}\n```"
        if name == "tableofcontents":
            if self.chapter.resume:  # the chapters' exercises and figures are numbered here
                self.exercises, self.figures = self.chapter.resume["exercise"], self.chapter.resume["figure"]
            return self.table_of_contents()
        if name in ("tab-set", "grid", "div", "container"):
            return self.plain(body)
        if name in ("tab-item", "grid-item", "grid-item-card"):
            return f"**{self.roles(arg)}**\n\n{self.plain(body)}" if arg else self.plain(body)
        if name in ("raw",):
            return body if arg in ("html", "markdown") else ""
        if name == "list-table":
            return self.list_table(block)
        if name in ("toctree", "exercise-end", "solution-end"):
            return ""
        raise self.fail(
            f"a Colab copy cannot show the {{{name}}} directive; add it to tools/colab.py (plain_directive)"
        )

    def list_table(self, block: Block) -> str:
        """A ``{list-table}`` (a list of rows, each a list of cells) as a markdown table."""
        rows, row = [], None
        for line in block.body.splitlines():
            if m := re.match(r"^\*\s+-\s*(.*)$", line):
                row = [m[1]]
                rows.append(row)
            elif (m := re.match(r"^\s+-\s*(.*)$", line)) and row is not None:
                row.append(m[1])
            elif line.strip() and row:
                row[-1] += " " + line.strip()
        if not rows:
            raise self.fail(f"{{list-table}} {block.arg}: no rows")
        header = int(block.options.get("header-rows", 0) or 0)
        width = max(len(r) for r in rows)
        cells = [[self.roles(c).replace("|", "\\|") for c in r] + [""] * (width - len(r)) for r in rows]
        head = cells[0] if header else [""] * width
        body = cells[1:] if header else cells
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * width] + ["| " + " | ".join(r) + " |" for r in body]
        title = f"**{self.roles(block.arg)}**\n\n" if block.arg else ""
        return title + "\n".join(lines)

    # ---- roles and links

    def roles(self, line: str) -> str:
        return ROLE.sub(self.role, line)

    def role(self, m) -> str:
        name, text = m["name"], m["text"]
        if name in ("glue:text", "glue:", "glue", "glue:any", "glue:md"):
            return self.glue_role(name, text)
        if name == "math":
            return f"${text}$"
        if name in ("ref", "numref", "eq", "doc"):
            return self.link(name, text)
        if name in ("abbr", "term", "index", "dfn", "guilabel", "menuselection", "file", "samp"):
            return re.sub(r"\s*\(.*\)$", "", text) if name == "abbr" else re.sub(r"\s*<[^>]*>$", "", text)
        if name in ("code", "kbd", "command", "program"):
            return f"`{text}`"
        if name in ("sub", "subscript"):
            return f"<sub>{text}</sub>"
        if name in ("sup", "superscript"):
            return f"<sup>{text}</sup>"
        if name == "download":
            label, target = self.split_target(text)
            return f"[{label or target}]({self.file_url(target)})"
        raise self.fail(f"a Colab copy cannot show the {{{name}}} role; add it to tools/colab.py (role)")

    @staticmethod
    def split_target(text: str) -> tuple[str, str]:
        if m := re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", text):
            return m[1].strip(), m[2].strip()
        return "", text.strip()

    def link(self, name: str, text: str) -> str:
        label, target = self.split_target(text)
        if name == "doc":
            docname = os.path.normpath(os.path.join(os.path.dirname(self.chapter.docname), target)).replace(os.sep, "/")
            docname = docname.removesuffix(".md")
            chapter = next((c for c in self.book if c.docname == docname), None)
            if chapter is None:
                raise self.fail(f"{{doc}}`{text}`: no chapter {docname} in _toc.yml")
            return f"[{label or chapter.title}]({self.site}{docname}.html)"
        for chapter in self.book:
            if target in chapter.labels:
                ident, title, number = chapter.labels[target]
                if name == "eq":
                    shown = label or title
                elif name == "numref":
                    shown = label.replace("{number}", str(number)) if label else title
                    shown = shown.replace("{name}", title)
                else:
                    shown = label or title
                return f"[{shown}]({self.site}{chapter.docname}.html#{ident})"
        raise self.fail(f"{{{name}}}`{text}`: no label {target!r} in any chapter")

    def file_url(self, path: str) -> str:
        url, branch = repository(self.config)
        full = os.path.normpath(os.path.join(os.path.dirname(self.chapter.docname), path)).replace(os.sep, "/")
        return f"{url}/raw/{branch}/{full}"

    def table_of_contents(self) -> str:
        lines = []
        for chapter in self.book:
            if chapter.docname == self.chapter.docname:
                continue
            if is_executable(chapter.notebook):
                lines.append(f"- [{chapter.title}]({colab_url(self.config, chapter.docname)}) (notebook)")
            else:
                lines.append(f"- [{chapter.title}]({self.site}{chapter.docname}.html)")
        return "\n".join(lines)

    # ---- glue

    def glued(self, key: str):
        key = key.split("::")[-1].strip()
        if key not in self.values:
            raise self.fail(f"glue key {key!r} is not glued by any code cell of the build")
        return self.values[key]

    def glue_role(self, name: str, text: str) -> str:
        from myst_nb.core.variables import format_plain_text

        if name == "glue:text":  # `key` or `key:format`, as myst-nb's PasteTextRole splits it
            key, spec = text.rsplit(":", 1) if ":" in text.split("::")[-1] else (text, "s")
            data = self.glued(key)["data"]
            if "text/plain" not in data:
                raise self.fail(f"{{glue:text}}`{text}`: the glued value has no text")
            shown = format_plain_text(data["text/plain"], spec)
            self.shown.append(shown)
            if MEASURED.search(key):
                self.measured.add(shown)
            return shown
        if name == "glue:md":
            return self.glued(text)["data"].get("text/markdown", "")
        return self.any_text(self.glued(text))

    def any_text(self, output) -> str:
        """What the page shows for ``{glue}``: markdown, math or the value's plain text."""
        data = output["data"]
        if "text/markdown" in data:
            return data["text/markdown"].strip()
        if "text/latex" in data:
            return "$" + data["text/latex"].strip().strip("$") + "$"
        if "text/plain" in data:
            return data["text/plain"]
        raise self.fail(f"glue {output!r}: the copy can only show text, markdown or math inline")

    # ---- included source

    def included_source(self, path: str, options: dict) -> str:
        """What ``{literalinclude}`` shows: the file, or with ``:pyobject:`` that definition,
        dedented as ``:dedent:`` does."""
        source = (self.chapter.path.parent / path).read_text(encoding="utf8")
        if "pyobject" in options:
            lines, body = source.splitlines(), ast.parse(source).body
            node = None
            for part in options["pyobject"].split("."):
                node = next((n for n in body if getattr(n, "name", None) == part), None)
                if node is None:
                    raise self.fail(f"{{literalinclude}} {path}: no {options['pyobject']} in it")
                body = getattr(node, "body", [])
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            source = "\n".join(lines[first - 1 : node.end_lineno])
        return textwrap.dedent(source).rstrip()


def parse(source: str):
    """A code cell's syntax tree, IPython's magics and shell lines left out (None if invalid)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def names(source: str) -> tuple[set[str], set[str]]:
    """(names a code cell binds, names it reads)."""
    tree, stores, loads = parse(source), set(), set()
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stores |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return stores, loads


def glue_keys(source: str) -> set[str]:
    """Keys of the ``glue("key", ...)`` calls in a code cell (string literals only)."""
    tree = parse(source)
    if tree is None:
        return set()
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "glue"
        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    }  # fmt: skip


# --------------------------------------------------------------------------- the copies


def colab_notebook(chapter: Chapter, book: list[Chapter], config: dict, values: dict, converter=None):
    """The Colab copy of a chapter: the set-up cell, then the chapter as Colab shows it."""
    converter = converter or Converter(chapter, book, config, values)
    cells = [setup_cell(config), *converter.convert()]
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"  # fixed ids, so a copy changes only when its chapter does
        if cell.cell_type == "markdown":
            cell.metadata["id"] = cell.id  # Colab names cells by metadata.id (collapsed_sections)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": dict(
            chapter.notebook.metadata.get("kernelspec", {"name": "python3", "display_name": "Python 3"})
        ),
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "collapsed_sections": [c.id for c in converter.collapsed]},
    }
    nbformat.validate(notebook)
    return notebook


def copies(root: Path = ROOT) -> dict[str, tuple[str, set[str]]]:
    """{path of each copy: (its text, the measured times its prose shows)} for every chapter
    with code in _toc.yml."""
    config = load_config(root)
    book = chapters(root)
    out = {}
    for chapter in book:
        if is_executable(chapter.notebook):
            values = glued_outputs(chapter, config, root)
            converter = Converter(chapter, book, config, values)
            text = nbformat.writes(colab_notebook(chapter, book, config, values, converter)) + "\n"
            out[notebook_path(chapter.docname)] = (text, converter.measured)
    return out


def expected(root: Path = ROOT) -> dict[str, str]:
    """{path of each copy: its text}."""
    return {path: text for path, (text, _) in copies(root).items()}


def stale(root: Path = ROOT) -> list[str]:
    """The copies that are missing, out of date, or left over from a removed chapter. Every
    character is compared, the install source included, except measured times and numbers
    within ``CLOSE`` of each other."""
    want = copies(root)
    have = {p.relative_to(root).as_posix() for p in (root / FOLDER).glob("**/*.ipynb")}
    changed = [
        path
        for path, (text, measured) in want.items()
        if not (root / path).is_file() or not same_but_measured((root / path).read_text("utf8"), text, measured)
    ]
    return sorted(changed + [path for path in have if path not in want])


NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")
CLOSE = {"rel_tol": 0.05, "abs_tol": 1e-12}  # what another CPU's rounding may change in a number


def close(x: str, y: str) -> bool:
    """Two numbers as the prose shows them ("1,257", "87.0", "1.8e-15") within ``CLOSE``; a
    version such as "2.14.1" is not a number: it must match exactly."""
    try:
        return math.isclose(float(x.replace(",", "")), float(y.replace(",", "")), **CLOSE)
    except ValueError:
        return False


def same_but_measured(old: str, new: str, measured: set[str]) -> bool:
    """True when two copies are equal, or differ only in markdown numbers that the new copy
    shows as measured times, or that are ``close`` (both texts are cut at every number; the
    words must match)."""
    if old == new:
        return True
    try:
        old_nb = nbformat.reads(old, as_version=4)
    except Exception:  # not a notebook at all
        return False
    new_nb = nbformat.reads(new, as_version=4)
    if len(old_nb.cells) != len(new_nb.cells) or old_nb.metadata != new_nb.metadata:
        return False
    for a, b in zip(old_nb.cells, new_nb.cells, strict=True):
        if (a.cell_type, a.get("id"), a.metadata) != (b.cell_type, b.get("id"), b.metadata):
            return False
        if a.source == b.source:
            continue
        if a.cell_type != "markdown" or NUMBER.split(a.source) != NUMBER.split(b.source):
            return False
        pairs = zip(NUMBER.findall(a.source), NUMBER.findall(b.source), strict=True)
        if any(x != y and y not in measured and not close(x, y) for x, y in pairs):
            return False
    return True


def write(root: Path = ROOT) -> list[str]:
    """Bring notebooks/ in line with the chapters; return what changed."""
    want = expected(root)
    changed = []
    for path, text in want.items():
        file = root / path
        if not file.is_file() or file.read_text("utf8") != text:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf8")
            changed.append(path)
    for file in (root / FOLDER).glob("**/*.ipynb"):
        if file.relative_to(root).as_posix() not in want:
            file.unlink()
            changed.append(file.relative_to(root).as_posix())
    return sorted(changed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a copy is out of date")
    args = parser.parse_args(argv)
    try:
        changed = stale(ROOT) if args.check else write(ROOT)
    except ColabError as err:
        print(str(err), file=sys.stderr)
        return 1
    if args.check and changed:
        print("Out of date (run `make notebooks` and commit them):\n  " + "\n  ".join(changed), file=sys.stderr)
        return 1
    print(f"{FOLDER}/: {len(changed)} notebook(s) {'out of date' if args.check else 'written or removed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
