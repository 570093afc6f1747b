"""Sphinx extension: a chapter whose code fails fails the build, with a message an author can act on.

With ``nb_execution_raise_on_error = False`` myst-nb keeps building when a cell raises: it
logs "Executing notebook failed" and saves the traceback in ``<outdir>/reports/<docname>.err.log``.
Under a plain ``jupyter-book build .`` (no ``-W``) that is a warning: the command exits 0 with
a broken chapter. Here every failed notebook fails the build, and the last lines name the
chapter, the code cell's number and line in the ``.md``, its first line, the error, where in
this repository's code it was raised, and the report::

       BUILD FAILED: 1 chapter(s) raised an error.
         book/index.md, code cell 2, line 64: `ratio = 1 / 0`
           ZeroDivisionError: division by zero
           full traceback: _build/html/reports/book/index.err.log

It reads myst-nb's own results (``NbMetadataCollector.get_exec_data``) and the chapter (myst-nb's
public reader) at ``build-finished``. Under ``-W --keep-going`` the summary is a warning and
Sphinx exits 1; otherwise it is an ``ExtensionError``. The report of a chapter that now
succeeds is deleted, so no stale report ships.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# nbclient's CellExecutionError and CellTimeoutError quote the cell between two dashed lines
QUOTED_CELL = re.compile(r"(?:following cell|cell contents):\n-{10,}\n(.*?)\n-{10,}\n", re.S)
FRAME = re.compile(r'File "?(/[^",:]+)"?(?:, line |:)(\d+)')  # Python's and IPython's styles


def first_line(source: str) -> str:
    code = [t.strip() for t in source.splitlines() if t.strip() and not t.lstrip().startswith("#")]
    return code[0][:80] if code else "(empty cell)"


def locate(path: Path, traceback: str) -> str:
    """ "code cell N, line L: `first line`" for the cell quoted in the traceback."""
    from myst_nb.core.read import read_myst_markdown_notebook

    quoted = QUOTED_CELL.search(traceback)
    if quoted is None or path.suffix != ".md":
        return "a code cell"
    notebook = read_myst_markdown_notebook(path.read_text(encoding="utf8"), add_source_map=True, path=str(path))
    lines = notebook.metadata.get("source_map", [])
    number = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            number += 1
            if cell.source.strip() == quoted.group(1).strip():
                line = f", line {lines[index] + 1}" if index < len(lines) else ""
                return f"code cell {number}{line}: `{first_line(cell.source)}`"
    return f"the code cell starting `{first_line(quoted.group(1))}`"


def describe(root: Path, path: Path, data: dict, report: Path) -> list[str]:
    text = ANSI.sub("", data.get("traceback") or "")
    lines = [t for t in text.strip().splitlines() if t.strip()]
    error = lines[-1].strip() if lines else data.get("error") or "unknown error"
    if data.get("error") == "CellTimeoutError":
        error = "the cell ran longer than the time limit (execute.timeout in _config.yml)"
    described = [f"  {path.relative_to(root).as_posix()}, {locate(path, text)}", f"    {error[:300]}"]
    frames = [m for m in map(FRAME.search, lines) if m and Path(m.group(1)).is_relative_to(root)]
    if frames:
        where = Path(frames[-1].group(1)).relative_to(root).as_posix()
        described.append(f"    raised in {where}, line {frames[-1].group(2)}")
    report = report.relative_to(root) if report.is_relative_to(root) else report
    return [*described, f"    full traceback: {report.as_posix()}"]


def build_finished(app, exception) -> None:
    from myst_nb.sphinx_ import NbMetadataCollector

    root = Path(app.srcdir)
    failed = []
    for docname in sorted(app.env.found_docs):
        data = NbMetadataCollector.get_exec_data(app.env, docname)
        report = Path(app.outdir, "reports", *f"{docname}.err.log".split("/"))
        if data and data.get("succeeded"):
            report.unlink(missing_ok=True)
        elif data:
            failed.append(describe(root, Path(app.env.doc2path(docname)), data, report))
    if not failed:
        return
    summary = "\n".join([f"BUILD FAILED: {len(failed)} chapter(s) raised an error.", *sum(failed, [])])
    if app.keep_going or app.warningiserror:  # -W: Sphinx fails the build with this warning
        logger.warning(summary, type="cell_errors", once=True)
    elif exception is None:
        raise ExtensionError(summary)


def setup(app):
    app.setup_extension("myst_nb")
    app.connect("build-finished", build_finished, priority=100)  # before other extensions' clean-up
    # Reads myst-nb's execution data from the merged environment, in the main process.
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
