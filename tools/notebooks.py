"""Sphinx extension: the launch buttons open a chapter's Colab copy, and the download runs.

The copies are written by ``tools/colab.py`` (``make notebooks``), which takes the set-up cell and
paths from here. This extension points each page's Colab and Binder buttons at its copy in
``notebooks/`` (the theme links the ``.md``, which Colab cannot open), drops them from pages
without code, and makes the downloadable ``.ipynb`` the executed notebook (myst-nb writes it
without outputs in cache mode) with the set-up cell first (``setup_cell``: it installs
``day08`` when missing and stands in for ``glue``), so it runs on a laptop with Jupyter.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
FOLDER = "notebooks"
SOURCE_ENV = "DAY08_SOURCE"  # the tests point the set-up cell at a local copy of code/
GLUE_IMPORT = re.compile(r"^from myst_nb import glue[ \t]*\n?", re.MULTILINE)
FORM = {"cellView": "form", "jupyter": {"source_hidden": True}}  # Colab's form cell; hidden in JupyterLab


class ColabError(Exception):
    """A chapter the copy cannot be written for; the message names the file and the fix."""


def load_config(root: Path = ROOT) -> dict:
    try:
        return yaml.safe_load((root / "_config.yml").read_text(encoding="utf8")) or {}
    except yaml.YAMLError as err:
        raise ColabError(f"_config.yml is not valid YAML: {err}") from err


def repository(config: dict) -> tuple[str, str]:
    """(URL, branch) the copies install from and link to: ``repository`` in _config.yml."""
    repo = config.get("repository") or {}
    url, branch = str(repo.get("url", "")).rstrip("/"), str(repo.get("branch", "main"))
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ColabError(f"_config.yml: repository.url must be a GitHub repository URL, not {url!r}")
    return url, branch


def install_source(config: dict) -> str:
    """pip's name for the package ``day08`` at the configured repository and branch."""
    url, branch = repository(config)
    return f"git+{url}@{branch}#subdirectory=code"


def notebook_path(docname: str) -> str:
    """Where the copy of a chapter lives, relative to the repository root."""
    return f"{FOLDER}/{docname.removeprefix('book/')}.ipynb"


SETUP = '''\
# @title Set up: install the book's package `day08` if it is missing
import os

try:
    import day08
except ImportError:
    source = os.environ.get("{env}", "{source}")
    %pip install --quiet {{source}}


def glue(name, value, display=True):
    """On the website this puts `value` into the text; here the text already shows it."""
    if display or hasattr(value, "savefig"):  # a figure is shown where it is made
        from IPython.display import display as show

        show(value)'''


def setup_cell(config: dict) -> nbformat.NotebookNode:
    """The first cell of every Colab copy and every download (a form cell: Colab shows its title)."""
    source = SETUP.format(env=SOURCE_ENV, source=install_source(config))
    return nbformat.v4.new_code_cell(source, metadata={**FORM, "tags": ["remove-cell"]})


def read_chapter(path: Path) -> nbformat.NotebookNode:
    """The notebook myst-nb builds from a chapter (the one the execution cache matches)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    try:
        return read_myst_markdown_notebook(path.read_text(encoding="utf8"), path=str(path))
    except Exception as err:  # myst-nb raises MystMetadataParsingError and others
        raise ColabError(f"{path.name}: cannot be read as a MyST notebook: {err}") from err


def is_executable(notebook) -> bool:
    """True when the page shows code a reader can run (the status page only shows outputs)."""
    hidden = {"remove-cell", "remove-input"}
    return any(c.cell_type == "code" and hidden.isdisjoint(c.metadata.get("tags", [])) for c in notebook.cells)


def relink_launch_buttons(app, pagename, templatename, context, doctree):
    """Point Colab and Binder at the page's copy in notebooks/ (the theme links the .md)."""
    buttons = context.get("header_buttons", [])
    launch = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
    if launch is None:
        return
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".md" or not is_executable(read_chapter(source)):
        buttons.remove(launch)  # nothing to run: no launch buttons
        return
    target = notebook_path(pagename)
    for button in launch["buttons"]:
        if button["text"] == "Colab":
            button["url"] = re.sub(r"(/blob/[^/]+/).*$", rf"\g<1>{target}", button["url"])
        elif button["text"] == "Binder":
            button["url"] = re.sub(r"(\?urlpath=[^/]+/tree/).*$", rf"\g<1>{target}", button["url"])


def write_executed_download(app, doctree):
    """Rewrite the notebook myst-nb wrote to ``jupyter_execute/`` (the theme's download) right
    after myst-nb read the page: merged with the cached outputs, set-up cell first."""
    from jupyter_cache import get_cache

    docname = app.env.docname
    written = Path(app.env.mystnb_config.output_folder, *f"{docname}.ipynb".split("/"))
    if not written.is_file():
        return  # not a notebook page
    notebook = read_chapter(Path(app.env.doc2path(docname)))
    try:
        _, notebook = get_cache(app.config.nb_execution_cache_path).merge_match_into_notebook(notebook)
    except KeyError:
        return  # no code cells, so nothing was executed
    notebook.metadata.pop("source_map", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = GLUE_IMPORT.sub("", cell.source)  # the set-up cell defines glue
    notebook.cells.insert(0, setup_cell(load_config(Path(app.srcdir))))
    written.write_text(nbformat.writes(notebook), encoding="utf8")


def setup(app):
    app.connect("doctree-read", write_executed_download)
    app.connect("html-page-context", relink_launch_buttons, priority=502)  # after the theme's (501)
    # Each handler touches only its own page's files.
    version = zlib.crc32(Path(__file__).read_bytes())  # Sphinx reads and writes every page again when this file changes
    return {"version": "1.0", "env_version": version, "parallel_read_safe": True, "parallel_write_safe": True}
