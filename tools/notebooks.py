"""The Colab copies: one notebook per executable chapter, generated from the chapter's .md.

    python tools/notebooks.py           # what `make notebooks` runs: rewrite notebooks/*.ipynb
    python tools/notebooks.py --check   # exit 1, naming each copy that is out of date

Colab opens ``.ipynb`` files from GitHub, not MyST markdown, so every chapter with code gets a
copy in ``notebooks/`` (``book/<name>.md`` -> ``notebooks/<name>.ipynb``). The ``.md`` stays
the single source of truth; the copies hold no outputs and are committed so that GitHub (and
so Colab) can serve them. They do not sit next to the ``.md``: Sphinx would then see two
sources for one page.

A copy differs from its chapter in three ways only:

1. A first cell installs the shared package ``day08`` from this repository when it is missing
   (Colab has torch, torchvision, scikit-learn and matplotlib, not our package), from the
   branch the launch buttons open (``repository.branch``), so the notebook and the package
   come from the same commit. ``DAY08_SOURCE`` overrides where it installs from (the tests
   point it at the local checkout).
2. ``from myst_nb import glue`` becomes a stand-in defined in that first cell: on the site
   myst-nb places glued figures and numbers in the text; in Colab they are shown where they
   are computed.
3. MyST that Colab's markdown cannot show is rewritten (``colab_markdown``): label lines go,
   roles become their text, a glued figure's caption follows the cell that shows the figure,
   a folded solution becomes an HTML ``<details>`` block, folded as on the site, and a note
   or exercise becomes a quoted or bold-titled paragraph.

Loaded by Sphinx (``local_extensions`` in _config.yml), this module also points the Colab and
Binder buttons of each executable page at its copy (the theme would link the ``.md``) and
drops the launch buttons from pages that have no code; and it puts the build's outputs into
the executed ``.ipynb`` that the download button offers.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]


class BuildError(Exception):
    """A problem the author can fix; the message says where and how."""


def load_config(root: Path) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf8")) or {}


class Chapter:
    def __init__(self, docname: str, path: Path):
        self.docname, self.path, self.text = docname, path, path.read_text(encoding="utf8")


def find_chapters(root: Path) -> list[Chapter]:
    from sphinx_external_toc.parsing import parse_toc_yaml

    found = []
    for docname in parse_toc_yaml(root / "_toc.yml"):
        for suffix in (".md", ".ipynb"):
            if (root / f"{docname}{suffix}").is_file():
                found.append(Chapter(docname, root / f"{docname}{suffix}"))
                break
    return found


FOLDER = "notebooks"
SOURCE_ENV = "DAY08_SOURCE"
REPOSITORY = re.compile(r"git\+https://[^@\"]+@")  # the repository part of the install line
GLUE_IMPORT = re.compile(r"^from myst_nb import glue[ \t]*\n?", re.MULTILINE)
TARGET = re.compile(r"^\([\w:.-]+\)=[ \t]*\n", re.MULTILINE)  # (label)=
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
ADMONITIONS = {"admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "seealso"}
OPTION = re.compile(r"^:[\w-]+:.*\n", re.MULTILINE)
ROLES = [  # (pattern, replacement), applied in order
    (re.compile(r"\{glue(?::\w+)?\}`([\w.-]+)(?::[^`]*)?`"), r"`\1`"),  # the setup cell's glue prints name = value
    (re.compile(r"\{(?:ref|doc|numref|term)\}`([^`<]+?)\s*<[^>`]*>`"), r"\1"),  # {ref}`text <label>`
    (re.compile(r"\{(?:ref|doc|numref|term|eq)\}`([^`]+)`"), r"\1"),
    (re.compile(r"\{math\}`([^`]+)`"), r"$\1$"),
]
SETUP = """\
# Colab and Binder: install this book's package `day08` if it is missing, and define `glue`,
# which on the website puts a figure or number into the text (here it shows it right away).
import os

try:
    import day08
except ImportError:
    source = os.environ.get("{env}", "{default}")
    %pip install --quiet {{source}}


def glue(name, value, display=True):
    if hasattr(value, "savefig"):  # a matplotlib figure
        from IPython.display import display as show

        show(value)
    else:
        print(f"{{name}} = {{value}}")"""


def notebook_path(docname: str) -> str:
    """Where the copy of a chapter lives, relative to the repository root."""
    name = docname.removeprefix("book/")
    return f"{FOLDER}/{name}.ipynb"


def read_chapter(text: str):
    return jupytext.reads(text, fmt="md:myst")


def is_executable(text: str) -> bool:
    """True when the chapter has at least one code cell (and so gets a Colab copy)."""
    return any(cell.cell_type == "code" for cell in read_chapter(text).cells)


def colab_markdown(text: str) -> str:
    """A markdown cell as Colab can show it (see point 3 at the top)."""

    def directive(match) -> str:
        name, arg = match["name"], match["arg"].strip()
        body = colab_markdown(OPTION.sub("", match["body"]).strip())
        if name.startswith("glue"):
            return f"*{body}*" if body else ""
        if name == "exercise":
            return f"**Exercise{': ' + arg if arg else ''}.** {body}"
        if name == "solution":
            return f"<details><summary>Solution</summary>\n\n{body}\n\n</details>"
        if name == "literalinclude":  # Colab cannot include a file: copy the code in
            return f"```python\n{included_source(arg, match['body'])}\n```"
        if name in ADMONITIONS:
            title = arg if name == "admonition" else name.capitalize()
            return "\n".join(f"> {line}".rstrip() for line in f"**{title}.** {body}".splitlines())
        return match[0]

    text = DIRECTIVE.sub(directive, TARGET.sub("", text))
    for pattern, replacement in ROLES:
        text = pattern.sub(replacement, text)
    return text.strip("\n")


def included_source(path: str, options_text: str) -> str:
    """What a ``{literalinclude}`` in a chapter shows: the file (relative to book/), or with
    ``:pyobject: Class.method`` just that definition, dedented like ``:dedent:`` does."""
    options = dict(re.findall(r"^:([\w-]+):[ \t]*(.*)$", options_text, re.MULTILINE))
    source = (ROOT / "book" / path).read_text(encoding="utf8")
    if "pyobject" in options:
        lines, body = source.splitlines(), ast.parse(source).body
        node = None
        for name in options["pyobject"].split("."):
            node = next(n for n in body if getattr(n, "name", None) == name)
            body = getattr(node, "body", [])
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        source = "\n".join(lines[start - 1 : node.end_lineno])
    return textwrap.dedent(source).rstrip()


def install_source(config: dict) -> str:
    """pip's name for the package at the branch the launch buttons open."""
    repo = config["repository"]
    return f"git+{repo['url']}@{repo.get('branch', 'main')}#subdirectory=code"


def colab_notebook(text: str, source: str):
    """The Colab copy of a chapter's MyST text: setup cell first, no outputs, stable ids."""
    chapter = read_chapter(text)
    setup = nbformat.v4.new_code_cell(SETUP.format(env=SOURCE_ENV, default=source), metadata={"tags": ["remove-cell"]})
    cells = [setup]
    for cell in chapter.cells:
        if cell.cell_type == "code":
            cell.source = GLUE_IMPORT.sub("", cell.source)
            cell.outputs, cell.execution_count = [], None
        else:
            cell.source = colab_markdown(cell.source)
        if cell.source.strip():
            cells.append(cell)
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"  # fixed ids, so a copy changes only when its chapter does
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": chapter.metadata["kernelspec"],
        "language_info": {"name": "python"},
    }
    nbformat.validate(notebook)
    return notebook


def expected(root: Path = ROOT) -> dict[str, str]:
    """{path of each copy: its text} for every executable chapter in _toc.yml."""
    config = load_config(root)
    source = install_source(config)
    return {
        notebook_path(chapter.docname): nbformat.writes(colab_notebook(chapter.text, source)) + "\n"
        for chapter in find_chapters(root)
        if chapter.path.suffix == ".md" and is_executable(chapter.text)
    }


def stale(root: Path = ROOT, exact: bool = False) -> list[str]:
    """The copies that are missing, out of date, or left over from a removed chapter.

    Unless ``exact``, the repository in the install line is not compared: a fork's copies
    still run (installing from the repository that generated them) until it runs
    ``make notebooks``, and its CI must not fail for that.
    """

    def same(a: str, b: str) -> bool:
        return a == b if exact else REPOSITORY.sub("", a) == REPOSITORY.sub("", b)

    want = expected(root)
    have = {p.relative_to(root).as_posix() for p in (root / FOLDER).glob("**/*.ipynb")}
    changed = [
        path
        for path, text in want.items()
        if not (root / path).is_file() or not same((root / path).read_text("utf8"), text)
    ]
    return sorted(changed + [path for path in have if path not in want])


def write(root: Path = ROOT) -> list[str]:
    """Bring notebooks/ in line with the chapters; return what changed."""
    want = expected(root)
    changed = stale(root, exact=True)
    for path in changed:
        if path in want:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(want[path], encoding="utf8")
        else:
            (root / path).unlink()
    return changed


# --------------------------------------------------------------------------- Sphinx extension


def relink_launch_buttons(app, pagename, templatename, context, doctree):
    """Point Colab and Binder at the page's copy in notebooks/ (the theme links the .md)."""
    buttons = context.get("header_buttons", [])
    launch = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
    if launch is None:
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".md" or not is_executable(source.read_text(encoding="utf8")):
        buttons.remove(launch)  # nothing to run: no launch buttons
        return
    target = notebook_path(pagename)
    for button in launch["buttons"]:
        if button["text"] == "Colab":
            button["url"] = re.sub(r"(/blob/[^/]+/).*$", rf"\g<1>{target}", button["url"])
        elif button["text"] == "Binder":
            button["url"] = re.sub(r"(\?urlpath=[^/]+/tree/).*$", rf"\g<1>{target}", button["url"])


def write_executed_download(app, doctree):
    """Make the download button's .ipynb carry the outputs of the build.

    The theme offers a copy of the notebook myst-nb wrote to ``_build/jupyter_execute/``, but in
    cache mode myst-nb writes the notebook it read, not the one it merged with the cached
    outputs; so rewrite it, merged, right after myst-nb has read the page (while reading, which
    can overlap the execution of other chapters, rather than while writing, which cannot).
    """
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    docname = app.env.docname
    written = Path(app.env.mystnb_config.output_folder, *f"{docname}.ipynb".split("/"))
    if not written.is_file():
        return  # not a notebook page
    path = Path(app.env.doc2path(docname))
    notebook = read_myst_markdown_notebook(path.read_text(encoding="utf8"), path=str(path))
    try:
        _, notebook = get_cache(app.config.nb_execution_cache_path).merge_match_into_notebook(notebook)
    except KeyError:
        return  # no code cells, so nothing was executed
    written.write_text(nbformat.writes(notebook), encoding="utf8")


def setup(app):
    app.connect("doctree-read", write_executed_download)
    app.connect("html-page-context", relink_launch_buttons, priority=502)  # after the theme's (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a copy is out of date")
    args = parser.parse_args(argv)
    try:
        changed = stale(ROOT) if args.check else write(ROOT)
    except BuildError as err:
        print(str(err), file=sys.stderr)
        return 1
    if args.check and changed:
        print("Out of date (run `make notebooks` and commit them):\n  " + "\n  ".join(changed), file=sys.stderr)
        return 1
    print(f"{FOLDER}/: {len(changed)} notebook(s) {'out of date' if args.check else 'written or removed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
