"""Sphinx extension: the launch buttons open a chapter's Colab copy, the download runs.

Loaded by Sphinx (``local_extensions`` in _config.yml). The copies themselves are written by
``tools/colab.py`` (``make notebooks``); this extension

- points the Colab and Binder buttons of each page with code at its copy in ``notebooks/``
  (the theme would link the ``.md``, which Colab cannot open) and drops the launch buttons
  from pages that have no code;
- makes the download button's ``.ipynb`` the executed notebook, with the build's outputs, the
  Colab copy's set-up cell first (``colab.setup_cell``: it installs ``day08`` when it is
  missing and stands in for ``glue``) and no ``myst_nb`` import, so that it runs on a laptop
  with Jupyter.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from colab import GLUE_IMPORT, is_executable, load_config, notebook_path, read_chapter, setup_cell


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
    """Make the download button's .ipynb carry the outputs of the build, and run anywhere.

    The theme offers a copy of the notebook myst-nb wrote to ``_build/jupyter_execute/``, but in
    cache mode myst-nb writes the notebook it read, not the one it merged with the cached
    outputs; so rewrite it, merged, right after myst-nb has read the page (while reading, which
    can overlap the execution of other chapters, rather than while writing, which cannot).
    """
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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
