"""Let Sphinx work while tools/build.py is still executing chapters.

A cold build spends most of its time in the chapters' kernels, and near the end the longest
chapter runs alone while the other cores idle. So tools/build.py starts Sphinx at once, in a
thread beside the kernels, and gives this extension a :class:`Schedule` of the chapters still
executing. Sphinx then

- reads those chapters again, even when their text did not change (their outputs will);
- reads every other page first, and the pending chapters last, in the order they are
  expected to finish;
- waits, before reading a pending chapter, until tools/build.py has stored its executed
  notebook in the cache that myst-nb reads (so myst-nb never executes anything itself);
- stops as soon as it reaches a chapter that failed; tools/build.py reports the failing cell.

Writing pages can only start once every page is read, so whatever writing costs per page and
can be computed from the page alone is done while reading it instead: here, its code is
highlighted with Pygments and the writer finds the result in a memo (``memoize``;
tools/lean_site.py does the same for the math). That moves the work off the end of the
build, where one chapter's page is all that is left to read.

Between builds, each chapter's stamp (``_build/.jupyter_cache/stamps/<chapter>.stamp``,
rewritten whenever tools/build.py executes the chapter) is noted as a dependency, so a chapter
executed by a build whose Sphinx run never finished is still read again by the next one.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from docutils import nodes
from sphinx.errors import SphinxError


class ChapterFailed(SphinxError):
    category = "Chapter failed"


class Schedule:
    """The chapters tools/build.py is executing, in the order they are expected to finish."""

    def __init__(self, docnames: list[str]):
        self.order = {name: i for i, name in enumerate(docnames)}
        self._done = {name: threading.Event() for name in docnames}
        self._ok: dict[str, bool] = {}
        self._all = threading.Event()

    def done(self, docname: str, ok: bool) -> None:
        """The chapter's notebook is in the cache (``ok``), or the chapter failed."""
        self._ok[docname] = ok
        self._done[docname].set()

    def finish(self) -> None:
        """Every chapter has finished and the execution report is written."""
        for docname, event in self._done.items():
            self._ok.setdefault(docname, False)
            event.set()
        self._all.set()

    def wait(self, docname: str) -> None:
        if docname in self._done:
            self._done[docname].wait()
            if not self._ok[docname]:
                raise ChapterFailed(f"{docname} did not execute; Sphinx stops here")

    def wait_all(self) -> None:
        self._all.wait()


SCHEDULE: Schedule | None = None  # set by tools/build.py for one Sphinx run


def outdated(app, env, added, changed, removed):
    return [] if SCHEDULE is None else [d for d in SCHEDULE.order if d in env.found_docs]


def reorder(app, env, docnames: list[str]) -> None:
    if SCHEDULE is not None:
        docnames.sort(key=lambda d: SCHEDULE.order.get(d, -1))  # stable: pages that need no wait keep their order


def wait_and_note_stamp(app, docname, source):
    if SCHEDULE is not None:
        SCHEDULE.wait(docname)
    stamp = Path(app.srcdir) / "_build" / ".jupyter_cache" / "stamps" / f"{docname}.stamp"
    if stamp.is_file():
        app.env.note_dependency(str(stamp))


# --------------------------------------------------------------------------- work ahead


def memoize(function):
    """``function`` with a memo keyed on its arguments (``location`` only says where to warn)."""
    memo = {}

    def memoized(*args, **kwargs):
        key = json.dumps([args, {k: v for k, v in kwargs.items() if k != "location"}], sort_keys=True, default=repr)
        if key not in memo:
            memo[key] = function(*args, **kwargs)
        return memo[key]

    memoized.memo = memo
    return memoized


def memoize_highlighter(app):
    if app.builder.format == "html":
        app.builder.highlighter.highlight_block = memoize(app.builder.highlighter.highlight_block)


def highlight_ahead(app, doctree):
    """Highlight the page's code with the calls the HTML writer will make, so that it finds them."""
    if app.builder.format != "html":
        return
    highlighter = app.builder.highlighter
    for node in doctree.findall(nodes.literal_block):
        # as sphinx.writers.html5.HTML5Translator.visit_literal_block calls it
        if node.rawsource != node.astext() or "language" not in node:
            continue  # not highlighted, or its language is only settled while writing
        lang, linenos = node["language"], node.get("linenos", False)
        if linenos and app.config.html_codeblock_linenos_style:
            linenos = app.config.html_codeblock_linenos_style
        args = {**node.get("highlight_args", {}), "force": node.get("force", False)}
        opts = app.config.highlight_options.get(lang, {})
        highlighter.highlight_block(node.rawsource, lang, opts=opts, linenos=linenos, location=node, **args)


def setup(app):
    app.connect("builder-inited", memoize_highlighter)
    app.connect("doctree-read", highlight_ahead)
    app.connect("env-get-outdated", outdated)
    app.connect("env-before-read-docs", reorder)
    app.connect("source-read", wait_and_note_stamp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
