"""The ``{build-status}`` directive: the table on book/status.md.

It renders ``_build/reports/execution.json``, which tools/build.py writes before Sphinx runs:
each chapter's code cells, whether its outputs were executed in this build or came from the
cache, and how long its execution took. Below it, the versions of the tools that built the
site, read with importlib.metadata from the environment that ran the build (the chapters'
kernels run in the same environment). The page notes the report as a dependency, so Sphinx
re-reads it whenever the report changes.
"""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sphinx.util.docutils import SphinxDirective

PACKAGES = ["torch", "torchvision", "jupyter-book", "myst-nb", "sphinx"]
STATUS = {"executed": "executed in this build", "cached": "from the cache", "no code": "no code cells"}


def versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def row(chapter: dict) -> str:
    """One chapter of the report as a table row, linked to its page."""
    docname = Path(chapter["chapter"]).with_suffix("").as_posix()
    seconds = f"{chapter['seconds']:.1f}" if chapter["code_cells"] else "–"
    return f"| {{doc}}`/{docname}` | {chapter['code_cells']} | {STATUS.get(chapter['status'], chapter['status'])} | {seconds} |"


class BuildStatus(SphinxDirective):
    """Two tables: one row per chapter from the execution report, then the tool versions."""

    def run(self):
        report = Path(self.env.srcdir) / "_build" / "reports" / "execution.json"
        if not report.is_file():
            raise self.error(f"{report} does not exist: build the book with `make html` (tools/build.py)")
        self.env.note_dependency(str(report))
        chapters = json.loads(report.read_text(encoding="utf8"))
        rows = [row(c) for c in chapters]
        counts = {status: sum(c["status"] == status for c in chapters) for status in ("executed", "cached")}
        text = "\n".join([
            f"Chapters, in reading order ({counts['executed']} executed in this build, {counts['cached']} from the cache):",
            "", "| Chapter | Code cells | Outputs | Execution time (s) |", "| --- | ---: | --- | ---: |", *rows, "",
            "The tools that built this site:",
            "", "| Tool | Version |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in versions().items()),
        ])  # fmt: skip
        return self.parse_text_to_nodes(text)


def setup(app):
    app.add_directive("build-status", BuildStatus)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
