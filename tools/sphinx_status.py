"""The ``{build-status}`` directive: the table on book/status.md.

It renders ``_build/reports/execution.json``, which tools/build.py writes once every chapter
has executed. Sphinx may be running by then (tools/sphinx_pending.py), so pages that show the
table are read last, and the directive waits for the report. For each chapter the table gives
its code cells, whether its outputs were executed in this build or came from the cache, and
how long its execution took. Below it, the versions of the tools that built the site, read
with importlib.metadata from the environment that ran the build (the chapters' kernels run in
the same environment). The page notes the report as a dependency, so Sphinx re-reads it
whenever the report changes, and whenever chapters are executing (it is about to change).
"""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import sphinx_pending
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
        if sphinx_pending.SCHEDULE is not None:
            sphinx_pending.SCHEDULE.wait_all()  # the report is written once every chapter has finished
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


def shows_status(env, docname: str) -> bool:
    return "{build-status}" in Path(env.doc2path(docname)).read_text(encoding="utf8")


def outdated(app, env, added, changed, removed):
    if sphinx_pending.SCHEDULE is None:
        return []
    return [d for d in env.found_docs if shows_status(env, d)]


def read_last(app, env, docnames: list[str]) -> None:
    if sphinx_pending.SCHEDULE is not None:
        docnames.sort(key=lambda d: shows_status(env, d))


def setup(app):
    app.setup_extension("sphinx_pending")
    app.add_directive("build-status", BuildStatus)
    app.connect("env-get-outdated", outdated)
    app.connect("env-before-read-docs", read_last, priority=600)  # after sphinx_pending's order
    return {"parallel_read_safe": True, "parallel_write_safe": True}
